package cli

import (
	"bytes"
	"strings"
	"testing"
)

func runDev(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("STACKCTL_DEV_DIR", t.TempDir())
	var out, errb bytes.Buffer
	code := Main(append([]string{"stackctl", "dev"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDevWithoutStack(t *testing.T) {
	for _, cmd := range []string{"status", "env"} {
		code, _, stderr := runDev(t, cmd)
		if code != ExitError || !strings.Contains(stderr, "no dev stack recorded") {
			t.Errorf("dev %s: exit %d, stderr %q", cmd, code, stderr)
		}
	}
	// down with nothing to stop succeeds: it is idempotent.
	code, stdout, _ := runDev(t, "down")
	if code != ExitOK || !strings.Contains(stdout, "nothing to stop") {
		t.Errorf("dev down: exit %d, stdout %q", code, stdout)
	}
}

func TestDevUsageErrors(t *testing.T) {
	cases := [][]string{
		{"logs"},
		{"status", "extra"},
		{"up", "--public-port", "4646"}, // clashes with Nomad's HTTP port
		{"up", "--internal-port", "0"},
		{"install", "--agents-only", "--images-only"},
		{"install", "not-an-agent"},
		{"up", "--no-such-flag"},
	}
	for _, args := range cases {
		code, _, stderr := runDev(t, args...)
		if code != ExitUsage {
			t.Errorf("dev %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), code, ExitUsage, stderr)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote(`a'b c`); got != `'a'\''b c'` {
		t.Errorf("got %s", got)
	}
}
