// Package outdir writes generated files at the edge of the program. Every
// file is written atomically (a temporary file in the same directory, then
// a rename), so a reader never sees half a file. A whole output directory
// is written incrementally, like `gofmt -l` checks before it writes: a file
// whose bytes are already there is not touched (its mtime stays), and the
// files of a previous run that are no longer generated are removed, but
// only those the manifest of that run lists: files stackctl did not write
// are never deleted.
//
// All access goes through an os.Root, so neither a generated path nor a
// manifest entry nor a symlink inside the directory can reach outside it.
package outdir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/stackctl/stackctl/internal/artifact"
)

// WriteFile writes data to path atomically, creating the directory when
// needed. It is the single-file form of what Sync does, for callers that
// write one file (fmt, the dev stack's state).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := writeAtomic(root, filepath.Base(path), data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tmpSeq makes temporary names unique within the process; the pid makes
// them unique across processes writing the same directory.
var tmpSeq atomic.Int64

// writeAtomic writes name below root through a temporary file and a
// rename. perm is set explicitly, so the umask does not narrow it.
func writeAtomic(root *os.Root, name string, data []byte, perm fs.FileMode) error {
	dir, base := path.Split(name)
	var tmp string
	var f *os.File
	for {
		tmp = dir + "." + base + ".tmp-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(tmpSeq.Add(1), 10)
		var err error
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

// Result says what Sync did, each list in path order.
type Result struct {
	Written   []string // created or changed
	Unchanged []string // already held these bytes: not touched
	Removed   []string // listed by the previous manifest, no longer generated
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
// whose bytes differ are written, in parallel; then the files of the
// previous manifest that are gone are removed (with Prune), and the
// manifest is rewritten when its list changed.
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
	previous, err := readManifest(root, opts.Manifest)
	if err != nil {
		return res, err
	}

	changed := make([]bool, len(files))
	var g errgroup.Group
	// File I/O waits on the kernel more than on the CPU: more workers
	// than cores keep both busy.
	g.SetLimit(2 * runtime.GOMAXPROCS(0))
	for i, f := range files {
		g.Go(func() error {
			if same(root, f.Path, f.Content) {
				return nil
			}
			changed[i] = true
			if d := path.Dir(f.Path); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return fmt.Errorf("write %s: %w", filepath.Join(dir, f.Path), err)
				}
			}
			if err := writeAtomic(root, f.Path, f.Content, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", filepath.Join(dir, f.Path), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	current := map[string]bool{}
	for i, f := range files {
		current[f.Path] = true
		if changed[i] {
			res.Written = append(res.Written, f.Path)
		} else {
			res.Unchanged = append(res.Unchanged, f.Path)
		}
	}

	listed := map[string]bool{}
	for p := range current {
		listed[p] = true
	}
	for _, p := range previous {
		if current[p] {
			continue
		}
		if !opts.Prune {
			listed[p] = true
			continue
		}
		if err := root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("remove %s: %w", filepath.Join(dir, p), err)
		}
		res.Removed = append(res.Removed, p)
		// Remove the service's directory once it is empty; a directory
		// holding anything else stays.
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if root.Remove(d) != nil {
				break
			}
		}
	}
	sort.Strings(res.Written)
	sort.Strings(res.Unchanged)
	sort.Strings(res.Removed)
	return res, writeManifest(root, opts, listed)
}

// same reports whether name is a regular file holding exactly want. It
// never opens anything else (a FIFO would block the read).
func same(root *os.Root, name string, want []byte) bool {
	info, err := root.Lstat(name)
	if err != nil || !info.Mode().IsRegular() || info.Size() != int64(len(want)) {
		return false
	}
	got, err := root.ReadFile(name)
	return err == nil && bytes.Equal(got, want)
}

// readManifest returns the paths the previous run listed, skipping any
// entry that is not a plain relative path (a tampered manifest cannot
// name files outside the directory, and the Root refuses them anyway).
func readManifest(root *os.Root, name string) ([]string, error) {
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	data, err := root.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") || line == name || !filepath.IsLocal(filepath.FromSlash(line)) {
			continue
		}
		paths = append(paths, line)
	}
	return paths, nil
}

func writeManifest(root *os.Root, opts Options, listed map[string]bool) error {
	paths := make([]string, 0, len(listed))
	for p := range listed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	b.WriteString("# " + opts.Header + "\n")
	for _, p := range paths {
		b.WriteString(p + "\n")
	}
	if same(root, opts.Manifest, b.Bytes()) {
		return nil
	}
	return writeAtomic(root, opts.Manifest, b.Bytes(), 0o644)
}
