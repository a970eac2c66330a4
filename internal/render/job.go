package render

import (
	"sort"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/compile"
)

// JobJSON renders the job as the body of Nomad's job register API
// (PUT /v1/jobs), which `nomad job run -json` also reads: Nomad's own type
// marshals every field, set or not, as Nomad writes it (apimodel.Job
// converts a compiled job).
func JobJSON(job *nomad.Job) ([]byte, error) {
	return marshal(struct{ Job *nomad.Job }{job})
}

// JobHCL renders the compiled job as a Nomad HCL2 jobspec, every field
// compile.Job has; `${...}` runtime interpolations are escaped ($${...}) so
// Nomad's parser hands them to the client unchanged.
func JobHCL(job *compile.Job, header string) []byte {
	t := &hclText{buf: make([]byte, 0, 8<<10)}
	t.buf = append(t.buf, header...)
	t.block("job", *job.ID)
	t.strPtr("region", job.Region)
	t.strPtr("namespace", job.Namespace)
	t.strings("datacenters", job.Datacenters)
	t.strPtr("type", job.Type)
	t.blank()
	t.mapBlock("meta", job.Meta)
	for _, g := range job.TaskGroups {
		t.blank()
		t.block("group", *g.Name)
		writeGroup(t, g)
		t.end()
	}
	t.end()
	return t.bytes()
}

func writeGroup(t *hclText, g *compile.TaskGroup) {
	t.intPtr("count", g.Count)
	t.durationPtr("shutdown_delay", g.ShutdownDelay)
	for _, n := range g.Networks {
		t.blank()
		t.block("network")
		t.strSet("mode", n.Mode)
		t.end()
	}
	for _, s := range g.Services {
		t.blank()
		t.block("service")
		writeService(t, s)
		t.end()
	}
	if r := g.RestartPolicy; r != nil {
		t.blank()
		t.block("restart")
		t.intPtr("attempts", r.Attempts)
		t.durationPtr("delay", r.Delay)
		t.durationPtr("interval", r.Interval)
		t.strPtr("mode", r.Mode)
		t.end()
	}
	if u := g.Update; u != nil {
		t.blank()
		t.block("update")
		t.intPtr("max_parallel", u.MaxParallel)
		t.intPtr("canary", u.Canary)
		t.boolPtr("auto_revert", u.AutoRevert)
		t.boolPtr("auto_promote", u.AutoPromote)
		t.strPtr("health_check", u.HealthCheck)
		t.durationPtr("min_healthy_time", u.MinHealthyTime)
		t.durationPtr("healthy_deadline", u.HealthyDeadline)
		t.durationPtr("progress_deadline", u.ProgressDeadline)
		t.end()
	}
	if sc := g.Scaling; sc != nil {
		t.blank()
		t.block("scaling")
		t.boolPtr("enabled", sc.Enabled)
		if sc.Min != nil {
			t.num("min", *sc.Min)
		}
		if sc.Max != nil {
			t.num("max", *sc.Max)
		}
		if len(sc.Policy) > 0 {
			t.block("policy")
			t.anyMap(sc.Policy)
			t.end()
		}
		t.end()
	}
	for _, task := range g.Tasks {
		t.blank()
		t.block("task", task.Name)
		writeTask(t, task)
		t.end()
	}
}

func writeService(t *hclText, s *compile.GroupService) {
	t.strSet("name", s.Name)
	t.strSet("port", s.PortLabel)
	t.strings("tags", s.Tags)
	t.mapBlock("meta", s.Meta)
	if c := s.Connect; c != nil {
		t.block("connect")
		if ss := c.SidecarService; ss != nil {
			t.block("sidecar_service")
			if p := ss.Proxy; p != nil {
				t.block("proxy")
				for _, u := range p.Upstreams {
					t.block("upstreams")
					t.strSet("destination_name", u.DestinationName)
					t.num("local_bind_port", int64(u.LocalBindPort))
					t.end()
				}
				t.end()
			}
			t.end()
		}
		if st := c.SidecarTask; st != nil {
			t.block("sidecar_task")
			t.strSet("driver", st.Driver)
			writeConfig(t, st.Config)
			writeResources(t, st.Resources)
			t.end()
		}
		t.end()
	}
	for _, c := range s.Checks {
		t.block("check")
		t.strSet("name", c.Name)
		t.strSet("type", c.Type)
		t.strSet("protocol", c.Protocol)
		t.strSet("path", c.Path)
		t.strSet("port", c.PortLabel)
		t.strSet("address_mode", c.AddressMode)
		t.str("interval", Duration(c.Interval))
		t.str("timeout", Duration(c.Timeout))
		t.end()
	}
}

func writeConfig(t *hclText, config map[string]any) {
	if len(config) == 0 {
		return
	}
	t.block("config")
	keys := sortedKeys(config)
	// image/command first reads best; the rest in key order.
	sort.SliceStable(keys, func(i, j int) bool { return configOrder(keys[i]) < configOrder(keys[j]) })
	for _, k := range keys {
		t.value(k, config[k])
	}
	t.end()
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

func writeResources(t *hclText, r *compile.Resources) {
	if r == nil {
		return
	}
	t.block("resources")
	t.intPtr("cpu", r.CPU)
	t.intPtr("memory", r.MemoryMB)
	t.intPtr("memory_max", r.MemoryMaxMB)
	t.end()
}

func writeTask(t *hclText, task *compile.Task) {
	t.strSet("driver", task.Driver)
	t.durationPtr("kill_timeout", task.KillTimeout)
	t.blank()
	writeConfig(t, task.Config)
	if len(task.Env) > 0 {
		t.blank()
		t.mapBlock("env", task.Env)
	}
	t.blank()
	writeResources(t, task.Resources)
	if v := task.Vault; v != nil {
		t.blank()
		t.block("vault")
		t.strings("policies", v.Policies)
		t.strSet("role", v.Role)
		t.strPtr("change_mode", v.ChangeMode)
		t.boolPtr("env", v.Env)
		t.boolPtr("disable_file", v.DisableFile)
		t.end()
	}
	for _, id := range task.Identities {
		t.blank()
		t.block("identity")
		t.strSet("name", id.Name)
		t.strings("aud", id.Audience)
		if id.TTL > 0 {
			t.str("ttl", Duration(id.TTL))
		}
		t.end()
	}
	for _, tp := range task.Templates {
		t.blank()
		t.block("template")
		t.strPtr("destination", tp.DestPath)
		t.boolPtr("env", tp.Envvars)
		t.strPtr("change_mode", tp.ChangeMode)
		t.strPtr("perms", tp.Perms)
		t.boolPtr("error_on_missing_key", tp.ErrMissingKey)
		if tp.EmbeddedTmpl != nil {
			t.text("data", *tp.EmbeddedTmpl)
		}
		t.end()
	}
}
