package render_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"testing"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
	"github.com/stackctl/stackctl/internal/testkit"
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
			testkit.Golden(t, filepath.Join("testdata", "golden", tc.name), renderCase(t, tc.paths, tc.vars), *update, "go test ./internal/render -update")
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
