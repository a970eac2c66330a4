package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/rollout"
)

// A deployment of a service may still run when a deploy starts. What the
// deploy does depends on whose it is (Assess):
//
//   - a scaling deployment (the autoscaler, stackctl scale or nomad job
//     scale changed a count): the deploy says so on one line, waits for it
//     (up to --timeout) and plans again. Nothing there for a user to
//     decide: the count it chose is kept, as always.
//   - the rollout of the very job version the descriptors compile to (an
//     earlier deploy was detached, stopped or killed): there is nothing to
//     register; the deploy follows that rollout to its end and exits by
//     its outcome.
//   - a rollout of another version that cannot succeed any more (every
//     allocation of it failed, rollout.Hopeless): superseded with a note.
//   - any other release: refused, naming it; --force supersedes it.
//
// Only the last is a decision for the user.

// Disposition is what a deploy does about a service's latest deployment.
type Disposition int

const (
	Idle      Disposition = iota // nothing running: go ahead
	WaitScale                    // a scaling deployment: wait, then plan again
	Follow                       // our own version's rollout: follow it
	Supersede                    // a hopeless rollout: register over it
	Refuse                       // someone's release: the user decides (--force)
)

// Running is a service's latest deployment and what the deploy does
// about it.
type Running struct {
	Service     string
	Namespace   string
	Disposition Disposition
	// Deployment is nil for a version registered moments ago whose
	// deployment Nomad has not created yet.
	Deployment *nomad.Deployment
	JobVersion uint64
	Scaling    *ScalingChange // for WaitScale
	Connect    bool
}

// ScalingChange is a count change, and who made it.
type ScalingChange struct {
	Group    string
	From, To int
	By       string // "nomad-autoscaler", "stackctl scale", ...
}

func (c ScalingChange) String() string {
	return fmt.Sprintf("count %d -> %d, by %s", c.From, c.To, c.By)
}

// Assess decides, before anything is written, what to do about each
// selected service's latest deployment, and refuses plans that would fail
// half-way: missing secrets, someone's release still running (unless
// force).
func Assess(ctx context.Context, cl *cluster.Cluster, p *Plan, force bool) ([]*Running, error) {
	var errs []error
	var out []*Running
	for _, s := range p.Selected() {
		for _, m := range s.MissingSecrets() {
			errs = append(errs, &MissingSecretError{Service: s.Name, Secret: m})
		}
		if s.JobChange == Create {
			continue
		}
		r, err := assessService(ctx, cl, s)
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Disposition == Refuse && !force:
			id := "(not created yet)"
			if r.Deployment != nil {
				id = r.Deployment.ID
			}
			errs = append(errs, &BusyError{Service: s.Name, DeploymentID: id, JobVersion: r.JobVersion})
		case (r.Disposition == WaitScale || r.Disposition == Refuse) && force:
			r.Disposition = Supersede
			fallthrough
		case r.Disposition != Idle:
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// assessService reads the service's job and latest deployment.
func assessService(ctx context.Context, cl *cluster.Cluster, s *ServicePlan) (*Running, error) {
	ns, id := *s.Job.Namespace, *s.Job.ID
	r := &Running{Service: s.Name, Namespace: ns, Connect: rollout.UsesConnect(s.Job)}
	d, err := cl.Nomad.LatestDeployment(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	job, err := cl.Nomad.Job(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	version := deref(job.Version)
	r.JobVersion = version
	unchanged := s.JobChange == NoChange
	// A version registered moments ago has no deployment yet (another
	// deploy is starting, or ours was killed just after registering).
	unborn := !deref(job.Stable) && !isStopped(job) && (d == nil || d.JobVersion != version)
	running := d != nil && d.Status == "running" || d != nil && d.Status == "paused" || d != nil && d.Status == "pending"
	switch {
	case unchanged && (unborn || running && d.JobVersion == version):
		r.Disposition = Follow
		if !unborn {
			r.Deployment = d
		}
		return r, nil
	case unchanged:
		return assessSettled(ctx, cl, r, d)
	case !running && !unborn:
		return r, nil
	}
	if running {
		r.Deployment, r.JobVersion = d, d.JobVersion
	}
	change, err := scalingChange(ctx, cl, ns, id, r.JobVersion)
	if err != nil {
		return nil, err
	}
	if change != nil {
		r.Disposition, r.Scaling = WaitScale, change
		return r, nil
	}
	if running {
		allocs, err := cl.Nomad.DeploymentAllocations(ctx, ns, d.ID)
		if err != nil {
			return nil, err
		}
		if len(rollout.Hopeless(allocs)) > 0 {
			r.Disposition = Supersede
			return r, nil
		}
	}
	r.Disposition = Refuse
	return r, nil
}

// assessSettled checks an unchanged service whose latest deployment has
// ended: a failed rollout of the current version is reported (Follow
// explains it); a successful one counts only once every instance is in
// the mesh.
func assessSettled(ctx context.Context, cl *cluster.Cluster, r *Running, d *nomad.Deployment) (*Running, error) {
	if d != nil && d.JobVersion == r.JobVersion && d.Status == "failed" {
		r.Disposition, r.Deployment = Follow, d
		return r, nil
	}
	if !r.Connect {
		return r, nil
	}
	m, err := rollout.MeshInstances(ctx, cl, r.Namespace, r.Service, r.Service, r.Service)
	if err != nil {
		return nil, err
	}
	if !m.Done() {
		r.Disposition, r.Deployment = Follow, d
	}
	return r, nil
}

// scalingChange reports whether job version v differs from the version
// before it only in group counts, and who changed them according to the
// job's scaling events; nil when it is not a scaling version.
func scalingChange(ctx context.Context, cl *cluster.Cluster, ns, id string, v uint64) (*ScalingChange, error) {
	if v == 0 {
		return nil, nil
	}
	versions, err := cl.Nomad.Versions(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	var cur, prev *nomad.Job
	for _, j := range versions {
		switch deref(j.Version) {
		case v:
			cur = j
		case v - 1:
			prev = j
		}
	}
	if cur == nil || prev == nil {
		return nil, nil // Nomad no longer keeps the version before
	}
	change, ok := countsOnly(prev, cur)
	if !ok {
		return nil, nil
	}
	change.By = scaledBy(ctx, cl, ns, id, change)
	return change, nil
}

// countsOnly compares two versions of a job without what Nomad sets
// itself (versions, indexes, times, stability) and without the groups'
// counts: ok when nothing else differs and some count does.
func countsOnly(prev, cur *nomad.Job) (*ScalingChange, bool) {
	a, b := specOf(prev), specOf(cur)
	if a == nil || b == nil || !reflect.DeepEqual(a, b) {
		return nil, false
	}
	for _, g := range cur.TaskGroups {
		for _, pg := range prev.TaskGroups {
			if deref(pg.Name) == deref(g.Name) && deref(pg.Count) != deref(g.Count) {
				return &ScalingChange{Group: deref(g.Name), From: deref(pg.Count), To: deref(g.Count)}, true
			}
		}
	}
	return nil, false
}

// serverSet are the fields Nomad sets on every version.
var serverSet = []string{"Version", "SubmitTime", "JobModifyIndex", "ModifyIndex", "CreateIndex", "Stable", "Status", "StatusDescription", "VersionTag"}

func specOf(j *nomad.Job) map[string]any {
	b, err := json.Marshal(j)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	for _, k := range serverSet {
		delete(m, k)
	}
	groups, _ := m["TaskGroups"].([]any)
	for _, g := range groups {
		if gm, ok := g.(map[string]any); ok {
			delete(gm, "Count")
			if sc, ok := gm["Scaling"].(map[string]any); ok {
				delete(sc, "CreateIndex")
				delete(sc, "ModifyIndex")
			}
		}
	}
	return m
}

// scaledBy names who scaled, from the newest scaling event of the group
// with that change: the autoscaler records its policy in the event's
// meta, stackctl scale its message.
func scaledBy(ctx context.Context, cl *cluster.Cluster, ns, id string, c *ScalingChange) string {
	st, err := cl.Nomad.ScaleStatus(ctx, ns, id)
	if err != nil {
		return "an unknown scaler (scaling events unreadable: " + cluster.Short(err) + ")"
	}
	for _, ev := range st.TaskGroups[c.Group].Events {
		if ev.Count == nil || int(*ev.Count) != c.To || int(ev.PreviousCount) != c.From {
			continue
		}
		for k := range ev.Meta {
			if k == "nomad_policy_id" || strings.HasPrefix(k, "nomad_autoscaler") {
				return "nomad-autoscaler"
			}
		}
		switch ev.Message {
		case "scaled by stackctl":
			return "stackctl scale"
		case "":
			return "the scaling API (nomad job scale)"
		}
		return fmt.Sprintf("a scaling request (%q)", ev.Message)
	}
	return "a registration that changed only counts"
}

// WaitError means a scaling deployment still ran when the wait for it
// ended.
type WaitError struct {
	Service, DeploymentID string
	Waited                time.Duration
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("the scaling deployment %s of %q is still running after %s; retry later, or pass --force to supersede it",
		cluster.ShortID(e.DeploymentID), e.Service, e.Waited.Round(time.Second))
}

// waitScaling waits until each scaling deployment has ended (or, for a
// version without a deployment yet, until it has one that ended),
// reporting the start and end of each wait, until deadline.
func waitScaling(ctx context.Context, cl *cluster.Cluster, runs []*Running, deadline time.Time, report rollout.Reporter) error {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	start := time.Now()
	for _, r := range runs {
		id := "(not created yet)"
		if r.Deployment != nil {
			id = cluster.ShortID(r.Deployment.ID)
		}
		report.Emit(r.Service, rollout.KindWaiting, fmt.Sprintf("waiting for the running scaling deployment %s (%s) to finish", id, r.Scaling),
			Waiting{Deployment: idOf(r.Deployment), JobVersion: r.JobVersion, Group: r.Scaling.Group, From: r.Scaling.From, To: r.Scaling.To, By: r.Scaling.By})
		d, err := waitEnded(wctx, cl, r)
		if err != nil {
			if ctx.Err() == nil && cluster.Interrupted(err) {
				return &WaitError{Service: r.Service, DeploymentID: idOf(r.Deployment), Waited: time.Since(start)}
			}
			return err
		}
		if d == nil {
			report.Step(r.Service, fmt.Sprintf("the scaling of job version %d made no deployment; planning again", r.JobVersion))
			continue
		}
		report.Emit(r.Service, rollout.KindWaited, fmt.Sprintf("scaling deployment %s %s; planning again", cluster.ShortID(d.ID), d.Status),
			rollout.DeploymentRef{Deployment: d.ID, JobVersion: d.JobVersion, Status: d.Status})
	}
	return nil
}

// Waiting is the data of a rollout.KindWaiting event.
type Waiting struct {
	Deployment string `json:"deployment"`
	JobVersion uint64 `json:"job_version"`
	Group      string `json:"group"`
	From       int    `json:"from"`
	To         int    `json:"to"`
	By         string `json:"by"`
}

func idOf(d *nomad.Deployment) string {
	if d == nil {
		return ""
	}
	return d.ID
}

// waitEnded follows r's deployment (found first, when Nomad has not made
// it yet) until it is no longer running. It returns nil when the version
// got no deployment (a scale-in only stops allocations).
func waitEnded(ctx context.Context, cl *cluster.Cluster, r *Running) (*nomad.Deployment, error) {
	d := r.Deployment
	if d == nil {
		var err error
		if d, err = bornDeployment(ctx, cl, r.Namespace, r.Service, r.JobVersion); d == nil || err != nil {
			return nil, err
		}
	}
	var index uint64
	for {
		var err error
		d, index, err = cl.Nomad.Deployment(ctx, r.Namespace, d.ID, index)
		if err != nil {
			return nil, err
		}
		switch d.Status {
		case "running", "paused", "pending":
		default:
			return d, nil
		}
		if err := rollout.Sleep(ctx, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// bornWithin is how long a job version registered moments ago is given
// for Nomad's scheduler to create its deployment; a version that changed
// no allocation gets none.
var bornWithin = 10 * time.Second

// bornDeployment waits up to bornWithin for the deployment of job
// version v; nil when none came.
func bornDeployment(ctx context.Context, cl *cluster.Cluster, ns, id string, v uint64) (*nomad.Deployment, error) {
	until := time.Now().Add(bornWithin)
	for {
		d, err := cl.Nomad.LatestDeployment(ctx, ns, id)
		if err != nil {
			return nil, err
		}
		if d != nil && d.JobVersion >= v {
			return d, nil
		}
		if time.Now().After(until) {
			return nil, nil
		}
		if err := rollout.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
}
