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
	"golang.org/x/sys/unix"
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
	// listed holds what DescriptorFiles saw of each file, so reading it
	// needs no second look before the open; the fstat after the open
	// checks it is still a regular file.
	listed map[string]listing
}

// listing is what the listing says of a file: its type (from the
// directory entry or lstat) and, for a file named on the command line,
// its lstat (nil for directory entries).
type listing struct {
	mode fs.FileMode
	info fs.FileInfo
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
	p.listed = map[string]listing{}
	add := func(name string, l listing) {
		clean := path.Clean(filepath.ToSlash(name))
		if !seen[clean] {
			seen[clean] = true
			files = append(files, name)
			p.listed[name] = l
			if l.info != nil {
				total += l.info.Size()
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
			add(name, listing{info.Mode(), info})
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
			// The entry's type comes with the listing (no lstat per file);
			// sizes are counted as the files are read.
			add(full, listing{mode: e.Type()})
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
	l, ok := p.listed[name]
	if !ok {
		info, err := lstat(p.fsys, name)
		if err != nil {
			return nil, err
		}
		l = listing{info.Mode(), info}
	}
	if what := fileKind(l.mode); what != "" {
		return nil, fmt.Errorf("is %s; descriptor and variable files must be regular files", what)
	}
	if l.info != nil && l.info.Size() > MaxFileSize {
		return nil, errTooLarge
	}
	var src []byte
	var err error
	if r, ok := p.fsys.(regularReader); ok {
		src, err = r.ReadRegular(name, l.info)
	} else {
		src, err = readOpened(p.fsys, name, l.info)
	}
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.total += len(src)
	over := p.total > MaxTotalSize
	p.mu.Unlock()
	if over {
		return nil, fmt.Errorf("the files read so far exceed the %d MiB limit for one load", MaxTotalSize>>20)
	}
	return src, nil
}

var (
	errTooLarge = fmt.Errorf("larger than the %d KiB limit for one file", MaxFileSize>>10)
	errChanged  = errors.New("changed while being opened; descriptor and variable files must be regular files")
)

// regularReader is implemented by file systems that read a regular file
// more directly than fs.FS allows (OSFS).
type regularReader interface {
	// ReadRegular reads name, which must still be a regular file (and the
	// one want describes, when given), of at most MaxFileSize bytes.
	ReadRegular(name string, want fs.FileInfo) ([]byte, error)
}

// ReadRegular opens name without following a symlink and without blocking
// (O_NOFOLLOW|O_NONBLOCK), checks with fstat that it is a regular file
// (the same one as want, when given) within the size limit, and reads it:
// four system calls, no os.File.
func (OSFS) ReadRegular(name string, want fs.FileInfo) ([]byte, error) {
	fd, err := unix.Open(filepath.FromSlash(name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errChanged
	}
	if want != nil {
		if ws, ok := want.Sys().(*syscall.Stat_t); ok && (uint64(ws.Dev) != uint64(st.Dev) || ws.Ino != st.Ino) {
			return nil, errChanged
		}
	}
	if st.Size > MaxFileSize {
		return nil, errTooLarge
	}
	buf := make([]byte, st.Size)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return buf[:n], nil
}

// readOpened is readRegular's path for other file systems (tests' maps).
func readOpened(fsys fs.FS, name string, want fs.FileInfo) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || (want != nil && !sameFile(want, info)) {
		return nil, errChanged
	}
	if info.Size() > MaxFileSize {
		return nil, errTooLarge
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(src) > MaxFileSize {
		err = errTooLarge
	}
	return src, err
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
