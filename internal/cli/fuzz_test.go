package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFormat feeds arbitrary bytes to the `fmt` reader: it must not panic,
// and formatting what it accepted must be idempotent.
func FuzzFormat(f *testing.F) {
	seeds, _ := filepath.Glob("../../jobs/*.hcl")
	for _, p := range seeds {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("service \"a\" {\nimage=\"x\"\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		out, diags := formatSource(src, "f.hcl")
		if diags.HasErrors() {
			return
		}
		again, diags := formatSource(out, "f.hcl")
		if diags.HasErrors() {
			t.Fatalf("formatted output does not parse: %s\n%s", diags.Error(), out)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("formatting is not idempotent:\n%s\n---\n%s", out, again)
		}
	})
}
