package compile_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompileIsPure keeps the compiler free of I/O, clocks and randomness:
// its non-test files may not import packages that reach the outside world,
// nor call time.Now. (The nomad/consul API packages are imported for their
// types only; calls into their clients would need "net/http" here.)
func TestCompileIsPure(t *testing.T) {
	forbidden := map[string]bool{
		"os": true, "os/exec": true, "io/ioutil": true, "net": true, "net/http": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "syscall": true,
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
				t.Errorf("%s imports %q; compile must stay pure (no I/O, no randomness)", name, path)
			}
		}
		if strings.Contains(string(src), "time.Now(") || strings.Contains(string(src), "time.Since(") {
			t.Errorf("%s reads the clock; compile output must not depend on time", name)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
