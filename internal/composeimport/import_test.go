package composeimport

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// A case is a directory holding compose.yaml (and compose.override.yaml,
// passed as a second -f file when present); its golden output sits in
// testdata/golden/<name>/: the descriptors, diagnostics.txt and
// secrets.txt.
type importCase struct{ name, dir string }

func cases(t testing.TB) []importCase {
	out := []importCase{{"example", filepath.Join("..", "..", "examples", "compose")}}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("testdata", e.Name(), "compose.yaml")); err == nil {
			out = append(out, importCase{e.Name(), filepath.Join("testdata", e.Name())})
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d cases found", len(out))
	}
	return out
}

func (c importCase) files() []string {
	f := []string{filepath.Join(c.dir, "compose.yaml")}
	if _, err := os.Stat(filepath.Join(c.dir, "compose.override.yaml")); err == nil {
		f = append(f, filepath.Join(c.dir, "compose.override.yaml"))
	}
	return f
}

// run imports a case as the CLI would, with an empty process environment
// so the result depends on the fixture alone.
func (c importCase) run(t *testing.T) (*Result, map[string][]byte) {
	t.Helper()
	res, diags := Import(context.Background(), Options{Files: c.files(), OutDir: "out", Environ: []string{}})
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = render.DiagnosticsText(&b, diags, res.Sources, 0, false)
		t.Fatalf("import failed:\n%s", b.String())
	}
	out := map[string][]byte{}
	for n, b := range res.Files {
		out[n] = b
	}
	render.SortDiagnostics(diags)
	var d bytes.Buffer
	_ = render.DiagnosticsText(&d, diags, res.Sources, 0, false)
	out["diagnostics.txt"] = d.Bytes()
	var s bytes.Buffer
	for _, p := range res.Secrets {
		s.WriteString(p.Command("out") + "\n")
	}
	out["secrets.txt"] = s.Bytes()
	return res, out
}

func TestGolden(t *testing.T) {
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			res, got := c.run(t)
			dir := filepath.Join("testdata", "golden", c.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for n, b := range got {
					if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%v (run go test -update to create the golden files)", err)
			}
			if len(entries) != len(got) {
				t.Errorf("golden has %d files, the import writes %d", len(entries), len(got))
			}
			for n, b := range got {
				want, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Errorf("%s: %v", n, err)
					continue
				}
				if !bytes.Equal(b, want) {
					t.Errorf("%s differs from the golden file (go test -update, then review the diff):\n%s", n, b)
				}
			}

			// Same input, same bytes.
			_, again := c.run(t)
			for n := range got {
				if !bytes.Equal(got[n], again[n]) {
					t.Errorf("%s: second import differs", n)
				}
			}
			// Every descriptor is in `stackctl fmt` style.
			for n, b := range res.Files {
				if !bytes.Equal(b, hclwrite.Format(b)) {
					t.Errorf("%s is not formatted", n)
				}
			}
		})
	}
}

// TestGoldenValidates loads every golden directory with the real
// descriptor loader, as `stackctl validate` does.
func TestGoldenValidates(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if len(dirs) < 5 {
		t.Fatalf("only %d golden directories", len(dirs))
	}
	for _, dir := range dirs {
		st, diags := spec.NewParser(spec.OSFS{}).Load([]string{dir}, spec.LoadOptions{})
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				t.Errorf("%s: %s: %s", dir, d.Summary, d.Detail)
			}
		}
		if st == nil || len(st.Services) == 0 {
			t.Errorf("%s: no services loaded", dir)
		}
	}
}

// TestSecretsStayInMemory is the canary: no value of a secret, from any
// fixture (.env, env files, secret files, literals marked CANARY), appears
// in a written file, a diagnostic or a secrets command.
func TestSecretsStayInMemory(t *testing.T) {
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			secrets := fixtureSecrets(t, c.dir)
			if c.name == "canary" && len(secrets) < 5 {
				t.Fatalf("the canary fixture yields only %d secret values: %q", len(secrets), secrets)
			}
			_, got := c.run(t)
			for n, b := range got {
				for _, s := range secrets {
					if bytes.Contains(b, []byte(s)) {
						t.Errorf("%s contains the secret value %q", n, s)
					}
				}
			}
		})
	}
}

// fixtureSecrets collects the secret values of a fixture: secret-named
// variables of its .env and *.env files, the content of *.txt files (the
// compose secrets) and every CANARY-... token in its compose files.
func fixtureSecrets(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	more, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	files = append(files, filepath.Join(dir, ".env"))
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		base := filepath.Base(f)
		switch {
		case base == ".env" || strings.HasSuffix(base, ".env"):
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				k, v, ok := strings.Cut(sc.Text(), "=")
				if ok && secretName(k) {
					out = append(out, v)
				}
			}
		case strings.HasSuffix(base, ".txt"):
			out = append(out, strings.TrimSpace(string(b)))
		}
		for _, w := range strings.FieldsFunc(string(b), func(r rune) bool { return strings.ContainsRune(" \n:@/\"'", r) }) {
			if strings.HasPrefix(w, "CANARY-") {
				out = append(out, w)
			}
		}
	}
	sort.Strings(out)
	return out
}
