package testkit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSourceCheck: the source check finds each way out of purity, under
// any import name, and lets the pure parts of the same packages through.
func TestSourceCheck(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string // substrings, one per expected problem
	}{
		{`import "os"; var _ = os.Getenv("HOME")`, []string{`imports "os"`}},
		{`import "path/filepath"; var _, _ = filepath.Glob("*")`, []string{`imports "path/filepath"`}},
		{`import "golang.org/x/sys/unix"; var _ = unix.Getpid`, []string{`imports "golang.org/x/sys/unix"`}},
		{`import "net/http"; var _ = http.Get`, []string{`imports "net/http"`}},
		{`import "math/rand/v2"; var _ = rand.N(3)`, []string{`imports "math/rand/v2"`}},
		{`import "time"; var _ = time.Now()`, []string{"time.Now reaches the clock"}},
		{`import clock "time"; var _ = clock.Since(clock.Time{})`, []string{"time.Since reaches the clock"}},
		{`import . "time"; var _ = Now()`, []string{`dot-imports "time"`}},
		{`import "fmt"; func f() { fmt.Println("x") }`, []string{"fmt.Println reaches stdout"}},
		{`import "example.com/extra"; var _ = extra.X`, []string{`imports "example.com/extra", which this package may not use`}},
		// Pure uses of the same packages.
		{`import ("fmt"; "net/url"; "time"); var _ = fmt.Sprintf("%s", time.Second); var _, _ = url.Parse("x")`, nil},
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package x\n"+tc.src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		got := fileProblems(fset, "x.go", f, []string{"example.com/extra"})
		if len(got) != len(tc.want) {
			t.Errorf("%s: problems %q, want %d", tc.src, got, len(tc.want))
			continue
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q does not say %q", tc.src, got[i], w)
			}
		}
	}
}

// TestGraphCheck runs the graph check on a module made here: its package
// a is pure itself but imports b, which reads the clock and imports
// net/http. Every problem must be found, with the chain that leads to it.
func TestGraphCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	write("a/a.go", "package a\n\nimport \"example.com/m/b\"\n\nvar X = b.Y\n")
	write("b/b.go", "package b\n\nimport (\n\t\"net/http\"\n\t\"time\"\n)\n\nvar Y = time.Now()\n\nvar _ = http.Get\n")
	write("clean/clean.go", "package clean\n\nimport \"strings\"\n\nvar Z = strings.ToUpper(\"z\")\n")

	problems, checked, err := graphProblems(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(checked, []string{"example.com/m/a", "example.com/m/b"}) {
		t.Errorf("checked %v, want a and b", checked)
	}
	for _, want := range []string{
		"example.com/m/a imports net/http (network connections) through example.com/m/a -> example.com/m/b -> net/http",
		`example.com/m/b: b.go imports "net/http"`,
		"example.com/m/b: b.go:8:9: time.Now reaches the clock",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no problem starting %q in:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	// What comes only through net/http (net, net/textproto, ...) is not
	// repeated.
	for _, p := range problems {
		if strings.Contains(p, "-> net/http ->") {
			t.Errorf("reported through a forbidden package: %s", p)
		}
	}

	problems, checked, err = graphProblems(filepath.Join(dir, "clean"))
	if err != nil || len(problems) > 0 || !slices.Equal(checked, []string{"example.com/m/clean"}) {
		t.Errorf("clean package: problems %q, checked %v, err %v", problems, checked, err)
	}
}
