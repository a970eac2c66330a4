package rollout

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Outcome is how a rollout ended.
type Outcome string

const (
	Healthy    Outcome = "healthy"
	Failed     Outcome = "failed"
	RolledBack Outcome = "rolled back"
	Superseded Outcome = "superseded"
	Unplaced   Outcome = "not placed"
)

// Result describes a finished (or abandoned) rollout.
type Result struct {
	Service      string
	Outcome      Outcome
	DeploymentID string
	Description  string
	RevertedTo   *uint64
	Reasons      []string // why allocations failed, in words a person can act on
}

// FailedError is returned when a rollout did not end healthy, even if the
// automatic revert that followed succeeded.
type FailedError struct{ Results []Result }

func (e *FailedError) Error() string {
	var parts []string
	for _, r := range e.Results {
		parts = append(parts, fmt.Sprintf("%s: %s", r.Service, r.Outcome))
	}
	return "rollout failed: " + strings.Join(parts, ", ")
}

var revertRe = regexp.MustCompile(`rolling back to job version (\d+)`)

// Watch follows one registered job until its deployment ends, the context
// is cancelled, or the context's deadline passes. report gets a line each
// time something changes.
func Watch(ctx context.Context, cl *cluster.Cluster, t Target, report Reporter) (Result, error) {
	res := Result{Service: t.Service}
	eval, err := settledEvaluation(ctx, cl, t)
	if err != nil {
		return res, err
	}
	if len(eval.FailedTGAllocs) > 0 {
		res.Reasons = append(res.Reasons, PlacementReasons(eval.FailedTGAllocs)...)
		for _, r := range res.Reasons {
			report.Step(t.Service, "cannot place: "+r)
		}
	}
	if eval.Status != "complete" {
		res.Outcome = Failed
		res.Description = "evaluation " + eval.Status + ": " + eval.StatusDescription
		return res, nil
	}
	depID := eval.DeploymentID
	if depID == "" {
		d, err := cl.Nomad.LatestDeployment(ctx, t.Namespace, t.Service)
		if err == nil && d != nil && d.JobVersion == t.JobVersion {
			depID = d.ID
		}
	}
	if depID == "" {
		if len(eval.FailedTGAllocs) > 0 {
			res.Outcome = Unplaced
			return res, nil
		}
		// No deployment: nothing changed that needs a rollout (e.g. only
		// the count moved with canaries off); allocations decide.
		return healthyInMesh(ctx, cl, t, res, report)
	}
	res.DeploymentID = depID
	report.Step(t.Service, fmt.Sprintf("deployment %s started", cluster.ShortID(depID)))
	return followDeployment(ctx, cl, t, res, report)
}

// settledEvaluation waits for the evaluation to finish: it says whether
// the scheduler could place the allocations and which deployment it made.
func settledEvaluation(ctx context.Context, cl *cluster.Cluster, t Target) (*nomad.Evaluation, error) {
	var index uint64
	for {
		ev, next, err := cl.Nomad.Evaluation(ctx, t.Namespace, t.EvalID, index)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		index = next
		switch ev.Status {
		case "complete", "failed", "canceled":
			return ev, nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// followDeployment reports the deployment's progress until it ends.
func followDeployment(ctx context.Context, cl *cluster.Cluster, t Target, res Result, report Reporter) (Result, error) {
	checks := newCheckTracker()
	last := ""
	var index uint64
	for {
		d, next, err := cl.Nomad.Deployment(ctx, t.Namespace, res.DeploymentID, index)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, err
		}
		index = next
		checks.poll(ctx, cl, t.Service)
		if line := progressLine(d); line != last {
			report.State(t.Service, line)
			last = line
		}
		switch d.Status {
		case "successful":
			res.Description = d.StatusDescription
			return healthyInMesh(ctx, cl, t, res, report)
		case "failed":
			return failedDeployment(ctx, cl, t, res, d, checks), nil
		case "cancelled":
			res.Outcome = Superseded
			res.Description = d.StatusDescription
			return res, nil
		}
		if err := sleep(ctx, pollInterval/4); err != nil {
			return res, err
		}
	}
}

// failedDeployment explains a failed deployment: the failed allocations'
// task events, the failing checks, and the version Nomad went back to.
func failedDeployment(ctx context.Context, cl *cluster.Cluster, t Target, res Result, d *nomad.Deployment, checks *checkTracker) Result {
	res.Outcome = Failed
	res.Description = d.StatusDescription
	res.Reasons = append(res.Reasons, allocReasons(ctx, cl, t, d.ID)...)
	res.Reasons = append(res.Reasons, checks.failing()...)
	if m := revertRe.FindStringSubmatch(d.StatusDescription); m != nil {
		var v uint64
		fmt.Sscan(m[1], &v)
		res.RevertedTo = &v
		res.Outcome = RolledBack
	}
	return res
}

// healthyInMesh ends a rollout Nomad calls healthy once every running
// instance is also offered by Consul to Traefik and callers (mesh.go);
// if the wait ends first, the reasons say which sidecar is not ready.
func healthyInMesh(ctx context.Context, cl *cluster.Cluster, t Target, res Result, report Reporter) (Result, error) {
	if t.Connect {
		m, err := WaitMesh(ctx, cl, t.Namespace, t.Service, report)
		if err != nil {
			res.Reasons = append(res.Reasons, m.Waiting...)
			return res, err
		}
	}
	res.Outcome = Healthy
	return res, nil
}

func progressLine(d *nomad.Deployment) string {
	names := make([]string, 0, len(d.TaskGroups))
	for n := range d.TaskGroups {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		s := d.TaskGroups[n]
		p := fmt.Sprintf("%d/%d healthy", s.HealthyAllocs, s.DesiredTotal)
		if s.PlacedAllocs != s.DesiredTotal {
			p += fmt.Sprintf(", %d placed", s.PlacedAllocs)
		}
		if s.UnhealthyAllocs > 0 {
			p += fmt.Sprintf(", %d unhealthy", s.UnhealthyAllocs)
		}
		if s.DesiredCanaries > 0 {
			p += fmt.Sprintf(", canaries %d/%d", len(s.PlacedCanaries), s.DesiredCanaries)
			if s.Promoted {
				p += " promoted"
			}
		}
		if len(names) > 1 {
			p = n + " " + p
		}
		parts = append(parts, p)
	}
	return fmt.Sprintf("deployment %s %s: %s", cluster.ShortID(d.ID), d.Status, strings.Join(parts, "; "))
}
