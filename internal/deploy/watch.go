package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
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
func Watch(ctx context.Context, cl *Clients, reg Registered, report Reporter) (Result, error) {
	res := Result{Service: reg.Service}
	q := func() *nomad.QueryOptions {
		return (&nomad.QueryOptions{Namespace: reg.Namespace, WaitTime: 5 * time.Second}).WithContext(ctx)
	}

	// 1. The evaluation: it says whether the scheduler could place the
	// allocations and which deployment it created.
	var eval *nomad.Evaluation
	var index uint64
	for {
		qo := q()
		qo.WaitIndex = index
		ev, meta, err := cl.Nomad.Evaluations().Info(reg.EvalID, qo)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, fmt.Errorf("follow evaluation %s: %s", shortID(reg.EvalID), short(err))
		}
		index = meta.LastIndex
		if ev.Status == "complete" || ev.Status == "failed" || ev.Status == "canceled" {
			eval = ev
			break
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return res, err
		}
	}
	if len(eval.FailedTGAllocs) > 0 {
		res.Reasons = append(res.Reasons, placementReasons(eval.FailedTGAllocs)...)
		for _, r := range res.Reasons {
			report("%s: cannot place: %s", reg.Service, r)
		}
	}
	if eval.Status != "complete" {
		res.Outcome = Failed
		res.Description = "evaluation " + eval.Status + ": " + eval.StatusDescription
		return res, nil
	}

	// 2. The deployment.
	depID := eval.DeploymentID
	if depID == "" {
		d, _, err := cl.Nomad.Jobs().LatestDeployment(reg.Service, q())
		if err == nil && d != nil && d.JobVersion == reg.JobVersion {
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
		return healthyInMesh(ctx, cl, reg, res, report)
	}
	res.DeploymentID = depID
	report("%s: deployment %s started", reg.Service, shortID(depID))

	checks := newCheckTracker()
	last := ""
	index = 0
	for {
		qo := q()
		qo.WaitIndex = index
		d, meta, err := cl.Nomad.Deployments().Info(depID, qo)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			return res, fmt.Errorf("follow deployment %s: %s", shortID(depID), short(err))
		}
		index = meta.LastIndex
		checks.poll(ctx, cl.Consul, reg.Service)
		line := progressLine(d)
		if line != last {
			report("%s: %s", reg.Service, line)
			last = line
		}
		switch d.Status {
		case "successful":
			res.Description = d.StatusDescription
			return healthyInMesh(ctx, cl, reg, res, report)
		case "failed":
			res.Outcome = Failed
			res.Description = d.StatusDescription
			res.Reasons = append(res.Reasons, allocReasons(ctx, cl, reg, depID)...)
			res.Reasons = append(res.Reasons, checks.failing()...)
			if m := revertRe.FindStringSubmatch(d.StatusDescription); m != nil {
				var v uint64
				fmt.Sscan(m[1], &v)
				res.RevertedTo = &v
				res.Outcome = RolledBack
			}
			return res, nil
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

// healthyInMesh ends a rollout Nomad calls healthy once every running
// instance is also offered by Consul to Traefik and callers (mesh.go);
// if the wait ends first, the reasons say which sidecar is not ready.
func healthyInMesh(ctx context.Context, cl *Clients, reg Registered, res Result, report Reporter) (Result, error) {
	if reg.Connect {
		m, err := WaitMesh(ctx, cl, reg.Namespace, reg.Service, reg.Service, reg.Service, report)
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
	return fmt.Sprintf("deployment %s %s: %s", shortID(d.ID), d.Status, strings.Join(parts, "; "))
}

// placementReasons turns the scheduler's metrics into sentences.
func placementReasons(failed map[string]*nomad.AllocationMetric) []string {
	groups := make([]string, 0, len(failed))
	for g := range failed {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var out []string
	for _, g := range groups {
		m := failed[g]
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
		out = append(out, fmt.Sprintf("group %s: %d allocation(s) unplaced: %s (lower resources, add capacity, or check the job's datacenters)",
			g, m.CoalescedFailures+1, strings.Join(why, "; ")))
	}
	return out
}

// allocReasons reports the task events of the deployment's failed or
// unhealthy allocations: the driver error, exit code, template failure...
func allocReasons(ctx context.Context, cl *Clients, reg Registered, depID string) []string {
	allocs, _, err := cl.Nomad.Deployments().Allocations(depID, (&nomad.QueryOptions{Namespace: reg.Namespace}).WithContext(ctx))
	if err != nil {
		return []string{"could not read the deployment's allocations: " + short(err)}
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range allocs {
		unhealthy := a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil && !*a.DeploymentStatus.Healthy
		if !unhealthy && a.ClientStatus != "failed" {
			continue
		}
		for task, ts := range a.TaskStates {
			for _, ev := range ts.Events {
				if !interestingEvent(ev) {
					continue
				}
				msg := fmt.Sprintf("task %s: %s: %s", task, ev.Type, eventText(ev))
				if !seen[msg] {
					seen[msg] = true
					out = append(out, fmt.Sprintf("allocation %s %s", shortID(a.ID), msg))
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
}

func newCheckTracker() *checkTracker { return &checkTracker{critical: map[string]string{}} }

func (t *checkTracker) poll(ctx context.Context, c *consul.Client, service string) {
	if time.Since(t.lastPoll) < time.Second {
		return
	}
	t.lastPoll = time.Now()
	checks, _, err := c.Health().Checks(service, (&consul.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return
	}
	for _, ch := range checks {
		if ch.Status == consul.HealthCritical {
			t.critical[ch.Name] = strings.TrimSpace(ch.Output)
		}
	}
}

func (t *checkTracker) failing() []string {
	var out []string
	for name, output := range t.critical {
		if len(output) > 200 {
			output = output[:200] + "..."
		}
		out = append(out, fmt.Sprintf("health check %q failing: %s", name, output))
	}
	sort.Strings(out)
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsStopWaiting tells apart a deadline or Ctrl-C (the rollout goes on in
// Nomad) from a real failure.
func IsStopWaiting(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
