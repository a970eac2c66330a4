package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/render"
)

// marker is an expected error written in a fixture as a comment line whose
// caret sits under the column of the nearest non-marker line above it:
//
//	upstream "ordrs" {
//	#        ^ Unknown upstream service
type marker struct {
	file      string
	line, col int
	summary   string
}

var markerRe = regexp.MustCompile(`^\s*#\s*\^ (.+)$`)

func readMarkers(t *testing.T, file string) []marker {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []marker
	target := 0
	for i, line := range strings.Split(string(src), "\n") {
		m := markerRe.FindStringSubmatch(line)
		if m == nil {
			target = i + 1
			continue
		}
		out = append(out, marker{file: file, line: target, col: strings.Index(line, "^") + 1, summary: m[1]})
	}
	return out
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"stackctl"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestInvalidFixtures runs `validate --format json` on every fixture under
// testdata/invalid (a file, or a directory loaded as one stack) and checks
// that it exits 1 with exactly the errors its markers announce.
func TestInvalidFixtures(t *testing.T) {
	root := filepath.Join("..", "spec", "testdata", "invalid")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 10 {
		t.Fatalf("only %d invalid fixtures found", len(entries))
	}
	for _, e := range entries {
		path := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			var want []marker
			if e.IsDir() {
				files, _ := filepath.Glob(filepath.Join(path, "*.hcl"))
				for _, f := range files {
					want = append(want, readMarkers(t, f)...)
				}
			} else {
				want = readMarkers(t, path)
			}
			if len(want) == 0 {
				t.Fatal("fixture has no error marker")
			}
			code, stdout, stderr := runCLI(t, "validate", "--format", "json", path)
			if code != ExitError {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, ExitError, stderr)
			}
			var doc render.ValidationJSON
			if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
				t.Fatalf("invalid JSON output: %v\n%s", err, stdout)
			}
			var got []marker
			for _, d := range doc.Diagnostics {
				if d.Severity != "error" {
					continue
				}
				if d.Range == nil {
					t.Errorf("error without a location: %s: %s", d.Summary, d.Detail)
					continue
				}
				got = append(got, marker{file: filepath.Clean(d.Range.Filename), line: d.Range.Start.Line, col: d.Range.Start.Column, summary: d.Summary})
			}
			key := func(m marker) string {
				return strings.Join([]string{m.file, itoa(m.line), itoa(m.col), m.summary}, ":")
			}
			gotKeys, wantKeys := map[string]bool{}, map[string]bool{}
			for _, m := range got {
				gotKeys[key(m)] = true
			}
			for _, m := range want {
				m.file = filepath.Clean(m.file)
				wantKeys[key(m)] = true
			}
			for k := range wantKeys {
				if !gotKeys[k] {
					t.Errorf("expected error not reported: %s", k)
				}
			}
			for k := range gotKeys {
				if !wantKeys[k] {
					t.Errorf("unexpected error (add a marker if it is right): %s", k)
				}
			}
			if t.Failed() {
				var keys []string
				for k := range gotKeys {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				t.Logf("reported:\n%s", strings.Join(keys, "\n"))
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestValidExamples(t *testing.T) {
	code, stdout, stderr := runCLI(t, "validate", filepath.Join("..", "..", "jobs"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "4 service(s) valid: api, kv, orders, web") {
		t.Errorf("unexpected summary: %q", stdout)
	}
	if stderr != "" {
		t.Errorf("examples should validate without warnings, got:\n%s", stderr)
	}
	valid, _ := filepath.Glob(filepath.Join("..", "spec", "testdata", "valid", "*.hcl"))
	for _, f := range valid {
		if code, _, stderr := runCLI(t, "validate", f); code != ExitOK {
			t.Errorf("%s: exit %d: %s", f, code, stderr)
		}
	}
}
