package compile_test

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
	"github.com/stackctl/stackctl/internal/stackgen"
)

// The pieces of `stackctl render -o` at 100, 1,000 and 10,000 services in
// the one-file-per-service layout: load (read, parse, decode, validate),
// compile, and render to bytes. Writing the files is measured in
// internal/outdir; the whole process in bench/render.sh.

var benchSizes = []int{100, 1000, 10000}

func generatedStack(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range stackgen.Files(n) {
		fsys["stack/"+name] = &fstest.MapFile{Data: data}
	}
	return fsys
}

func load(b *testing.B, fsys fstest.MapFS, n int) *spec.Stack {
	st, diags := spec.NewParser(fsys).Load([]string{"stack"}, spec.LoadOptions{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	if len(st.Services) != n {
		b.Fatalf("%d services loaded, want %d", len(st.Services), n)
	}
	return st
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range benchSizes {
		fsys := generatedStack(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				load(b, fsys, n)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, n := range benchSizes {
		st := load(b, generatedStack(n), n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				compile.Compile(st)
			}
		})
	}
}

func BenchmarkRenderFiles(b *testing.B) {
	for _, n := range benchSizes {
		bundle := compile.Compile(load(b, generatedStack(n), n))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := render.Files(bundle); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
