package outdir

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/artifact"
)

// benchFiles is the shape of `render -o` for n services: four files of a
// few KiB per service directory.
func benchFiles(n int) []artifact.File {
	var out []artifact.File
	body := []byte(strings.Repeat("x = 1\n", 500))
	for i := 0; i < n; i++ {
		for _, name := range []string{"job.nomad.hcl", "job.json", "vault-policy.hcl", "intentions.hcl"} {
			out = append(out, artifact.File{Path: fmt.Sprintf("svc-%04d/%s", i, name), Content: body})
		}
	}
	return out
}

// BenchmarkSyncFresh writes 1,000 services' files into a new directory.
func BenchmarkSyncFresh(b *testing.B) {
	files := benchFiles(1000)
	base := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := Sync(filepath.Join(base, fmt.Sprint(i)), files, Options{Manifest: ".m", Prune: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSyncUnchanged compares 1,000 services' files with what the
// directory already holds, and writes nothing.
func BenchmarkSyncUnchanged(b *testing.B) {
	files := benchFiles(1000)
	dir := b.TempDir()
	if _, err := Sync(dir, files, Options{Manifest: ".m", Prune: true}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := Sync(dir, files, Options{Manifest: ".m", Prune: true})
		if err != nil || len(res.Written) != 0 {
			b.Fatal(err, len(res.Written))
		}
	}
}
