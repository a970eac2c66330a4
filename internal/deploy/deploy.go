package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/rollout"
)

// Options say what to deploy and how.
type Options struct {
	Bundle   *compile.Bundle // the whole stack (ignored with Saved)
	Services []string        // the selection (-s); empty: every service
	Saved    *SavedPlan      // deploy --plan: checked, then applied instead of Bundle
	Force    bool            // supersede a deployment still running
	Detach   bool            // return once registered
	Timeout  time.Duration   // how long to follow the rollouts
	// ShowPlan gets the plan before anything is written.
	ShowPlan func(*Plan)
	Report   rollout.Reporter
}

// Watched is how following one service's rollout ended.
type Watched struct {
	Service string
	Result  rollout.Result
	Err     error // the watch itself failed; nil when it only stopped
	// Stopped is set when the wait ended before the rollout did, by the
	// timeout or, when Interrupted, by Ctrl-C: the rollout goes on.
	Stopped, Interrupted bool
	// Resumed is set for a rollout this deploy did not start: an earlier
	// one's, of the same job version, still running (or failed).
	Resumed bool
}

// Outcome is what a deploy did.
type Outcome struct {
	Plan    *Plan
	Watched []Watched // empty when nothing was registered or with Detach
	// Running lists the deployments found running and what was done
	// about them (followed, waited for, superseded).
	Running []*Running
}

// ErrUnfinished ends a deploy whose rollouts were not all followed to
// their end, or whose watch failed; Outcome.Watched says which.
var ErrUnfinished = errors.New("not every rollout was followed to its end")

// conflictRetries bounds how often a deploy plans again when an
// autoscaler scaled a service between the plan and the registration.
const conflictRetries = 3

// Deploy plans under the services' locks, waits for scaling deployments,
// refuses before writing anything when the plan cannot be applied whole,
// applies it, and follows each rollout (its own, or an earlier deploy's
// of the same version still running) until it ends or opts.Timeout
// passes. A rollout that did not end healthy is a *rollout.FailedError.
func Deploy(ctx context.Context, cl *cluster.Cluster, opts Options) (*Outcome, error) {
	b, services, err := deployable(opts)
	if err != nil {
		return nil, err
	}
	sel, err := b.Select(services)
	if err != nil {
		return nil, err
	}
	var locks []Lockable
	for _, s := range sel.Services {
		locks = append(locks, Lockable{Namespace: *s.Job.Namespace, Service: s.Name})
	}
	// Each service's lock is held from plan to registration, and through
	// any wait for a scaling deployment in between: released during the
	// wait, it would let another deploy register in the gap, and this one
	// would meet that release running (or a conflict) after its user had
	// already waited. Another deploy meanwhile is told this one is in
	// progress, which is true; Consul renews the lock's session while it
	// is held.
	release, err := Lock(ctx, cl, locks)
	if err != nil {
		return nil, &unchanged{err}
	}
	defer release()
	out := &Outcome{}
	shown := false
	var regs []Registered
	for attempt := 1; ; attempt++ {
		if err := planWhenIdle(ctx, cl, b, services, opts, out, &shown); err != nil {
			return out, err
		}
		if !out.Plan.HasChanges() {
			break
		}
		for _, r := range out.Running {
			if r.Disposition == Supersede {
				opts.Report.Step(r.Service, supersedeNote(r, opts.Force))
			}
		}
		regs, err = Apply(ctx, cl, out.Plan, opts.Report)
		var conflict *ConflictError
		if errors.As(err, &conflict) && attempt < conflictRetries && scaledMeanwhile(ctx, cl, out.Plan, conflict.Service) {
			opts.Report.Step(conflict.Service, "scaled between plan and registration; planning again")
			continue
		}
		if err != nil {
			if conflict != nil {
				return out, fmt.Errorf("%w; services before it in the list were applied, a rerun converges", err)
			}
			return out, fmt.Errorf("%w\nA rerun of the same deploy converges: every step is idempotent", err)
		}
		break
	}
	follow := following(out.Running)
	if !out.Plan.HasChanges() && len(follow) == 0 {
		return out, nil
	}
	release()
	if opts.Detach {
		for _, r := range follow {
			opts.Report.Step(r.Service, fmt.Sprintf("the rollout of job version %d is not over (%s); follow it with stackctl status %s", r.JobVersion, deploymentState(r), r.Service))
		}
		return out, nil
	}
	out.Watched = watchAll(ctx, cl, regs, follow, opts.Timeout, opts.Report)
	return out, watchedError(out.Watched)
}

// planWhenIdle plans (showing the first plan), decides about running
// deployments, and waits for scaling deployments to end before planning
// again, until opts.Timeout. It fills out.Plan and out.Running.
func planWhenIdle(ctx context.Context, cl *cluster.Cluster, b *compile.Bundle, services []string, opts Options, out *Outcome, shown *bool) error {
	deadline := time.Now().Add(opts.Timeout)
	for {
		p, err := MakePlan(ctx, cl, PlanOptions{Bundle: b, Services: services})
		if err != nil {
			return err
		}
		out.Plan, out.Running = p, nil
		if opts.Saved != nil {
			if err := CheckUnmoved(opts.Saved, p); err != nil {
				return &unchanged{fmt.Errorf("the saved plan is stale:\n%w", err)}
			}
		}
		if !*shown && opts.ShowPlan != nil {
			opts.ShowPlan(p)
			*shown = true
		}
		runs, err := Assess(ctx, cl, p, opts.Force)
		if err != nil {
			return &unchanged{err}
		}
		out.Running = runs
		var scaling []*Running
		for _, r := range runs {
			if r.Disposition == WaitScale {
				scaling = append(scaling, r)
			}
		}
		if len(scaling) == 0 {
			return nil
		}
		if err := waitScaling(ctx, cl, scaling, deadline, opts.Report); err != nil {
			return &unchanged{err}
		}
	}
}

// scaledMeanwhile reports whether the service's job changed since the
// plan only by a scaling: the registration may simply be planned again.
func scaledMeanwhile(ctx context.Context, cl *cluster.Cluster, p *Plan, service string) bool {
	for _, s := range p.Selected() {
		if s.Name != service {
			continue
		}
		job, err := cl.Nomad.Job(ctx, *s.Job.Namespace, *s.Job.ID)
		if err != nil {
			return false
		}
		c, err := scalingChange(ctx, cl, *s.Job.Namespace, *s.Job.ID, deref(job.Version))
		return err == nil && c != nil && deref(job.Version) == s.JobVersion+1
	}
	return false
}

func following(runs []*Running) []*Running {
	var out []*Running
	for _, r := range runs {
		if r.Disposition == Follow {
			out = append(out, r)
		}
	}
	return out
}

func supersedeNote(r *Running, force bool) string {
	what := fmt.Sprintf("deployment %s (job version %d)", cluster.ShortID(idOf(r.Deployment)), r.JobVersion)
	switch {
	case r.Scaling != nil:
		return fmt.Sprintf("superseding the scaling %s (--force; %s)", what, r.Scaling)
	case force:
		return "superseding " + what + " (--force)"
	}
	return "superseding " + what + ": it cannot succeed, every allocation of it failed"
}

func deploymentState(r *Running) string {
	if r.Deployment == nil {
		return "its deployment is not created yet"
	}
	return fmt.Sprintf("deployment %s %s", cluster.ShortID(r.Deployment.ID), r.Deployment.Status)
}

// deployable is the bundle and selection to deploy: the options', or the
// saved plan's once it is checked against its own configuration.
func deployable(opts Options) (*compile.Bundle, []string, error) {
	if opts.Saved == nil {
		return opts.Bundle, opts.Services, nil
	}
	b, err := opts.Saved.Verify()
	if err != nil {
		return nil, nil, err
	}
	return b, opts.Saved.Selected, nil
}

// watchAll follows every registered job, and every earlier rollout to
// follow, concurrently until each ends, the timeout passes, or the user
// interrupts.
func watchAll(ctx context.Context, cl *cluster.Cluster, regs []Registered, follow []*Running, timeout time.Duration, report rollout.Reporter) []Watched {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resumed := map[string]*Running{}
	for _, r := range follow {
		resumed[r.Service] = r
	}
	// In the order of the plan: regs holds every selected service when
	// anything was applied, the followed ones among them.
	var out []Watched
	byService := map[string]Registered{}
	for _, r := range regs {
		byService[r.Service] = r
		out = append(out, Watched{Service: r.Service, Resumed: resumed[r.Service] != nil,
			Result: rollout.Result{Service: r.Service, Outcome: rollout.Healthy}})
	}
	for _, r := range follow {
		if _, ok := byService[r.Service]; !ok {
			out = append(out, Watched{Service: r.Service, Resumed: true})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		w := &out[i]
		reg, registered := byService[w.Service]
		if !w.Resumed && !reg.Changed {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res rollout.Result
			var err error
			if w.Resumed {
				res, err = resume(wctx, cl, resumed[w.Service], report)
			} else if registered {
				res, err = rollout.Watch(wctx, cl, reg.Target, report)
			}
			w.Result = res
			switch {
			case rollout.IsStopWaiting(err):
				w.Stopped, w.Interrupted = true, ctx.Err() != nil
			case err != nil:
				w.Err = err
			}
		}()
	}
	wg.Wait()
	return out
}

// resume follows an earlier deploy's rollout: its deployment, found
// first when Nomad had not created it yet.
func resume(ctx context.Context, cl *cluster.Cluster, r *Running, report rollout.Reporter) (rollout.Result, error) {
	t := rollout.Target{Service: r.Service, Namespace: r.Namespace, JobVersion: r.JobVersion, Connect: r.Connect}
	d := r.Deployment
	if d == nil {
		var err error
		if d, err = bornDeployment(ctx, cl, r.Namespace, r.Service, r.JobVersion); err != nil {
			return rollout.Result{Service: r.Service}, err
		}
	}
	return rollout.Resume(ctx, cl, t, d, report)
}

// watchedError sums up the rollouts: failures first, then anything not
// followed to its end.
func watchedError(ws []Watched) error {
	var failed []rollout.Result
	unfinished := false
	for _, w := range ws {
		switch {
		case w.Err != nil:
			return ErrUnfinished
		case w.Stopped:
			unfinished = true
		case w.Result.Outcome != rollout.Healthy:
			failed = append(failed, w.Result)
		}
	}
	if len(failed) > 0 {
		return &rollout.FailedError{Results: failed}
	}
	if unfinished {
		return ErrUnfinished
	}
	return nil
}

// unchanged is a refusal before anything was written.
type unchanged struct{ err error }

func (e *unchanged) Error() string {
	msg := e.err.Error()
	if !strings.Contains(msg, "\n") {
		return "nothing was changed: " + msg
	}
	return "nothing was changed:\n  " + strings.ReplaceAll(msg, "\n", "\n  ")
}

func (e *unchanged) Unwrap() error { return e.err }
