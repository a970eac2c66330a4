package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

type fakeNomad struct{ c *Cluster }

func (f fakeNomad) Addr() string { return NomadAddr }

func key(ns, id string) string { return ns + "/" + id }

func notFound(what string) error {
	return &cluster.StatusError{Code: 404, Message: what + " not found"}
}

func (f fakeNomad) Leader(ctx context.Context) error {
	return do(ctx, f.c, "nomad", cluster.NomadLeader, "", func() {})
}

func (f fakeNomad) job(ns, id string) (*Job, error) {
	j, ok := f.c.s.Jobs[key(ns, id)]
	if !ok {
		return nil, notFound("job")
	}
	return j, nil
}

func (f fakeNomad) Job(ctx context.Context, ns, id string) (*nomad.Job, error) {
	return call(ctx, f.c, "nomad", cluster.JobRead, id, func() (*nomad.Job, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		return clone(j.latest()), nil
	})
}

func (f fakeNomad) Jobs(ctx context.Context, ns string) ([]*nomad.JobListStub, error) {
	return call(ctx, f.c, "nomad", cluster.JobList, "", func() ([]*nomad.JobListStub, error) {
		var out []*nomad.JobListStub
		for _, j := range f.c.s.Jobs {
			l := j.latest()
			if deref(l.Namespace) == ns {
				out = append(out, &nomad.JobListStub{ID: deref(l.ID), Name: deref(l.Name), Namespace: ns, Status: deref(l.Status), Stop: deref(l.Stop), JobModifyIndex: deref(l.JobModifyIndex)})
			}
		}
		return out, nil
	})
}

// validate refuses what Nomad refuses: a count outside the group's
// scaling bounds.
func validate(job *nomad.Job) error {
	for _, g := range job.TaskGroups {
		if s := g.Scaling; s != nil && s.Min != nil && s.Max != nil && g.Count != nil {
			if n := int64(*g.Count); n < *s.Min || n > *s.Max {
				return &cluster.StatusError{Code: 400, Message: fmt.Sprintf("1 error occurred: Task group %s validation failed: task group count (%d) must be between the scaling policy's min (%d) and max (%d)", deref(g.Name), n, *s.Min, *s.Max)}
			}
		}
	}
	return nil
}

// Plan diffs against the newest version and annotates placements; an
// unplaced rollout shows as failed placements here too, as Nomad's
// planner would.
func (f fakeNomad) Plan(ctx context.Context, job *nomad.Job) (*nomad.JobPlanResponse, error) {
	ns, id := deref(job.Namespace), deref(job.ID)
	return call(ctx, f.c, "nomad", cluster.JobPlan, id, func() (*nomad.JobPlanResponse, error) {
		if err := validate(job); err != nil {
			return nil, err
		}
		resp := &nomad.JobPlanResponse{Annotations: &nomad.PlanAnnotations{DesiredTGUpdates: map[string]*nomad.DesiredUpdates{}}}
		j, err := f.job(ns, id)
		var current *nomad.Job
		if err == nil {
			current = j.latest()
			resp.JobModifyIndex = deref(current.JobModifyIndex)
		}
		resp.Diff = diff(current, job)
		for _, g := range job.TaskGroups {
			u := &nomad.DesiredUpdates{}
			switch resp.Diff.Type {
			case "Added":
				u.Place = uint64(deref(g.Count))
			case "Edited":
				u.DestructiveUpdate = uint64(deref(g.Count))
			}
			resp.Annotations.DesiredTGUpdates[deref(g.Name)] = u
			if f.c.s.Rollouts[id] == Unplaced {
				resp.FailedTGAllocs = unplaced(deref(g.Name))
			}
		}
		return resp, nil
	})
}

func unplaced(group string) map[string]*nomad.AllocationMetric {
	return map[string]*nomad.AllocationMetric{group: {NodesEvaluated: 1, DimensionExhausted: map[string]int{"memory": 1}}}
}

// Register enforces the modify index (a 500 like Nomad's, whose text
// stackctl does not read), honours PreserveCounts, and plays the rollout.
func (f fakeNomad) Register(ctx context.Context, job *nomad.Job, opts *nomad.RegisterOptions) (*nomad.JobRegisterResponse, error) {
	ns, id := deref(job.Namespace), deref(job.ID)
	return call(ctx, f.c, "nomad", cluster.JobRegister, id, func() (*nomad.JobRegisterResponse, error) {
		if f.c.race(cluster.JobRegister, id) {
			if j, err := f.job(ns, id); err == nil {
				f.c.addVersion(clone(j.latest()), true)
			}
		}
		if err := validate(job); err != nil {
			return nil, err
		}
		var currentIndex uint64
		j, err := f.job(ns, id)
		if err == nil {
			currentIndex = deref(j.latest().JobModifyIndex)
		}
		if opts != nil && opts.EnforceIndex && opts.ModifyIndex != currentIndex {
			return nil, &cluster.StatusError{Code: 500, Message: fmt.Sprintf("Enforcing job modify index %d: job exists with conflicting job modify index: %d", opts.ModifyIndex, currentIndex)}
		}
		job = clone(job)
		if j != nil && opts != nil && opts.PreserveCounts {
			for _, g := range job.TaskGroups {
				for _, cg := range j.latest().TaskGroups {
					if deref(cg.Name) == deref(g.Name) {
						g.Count = cg.Count
					}
				}
			}
		}
		evalID := f.c.rollout(job)
		return &nomad.JobRegisterResponse{EvalID: evalID, JobModifyIndex: deref(job.JobModifyIndex)}, nil
	})
}

// addVersion stores job as the newest version of its job.
func (c *Cluster) addVersion(job *nomad.Job, stable bool) *Job {
	ns, id := deref(job.Namespace), deref(job.ID)
	j, ok := c.s.Jobs[key(ns, id)]
	if !ok {
		j = &Job{}
		c.s.Jobs[key(ns, id)] = j
	}
	var version uint64
	if ok {
		version = deref(j.latest().Version) + 1
	}
	idx := c.next()
	job.Version, job.JobModifyIndex, job.ModifyIndex = &version, &idx, &idx
	job.Stable, job.Stop, job.Status = ptr(stable), ptr(false), ptr("running")
	j.Versions = append(j.Versions, job)
	return j
}

// rollout registers job as a new version and plays the service's rollout
// behaviour through, at once or, for a service in State.Slow, after that
// many reads of the deployment; it returns the evaluation's ID.
func (c *Cluster) rollout(job *nomad.Job) string {
	id := deref(job.ID)
	j := c.addVersion(job, false)
	ns, version := deref(job.Namespace), deref(job.Version)
	eval := &nomad.Evaluation{ID: c.newID('e'), Namespace: ns, JobID: id, Status: "complete"}
	c.s.Evals[eval.ID] = eval
	behaviour := c.s.Rollouts[id]
	if behaviour == Unplaced {
		eval.FailedTGAllocs = unplaced(deref(job.TaskGroups[0].Name))
		return eval.ID
	}
	c.cancelRunning(ns, id)
	dep := &nomad.Deployment{ID: c.newID('d'), Namespace: ns, JobID: id, JobVersion: version, TaskGroups: map[string]*nomad.DeploymentState{},
		CreateIndex: c.s.Index, Status: "running", StatusDescription: "Deployment is running"}
	eval.DeploymentID = dep.ID
	c.s.Deployments[dep.ID] = dep
	c.stopAllocs(j)
	for _, g := range job.TaskGroups {
		n := deref(g.Count)
		st := &nomad.DeploymentState{DesiredTotal: n, PlacedAllocs: n, AutoRevert: autoRevert(g),
			RequireProgressBy: time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)}
		dep.TaskGroups[deref(g.Name)] = st
		for range n {
			a := c.newAlloc(j, job, deref(g.Name), dep.ID)
			a.ClientStatus, a.DeploymentStatus.Healthy = "pending", nil
		}
	}
	if reads := c.s.Slow[id]; reads > 0 && behaviour != Stuck {
		c.s.Pending[dep.ID] = &Pending{Reads: reads, Behaviour: behaviour}
		return eval.ID
	}
	c.finish(dep, behaviour)
	return eval.ID
}

func autoRevert(g *nomad.TaskGroup) bool { return g.Update != nil && deref(g.Update.AutoRevert) }

// finish plays a deployment's end: its allocations' fate, the checks
// Consul reports, the deployment's status and Nomad's auto-revert.
func (c *Cluster) finish(dep *nomad.Deployment, behaviour string) {
	j := c.s.Jobs[key(dep.Namespace, dep.JobID)]
	var job *nomad.Job
	for _, v := range j.Versions {
		if deref(v.Version) == dep.JobVersion {
			job = v
		}
	}
	id := dep.JobID
	for _, a := range j.Allocs {
		if a.JobVersion != dep.JobVersion || a.DesiredStatus != "run" {
			continue
		}
		st := dep.TaskGroups[a.TaskGroup]
		task := taskName(job, a.TaskGroup)
		switch behaviour {
		case Crash:
			a.ClientStatus, a.DeploymentStatus.Healthy = "failed", ptr(false)
			a.TaskStates = map[string]*nomad.TaskState{task: {State: "dead", Failed: true, Restarts: 2, Events: crashEvents(1, 0, "", 2)}}
			st.UnhealthyAllocs++
		case Panic, OOM:
			// The task crashes at start, twice restarted, then the
			// restart policy gives up; Nomad waits for the progress
			// deadline before it fails the deployment.
			exit, signal, msg := 2, 0, ""
			log := panicLog
			if behaviour == OOM {
				exit, signal, msg, log = 137, 0, "OOM Killed", "demo: allocating 512 MiB\n"
			}
			a.ClientStatus, a.DeploymentStatus.Healthy = "failed", ptr(false)
			a.TaskStates = map[string]*nomad.TaskState{task: {State: "dead", Failed: true, Restarts: 2, Events: crashEvents(exit, signal, msg, 2)}}
			c.s.Logs[a.ID+"/"+task+"/stderr"] = strings.Repeat(log, 3)
			st.UnhealthyAllocs++
		case Stuck:
			a.ClientStatus, a.DeploymentStatus.Healthy = "pending", nil
		default:
			a.ClientStatus, a.DeploymentStatus.Healthy = "running", ptr(true)
			st.HealthyAllocs++
		}
	}
	switch behaviour {
	case Crash:
		c.s.Checks[id] = []*consul.HealthCheck{{Name: id + "-http", ServiceName: id, Status: consul.HealthCritical, Output: "Get \"http://10.0.0.1:8080/healthz\": dial tcp 10.0.0.1:8080: connect: connection refused"}}
		dep.Status, dep.StatusDescription = "failed", "Failed due to unhealthy allocations"
		if stable := lastStable(j); stable != nil {
			dep.StatusDescription += fmt.Sprintf(" - rolling back to job version %d", deref(stable.Version))
			back := clone(stable)
			c.addVersion(back, true)
			c.stopAllocs(j)
			for _, g := range back.TaskGroups {
				for range deref(g.Count) {
					c.newAlloc(j, back, deref(g.Name), "")
				}
			}
		}
	case Stuck, Panic, OOM:
		dep.Status, dep.StatusDescription = "running", "Deployment is running"
	default:
		delete(c.s.Checks, id)
		dep.Status, dep.StatusDescription = "successful", "Deployment completed successfully"
		if job != nil {
			job.Stable = ptr(true)
		}
	}
}

func lastStable(j *Job) *nomad.Job {
	for i := len(j.Versions) - 2; i >= 0; i-- {
		if deref(j.Versions[i].Stable) {
			return j.Versions[i]
		}
	}
	return nil
}

func (c *Cluster) stopAllocs(j *Job) {
	for _, a := range j.Allocs {
		if a.DesiredStatus == "run" {
			a.DesiredStatus = "stop"
			if a.ClientStatus == "running" || a.ClientStatus == "pending" {
				a.ClientStatus = "complete"
			}
		}
	}
}

func (c *Cluster) newAlloc(j *Job, job *nomad.Job, group, depID string) *nomad.AllocationListStub {
	a := &nomad.AllocationListStub{
		ID: c.newID('a'), Namespace: deref(job.Namespace), JobID: deref(job.ID), TaskGroup: group, JobVersion: deref(job.Version),
		NodeName: "node1", DesiredStatus: "run", ClientStatus: "running", DeploymentStatus: &nomad.AllocDeploymentStatus{Healthy: ptr(true)},
		CreateIndex: c.s.Index, CreateTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
	}
	if depID != "" {
		a.DeploymentStatus.Healthy = ptr(true)
	}
	j.Allocs = append(j.Allocs, a)
	return a
}

// Deregister stops the job (a new modify index, as Nomad's stop is a
// write), or forgets it with purge.
func (f fakeNomad) Deregister(ctx context.Context, ns, id string, purge bool) (string, error) {
	return call(ctx, f.c, "nomad", cluster.JobDeregister, id, func() (string, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return "", err
		}
		f.c.stopAllocs(j)
		if purge {
			delete(f.c.s.Jobs, key(ns, id))
		} else {
			l := j.latest()
			l.Stop, l.Status = ptr(true), ptr("dead")
			idx := f.c.next()
			l.JobModifyIndex, l.ModifyIndex = &idx, &idx
		}
		eval := &nomad.Evaluation{ID: f.c.newID('e'), Namespace: ns, JobID: id, Status: "complete"}
		f.c.s.Evals[eval.ID] = eval
		return eval.ID, nil
	})
}

func (f fakeNomad) Versions(ctx context.Context, ns, id string) ([]*nomad.Job, error) {
	return call(ctx, f.c, "nomad", cluster.JobVersions, id, func() ([]*nomad.Job, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		var out []*nomad.Job
		for i := len(j.Versions) - 1; i >= 0; i-- {
			out = append(out, clone(j.Versions[i]))
		}
		return out, nil
	})
}

// Revert enforces the prior version like Nomad's enforce_prior_version,
// then plays the service's rollout behaviour for the old spec.
func (f fakeNomad) Revert(ctx context.Context, ns, id string, version, current uint64) (*nomad.JobRegisterResponse, error) {
	return call(ctx, f.c, "nomad", cluster.JobRevert, id, func() (*nomad.JobRegisterResponse, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		if deref(j.latest().Version) != current {
			return nil, &cluster.StatusError{Code: 500, Message: fmt.Sprintf("Current job has version %d; enforcing version %d", deref(j.latest().Version), current)}
		}
		for _, v := range j.Versions {
			if deref(v.Version) == version {
				evalID := f.c.rollout(clone(v))
				return &nomad.JobRegisterResponse{EvalID: evalID}, nil
			}
		}
		return nil, &cluster.StatusError{Code: 400, Message: fmt.Sprintf("job %q in namespace %q at version %d not found", id, ns, version)}
	})
}

// Scale refuses during a running deployment, as Nomad does, and records a
// scaling event the way the autoscaler's and stackctl's show in status.
func (f fakeNomad) Scale(ctx context.Context, ns, id, group string, count int, message string) (*nomad.JobRegisterResponse, error) {
	return call(ctx, f.c, "nomad", cluster.JobScale, id, func() (*nomad.JobRegisterResponse, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		if d := f.c.latestDeployment(ns, id); d != nil && d.Status == "running" {
			return nil, &cluster.StatusError{Code: 400, Message: "job scaling blocked due to active deployment"}
		}
		job := clone(j.latest())
		var prev int
		for _, g := range job.TaskGroups {
			if deref(g.Name) == group {
				prev = deref(g.Count)
				g.Count = &count
			}
		}
		if err := validate(job); err != nil {
			return nil, err
		}
		f.c.addVersion(job, true)
		live := 0
		for _, a := range j.Allocs {
			if a.TaskGroup == group && a.DesiredStatus == "run" {
				if live++; live > count {
					a.DesiredStatus, a.ClientStatus = "stop", "complete"
				}
			}
		}
		for ; live < count; live++ {
			f.c.newAlloc(j, job, group, "")
		}
		j.Events = append([]nomad.ScalingEvent{{Count: ptr(int64(count)), PreviousCount: int64(prev), Message: message,
			Time: uint64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())}}, j.Events...)
		eval := &nomad.Evaluation{ID: f.c.newID('e'), Namespace: ns, JobID: id, Status: "complete"}
		f.c.s.Evals[eval.ID] = eval
		return &nomad.JobRegisterResponse{EvalID: eval.ID}, nil
	})
}

// ScaleStatus counts running and healthy allocations per group; a stopped
// job desires none.
func (f fakeNomad) ScaleStatus(ctx context.Context, ns, id string) (*nomad.JobScaleStatusResponse, error) {
	return call(ctx, f.c, "nomad", cluster.JobScaleStatus, id, func() (*nomad.JobScaleStatusResponse, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		resp := &nomad.JobScaleStatusResponse{JobID: id, Namespace: ns, TaskGroups: map[string]nomad.TaskGroupScaleStatus{}}
		for _, g := range j.latest().TaskGroups {
			st := nomad.TaskGroupScaleStatus{Desired: deref(g.Count), Events: j.Events}
			if deref(j.latest().Stop) {
				st.Desired = 0
			}
			for _, a := range j.Allocs {
				if a.TaskGroup == deref(g.Name) && a.DesiredStatus == "run" && a.ClientStatus == "running" {
					st.Running++
					if a.DeploymentStatus != nil && deref(a.DeploymentStatus.Healthy) {
						st.Healthy++
					}
				}
			}
			resp.TaskGroups[deref(g.Name)] = st
		}
		return resp, nil
	})
}

func (f fakeNomad) Allocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	return call(ctx, f.c, "nomad", cluster.JobAllocations, id, func() ([]*nomad.AllocationListStub, error) {
		j, err := f.job(ns, id)
		if err != nil {
			return nil, err
		}
		return clone(j.Allocs), nil
	})
}

func (c *Cluster) latestDeployment(ns, id string) *nomad.Deployment {
	var latest *nomad.Deployment
	for _, d := range c.s.Deployments {
		if d.Namespace == ns && d.JobID == id && (latest == nil || d.CreateIndex > latest.CreateIndex) {
			latest = d
		}
	}
	return latest
}

func (f fakeNomad) LatestDeployment(ctx context.Context, ns, id string) (*nomad.Deployment, error) {
	return call(ctx, f.c, "nomad", cluster.JobDeployment, id, func() (*nomad.Deployment, error) {
		if _, err := f.job(ns, id); err != nil {
			return nil, err
		}
		if d := f.c.latestDeployment(ns, id); d != nil {
			return clone(d), nil
		}
		return nil, nil
	})
}

// Deployment and Evaluation answer at once: a rollout is played through
// at registration, or after a few reads of its deployment (State.Slow),
// so blocking would only slow tests.
func (f fakeNomad) Deployment(ctx context.Context, ns, id string, index uint64) (*nomad.Deployment, uint64, error) {
	r, err := call(ctx, f.c, "nomad", cluster.DeploymentRead, id, func() (indexed[*nomad.Deployment], error) {
		d, ok := f.c.s.Deployments[id]
		if !ok {
			return indexed[*nomad.Deployment]{}, notFound("deployment")
		}
		f.c.tick(d)
		return indexed[*nomad.Deployment]{clone(d), f.c.s.Index}, nil
	})
	if err != nil {
		return nil, index, err
	}
	return r.v, r.index, nil
}

func (f fakeNomad) DeploymentAllocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	return call(ctx, f.c, "nomad", cluster.DeploymentAllocs, id, func() ([]*nomad.AllocationListStub, error) {
		d, ok := f.c.s.Deployments[id]
		if !ok {
			return nil, notFound("deployment")
		}
		return f.c.deploymentAllocs(d), nil
	})
}

func (f fakeNomad) Evaluation(ctx context.Context, ns, id string, index uint64) (*nomad.Evaluation, uint64, error) {
	r, err := call(ctx, f.c, "nomad", cluster.EvaluationRead, id, func() (indexed[*nomad.Evaluation], error) {
		e, ok := f.c.s.Evals[id]
		if !ok {
			return indexed[*nomad.Evaluation]{}, notFound("evaluation")
		}
		return indexed[*nomad.Evaluation]{clone(e), f.c.s.Index}, nil
	})
	if err != nil {
		return nil, index, err
	}
	return r.v, r.index, nil
}

// diff is a coarse job diff in Nomad's shape: Added, None, or Edited with
// one field per changed leaf of the task groups.
func diff(current, job *nomad.Job) *nomad.JobDiff {
	if current == nil {
		return &nomad.JobDiff{Type: "Added", ID: deref(job.ID)}
	}
	d := &nomad.JobDiff{Type: "None", ID: deref(job.ID)}
	old, new := flatten(specOf(current)), flatten(specOf(job))
	names := map[string]bool{}
	for k := range old {
		names[k] = true
	}
	for k := range new {
		names[k] = true
	}
	var fields []*nomad.FieldDiff
	for k := range names {
		o, hasOld := old[k]
		n, hasNew := new[k]
		switch {
		case !hasOld:
			fields = append(fields, &nomad.FieldDiff{Type: "Added", Name: k, New: n})
		case !hasNew:
			fields = append(fields, &nomad.FieldDiff{Type: "Deleted", Name: k, Old: o})
		case o != n:
			fields = append(fields, &nomad.FieldDiff{Type: "Edited", Name: k, Old: o, New: n})
		}
	}
	if len(fields) == 0 {
		return d
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	d.Type, d.Fields = "Edited", fields
	return d
}

// specOf drops what Nomad sets itself.
func specOf(j *nomad.Job) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(j)
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"Version", "JobModifyIndex", "ModifyIndex", "CreateIndex", "Stable", "Stop", "Status", "SubmitTime", "StatusDescription"} {
		delete(m, k)
	}
	return m
}

// flatten writes nested values as dotted names.
func flatten(v any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(prefix+"."+k, x)
			}
		case []any:
			for i, x := range t {
				walk(fmt.Sprintf("%s[%d]", prefix, i), x)
			}
		case nil:
		default:
			out[prefix[1:]] = fmt.Sprint(t)
		}
	}
	walk("", v)
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// indexed is a blocking query's answer: the object and the index.
type indexed[T any] struct {
	v     T
	index uint64
}
