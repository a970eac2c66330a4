package rollout

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// Text the cluster gives (task events, stderr, check output, deployment
// descriptions) with what would drive a terminal: a title change, a
// screen clear, a colour, a right-to-left override, a C1 CSI, DEL.
const (
	hostileLog    = "panic: \x1b]0;owned\x07 boom\u202e\n"
	hostileEvent  = "gave up \x1b[31mred\u009b"
	hostileCheck  = "HTTP 500: \x1b[2Jcleared\u202egnp.exe\x7f"
	hostileDeploy = "Failed due to \x1b[1Aunhealthy\u202e allocations"
)

// unprintable finds a character that is not shown as itself, other than
// the newlines that continue an event's text on indented lines.
func unprintable(s string) (rune, bool) {
	for _, r := range s {
		if r == '\n' {
			continue
		}
		if r == utf8.RuneError || (r != '\t' && !unicode.IsGraphic(r)) {
			return r, true
		}
	}
	return 0, false
}

func checkPrintable(t *testing.T, what, s string) {
	t.Helper()
	if r, bad := unprintable(s); bad {
		t.Errorf("%s holds %U: %q", what, r, s)
	}
}

// TestClusterTextIsPrintable: every line for people that carries cluster
// text has it escaped (logs.Printable), while the events' data, which
// deploy --format json writes, keeps the exact values.
func TestClusterTextIsPrintable(t *testing.T) {
	fake, target, _ := crashed(t, clustertest.Panic)
	fake.Edit(func(s *clustertest.State) {
		for _, j := range s.Jobs {
			for _, a := range j.Allocs {
				for task, ts := range a.TaskStates {
					s.Logs[a.ID+"/"+task+"/stderr"] = hostileLog
					for _, ev := range ts.Events {
						if ev.Type == nomad.TaskNotRestarting {
							ev.DisplayMessage = hostileEvent
						}
					}
				}
			}
		}
		s.Checks["web"] = []*consul.HealthCheck{{Name: "web-http\x1b[0m", ServiceName: "web", Status: consul.HealthCritical, Output: hostileCheck}}
	})
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Watch(ctx, fake.API(), target, rec.report)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range rec.events {
		checkPrintable(t, "event "+string(e.Kind), e.Text)
		all.WriteString(e.Text + "\n")
	}
	for _, r := range res.Reasons {
		checkPrintable(t, "reason", r)
		all.WriteString(r + "\n")
	}
	checkPrintable(t, "description", res.Description)
	checkPrintable(t, "aftermath", res.Aftermath)
	for _, want := range []string{`stderr: panic: \x1b]0;owned\x07 boom\u202e`, `gave up \x1b[31mred\u009b`, `"web-http\x1b[0m" failing: HTTP 500: \x1b[2Jcleared\u202egnp.exe\x7f`} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no %q in:\n%s", want, all.String())
		}
	}
	// The data keeps what the cluster said.
	crashes := rec.kinds(KindCrash)
	if len(crashes) == 0 {
		t.Fatal("no crash reported")
	}
	var stderr, detail bool
	for _, e := range crashes {
		c := e.Data.(Crash)
		stderr = stderr || strings.Join(c.Stderr, "\n") == strings.TrimSuffix(hostileLog, "\n")
		detail = detail || c.Detail == hostileEvent
	}
	if !stderr || !detail {
		t.Errorf("a crash's data lost the exact stderr (%v) or detail (%v): %+v", stderr, detail, crashes[len(crashes)-1].Data)
	}
}

// TestFailureReasonsArePrintable: a failed deployment's description and
// the task events of its unhealthy allocations.
func TestFailureReasonsArePrintable(t *testing.T) {
	fake, target, depID := crashed(t, clustertest.Crash)
	fake.Edit(func(s *clustertest.State) {
		j := s.Jobs["default/web"]
		j.Allocs = append(j.Allocs, &nomad.AllocationListStub{ID: "ffffffff-0000-0000-0000-000000000001", TaskGroup: "web", JobVersion: 1,
			DesiredStatus: "run", ClientStatus: "pending", DeploymentStatus: &nomad.AllocDeploymentStatus{Healthy: ptrTo(false)},
			TaskStates: map[string]*nomad.TaskState{"web": {State: "pending", Events: []*nomad.TaskEvent{
				{Type: "Template", DisplayMessage: "Missing: vault.read(secret/\x1b[2Jx\u202e)", Time: 1}}}}})
	})
	d := &nomad.Deployment{ID: depID, Status: "failed", StatusDescription: hostileDeploy}
	checks := newCheckTracker()
	checks.critical["web-http"] = hostileCheck
	var rec recorder
	res := failedDeployment(context.Background(), fake.API(), target, Result{Service: "web"}, d, checks, newInspector(fake.API(), target, depID, rec.report))
	checkPrintable(t, "description", res.Description)
	got := strings.Join(res.Reasons, "\n")
	checkPrintable(t, "reasons", got)
	for _, want := range []string{`Template: Missing: vault.read(secret/\x1b[2Jx\u202e)`, `HTTP 500: \x1b[2Jcleared\u202egnp.exe\x7f`} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	if !strings.Contains(res.Description, `\x1b[1Aunhealthy\u202e`) {
		t.Errorf("description %q", res.Description)
	}
	for _, e := range rec.events {
		checkPrintable(t, "event "+string(e.Kind), e.Text)
	}
}

// TestMeshWaitingIsPrintable: the mesh's waiting lines are sentences for
// people (status, scale and deploy print them): Consul's check output in
// them is escaped, and cut on a character boundary.
func TestMeshWaitingIsPrintable(t *testing.T) {
	id := "11111111-aaaa-bbbb-cccc-000000000001"
	allocs := []*nomad.AllocationListStub{{ID: id, TaskGroup: "orders", ClientStatus: "running", DesiredStatus: "run"}}
	entries := []*consul.ServiceEntry{{
		Service: &consul.AgentService{ID: "_nomad-task-" + id + "-group-orders-orders-8080-sidecar-proxy"},
		Checks:  consul.HealthChecks{{Name: "Connect Sidecar Listening", Status: consul.HealthCritical, Output: "dial: \x1b[2J!" + strings.Repeat("é", 100)}},
	}}
	m := meshStatus(allocs, "orders", entries)
	if len(m.Waiting) != 1 || !strings.Contains(m.Waiting[0], `critical: dial: \x1b[2J!éé`) || !strings.HasSuffix(m.Waiting[0], "é...") {
		t.Errorf("waiting %q", m.Waiting)
	}
	checkPrintable(t, "waiting", strings.Join(m.Waiting, ""))
}
