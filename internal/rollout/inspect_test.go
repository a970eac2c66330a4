package rollout

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

func TestStderrTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		log  string
		want []string
	}{
		{"last five non-blank lines", "1\n2\n\n3\n4\n5\n6\n7\n", []string{"3", "4", "5", "6", "7"}},
		{"from the last Go panic", "panic: old\nx\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:9 +0x1d\nexit\nmore\n",
			[]string{"panic: boom", "goroutine 1 [running]:", "main.main()", "\t/src/main.go:9 +0x1d", "exit"}},
		{"fatal error too", "a\nfatal error: all goroutines are asleep - deadlock!\nb\n", []string{"fatal error: all goroutines are asleep - deadlock!", "b"}},
		// The lines are data, kept exact (Crash.Lines escapes them).
		{"control characters kept", "\x1b[2Jcleared\r\n", []string{"\x1b[2Jcleared"}},
		{"invalid UTF-8 kept", "a\xffb\n", []string{"a\xffb"}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stderrTail([]byte(tc.log))
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	c := Crash{Task: "web", Allocation: "0123456789", Event: nomad.TaskTerminated, ExitCode: 2, Stderr: stderrTail([]byte("\x1b[2Jcleared\u202e\na\xffb\n"))}
	if got, want := c.Lines(), "\n    stderr: \\x1b[2Jcleared\\u202e\n    stderr: a\\xffb"; !strings.HasSuffix(got, want) {
		t.Errorf("Lines() = %q, want it to end with %q", got, want)
	}
	long := stderrTail([]byte(strings.Repeat("é", 300)))
	if len(long) != 1 || len(long[0]) > stderrLineBytes+3 || !strings.HasSuffix(long[0], "...") || !strings.HasPrefix(long[0], "é") {
		t.Errorf("a long line is not cut on a rune boundary: %q", long)
	}
}

// events builds a task state from event types; "T:n" is Terminated with
// exit code n, "R" a restart within policy, "RX" a restart after the
// attempts of a "delay" policy, "N" Not Restarting.
func events(restarts uint64, kinds ...string) *nomad.TaskState {
	ts := &nomad.TaskState{State: "pending", Restarts: restarts}
	for i, k := range kinds {
		ev := &nomad.TaskEvent{Time: int64(i + 1)}
		switch {
		case strings.HasPrefix(k, "T:"):
			ev.Type = nomad.TaskTerminated
			ev.Details = map[string]string{"exit_code": strings.TrimPrefix(k, "T:")}
		case k == "R":
			ev.Type, ev.StartDelay, ev.RestartReason = nomad.TaskRestarting, int64(15*time.Second), "Restart within policy"
		case k == "RX":
			ev.Type, ev.StartDelay, ev.RestartReason = nomad.TaskRestarting, int64(29*time.Minute), "Exceeded allowed attempts, applying a delay"
		case k == "N":
			ev.Type, ev.RestartReason, ev.DisplayMessage = nomad.TaskNotRestarting, "Exceeded allowed attempts 2 in interval 30m0s", "Exceeded allowed attempts 2 in interval 30m0s"
		default:
			ev.Type = k
		}
		ts.Events = append(ts.Events, ev)
	}
	return ts
}

func TestCrashAt(t *testing.T) {
	a := &nomad.AllocationListStub{ID: "0123456789", TaskGroup: "api"}
	for _, tc := range []struct {
		name     string
		ts       *nomad.TaskState
		at       int
		crash    bool
		next     string
		restarts uint64
		how      string
	}{
		{"exit code, then a restart", events(1, "Started", "T:2", "R"), 1, true, NextRestart, 0, "exit code 2"},
		{"the second crash", events(2, "Started", "T:2", "R", "Started", "T:2", "R"), 4, true, NextRestart, 1, "exit code 2"},
		{"the policy gave up", events(2, "T:2", "N"), 0, true, NextGaveUp, 2, "exit code 2"},
		{"a delay policy used up its attempts", events(3, "T:1", "RX"), 0, true, NextDelayedRestart, 2, "exit code 1"},
		{"no decision yet", events(0, "Started", "T:2"), 1, true, NextUnknown, 0, "exit code 2"},
		{"a clean exit is no crash", events(0, "Started", "T:0", "R"), 1, false, "", 0, ""},
		{"killed by Nomad is no crash", events(0, "Started", nomad.TaskKilling, "T:137"), 2, false, "", 0, ""},
		{"an operator's restart is no crash", events(0, "Started", nomad.TaskRestartSignal, "T:143", "R"), 2, false, "", 0, ""},
		{"a started event is none", events(0, "Started"), 0, false, "", 0, ""},
		{"128+n is a signal", events(0, "T:137", "R"), 0, true, NextRestart, 0, "exit code 137 (128+9: killed by signal 9, SIGKILL)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := crashAt(a, "api", tc.ts, tc.at)
			if ok != tc.crash {
				t.Fatalf("crash %v, want %v (%+v)", ok, tc.crash, c)
			}
			if !ok {
				return
			}
			if c.Next != tc.next || c.Restarts != tc.restarts || c.How() != tc.how {
				t.Errorf("next %q restarts %d how %q; want %q %d %q", c.Next, c.Restarts, c.How(), tc.next, tc.restarts, tc.how)
			}
		})
	}
}

func TestCrashWords(t *testing.T) {
	oom := &nomad.TaskState{Events: []*nomad.TaskEvent{{Type: nomad.TaskTerminated, ExitCode: 137, Message: "OOM Killed",
		Details: map[string]string{"oom_killed": "true"}}}}
	c, ok := crashAt(&nomad.AllocationListStub{ID: "abcdef0123"}, "web", oom, 0)
	if !ok || !c.OOMKilled || !strings.Contains(c.How(), "out of memory") {
		t.Errorf("OOM kill: %v %+v %q", ok, c, c.How())
	}
	sig := Crash{Event: nomad.TaskTerminated, Signal: 11, ExitCode: 0}
	if got := sig.How(); got != "killed by signal 11, SIGSEGV (exit code 0)" {
		t.Errorf("signal: %q", got)
	}
	driver := &nomad.TaskState{Events: []*nomad.TaskEvent{{Type: nomad.TaskDriverFailure, DriverError: "Failed to pull `shop/api:9`: not found"}, {Type: nomad.TaskNotRestarting}}}
	c, ok = crashAt(&nomad.AllocationListStub{ID: "abcdef0123"}, "api", driver, 0)
	if !ok || c.String() != "task api in allocation abcdef01: Driver Failure: Failed to pull `shop/api:9`: not found; restarted 0 time(s), then the restart policy gave up" {
		t.Errorf("driver failure: %v %q", ok, c.String())
	}
	withLog := Crash{Task: "api", Allocation: "abcdef0123", Event: nomad.TaskTerminated, ExitCode: 2, Next: NextRestart, RestartIn: "15s", Stderr: []string{"panic: x"}}
	if got := withLog.Lines(); got != "task api in allocation abcdef01: exit code 2; Nomad restarts it in 15s (restart 1)\n    stderr: panic: x" {
		t.Errorf("lines: %q", got)
	}
}

func stub(group, client string, healthy *bool, ts *nomad.TaskState) *nomad.AllocationListStub {
	a := &nomad.AllocationListStub{ID: group + client, TaskGroup: group, DesiredStatus: "run", ClientStatus: client,
		DeploymentStatus: &nomad.AllocDeploymentStatus{Healthy: healthy}}
	if ts != nil {
		a.TaskStates = map[string]*nomad.TaskState{group: ts}
	}
	return a
}

func TestHopeless(t *testing.T) {
	yes, no := ptrTo(true), ptrTo(false)
	stopped := stub("api", "complete", nil, nil)
	stopped.DesiredStatus = "stop"
	for _, tc := range []struct {
		name   string
		allocs []*nomad.AllocationListStub
		want   string
	}{
		{"nothing placed yet", nil, ""},
		{"still starting", []*nomad.AllocationListStub{stub("api", "pending", nil, nil)}, ""},
		{"restarting within its policy", []*nomad.AllocationListStub{stub("api", "pending", nil, events(1, "T:2", "R"))}, ""},
		{"the restart policy gave up", []*nomad.AllocationListStub{stub("api", "running", nil, events(2, "T:2", "N", "Alloc Unhealthy"))}, "api"},
		{"a delay policy out of attempts", []*nomad.AllocationListStub{stub("api", "pending", nil, events(3, "T:2", "RX"))}, "api"},
		{"failed", []*nomad.AllocationListStub{stub("api", "failed", nil, nil)}, "api"},
		{"marked unhealthy", []*nomad.AllocationListStub{stub("api", "running", no, nil)}, "api"},
		{"one healthy is hope", []*nomad.AllocationListStub{stub("api", "failed", no, nil), stub("api", "running", yes, nil)}, ""},
		{"a replacement still starting", []*nomad.AllocationListStub{stub("api", "failed", no, nil), stub("api", "pending", nil, nil)}, ""},
		{"a stopped allocation does not count", []*nomad.AllocationListStub{stopped, stub("api", "failed", no, nil)}, "api"},
		{"per group", []*nomad.AllocationListStub{stub("api", "failed", no, nil), stub("web", "running", nil, nil)}, "api"},
		{"started again after a restart decision", []*nomad.AllocationListStub{stub("api", "running", nil, events(1, "T:2", "R", "Started"))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(Hopeless(tc.allocs), ","); got != tc.want {
				t.Errorf("Hopeless = %q, want %q", got, tc.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestEmptyCheckOutput(t *testing.T) {
	c := newCheckTracker()
	c.critical["dashboard-http"] = ""
	c.critical["api-http"] = "HTTP GET http://10.0.0.1:8080/healthz: 500"
	got := strings.Join(c.failing(), "\n")
	if strings.Contains(got, "failing: \n") || strings.HasSuffix(got, "failing: ") {
		t.Errorf("an empty output leaves a dangling colon:\n%s", got)
	}
	if !strings.Contains(got, `health check "dashboard-http" critical (Consul gave no output`) || !strings.Contains(got, `"api-http" failing: HTTP GET`) {
		t.Errorf("checks not named:\n%s", got)
	}
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) report(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(k Kind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// crashed registers web on the fake with a rollout behaviour and returns
// the deployment's target.
func crashed(t *testing.T, behaviour string) (*clustertest.Cluster, Target, string) {
	t.Helper()
	fake := clustertest.New()
	ns, id := "default", "web"
	job := &nomad.Job{ID: &id, Name: &id, Namespace: &ns, Meta: map[string]string{},
		TaskGroups: []*nomad.TaskGroup{{Name: &id, Count: ptrTo(2), Tasks: []*nomad.Task{{Name: "web"}}}}}
	fake.Register(job)
	fake.Edit(func(s *clustertest.State) { s.Rollouts[id] = behaviour })
	next := *job
	next.Meta = map[string]string{"x": "y"}
	resp, err := fake.API().Nomad.Register(context.Background(), &next, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, _, err := fake.API().Nomad.Evaluation(context.Background(), ns, resp.EvalID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fake, Target{Service: id, Namespace: ns, EvalID: resp.EvalID, JobVersion: 1}, ev.DeploymentID
}

func TestWatchStopsAHopelessRollout(t *testing.T) {
	fake, target, _ := crashed(t, clustertest.Panic)
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := Watch(ctx, fake.API(), target, rec.report)
	if err != nil {
		t.Fatalf("watch: %v (the deployment never ends: only the inspector can stop it)", err)
	}
	if res.Outcome != Failed || !strings.Contains(res.Description, "stopped watching early") {
		t.Errorf("outcome %q: %s", res.Outcome, res.Description)
	}
	// Two allocations, three crashes each; the stderr shown once per task.
	crashes := rec.kinds(KindCrash)
	if len(crashes) != 6 {
		t.Errorf("%d crash events, want 6", len(crashes))
	}
	if n := strings.Count(eventTexts(crashes), "stderr: panic: demo"); n != 1 {
		t.Errorf("the same stderr shown %d times, want once", n)
	}
	if !strings.Contains(strings.Join(res.Reasons, "\n"), "exit code 2; restarted 2 time(s), then the restart policy gave up") {
		t.Errorf("reasons: %q", res.Reasons)
	}
	if !strings.Contains(res.Aftermath, "reverts web to job version 0 (auto_revert)") && !strings.Contains(res.Aftermath, "auto_revert is off") {
		t.Errorf("aftermath: %q", res.Aftermath)
	}
}

func eventTexts(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}

func TestLogsRefusedOnce(t *testing.T) {
	fake, target, _ := crashed(t, clustertest.Panic)
	fake.Edit(func(s *clustertest.State) {
		s.Faults = append(s.Faults, &clustertest.Fault{Op: "nomad.alloc.logs-tail", Status: 403})
	})
	var rec recorder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Watch(ctx, fake.API(), target, rec.report); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.kinds(KindLogsUnavailable)); n != 1 {
		t.Errorf("the refusal was said %d times, want once", n)
	}
	if !strings.Contains(eventTexts(rec.kinds(KindCrash)), "(no stderr: the token may not read logs)") {
		t.Errorf("crashes do not say why stderr is missing:\n%s", eventTexts(rec.kinds(KindCrash)))
	}
}

// The explanation of a failure reads the cluster with a context of its
// own: the watch's has often just expired, which is why there is
// something to explain.
func TestDiagnosticsOutliveTheWatch(t *testing.T) {
	fake, target, depID := crashed(t, clustertest.Crash)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := &nomad.Deployment{ID: depID, Status: "failed", StatusDescription: "Failed due to unhealthy allocations"}
	var rec recorder
	res := failedDeployment(ctx, fake.API(), target, Result{Service: "web"}, d, newCheckTracker(), newInspector(fake.API(), target, depID, rec.report))
	got := strings.Join(res.Reasons, "\n")
	if strings.Contains(got, "context canceled") || strings.Contains(got, "deadline exceeded") {
		t.Fatalf("a diagnostic ran on the expired context:\n%s", got)
	}
	if !strings.Contains(got, "task web in allocation") || !strings.Contains(got, "exit code 1") {
		t.Errorf("the crash is not explained:\n%s", got)
	}
}
