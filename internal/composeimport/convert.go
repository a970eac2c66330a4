package composeimport

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	yaml "go.yaml.in/yaml/v4"

	"github.com/stackctl/stackctl/internal/spec"
)

// converter turns a loaded compose project into descriptors. It works in
// passes because a service's ports and protocol are partly learnt from
// the others (an env value "redis://cache:6379" says cache listens on 6379
// and speaks tcp).
type converter struct {
	p      *project
	stack  string
	domain string
	outDir string

	names   map[string]string // compose name -> stackctl name, imported services only
	order   []string          // imported compose names by stackctl name
	skipped map[string]string // compose name -> why it is not imported
	hosts   map[string]string // lowercase host name -> compose service
	refs    map[string]map[string][]ref
	ev      map[string]*evidence
	ports   map[string][]*port // compose name -> ports, the mesh port first

	diags   hcl.Diagnostics
	red     redactor
	shared  map[string]*secretRef
	puts    []*SecretPut
	putAt   map[string]*SecretPut // Vault path + key -> the command that fills it
	images  []imageVar
	strip   map[string][]string
	sources []string
}

// evidence is what the project says about a service's ports.
type evidence struct {
	traefikPort int
	referenced  []int
	schemes     map[string]bool
	health      *url.URL
	image       imageInfo
}

// imageInfo is what is known about well-known images: their port and
// whether they speak HTTP.
type imageInfo struct {
	port int
	tcp  bool
	name string
}

var knownImages = map[string]imageInfo{
	"postgres": {5432, true, "postgres"}, "postgis": {5432, true, "postgres"}, "timescaledb": {5432, true, "postgres"},
	"mysql": {3306, true, "mysql"}, "mariadb": {3306, true, "mysql"}, "percona": {3306, true, "mysql"},
	"redis": {6379, true, "redis"}, "valkey": {6379, true, "redis"}, "keydb": {6379, true, "redis"},
	"mongo": {27017, true, "mongo"}, "memcached": {11211, true, "memcached"},
	"rabbitmq": {5672, true, "amqp"}, "nats": {4222, true, "nats"},
	"zookeeper": {2181, true, "zookeeper"}, "kafka": {9092, true, "kafka"},
	"clickhouse-server": {9000, true, "clickhouse"}, "clickhouse": {9000, true, "clickhouse"},
	"elasticsearch": {9200, false, "http"}, "opensearch": {9200, false, "http"}, "minio": {9000, false, "http"},
	"nginx": {80, false, "http"}, "httpd": {80, false, "http"}, "caddy": {80, false, "http"},
}

// tcpPorts are ports of protocols other than HTTP.
var tcpPorts = map[int]bool{5432: true, 3306: true, 6379: true, 27017: true, 11211: true, 5672: true, 4222: true, 2181: true, 9092: true, 25: true, 1025: true}

// imageBase is the image's name without registry, path or tag
// ("docker.io/library/postgres:16" -> "postgres").
func imageBase(image string) string {
	if i := strings.IndexAny(image, "@"); i >= 0 {
		image = image[:i]
	}
	base := image[strings.LastIndex(image, "/")+1:]
	if i := strings.Index(base, ":"); i >= 0 {
		base = base[:i]
	}
	return strings.ToLower(base)
}

var (
	invalidNameRe = regexp.MustCompile(`[^a-z0-9-]+`)
	dashesRe      = regexp.MustCompile(`-{2,}`)
	envNameRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	vaultSegRe    = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// dnsName turns a compose name (which may hold '_', '.', capitals) into a
// DNS label, as stackctl service and stack names must be.
func dnsName(s string) string {
	n := strings.ToLower(s)
	n = strings.NewReplacer("_", "-", ".", "-", " ", "-").Replace(n)
	n = invalidNameRe.ReplaceAllString(n, "")
	n = strings.Trim(dashesRe.ReplaceAllString(n, "-"), "-")
	if n == "" || n[0] < 'a' || n[0] > 'z' {
		n = "s-" + n
	}
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// warn records a warning; the CLI prints them sorted by position.
func (c *converter) warn(subject *hcl.Range, summary, detail string) {
	c.diags = append(c.diags, warningDiag(summary, detail, subject))
}

// convert runs the passes and returns the descriptors in name order.
func (c *converter) convert() []*descriptor {
	c.pickServices()
	c.collectHosts()
	c.scanRefs()
	for _, name := range c.order {
		c.ports[name] = c.portsOf(name)
	}
	var out []*descriptor
	for _, name := range c.order {
		out = append(out, c.service(name))
	}
	c.topLevel()
	return out
}

// pickServices decides which services become descriptors and their names.
func (c *converter) pickServices() {
	byName := map[string]string{}
	for _, name := range c.p.ServiceNames() {
		s := c.p.Services[name]
		base := imageBase(s.Image)
		stripMiddlewares(s.Labels, c.strip)
		if s.Deploy != nil {
			stripMiddlewares(s.Deploy.Labels, c.strip)
		}
		n := dnsName(name)
		switch {
		case edgeProxyImages[base] || n == "traefik":
			c.skipped[name] = "the edge proxy"
			c.warn(c.p.loc.service(name), "Edge proxy not imported",
				fmt.Sprintf("Service %q runs Traefik, the edge stackctl's platform already provides. It is not imported; the routes its labels give other services become their expose blocks.", name))
			continue
		case isReserved(n):
			c.skipped[name] = "a platform service"
			c.warn(c.p.loc.service(name), "Platform service not imported",
				fmt.Sprintf("Service %q has the name of a service the platform runs itself (%s), so it is not imported. Point the services that use it at the platform's own.", name, strings.Join(spec.ReservedServiceNames, ", ")))
			continue
		}
		if len(s.Ports) > maxPorts {
			// A range ("1-65535:1-65535") is one entry per port; each would
			// be a port block or a warning of its own.
			c.diags = append(c.diags, errorDiag("Too many ports",
				fmt.Sprintf("Service %q publishes %d ports (a range counts each port); a stackctl service has one mesh port and at most a few others, so the import takes at most %d. List only the ports the service listens on.", name, len(s.Ports), maxPorts),
				c.p.loc.service(name, key("ports"))))
			continue
		}
		if prev, ok := byName[n]; ok {
			c.diags = append(c.diags, errorDiag("Service names collide",
				fmt.Sprintf("Compose services %q and %q both become the stackctl service %q (names are lowercase DNS labels). Rename one of them in the compose file.", prev, name, n),
				c.p.loc.service(name)))
			continue
		}
		byName[n] = name
		c.names[name] = n
		if n != name {
			c.warn(c.p.loc.service(name), "Service renamed",
				fmt.Sprintf("Compose service %q becomes %q: stackctl service names are DNS labels (lowercase letters, digits and dashes).", name, n))
		}
	}
	for name := range c.names {
		c.order = append(c.order, name)
	}
	sort.Slice(c.order, func(i, j int) bool { return c.names[c.order[i]] < c.names[c.order[j]] })
}

// maxPorts bounds the ports of one service.
const maxPorts = 100

// isReserved reports a name the platform's own services use.
func isReserved(n string) bool {
	for _, r := range spec.ReservedServiceNames {
		if n == r {
			return true
		}
	}
	return false
}

// collectHosts maps every name a service is reachable by on the compose
// network to the service: its name, container_name, hostname, network
// aliases and link aliases. Services of inactive profiles are included so
// that mentions of them can be reported instead of passed over.
func (c *converter) collectHosts() {
	add := func(host, svc string) {
		if host != "" {
			if _, ok := c.hosts[strings.ToLower(host)]; !ok {
				c.hosts[strings.ToLower(host)] = svc
			}
		}
	}
	all := []types.Services{c.p.Services, c.p.DisabledServices}
	for _, set := range all {
		for _, n := range sortedKeys(set) {
			s := set[n]
			add(n, n)
			add(s.ContainerName, n)
			add(s.Hostname, n)
			for _, net := range sortedKeys(s.Networks) {
				if cfg := s.Networks[net]; cfg != nil {
					for _, a := range cfg.Aliases {
						add(a, n)
					}
				}
			}
		}
	}
	for _, n := range c.p.ServiceNames() {
		for _, l := range c.p.Services[n].Links {
			target, alias, ok := strings.Cut(l, ":")
			if ok {
				add(alias, target)
			}
		}
	}
}

// scanRefs finds, in every imported service's environment, the mentions
// of other services, and learns their ports and protocols from them.
func (c *converter) scanRefs() {
	for _, name := range c.p.ServiceNames() {
		c.ev[name] = &evidence{schemes: map[string]bool{}, image: knownImages[imageBase(c.p.Services[name].Image)]}
	}
	for _, name := range c.order {
		s := c.p.Services[name]
		c.refs[name] = map[string][]ref{}
		for _, k := range sortedKeys(s.Environment) {
			v := s.Environment[k]
			if v == nil {
				continue
			}
			var keep []ref
			for _, r := range findRefs(k, *v, c.hosts) {
				if r.target == name {
					continue // a service naming itself reaches itself directly
				}
				// A mention teaches the target's port and protocol even when
				// the caller's value ends up a secret.
				keep = append(keep, r)
				ev := c.ev[r.target]
				if ev == nil {
					continue
				}
				p := r.port
				if p == 0 {
					p = schemePorts[r.scheme]
				}
				if p > 0 && !containsInt(ev.referenced, p) {
					ev.referenced = append(ev.referenced, p)
				}
				if r.scheme != "" {
					ev.schemes[r.scheme] = true
				}
			}
			if len(keep) > 0 {
				c.refs[name][k] = keep
			}
		}
		if hc := s.HealthCheck; hc != nil && !hc.Disable {
			if u := httpProbe(hc.Test); u != nil {
				c.ev[name].health = u
			}
		}
		routes, lbPort, _, _ := c.traefik(name)
		if lbPort > 0 {
			c.ev[name].traefikPort = lbPort
		} else if len(routes) > 0 && len(s.Ports) == 0 && len(s.Expose) == 0 && c.ev[name].image.port == 0 {
			c.ev[name].traefikPort = 80 // Traefik's default: the container's only exposed port, 80 for most web images
		}
	}
}

// traefik reads a service's Traefik labels, from labels and from
// deploy.labels (where swarm-mode files keep them).
func (c *converter) traefik(name string) ([]route, int, bool, bool) {
	s := c.p.Services[name]
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	if s.Deploy != nil {
		for k, v := range s.Deploy.Labels {
			labels[k] = v
		}
	}
	return traefikLabels(labels, c.strip)
}

// portsOf decides a service's container ports, the mesh port first: the
// port Traefik's labels name, else the first published port, the first
// exposed one, one other services use, the health check's, the image's
// well-known port; a service with none (a worker) gets a placeholder.
func (c *converter) portsOf(name string) []*port {
	s := c.p.Services[name]
	ev := c.ev[name]
	var nums []int
	add := func(n int) {
		if n > 0 && n <= 65535 && !containsInt(nums, n) {
			nums = append(nums, n)
		}
	}
	add(ev.traefikPort)
	for _, p := range s.Ports {
		if strings.EqualFold(p.Protocol, "udp") {
			c.warn(c.p.loc.service(name, key("ports"), item(portItem(p))), "UDP port not imported",
				fmt.Sprintf("Port %d/udp of %q is not imported: the mesh carries TCP only.", p.Target, name))
			continue
		}
		add(int(p.Target))
	}
	for _, e := range s.Expose {
		e = strings.TrimSuffix(e, "/tcp")
		if n, err := strconv.Atoi(e); err == nil {
			add(n)
		}
	}
	for _, n := range ev.referenced {
		add(n)
	}
	if ev.health != nil {
		add(healthPort(ev.health))
	}
	if len(nums) == 0 {
		add(ev.image.port)
	}
	if len(nums) == 0 {
		c.warn(c.p.loc.service(name), "Service without a port",
			fmt.Sprintf("%q publishes, exposes and is called on no port (a worker?). Every stackctl service joins the mesh on a port, so the descriptor declares port \"http\" 8080 as a placeholder; nothing calls it. If the service listens, set its real container_port.", name))
		return []*port{{Name: "http", Container: 8080, Protocol: "http"}}
	}
	tcp := c.speaksTCP(name, nums[0])
	out := []*port{{Name: "http", Container: nums[0], Protocol: "http"}}
	if tcp {
		pn := ev.image.name
		if pn == "" || pn == "http" {
			pn = "tcp"
		}
		out[0] = &port{Name: pn, Container: nums[0], Protocol: "tcp"}
	}
	for _, n := range nums[1:] {
		proto := "http"
		if tcpPorts[n] {
			proto = "tcp"
		}
		out = append(out, &port{Name: fmt.Sprintf("port_%d", n), Container: n, Protocol: proto})
	}
	return out
}

// speaksTCP decides the mesh port's protocol from the evidence, strongest
// first: URL schemes used by callers, an HTTP health probe or Traefik
// routes, the image, the port number.
func (c *converter) speaksTCP(name string, meshPort int) bool {
	ev := c.ev[name]
	for s := range ev.schemes {
		if tcpSchemes[s] {
			return true
		}
	}
	for s := range ev.schemes {
		if s == "http" || s == "https" || s == "ws" || s == "wss" {
			return false
		}
	}
	if ev.health != nil || ev.traefikPort > 0 {
		return false
	}
	if ev.image.port != 0 {
		return ev.image.tcp
	}
	return tcpPorts[meshPort]
}

var probeToolRe = regexp.MustCompile(`(^|[\s/])(curl|wget)(\s|$)`)
var probeURLRe = regexp.MustCompile(`https?://[^\s'"|;&)<>]+`)

// httpProbe returns the URL a curl or wget health check requests.
func httpProbe(test types.HealthCheckTest) *url.URL {
	if len(test) == 0 {
		return nil
	}
	args := []string(test)
	switch args[0] {
	case "NONE":
		return nil
	case "CMD", "CMD-SHELL":
		args = args[1:]
	}
	cmd := strings.Join(args, " ")
	if !probeToolRe.MatchString(cmd) {
		return nil
	}
	u, err := url.Parse(probeURLRe.FindString(cmd))
	if err != nil || u.Host == "" {
		return nil
	}
	return u
}

// healthPort is the port a probe URL requests, the scheme's default
// when it names none.
func healthPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	return schemePorts[u.Scheme]
}

func containsInt(s []int, n int) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

// sortedKeys iterates maps deterministically: every output of the import
// is byte-for-byte repeatable.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// service builds one descriptor.
func (c *converter) service(name string) *descriptor {
	s := c.p.Services[name]
	d := &descriptor{Name: c.names[name], Compose: name, Ports: c.ports[name]}
	loc := c.p.loc

	c.image(name, s, d)
	c.command(name, s, d)
	if n := s.GetScale(); s.Scale != nil || (s.Deploy != nil && s.Deploy.Replicas != nil) {
		d.Replicas = &n
	}
	d.Resources = c.resources(s)
	c.health(name, s, d)
	c.expose(name, s, d)
	c.environment(name, s, d)
	c.unsupported(name, s)

	if base := imageBase(s.Image); proxyImages[base] && (len(s.DependsOn) > 0 || len(s.Links) > 0) {
		c.warn(loc.service(name, key("image")), "Reverse proxy imported as a service",
			fmt.Sprintf("%q runs %s in front of other services. stackctl's edge is Traefik: consider exposing the services behind it with expose blocks (host, path_prefix) and dropping %q; its configuration file is a bind mount that does not come along.", name, base, c.names[name]))
	}
	return d
}

// image sets the image, or a variable with a placeholder for images the
// compose file builds.
func (c *converter) image(name string, s types.ServiceConfig, d *descriptor) {
	loc := c.p.loc
	if s.Build == nil {
		d.Image = s.Image // an unpinned tag: the validation's warning, moved here (import.go)
		return
	}
	ctxDir := s.Build.Context
	if rel, ok := c.relPath(ctxDir); ok {
		ctxDir = rel
	}
	if s.Image != "" {
		d.Image = s.Image
		c.warn(loc.service(name, key("build")), "Image built by compose",
			fmt.Sprintf("%q is built from %q; stackctl deploys images and builds none. The descriptor uses %q: build it and push it where the Nomad clients pull from (or, on a one-machine dev stack, build it locally with a pinned tag).", name, ctxDir, s.Image))
		return
	}
	v := strings.ReplaceAll(c.names[name], "-", "_") + "_image"
	def := c.stack + "-" + c.names[name] + ":dev"
	d.ImageVar = v
	c.images = append(c.images, imageVar{Name: v, Default: def,
		Description: fmt.Sprintf("The image of %s, which compose builds from %q: build, tag and push it, then pass -var %s=REGISTRY/IMAGE:TAG.", c.names[name], ctxDir, v)})
	c.warn(loc.service(name, key("build")), "Image built by compose",
		fmt.Sprintf("%q is built from %q and names no image; stackctl deploys images and builds none. The descriptor uses var.%s, default %q (the name docker compose gives the image, with a pinned tag): `docker compose build %s && docker tag %s-%s %s` on a one-machine dev stack, or push it to a registry and pass -var %s=REGISTRY/IMAGE:TAG.",
			name, ctxDir, v, def, name, c.p.Name, name, def, v))
}

// command maps entrypoint and command onto the descriptor's command (the
// first word Nomad runs) and args.
func (c *converter) command(name string, s types.ServiceConfig, d *descriptor) {
	// Nomad's docker driver takes the whole command line as command + args
	// and keeps the image's ENTRYPOINT in front of it.
	words := append([]string(nil), s.Entrypoint...)
	if len(s.Entrypoint) > 0 {
		c.warn(c.p.loc.service(name, key("entrypoint")), "Entrypoint becomes the command",
			fmt.Sprintf("A descriptor has no entrypoint: %q's entrypoint and command become command and args, which Nomad passes as the container's command. That is the same when the image declares no ENTRYPOINT; otherwise bake the entrypoint into the image.", name))
	}
	words = append(words, s.Command...)
	if len(words) > 0 {
		d.Command, d.Args = words[0], words[1:]
	}
}

// resources maps compose's CPUs and memory: 1 CPU = 1000 MHz, the
// reservation is what Nomad schedules on, a higher limit becomes
// memory_max.
func (c *converter) resources(s types.ServiceConfig) *resources {
	var cpus float64
	var limit, reserve int64
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			cpus, limit = float64(l.NanoCPUs), int64(l.MemoryBytes)
		}
		if r := s.Deploy.Resources.Reservations; r != nil {
			if r.NanoCPUs > 0 {
				cpus = float64(r.NanoCPUs)
			}
			reserve = int64(r.MemoryBytes)
		}
	}
	if cpus == 0 && s.CPUS > 0 {
		cpus = float64(s.CPUS)
	}
	if limit == 0 {
		limit = int64(s.MemLimit)
	}
	if reserve == 0 {
		reserve = int64(s.MemReservation)
	}
	if cpus == 0 && limit == 0 && reserve == 0 {
		return nil
	}
	r := &resources{}
	if cpus > 0 {
		r.CPU = max(1, int(math.Round(cpus*1000)))
	}
	mb := func(b int64) int { return max(10, int(b>>20)) }
	switch {
	case reserve > 0 && limit > reserve:
		r.Memory, r.MemoryMax = mb(reserve), mb(limit)
	case reserve > 0:
		r.Memory = mb(reserve)
	case limit > 0:
		r.Memory = mb(limit)
	}
	return r
}

// health maps an HTTP probe (curl or wget of a URL) to a health block.
func (c *converter) health(name string, s types.ServiceConfig, d *descriptor) {
	loc := c.p.loc
	hc := s.HealthCheck
	at := loc.service(name, key("healthcheck"))
	suggest := "Add health { path = \"/healthz\" } (any path that answers 200 when the service works) to the descriptor, on an HTTP port."
	switch {
	case hc == nil:
		c.warn(loc.service(name), "No health check",
			fmt.Sprintf("%q has no healthcheck, so Nomad would call a release healthy as soon as it runs. %s", name, suggest))
		return
	case hc.Disable || (len(hc.Test) > 0 && hc.Test[0] == "NONE"):
		c.warn(at, "Health check disabled", fmt.Sprintf("%q's healthcheck is disabled. %s", name, suggest))
		return
	}
	u := c.ev[name].health
	if u == nil {
		c.warn(at, "Health check is not an HTTP probe",
			fmt.Sprintf("%q's healthcheck runs a command (%s), which Nomad cannot run for a mesh service: its checks are HTTP requests from the Consul agent. %s", name, strings.Join(hc.Test, " "), suggest))
		return
	}
	if u.Scheme != "http" {
		c.warn(at, "HTTPS health probe not imported",
			fmt.Sprintf("%q's healthcheck requests %s; descriptor health checks are plain HTTP on a container port. Add health { path = \"...\" } on a port that answers plain HTTP.", name, u.Redacted()))
		return
	}
	p := healthPort(u)
	var pname string
	for i, dp := range d.Ports {
		if dp.Container == p {
			if i > 0 {
				pname = dp.Name
			}
			if dp.Protocol != "http" {
				c.warn(at, "Health probe on a tcp port",
					fmt.Sprintf("%q's healthcheck requests port %d, which carries tcp. Add an http port for the check.", name, p))
				return
			}
		}
	}
	h := &health{Path: u.EscapedPath(), Port: pname}
	if h.Path == "" {
		h.Path = "/"
	}
	if u.RawQuery != "" {
		c.warn(at, "Health check query dropped",
			fmt.Sprintf("Descriptor health checks take a path; %q's probe query ?%s is dropped.", name, u.RawQuery))
	}
	// Compose's defaults (30s, 30s) would break the descriptor's rule that
	// the timeout is shorter than the interval; its own defaults apply
	// unless the compose file says otherwise.
	const defInterval, defTimeout = 10 * time.Second, 2 * time.Second
	interval, timeout := defInterval, defTimeout
	if hc.Interval != nil {
		interval = min(max(time.Duration(*hc.Interval), time.Second), time.Hour)
		h.Interval = interval
	}
	if hc.Timeout != nil {
		timeout = max(time.Duration(*hc.Timeout), 100*time.Millisecond)
		h.Timeout = timeout
	}
	if timeout >= interval {
		h.Timeout = max(interval/2, 100*time.Millisecond)
		d.Notes = append(d.Notes, fmt.Sprintf("health: compose's timeout (%s) is not shorter than the interval (%s); the check times out after %s.", timeout, interval, h.Timeout))
	}
	var dropped []string
	for _, f := range []struct {
		set  bool
		name string
	}{{hc.Retries != nil, "retries"}, {hc.StartPeriod != nil, "start_period"}, {hc.StartInterval != nil, "start_interval"}} {
		if f.set {
			dropped = append(dropped, f.name)
		}
	}
	if len(dropped) > 0 {
		c.warn(at, "Health check settings not imported",
			fmt.Sprintf("%q's healthcheck %s: no descriptor equivalent; a Nomad deployment waits min_healthy_time (update block) before it counts an instance healthy.", name, strings.Join(dropped, ", ")))
	}
	d.Health = h
}

// expose turns published ports and Traefik labels into expose blocks.
func (c *converter) expose(name string, s types.ServiceConfig, d *descriptor) {
	loc := c.p.loc
	mesh := d.Ports[0]
	routes, _, enabled, hasLabels := c.traefik(name)
	if hasLabels && !enabled {
		return
	}
	// Labels say what the compose file's Traefik routed: they win over
	// published ports, which behind a proxy are usually none.
	if len(routes) > 0 {
		count := map[bool]int{}
		for _, r := range routes {
			count[r.internal]++
		}
		for _, r := range routes {
			at := loc.service(name, key("labels"), entry("traefik.http.routers."+r.router+".rule"))
			if at == nil && s.Deploy != nil {
				at = loc.service(name, key("deploy"), key("labels"), entry("traefik.http.routers."+r.router+".rule"))
			}
			if mesh.Protocol != "http" {
				c.warn(at, "Route to a tcp port not imported",
					fmt.Sprintf("Router %q routes to %q, whose mesh port carries tcp; Traefik's expose blocks route HTTP only.", r.router, name))
				continue
			}
			if r.unsupported != "" {
				c.warn(at, "Router rule partly imported",
					fmt.Sprintf("Router %q's rule uses %s, which an expose block cannot say; it is imported as host %q path %q. Check the route.", r.router, r.unsupported, r.host, orSlash(r.pathPrefix)))
			}
			e := &expose{Entrypoint: spec.EntrypointPublic, Host: r.host, PathPrefix: r.pathPrefix, StripPrefix: r.strip, TLS: r.tls, CertResolver: r.resolver}
			if r.internal {
				e.Entrypoint = spec.EntrypointInternal
			}
			if count[r.internal] > 1 {
				e.Router = dnsName(d.Name + "-" + r.router)
			}
			d.Exposes = append(d.Exposes, e)
		}
		return
	}
	// Traefik routes to the Connect service on the mesh port, so only that
	// port can be exposed; a service published on loopback alone was meant
	// for the people on the machine, which the internal entrypoint is.
	published, loopback := false, true
	for _, p := range s.Ports {
		// Every ports entry publishes, "8080" alone on a random host port.
		if strings.EqualFold(p.Protocol, "udp") {
			continue // reported with the ports
		}
		at := loc.service(name, key("ports"), item(portItem(p)))
		if int(p.Target) != mesh.Container {
			c.warn(at, "Published port not routed",
				fmt.Sprintf("%q publishes port %d, but only its mesh port (%d) can be routed from the edge; port %d is reachable in the allocation only.", name, p.Target, mesh.Container, p.Target))
			continue
		}
		if mesh.Protocol != "http" {
			c.warn(at, "Published tcp port not routed",
				fmt.Sprintf("%q publishes port %d, which carries tcp; Traefik routes HTTP by host and path, so the port is not exposed. Services reach %q through an upstream; for access from outside, use a Nomad job of its own or `nomad alloc exec`.", name, p.Target, name))
			continue
		}
		published = true
		if !isLoopback(p.HostIP) {
			loopback = false
		}
	}
	if !published {
		return
	}
	e := &expose{Entrypoint: spec.EntrypointPublic, Host: d.Name + "." + c.domain}
	if loopback {
		e.Entrypoint = spec.EntrypointInternal
		d.Notes = append(d.Notes, "expose: compose publishes the port on loopback only, so it is served on the internal entrypoint (loopback on the edge).")
	}
	d.Exposes = append(d.Exposes, e)
}

// isLoopback reports a host_ip that publishes to this machine only.
func isLoopback(ip string) bool {
	return ip == "127.0.0.1" || ip == "::1" || ip == "localhost"
}

// orSlash shows an empty path prefix as "/".
func orSlash(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// portItem matches a ports entry (short "8080:80" or long syntax) by its
// container port.
func portItem(p types.ServicePortConfig) func(*yaml.Node) bool {
	target := strconv.Itoa(int(p.Target))
	return func(n *yaml.Node) bool {
		if n.Kind == yaml.ScalarNode {
			v := strings.TrimSuffix(strings.TrimSuffix(n.Value, "/tcp"), "/udp")
			v = v[strings.LastIndex(v, ":")+1:]
			// A range "9000-9001" holds each of its ports.
			lo, hi, isRange := strings.Cut(v, "-")
			if !isRange {
				return v == target
			}
			a, errA := strconv.Atoi(lo)
			b, errB := strconv.Atoi(hi)
			return errA == nil && errB == nil && a <= int(p.Target) && int(p.Target) <= b
		}
		_, t := key("target")(n)
		return t != nil && t.Value == target
	}
}

// relPath shows a path relative to the working directory when it is below it.
func (c *converter) relPath(p string) (string, bool) {
	if c.p.WorkingDir == "" || !path.IsAbs(p) {
		return p, false
	}
	if p == c.p.WorkingDir {
		return ".", true
	}
	if strings.HasPrefix(p, c.p.WorkingDir+"/") {
		return "./" + strings.TrimPrefix(p, c.p.WorkingDir+"/"), true
	}
	return p, false
}

// vaultSegment makes a name usable as a Vault path segment.
func vaultSegment(s string) string {
	s = vaultSegRe.ReplaceAllString(s, "-")
	if s == "" || s == "." || s == ".." {
		return "secret"
	}
	return s
}
