//go:build integration

package integration

import (
	"strings"
	"testing"
)

func (l *lifecycle) refusesUnreachable(t *testing.T) {
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	code, out := l.run(t, "", "deploy", l.jobs)
	if code != 1 || !strings.Contains(out, "Vault at http://127.0.0.1:1") || !strings.Contains(out, "nothing was changed") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	if _, _, err := stack.Nomad.Jobs().Info("api", nil); err == nil {
		t.Fatal("a job was registered although Vault was unreachable")
	}
}

func (l *lifecycle) refusesMissingSecrets(t *testing.T) {
	code, out := l.run(t, "", "deploy", l.jobs)
	if code != 1 || !strings.Contains(out, "stackctl secrets put api API_SIGNING_KEY") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	if _, _, err := stack.Nomad.Jobs().Info("kv", nil); err == nil {
		t.Fatal("a job was registered although secrets were missing")
	}
}

func (l *lifecycle) putsSecrets(t *testing.T) {
	for _, s := range [][2]string{{"api", "API_SIGNING_KEY"}, {"kv", "KV_PASSWORD"}} {
		code, out := l.run(t, canary+"\n", "secrets", "put", "--stack", l.jobs, s[0], s[1])
		if code != 0 {
			t.Fatalf("secrets put %s: exit %d\n%s", s[0], code, out)
		}
	}
	code, out := l.run(t, "", "secrets", "list", "--stack", l.jobs, "orders")
	if code != 0 || !strings.Contains(out, "KV_PASSWORD") || !strings.Contains(out, "set") {
		t.Fatalf("secrets list: exit %d\n%s", code, out)
	}
}

func (l *lifecycle) plansChanges(t *testing.T) {
	code, out := l.run(t, "", "plan", "--detailed-exitcode", l.jobs)
	if code != 3 || !strings.Contains(out, "+ job api") || !strings.Contains(out, "+ vault policy stackctl-api") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func (l *lifecycle) deploysHealthy(t *testing.T) {
	code, out := l.run(t, "", "deploy", "--timeout", "5m", l.jobs)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, stack.allocReport("api"))
	}
	for _, s := range []string{"web", "api", "orders", "kv"} {
		if !strings.Contains(out, s+": healthy") {
			t.Errorf("%s not reported healthy:\n%s", s, out)
		}
	}
}
