package compile_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// FuzzPipeline feeds arbitrary bytes through parse -> validate -> compile
// -> render, as one descriptor file plus a var file. Nothing may panic, and
// a stack that validates must compile and render.
func FuzzPipeline(f *testing.F) {
	seeds, _ := filepath.Glob("../../jobs/*.hcl")
	more, _ := filepath.Glob("../spec/testdata/*/*.hcl")
	for _, p := range append(seeds, more...) {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, []byte("replicas = 2\n"))
	}
	f.Add([]byte(`service "a" { image = "a:1" port "p" { container_port = 1 } }`), []byte(""))
	f.Fuzz(func(t *testing.T, src, vars []byte) {
		fsys := fstest.MapFS{
			"stack/main.hcl": {Data: src},
			"vars.hcl":       {Data: vars},
		}
		p := spec.NewParser(fsys)
		st, diags := p.Load([]string{"stack"}, spec.LoadOptions{Vars: []spec.VarArg{{File: true, Value: "vars.hcl"}}})
		if st == nil {
			if !diags.HasErrors() {
				t.Fatal("no stack and no error")
			}
			return
		}
		if diags.HasErrors() {
			t.Fatal("stack returned with errors")
		}
		if _, err := render.Files(compile.Compile(st)); err != nil {
			t.Fatalf("render: %v", err)
		}
		// Diagnostics must render for people too, whatever their ranges.
		_ = render.DiagnosticsText(discard{}, diags, p.Files(), 80, false)
	})
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
