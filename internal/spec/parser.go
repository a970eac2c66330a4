package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// OSFS is an fs.FS over the operating system's files that accepts the paths
// a user types (relative with "..", or absolute), unlike os.DirFS. Files
// are opened without following a final symlink and without blocking on a
// FIFO (O_NOFOLLOW|O_NONBLOCK); the parser checks what it opened with
// fstat before reading (readRegular).
type OSFS struct{}

// Open implements fs.FS.
func (OSFS) Open(name string) (fs.File, error) {
	return os.OpenFile(filepath.FromSlash(name), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// ReadDir implements fs.ReadDirFS; a directory named by the user may be a
// symlink, so this one follows it.
func (OSFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(filepath.FromSlash(name)) }

// Stat implements fs.StatFS (following symlinks).
func (OSFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(filepath.FromSlash(name)) }

// Lstat implements fs.ReadLinkFS: it describes a symlink itself.
func (OSFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(filepath.FromSlash(name)) }

// ReadLink implements fs.ReadLinkFS.
func (OSFS) ReadLink(name string) (string, error) { return os.Readlink(filepath.FromSlash(name)) }

// Parser reads descriptor files through an fs.FS so that tests can pass a
// map of files. It keeps every parsed file for diagnostics' source snippets.
type Parser struct {
	fsys  fs.FS
	p     *hclparse.Parser
	mu    sync.Mutex // guards total while files are read in parallel
	total int
	// listed holds what DescriptorFiles saw of each file (lstat), so
	// reading it needs no second lstat; the fstat after open still checks
	// it is the same file.
	listed map[string]fs.FileInfo
}

// NewParser returns a parser reading from fsys.
func NewParser(fsys fs.FS) *Parser {
	return &Parser{fsys: fsys, p: hclparse.NewParser()}
}

// Files returns the parsed files by name, for hcl.NewDiagnosticTextWriter.
func (p *Parser) Files() map[string]*hcl.File { return p.p.Files() }

// Sources returns the raw bytes of every file read.
func (p *Parser) Sources() map[string][]byte { return p.p.Sources() }

// DescriptorFiles expands paths (files or directories) into the list of
// descriptor files to read: a directory contributes its *.hcl files, not its
// subdirectories, so jobs/platform/ can sit beside the descriptors.
//
// Descriptors must be regular files. A directory named on the command line
// may be a symlink, but a file (named, or found in a directory) that is a
// symlink, FIFO, socket or device is refused before it is opened: a link
// could lead out of the directory (and a diagnostic's snippet would print
// what it points at), a FIFO would block the read forever.
func (p *Parser) DescriptorFiles(paths []string) ([]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	var files []string
	total := int64(0)
	p.listed = map[string]fs.FileInfo{}
	add := func(name string, info fs.FileInfo) {
		clean := path.Clean(filepath.ToSlash(name))
		if !seen[clean] {
			seen[clean] = true
			files = append(files, name)
			p.listed[name] = info
			if info != nil {
				total += info.Size()
			}
		}
	}
	for _, arg := range paths {
		name := filepath.ToSlash(arg)
		info, err := lstat(p.fsys, name)
		if err != nil {
			diags = append(diags, errorDiag("Cannot read descriptor path",
				fmt.Sprintf("%s: %s. Pass a descriptor file or a directory of *.hcl files.", arg, errText(err)), nil))
			continue
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			// A directory may be reached through a link; a file may not.
			if target, err := fs.Stat(p.fsys, name); err == nil && target.IsDir() {
				info = target
			}
		}
		if !info.IsDir() {
			if d := notRegular(arg, info.Mode()); d != nil {
				diags = append(diags, d)
				continue
			}
			add(name, info)
			continue
		}
		entries, err := fs.ReadDir(p.fsys, name)
		if err != nil {
			diags = append(diags, errorDiag("Cannot read directory", fmt.Sprintf("%s: %s.", arg, errText(err)), nil))
			continue
		}
		found := 0
		for _, e := range entries { // sorted by name
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".hcl") || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			found++
			full := strings.TrimSuffix(name, "/") + "/" + e.Name()
			if d := notRegular(full, e.Type()); d != nil {
				diags = append(diags, d)
				continue
			}
			info, err := e.Info()
			if err != nil {
				info = nil
			}
			add(full, info)
		}
		if found == 0 {
			diags = append(diags, errorDiag("No descriptor files",
				fmt.Sprintf("The directory %s holds no *.hcl files.", arg), nil))
		}
	}
	if len(files) > MaxFiles {
		diags = append(diags, errorDiag("Too many descriptor files",
			fmt.Sprintf("%d files were given; the limit is %d.", len(files), MaxFiles), nil))
		return nil, diags
	}
	if total > MaxTotalSize {
		diags = append(diags, errorDiag("Descriptors too large",
			fmt.Sprintf("The %d files given hold %d MiB; the limit for one load is %d MiB.", len(files), total>>20, MaxTotalSize>>20), nil))
		return nil, diags
	}
	return files, diags
}

// lstat describes name without following a final symlink when fsys can.
func lstat(fsys fs.FS, name string) (fs.FileInfo, error) {
	if l, ok := fsys.(fs.ReadLinkFS); ok {
		return l.Lstat(name)
	}
	return fs.Stat(fsys, name)
}

// notRegular refuses anything but a regular file, saying what it is.
func notRegular(name string, mode fs.FileMode) *hcl.Diagnostic {
	what := fileKind(mode)
	if what == "" {
		return nil
	}
	return errorDiag("Not a regular file",
		fmt.Sprintf("%s is %s. Descriptor and variable files must be regular files%s.", name, what, symlinkHint(mode)), nil)
}

// fileKind names what a non-regular file is, or returns "".
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return ""
	case mode&fs.ModeSymlink != 0:
		return "a symbolic link"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

func symlinkHint(mode fs.FileMode) string {
	if mode&fs.ModeSymlink != 0 {
		return "; name the file it points to instead"
	}
	return ""
}

// parseAll reads and parses files in parallel, one worker per core, and
// registers them in order. Parsing is most of a load's cost and each file
// is independent.
func (p *Parser) parseAll(names []string) ([]*hcl.File, []hcl.Diagnostics) {
	files := make([]*hcl.File, len(names))
	usable := make([]bool, len(names))
	diags := make([]hcl.Diagnostics, len(names))
	inParallel(len(names), func(i int) { files[i], usable[i], diags[i] = p.parse(names[i]) })
	for i, f := range files {
		if f != nil {
			p.p.AddFile(names[i], f)
		}
		if !usable[i] {
			files[i] = nil
		}
	}
	return files, diags
}

// ParseFile reads and parses one HCL file after checking its size and
// nesting depth. The file is nil when its content must not be used.
func (p *Parser) ParseFile(name string) (*hcl.File, hcl.Diagnostics) {
	if f, ok := p.p.Files()[name]; ok {
		return f, nil
	}
	f, usable, diags := p.parse(name)
	if f != nil {
		p.p.AddFile(name, f)
	}
	if !usable {
		return nil, diags
	}
	return f, diags
}

// parse reads and parses one file without registering it; safe to call
// from several goroutines. A file refused for its nesting comes back
// unusable but with its source, so the diagnostic still gets a snippet.
func (p *Parser) parse(name string) (f *hcl.File, usable bool, diags hcl.Diagnostics) {
	src, err := p.readRegular(name)
	if err != nil {
		return nil, false, hcl.Diagnostics{errorDiag("Cannot read file", fmt.Sprintf("%s: %s.", name, errText(err)), nil)}
	}
	return parseSource(name, src)
}

// ParseSource parses src read from elsewhere (fmt's standard input) under
// the same limits as a file, and keeps it for diagnostics' snippets. The
// file is nil when its content must not be used.
func (p *Parser) ParseSource(name string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if len(src) > MaxFileSize {
		return nil, hcl.Diagnostics{errorDiag("Input too large",
			fmt.Sprintf("%s is larger than the %d KiB limit for one file.", name, MaxFileSize>>10), nil)}
	}
	f, usable, diags := parseSource(name, src)
	if f != nil {
		p.p.AddFile(name, f)
	}
	if !usable {
		return nil, diags
	}
	return f, diags
}

func parseSource(name string, src []byte) (f *hcl.File, usable bool, diags hcl.Diagnostics) {
	if d := checkNesting(name, src); d != nil {
		// Keep the source for the snippet, without handing it to the
		// HCL parser.
		return &hcl.File{Bytes: src, Body: hcl.EmptyBody()}, false, hcl.Diagnostics{d}
	}
	f, diags = hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if f != nil && !diags.HasErrors() {
		if d := checkForNesting(f); d != nil {
			return f, false, append(diags, d)
		}
	}
	return f, f != nil, diags
}

// readRegular reads a regular file of at most MaxFileSize bytes. It
// checks what name is before opening it (a FIFO is never opened), opens
// it without following a symlink, and checks with fstat that what it
// opened is that same regular file.
func (p *Parser) readRegular(name string) ([]byte, error) {
	before := p.listed[name]
	if before == nil {
		var err error
		if before, err = lstat(p.fsys, name); err != nil {
			return nil, err
		}
	}
	if what := fileKind(before.Mode()); what != "" {
		return nil, fmt.Errorf("is %s; descriptor and variable files must be regular files", what)
	}
	if before.Size() > MaxFileSize {
		return nil, fmt.Errorf("larger than the %d KiB limit for one file", MaxFileSize>>10)
	}
	f, err := p.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || !sameFile(before, info) {
		return nil, errors.New("changed while being opened; descriptor and variable files must be regular files")
	}
	buf := make([]byte, 0, min(info.Size(), MaxFileSize)+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > MaxFileSize {
			return nil, fmt.Errorf("larger than the %d KiB limit for one file", MaxFileSize>>10)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) { // grew since fstat
			buf = append(buf, 0)[:len(buf)]
		}
	}
	p.mu.Lock()
	p.total += len(buf)
	over := p.total > MaxTotalSize
	p.mu.Unlock()
	if over {
		return nil, fmt.Errorf("the files read so far exceed the %d MiB limit for one load", MaxTotalSize>>20)
	}
	return buf, nil
}

// sameFile compares device and inode when both infos come from the
// operating system; other file systems (tests' maps) have no identity.
func sameFile(a, b fs.FileInfo) bool {
	if _, ok := a.Sys().(*syscall.Stat_t); !ok {
		return true
	}
	return os.SameFile(a, b)
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, syscall.ELOOP):
		return "is a symbolic link; descriptor and variable files must be regular files"
	}
	return err.Error()
}
