// Package clusterview reads what a cluster runs and allows for the
// services of a stack, for `stackctl graph --live`: per service the
// instances Nomad runs and how many of them Consul offers healthy, and
// the callers Consul's intentions let through. It reads everything first,
// so a refusal or an unreachable agent fails the command before anything
// is drawn; the View then answers graph.Cluster from memory.
package clusterview

import (
	"context"
	"slices"

	consul "github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/graph"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/status"
)

// wildcard is the name that stands for any service in intentions.
const wildcard = "*"

// View is a cluster's state for the services of a stack.
type View struct {
	instances map[string]graph.Instances // absent: not running
	sources   map[string][]string
}

var _ graph.Cluster = (*View)(nil)

// Instances reports the service's instances; ok is false when the cluster
// does not run it (no job, a stopped one, or one of another owner).
func (v *View) Instances(service string) (graph.Instances, bool) {
	inst, ok := v.instances[service]
	return inst, ok
}

// AllowedSources lists the callers the intentions allow to call the
// service, by name; "*" stands for any caller.
func (v *View) AllowedSources(destination string) []string { return v.sources[destination] }

// Read reads the services of the stack settings describe.
func Read(ctx context.Context, cl *cluster.Cluster, b *compile.Bundle) (*View, error) {
	v := &View{instances: map[string]graph.Instances{}, sources: map[string][]string{}}
	names := b.Names()
	for _, name := range names {
		inst, ok, err := instances(ctx, cl, compile.OwnerOf(b.Settings, name))
		if err != nil {
			return nil, err
		}
		if ok {
			v.instances[name] = inst
		}
	}
	wild, err := entry(ctx, cl, wildcard)
	if err != nil {
		return nil, err
	}
	// Every name an entry mentions may be a caller, and so may every
	// service of the stack and the edge, through a wildcard source.
	candidates := append([]string{graph.TraefikSource, wildcard}, names...)
	candidates = append(candidates, deploy.SourceNames(wild)...)
	for _, name := range names {
		own, err := entry(ctx, cl, name)
		if err != nil {
			return nil, err
		}
		var allowed []string
		for _, src := range append(slices.Clone(candidates), deploy.SourceNames(own)...) {
			if src != name && allows(src, own, wild) && !slices.Contains(allowed, src) {
				allowed = append(allowed, src)
			}
		}
		slices.Sort(allowed)
		v.sources[name] = allowed
	}
	return v, nil
}

// instances counts what runs of a service: its job's desired count, its
// running allocations, and the healthy ones: for a service in the mesh,
// those Consul offers as passing Connect instances (what callers reach).
func instances(ctx context.Context, cl *cluster.Cluster, owner compile.Owner) (graph.Instances, bool, error) {
	job, err := cl.Nomad.Job(ctx, owner.Namespace, owner.Service)
	switch {
	case cluster.IsNotFound(err):
		return graph.Instances{}, false, nil
	case err != nil:
		return graph.Instances{}, false, err
	}
	if o, ok := apimodel.JobOwner(job); !ok || !o.Is(owner) || (job.Stop != nil && *job.Stop) {
		return graph.Instances{}, false, nil
	}
	var inst graph.Instances
	for _, g := range job.TaskGroups {
		if g.Count != nil {
			inst.Desired += *g.Count
		}
	}
	if rollout.UsesConnect(job) {
		m, err := rollout.MeshInstances(ctx, cl, owner.Namespace, owner.Service, owner.Service, owner.Service)
		if err != nil {
			return inst, false, err
		}
		inst.Running, inst.Healthy = m.Running, m.Ready
		return inst, true, nil
	}
	allocs, err := cl.Nomad.Allocations(ctx, owner.Namespace, owner.Service)
	if err != nil {
		return inst, false, err
	}
	for _, a := range allocs {
		if status.Running(a) && a.DesiredStatus == "run" {
			inst.Running++
			if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy {
				inst.Healthy++
			}
		}
	}
	return inst, true, nil
}

// entry reads a destination's intentions entry; nil when there is none.
func entry(ctx context.Context, cl *cluster.Cluster, name string) (*consul.ServiceIntentionsConfigEntry, error) {
	e, err := cl.Consul.Intentions(ctx, name)
	if cluster.IsNotFound(err) {
		return nil, nil
	}
	return e, err
}

// allows decides a call from src the way Consul does: the most precise
// intention wins, an exact destination before the wildcard one and, in
// each, an exact source before the wildcard source. A call no intention
// matches counts as denied: stackctl's platform denies by default
// (policies/consul/default-deny.hcl). An intention with L7 permissions
// lets some requests through: allowed.
func allows(src string, own, wild *consul.ServiceIntentionsConfigEntry) bool {
	for _, e := range []*consul.ServiceIntentionsConfigEntry{own, wild} {
		if e == nil {
			continue
		}
		for _, name := range []string{src, wildcard} {
			for _, s := range e.Sources {
				if s.Name == name && s.Peer == "" && s.SamenessGroup == "" {
					return s.Action == consul.IntentionActionAllow || len(s.Permissions) > 0
				}
			}
		}
	}
	return false
}
