package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

// A secret's new value reaches a running task only when the task starts
// again: its template is rendered from Vault at start, and stackctl's
// template does not restart the task on its own (a task restart is not
// taken out of Consul first, so every instance would drop requests).
// Rotate rolls the services that read the secret through an ordinary
// Nomad rolling deployment instead, one that deregisters each instance
// before stopping it: it registers each job as it runs in the cluster
// (not recompiled from the descriptors) with one meta key changed,
// secrets.MetaKey, and follows the rollout as deploy does.

// RotateOptions say whose instances roll onto a secret's new value.
type RotateOptions struct {
	Bundle   *compile.Bundle
	Secret   secrets.Ref // the secret stored
	Services []string    // only these readers; empty: every reader
	Timeout  time.Duration
	Report   rollout.Reporter
}

// Rotation is what Rotate did for one service reading the secret.
type Rotation struct {
	Service string
	// Note says why the service was not rolled; "" when it was.
	Note      string
	Instances int
	Watched   *Watched
}

// Rotate rolls every service of opts.Bundle that reads the secret (and
// is selected) onto the secret's current version, under the services'
// deploy locks. A service not deployed or stopped is skipped with a note;
// one whose deployment is running is waited for (up to opts.Timeout)
// whoever started it, since a rotation changes no release. It returns
// the rotations and, like Deploy, a *rollout.FailedError or
// ErrUnfinished when a rollout did not end healthy.
func Rotate(ctx context.Context, cl *cluster.Cluster, opts RotateOptions) ([]*Rotation, error) {
	var rots []*Rotation
	var locks []Lockable
	for _, name := range secrets.Readers(opts.Bundle, opts.Secret) {
		r := &Rotation{Service: name}
		rots = append(rots, r)
		if len(opts.Services) > 0 && !slices.Contains(opts.Services, name) {
			r.Note = "not rolled (not selected with -s): its instances keep the old value until they start again"
			opts.Report.Step(name, r.Note)
			continue
		}
		locks = append(locks, Lockable{Namespace: opts.Bundle.Settings.Namespace, Service: name})
	}
	release, err := Lock(ctx, cl, locks)
	if err != nil {
		return rots, err
	}
	defer release()
	deadline := time.Now().Add(opts.Timeout)
	var regs []Registered
	for _, r := range rots {
		if r.Note != "" {
			continue
		}
		reg, err := rotateService(ctx, cl, opts, r, deadline)
		if err != nil {
			return rots, fmt.Errorf("%s: %w", r.Service, err)
		}
		if reg != nil {
			regs = append(regs, *reg)
		} else {
			opts.Report.Step(r.Service, r.Note)
		}
	}
	release()
	watched := watchAll(ctx, cl, regs, nil, opts.Timeout, opts.Report)
	for i := range watched {
		for _, r := range rots {
			if r.Service == watched[i].Service {
				r.Watched = &watched[i]
			}
		}
	}
	return rots, watchedError(watched)
}

// rotateService registers one reader's job with its new secrets stamp,
// unless it is not running, or already runs with it.
func rotateService(ctx context.Context, cl *cluster.Cluster, opts RotateOptions, r *Rotation, deadline time.Time) (*Registered, error) {
	svc := opts.Bundle.Service(r.Service)
	ns, mount := opts.Bundle.Settings.Namespace, opts.Bundle.Settings.VaultMount
	job, err := idleJob(ctx, cl, ns, r.Service, deadline, opts.Report)
	switch {
	case cluster.IsNotFound(err):
		r.Note = "not deployed yet: it reads the new value when it is first deployed"
		return nil, nil
	case err != nil:
		return nil, err
	case isStopped(job):
		r.Note = "stopped: it reads the new value when it is deployed again"
		return nil, nil
	}
	if err := claimJob(job, compile.OwnerOf(opts.Bundle.Settings, r.Service)); err != nil {
		return nil, err
	}
	versions, err := secrets.Versions(ctx, cl, mount, svc.Secrets)
	if err != nil {
		return nil, err
	}
	stamp := secrets.Stamp(versions)
	what := fmt.Sprintf("version %d of %s", versions[opts.Secret.Path], opts.Secret.Path)
	if job.Meta[secrets.MetaKey] == stamp {
		r.Note = "its instances already started with " + what
		return nil, nil
	}
	for _, g := range job.TaskGroups {
		r.Instances += deref(g.Count)
	}
	opts.Report.Step(r.Service, fmt.Sprintf("rolling %d instance(s) onto the new value (%s)", r.Instances, what))
	next := *job
	next.Meta = maps.Clone(job.Meta)
	if next.Meta == nil {
		next.Meta = map[string]string{}
	}
	next.Meta[secrets.MetaKey] = stamp
	sp := &ServicePlan{Name: r.Service, Job: &next, JobChange: Update, JobModifyIndex: deref(job.JobModifyIndex),
		JobVersion: deref(job.Version), PreserveCounts: true}
	reg := &Registered{Target: rollout.Target{Service: r.Service, Namespace: ns, Connect: rollout.UsesConnect(job)}}
	if err := register(ctx, cl, sp, reg); err != nil {
		return nil, err
	}
	reg.Target.JobVersion = reg.JobVersion
	opts.Report.Emit(r.Service, rollout.KindRegistered, fmt.Sprintf("job registered (version %d, evaluation %s)", reg.JobVersion, cluster.ShortID(reg.EvalID)),
		rollout.Registered{JobVersion: reg.JobVersion, Evaluation: reg.EvalID})
	return reg, nil
}

// idleJob reads the job once no deployment of it is running, waiting for
// one until deadline.
func idleJob(ctx context.Context, cl *cluster.Cluster, ns, id string, deadline time.Time, report rollout.Reporter) (*nomad.Job, error) {
	d, err := cl.Nomad.LatestDeployment(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if d != nil && d.Status == "running" {
		report.Emit(id, rollout.KindWaiting, fmt.Sprintf("waiting for the running deployment %s (job version %d) to finish before rolling", cluster.ShortID(d.ID), d.JobVersion),
			Waiting{Deployment: d.ID, JobVersion: d.JobVersion})
		wctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		if _, err := waitEnded(wctx, cl, &Running{Service: id, Namespace: ns, Deployment: d, JobVersion: d.JobVersion}); err != nil {
			if ctx.Err() == nil && cluster.Interrupted(err) {
				return nil, fmt.Errorf("deployment %s is still running; the value is stored, and the instances start with it when they are next replaced", cluster.ShortID(d.ID))
			}
			return nil, err
		}
	}
	return cl.Nomad.Job(ctx, ns, id)
}
