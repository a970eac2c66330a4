package compile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// RetryAttempts is how many times Traefik tries a request whose
// connection to an instance failed (RetryInterval apart, doubling): a
// request reaches the next instance instead of failing when the one it
// was sent to has just stopped. Traefik retries only a request it could
// not send (nothing was written to the instance), so no request runs twice.
const (
	RetryAttempts = 3
	RetryInterval = "100ms"
)

// TraefikTags are the Consul tags that make Traefik's Connect-aware
// catalog provider route an exposure: enabled explicitly (nothing is
// exposed by default), reached through the mesh, and every router pinned
// to its entrypoint (a router without one listens on all of them). Every
// router retries requests that failed to connect.
func TraefikTags(s *descriptor.Service) []string {
	if len(s.Exposes) == 0 {
		return nil
	}
	tags := []string{"traefik.enable=true", "traefik.consulcatalog.connect=true"}
	for _, e := range s.Exposes {
		r := "traefik.http.routers." + e.Router
		tags = append(tags, r+".rule="+RouteRule(e), r+".entrypoints="+e.Entrypoint)
		retry := e.Router + "-retry"
		tags = append(tags,
			fmt.Sprintf("traefik.http.middlewares.%s.retry.attempts=%d", retry, RetryAttempts),
			fmt.Sprintf("traefik.http.middlewares.%s.retry.initialinterval=%s", retry, RetryInterval))
		middlewares := []string{retry}
		if e.StripPrefix {
			mw := e.Router + "-strip"
			tags = append(tags, fmt.Sprintf("traefik.http.middlewares.%s.stripprefix.prefixes=%s", mw, e.PathPrefix))
			middlewares = append(middlewares, mw)
		}
		tags = append(tags, r+".middlewares="+strings.Join(middlewares, ","))
		if e.TLS {
			tags = append(tags, r+".tls=true")
			if e.CertResolver != "" {
				tags = append(tags, r+".tls.certresolver="+e.CertResolver)
			}
		}
	}
	return tags
}

// RouteRule is the Traefik v3 rule for an exposure.
func RouteRule(e *descriptor.Expose) string {
	switch {
	case e.Host != "" && e.PathPrefix != "":
		return fmt.Sprintf("Host(`%s`) && PathPrefix(`%s`)", e.Host, e.PathPrefix)
	case e.Host != "":
		return fmt.Sprintf("Host(`%s`)", e.Host)
	default:
		return fmt.Sprintf("PathPrefix(`%s`)", e.PathPrefix)
	}
}

// traefikRouterPrefix starts the tags of a Traefik router (TraefikTags).
const traefikRouterPrefix = "traefik.http.routers."

// Routes reads a service's Traefik routers back from its tags, the
// inverse of TraefikTags: "<entrypoint> <rule>" per router, sorted by
// router name (apimodel.Routes reads a job's services).
func Routes(tags []string) []string {
	rules, eps := map[string]string{}, map[string]string{}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		rest, isRouter := strings.CutPrefix(k, traefikRouterPrefix)
		if !ok || !isRouter {
			continue
		}
		switch router, field, _ := strings.Cut(rest, "."); field {
		case "rule":
			rules[router] = v
		case "entrypoints":
			eps[router] = v
		}
	}
	routers := make([]string, 0, len(rules))
	for r := range rules {
		routers = append(routers, r)
	}
	sort.Strings(routers)
	out := make([]string, 0, len(routers))
	for _, r := range routers {
		out = append(out, eps[r]+" "+rules[r])
	}
	return out
}
