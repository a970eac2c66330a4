package render_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCases are the example stacks whose every rendered file is kept
// under testdata/golden/<name>/.
var goldenCases = []struct {
	name  string
	paths []string
	vars  []spec.VarArg
}{
	{"shop", []string{"../../jobs"}, nil},
	{"shop-nomad18-envoy", []string{"../../jobs"}, []spec.VarArg{{Value: "nomad_version=1.8"}, {Value: "sidecar=envoy"}}},
	{"payments", []string{"../spec/testdata/valid/nomad18-envoy.hcl"}, nil},
}

func renderCase(t testing.TB, paths []string, vars []spec.VarArg) []render.File {
	t.Helper()
	st, diags := spec.NewParser(spec.OSFS{}).Load(paths, spec.LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("load %v: %s", paths, diags.Error())
	}
	files, err := render.Files(compile.Compile(st))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", tc.name)
			files := renderCase(t, tc.paths, tc.vars)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					p := filepath.Join(dir, filepath.FromSlash(f.Path))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string]bool{}
			for _, f := range files {
				want[f.Path] = true
				golden, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Errorf("%s: %v (run go test ./internal/render -update)", f.Path, err)
					continue
				}
				if !bytes.Equal(golden, f.Content) {
					t.Errorf("%s differs from its golden file; review the change and run go test ./internal/render -update\n--- got ---\n%s", f.Path, f.Content)
				}
			}
			// A golden file that is no longer rendered is stale.
			var stale []string
			_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					if !want[filepath.ToSlash(rel)] {
						stale = append(stale, rel)
					}
				}
				return nil
			})
			sort.Strings(stale)
			for _, s := range stale {
				t.Errorf("stale golden file %s", s)
			}
		})
	}
}

// TestDeterministic renders every case twice from fresh parses and wants
// identical bytes: map iteration or pointer identity must not leak out.
func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		a := renderCase(t, tc.paths, tc.vars)
		for i := 0; i < 5; i++ {
			b := renderCase(t, tc.paths, tc.vars)
			if len(a) != len(b) {
				t.Fatalf("%s: %d files, then %d", tc.name, len(a), len(b))
			}
			for j := range a {
				if a[j].Path != b[j].Path || !bytes.Equal(a[j].Content, b[j].Content) {
					t.Fatalf("%s: %s rendered differently on run %d", tc.name, a[j].Path, i+2)
				}
			}
		}
	}
}
