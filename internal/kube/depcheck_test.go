package kube_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestKubeIsPure keeps the Kubernetes renderer, like the compiler, free of
// I/O, clocks and randomness: its non-test files may not import packages
// that reach the outside world, nor call time.Now. (k8s.io/api and
// apimachinery are imported for their types only; no client-go.)
func TestKubeIsPure(t *testing.T) {
	forbidden := map[string]bool{
		"os": true, "os/exec": true, "io/ioutil": true, "net": true, "net/http": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "syscall": true,
		"k8s.io/client-go/kubernetes": true, "k8s.io/client-go/rest": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[path] {
				t.Errorf("%s imports %q; kube must stay pure (no I/O, no randomness)", name, path)
			}
		}
		if strings.Contains(string(src), "time.Now(") || strings.Contains(string(src), "time.Since(") {
			t.Errorf("%s reads the clock; kube output must not depend on time", name)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
