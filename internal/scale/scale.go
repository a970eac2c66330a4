// Package scale changes a service's instance count through Nomad's
// scaling API (recorded as a scaling event, kept by later deploys of
// autoscaled services) and follows it until healthy and in the mesh.
package scale

import (
	"context"
	"errors"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/rollout"
)

// Options say what to scale and whether to wait.
type Options struct {
	Namespace, Service string
	Stack              string // the stack the command acts for: only its jobs are scaled
	Count              int
	Wait               bool
	Timeout            time.Duration // for the running deployment, then for the new count
	Progress           func(string)
}

// Result is what Scale did.
type Result struct {
	From, To int
	EvalID   string
	// Stopped is set when the wait ended (Timeout) before the new count
	// was healthy and in the mesh; Mesh says what was missing.
	Stopped bool
	Mesh    rollout.MeshStatus
}

// BoundsError means the count lies outside the service's autoscale
// bounds.
type BoundsError struct {
	Service  string
	Count    int
	Min, Max int64
}

func (e *BoundsError) Error() string {
	return fmt.Sprintf("%s scales between %d and %d (its autoscale block); %d is outside. Change min/max in the descriptor and deploy to go further",
		e.Service, e.Min, e.Max, e.Count)
}

// retryEvery is how often a scale refused during a deployment is retried.
var retryEvery = 2 * time.Second

// Scale sets the count of the service's group, within its bounds, once no
// deployment of the job runs (Nomad refuses to scale during one), and
// with Wait follows it until the new count is healthy and in the mesh.
func Scale(ctx context.Context, cl *cluster.Cluster, opts Options) (*Result, error) {
	job, group, err := scalable(ctx, cl, opts)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(opts.Timeout)
	resp, err := scaleWhenIdle(ctx, cl, opts, deref(group.Name), deadline)
	if err != nil {
		return nil, err
	}
	res := &Result{From: deref(group.Count), To: opts.Count, EvalID: resp.EvalID}
	opts.Progress(fmt.Sprintf("%s: count %d -> %d (evaluation %s)", opts.Service, res.From, res.To, cluster.ShortID(resp.EvalID)))
	if !opts.Wait || resp.EvalID == "" {
		return res, nil
	}
	// Ctrl-C stops the wait, not the scaling.
	wctx, stop := context.WithTimeout(ctx, opts.Timeout)
	defer stop()
	res.Mesh, err = rollout.WaitCount(wctx, cl, job, deref(group.Name), opts.Count, opts.Progress)
	if err != nil && rollout.IsStopWaiting(err) && ctx.Err() == nil {
		res.Stopped = true
		return res, nil
	}
	return res, err
}

// scalable reads the job and refuses one that is not the stack's, has no
// group, or whose bounds exclude the count.
func scalable(ctx context.Context, cl *cluster.Cluster, opts Options) (*nomad.Job, *nomad.TaskGroup, error) {
	if opts.Stack == "" {
		return nil, nil, errors.New("scale needs the stack it acts for")
	}
	job, err := cl.Nomad.Job(ctx, opts.Namespace, opts.Service)
	if cluster.IsNotFound(err) {
		return nil, nil, fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", opts.Service, opts.Namespace)
	}
	if err != nil {
		return nil, nil, err
	}
	owner := compile.Owner{Namespace: opts.Namespace, Stack: opts.Stack, Service: opts.Service}
	if err := deploy.ClaimDeployed(job, owner, "scale", "scale it"); err != nil {
		return nil, nil, err
	}
	if len(job.TaskGroups) == 0 {
		return nil, nil, fmt.Errorf("job %q in namespace %s has no task group to scale", opts.Service, opts.Namespace)
	}
	g := job.TaskGroups[0]
	if sc := g.Scaling; sc != nil && sc.Min != nil && sc.Max != nil && (int64(opts.Count) < *sc.Min || int64(opts.Count) > *sc.Max) {
		return nil, nil, &BoundsError{Service: opts.Service, Count: opts.Count, Min: *sc.Min, Max: *sc.Max}
	}
	return job, g, nil
}

// scaleWhenIdle scales once no deployment of the job is running, waiting
// for one (and retrying when one started in between) until deadline.
func scaleWhenIdle(ctx context.Context, cl *cluster.Cluster, opts Options, group string, deadline time.Time) (*nomad.JobRegisterResponse, error) {
	told := false
	for {
		running, err := deploymentRunning(ctx, cl, opts)
		if err != nil {
			return nil, err
		}
		if !running || time.Now().After(deadline) {
			resp, err := cl.Nomad.Scale(ctx, opts.Namespace, opts.Service, group, opts.Count, "scaled by stackctl")
			if err == nil || cluster.IsForbidden(err) || time.Now().After(deadline) {
				return resp, err
			}
			// Refused: retry only if a deployment started meanwhile.
			if again, rerr := deploymentRunning(ctx, cl, opts); rerr != nil || !again {
				return nil, err
			}
		}
		if !told {
			opts.Progress(fmt.Sprintf("%s: a deployment is running; waiting for it to finish before scaling", opts.Service))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(retryEvery):
		}
	}
}

func deploymentRunning(ctx context.Context, cl *cluster.Cluster, opts Options) (bool, error) {
	d, err := cl.Nomad.LatestDeployment(ctx, opts.Namespace, opts.Service)
	if err != nil {
		return false, err
	}
	return d != nil && d.Status == "running", nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
