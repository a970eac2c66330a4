package deploy

import (
	"context"
	"fmt"
	"slices"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/secrets"
)

// planJob reads the current job, refuses one stackctl does not own for
// this service, keeps the autoscaler's counts, and asks Nomad's planner
// what registering would do. The job planned is a copy of the compiled
// one in Nomad's type (apimodel.Job), so plan-time edits (counts) never
// touch the bundle.
func planJob(ctx context.Context, cl *cluster.Cluster, svc *compile.Service, sp *ServicePlan) error {
	sp.Job = apimodel.Job(svc.Job)
	ns, id := *sp.Job.Namespace, *sp.Job.ID
	current, err := cl.Nomad.Job(ctx, ns, id)
	switch {
	case cluster.IsNotFound(err):
		current = nil
	case err != nil:
		return err
	default:
		if err := claimJob(current, sp.Owner); err != nil {
			return err
		}
		sp.JobVersion = deref(current.Version)
		keepCounts(sp, current)
		keepSecretsStamp(sp, current)
	}
	for _, name := range serviceNames(sp.Job) {
		if err := claimCatalog(ctx, cl, sp.Owner, name, func() (*nomad.Job, error) { return current, nil }); err != nil {
			return err
		}
	}
	resp, err := cl.Nomad.Plan(ctx, sp.Job)
	if err != nil {
		return err
	}
	sp.JobModifyIndex = resp.JobModifyIndex
	sp.Diff = resp.Diff
	sp.FailedPlaces = resp.FailedTGAllocs
	sp.Warnings = resp.Warnings
	if resp.Annotations != nil {
		sp.Updates = resp.Annotations.DesiredTGUpdates
	}
	sp.JobChange = jobChange(resp.Diff, current)
	return nil
}

// claimCatalog refuses a service name that another owner registered in
// Consul's catalog: a job of another stack or Nomad namespace (which
// planJob cannot see, being in another namespace), or something not
// stackctl. Consul has one service namespace, so registering the job, or
// writing the name's intentions, would make the two owners' instances one
// service. current gives the owner's own job (nil when there is none),
// asked only for an instance without stackctl's meta: the instances Nomad
// registered for that job's allocations are the owner's.
func claimCatalog(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, name string, current func() (*nomad.Job, error)) error {
	instances, err := cl.Consul.Catalog(ctx, name)
	if err != nil {
		return err
	}
	var own map[string]bool // allocation IDs of the owner's job, read once when needed
	for _, inst := range instances {
		if _, ok := compile.IntentionsOwner(inst.ServiceName, inst.ServiceMeta); !ok && own == nil {
			if own, err = ownAllocs(ctx, cl, owner, current); err != nil {
				return err
			}
		}
		if err := claimRegistration(inst, owner, own); err != nil {
			return err
		}
	}
	return nil
}

// readJob reads the owner's job when asked (nil when there is none).
func readJob(ctx context.Context, cl *cluster.Cluster, owner compile.Owner) func() (*nomad.Job, error) {
	return func() (*nomad.Job, error) {
		j, err := cl.Nomad.Job(ctx, owner.Namespace, owner.Service)
		if cluster.IsNotFound(err) {
			return nil, nil
		}
		return j, err
	}
}

// ownAllocs lists the IDs of the allocations of the owner's job, when it
// has one and it is the owner's; current gives the job.
func ownAllocs(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, current func() (*nomad.Job, error)) (map[string]bool, error) {
	ids := map[string]bool{}
	j, err := current()
	if err != nil || j == nil || claimJob(j, owner) != nil {
		return ids, err
	}
	allocs, err := cl.Nomad.Allocations(ctx, deref(j.Namespace), deref(j.ID))
	if err != nil {
		return nil, err
	}
	for _, a := range allocs {
		ids[a.ID] = true
	}
	return ids, nil
}

// serviceNames lists the Consul services the job's groups register, each
// once.
func serviceNames(j *nomad.Job) []string {
	var names []string
	for _, g := range j.TaskGroups {
		for _, s := range g.Services {
			if !slices.Contains(names, s.Name) {
				names = append(names, s.Name)
			}
		}
	}
	return names
}

// keepCounts keeps the count the autoscaler chose for each scaled group,
// so that a redeploy neither shows nor makes a count change. A count
// outside the new bounds is clamped into them; the job is then registered
// with its explicit counts, since Nomad refuses a count outside the
// group's scaling policy.
func keepCounts(sp *ServicePlan, current *nomad.Job) {
	clamped := false
	for _, g := range sp.Job.TaskGroups {
		if g.Scaling == nil {
			continue
		}
		for _, cg := range current.TaskGroups {
			if deref(cg.Name) != deref(g.Name) || cg.Count == nil {
				continue
			}
			n := *cg.Count
			if lo, hi := g.Scaling.Min, g.Scaling.Max; lo != nil && hi != nil {
				want := min(max(int64(n), *lo), *hi)
				if want != int64(n) {
					sp.Notes = append(sp.Notes, fmt.Sprintf("group %s: count %d is outside the new autoscale bounds %d-%d; it becomes %d",
						deref(g.Name), n, *lo, *hi, want))
					n, clamped = int(want), true
				}
			}
			g.Count = ptr(n)
			sp.PreserveCounts = true
		}
	}
	if clamped {
		sp.PreserveCounts = false
	}
}

// keepSecretsStamp keeps the cluster's record of the secret versions the
// instances run with (secrets.MetaKey): the descriptors never hold it, so
// without this a deploy after a rotation would plan it away, a change
// that replaces every instance for nothing.
func keepSecretsStamp(sp *ServicePlan, current *nomad.Job) {
	v, ok := current.Meta[secrets.MetaKey]
	if !ok {
		return
	}
	if sp.Job.Meta == nil {
		sp.Job.Meta = map[string]string{}
	}
	sp.Job.Meta[secrets.MetaKey] = v
}

// jobChange reads what registering does from Nomad's plan diff.
func jobChange(d *nomad.JobDiff, current *nomad.Job) Change {
	switch {
	case d == nil || d.Type == "None" || (d.Type == "Edited" && !specChanged(d)):
		// "Edited" without a changed field only means allocations lag
		// behind the job's version (e.g. after the autoscaler scaled it):
		// the spec is what we want, nothing to register. A stopped job
		// still diffs as None: deploying it must start it.
		if current != nil && isStopped(current) {
			return Update
		}
		return NoChange
	case d.Type == "Added":
		return Create
	}
	return Update
}

func isStopped(j *nomad.Job) bool { return j.Stop != nil && *j.Stop }

// specChanged reports whether a job diff changes any field, as opposed to
// only carrying the scheduler's pending allocation updates.
func specChanged(d *nomad.JobDiff) bool {
	if fieldsChanged(d.Fields) || objectsChanged(d.Objects) {
		return true
	}
	for _, g := range d.TaskGroups {
		if g.Type == "Added" || g.Type == "Deleted" || fieldsChanged(g.Fields) || objectsChanged(g.Objects) {
			return true
		}
		for _, t := range g.Tasks {
			if t.Type == "Added" || t.Type == "Deleted" || fieldsChanged(t.Fields) || objectsChanged(t.Objects) {
				return true
			}
		}
	}
	return false
}

func fieldsChanged(fs []*nomad.FieldDiff) bool {
	for _, f := range fs {
		if f.Type != "None" {
			return true
		}
	}
	return false
}

func objectsChanged(os []*nomad.ObjectDiff) bool {
	for _, o := range os {
		if o.Type != "None" && (o.Type != "Edited" || fieldsChanged(o.Fields) || objectsChanged(o.Objects)) {
			return true
		}
	}
	return false
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
