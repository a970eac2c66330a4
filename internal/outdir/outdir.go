// Package outdir writes generated files at the edge of the program. Every
// file is written atomically (a temporary file in the same directory, then
// a rename), so a reader never sees half a file. A whole output directory
// is written incrementally, like `gofmt -l` checks before it writes: a file
// whose bytes are already there is not touched (its mtime stays), and the
// files of a previous run that are no longer generated are removed.
//
// The manifest of a run lists every file it wrote with the SHA-256 of the
// bytes written. A file is replaced or removed only while its bytes are
// still exactly those: a file a person edited, or one stackctl never wrote
// (whatever a manifest planted in the directory claims), is left and
// reported (Result.Kept).
//
// All access goes through an os.Root, so neither a generated path nor a
// manifest entry nor a symlink inside the directory can reach outside it;
// manifest entries are followed only along plain directories (no "..", no
// absolute path, no symlink, even one that stays inside).
package outdir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/stackctl/stackctl/internal/artifact"
)

// WriteFile writes data to path atomically, creating the directory when
// needed. It is the single-file form of what Sync does, for callers that
// write one file (fmt, the dev stack's state).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	d := filepath.Dir(path)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	dir, err := openDir(d)
	if err != nil {
		return err
	}
	defer dir.close()
	if err := dir.write(filepath.Base(path), data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Result says what Sync did, each list in path order.
type Result struct {
	Written   []string // created or changed
	Unchanged []string // already held these bytes: not touched
	Removed   []string // listed by the previous manifest, no longer generated
	// Kept are files Sync would have replaced or removed but left alone:
	// their bytes are not the ones it wrote there.
	Kept []Kept
	// Ignored says which manifest entries were not followed (a path with
	// "..", or absolute), one sentence each.
	Ignored []string
}

// Kept is a file Sync left alone.
type Kept struct {
	Path string
	// Generated is true for a file of this run, which the directory now
	// lacks: the output is not complete.
	Generated bool
	Why       string
}

// Options tune Sync.
type Options struct {
	// Manifest is the file (in dir) that lists what the last Sync wrote;
	// its presence marks the directory as generated output. Generators
	// that may share a directory use different names.
	Manifest string
	// Prune removes the files of the previous manifest that are not in
	// this set. Leave it off when files is a subset (e.g. one service):
	// the manifest then keeps listing the others.
	Prune bool
	// Header is the manifest's first line (a comment).
	Header string
}

// Sync makes dir hold files (mode 0644, directories 0755): only files
// whose bytes differ are written, in parallel, and only over a file that
// still holds what the previous manifest says was written there; then the
// files of the previous manifest that are gone are removed (with Prune),
// again only when their bytes are still those, and the manifest is
// rewritten when its list changed.
func Sync(dir string, files []artifact.File, opts Options) (Result, error) {
	var res Result
	for _, f := range files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) || f.Path == opts.Manifest {
			return res, fmt.Errorf("refusing to write %q: not a path inside the output directory", f.Path)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return res, err
	}
	defer root.Close()
	previous, ignored, err := readManifest(root, opts.Manifest)
	if err != nil {
		return res, err
	}
	res.Ignored = ignored
	wrote := map[string]string{} // path -> checksum, as the previous run wrote it
	for _, e := range previous {
		wrote[e.path] = e.sum
	}

	outcome, err := writeChanged(root, dir, files, wrote)
	if err != nil {
		return res, err
	}
	current := map[string]bool{}
	listed := map[string]string{}
	for i, f := range files {
		current[f.Path] = true
		switch o := outcome[i]; {
		case o.kept != "":
			res.Kept = append(res.Kept, Kept{Path: f.Path, Generated: true, Why: o.kept})
			continue
		case o.written:
			res.Written = append(res.Written, f.Path)
		default:
			res.Unchanged = append(res.Unchanged, f.Path)
		}
		listed[f.Path] = outcome[i].sum
	}

	top, err := openRootDir(root, ".")
	if err != nil {
		return res, err
	}
	defer top.close()
	for _, e := range previous {
		if current[e.path] {
			continue
		}
		if !opts.Prune {
			listed[e.path] = e.sum
			continue
		}
		removed, why, err := removeOwn(top, e)
		switch {
		case err != nil:
			return res, fmt.Errorf("remove %s: %w", filepath.Join(dir, e.path), err)
		case why != "":
			res.Kept = append(res.Kept, Kept{Path: e.path, Why: why})
			continue
		case !removed:
			continue // gone already
		}
		res.Removed = append(res.Removed, e.path)
		// Remove the service's directory once it is empty; a directory
		// holding anything else stays.
		for d := path.Dir(e.path); d != "."; d = path.Dir(d) {
			if root.Remove(d) != nil {
				break
			}
		}
	}
	sort.Strings(res.Written)
	sort.Strings(res.Unchanged)
	sort.Strings(res.Removed)
	sort.Slice(res.Kept, func(i, j int) bool { return res.Kept[i].Path < res.Kept[j].Path })
	return res, writeManifest(top, opts, listed)
}

// checksum is how the manifest records the bytes of a file.
func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Why a file is left alone.
const (
	keptChanged = "its bytes are not what stackctl last wrote there (edited since, or not written by stackctl); move it away to have it replaced"
	keptNoSum   = "stackctl has no record of writing it (the manifest gives no checksum for it)"
	keptOdd     = "it is not a regular file"
)

// removeOwn removes the file of a manifest entry when it still holds the
// bytes the entry records; why says why not. The entry's directories are
// opened one by one without following a symlink.
func removeOwn(top *dirHandle, e entry) (removed bool, why string, err error) {
	h, err := top.openPlain(path.Dir(e.path))
	if errors.Is(err, fs.ErrNotExist) {
		return false, "", nil
	}
	if errors.Is(err, errNotPlain) {
		return false, "its directory is a symbolic link or not a directory: the manifest entry is not followed", nil
	}
	if err != nil {
		return false, "", err
	}
	defer h.close()
	name := path.Base(e.path)
	st := h.inspect(name, nil, e.sum != "")
	switch {
	case st.absent:
		return false, "", nil
	case st.err != nil:
		return false, "it cannot be read: " + st.err.Error(), nil
	case !st.regular:
		return false, keptOdd, nil
	case e.sum == "":
		return false, keptNoSum, nil
	case st.sum != e.sum:
		return false, keptChanged, nil
	}
	if err := h.remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, "", err
	}
	return true, "", nil
}

// outcome is what became of one generated file.
type outcome struct {
	written bool
	kept    string // why it was left alone
	sum     string // checksum of its bytes, for the manifest
}

// writeChanged writes the files whose bytes differ, over a file only when
// it holds what wrote records, and reports what it did with each. Files
// are grouped by directory; each directory is opened once (through the
// Root, so it lies inside it) and its files are compared and written with
// system calls relative to it on single names (dirfd.go): a Root walks
// multi-component names one openat at a time and wraps every file in an
// os.File, which tripled the system calls of writing 4,000 files.
func writeChanged(root *os.Root, dir string, files []artifact.File, wrote map[string]string) ([]outcome, error) {
	byDir := map[string][]int{}
	var dirs []string
	for i, f := range files {
		d := path.Dir(f.Path)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], i)
	}
	out := make([]outcome, len(files))
	top, err := openRootDir(root, ".")
	if err != nil {
		return out, err
	}
	defer top.close()
	var g errgroup.Group
	// File I/O waits on the kernel more than on the CPU: more workers
	// than cores keep both busy.
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for _, d := range dirs {
		g.Go(func() error {
			h, ok := top.openChild(d)
			if !ok {
				var err error
				h, err = openRootDir(root, d)
				if errors.Is(err, fs.ErrNotExist) {
					if err = root.MkdirAll(d, 0o755); err == nil {
						h, err = openRootDir(root, d)
					}
				}
				if err != nil {
					return fmt.Errorf("write %s: %w", filepath.Join(dir, d), err)
				}
			}
			defer h.close()
			for _, i := range byDir[d] {
				out[i].sum = checksum(files[i].Content)
				name := path.Base(files[i].Path)
				sum, listed := wrote[files[i].Path]
				st := h.inspect(name, files[i].Content, listed && sum != "")
				switch {
				case st.same:
					continue
				case st.absent:
				case st.err != nil:
					out[i].kept = "it cannot be read: " + st.err.Error()
					continue
				case !st.regular:
					out[i].kept = keptOdd
					continue
				case !listed || sum == "":
					out[i].kept = keptNoSum
					continue
				case st.sum != sum:
					out[i].kept = keptChanged
					continue
				}
				out[i].written = true
				if err := h.write(name, files[i].Content, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", filepath.Join(dir, files[i].Path), err)
				}
			}
			return nil
		})
	}
	return out, g.Wait()
}

// entry is a file a manifest lists, and the checksum of what was written
// there (empty in a manifest of an older stackctl, which gave none).
type entry struct {
	path, sum string
}

// readManifest returns the files the previous run listed. An entry that
// is not a plain relative path (absolute, with "..", "." or empty
// components) is not followed, with a warning in ignored.
func readManifest(root *os.Root, name string) (entries []entry, ignored []string, err error) {
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := root.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	sum := "" // from the "# sha256 HEX" line just before a path
	for _, line := range strings.Split(string(data), "\n") {
		if s, ok := strings.CutPrefix(line, sumPrefix); ok && isChecksum(s) {
			sum = s
			continue
		}
		e := entry{path: line, sum: sum}
		sum = ""
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !plainPath(e.path) || e.path == name {
			ignored = append(ignored, fmt.Sprintf("entry %q ignored: not a plain path inside the directory", e.path))
			continue
		}
		if !seen[e.path] {
			seen[e.path] = true
			entries = append(entries, e)
		}
	}
	return entries, ignored, nil
}

// sumPrefix starts the comment line that gives the checksum of the path
// on the next line; a stackctl that does not know it reads the paths alone.
const sumPrefix = "# sha256 "

func isChecksum(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// plainPath: relative, slash-separated, and every component a name (no
// "..", ".", empty or backslashed one).
func plainPath(p string) bool {
	if p == "" || path.IsAbs(p) || strings.ContainsRune(p, '\\') || !filepath.IsLocal(filepath.FromSlash(p)) {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

// writeManifest lists every file with the checksum of its bytes, in path
// order, and writes it when that changed.
func writeManifest(top *dirHandle, opts Options, listed map[string]string) error {
	paths := make([]string, 0, len(listed))
	for p := range listed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	b.WriteString("# " + opts.Header + "\n")
	b.WriteString("# Each path follows the SHA-256 of the bytes written there; the file is replaced or removed only while it holds them.\n")
	for _, p := range paths {
		if listed[p] != "" {
			b.WriteString(sumPrefix + listed[p] + "\n")
		}
		b.WriteString(p + "\n")
	}
	if top.holds(opts.Manifest, b.Bytes()) {
		return nil
	}
	return top.write(opts.Manifest, b.Bytes(), 0o644)
}
