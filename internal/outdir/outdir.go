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

	changed, err := writeChanged(root, dir, files)
	if err != nil {
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

// writeChanged writes the files whose bytes differ and reports which.
// Files are grouped by directory; each directory is opened once (through
// the Root, so it lies inside it) and its files are compared and written
// with system calls relative to it on single names (dirfd.go): a Root
// walks multi-component names one openat at a time and wraps every file in
// an os.File, which tripled the system calls of writing 4,000 files.
func writeChanged(root *os.Root, dir string, files []artifact.File) ([]bool, error) {
	byDir := map[string][]int{}
	var dirs []string
	for i, f := range files {
		d := path.Dir(f.Path)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], i)
	}
	changed := make([]bool, len(files))
	top, err := openRootDir(root, ".")
	if err != nil {
		return changed, err
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
				name := path.Base(files[i].Path)
				if h.holds(name, files[i].Content) {
					continue
				}
				changed[i] = true
				if err := h.write(name, files[i].Content, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", filepath.Join(dir, files[i].Path), err)
				}
			}
			return nil
		})
	}
	return changed, g.Wait()
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
	h, err := openRootDir(root, ".")
	if err != nil {
		return err
	}
	defer h.close()
	if h.holds(opts.Manifest, b.Bytes()) {
		return nil
	}
	return h.write(opts.Manifest, b.Bytes(), 0o644)
}
