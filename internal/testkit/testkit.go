// Package testkit holds checks that several packages' tests share: golden
// directories of rendered files, and the purity rule for the packages that
// turn a stack into artifacts (pure.go). It is imported only from _test.go
// files.
package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// Example is an example stack the Nomad side's tests compile; its paths
// are relative to a package directory under internal/.
type Example struct {
	Name  string
	Paths []string
	Vars  []spec.VarArg
}

// Examples are the shop system under jobs/ as the dev stack runs it (Nomad
// 1.6, Consul's built-in proxy) and on Nomad 1.8 with Envoy, and the
// payments stack of spec's valid fixtures: between them every field the
// compiler sets (render keeps their output as golden files).
var Examples = []Example{
	{"shop", []string{"../../jobs"}, nil},
	{"shop-nomad18-envoy", []string{"../../jobs"}, []spec.VarArg{{Value: "nomad_version=1.8"}, {Value: "sidecar=envoy"}}},
	{"payments", []string{"../spec/testdata/valid/nomad18-envoy.hcl"}, nil},
}

// Golden compares files with the directory dir, file by file, and reports
// golden files that are no longer rendered. With update it first rewrites
// dir from files. hint tells how to regenerate (e.g. "go test ./internal/kube -update").
func Golden(t *testing.T, dir string, files []render.File, update bool, hint string) {
	t.Helper()
	if update {
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
			t.Errorf("%s: %v (run %s)", f.Path, err, hint)
			continue
		}
		if !bytes.Equal(golden, f.Content) {
			t.Errorf("%s differs from its golden file; review the change and run %s\n--- got ---\n%s", f.Path, hint, f.Content)
		}
	}
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
		t.Errorf("stale golden file %s (no longer rendered; run %s)", s, hint)
	}
}

// Eventually retries f until it returns nil, or fails the test with f's
// last error once timeout has passed.
func Eventually(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := Poll(timeout, f); err != nil {
		t.Fatalf("%s: not done after %s: %v", what, timeout, err)
	}
}

// Poll retries f every 250 ms until it returns nil, and returns f's last
// error once timeout has passed: for callers that explain a failure
// before they report it.
func Poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || !time.Now().Before(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
