package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCompose(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("STACKCTL_COMPOSE_DIR", dir)
	var out, errb bytes.Buffer
	code := Main(append([]string{"stackctl", "dev", "compose"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// env prints the exports from the files the init services wrote, and
// says what to do when there are none.
func TestDevComposeEnv(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCompose(t, dir, "env")
	if code != ExitError || !strings.Contains(stderr, "start the stack with `stackctl dev compose up`") {
		t.Fatalf("env without a stack: exit %d, stderr %q", code, stderr)
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{
		"deployer-nomad.token": "d-n", "deployer-consul.token": "d-c", "deployer-vault.token": "d'v",
		"nomad-management.token": "a-n", "consul-management.token": "a-c", "vault-root.token": "a-v",
	} {
		// As the init scripts write them: no trailing newline.
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCompose(t, dir, "env")
	want := "export NOMAD_ADDR='http://127.0.0.1:4646'\nexport NOMAD_TOKEN='d-n'\n" +
		"export CONSUL_HTTP_ADDR='http://127.0.0.1:8500'\nexport CONSUL_HTTP_TOKEN='d-c'\n" +
		"export VAULT_ADDR='http://127.0.0.1:8200'\nexport VAULT_TOKEN='d'\\''v'\n"
	if code != ExitOK || stdout != want {
		t.Errorf("env: exit %d, stdout:\n%s\nwant:\n%s\nstderr %s", code, stdout, want, stderr)
	}
	code, stdout, _ = runCompose(t, dir, "env", "--admin")
	if code != ExitOK || !strings.Contains(stdout, "NOMAD_TOKEN='a-n'") || !strings.Contains(stdout, "CONSUL_HTTP_TOKEN='a-c'") || !strings.Contains(stdout, "VAULT_TOKEN='a-v'") {
		t.Errorf("env --admin: exit %d, stdout:\n%s", code, stdout)
	}
}

func TestDevComposeUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"env", "extra"}, {"up", "extra"}, {"down", "extra"}, {"status", "extra"}, {"up", "--no-such-flag"}} {
		code, _, stderr := runCompose(t, t.TempDir(), args...)
		if code != ExitUsage {
			t.Errorf("dev compose %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), code, ExitUsage, stderr)
		}
	}
}
