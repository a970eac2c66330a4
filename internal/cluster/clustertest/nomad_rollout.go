package clustertest

import (
	"context"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Pending is a deployment still running: it ends with Behaviour after
// Reads more reads of it.
type Pending struct {
	Reads     int    `json:"reads"`
	Behaviour string `json:"behaviour"`
}

// tick counts down a pending deployment on each read, and plays its end
// when the count runs out.
func (c *Cluster) tick(d *nomad.Deployment) {
	p, ok := c.s.Pending[d.ID]
	if !ok {
		return
	}
	if p.Reads--; p.Reads > 0 {
		return
	}
	delete(c.s.Pending, d.ID)
	c.finish(d, p.Behaviour)
}

// cancelRunning ends the job's running deployments the way Nomad does when
// a newer version is registered.
func (c *Cluster) cancelRunning(ns, id string) {
	for _, d := range c.s.Deployments {
		if d.Namespace == ns && d.JobID == id && d.Status == "running" {
			d.Status, d.StatusDescription = "cancelled", "Cancelled due to newer version of job"
			delete(c.s.Pending, d.ID)
		}
	}
}

// panicLog is what a Go program that panics at start writes to stderr.
const panicLog = "panic: demo: crash at start (CRASH_AT_START=1)\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/examples/demo/main.go:31 +0x1d\n"

// crashEvents are the task events of a task that exits at start with exit
// (or signal; msg is the exit message), is restarted restarts times by its
// restart policy (attempts 2, delay 15 s, mode fail), then given up on.
func crashEvents(exit, signal int, msg string, restarts int) []*nomad.TaskEvent {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []*nomad.TaskEvent
	add := func(e *nomad.TaskEvent) {
		t = t.Add(time.Second)
		e.Time = t.UnixNano()
		evs = append(evs, e)
	}
	add(&nomad.TaskEvent{Type: "Received", DisplayMessage: "Task received by client"})
	add(&nomad.TaskEvent{Type: "Task Setup", DisplayMessage: "Building Task Directory"})
	display := fmt.Sprintf("Exit Code: %d", exit)
	if signal != 0 {
		display += fmt.Sprintf(", Signal: %d", signal)
	}
	if msg != "" {
		display += fmt.Sprintf(", Exit Message: %q", msg)
	}
	for i := 0; i <= restarts; i++ {
		add(&nomad.TaskEvent{Type: "Started", DisplayMessage: "Task started by client"})
		add(&nomad.TaskEvent{Type: "Terminated", DisplayMessage: display, ExitCode: exit, Signal: signal, Message: msg,
			Details: map[string]string{"exit_code": fmt.Sprint(exit), "signal": fmt.Sprint(signal), "oom_killed": fmt.Sprint(msg == "OOM Killed")}})
		if i < restarts {
			add(&nomad.TaskEvent{Type: "Restarting", DisplayMessage: "Task restarting in 15.8s", RestartReason: "Restart within policy", StartDelay: int64(15800 * time.Millisecond)})
		}
	}
	reason := `Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"`
	add(&nomad.TaskEvent{Type: "Not Restarting", DisplayMessage: reason, RestartReason: reason, FailsTask: true})
	add(&nomad.TaskEvent{Type: "Alloc Unhealthy", DisplayMessage: "Unhealthy because of failed task", Message: "Unhealthy because of failed task"})
	return evs
}

// taskName is the first task of a job's group (stackctl's jobs have one).
func taskName(job *nomad.Job, group string) string {
	if job != nil {
		for _, g := range job.TaskGroups {
			if deref(g.Name) == group && len(g.Tasks) > 0 {
				return g.Tasks[0].Name
			}
		}
	}
	return group
}

func (f fakeNomad) WatchDeploymentAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	r, err := call(ctx, f.c, "nomad", cluster.DeploymentAllocs, id, func() (indexed[[]*nomad.AllocationListStub], error) {
		d, ok := f.c.s.Deployments[id]
		if !ok {
			return indexed[[]*nomad.AllocationListStub]{}, notFound("deployment")
		}
		return indexed[[]*nomad.AllocationListStub]{f.c.deploymentAllocs(d), f.c.s.Index}, nil
	})
	if err != nil {
		return nil, index, err
	}
	return r.v, r.index, nil
}

func (c *Cluster) deploymentAllocs(d *nomad.Deployment) []*nomad.AllocationListStub {
	var out []*nomad.AllocationListStub
	if j, ok := c.s.Jobs[key(d.Namespace, d.JobID)]; ok {
		for _, a := range j.Allocs {
			if a.JobVersion == d.JobVersion {
				out = append(out, clone(a))
			}
		}
	}
	return out
}

func (f fakeNomad) TaskLogTail(ctx context.Context, ns, allocID, task, stream string, max int64) ([]byte, error) {
	return call(ctx, f.c, "nomad", cluster.TaskLogsRead, allocID, func() ([]byte, error) {
		found := false
		for _, j := range f.c.s.Jobs {
			for _, a := range j.Allocs {
				found = found || a.ID == allocID
			}
		}
		if !found {
			return nil, notFound("allocation")
		}
		log := f.c.s.Logs[allocID+"/"+task+"/"+stream]
		if int64(len(log)) > max {
			log = log[int64(len(log))-max:]
		}
		return []byte(log), nil
	})
}

// Scalers a scaling deployment can be attributed to, as their scaling
// events show it.
const (
	ByAutoscaler = "autoscaler" // the Nomad Autoscaler: meta nomad_policy_id, its reason as message
	ByStackctl   = "stackctl"   // stackctl scale
	ByCLI        = "cli"        // nomad job scale without a message
)

// ScaleWithDeployment changes the count of the job's first group the way
// Nomad's scaling API does for a group with an update block: a new job
// version, a scaling event, and a deployment that runs for reads reads
// before it succeeds.
func (c *Cluster) ScaleWithDeployment(ns, id string, count int, by string, reads int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.s.Jobs[key(ns, id)]
	if !ok || len(j.latest().TaskGroups) == 0 {
		return fmt.Errorf("no job %s/%s with a group", ns, id)
	}
	job := clone(j.latest())
	g := job.TaskGroups[0]
	group, prev := deref(g.Name), deref(g.Count)
	g.Count = &count
	c.addVersion(job, false)
	version := deref(job.Version)
	eval := &nomad.Evaluation{ID: c.newID('e'), Namespace: ns, JobID: id, Status: "complete"}
	c.s.Evals[eval.ID] = eval
	ev := nomad.ScalingEvent{Count: ptr(int64(count)), PreviousCount: int64(prev), EvalID: &eval.ID, CreateIndex: c.s.Index,
		Time: uint64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())}
	switch by {
	case ByAutoscaler:
		ev.Message = "scaling up because factor is 1.500000"
		ev.Meta = map[string]any{"nomad_policy_id": "5f2c0e36", "nomad_autoscaler.reason_history": []any{}}
	case ByStackctl:
		ev.Message = "scaled by stackctl"
	}
	j.Events = append([]nomad.ScalingEvent{ev}, j.Events...)
	c.cancelRunning(ns, id)
	dep := &nomad.Deployment{ID: c.newID('d'), Namespace: ns, JobID: id, JobVersion: version, CreateIndex: c.s.Index,
		Status: "running", StatusDescription: "Deployment is running",
		TaskGroups: map[string]*nomad.DeploymentState{group: {DesiredTotal: count, PlacedAllocs: count, AutoRevert: autoRevert(g)}}}
	eval.DeploymentID = dep.ID
	c.s.Deployments[dep.ID] = dep
	// Existing allocations are updated in place; new ones are placed.
	live := 0
	for _, a := range j.Allocs {
		if a.TaskGroup == group && a.DesiredStatus == "run" {
			if live++; live > count {
				a.DesiredStatus, a.ClientStatus = "stop", "complete"
				continue
			}
			a.JobVersion = version
		}
	}
	for ; live < count; live++ {
		a := c.newAlloc(j, job, group, dep.ID)
		a.ClientStatus, a.DeploymentStatus.Healthy = "pending", nil
	}
	c.s.Pending[dep.ID] = &Pending{Reads: max(reads, 1), Behaviour: Healthy}
	return nil
}
