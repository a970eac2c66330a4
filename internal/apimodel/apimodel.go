// Package apimodel is where what compile emits meets the types of the
// Nomad and Consul API packages: it converts a compiled job or intentions
// entry into the value the API clients send and the JSON renderers write,
// and reads stackctl's records (owner, Traefik routes) back from objects
// read from the cluster. compile itself stays free of those packages and
// the HTTP clients they bring (compile/depcheck_test.go).
package apimodel

import (
	"maps"
	"slices"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/compile"
)

// Job converts a compiled job into Nomad's type, field by field: the
// result shares nothing with the bundle, so plan may change it (counts,
// meta) freely. TestTypesMirrorTheAPI and TestConversionKeepsEverything
// keep this in step with compile's types.
func Job(j *compile.Job) *nomad.Job {
	if j == nil {
		return nil
	}
	out := &nomad.Job{
		ID:          clone(j.ID),
		Name:        clone(j.Name),
		Type:        clone(j.Type),
		Region:      clone(j.Region),
		Namespace:   clone(j.Namespace),
		Datacenters: slices.Clone(j.Datacenters),
		Meta:        maps.Clone(j.Meta),
	}
	for _, g := range j.TaskGroups {
		out.TaskGroups = append(out.TaskGroups, group(g))
	}
	return out
}

func group(g *compile.TaskGroup) *nomad.TaskGroup {
	out := &nomad.TaskGroup{
		Name:          clone(g.Name),
		Count:         clone(g.Count),
		ShutdownDelay: clone(g.ShutdownDelay),
	}
	for _, n := range g.Networks {
		out.Networks = append(out.Networks, &nomad.NetworkResource{Mode: n.Mode})
	}
	for _, s := range g.Services {
		out.Services = append(out.Services, service(s))
	}
	if r := g.RestartPolicy; r != nil {
		out.RestartPolicy = &nomad.RestartPolicy{
			Interval: clone(r.Interval),
			Attempts: clone(r.Attempts),
			Delay:    clone(r.Delay),
			Mode:     clone(r.Mode),
		}
	}
	if u := g.Update; u != nil {
		out.Update = &nomad.UpdateStrategy{
			MaxParallel:      clone(u.MaxParallel),
			HealthCheck:      clone(u.HealthCheck),
			MinHealthyTime:   clone(u.MinHealthyTime),
			HealthyDeadline:  clone(u.HealthyDeadline),
			ProgressDeadline: clone(u.ProgressDeadline),
			Canary:           clone(u.Canary),
			AutoRevert:       clone(u.AutoRevert),
			AutoPromote:      clone(u.AutoPromote),
		}
	}
	for _, t := range g.Tasks {
		out.Tasks = append(out.Tasks, task(t))
	}
	if sc := g.Scaling; sc != nil {
		out.Scaling = &nomad.ScalingPolicy{
			Min:     clone(sc.Min),
			Max:     clone(sc.Max),
			Policy:  copyMap(sc.Policy),
			Enabled: clone(sc.Enabled),
		}
	}
	return out
}

func service(s *compile.GroupService) *nomad.Service {
	out := &nomad.Service{
		Name:      s.Name,
		Tags:      slices.Clone(s.Tags),
		PortLabel: s.PortLabel,
		Meta:      maps.Clone(s.Meta),
	}
	for _, c := range s.Checks {
		out.Checks = append(out.Checks, nomad.ServiceCheck{
			Name:        c.Name,
			Type:        c.Type,
			Path:        c.Path,
			Protocol:    c.Protocol,
			PortLabel:   c.PortLabel,
			AddressMode: c.AddressMode,
			Interval:    c.Interval,
			Timeout:     c.Timeout,
		})
	}
	if c := s.Connect; c != nil {
		out.Connect = &nomad.ConsulConnect{}
		if ss := c.SidecarService; ss != nil {
			out.Connect.SidecarService = &nomad.ConsulSidecarService{}
			if p := ss.Proxy; p != nil {
				proxy := &nomad.ConsulProxy{}
				for _, u := range p.Upstreams {
					proxy.Upstreams = append(proxy.Upstreams, &nomad.ConsulUpstream{
						DestinationName: u.DestinationName,
						LocalBindPort:   u.LocalBindPort,
					})
				}
				out.Connect.SidecarService.Proxy = proxy
			}
		}
		if st := c.SidecarTask; st != nil {
			out.Connect.SidecarTask = &nomad.SidecarTask{
				Driver:    st.Driver,
				Config:    copyMap(st.Config),
				Resources: resources(st.Resources),
			}
		}
	}
	return out
}

func task(t *compile.Task) *nomad.Task {
	out := &nomad.Task{
		Name:        t.Name,
		Driver:      t.Driver,
		Config:      copyMap(t.Config),
		Env:         maps.Clone(t.Env),
		Resources:   resources(t.Resources),
		KillTimeout: clone(t.KillTimeout),
	}
	if v := t.Vault; v != nil {
		out.Vault = &nomad.Vault{
			Policies:    slices.Clone(v.Policies),
			Role:        v.Role,
			Env:         clone(v.Env),
			DisableFile: clone(v.DisableFile),
			ChangeMode:  clone(v.ChangeMode),
		}
	}
	for _, tp := range t.Templates {
		out.Templates = append(out.Templates, &nomad.Template{
			DestPath:      clone(tp.DestPath),
			EmbeddedTmpl:  clone(tp.EmbeddedTmpl),
			ChangeMode:    clone(tp.ChangeMode),
			Perms:         clone(tp.Perms),
			Envvars:       clone(tp.Envvars),
			ErrMissingKey: clone(tp.ErrMissingKey),
		})
	}
	for _, id := range t.Identities {
		out.Identities = append(out.Identities, &nomad.WorkloadIdentity{
			Name:     id.Name,
			Audience: slices.Clone(id.Audience),
			TTL:      id.TTL,
		})
	}
	return out
}

func resources(r *compile.Resources) *nomad.Resources {
	if r == nil {
		return nil
	}
	return &nomad.Resources{CPU: clone(r.CPU), MemoryMB: clone(r.MemoryMB), MemoryMaxMB: clone(r.MemoryMaxMB)}
}

// Intentions converts a compiled intentions entry into Consul's type; nil
// (nobody may call the service) stays nil.
func Intentions(e *compile.ServiceIntentionsConfigEntry) *consul.ServiceIntentionsConfigEntry {
	if e == nil {
		return nil
	}
	out := &consul.ServiceIntentionsConfigEntry{Kind: e.Kind, Name: e.Name, Meta: maps.Clone(e.Meta)}
	for _, s := range e.Sources {
		out.Sources = append(out.Sources, &consul.SourceIntention{
			Name:   s.Name,
			Action: consul.IntentionAction(s.Action),
			Type:   consul.IntentionSourceType(s.Type),
		})
	}
	return out
}

// clone copies the value p points at; nil stays nil.
func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// copyMap deep-copies a driver config or scaling policy: maps, lists and
// the scalars compile puts in them.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	}
	return v
}

// JobOwner reads the owner of a job read from Nomad (compile.JobOwner);
// ok is false when stackctl did not write it.
func JobOwner(j *nomad.Job) (compile.Owner, bool) {
	if j == nil {
		return compile.Owner{}, false
	}
	return compile.JobOwner(deref(j.Namespace), deref(j.ID), j.Meta)
}

// IntentionsOwner reads the owner of an entry read from Consul
// (compile.IntentionsOwner); ok is false when stackctl did not write it.
func IntentionsOwner(e *consul.ServiceIntentionsConfigEntry) (compile.Owner, bool) {
	if e == nil {
		return compile.Owner{}, false
	}
	return compile.IntentionsOwner(e.Name, e.Meta)
}

// Routes reads a job's Traefik routers back from its services' tags
// (compile.Routes), service by service.
func Routes(j *nomad.Job) []string {
	var out []string
	for _, g := range j.TaskGroups {
		for _, s := range g.Services {
			out = append(out, compile.Routes(s.Tags)...)
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
