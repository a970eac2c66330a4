package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// TestJSONHoldsNoSecret puts canary values into the fake Vault, where the
// plan's key check reads them, and looks for them in every JSON document
// status and plan print, and in a plan saved alongside. Each document must
// also match its schema and come out the same twice.
func TestJSONHoldsNoSecret(t *testing.T) {
	const apiCanary, kvCanary = "canary-api-7f3a9c", "canary-kv-51e2d0"
	fake := clustertest.New()
	fake.Edit(func(s *clustertest.State) {
		s.Secrets["secret/shop/api"] = &clustertest.Secret{Versions: []map[string]any{{"signing_key": apiCanary}}}
		s.Secrets["secret/shop/kv"] = &clustertest.Secret{Versions: []map[string]any{{"password": kvCanary}}}
	})
	withFake(t, fake)
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"stackctl"}, args...), strings.NewReader(""), &stdout, &stderr)
		if code != 0 && code != ExitChanges {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	jobs := "../../jobs"
	saved := filepath.Join(t.TempDir(), "shop.plan")
	type doc struct {
		schema string
		args   []string
	}
	docs := []doc{
		{"plan", args("plan", "--format", "json", nomad18, jobs)},
		{"plan", args("plan", "--format", "json", "-out", saved, nomad18, "-var", "image=demo:2", jobs)},
	}
	check := func(schema string, args []string) {
		t.Helper()
		var first, second bytes.Buffer
		for _, out := range []*bytes.Buffer{&first, &second} {
			var stderr bytes.Buffer
			code := Main(append([]string{"stackctl"}, args...), strings.NewReader(""), out, &stderr)
			if code != 0 && code != ExitChanges {
				t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), stderr.String())
			}
			for _, c := range []string{apiCanary, kvCanary} {
				if strings.Contains(out.String()+stderr.String(), c) {
					t.Errorf("%v prints the secret value %s:\n%s", args, c, out.String())
				}
			}
		}
		if first.String() != second.String() {
			t.Errorf("%v: two runs print different documents:\n%s\n%s", args, first.String(), second.String())
		}
		if _, err := validateDoc(schema, first.String()); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
	for _, d := range docs {
		check(d.schema, d.args)
	}
	run(args("deploy", nomad18, jobs)...)
	for _, d := range append(docs,
		doc{"status", args("status", "--format", "json")},
		doc{"status", args("status", "--format", "json", "api")},
		doc{"status", args("status", "--format", "json", "kv")},
	) {
		check(d.schema, d.args)
	}
	plan, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{apiCanary, kvCanary} {
		if bytes.Contains(plan, []byte(c)) {
			t.Errorf("the saved plan holds the secret value %s", c)
		}
	}
	// The canaries are where the check reads them: the test would see them.
	if out := run("secrets", "get", "--reveal", "--stack", jobs, "api", "API_SIGNING_KEY"); !strings.Contains(out, apiCanary) {
		t.Fatalf("the fake does not hold the canary:\n%s", out)
	}
}
