package testkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The purity rule of the packages that turn a stack into artifacts: their
// output depends on their input alone. Two checks keep it:
//
//   - the source check (Pure, and PureGraph for every package of this
//     module it reaches) reads the code: no import of a package that
//     reaches files, the environment, other processes or randomness, and
//     no call that reads the clock or writes to the process's stdout;
//   - the graph check (PureGraph) reads `go list -deps`: no package
//     anywhere below, ours or not, may open connections, run programs or
//     draw random numbers, since a package's types are never all it
//     brings (nomad/api's types come with its HTTP client).

// sourceForbidden are imports a pure package's own code may not have.
var sourceForbidden = map[string]string{
	"os":            "files and the environment",
	"os/exec":       "other programs",
	"os/signal":     "signals",
	"os/user":       "the user database",
	"io/ioutil":     "files",
	"io/fs":         "files",
	"path/filepath": "files (Glob, Walk, Abs, EvalSymlinks)",
	"syscall":       "the operating system",
	"log":           "stderr",
	"log/slog":      "stderr",
	"crypto/rand":   "randomness",
	"math/rand":     "randomness",
	"math/rand/v2":  "randomness",
	"plugin":        "files",
}

// sourceForbiddenCalls are functions of allowed packages that read the
// clock, files or the terminal, and what they reach.
var sourceForbiddenCalls = map[string]map[string]string{
	"time": {"Now": "the clock", "Since": "the clock", "Until": "the clock", "After": "the clock",
		"AfterFunc": "the clock", "Tick": "the clock", "NewTicker": "the clock", "NewTimer": "the clock",
		"Sleep": "the clock", "LoadLocation": "files (the time zone database)"},
	"fmt": {"Print": "stdout", "Printf": "stdout", "Println": "stdout",
		"Scan": "stdin", "Scanf": "stdin", "Scanln": "stdin"},
}

// forbiddenImport says why path may not be imported by pure code, or "".
func forbiddenImport(importPath string) string {
	if why, ok := sourceForbidden[importPath]; ok {
		return why
	}
	if strings.HasPrefix(importPath, "golang.org/x/sys/") {
		return "the operating system"
	}
	return forbiddenDep(importPath)
}

// forbiddenDep says why a package may not be anywhere in a pure package's
// import graph, or "". net/url and net/netip only parse values.
func forbiddenDep(importPath string) string {
	switch {
	case importPath == "net/url" || importPath == "net/netip":
		return ""
	case importPath == "net" || strings.HasPrefix(importPath, "net/"):
		return "network connections"
	case importPath == "os/exec":
		return "other programs"
	case importPath == "crypto/rand" || importPath == "math/rand" || importPath == "math/rand/v2":
		return "randomness"
	}
	return ""
}

// Pure checks the source of the package in the current directory (its
// non-test Go files): no import in sourceForbidden or extra, no call that
// reads the clock or prints.
func Pure(t *testing.T, extra ...string) {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	problems, err := sourceProblems(".", names, extra)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// PureGraph checks the package in the current directory and everything it
// imports: no package in its import graph may be one forbiddenDep names,
// and every package of this module in the graph must pass Pure's source
// check. It returns the import paths of the module's packages it checked.
func PureGraph(t *testing.T) []string {
	t.Helper()
	problems, checked, err := graphProblems(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	return checked
}

// listedPackage is what graphProblems reads of `go list -json`.
type listedPackage struct {
	ImportPath, Dir                   string
	GoFiles, CgoFiles, IgnoredGoFiles []string // IgnoredGoFiles: for other platforms
	Imports                           []string
	Module                            *struct{ Main bool }
	Error                             *struct{ Err string }
}

// graphProblems lists the import graph of the package in dir with the go
// command at hand (go test puts its own first on PATH) and reports what
// PureGraph forbids.
func graphProblems(dir string) (problems, checked []string, err error) {
	cmd := exec.Command("go", "list", "-deps",
		"-json=ImportPath,Dir,GoFiles,CgoFiles,IgnoredGoFiles,Imports,Module,Error", ".")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("go list -deps in %s: %v\n%s", dir, err, stderr.Bytes())
	}
	// -deps lists every package after its dependencies: the one in dir
	// comes last.
	pkgs := map[string]*listedPackage{}
	var root *listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		p := new(listedPackage)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			return nil, nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
		root = p
	}
	if root == nil {
		return nil, nil, fmt.Errorf("go list did not list the package in %s", dir)
	}
	names := slices.Sorted(maps.Keys(pkgs))
	for _, p := range names {
		why := forbiddenDep(p)
		if why == "" {
			continue
		}
		chain := importChain(pkgs, root.ImportPath, p)
		if slices.ContainsFunc(chain[1:len(chain)-1], func(q string) bool { return forbiddenDep(q) != "" }) {
			continue // reported as the forbidden package it comes through
		}
		problems = append(problems, fmt.Sprintf("%s imports %s (%s) through %s",
			root.ImportPath, p, why, strings.Join(chain, " -> ")))
	}
	for _, name := range names {
		p := pkgs[name]
		if p.Module == nil || !p.Module.Main {
			continue
		}
		files := slices.Concat(p.GoFiles, p.CgoFiles, p.IgnoredGoFiles)
		srcProblems, err := sourceProblems(p.Dir, files, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.ImportPath, err)
		}
		for _, sp := range srcProblems {
			problems = append(problems, p.ImportPath+": "+sp)
		}
		checked = append(checked, p.ImportPath)
	}
	return problems, checked, nil
}

// importChain is a shortest path of imports from one package to another.
func importChain(pkgs map[string]*listedPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := to; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		if p := pkgs[cur]; p != nil {
			for _, imp := range p.Imports {
				if _, seen := prev[imp]; !seen {
					prev[imp] = cur
					queue = append(queue, imp)
				}
			}
		}
	}
	return []string{from, "...", to}
}

// sourceProblems checks the non-test files among names in dir.
func sourceProblems(dir string, names []string, extra []string) ([]string, error) {
	var problems []string
	checked := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		problems = append(problems, fileProblems(fset, name, f, extra)...)
		checked++
	}
	if checked == 0 {
		return nil, fmt.Errorf("no source files to check in %s", dir)
	}
	return problems, nil
}

// fileProblems checks one parsed file's imports and calls.
func fileProblems(fset *token.FileSet, name string, f *ast.File, extra []string) []string {
	var problems []string
	// local name -> import path, for the packages whose calls are checked
	watched := map[string]string{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if why := forbiddenImport(p); why != "" {
			problems = append(problems, fmt.Sprintf("%s imports %q (%s); this package must stay pure", name, p, why))
		} else if slices.Contains(extra, p) {
			problems = append(problems, fmt.Sprintf("%s imports %q, which this package may not use", name, p))
		}
		if _, ok := sourceForbiddenCalls[p]; !ok {
			continue
		}
		local := path.Base(p)
		if imp.Name != nil {
			local = imp.Name.Name
		}
		if local == "." {
			problems = append(problems, fmt.Sprintf("%s dot-imports %q; name its calls so they can be checked", name, p))
		}
		watched[local] = p
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			if p, ok := watched[id.Name]; ok && sourceForbiddenCalls[p][sel.Sel.Name] != "" {
				problems = append(problems, fmt.Sprintf("%s: %s.%s reaches %s; output must depend on the input alone",
					fset.Position(sel.Pos()), p, sel.Sel.Name, sourceForbiddenCalls[p][sel.Sel.Name]))
			}
		}
		return true
	})
	return problems
}
