package spec

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	dnsLabelRe   = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
	portNameRe   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,30}$`)
	routerRe     = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	envNameRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	vaultPathRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
	vaultMountRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$`)
	vaultKeyRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	hostLabelRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	pathRe       = regexp.MustCompile(`^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$`)
)

// ReservedServiceNames belong to the platform: a service with one of these
// names would collide with its Consul registration or intentions.
var ReservedServiceNames = []string{"consul", "nomad", "nomad-autoscaler", "traefik", "vault"}

func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 || strings.ToLower(h) != h {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !hostLabelRe.MatchString(l) {
			return false
		}
	}
	return true
}

func validPath(p string) bool {
	return len(p) <= 1024 && pathRe.MatchString(p) && !strings.Contains(p, "//")
}

// vaultPathProblem explains what is wrong with a secret's KV v2 path, or
// returns "". The stack's policy grants read on its paths, so a path must
// lie below the stack's own prefix, "<stack name>/", and be written the
// one way Vault reads it: relative to the mount, without data/, without
// empty, "." or ".." segments. candidate is the path the problem suggests
// instead ("" when there is none).
func vaultPathProblem(p string, st Settings) (problem, candidate string) {
	prefix := st.Name + "/"
	switch {
	case p == "":
		return "The path is empty.", ""
	case strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/"):
		return fmt.Sprintf("%q has a leading or trailing slash.", p), strings.Trim(p, "/")
	case strings.HasPrefix(p, st.VaultMount+"/") && !strings.HasPrefix(p, prefix):
		return fmt.Sprintf("%q starts with the KV v2 mount %q; paths are relative to it.", p, st.VaultMount),
			strings.TrimPrefix(strings.TrimPrefix(p, st.VaultMount+"/"), "data/")
	case strings.HasPrefix(p, "data/") || strings.HasPrefix(p, "metadata/"):
		api, rest, _ := strings.Cut(p, "/")
		return fmt.Sprintf("%q includes the KV v2 API segment %q; stackctl adds data/ where Vault needs it.", p, api+"/"), rest
	case strings.Contains(p, "//") || strings.Contains(p, "..") || p == "." || strings.HasPrefix(p, "./") ||
		strings.HasSuffix(p, "/.") || strings.Contains(p, "/./"):
		return fmt.Sprintf("%q has an empty, \".\" or \"..\" segment.", p), ""
	case !vaultPathRe.MatchString(p):
		return fmt.Sprintf("%q holds characters Vault paths do not take here; use letters, digits, '_', '-', '.' and '/'.", p), ""
	case p == st.Name:
		return fmt.Sprintf("%q is the stack's prefix itself, not a secret below it.", p), ""
	case !strings.HasPrefix(p, prefix):
		return fmt.Sprintf("%q is outside the stack's own secrets.", p), ""
	}
	return "", ""
}

// vaultPathExample is the path a fix suggests: candidate when it is itself
// a valid path of the stack, else <stack>/<service>.
func vaultPathExample(candidate, service string, st Settings) string {
	if candidate != "" {
		if problem, _ := vaultPathProblem(candidate, st); problem == "" {
			return candidate
		}
	}
	return st.Name + "/" + service
}

func envNameDetail(name string) string {
	return fmt.Sprintf("%q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit.", name)
}

// applyDefaults fills in the values that depend on other fields or on the
// stack block; it runs after decoding and before validateStack, which only
// reads the model.
func applyDefaults(st *Stack) {
	for _, s := range st.Services {
		if h := s.Health; h != nil && h.Port == "" && len(s.Ports) > 0 {
			h.Port = s.Ports[0].Name
		}
		for _, e := range s.Exposes {
			if e.Host == "" && e.PathPrefix == "" && st.Settings.Domain != "" {
				e.Host = s.Name + "." + st.Settings.Domain
			}
			if e.Router == "" {
				e.Router, e.RouterDefaulted = s.Name+"-"+e.Entrypoint, true
			}
		}
		if as := s.Autoscale; as != nil && !s.ReplicasSet {
			// An autoscaled service starts at min (at least 1).
			s.Replicas = min(max(as.Min, 1), as.Max)
		}
	}
}

// validateStack checks what no single block can: references between
// services, names that must be unique across the stack, and values whose
// validity depends on other fields. It does not change the stack.
func validateStack(st *Stack) (diags []*Diag) {
	names := make([]string, len(st.Services))
	for i, s := range st.Services {
		names[i] = s.Name
	}
	for _, s := range st.Services {
		diags = append(diags, validateService(st, s, names)...)
	}
	diags = append(diags, validateRoutes(st)...)
	return diags
}

func validateService(st *Stack, s *Service, names []string) (diags []*Diag) {
	if !dnsLabelRe.MatchString(s.Name) {
		diags = append(diags, invalidValueDiag("service name",
			fmt.Sprintf("%q is not a valid service name: it becomes a Consul service, a Nomad job and a DNS label, so use lowercase letters, digits and dashes, starting with a letter (at most 63).", s.Name),
			s.NameRange))
	}
	for _, r := range ReservedServiceNames {
		if s.Name == r {
			diags = append(diags, invalidValueDiag("service name",
				fmt.Sprintf("%q is reserved for the platform's own service; choose another name.", s.Name), s.NameRange))
		}
	}

	switch {
	case s.ImageRange == (Range{}):
		// Missing or undecodable: already reported.
	case strings.TrimSpace(s.Image) == "" || strings.ContainsAny(s.Image, " \t\n"):
		diags = append(diags, invalidValueDiag("image",
			"image must name a container image such as \"shop/api:1.4.2\", without spaces.", s.ImageRange))
	case imageTag(s.Image) == "" || imageTag(s.Image) == "latest":
		diags = append(diags, warningDiag("Image without a pinned tag",
			fmt.Sprintf("%q has no tag or uses \"latest\": Nomad's Docker driver pulls such images on every start, which fails without a registry, and redeploys are not reproducible. Pin a version tag or a digest.", s.Image),
			rangePtr(s.ImageRange)))
	}

	if len(s.Ports) == 0 {
		diags = append(diags, errorDiag("Service without a port",
			"Every service registers in Consul with a Connect sidecar on its first port. Add e.g. port \"http\" { container_port = 8080 }.",
			rangePtr(s.DeclRange)))
	}
	seenPort := map[string]*Port{}
	seenNumber := map[int]*Port{}
	for _, p := range s.Ports {
		if prev, ok := seenPort[p.Name]; ok {
			diags = append(diags, duplicateDiag("port", p.Name, prev.NameRange, p.NameRange))
		} else {
			seenPort[p.Name] = p
		}
		if prev, ok := seenNumber[p.Container]; ok && p.Container != 0 {
			diags = append(diags, errorDiag("Duplicate container port",
				fmt.Sprintf("Port %q uses container port %d, like port %q at %s.", p.Name, p.Container, prev.Name, Pos(prev.DeclRange)),
				rangePtr(p.DeclRange)))
		} else {
			seenNumber[p.Container] = p
		}
	}
	portNames := make([]string, 0, len(s.Ports))
	for _, p := range s.Ports {
		portNames = append(portNames, p.Name)
	}

	if s.Health == nil {
		diags = append(diags, warningDiag("Service without a health check",
			"Without a health block Nomad counts an allocation healthy as soon as it runs, so a broken release is not rolled back. Add health { path = \"/healthz\" }, on any port that speaks HTTP.",
			rangePtr(s.DeclRange)))
	} else if len(s.Ports) > 0 {
		if s.Port(s.Health.Port) == nil {
			diags = append(diags, errorDiag("Unknown health check port",
				fmt.Sprintf("The health check uses port %q, which the service does not declare.%s Declared: %s.",
					s.Health.Port, didYouMean(s.Health.Port, portNames), oneOf(portNames)),
				rangePtr(s.Health.PortRange)))
		}
	}

	// Every name that ends up in the task's environment must be unique.
	envOwner := map[string]string{}
	claim := func(name, owner string, rng *Range) {
		if !envNameRe.MatchString(name) {
			diags = append(diags, invalidValueDiag("environment variable name", envNameDetail(name), *rng))
			return
		}
		if strings.HasPrefix(name, "NOMAD_") || strings.HasPrefix(name, "CONSUL_") || strings.HasPrefix(name, "VAULT_") {
			diags = append(diags, invalidValueDiag("environment variable name",
				fmt.Sprintf("%q starts with a prefix Nomad, Consul or Vault set themselves; choose another name.", name), *rng))
			return
		}
		if prev, ok := envOwner[name]; ok {
			diags = append(diags, errorDiag("Duplicate environment variable",
				fmt.Sprintf("%q is set by %s and again by %s; each variable must come from one place.", name, prev, owner), rangePtr(*rng)))
			return
		}
		envOwner[name] = owner
	}
	for _, e := range s.Env {
		r := e.Range
		claim(e.Name, "env", &r)
	}
	for _, sec := range s.Secrets {
		if sec.PathRange != (Range{}) && dnsLabelRe.MatchString(st.Settings.Name) {
			if problem, candidate := vaultPathProblem(sec.Path, st.Settings); problem != "" {
				diags = append(diags, vaultPathDiag(problem, st.Settings, vaultPathExample(candidate, s.Name, st.Settings), sec.PathRange))
			}
		}
		r := sec.DeclRange
		claim(sec.Env, fmt.Sprintf("secret %q", sec.Env), &r)
	}

	seenUp := map[string]*Upstream{}
	localPorts := map[int]string{}
	for _, p := range s.Ports {
		localPorts[p.Container] = fmt.Sprintf("the service's own port %q", p.Name)
	}
	for _, u := range s.Upstreams {
		if prev, ok := seenUp[u.Service]; ok {
			diags = append(diags, duplicateDiag("upstream", u.Service, prev.NameRange, u.NameRange))
			continue
		}
		seenUp[u.Service] = u
		switch {
		case u.Service == s.Name:
			diags = append(diags, invalidValueDiag("upstream",
				"A service cannot be its own upstream; it reaches itself on its own port.", u.NameRange))
		case st.Service(u.Service) == nil:
			diags = append(diags, errorDiag("Unknown upstream service",
				fmt.Sprintf("No service named %q is declared in this stack.%s Upstreams name another service block of the stack (the files passed together).",
					u.Service, didYouMean(u.Service, names)),
				rangePtr(u.NameRange)))
		}
		if u.LocalPort == 0 {
			// Missing or undecodable: already reported.
		} else if owner, ok := localPorts[u.LocalPort]; ok {
			diags = append(diags, errorDiag("Local port clash",
				fmt.Sprintf("local_port %d is already used by %s inside this service's network namespace; pick a free port.", u.LocalPort, owner),
				rangePtr(u.PortRange)))
		} else {
			localPorts[u.LocalPort] = fmt.Sprintf("upstream %q", u.Service)
		}
		r := u.DeclRange
		claim(u.Env, fmt.Sprintf("upstream %q", u.Service), &r)
	}

	perEntrypoint := map[string]int{}
	for _, e := range s.Exposes {
		perEntrypoint[e.Entrypoint]++
	}
	for _, e := range s.Exposes {
		if e.Host == "" && e.PathPrefix == "" {
			diags = append(diags, errorDiag("Exposure without a route",
				"Give host and/or path_prefix, or set domain in the stack block so the host defaults to <service>.<domain>.",
				rangePtr(e.DeclRange)))
		}
		if e.RouterDefaulted && perEntrypoint[e.Entrypoint] > 1 {
			diags = append(diags, errorDiag("Router name needed",
				fmt.Sprintf("The service is exposed on %q more than once; give each expose block a distinct router = \"...\".", e.Entrypoint),
				rangePtr(e.DeclRange)))
		}
		if mp := s.MeshPort(); mp != nil && mp.Protocol != "http" {
			diags = append(diags, errorDiag("Exposure of a tcp port",
				fmt.Sprintf("Traefik routes HTTP by host and path, but the service's mesh port %q is tcp. Set protocol = \"http\" or remove the expose block.", mp.Name),
				rangePtr(e.DeclRange)))
		}
	}

	if as := s.Autoscale; as != nil && s.ReplicasSet {
		if s.Replicas < as.Min || s.Replicas > as.Max {
			diags = append(diags, errorDiag("Replicas outside autoscaling bounds",
				fmt.Sprintf("replicas = %d is the starting count and must lie within min = %d and max = %d.", s.Replicas, as.Min, as.Max),
				rangePtr(s.ReplicasRange)))
		}
	}
	return diags
}

// validateRoutes checks router names and routes across services: Traefik
// merges every router of the catalog into one namespace.
func validateRoutes(st *Stack) (diags []*Diag) {
	routers := map[string]*Expose{}
	routes := map[string]string{}
	for _, s := range st.Services {
		for _, e := range s.Exposes {
			if e.Router != "" {
				if prev, ok := routers[e.Router]; ok {
					diags = append(diags, duplicateDiag("router", e.Router, prev.DeclRange, e.DeclRange))
				} else {
					routers[e.Router] = e
				}
			}
			key := e.Entrypoint + " " + e.Host + " " + e.PathPrefix
			if prev, ok := routes[key]; ok {
				diags = append(diags, errorDiag("Duplicate route",
					fmt.Sprintf("%s already serves host %q path %q on the %s entrypoint; Traefik would pick one at random.",
						prev, e.Host, orSlash(e.PathPrefix), e.Entrypoint),
					rangePtr(e.DeclRange)))
			} else {
				routes[key] = fmt.Sprintf("Service %q", s.Name)
			}
		}
	}
	return diags
}

func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// imageTag returns the tag of an image reference ("" when it has none);
// a digest counts as a tag.
func imageTag(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[i+1:]
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		return last[i+1:]
	}
	return ""
}
