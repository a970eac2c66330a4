package compile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

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
	// Expressions that multiply their input (refused before evaluation).
	f.Add([]byte(`variable "s" { default = "0123456789abcdef" }
service "a" {
  image = "a:1"
  env = { X = replace(replace(var.s, "", var.s), "", replace(var.s, "", var.s)) }
  args = [for a in split("", replace(var.s, "", var.s)) : join("", [for b in split("", var.s) : var.s])]
  port "p" { container_port = 1 }
}`), []byte(""))
	f.Fuzz(func(t *testing.T, src, vars []byte) {
		// A stall is a failure too: run the input under a watchdog so the
		// fuzzer records it instead of timing out without a reproducer.
		done := make(chan error, 1)
		go func() { done <- pipeline(src, vars) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(stallLimit):
			t.Fatalf("input took longer than %s", stallLimit)
		}
	})
}

// stallLimit is far above a normal input's cost (well under 1 ms) and
// below the fuzzer's own deadline, so a stall leaves a reproducer behind.
const stallLimit = 10 * time.Second

func pipeline(src, vars []byte) error {
	fsys := fstest.MapFS{
		"stack/main.hcl": {Data: src},
		"vars.hcl":       {Data: vars},
	}
	p := spec.NewParser(fsys)
	st, diags := p.Load([]string{"stack"}, spec.LoadOptions{Vars: []spec.VarArg{{File: true, Value: "vars.hcl"}}})
	if st == nil {
		if !diags.HasErrors() {
			return errors.New("no stack and no error")
		}
		return nil
	}
	if diags.HasErrors() {
		return errors.New("stack returned with errors")
	}
	if _, err := render.Files(compile.Compile(st)); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	// Diagnostics must render for people too, whatever their ranges.
	return render.DiagnosticsText(discard{}, diags, p.Files(), 80, false)
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
