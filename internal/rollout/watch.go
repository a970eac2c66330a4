package rollout

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
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

// Result describes a finished (or abandoned) rollout. Its text is for
// people: what the cluster said in it is made printable (Printable).
type Result struct {
	Service      string
	Outcome      Outcome
	DeploymentID string
	Description  string
	RevertedTo   *uint64
	Reasons      []string // why allocations failed, in words a person can act on
	// Aftermath says what Nomad does next when stackctl stopped watching
	// a failing rollout before Nomad ended it.
	Aftermath string
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
		for _, r := range PlacementReasons(eval.FailedTGAllocs) {
			res.Reasons = append(res.Reasons, Printable(r))
			report.Emit(t.Service, KindPlacement, "cannot place: "+Printable(r), Placement{Reason: r})
		}
	}
	if eval.Status != "complete" {
		res.Outcome = Failed
		res.Description = Printable("evaluation " + eval.Status + ": " + eval.StatusDescription)
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
	report.Emit(t.Service, KindDeploymentStarted, fmt.Sprintf("deployment %s started", Printable(cluster.ShortID(depID))),
		DeploymentRef{Deployment: depID, JobVersion: t.JobVersion})
	return followDeployment(ctx, cl, t, res, report)
}

// Resume follows a rollout an earlier deploy started and did not see to
// its end (it was detached, stopped or killed): d is the latest deployment
// of t's job version, nil when there is none. A deployment still running
// is followed as Watch would; one that failed is explained; otherwise
// the instances must all be in the mesh.
func Resume(ctx context.Context, cl *cluster.Cluster, t Target, d *nomad.Deployment, report Reporter) (Result, error) {
	res := Result{Service: t.Service}
	if d == nil {
		return healthyInMesh(ctx, cl, t, res, report)
	}
	res.DeploymentID = d.ID
	switch d.Status {
	case "failed":
		res = failedDeployment(ctx, cl, t, res, d, newCheckTracker(), newInspector(cl, t, d.ID, report))
		res.Description = "the last rollout of job version " + fmt.Sprint(t.JobVersion) + " failed: " + Printable(d.StatusDescription)
		return res, nil
	case "successful", "cancelled":
		res.Description = Printable(d.StatusDescription)
		return healthyInMesh(ctx, cl, t, res, report)
	}
	report.Emit(t.Service, KindFollowing, Printable(fmt.Sprintf("the rollout of job version %d (deployment %s) is still %s; following it to its end",
		t.JobVersion, cluster.ShortID(d.ID), d.Status)), DeploymentRef{Deployment: d.ID, JobVersion: t.JobVersion, Status: d.Status})
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

// followDeployment reports the deployment's progress until it ends, while
// the inspector reports task failures; when the inspector finds that no
// allocation of the new version can become healthy, it stops early.
func followDeployment(ctx context.Context, cl *cluster.Cluster, t Target, res Result, report Reporter) (Result, error) {
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	in := newInspector(cl, t, res.DeploymentID, report)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.run(wctx, stop)
	}()
	// The inspector is stopped, and has finished what it was reporting,
	// before the outcome is told.
	end := func() {
		stop(nil)
		wg.Wait()
	}
	checks := newCheckTracker()
	var d *nomad.Deployment
	last := ""
	var index uint64
	for {
		next, nextIndex, err := cl.Nomad.Deployment(wctx, t.Namespace, res.DeploymentID, index)
		if err == nil {
			d, index = next, nextIndex
			checks.poll(wctx, cl, t.Service)
			if line := progressLine(d); line != last {
				report(Event{Service: t.Service, Kind: KindProgress, Status: true, Text: line, Data: progressOf(d)})
				last = line
			}
			switch d.Status {
			case "successful":
				end()
				res.Description = Printable(d.StatusDescription)
				return healthyInMesh(ctx, cl, t, res, report)
			case "failed":
				end()
				return failedDeployment(ctx, cl, t, res, d, checks, in), nil
			case "cancelled":
				end()
				res.Outcome = Superseded
				res.Description = Printable(d.StatusDescription)
				return res, nil
			}
			err = sleep(wctx, pollInterval/4)
		}
		if err != nil {
			end()
			switch {
			case errors.Is(context.Cause(wctx), errHopeless):
				return hopelessRollout(ctx, cl, t, res, d, checks, in), nil
			case ctx.Err() != nil:
				// Stopped waiting: what failed so far is still worth saying.
				res.Reasons = append(res.Reasons, in.reasons()...)
				return res, ctx.Err()
			}
			return res, err
		}
	}
}

// failedDeployment explains a failed deployment: the task failures (each
// with the end of its stderr), the other task events of its unhealthy
// allocations, the failing checks, and the version Nomad went back to.
// Its reads get a context of their own: the watch's may have expired.
func failedDeployment(ctx context.Context, cl *cluster.Cluster, t Target, res Result, d *nomad.Deployment, checks *checkTracker, in *inspector) Result {
	dctx, cancel := cluster.Diagnostic(ctx)
	defer cancel()
	res.Outcome = Failed
	res.Description = Printable(d.StatusDescription)
	res.Reasons = append(res.Reasons, explain(dctx, cl, t, d.ID, in)...)
	res.Reasons = append(res.Reasons, checks.failing()...)
	if m := revertRe.FindStringSubmatch(d.StatusDescription); m != nil {
		var v uint64
		fmt.Sscan(m[1], &v)
		res.RevertedTo = &v
		res.Outcome = RolledBack
	}
	return res
}

// hopelessRollout ends a watch the inspector stopped: the rollout has
// failed for every purpose, though Nomad has not said so yet.
func hopelessRollout(ctx context.Context, cl *cluster.Cluster, t Target, res Result, d *nomad.Deployment, checks *checkTracker, in *inspector) Result {
	dctx, cancel := cluster.Diagnostic(ctx)
	defer cancel()
	// Nomad may have failed the deployment (and reverted) between the
	// watch's last read and the inspector's verdict: its own word, with
	// the version it went back to, says more than ours.
	if fresh, _, err := cl.Nomad.Deployment(dctx, t.Namespace, res.DeploymentID, 0); err == nil && fresh != nil {
		d = fresh
		if d.Status == "failed" {
			return failedDeployment(ctx, cl, t, res, d, checks, in)
		}
	}
	in.mu.Lock()
	groups := in.hopeless
	in.mu.Unlock()
	res.Outcome = Failed
	res.Description = fmt.Sprintf("stopped watching early: no allocation of group %s can become healthy, every one failed", strings.Join(groups, ", "))
	res.Reasons = append(res.Reasons, in.reasons()...)
	res.Reasons = append(res.Reasons, checks.failing()...)
	res.Aftermath = aftermath(dctx, cl, t, d)
	return res
}

// aftermath says what Nomad does with a deployment that cannot succeed:
// it goes on until the progress deadline, then fails it and, with
// auto_revert, goes back to the latest stable version.
func aftermath(ctx context.Context, cl *cluster.Cluster, t Target, d *nomad.Deployment) string {
	if d == nil {
		return "Nomad goes on with the deployment until its progress deadline, then fails it; stackctl status " + t.Service + " shows it"
	}
	var deadline time.Time
	revert := false
	for _, g := range d.TaskGroups {
		if g.RequireProgressBy.After(deadline) {
			deadline = g.RequireProgressBy
		}
		revert = revert || g.AutoRevert
	}
	msg := "Nomad goes on retrying until the deployment's progress deadline"
	if !deadline.IsZero() {
		msg += " (" + deadline.Local().Format("15:04:05") + ")"
	}
	msg += ", then fails it"
	if !revert {
		msg += " and leaves the allocations as they are (auto_revert is off): deploy a fix, or stackctl rollback " + t.Service
		return msg + ". A deploy of a fix supersedes it without --force"
	}
	switch stable, err := stableBefore(ctx, cl, t); {
	case err != nil:
		msg += fmt.Sprintf(" and reverts %s to its latest stable version (auto_revert; which one is unknown: %s)", t.Service, Printable(err.Error()))
	case stable != nil:
		msg += fmt.Sprintf(" and reverts %s to job version %d (auto_revert)", t.Service, *stable)
	default:
		msg += "; there is no stable version to revert to"
	}
	return msg + ". A deploy of a fix supersedes it without --force"
}

// stableBefore is the newest stable version older than t's, which Nomad's
// auto-revert goes back to; nil when there is none.
func stableBefore(ctx context.Context, cl *cluster.Cluster, t Target) (*uint64, error) {
	versions, err := cl.Nomad.Versions(ctx, t.Namespace, t.Service)
	if err != nil {
		return nil, err
	}
	for _, v := range versions { // newest first
		if v.Version != nil && *v.Version < t.JobVersion && v.Stable != nil && *v.Stable {
			return v.Version, nil
		}
	}
	return nil, nil
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

// Progress is the data of a KindProgress event.
type Progress struct {
	Deployment string          `json:"deployment"`
	Status     string          `json:"status"`
	Groups     []GroupProgress `json:"groups"`
}

// GroupProgress is one task group's part of a deployment.
type GroupProgress struct {
	Group          string `json:"group"`
	Desired        int    `json:"desired"`
	Placed         int    `json:"placed"`
	Healthy        int    `json:"healthy"`
	Unhealthy      int    `json:"unhealthy"`
	Canaries       int    `json:"canaries,omitempty"`
	CanariesPlaced int    `json:"canaries_placed,omitempty"`
	Promoted       bool   `json:"promoted,omitempty"`
}

func progressOf(d *nomad.Deployment) Progress {
	p := Progress{Deployment: d.ID, Status: d.Status, Groups: []GroupProgress{}}
	for _, n := range sortedGroups(d) {
		s := d.TaskGroups[n]
		p.Groups = append(p.Groups, GroupProgress{Group: n, Desired: s.DesiredTotal, Placed: s.PlacedAllocs, Healthy: s.HealthyAllocs,
			Unhealthy: s.UnhealthyAllocs, Canaries: s.DesiredCanaries, CanariesPlaced: len(s.PlacedCanaries), Promoted: s.Promoted})
	}
	return p
}

func sortedGroups(d *nomad.Deployment) []string {
	names := make([]string, 0, len(d.TaskGroups))
	for n := range d.TaskGroups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func progressLine(d *nomad.Deployment) string {
	names := sortedGroups(d)
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
	return Printable(fmt.Sprintf("deployment %s %s: %s", cluster.ShortID(d.ID), d.Status, strings.Join(parts, "; ")))
}
