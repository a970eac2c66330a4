package outdir

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/artifact"
)

var opts = Options{Manifest: ".manifest", Prune: true, Header: "test output"}

func files(kv ...string) []artifact.File {
	var out []artifact.File
	for i := 0; i < len(kv); i += 2 {
		out = append(out, artifact.File{Path: kv[i], Content: []byte(kv[i+1])})
	}
	return out
}

// manifest is the manifest of opts listing path, content pairs.
func manifest(kv ...string) string {
	out := "# test output\n# Each path follows the SHA-256 of the bytes written there; the file is replaced or removed only while it holds them.\n"
	for i := 0; i < len(kv); i += 2 {
		sum := sha256.Sum256([]byte(kv[i+1]))
		out += "# sha256 " + hex.EncodeToString(sum[:]) + "\n" + kv[i] + "\n"
	}
	return out
}

func syncDir(t *testing.T, dir string, fs []artifact.File, o Options) Result {
	t.Helper()
	res, err := Sync(dir, fs, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// age sets every file's mtime into the past, so a later write shows.
func age(t *testing.T, dir string) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	return old
}

func mtime(t *testing.T, p string) time.Time {
	t.Helper()
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSyncWritesOnlyChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	first := files("a/job.hcl", "a1", "a/job.json", "a2", "b/job.hcl", "b1")
	res := syncDir(t, dir, first, opts)
	if !reflect.DeepEqual(res.Written, []string{"a/job.hcl", "a/job.json", "b/job.hcl"}) || len(res.Unchanged) != 0 {
		t.Fatalf("first sync: %+v", res)
	}
	if got := read(t, filepath.Join(dir, ".manifest")); got != manifest("a/job.hcl", "a1", "a/job.json", "a2", "b/job.hcl", "b1") {
		t.Errorf("manifest:\n%s", got)
	}

	// Nothing changed: nothing is written, no mtime moves (the manifest's
	// neither).
	old := age(t, dir)
	res = syncDir(t, dir, first, opts)
	if len(res.Written) != 0 || len(res.Unchanged) != 3 {
		t.Fatalf("unchanged sync: %+v", res)
	}
	for _, p := range []string{"a/job.hcl", "a/job.json", "b/job.hcl", ".manifest"} {
		if !mtime(t, filepath.Join(dir, p)).Equal(old) {
			t.Errorf("%s was rewritten although unchanged", p)
		}
	}

	// One file changes: only it is written.
	res = syncDir(t, dir, files("a/job.hcl", "a1", "a/job.json", "a2-changed", "b/job.hcl", "b1"), opts)
	if !reflect.DeepEqual(res.Written, []string{"a/job.json"}) {
		t.Fatalf("one change: %+v", res)
	}
	if read(t, filepath.Join(dir, "a/job.json")) != "a2-changed" || !mtime(t, filepath.Join(dir, "a/job.hcl")).Equal(old) {
		t.Error("the changed file was not written, or another one was")
	}
}

func TestSyncRemovesOnlyItsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	syncDir(t, dir, files("a/job.hcl", "a", "b/job.hcl", "b", "c/job.hcl", "c"), opts)
	// Files stackctl did not write: beside the output, inside a service
	// directory that goes away.
	mine := map[string]string{"notes.txt": "keep", "c/README": "keep"}
	for p, s := range mine {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := syncDir(t, dir, files("a/job.hcl", "a"), opts)
	if !reflect.DeepEqual(res.Removed, []string{"b/job.hcl", "c/job.hcl"}) {
		t.Fatalf("removed %v", res.Removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !os.IsNotExist(err) {
		t.Error("the empty directory of a removed service is left behind")
	}
	for p, s := range mine {
		if read(t, filepath.Join(dir, p)) != s {
			t.Errorf("%s was touched", p)
		}
	}
	if got := read(t, filepath.Join(dir, ".manifest")); got != manifest("a/job.hcl", "a") {
		t.Errorf("manifest:\n%s", got)
	}
}

func TestSyncWithoutManifestRemovesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old/job.hcl"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := syncDir(t, dir, files("a/job.hcl", "a"), opts)
	if len(res.Removed) != 0 || read(t, filepath.Join(dir, "old/job.hcl")) != "x" {
		t.Fatalf("a directory without a manifest lost files: %+v", res)
	}
}

func TestSyncWithoutPruneKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	syncDir(t, dir, files("a/job.hcl", "a", "b/job.hcl", "b"), opts)
	partial := opts
	partial.Prune = false
	res := syncDir(t, dir, files("a/job.hcl", "a2"), partial)
	if len(res.Removed) != 0 || read(t, filepath.Join(dir, "b/job.hcl")) != "b" {
		t.Fatalf("a partial sync removed files: %+v", res)
	}
	if got := read(t, filepath.Join(dir, ".manifest")); !strings.Contains(got, "b/job.hcl") {
		t.Errorf("the manifest forgot b:\n%s", got)
	}
}

// TestSyncStaysInside: a tampered manifest or a symlink inside the
// directory cannot make Sync delete or write outside it.
func TestSyncStaysInside(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "out")
	outside := filepath.Join(base, "precious")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	syncDir(t, dir, files("a/job.hcl", "a"), opts)
	if err := os.WriteFile(filepath.Join(dir, ".manifest"), []byte("../precious\n"+outside+"\nlink/precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(base, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(dir, files("a/job.hcl", "a"), opts); err == nil {
		t.Log("sync succeeded")
	}
	if read(t, outside) != "keep" {
		t.Fatal("a file outside the output directory was removed or changed")
	}
	if _, err := Sync(dir, files("../escape", "x"), opts); err == nil {
		t.Fatal("a path leaving the directory was accepted")
	}
	if _, err := Sync(dir, files("link/precious", "x"), opts); err == nil || read(t, outside) != "keep" {
		t.Fatal("a write through a symlink leaving the directory was accepted")
	}
}

func TestWriteFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "f.txt")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if read(t, p) != "two" || info.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", read(t, p), info.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestSyncTouchesOnlyWhatItWrote: a planted or stale manifest cannot make
// Sync delete or overwrite a file whose bytes are not what it wrote there.
func TestSyncTouchesOnlyWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	put := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A user's files, and a manifest that claims them (the old format,
	// without checksums: anybody can write one).
	put("notes.txt", "my notes")
	put("api/job.hcl", "my own job")
	put(".manifest", "# planted\nnotes.txt\napi/job.hcl\n")
	res := syncDir(t, dir, files("web/job.hcl", "w1", "api/job.hcl", "a1"), opts)
	want := []Kept{{Path: "api/job.hcl", Generated: true, Why: keptNoSum}, {Path: "notes.txt", Why: keptNoSum}}
	if !reflect.DeepEqual(res.Kept, want) || len(res.Removed) != 0 || !reflect.DeepEqual(res.Written, []string{"web/job.hcl"}) {
		t.Errorf("planted manifest: %+v", res)
	}
	// What was not written is not claimed: the next run says so again.
	if got := read(t, filepath.Join(dir, ".manifest")); got != manifest("web/job.hcl", "w1") {
		t.Errorf("manifest:\n%s", got)
	}
	if read(t, filepath.Join(dir, "notes.txt")) != "my notes" {
		t.Error("a file listed by a planted manifest was removed")
	}
	if read(t, filepath.Join(dir, "api/job.hcl")) != "my own job" {
		t.Error("a file stackctl did not write was overwritten")
	}

	// Files stackctl wrote and a person edited since are neither replaced
	// nor removed; unedited ones are.
	dir = t.TempDir()
	syncDir(t, dir, files("a/job.hcl", "a1", "b/job.hcl", "b1", "c/job.hcl", "c1"), opts)
	put("a/job.hcl", "a1 edited by hand")
	put("b/job.hcl", "b1 edited by hand")
	res = syncDir(t, dir, files("a/job.hcl", "a2"), opts)
	want = []Kept{{Path: "a/job.hcl", Generated: true, Why: keptChanged}, {Path: "b/job.hcl", Why: keptChanged}}
	if !reflect.DeepEqual(res.Kept, want) || !reflect.DeepEqual(res.Removed, []string{"c/job.hcl"}) || len(res.Written) != 0 {
		t.Errorf("edited files: %+v", res)
	}
	if read(t, filepath.Join(dir, "a/job.hcl")) != "a1 edited by hand" {
		t.Error("an edited file was overwritten")
	}
	if read(t, filepath.Join(dir, "b/job.hcl")) != "b1 edited by hand" {
		t.Error("an edited file was removed")
	}
	if _, err := os.Stat(filepath.Join(dir, "c/job.hcl")); !os.IsNotExist(err) {
		t.Error("an unedited file no longer generated was kept")
	}
}

// TestSyncRefusesManifestEntriesOutside: entries naming a path with "..",
// an absolute path, or one through a symlink (even one that stays inside
// the directory) are not followed, whatever checksum they carry.
func TestSyncRefusesManifestEntriesOutside(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "out")
	syncDir(t, dir, files("a/job.hcl", "a", "real/kept.txt", "keep"), opts)
	if err := os.Symlink("real", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	manifest := read(t, filepath.Join(dir, ".manifest"))
	// The checksum line stackctl wrote for real/kept.txt, if the manifest
	// has them, is reused for the planted entries.
	sum, lines := "", strings.Split(manifest, "\n")
	for i, line := range lines {
		if line == "real/kept.txt" && i > 0 && strings.HasPrefix(lines[i-1], "#") {
			sum = lines[i-1] + "\n"
		}
	}
	planted := manifest + sum + "link/kept.txt\n" + sum + "a/../real/kept.txt\n" + sum + filepath.Join(dir, "real/kept.txt") + "\n"
	if err := os.WriteFile(filepath.Join(dir, ".manifest"), []byte(planted), 0o644); err != nil {
		t.Fatal(err)
	}
	res := syncDir(t, dir, files("a/job.hcl", "a", "real/kept.txt", "keep"), opts)
	if read(t, filepath.Join(dir, "real/kept.txt")) != "keep" {
		t.Fatal("a planted entry removed a file through a symlink, '..' or an absolute path")
	}
	if len(res.Ignored) != 2 || !strings.Contains(res.Ignored[0], `"a/../real/kept.txt"`) || !strings.Contains(res.Ignored[1], `"`+filepath.Join(dir, "real/kept.txt")+`"`) {
		t.Errorf("ignored: %q", res.Ignored)
	}
	if len(res.Kept) != 1 || res.Kept[0].Path != "link/kept.txt" || !strings.Contains(res.Kept[0].Why, "symbolic link") {
		t.Errorf("kept: %+v", res.Kept)
	}
	if len(res.Removed) != 0 {
		t.Errorf("removed: %v", res.Removed)
	}
	if sum == "" {
		t.Error("the manifest gives no checksum for real/kept.txt")
	}
}
