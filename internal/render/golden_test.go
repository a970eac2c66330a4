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
	// Every file each example renders is kept under testdata/golden/<name>/.
	for _, tc := range testkit.Examples {
		t.Run(tc.Name, func(t *testing.T) {
			testkit.Golden(t, filepath.Join("testdata", "golden", tc.Name), renderCase(t, tc.Paths, tc.Vars), *update, "go test ./internal/render -update")
		})
	}
}

// TestDeterministic renders every case twice from fresh parses and wants
// identical bytes: map iteration or pointer identity must not leak out.
func TestDeterministic(t *testing.T) {
	for _, tc := range testkit.Examples {
		a := renderCase(t, tc.Paths, tc.Vars)
		for i := 0; i < 5; i++ {
			b := renderCase(t, tc.Paths, tc.Vars)
			if len(a) != len(b) {
				t.Fatalf("%s: %d files, then %d", tc.Name, len(a), len(b))
			}
			for j := range a {
				if a[j].Path != b[j].Path || !bytes.Equal(a[j].Content, b[j].Content) {
					t.Fatalf("%s: %s rendered differently on run %d", tc.Name, a[j].Path, i+2)
				}
			}
		}
	}
}
