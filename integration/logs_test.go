//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/cli"
	"github.com/stackctl/stackctl/internal/devstack"
)

// testLogsAndExec: `stackctl logs -f` on a service of three instances
// prints lines from each, and from a fourth that starts while it follows;
// `stackctl exec` runs a command in an instance and its exit status
// becomes stackctl's. The demo image is FROM scratch, so the commands run
// are the demo binary's own (demo version, demo exit, demo cat), and in the
// sidecar's container (the proxy image) consul's. Every call acts for the
// stack in dir (--stack) with the deployer's tokens (read-logs, alloc-exec).
func testLogsAndExec(t *testing.T) {
	setClusterEnv(t)
	// A stack reused from an earlier run may hold a demo image without
	// those commands; this rebuilds it only when its source changed.
	if err := devstack.BuildImage(t.Context(), stack.Repo, devstack.DemoImage, testLog{t}); err != nil {
		t.Fatalf("demo image: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stack.hcl"), `
stack {
  name        = "itlogs"
  datacenters = ["dc1"]
  domain      = "shop.localhost"
  sidecar {
    kind = "builtin"
  }
}
`)
	writeFile(t, filepath.Join(dir, "logsdemo.hcl"), `
service "logsdemo" {
  image    = "stackctl-demo:1.0.0"
  replicas = 3
  port "http" {
    container_port = 8080
  }
  resources {
    cpu    = 50
    memory = 32
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "logsdemo"
  }
}
`)
	t.Cleanup(func() { _, _ = stackctl(t, "", "destroy", "--stack", dir, "--yes", "--purge", "logsdemo") })
	if code, out := stackctl(t, "", "deploy", "--timeout", "4m", dir); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	first := runningAllocs(t, "logsdemo")
	if len(first) != 3 {
		t.Fatalf("%d running instances after deploy, want 3", len(first))
	}

	// logs -f in the background, for the whole phase.
	var stdout, stderr syncBuffer
	followed := make(chan int, 1)
	go func() {
		followed <- cli.Main([]string{"stackctl", "logs", "--stack", dir, "-f", "logsdemo"}, strings.NewReader(""), &stdout, &stderr)
	}()
	// The demo writes "demo listening on :8080" to stderr as it starts.
	waitLines := func(ids []string, timeout time.Duration) {
		t.Helper()
		eventually(t, timeout, "a log line from each instance", func() error {
			out := stdout.String()
			for _, id := range ids {
				if !hasLine(out, id[:8]+" err | ", "demo listening on :8080") {
					return fmt.Errorf("no line from %s yet; stdout:\n%s\nstderr:\n%s", id[:8], out, stderr.String())
				}
			}
			return nil
		})
	}

	t.Run("logs -f shows every instance, and one started while it follows", func(t *testing.T) {
		waitLines(first, 60*time.Second)
		if code, out := stackctl(t, "", "scale", "--stack", dir, "--timeout", "3m", "logsdemo", "4"); code != 0 {
			t.Fatalf("scale: exit %d\n%s", code, out)
		}
		var fourth []string
		for _, id := range runningAllocs(t, "logsdemo") {
			if !slices.Contains(first, id) {
				fourth = append(fourth, id)
			}
		}
		if len(fourth) != 1 {
			t.Fatalf("after scaling to 4: new instances %v", fourth)
		}
		waitLines(fourth, 90*time.Second)
		if !strings.Contains(stderr.String(), fourth[0][:8]+": instance started") {
			t.Errorf("the new instance was not announced:\n%s", stderr.String())
		}
		for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
			if len(l) < 15 || l[8:15] != " err | " && l[8:15] != " out | " {
				t.Errorf("a line without its instance prefix: %q", l)
			}
		}
	})

	t.Run("logs --tail 1 --stderr: one line per instance", func(t *testing.T) {
		code, out := stackctl(t, "", "logs", "--stack", dir, "--tail", "1", "--stderr", "logsdemo")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if n := strings.Count(out, "demo listening on :8080"); n != 4 {
			t.Errorf("%d lines, want one from each of the 4 instances:\n%s", n, out)
		}
	})

	t.Run("exec runs the command, its exit status becomes stackctl's", func(t *testing.T) {
		code, out := stackctl(t, "", "exec", "--stack", dir, "logsdemo", "--", "/demo", "version")
		if code != 0 || !strings.Contains(out, "demo 1.0.0") {
			t.Errorf("demo version: exit %d\n%s", code, out)
		}
		code, out = stackctl(t, "", "exec", "--stack", dir, "logsdemo", "--", "/demo", "exit", "7", "leaving with 7")
		if code != 7 || !strings.Contains(out, "leaving with 7") {
			t.Errorf("demo exit 7: exit %d, want 7\n%s", code, out)
		}
		code, out = stackctl(t, "through stdin\n", "exec", "--stack", dir, "-i", "--instance", first[1][:8], "logsdemo", "--", "/demo", "cat")
		if code != 0 || !strings.Contains(out, "through stdin") {
			t.Errorf("demo cat with -i: exit %d\n%s", code, out)
		}
		code, out = stackctl(t, "", "exec", "--stack", dir, "logsdemo", "--", "/no-such-program")
		if code == 0 {
			t.Errorf("a program the image lacks: exit 0\n%s", out)
		}
		t.Logf("a program the image lacks: exit %d: %s", code, strings.TrimSpace(out))
		// The sidecar runs in its own container (the proxy image: /bin/consul
		// and nothing else), so exec reaches it too.
		code, out = stackctl(t, "", "exec", "--stack", dir, "--task", "connect-proxy-logsdemo", "logsdemo", "--", "/bin/consul", "version")
		if code != 0 || !strings.Contains(out, "Consul v1.14.11") {
			t.Errorf("consul version in the sidecar's task: exit %d\n%s", code, out)
		}
	})

	t.Run("logs -f ends by itself once the service is stopped", func(t *testing.T) {
		if code, out := stackctl(t, "", "destroy", "--stack", dir, "--yes", "logsdemo"); code != 0 {
			t.Fatalf("destroy: exit %d\n%s", code, out)
		}
		select {
		case code := <-followed:
			if code != 0 {
				t.Errorf("logs -f: exit %d\n%s", code, stderr.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("logs -f still following 2 minutes after the service was stopped:\n%s", stderr.String())
		}
		if !strings.Contains(stderr.String(), "no instance of logsdemo is wanted any more") {
			t.Errorf("stderr:\n%s", stderr.String())
		}
	})
}

// runningAllocs lists the IDs of a job's running allocations.
func runningAllocs(t *testing.T, job string) []string {
	t.Helper()
	allocs, _, err := stack.Nomad.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range allocs {
		if a.ClientStatus == "running" && a.DesiredStatus == "run" {
			out = append(out, a.ID)
		}
	}
	return out
}

// hasLine reports a line of out that starts with prefix and holds text.
func hasLine(out, prefix, text string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, text) {
			return true
		}
	}
	return false
}

// syncBuffer is a buffer the CLI writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
