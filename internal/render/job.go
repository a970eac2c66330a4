package render

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/hashicorp/hcl/v2/hclwrite"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// JobJSON renders the job as the body of Nomad's job register API
// (PUT /v1/jobs), which `nomad job run -json` also reads.
func JobJSON(job *nomad.Job) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	// Keep '<', '>' and '&' readable in templates and Traefik rules.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct{ Job *nomad.Job }{job}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// JobHCL renders the job as a Nomad HCL2 jobspec. It covers the fields
// compile.Job sets; `${...}` runtime interpolations are escaped ($${...}) so
// Nomad's parser hands them to the client unchanged.
func JobHCL(job *nomad.Job, header string) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	jb := root.AppendNewBlock("job", []string{*job.ID}).Body()
	setStr(jb, "region", job.Region)
	setStr(jb, "namespace", job.Namespace)
	setList(jb, "datacenters", job.Datacenters)
	setStr(jb, "type", job.Type)
	jb.AppendNewline()
	setMapBlock(jb, "meta", job.Meta)
	for _, g := range job.TaskGroups {
		jb.AppendNewline()
		writeGroup(jb.AppendNewBlock("group", []string{*g.Name}).Body(), g)
	}
	out := hclwrite.Format(f.Bytes())
	if header != "" {
		out = append([]byte(header), out...)
	}
	return out
}

func writeGroup(b *hclwrite.Body, g *nomad.TaskGroup) {
	setInt(b, "count", g.Count)
	setDuration(b, "shutdown_delay", g.ShutdownDelay)
	for _, n := range g.Networks {
		b.AppendNewline()
		nb := b.AppendNewBlock("network", nil).Body()
		setString(nb, "mode", n.Mode)
	}
	for _, s := range g.Services {
		b.AppendNewline()
		writeService(b.AppendNewBlock("service", nil).Body(), s)
	}
	if r := g.RestartPolicy; r != nil {
		b.AppendNewline()
		rb := b.AppendNewBlock("restart", nil).Body()
		setInt(rb, "attempts", r.Attempts)
		setDuration(rb, "delay", r.Delay)
		setDuration(rb, "interval", r.Interval)
		setStr(rb, "mode", r.Mode)
	}
	if u := g.Update; u != nil {
		b.AppendNewline()
		ub := b.AppendNewBlock("update", nil).Body()
		setInt(ub, "max_parallel", u.MaxParallel)
		setInt(ub, "canary", u.Canary)
		setBool(ub, "auto_revert", u.AutoRevert)
		setBool(ub, "auto_promote", u.AutoPromote)
		setStr(ub, "health_check", u.HealthCheck)
		setDuration(ub, "min_healthy_time", u.MinHealthyTime)
		setDuration(ub, "healthy_deadline", u.HealthyDeadline)
		setDuration(ub, "progress_deadline", u.ProgressDeadline)
	}
	if sc := g.Scaling; sc != nil {
		b.AppendNewline()
		sb := b.AppendNewBlock("scaling", nil).Body()
		setBool(sb, "enabled", sc.Enabled)
		if sc.Min != nil {
			sb.SetAttributeValue("min", cty.NumberIntVal(*sc.Min))
		}
		if sc.Max != nil {
			sb.SetAttributeValue("max", cty.NumberIntVal(*sc.Max))
		}
		if len(sc.Policy) > 0 {
			setAnyMap(sb.AppendNewBlock("policy", nil).Body(), sc.Policy)
		}
	}
	for _, t := range g.Tasks {
		b.AppendNewline()
		writeTask(b.AppendNewBlock("task", []string{t.Name}).Body(), t)
	}
}

func writeService(b *hclwrite.Body, s *nomad.Service) {
	setString(b, "name", s.Name)
	setString(b, "port", s.PortLabel)
	setList(b, "tags", s.Tags)
	setMapBlock(b, "meta", s.Meta)
	if c := s.Connect; c != nil {
		cb := b.AppendNewBlock("connect", nil).Body()
		if ss := c.SidecarService; ss != nil {
			sb := cb.AppendNewBlock("sidecar_service", nil).Body()
			setList(sb, "tags", ss.Tags)
			if p := ss.Proxy; p != nil {
				pb := sb.AppendNewBlock("proxy", nil).Body()
				for _, u := range p.Upstreams {
					ub := pb.AppendNewBlock("upstreams", nil).Body()
					setString(ub, "destination_name", u.DestinationName)
					ub.SetAttributeValue("local_bind_port", cty.NumberIntVal(int64(u.LocalBindPort)))
				}
			}
		}
		if st := c.SidecarTask; st != nil {
			tb := cb.AppendNewBlock("sidecar_task", nil).Body()
			setString(tb, "driver", st.Driver)
			writeConfig(tb, st.Config)
			writeResources(tb, st.Resources)
		}
	}
	for _, c := range s.Checks {
		cb := b.AppendNewBlock("check", nil).Body()
		setString(cb, "name", c.Name)
		setString(cb, "type", c.Type)
		setString(cb, "protocol", c.Protocol)
		setString(cb, "path", c.Path)
		setString(cb, "port", c.PortLabel)
		setString(cb, "address_mode", c.AddressMode)
		cb.SetAttributeValue("interval", cty.StringVal(Duration(c.Interval)))
		cb.SetAttributeValue("timeout", cty.StringVal(Duration(c.Timeout)))
	}
}

func writeConfig(b *hclwrite.Body, config map[string]any) {
	if len(config) == 0 {
		return
	}
	cb := b.AppendNewBlock("config", nil).Body()
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	// image/command first reads best; the rest in key order.
	sort.SliceStable(keys, func(i, j int) bool { return configOrder(keys[i]) < configOrder(keys[j]) })
	for _, k := range keys {
		cb.SetAttributeValue(k, anyValue(config[k]))
	}
}

func configOrder(k string) string {
	switch k {
	case "image":
		return "0"
	case "command":
		return "1"
	case "args":
		return "2"
	}
	return "3" + k
}

func writeResources(b *hclwrite.Body, r *nomad.Resources) {
	if r == nil {
		return
	}
	rb := b.AppendNewBlock("resources", nil).Body()
	setInt(rb, "cpu", r.CPU)
	setInt(rb, "memory", r.MemoryMB)
	setInt(rb, "memory_max", r.MemoryMaxMB)
}

func writeTask(b *hclwrite.Body, t *nomad.Task) {
	setString(b, "driver", t.Driver)
	setDuration(b, "kill_timeout", t.KillTimeout)
	b.AppendNewline()
	writeConfig(b, t.Config)
	if len(t.Env) > 0 {
		b.AppendNewline()
		setMapBlock(b, "env", t.Env)
	}
	b.AppendNewline()
	writeResources(b, t.Resources)
	if v := t.Vault; v != nil {
		b.AppendNewline()
		vb := b.AppendNewBlock("vault", nil).Body()
		setList(vb, "policies", v.Policies)
		setString(vb, "role", v.Role)
		setStr(vb, "change_mode", v.ChangeMode)
		setBool(vb, "env", v.Env)
		setBool(vb, "disable_file", v.DisableFile)
	}
	for _, id := range t.Identities {
		b.AppendNewline()
		ib := b.AppendNewBlock("identity", nil).Body()
		setString(ib, "name", id.Name)
		setList(ib, "aud", id.Audience)
		if id.TTL > 0 {
			ib.SetAttributeValue("ttl", cty.StringVal(Duration(id.TTL)))
		}
	}
	for _, tp := range t.Templates {
		b.AppendNewline()
		tb := b.AppendNewBlock("template", nil).Body()
		setStr(tb, "destination", tp.DestPath)
		setBool(tb, "env", tp.Envvars)
		setStr(tb, "change_mode", tp.ChangeMode)
		setStr(tb, "perms", tp.Perms)
		setBool(tb, "error_on_missing_key", tp.ErrMissingKey)
		if tp.EmbeddedTmpl != nil {
			setHeredoc(tb, "data", *tp.EmbeddedTmpl)
		}
	}
}
