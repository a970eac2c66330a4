//go:build integration

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cli"
	"github.com/stackctl/stackctl/internal/devstack"
)

// canary is a secret value that must never show up anywhere but inside the
// container's environment.
var canary = fmt.Sprintf("canary-%d-\"quoted\" \\ back$lash", time.Now().UnixNano())

// stackctl runs the CLI in-process with stdin and returns its exit code and
// combined output.
func stackctl(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := cli.Main(append([]string{"stackctl"}, args...), strings.NewReader(stdin), &out, &out)
	return code, out.String()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// setClusterEnv points stackctl at the stack with the deployer's
// least-privilege tokens, exactly what `eval "$(stackctl dev env)"` sets.
func setClusterEnv(t *testing.T) {
	env, err := devstack.Env(stack.State, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		t.Setenv(kv[0], kv[1])
	}
}

// TestDeployLifecycle deploys the example system with `stackctl deploy` and
// proves the six requirements against the real stack, in order.

// lifecycle is the example system's deploy lifecycle, run with the
// deployer's least-privilege tokens. Each step leaves the cluster as the
// next one expects: they run in this order only (testLifecycle).
type lifecycle struct {
	jobs       string
	transcript strings.Builder // every byte stackctl printed, checked for the canary
}

// run runs stackctl and keeps its output for the canary check.
func (l *lifecycle) run(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	code, out := stackctl(t, stdin, args...)
	l.transcript.WriteString(out)
	return code, out
}

// testLifecycle deploys the example system with `stackctl deploy` and
// proves the six requirements against the real stack, in order.
func testLifecycle(t *testing.T) {
	setClusterEnv(t)
	l := &lifecycle{jobs: filepath.Join(stack.Repo, "jobs")}
	// Start from a cluster without the example's secrets and policies,
	// whatever earlier tests left behind.
	for _, path := range []string{"shop/api", "shop/kv"} {
		if err := stack.Vault.KVv2("secret").DeleteMetadata(t.Context(), path); err != nil {
			t.Fatalf("clear secret %s: %v", path, err)
		}
	}
	for _, svc := range []string{"web", "api", "orders", "kv"} {
		if err := stack.Vault.Sys().DeletePolicy("stackctl-" + svc); err != nil {
			t.Fatalf("clear policy of %s: %v", svc, err)
		}
	}
	// Every service here is stack "shop"'s, intruder too (rendered from
	// a copy of jobs/ beside it).
	t.Cleanup(func() {
		for _, s := range []string{"web", "api", "orders", "kv", "intruder"} {
			_, _ = stackctl(t, "", "destroy", "--stack", l.jobs, "--yes", "--purge", s)
		}
	})
	for _, step := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"unreachable component refused before anything is written", l.refusesUnreachable},
		{"missing secrets refused before anything is written", l.refusesMissingSecrets},
		{"secrets put reads stdin, never prints the value", l.putsSecrets},
		{"plan shows the changes and exits 3 with --detailed-exitcode", l.plansChanges},
		{"deploy brings the example system up healthy", l.deploysHealthy},
		{"public routes reach the right service", l.routesPublic},
		{"web reaches api through its upstream", l.callsUpstream},
		{"internal service is not on the public entrypoint", l.keepsInternalInside},
		{"the internal entrypoint does not listen on a non-loopback address", l.internalOnLoopback},
		{"undeclared caller is refused by the mesh", l.refusesUndeclaredCaller},
		{"env and Vault secret are in the container environment", l.injectsEnvAndSecrets},
		{"a service's policy cannot read another service's secret", l.isolatesSecrets},
		{"the canary value appears nowhere", l.leaksNoSecret},
		{"an unchanged redeploy creates no new job version", l.redeploysNothing},
		{"scale to 3: three instances answer through the edge", l.scalesOut},
		{"a redeploy keeps the count the autoscaler chose", l.keepsAutoscaledCount},
		{"load makes the autoscaler scale out within max, then back in", l.autoscalesUnderLoad},
		{"concurrent deploys: one wins, the other is refused cleanly", l.serialisesConcurrentDeploys},
		{"a failing health check rolls back and deploy says which check", l.rollsBackFailingCheck},
		{"a rollout still going on does not hide another one's failure", l.reportsEveryRollout},
		{"Consul failing mid-deploy: clear error, nothing half-applied, a rerun converges", l.survivesConsulFailure},
		{"destroy removes only what stackctl created", l.destroysOwnOnly},
	} {
		if !t.Run(step.name, step.run) && t.Failed() && strings.HasPrefix(step.name, "deploy brings") {
			t.Fatal("the example system is not up: the steps after this one would only repeat the failure")
		}
	}
}

// settled waits until a job's current version has a successful
// deployment, so the next step does not meet a rollout still running.
// failingOrders makes orders in dir a release whose health check fails,
// with deadlines short enough for Nomad to give up within ~40 s.
func failingOrders(t *testing.T, dir string) {
	t.Helper()
	replace(t, filepath.Join(dir, "orders.hcl"), `SERVICE_NAME = "orders"`, `SERVICE_NAME = "orders"
    FAIL_HEALTH  = "1"`)
	replace(t, filepath.Join(dir, "orders.hcl"), `  health {
    path = "/healthz"
  }`, `  health {
    path     = "/healthz"
    interval = "2s"
    timeout  = "1s"
  }

  update {
    min_healthy_time  = "2s"
    healthy_deadline  = "20s"
    progress_deadline = "40s"
  }`)
}

func settled(t *testing.T, id string) {
	t.Helper()
	eventually(t, 2*time.Minute, id+" settled", func() error {
		job, _, err := stack.Nomad.Jobs().Info(id, nil)
		if err != nil {
			return err
		}
		d, _, err := stack.Nomad.Jobs().LatestDeployment(id, nil)
		if err != nil {
			return err
		}
		if d == nil || d.JobVersion != *job.Version || d.Status != "successful" {
			return fmt.Errorf("version %d, latest deployment %+v", *job.Version, d)
		}
		return nil
	})
}

func jobVersions(t *testing.T) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, id := range []string{"web", "api", "orders", "kv"} {
		job, _, err := stack.Nomad.Jobs().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = *job.Version
	}
	return out
}

func groupCount(t *testing.T, id string) int {
	t.Helper()
	job, _, err := stack.Nomad.Jobs().Info(id, &nomad.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *job.TaskGroups[0].Count
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(from, "*.hcl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, filepath.Base(f)), string(b))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	writeFile(t, path, strings.Replace(string(b), old, new, 1))
}
