package rollout

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// The inspector follows a deployment's allocations with blocking queries
// while the deployment is watched. Each task failure is reported at once
// (which task, exit code or signal, restart count, what Nomad does next,
// the end of its stderr), instead of at the deployment's progress
// deadline; and when no allocation of the new version can become healthy
// any more (Hopeless), it stops the watch early.

// errHopeless is the cause the inspector cancels the watch with.
var errHopeless = errors.New("every allocation of the new version keeps failing")

// decideWithin is how long a task failure may wait for Nomad's restart
// decision (the next task event) before it is reported without it.
const decideWithin = 3 * time.Second

// Unhealthy is the data of a KindUnhealthy event: Nomad gave up on an
// allocation's health without a task failure to show for it (failing
// checks, a task that never started in time).
type Unhealthy struct {
	Allocation string `json:"allocation"`
	Group      string `json:"group"`
	Reason     string `json:"reason"`
}

// LogsUnavailable is the data of a KindLogsUnavailable event.
type LogsUnavailable struct {
	Reason string `json:"reason"`
}

type inspector struct {
	cl     *cluster.Cluster
	t      Target
	depID  string
	report Reporter

	mu        sync.Mutex
	seen      map[string]int64     // alloc/task -> time of the last event handled
	undecided map[string]time.Time // alloc/task -> when a failure without Nomad's decision was first seen
	crashed   map[string]bool      // allocations with a reported crash
	unhealthy map[string]bool      // allocations reported unhealthy
	latest    map[string]Crash     // alloc/task -> its latest crash
	order     []string             // keys of latest, in first-crash order
	stderr    map[string]string    // task -> the stderr last shown for it
	logsOff   string               // why logs cannot be read; "" while they can
	hopeless  []string             // groups that cannot succeed (Hopeless)
	readErr   error                // the last failed read of the allocations
}

func newInspector(cl *cluster.Cluster, t Target, depID string, report Reporter) *inspector {
	return &inspector{cl: cl, t: t, depID: depID, report: report,
		seen: map[string]int64{}, undecided: map[string]time.Time{}, crashed: map[string]bool{}, unhealthy: map[string]bool{},
		latest: map[string]Crash{}, stderr: map[string]string{}}
}

// run follows the allocations until ctx ends, or cancels the watch with
// errHopeless.
func (in *inspector) run(ctx context.Context, stop context.CancelCauseFunc) {
	var index uint64
	for ctx.Err() == nil {
		began := time.Now()
		allocs, next, err := in.cl.Nomad.WatchDeploymentAllocations(ctx, in.t.Namespace, in.depID, index)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			in.mu.Lock()
			in.readErr = err
			in.mu.Unlock()
			if cluster.IsForbidden(err) {
				return // a refusal does not change; the reasons say it
			}
			_ = sleep(ctx, pollInterval)
			continue
		}
		in.observe(ctx, allocs, false)
		if groups := Hopeless(allocs); len(groups) > 0 {
			in.mu.Lock()
			in.hopeless = groups
			in.mu.Unlock()
			stop(errHopeless)
			return
		}
		// A blocking query that answered at once with nothing new (or an
		// implementation that does not block) is not asked again at once.
		if next == index && time.Since(began) < pollInterval {
			_ = sleep(ctx, pollInterval)
		}
		index = next
	}
}

// observe reports the task failures and unhealthy allocations that are
// new since the last call. With final, a failure is reported even when
// Nomad has not decided about it yet.
func (in *inspector) observe(ctx context.Context, allocs []*nomad.AllocationListStub, final bool) {
	sort.Slice(allocs, func(i, j int) bool {
		return allocs[i].CreateIndex < allocs[j].CreateIndex || (allocs[i].CreateIndex == allocs[j].CreateIndex && allocs[i].ID < allocs[j].ID)
	})
	for _, a := range allocs {
		tasks := make([]string, 0, len(a.TaskStates))
		for task := range a.TaskStates {
			tasks = append(tasks, task)
		}
		sort.Strings(tasks)
		for _, task := range tasks {
			in.observeTask(ctx, a, task, a.TaskStates[task], final)
		}
	}
}

func (in *inspector) observeTask(ctx context.Context, a *nomad.AllocationListStub, task string, ts *nomad.TaskState, final bool) {
	k := a.ID + "/" + task
	for i, ev := range ts.Events {
		in.mu.Lock()
		done := ev.Time <= in.seen[k]
		in.mu.Unlock()
		if done {
			continue
		}
		if ev.Type == "Alloc Unhealthy" {
			in.reportUnhealthy(a, eventText(ev))
		} else if c, ok := crashAt(a, task, ts, i); ok {
			if c.Next == NextUnknown && !final && a.DesiredStatus == nomad.AllocDesiredStatusRun && !in.waitedForDecision(k) {
				return // Nomad's decision usually follows at once: look again
			}
			in.reportCrash(ctx, c)
		}
		in.mu.Lock()
		in.seen[k] = ev.Time
		delete(in.undecided, k)
		in.mu.Unlock()
	}
}

// waitedForDecision reports whether the failure of k has waited
// decideWithin for Nomad's decision.
func (in *inspector) waitedForDecision(k string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	first, ok := in.undecided[k]
	if !ok {
		in.undecided[k] = time.Now()
		return false
	}
	return time.Since(first) >= decideWithin
}

func (in *inspector) reportCrash(ctx context.Context, c Crash) {
	if c.Event == nomad.TaskTerminated {
		in.readStderr(ctx, &c)
	}
	in.mu.Lock()
	k := c.Allocation + "/" + c.Task
	if _, ok := in.latest[k]; !ok {
		in.order = append(in.order, k)
	}
	in.latest[k] = c
	in.crashed[c.Allocation] = true
	// The same stderr is shown once per task, not after every restart.
	shown := c
	joined := strings.Join(c.Stderr, "\n")
	if joined != "" && in.stderr[c.Task] == joined {
		shown.Stderr = nil
	}
	in.stderr[c.Task] = joined
	in.mu.Unlock()
	in.report.Emit(in.t.Service, KindCrash, shown.Lines(), c)
}

// readStderr fills the end of the task's stderr, with a read of its own
// so that a watch about to end does not cut it short. A refusal is said
// once, and logs are not asked for again.
func (in *inspector) readStderr(ctx context.Context, c *Crash) {
	in.mu.Lock()
	off := in.logsOff
	in.mu.Unlock()
	if off != "" {
		c.StderrUnavailable = off
		return
	}
	dctx, cancel := cluster.Diagnostic(ctx)
	defer cancel()
	log, err := in.cl.Nomad.TaskLogTail(dctx, in.t.Namespace, c.Allocation, c.Task, "stderr", stderrReadBytes)
	switch {
	case cluster.IsForbidden(err):
		in.mu.Lock()
		in.logsOff = "the token may not read logs"
		in.mu.Unlock()
		in.report.Emit(in.t.Service, KindLogsUnavailable, fmt.Sprintf("cannot show the tasks' stderr: %s; going on without it", Printable(err.Error())),
			LogsUnavailable{Reason: err.Error()})
		c.StderrUnavailable = "the token may not read logs"
	case err != nil:
		c.StderrUnavailable = err.Error()
	default:
		c.Stderr = stderrTail(log)
	}
}

// reportUnhealthy says once per allocation that Nomad gave up on its
// health, unless a crash of it already said why.
func (in *inspector) reportUnhealthy(a *nomad.AllocationListStub, reason string) {
	in.mu.Lock()
	skip := in.crashed[a.ID] || in.unhealthy[a.ID]
	in.unhealthy[a.ID] = true
	in.mu.Unlock()
	if skip {
		return
	}
	in.report.Emit(in.t.Service, KindUnhealthy, Printable(fmt.Sprintf("allocation %s unhealthy: %s", cluster.ShortID(a.ID), reason)),
		Unhealthy{Allocation: a.ID, Group: a.TaskGroup, Reason: reason})
}

// reasons are the latest crash of each task, in the order they first
// crashed, at most ten.
func (in *inspector) reasons() []string {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []string
	shown := map[string]bool{}
	for _, k := range in.order {
		c := in.latest[k]
		joined := strings.Join(c.Stderr, "\n")
		if shown[c.Task+"\x00"+joined] {
			c.Stderr = nil // the same output was listed for another allocation
		}
		shown[c.Task+"\x00"+joined] = true
		out = append(out, c.Lines())
	}
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more (nomad alloc status)", len(out)-10))
	}
	if in.readErr != nil {
		out = append(out, "could not read the deployment's allocations: "+Printable(in.readErr.Error()))
	}
	return out
}

func (in *inspector) crashedAllocs() map[string]bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[string]bool{}
	for k := range in.crashed {
		out[k] = true
	}
	return out
}

// Hopeless lists the task groups of a deployment that cannot become
// healthy without a change, judging by its allocations so far: a group
// whose every allocation Nomad or its restart policy has given up on
// (failed or lost, marked unhealthy, or a task's restart policy out of
// attempts), and none healthy. A group with an allocation still pending,
// starting, restarting within its policy or running is never hopeless,
// nor is one with no allocation yet: while any allocation of the new
// version may still become healthy, the rollout may still succeed.
func Hopeless(allocs []*nomad.AllocationListStub) []string {
	placed, lost := map[string]int{}, map[string]int{}
	healthy := map[string]bool{}
	for _, a := range allocs {
		if a.DesiredStatus != nomad.AllocDesiredStatusRun && a.ClientStatus != nomad.AllocClientStatusFailed {
			continue // stopped by Nomad: not one of the version's chances
		}
		placed[a.TaskGroup]++
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && *a.DeploymentStatus.Healthy {
			healthy[a.TaskGroup] = true
		}
		if givenUp(a) {
			lost[a.TaskGroup]++
		}
	}
	var out []string
	for g, n := range placed {
		if n > 0 && lost[g] == n && !healthy[g] {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// givenUp reports whether Nomad or the restart policy gave up on an
// allocation.
func givenUp(a *nomad.AllocationListStub) bool {
	switch a.ClientStatus {
	case nomad.AllocClientStatusFailed, nomad.AllocClientStatusLost:
		return true
	}
	if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && !*a.DeploymentStatus.Healthy {
		return true
	}
	for _, ts := range a.TaskStates {
		// The latest restart decision counts (later events, such as
		// Nomad's health verdict, say nothing about restarts).
	events:
		for i := len(ts.Events) - 1; i >= 0; i-- {
			switch e := ts.Events[i]; e.Type {
			case nomad.TaskNotRestarting:
				return true
			case nomad.TaskRestarting:
				if strings.HasPrefix(e.RestartReason, "Exceeded allowed attempts") {
					return true
				}
				break events
			case nomad.TaskStarted, nomad.TaskRestartSignal:
				break events
			}
		}
	}
	return false
}
