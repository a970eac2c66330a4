package clustertest

import (
	"context"
	"sort"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

type fakeConsul struct{ c *Cluster }

func (f fakeConsul) Addr() string { return ConsulAddr }

func (f fakeConsul) Leader(ctx context.Context) (string, error) {
	return call(ctx, f.c, "consul", cluster.ConsulLeader, "", func() (string, error) {
		return "10.0.0.1:8300", nil
	})
}

func (f fakeConsul) Intentions(ctx context.Context, service string) (*consul.ServiceIntentionsConfigEntry, error) {
	return call(ctx, f.c, "consul", cluster.IntentionsRead, service, func() (*consul.ServiceIntentionsConfigEntry, error) {
		e, ok := f.c.s.Intentions[service]
		if !ok {
			return nil, &cluster.StatusError{Code: 404, Message: "Config entry not found for \"service-intentions\" / \"" + service + "\""}
		}
		return clone(e), nil
	})
}

func (f fakeConsul) AllIntentions(ctx context.Context) ([]*consul.ServiceIntentionsConfigEntry, error) {
	return call(ctx, f.c, "consul", cluster.IntentionsList, "", func() ([]*consul.ServiceIntentionsConfigEntry, error) {
		var out []*consul.ServiceIntentionsConfigEntry
		for _, e := range f.c.s.Intentions {
			out = append(out, clone(e))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	})
}

func (f fakeConsul) WriteIntentions(ctx context.Context, e *consul.ServiceIntentionsConfigEntry, index uint64) (bool, error) {
	return call(ctx, f.c, "consul", cluster.IntentionsWrite, e.Name, func() (bool, error) {
		return f.c.writeIntentions(e, index), nil
	})
}

// writeIntentions stores e if the entry is still at index (0: absent).
func (c *Cluster) writeIntentions(e *consul.ServiceIntentionsConfigEntry, index uint64) bool {
	var current uint64
	if old, ok := c.s.Intentions[e.Name]; ok {
		current = old.ModifyIndex
	}
	if current != index {
		return false
	}
	e = clone(e)
	e.ModifyIndex = c.next()
	if e.CreateIndex == 0 {
		e.CreateIndex = e.ModifyIndex
	}
	c.s.Intentions[e.Name] = e
	return true
}

func (f fakeConsul) DeleteIntentions(ctx context.Context, service string, index uint64) (bool, error) {
	return call(ctx, f.c, "consul", cluster.IntentionsDelete, service, func() (bool, error) {
		old, ok := f.c.s.Intentions[service]
		if !ok || old.ModifyIndex != index {
			return false, nil
		}
		delete(f.c.s.Intentions, service)
		return true, nil
	})
}

func (f fakeConsul) Checks(ctx context.Context, service string) ([]*consul.HealthCheck, error) {
	return call(ctx, f.c, "consul", cluster.HealthChecks, service, func() ([]*consul.HealthCheck, error) {
		return clone(f.c.s.Checks[service]), nil
	})
}

// Connect offers every running allocation of the service's job as a
// passing Connect instance, named the way Nomad registers sidecars.
func (f fakeConsul) Connect(ctx context.Context, service string) ([]*consul.ServiceEntry, error) {
	return call(ctx, f.c, "consul", cluster.ConnectInstances, service, func() ([]*consul.ServiceEntry, error) {
		var out []*consul.ServiceEntry
		for k, j := range f.c.s.Jobs {
			if !strings.HasSuffix(k, "/"+service) {
				continue
			}
			for _, a := range j.Allocs {
				if a.ClientStatus != "running" || a.DesiredStatus != "run" {
					continue
				}
				out = append(out, &consul.ServiceEntry{
					Service: &consul.AgentService{ID: "_nomad-task-" + a.ID + "-group-" + a.TaskGroup + "-" + service + "-8080-sidecar-proxy", Service: service + "-sidecar-proxy"},
					Checks:  consul.HealthChecks{{Name: "Connect Sidecar Listening", Status: consul.HealthPassing}},
				})
			}
		}
		return out, nil
	})
}

// Catalog lists the instances registered outside Nomad, then one per
// running allocation of any job, in any namespace, whose group registers
// the service, as Nomad registers them: the group service's meta and tags
// (with Nomad's external-source = nomad) and a service ID that names the
// allocation.
func (f fakeConsul) Catalog(ctx context.Context, service string) ([]*consul.CatalogService, error) {
	return call(ctx, f.c, "consul", cluster.CatalogRead, service, func() ([]*consul.CatalogService, error) {
		out := clone(f.c.s.Registrations[service])
		keys := make([]string, 0, len(f.c.s.Jobs))
		for k := range f.c.s.Jobs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			j := f.c.s.Jobs[k]
			for _, a := range j.Allocs {
				if a.ClientStatus != "running" || a.DesiredStatus != "run" {
					continue
				}
				for _, s := range groupServices(j, a, service) {
					meta := map[string]string{"external-source": "nomad"}
					for mk, mv := range s.Meta {
						meta[mk] = mv
					}
					out = append(out, &consul.CatalogService{
						Node: a.NodeName, ServiceName: service, ServiceTags: append([]string(nil), s.Tags...), ServiceMeta: meta,
						ServiceID: "_nomad-task-" + a.ID + "-group-" + a.TaskGroup + "-" + service + "-" + s.PortLabel,
					})
				}
			}
		}
		return out, nil
	})
}

// groupServices are the services called name that the allocation's group
// registers, in the job version the allocation runs.
func groupServices(j *Job, a *nomad.AllocationListStub, name string) []*nomad.Service {
	var out []*nomad.Service
	for _, v := range j.Versions {
		if deref(v.Version) != a.JobVersion {
			continue
		}
		for _, g := range v.TaskGroups {
			if deref(g.Name) != a.TaskGroup {
				continue
			}
			for _, s := range g.Services {
				if s.Name == name {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func (f fakeConsul) Lock(ctx context.Context, key, holder string) (func(), bool, error) {
	held, err := call(ctx, f.c, "consul", cluster.LockTake, key, func() (bool, error) {
		if _, held := f.c.s.Locks[key]; held {
			return true, nil
		}
		f.c.s.Locks[key] = holder
		return false, nil
	})
	if err != nil || held {
		return nil, held, err
	}
	return func() {
		f.c.mu.Lock()
		defer f.c.mu.Unlock()
		delete(f.c.s.Locks, key)
	}, false, nil
}
