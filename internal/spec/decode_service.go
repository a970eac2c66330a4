package spec

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var serviceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "image", Required: true},
		{Name: "command"},
		{Name: "args"},
		{Name: "replicas"},
		{Name: "env"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "port", LabelNames: []string{"name"}},
		{Type: "resources"},
		{Type: "health"},
		{Type: "restart"},
		{Type: "update"},
		{Type: "secret", LabelNames: []string{"env"}},
		{Type: "upstream", LabelNames: []string{"service"}},
		{Type: "expose", LabelNames: []string{"entrypoint"}},
		{Type: "autoscale"},
	},
}

// Defaults for a service's optional settings, chosen to match what Nomad
// itself would do except where the issue asks otherwise (auto-revert on).
const (
	defaultCPU              = 100
	defaultMemory           = 128
	defaultHealthInterval   = 10 * time.Second
	defaultHealthTimeout    = 2 * time.Second
	defaultMinHealthyTime   = 10 * time.Second
	defaultHealthyDeadline  = 5 * time.Minute
	defaultProgressDeadline = 10 * time.Minute
	defaultEvalInterval     = 10 * time.Second
	defaultCooldown         = time.Minute
	maxReplicas             = 1000
)

func defaultService() *Service {
	return &Service{
		Replicas:  1,
		Resources: Resources{CPU: defaultCPU, Memory: defaultMemory},
		Restart:   Restart{Attempts: 2, Delay: 15 * time.Second, Interval: 30 * time.Minute, Mode: "fail"},
		// One canary, promoted once healthy: the new instance serves before
		// an old one stops, so even a single-instance service keeps
		// answering through a rollout (docs/descriptor.md).
		Update: Update{
			MaxParallel: 1, Canary: 1, AutoPromote: true, AutoRevert: true,
			MinHealthyTime: defaultMinHealthyTime, HealthyDeadline: defaultHealthyDeadline, ProgressDeadline: defaultProgressDeadline,
		},
	}
}

// blockOnce returns the single block of a type, reporting repeats.
func blockOnce(blocks hcl.Blocks, typ string, d *attrs) *hcl.Block {
	var first *hcl.Block
	for _, b := range blocks {
		if b.Type != typ {
			continue
		}
		if first != nil {
			d.diags = append(d.diags, errorDiag("Duplicate "+typ+" block",
				fmt.Sprintf("A service takes one %s block; the first is at %s.", typ, Pos(first.DefRange)), rangePtr(b.DefRange)))
			continue
		}
		first = b
	}
	return first
}

func decodeService(b *hcl.Block, ev *evaluator) (*Service, hcl.Diagnostics) {
	s := defaultService()
	s.Name, s.NameRange, s.DeclRange, s.File = b.Labels[0], at(b.LabelRanges[0]), at(b.DefRange), b.DefRange.Filename
	content, diags := b.Body.Content(serviceSchema)
	d := &attrs{evaluator: ev, diags: diags}
	a := content.Attributes

	if a["image"] != nil {
		d.str(a["image"], &s.Image)
		s.ImageRange = at(a["image"].Expr.Range())
	}
	d.str(a["command"], &s.Command)
	d.strList(a["args"], &s.Args)
	if a["replicas"] != nil {
		s.ReplicasSet = d.integer(a["replicas"], &s.Replicas, 0, maxReplicas)
		s.ReplicasRange = at(a["replicas"].Expr.Range())
	}
	if a["env"] != nil {
		s.Env = decodeEnv(a["env"], d)
	}

	for _, blk := range content.Blocks {
		switch blk.Type {
		case "port":
			s.Ports = append(s.Ports, decodePort(blk, d))
		case "secret":
			s.Secrets = append(s.Secrets, decodeSecret(blk, d))
		case "upstream":
			s.Upstreams = append(s.Upstreams, decodeUpstream(blk, d))
		case "expose":
			s.Exposes = append(s.Exposes, decodeExpose(blk, d))
		}
	}
	sort.Slice(s.Secrets, func(i, j int) bool { return s.Secrets[i].Env < s.Secrets[j].Env })

	if blk := blockOnce(content.Blocks, "resources", d); blk != nil {
		decodeResources(blk, d, &s.Resources)
	}
	if blk := blockOnce(content.Blocks, "health", d); blk != nil {
		s.Health = decodeHealth(blk, d, s)
	}
	if blk := blockOnce(content.Blocks, "restart", d); blk != nil {
		decodeRestart(blk, d, &s.Restart)
	}
	if blk := blockOnce(content.Blocks, "update", d); blk != nil {
		decodeUpdate(blk, d, &s.Update)
	}
	if blk := blockOnce(content.Blocks, "autoscale", d); blk != nil {
		s.Autoscale = decodeAutoscale(blk, d)
	}
	return s, d.diags
}

func decodeEnv(a *hcl.Attribute, d *attrs) []*EnvVar {
	var out []*EnvVar
	// An object literal lets each diagnostic point at its own key.
	if pairs, diags := hcl.ExprMap(a.Expr); !diags.HasErrors() {
		for _, kv := range pairs {
			k, ok := d.eval(kv.Key, "an environment variable name")
			if !ok || k.Type() != cty.String || k.IsNull() || !k.IsKnown() {
				continue
			}
			v, ok := d.value(&hcl.Attribute{Name: "env." + k.AsString(), Expr: kv.Value}, cty.String, "environment value")
			if !ok {
				continue
			}
			out = append(out, &EnvVar{Name: k.AsString(), Value: v.AsString(), Range: at(kv.Key.Range())})
		}
	} else {
		v, ok := d.value(a, cty.Map(cty.String), "env")
		if !ok {
			return nil
		}
		for k, e := range v.AsValueMap() {
			if e.IsNull() {
				continue
			}
			out = append(out, &EnvVar{Name: k, Value: e.AsString(), Range: at(a.Expr.Range())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var portSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "container_port", Required: true},
	{Name: "protocol"},
}}

func decodePort(b *hcl.Block, d *attrs) *Port {
	p := &Port{Name: b.Labels[0], Protocol: "http", DeclRange: at(b.DefRange), NameRange: at(b.LabelRanges[0])}
	c, diags := b.Body.Content(portSchema)
	d.diags = append(d.diags, diags...)
	if !portNameRe.MatchString(p.Name) {
		d.diags = append(d.diags, invalidValueDiag("port name",
			"A port name starts with a lowercase letter and holds lowercase letters, digits and underscores (it becomes NOMAD_PORT_<name>).",
			b.LabelRanges[0]))
	}
	d.integer(c.Attributes["container_port"], &p.Container, 1, 65535)
	if d.str(c.Attributes["protocol"], &p.Protocol) && p.Protocol != "http" && p.Protocol != "tcp" {
		d.diags = append(d.diags, invalidValueDiag("protocol",
			fmt.Sprintf("protocol must be %s.%s", oneOf([]string{"http", "tcp"}), didYouMean(p.Protocol, []string{"http", "tcp"})),
			c.Attributes["protocol"].Expr.Range()))
	}
	return p
}

var resourcesSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "cpu"}, {Name: "memory"}, {Name: "memory_max"},
}}

func decodeResources(b *hcl.Block, d *attrs, r *Resources) {
	c, diags := b.Body.Content(resourcesSchema)
	d.diags = append(d.diags, diags...)
	d.integer(c.Attributes["cpu"], &r.CPU, 1, 1_000_000)
	d.integer(c.Attributes["memory"], &r.Memory, 10, 1<<22)
	if d.integer(c.Attributes["memory_max"], &r.MemoryMax, 10, 1<<22) && r.MemoryMax < r.Memory {
		d.diags = append(d.diags, invalidValueDiag("memory_max",
			fmt.Sprintf("memory_max (%d MB) must be at least memory (%d MB).", r.MemoryMax, r.Memory),
			c.Attributes["memory_max"].Expr.Range()))
	}
}

var healthSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "path"}, {Name: "port"}, {Name: "interval"}, {Name: "timeout"},
}}

func decodeHealth(b *hcl.Block, d *attrs, s *Service) *Health {
	h := &Health{Interval: defaultHealthInterval, Timeout: defaultHealthTimeout}
	c, diags := b.Body.Content(healthSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	h.PortRange = at(b.DefRange)
	if d.str(a["port"], &h.Port) {
		h.PortRange = at(a["port"].Expr.Range())
	}
	// Only http: Nomad refuses tcp checks on Connect services (verified on
	// 1.6) because the app listens inside the allocation's namespace, and
	// every stackctl service is one. "tcp" gets its own explanation.
	h.Type = "http"
	var typ string
	switch {
	case !d.str(a["type"], &typ) || typ == "http":
	case typ == "tcp":
		d.diags = append(d.diags, errorDiag("tcp health check on a mesh service",
			"Nomad does not run tcp checks on Connect services, and every stackctl service is one. Give an http check (path = \"/healthz\", on any port that speaks HTTP, e.g. a metrics port), or remove the health block: the sidecar's own check and the task's state then decide.",
			rangePtr(a["type"].Expr.Range())))
	default:
		d.diags = append(d.diags, invalidValueDiag("health check type",
			fmt.Sprintf("type must be \"http\" (or be left out).%s", didYouMean(typ, []string{"http"})),
			a["type"].Expr.Range()))
	}
	if d.str(a["path"], &h.Path) && !validPath(h.Path) {
		d.diags = append(d.diags, invalidValueDiag("health check path",
			fmt.Sprintf("%q is not an absolute URL path; write it like \"/healthz\".", h.Path), a["path"].Expr.Range()))
	}
	if a["path"] == nil && typ != "tcp" {
		d.diags = append(d.diags, errorDiag("Missing health check path",
			"A health check is an HTTP GET: give path = \"/healthz\" (on any port that speaks HTTP, e.g. a metrics port), or remove the health block: the sidecar's own check and the task's state then decide.",
			rangePtr(b.DefRange)))
	}
	d.duration(a["interval"], &h.Interval, time.Second, time.Hour)
	d.duration(a["timeout"], &h.Timeout, 100*time.Millisecond, time.Hour)
	if h.Timeout >= h.Interval {
		rng := b.DefRange
		if a["timeout"] != nil {
			rng = a["timeout"].Expr.Range()
		}
		d.diags = append(d.diags, invalidValueDiag("health check timeout",
			fmt.Sprintf("The timeout (%s) must be shorter than the interval (%s).", h.Timeout, h.Interval), rng))
	}
	return h
}

var restartSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "attempts"}, {Name: "delay"}, {Name: "interval"}, {Name: "mode"},
}}

func decodeRestart(b *hcl.Block, d *attrs, r *Restart) {
	c, diags := b.Body.Content(restartSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	d.integer(a["attempts"], &r.Attempts, 0, 100)
	d.duration(a["delay"], &r.Delay, time.Second, time.Hour)
	d.duration(a["interval"], &r.Interval, time.Second, 24*time.Hour)
	if d.str(a["mode"], &r.Mode) && r.Mode != "fail" && r.Mode != "delay" {
		d.diags = append(d.diags, invalidValueDiag("restart mode",
			"mode must be \"fail\" (give up after attempts, so Nomad reschedules) or \"delay\" (keep retrying in place).",
			a["mode"].Expr.Range()))
	}
	if r.Delay*time.Duration(r.Attempts) > r.Interval {
		d.diags = append(d.diags, invalidValueDiag("restart policy",
			fmt.Sprintf("%d attempts %s apart do not fit in the %s interval; Nomad would refuse the job.", r.Attempts, r.Delay, r.Interval),
			b.DefRange))
	}
}

var updateSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "max_parallel"}, {Name: "canary"}, {Name: "auto_revert"}, {Name: "auto_promote"},
	{Name: "min_healthy_time"}, {Name: "healthy_deadline"}, {Name: "progress_deadline"},
}}

func decodeUpdate(b *hcl.Block, d *attrs, u *Update) {
	c, diags := b.Body.Content(updateSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	d.integer(a["max_parallel"], &u.MaxParallel, 1, maxReplicas)
	d.integer(a["canary"], &u.Canary, 0, maxReplicas)
	d.boolean(a["auto_revert"], &u.AutoRevert)
	// Canaries are promoted automatically unless the user asks to do it by
	// hand; otherwise every canary deployment would wait for a person.
	u.AutoPromote = u.Canary > 0
	if d.boolean(a["auto_promote"], &u.AutoPromote) && u.AutoPromote && u.Canary == 0 {
		d.diags = append(d.diags, warningDiag("auto_promote without canaries",
			"auto_promote only applies to canary deployments; set canary to at least 1 or remove it.", rangePtr(a["auto_promote"].Range)))
	}
	d.duration(a["min_healthy_time"], &u.MinHealthyTime, 0, time.Hour)
	d.duration(a["healthy_deadline"], &u.HealthyDeadline, time.Second, 24*time.Hour)
	d.duration(a["progress_deadline"], &u.ProgressDeadline, time.Second, 24*time.Hour)
	if u.MinHealthyTime >= u.HealthyDeadline {
		d.diags = append(d.diags, invalidValueDiag("update timing",
			fmt.Sprintf("min_healthy_time (%s) must be shorter than healthy_deadline (%s).", u.MinHealthyTime, u.HealthyDeadline), b.DefRange))
	}
	if u.HealthyDeadline >= u.ProgressDeadline {
		d.diags = append(d.diags, invalidValueDiag("update timing",
			fmt.Sprintf("healthy_deadline (%s) must be shorter than progress_deadline (%s).", u.HealthyDeadline, u.ProgressDeadline), b.DefRange))
	}
}

var secretSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "path", Required: true}, {Name: "key", Required: true},
}}

func decodeSecret(b *hcl.Block, d *attrs) *Secret {
	s := &Secret{Env: b.Labels[0], DeclRange: at(b.LabelRanges[0])}
	c, diags := b.Body.Content(secretSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	// The path is checked in validateService, which knows the stack's
	// name: a stack reads only the secrets under its own prefix.
	if d.str(a["path"], &s.Path) {
		s.PathRange = at(a["path"].Expr.Range())
	}
	if d.str(a["key"], &s.Key) && !vaultKeyRe.MatchString(s.Key) {
		d.diags = append(d.diags, invalidValueDiag("Vault secret key",
			fmt.Sprintf("%q is not a usable key; keys hold letters, digits, '_', '-' and '.'.", s.Key), a["key"].Expr.Range()))
	}
	return s
}

var upstreamSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "local_port", Required: true}, {Name: "env"},
}}

func decodeUpstream(b *hcl.Block, d *attrs) *Upstream {
	u := &Upstream{Service: b.Labels[0], DeclRange: at(b.DefRange), NameRange: at(b.LabelRanges[0])}
	c, diags := b.Body.Content(upstreamSchema)
	d.diags = append(d.diags, diags...)
	if d.integer(c.Attributes["local_port"], &u.LocalPort, 1024, 65535) {
		u.PortRange = at(c.Attributes["local_port"].Expr.Range())
	}
	u.Env = strings.ToUpper(strings.ReplaceAll(u.Service, "-", "_")) + "_ADDR"
	if d.str(c.Attributes["env"], &u.Env) && !envNameRe.MatchString(u.Env) {
		d.diags = append(d.diags, invalidValueDiag("environment variable name", envNameDetail(u.Env), c.Attributes["env"].Expr.Range()))
	}
	return u
}

var exposeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "host"}, {Name: "path_prefix"}, {Name: "strip_prefix"}, {Name: "tls"}, {Name: "cert_resolver"}, {Name: "router"},
}}

func decodeExpose(b *hcl.Block, d *attrs) *Expose {
	e := &Expose{Entrypoint: b.Labels[0], DeclRange: at(b.DefRange)}
	c, diags := b.Body.Content(exposeSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	entrypoints := []string{EntrypointPublic, EntrypointInternal}
	if e.Entrypoint != EntrypointPublic && e.Entrypoint != EntrypointInternal {
		d.diags = append(d.diags, invalidValueDiag("entrypoint",
			fmt.Sprintf("%q is not an edge entrypoint; use %s.%s", e.Entrypoint, oneOf(entrypoints), didYouMean(e.Entrypoint, entrypoints)),
			b.LabelRanges[0]))
	}
	if d.str(a["host"], &e.Host) && !validHostname(e.Host) {
		d.diags = append(d.diags, invalidValueDiag("host",
			fmt.Sprintf("%q is not a valid host name: use letters, digits, dashes and dots, without scheme, port or path.", e.Host),
			a["host"].Expr.Range()))
	}
	if d.str(a["path_prefix"], &e.PathPrefix) && (!validPath(e.PathPrefix) || (len(e.PathPrefix) > 1 && strings.HasSuffix(e.PathPrefix, "/"))) {
		d.diags = append(d.diags, invalidValueDiag("path_prefix",
			fmt.Sprintf("%q is not a path prefix; write it like \"/api\" (leading slash, no trailing slash, no spaces or quotes).", e.PathPrefix),
			a["path_prefix"].Expr.Range()))
	}
	if d.boolean(a["strip_prefix"], &e.StripPrefix) && e.StripPrefix && e.PathPrefix == "" {
		d.diags = append(d.diags, errorDiag("strip_prefix without path_prefix",
			"strip_prefix removes path_prefix before the request reaches the service; set path_prefix or remove strip_prefix.",
			rangePtr(a["strip_prefix"].Range)))
	}
	d.boolean(a["tls"], &e.TLS)
	if d.str(a["cert_resolver"], &e.CertResolver) && !e.TLS {
		d.diags = append(d.diags, errorDiag("cert_resolver without tls",
			"cert_resolver names Traefik's certificate resolver for a TLS router; add tls = true.", rangePtr(a["cert_resolver"].Range)))
	}
	if d.str(a["router"], &e.Router) && !routerRe.MatchString(e.Router) {
		d.diags = append(d.diags, invalidValueDiag("router name",
			"A router name holds lowercase letters, digits and dashes, starting with a letter.", a["router"].Expr.Range()))
	}
	return e
}

var autoscaleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "min", Required: true}, {Name: "max", Required: true},
	{Name: "cpu_percent"}, {Name: "memory_percent"},
	{Name: "evaluation_interval"}, {Name: "cooldown"},
}}

func decodeAutoscale(b *hcl.Block, d *attrs) *Autoscale {
	as := &Autoscale{EvaluationInterval: defaultEvalInterval, Cooldown: defaultCooldown, DeclRange: at(b.DefRange)}
	c, diags := b.Body.Content(autoscaleSchema)
	d.diags = append(d.diags, diags...)
	a := c.Attributes
	d.integer(a["min"], &as.Min, 0, maxReplicas)
	if d.integer(a["max"], &as.Max, 1, maxReplicas) && as.Max < as.Min {
		d.diags = append(d.diags, invalidValueDiag("autoscale bounds",
			fmt.Sprintf("max (%d) must be at least min (%d).", as.Max, as.Min), a["max"].Expr.Range()))
	}
	d.integer(a["cpu_percent"], &as.CPUPercent, 1, 100)
	d.integer(a["memory_percent"], &as.MemoryPercent, 1, 100)
	if a["cpu_percent"] == nil && a["memory_percent"] == nil {
		d.diags = append(d.diags, errorDiag("No autoscaling target",
			"Set cpu_percent and/or memory_percent: the average use, as a percent of what the task reserves, that the autoscaler keeps the service at.",
			rangePtr(b.DefRange)))
	}
	d.duration(a["evaluation_interval"], &as.EvaluationInterval, time.Second, time.Hour)
	// A shorter cooldown acts on averages that still hold the previous
	// count's samples (compile.scaling): the count would swing.
	d.duration(a["cooldown"], &as.Cooldown, AutoscaleWindow, 24*time.Hour)
	return as
}
