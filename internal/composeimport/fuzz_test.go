package composeimport

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FuzzImport feeds arbitrary compose files to the importer: it must not
// panic, and whatever it accepts is formatted and names every service it
// writes (Import itself has already validated it with the spec loader).
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/compose*.yaml")
	seeds = append(seeds, "../../examples/compose/compose.yaml")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("services:\n  a:\n    image: a:1\n    environment:\n      B_URL: http://b:80/\n  b:\n    image: b:1\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "compose.yaml")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		res, diags := Import(context.Background(), Options{Files: []string{file}, OutDir: "out", Environ: []string{}, ProjectName: "fuzz"})
		if diags.HasErrors() {
			return
		}
		if len(res.Services) == 0 {
			t.Fatal("success without a service")
		}
		for n, b := range res.Files {
			if !bytes.Equal(b, hclwrite.Format(b)) {
				t.Fatalf("%s is not formatted:\n%s", n, b)
			}
		}
	})
}
