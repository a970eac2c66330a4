package rollout

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// WhyUnplaced says why the scheduler found no node for a group: the
// exhausted dimensions and filtering constraints, sorted.
func WhyUnplaced(m *nomad.AllocationMetric) string {
	var why []string
	for dim, n := range m.DimensionExhausted {
		why = append(why, fmt.Sprintf("%s exhausted on %d node(s)", dim, n))
	}
	for c, n := range m.ConstraintFiltered {
		why = append(why, fmt.Sprintf("constraint %s filtered %d node(s)", c, n))
	}
	for c, n := range m.ClassFiltered {
		why = append(why, fmt.Sprintf("node class %s filtered %d node(s)", c, n))
	}
	sort.Strings(why)
	if m.NodesAvailable != nil && len(m.NodesAvailable) == 0 {
		why = append(why, "no node is available in the job's datacenters")
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("%d node(s) evaluated, none fit", m.NodesEvaluated))
	}
	return strings.Join(why, "; ")
}

// PlacementReasons turns the scheduler's metrics into sentences, by group,
// with the scheduler's words as it gave them (Placement data); people get
// them through Printable.
func PlacementReasons(failed map[string]*nomad.AllocationMetric) []string {
	groups := make([]string, 0, len(failed))
	for g := range failed {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var out []string
	for _, g := range groups {
		m := failed[g]
		out = append(out, fmt.Sprintf("group %s: %d allocation(s) unplaced: %s (lower resources, add capacity, or check the job's datacenters)",
			g, m.CoalescedFailures+1, WhyUnplaced(m)))
	}
	return out
}

// explain reads the deployment's allocations once more: the inspector
// reports the task failures it has not reported yet, and the reasons are
// those failures (each with the end of its stderr) and the telling task
// events of the other unhealthy or failed allocations (a template that
// cannot render, a task that never started in time).
func explain(ctx context.Context, cl *cluster.Cluster, t Target, depID string, in *inspector) []string {
	allocs, err := cl.Nomad.DeploymentAllocations(ctx, t.Namespace, depID)
	if err != nil {
		return append(in.reasons(), "could not read the deployment's allocations: "+Printable(err.Error()))
	}
	in.observe(ctx, allocs, true)
	return append(in.reasons(), eventReasons(allocs, in.crashedAllocs())...)
}

// eventReasons lists the telling task events of the unhealthy or failed
// allocations not in skip (those whose failures were told already), with
// Nomad's words made printable.
func eventReasons(allocs []*nomad.AllocationListStub, skip map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range allocs {
		unhealthy := a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && !*a.DeploymentStatus.Healthy
		if skip[a.ID] || (!unhealthy && a.ClientStatus != "failed") {
			continue
		}
		for task, ts := range a.TaskStates {
			for _, ev := range ts.Events {
				if !interestingEvent(ev) {
					continue
				}
				msg := Printable(fmt.Sprintf("task %s: %s: %s", task, ev.Type, eventText(ev)))
				if !seen[msg] {
					seen[msg] = true
					out = append(out, fmt.Sprintf("allocation %s %s", Printable(cluster.ShortID(a.ID)), msg))
				}
			}
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("... and %d more (nomad alloc status)", len(out)-10))
	}
	return out
}

func interestingEvent(ev *nomad.TaskEvent) bool {
	switch ev.Type {
	case "Driver Failure", "Setup Failure", "Failed Validation", "Terminated", "Killing", "Not Restarting",
		"Template", "Failed Artifact Download", "Alloc Unhealthy", "Task hook failed":
		return true
	}
	return ev.FailsTask || ev.DriverError != ""
}

func eventText(ev *nomad.TaskEvent) string {
	switch {
	case ev.DisplayMessage != "":
		return ev.DisplayMessage
	case ev.DriverError != "":
		return ev.DriverError
	case ev.Message != "":
		return ev.Message
	}
	return fmt.Sprintf("exit code %d", ev.ExitCode)
}

// checkTracker remembers the latest failing Consul check outputs of a
// service, because Nomad deregisters the checks of allocations it stops
// before the deployment is marked failed.
type checkTracker struct {
	critical map[string]string
	lastPoll time.Time
	err      error // the last failed read, reported with the reasons
}

func newCheckTracker() *checkTracker { return &checkTracker{critical: map[string]string{}} }

func (t *checkTracker) poll(ctx context.Context, cl *cluster.Cluster, service string) {
	if time.Since(t.lastPoll) < time.Second {
		return
	}
	t.lastPoll = time.Now()
	checks, err := cl.Consul.Checks(ctx, service)
	if t.err = err; err != nil {
		return
	}
	for _, ch := range checks {
		if ch.Status == consul.HealthCritical {
			t.critical[ch.Name] = strings.TrimSpace(ch.Output)
		}
	}
}

// failing words the failing checks for people: Consul's output made
// printable (a check's output is whatever the checked program answered).
func (t *checkTracker) failing() []string {
	var out []string
	for name, output := range t.critical {
		if output == "" {
			// Consul has no output for a check whose target is gone (a
			// dead task): saying so beats an empty line.
			out = append(out, fmt.Sprintf("health check %q critical (Consul gave no output: the task may not be running)", name))
			continue
		}
		out = append(out, fmt.Sprintf("health check %q failing: %s", name, Printable(shorten(output, stderrLineBytes))))
	}
	sort.Strings(out)
	if t.err != nil {
		out = append(out, "could not read the health checks: "+Printable(t.err.Error()))
	}
	return out
}
