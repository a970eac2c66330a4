package compile

import (
	"fmt"

	"github.com/stackctl/stackctl/internal/spec"
)

// TraefikTags are the Consul tags that make Traefik's Connect-aware
// catalog provider route an exposure: enabled explicitly (nothing is
// exposed by default), reached through the mesh, and every router pinned
// to its entrypoint (a router without one listens on all of them).
func TraefikTags(s *spec.Service) []string {
	if len(s.Exposes) == 0 {
		return nil
	}
	tags := []string{"traefik.enable=true", "traefik.consulcatalog.connect=true"}
	for _, e := range s.Exposes {
		r := "traefik.http.routers." + e.Router
		tags = append(tags, r+".rule="+RouteRule(e), r+".entrypoints="+e.Entrypoint)
		var middlewares string
		if e.StripPrefix {
			mw := e.Router + "-strip"
			tags = append(tags, fmt.Sprintf("traefik.http.middlewares.%s.stripprefix.prefixes=%s", mw, e.PathPrefix))
			middlewares = mw
		}
		if middlewares != "" {
			tags = append(tags, r+".middlewares="+middlewares)
		}
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
func RouteRule(e *spec.Expose) string {
	switch {
	case e.Host != "" && e.PathPrefix != "":
		return fmt.Sprintf("Host(`%s`) && PathPrefix(`%s`)", e.Host, e.PathPrefix)
	case e.Host != "":
		return fmt.Sprintf("Host(`%s`)", e.Host)
	default:
		return fmt.Sprintf("PathPrefix(`%s`)", e.PathPrefix)
	}
}
