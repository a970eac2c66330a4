//go:build integration

package integration

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// testStoppedAgentIsNamed stops Vault on purpose, so it is the suite's last
// phase (TestSuite) and runs only on a stack this run started and will
// tear down.
func testStoppedAgentIsNamed(t *testing.T) {
	if !ownStack {
		t.Skip("the dev stack was already running before this run; not stopping its agents")
	}
	vault := stack.State.Procs["vault"]
	if err := vault.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatalf("stop vault (pid %d): %v", vault.PID, err)
	}
	code, out := stackctl(t, "", "dev", "status")
	if code != 1 {
		t.Errorf("dev status exited %d with vault stopped, want 1\n%s", code, out)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "vault":
			if f[1] == "healthy" {
				t.Errorf("vault reported healthy after it stopped: %q", line)
			}
		case "consul", "nomad":
			if f[1] != "healthy" {
				t.Errorf("%s reported unhealthy although only vault stopped: %q", f[0], line)
			}
		}
	}
	if !strings.Contains(out, "vault") {
		t.Errorf("dev status does not name vault:\n%s", out)
	}
}
