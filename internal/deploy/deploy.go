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
}

// Outcome is what a deploy did.
type Outcome struct {
	Plan    *Plan
	Watched []Watched // empty when nothing was registered or with Detach
}

// ErrUnfinished ends a deploy whose rollouts were not all followed to
// their end, or whose watch failed; Outcome.Watched says which.
var ErrUnfinished = errors.New("not every rollout was followed to its end")

// Deploy plans under the services' locks, refuses before writing anything
// when the plan cannot be applied whole, applies it, and follows each
// rollout until it ends or opts.Timeout passes. A rollout that did not end
// healthy is a *rollout.FailedError.
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
	// Each service's lock is held from plan to registration.
	release, err := Lock(ctx, cl, locks)
	if err != nil {
		return nil, &unchanged{err}
	}
	defer release()
	p, err := MakePlan(ctx, cl, PlanOptions{Bundle: b, Services: services})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Plan: p}
	if opts.Saved != nil {
		if err := CheckUnmoved(opts.Saved, p); err != nil {
			return out, &unchanged{fmt.Errorf("the saved plan is stale:\n%w", err)}
		}
	}
	if opts.ShowPlan != nil {
		opts.ShowPlan(p)
	}
	if err := CheckApplicable(ctx, cl, p, opts.Force); err != nil {
		return out, &unchanged{err}
	}
	if !p.HasChanges() {
		return out, nil
	}
	regs, err := Apply(ctx, cl, p, opts.Report)
	if err != nil {
		var conflict *ConflictError
		if errors.As(err, &conflict) {
			return out, fmt.Errorf("%w; services before it in the list were applied, a rerun converges", err)
		}
		return out, fmt.Errorf("%w\nA rerun of the same deploy converges: every step is idempotent", err)
	}
	release()
	if opts.Detach {
		return out, nil
	}
	out.Watched = watchAll(ctx, cl, regs, opts.Timeout, opts.Report)
	return out, watchedError(out.Watched)
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

// watchAll follows every registered job concurrently until each rollout
// ends, the timeout passes, or the user interrupts.
func watchAll(ctx context.Context, cl *cluster.Cluster, regs []Registered, timeout time.Duration, report rollout.Reporter) []Watched {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]Watched, len(regs))
	var wg sync.WaitGroup
	for i, r := range regs {
		out[i].Service = r.Service
		if !r.Changed {
			out[i].Result = rollout.Result{Service: r.Service, Outcome: rollout.Healthy}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := rollout.Watch(wctx, cl, r.Target, report)
			out[i].Result = res
			switch {
			case rollout.IsStopWaiting(err):
				out[i].Stopped, out[i].Interrupted = true, ctx.Err() != nil
			case err != nil:
				out[i].Err = err
			}
		}()
	}
	wg.Wait()
	return out
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
