//go:build integration

package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/loadgen"
)

// testZeroDowntimeDeploy proves the deploy side of zero downtime on the
// real stack, with one service of its own ("zdapi", public at
// zd.localhost, reading one Vault secret, autoscaled 1-4):
//
//   - a release that crashes at start: deploy exits 1 within 60 s of the
//     first crash, naming the task, the exit code and the panic line;
//   - a deploy started during a scaling deployment (made through Nomad's
//     scaling API as the autoscaler makes it) waits and succeeds;
//   - a deploy rerun while its own earlier rollout still runs follows it,
//     exits 0 once it is healthy and 1 when it fails;
//   - secrets put under load rolls the instances onto the new value with
//     no failed request.
//
// It leaves nothing behind. Run after the lifecycle phase (which destroys
// the example system); one phase alone:
// go test -tags integration -run 'TestSuite/zero-downtime-deploy' ./integration
func testZeroDowntimeDeploy(t *testing.T) {
	setClusterEnv(t)
	z := &zeroDowntime{dir: t.TempDir()}
	z.write(t, "")
	t.Cleanup(func() {
		_, _ = stackctl(t, "", "destroy", "--stack", z.dir, "--yes", "--purge", "zdapi")
		_ = stack.Vault.KVv2("secret").DeleteMetadata(context.Background(), "zd/api")
	})
	if code, out := stackctl(t, "zd-first-value\n", "secrets", "put", "--no-roll", "--stack", z.dir, "zdapi", "ZD_KEY"); code != 0 {
		t.Fatalf("secrets put: exit %d\n%s", code, out)
	}
	if code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"a release that crashes at start fails within 60 s of the first crash, with the panic", z.crashAtStart},
		{"a deploy during an autoscaler deployment waits for it and succeeds", z.waitsForScaling},
		{"a deploy rerun on its own running rollout follows it to its end", z.followsOwnRollout},
		{"secrets put rolls the readers under load without a failed request", z.rotatesUnderLoad},
	} {
		if !t.Run(step.name, step.run) {
			// Each step starts from a healthy zdapi; put it back.
			z.write(t, "")
			if code, out := stackctl(t, "", "deploy", "--force", "--timeout", "5m", z.dir); code != 0 {
				t.Fatalf("restoring zdapi after a failed step: exit %d\n%s", code, out)
			}
		}
	}
}

type zeroDowntime struct{ dir string }

// write writes the stack with extra lines in zdapi's env block.
func (z *zeroDowntime) write(t *testing.T, env string) {
	t.Helper()
	writeFile(t, filepath.Join(z.dir, "stack.hcl"), `
stack {
  name        = "zd"
  datacenters = ["dc1"]
  domain      = "shop.localhost"
  vault_mount = "secret"
  sidecar {
    kind = "builtin"
  }
}
`)
	writeFile(t, filepath.Join(z.dir, "zdapi.hcl"), fmt.Sprintf(`
service "zdapi" {
  image    = "stackctl-demo:1.0.0"
  replicas = 2

  port "http" {
    container_port = 8080
  }

  health {
    path     = "/healthz"
    interval = "2s"
    timeout  = "1s"
  }

  update {
    min_healthy_time = "5s"
  }

  env = {
    SERVICE_NAME = "zdapi"
%s  }

  secret "ZD_KEY" {
    path = "zd/api"
    key  = "key"
  }

  expose "public" {
    host = "zd.localhost"
  }

  # Long intervals: the real autoscaler should not act on its own while
  # the steps scale by hand.
  autoscale {
    min                 = 1
    max                 = 4
    cpu_percent         = 90
    evaluation_interval = "10m"
    cooldown            = "10m"
  }
}
`, env))
}

func (z *zeroDowntime) crashAtStart(t *testing.T) {
	z.write(t, "    CRASH_AT_START = \"1\"\n")
	code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir)
	returned := time.Now()
	if code != 1 {
		t.Fatalf("deploy of a release that crashes at start: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"task zdapi in allocation", "exit code 2", "stderr: panic: demo: crash at start (CRASH_AT_START=1)", "stopped watching early", "reverts zdapi to job version"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "failing: \n") || strings.Contains(out, "context deadline exceeded") {
		t.Errorf("an empty check output or a diagnostic on the expired context:\n%s", out)
	}
	job, _, err := stack.Nomad.Jobs().Info("zdapi", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := firstCrash(t, *job.Version)
	if first.IsZero() {
		t.Fatalf("Nomad shows no crash of version %d:\n%s", *job.Version, stack.allocReport("zdapi"))
	}
	if took := returned.Sub(first); took > 60*time.Second {
		t.Errorf("deploy returned %s after the first crash, want at most 60s\n%s", took.Round(time.Second), out)
	}
	// The fix supersedes the hopeless deployment without --force.
	z.write(t, "")
	code, out = stackctl(t, "", "deploy", "--timeout", "5m", z.dir)
	if code != 0 || !strings.Contains(out, "it cannot succeed, every allocation of it failed") {
		t.Fatalf("deploy of the fix: exit %d\n%s", code, out)
	}
	settled(t, "zdapi")
}

// firstCrash is the time of the earliest non-zero exit of a task of the
// job's version v. Only allocations of the job as registered now: those of
// an earlier, purged zdapi (an earlier run) have the same version numbers.
func firstCrash(t *testing.T, v uint64) time.Time {
	t.Helper()
	allocs, _, err := stack.Nomad.Jobs().Allocations("zdapi", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for _, a := range allocs {
		if a.JobVersion != v {
			continue
		}
		for _, ts := range a.TaskStates {
			for _, e := range ts.Events {
				if e.Type == nomad.TaskTerminated && e.ExitCode != 0 {
					if at := time.Unix(0, e.Time); first.IsZero() || at.Before(first) {
						first = at
					}
				}
			}
		}
	}
	return first
}

func (z *zeroDowntime) waitsForScaling(t *testing.T) {
	settled(t, "zdapi")
	from := groupCount(t, "zdapi")
	to := from + 1
	// What the autoscaler's Nomad target plugin sends: a reason as the
	// message and its policy in the meta.
	if _, _, err := stack.Nomad.Jobs().Scale("zdapi", "zdapi", &to, "scaling up because factor is 1.500000", false,
		map[string]any{"nomad_policy_id": "integration"}, nil); err != nil {
		t.Fatalf("scale through Nomad's API: %v", err)
	}
	z.write(t, "    RELEASE = \"scaling\"\n")
	code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir)
	if code != 0 {
		t.Fatalf("deploy during a scaling deployment: exit %d\n%s", code, out)
	}
	want := "zdapi: waiting for the running scaling deployment "
	if !strings.Contains(out, want) || !strings.Contains(out, fmt.Sprintf("(count %d -> %d, by nomad-autoscaler) to finish", from, to)) {
		t.Errorf("no one-line wait for the scaling deployment:\n%s", out)
	}
	if !strings.Contains(out, "zdapi: healthy") || strings.Contains(out, "--force") {
		t.Errorf("not deployed after the wait:\n%s", out)
	}
	// The count the scaler chose is kept (or whatever a later scaling
	// event chose: the job's count is always the newest event's).
	s, _, err := stack.Nomad.Jobs().ScaleStatus("zdapi", nil)
	if err != nil {
		t.Fatal(err)
	}
	events := s.TaskGroups["zdapi"].Events
	sort.Slice(events, func(i, j int) bool { return events[i].Time > events[j].Time })
	if n := groupCount(t, "zdapi"); len(events) == 0 || events[0].Count == nil || int(*events[0].Count) != n {
		t.Errorf("count %d after the deploy; scaling events %+v", n, events)
	}
	settled(t, "zdapi")
}

func (z *zeroDowntime) followsOwnRollout(t *testing.T) {
	settled(t, "zdapi")
	z.write(t, "    RELEASE = \"follow\"\n")
	if code, out := stackctl(t, "", "deploy", "--detach", z.dir); code != 0 {
		t.Fatalf("deploy --detach: exit %d\n%s", code, out)
	}
	code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir)
	if code != 0 {
		t.Fatalf("rerun on the running rollout: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "No changes") || !strings.Contains(out, "following it to its end") || !strings.Contains(out, "zdapi: healthy") {
		t.Errorf("the rerun did not follow the rollout:\n%s", out)
	}
	// Exit 0 means healthy: the deployment succeeded and every instance
	// is in the mesh.
	d, _, err := stack.Nomad.Jobs().LatestDeployment("zdapi", nil)
	if err != nil || d == nil || d.Status != "successful" {
		t.Errorf("after exit 0 the deployment is %+v (%v)", d, err)
	}
	if err := stack.inMesh("zdapi"); err != nil {
		t.Errorf("after exit 0: %v", err)
	}

	// A rerun on a rollout that fails exits 1.
	z.write(t, "    CRASH_AT_START = \"1\"\n")
	if code, out := stackctl(t, "", "deploy", "--detach", z.dir); code != 0 {
		t.Fatalf("deploy --detach of a crashing release: exit %d\n%s", code, out)
	}
	code, out = stackctl(t, "", "deploy", "--timeout", "5m", z.dir)
	if code != 1 || !strings.Contains(out, "following it to its end") || !strings.Contains(out, "exit code 2") {
		t.Errorf("rerun on a failing rollout: exit %d, want 1\n%s", code, out)
	}
	z.write(t, "    RELEASE = \"follow\"\n")
	if code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir); code != 0 {
		t.Fatalf("deploy of the fix: exit %d\n%s", code, out)
	}
	settled(t, "zdapi")
}

func (z *zeroDowntime) rotatesUnderLoad(t *testing.T) {
	settled(t, "zdapi")
	value := fmt.Sprintf("zd-rotated-%d", time.Now().UnixNano())
	stack.waitGet(t, time.Minute, public, "zd.localhost", "/", 200)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	type result struct {
		r   loadgen.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := loadgen.Run(ctx, loadgen.Options{URL: stack.State.PublicURL() + "/", Host: "zd.localhost",
			Rate: zdRate, Clients: zdClients, Duration: 10 * time.Minute, Timeout: 5 * time.Second})
		done <- result{r, err}
	}()
	time.Sleep(5 * time.Second) // load before the roll
	code, out := stackctl(t, value+"\n", "secrets", "put", "--timeout", "5m", "--stack", z.dir, "zdapi", "ZD_KEY")
	time.Sleep(5 * time.Second) // and after it
	stop()
	res := <-done
	if res.err != nil {
		t.Fatalf("load: %v", res.err)
	}
	t.Logf("load during the rotation: %s", res.r)
	if code != 0 {
		t.Fatalf("secrets put: exit %d\n%s", code, out)
	}
	if strings.Contains(out, value) {
		t.Fatalf("secrets put printed the value:\n%s", out)
	}
	if !regexp.MustCompile(`zdapi: rolling [0-9]+ instance\(s\) onto the new value \(version [0-9]+ of zd/api\)`).MatchString(out) ||
		!strings.Contains(out, "zdapi: every instance has the new value") {
		t.Errorf("secrets put does not say what it does and when the value is live:\n%s", out)
	}
	if res.r.Requests == 0 || res.r.Failed() != 0 {
		t.Errorf("%d of %d requests failed during the rotation: %s", res.r.Failed(), res.r.Requests, res.r)
	}
	// Every instance answers with the new value (a digest of it; the
	// demo never shows a value). Fresh connections spread the requests.
	for i := range 20 {
		code, body, err := stack.get(public, "zd.localhost", "/env/ZD_KEY")
		if err != nil || code != 200 || strings.TrimSpace(body) != sha(value) {
			t.Fatalf("request %d: %d %q %v; want the new value's digest %s", i, code, body, err, sha(value))
		}
	}
	job, _, err := stack.Nomad.Jobs().Info("zdapi", nil)
	if err != nil {
		t.Fatal(err)
	}
	if stamp := job.Meta["stackctl-secrets"]; !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(stamp) || strings.Contains(stamp, value) {
		t.Errorf("the job's stackctl-secrets meta is %q", stamp)
	}
	// A deploy afterwards plans no change for the rotation.
	if code, out := stackctl(t, "", "deploy", "--timeout", "5m", z.dir); code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("deploy after the rotation: exit %d\n%s", code, out)
	}
}
