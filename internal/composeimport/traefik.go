package composeimport

import (
	"regexp"
	"strconv"
	"strings"
)

// A compose file that puts Traefik in front of its services says in
// labels which host and path reach which service. stackctl's edge is the
// platform's Traefik, so those labels become expose blocks and the compose
// Traefik service itself is not imported.

// route is one Traefik router of a service, read from its labels.
type route struct {
	router      string
	host        string
	pathPrefix  string
	strip       bool
	tls         bool
	resolver    string
	internal    bool   // an entrypoint whose name says it is not public
	unsupported string // the part of the rule an expose block cannot say
}

var (
	hostRuleRe   = regexp.MustCompile("Host\\(\\s*`([^`]+)`((?:\\s*,\\s*`[^`]+`)*)\\s*\\)")
	prefixRuleRe = regexp.MustCompile("PathPrefix\\(\\s*`([^`]+)`\\s*\\)")
	ruleGlueRe   = regexp.MustCompile(`[\s()]|&&`)
)

// traefikLabels reads the routers, the server port and traefik.enable
// from a service's labels. stripPrefixes maps a middleware name to the
// prefixes it strips, collected from every service's labels.
func traefikLabels(labels map[string]string, stripPrefixes map[string][]string) (routes []route, port int, enabled bool, any bool) {
	routers := map[string]map[string]string{}
	enabled = true
	for k, v := range labels {
		if !strings.HasPrefix(k, "traefik.") {
			continue
		}
		any = true
		switch {
		case k == "traefik.enable":
			enabled = strings.EqualFold(v, "true")
		case strings.HasPrefix(k, "traefik.http.routers."):
			rest := strings.TrimPrefix(k, "traefik.http.routers.")
			name, attr, ok := strings.Cut(rest, ".")
			if !ok {
				continue
			}
			if routers[name] == nil {
				routers[name] = map[string]string{}
			}
			routers[name][attr] = v
		case strings.HasPrefix(k, "traefik.http.services.") && strings.HasSuffix(k, ".loadbalancer.server.port"):
			port, _ = strconv.Atoi(v)
		}
	}
	for _, n := range sortedKeys(routers) {
		attrs := routers[n]
		rule := attrs["rule"]
		if rule == "" {
			continue
		}
		r := route{router: n}
		if m := hostRuleRe.FindStringSubmatch(rule); m != nil {
			r.host = strings.ToLower(m[1])
			if strings.TrimSpace(m[2]) != "" {
				r.unsupported = "more than one host"
			}
		}
		if m := prefixRuleRe.FindStringSubmatch(rule); m != nil {
			r.pathPrefix = strings.TrimSuffix(m[1], "/")
		}
		rest := prefixRuleRe.ReplaceAllString(hostRuleRe.ReplaceAllString(rule, ""), "")
		if left := ruleGlueRe.ReplaceAllString(rest, ""); left != "" {
			r.unsupported = "the matchers " + strings.TrimSpace(rest)
		}
		for _, ep := range strings.Split(attrs["entrypoints"], ",") {
			ep = strings.ToLower(strings.TrimSpace(ep))
			if strings.Contains(ep, "internal") || strings.Contains(ep, "private") || strings.Contains(ep, "admin") {
				r.internal = true
			}
		}
		r.resolver = attrs["tls.certresolver"]
		r.tls = strings.EqualFold(attrs["tls"], "true") || r.resolver != ""
		for _, mw := range strings.Split(attrs["middlewares"], ",") {
			mw, _, _ = strings.Cut(strings.TrimSpace(mw), "@")
			for _, p := range stripPrefixes[mw] {
				if r.pathPrefix != "" && strings.TrimSuffix(p, "/") == r.pathPrefix {
					r.strip = true
				}
			}
		}
		routes = append(routes, r)
	}
	return routes, port, enabled, any
}

// stripMiddlewares collects `stripprefix` middlewares from labels.
func stripMiddlewares(labels map[string]string, into map[string][]string) {
	for k, v := range labels {
		const pre, suf = "traefik.http.middlewares.", ".stripprefix.prefixes"
		if strings.HasPrefix(k, pre) && strings.HasSuffix(k, suf) {
			name := strings.TrimSuffix(strings.TrimPrefix(k, pre), suf)
			for _, p := range strings.Split(v, ",") {
				into[name] = append(into[name], strings.TrimSpace(p))
			}
		}
	}
}

// edgeProxyImages are reverse proxies: a compose service running one is
// the edge that the platform's Traefik replaces.
var edgeProxyImages = map[string]bool{"traefik": true}

// proxyImages front other services in many compose files; they are
// imported, with a warning that Traefik now does their job.
var proxyImages = map[string]bool{"nginx": true, "caddy": true, "haproxy": true, "envoy": true, "httpd": true}
