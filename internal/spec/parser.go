package spec

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// OSFS is an fs.FS over the operating system's files that accepts the paths
// a user types (relative with "..", or absolute), unlike os.DirFS.
type OSFS struct{}

// Open implements fs.FS.
func (OSFS) Open(name string) (fs.File, error) { return os.Open(filepath.FromSlash(name)) }

// Parser reads descriptor files through an fs.FS so that tests can pass a
// map of files. It keeps every parsed file for diagnostics' source snippets.
type Parser struct {
	fsys  fs.FS
	p     *hclparse.Parser
	total int
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
func (p *Parser) DescriptorFiles(paths []string) ([]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	var files []string
	add := func(name string) {
		clean := path.Clean(filepath.ToSlash(name))
		if !seen[clean] {
			seen[clean] = true
			files = append(files, name)
		}
	}
	for _, arg := range paths {
		name := filepath.ToSlash(arg)
		info, err := fs.Stat(p.fsys, name)
		if err != nil {
			diags = append(diags, errorDiag("Cannot read descriptor path",
				fmt.Sprintf("%s: %s. Pass a descriptor file or a directory of *.hcl files.", arg, errText(err)), nil))
			continue
		}
		if !info.IsDir() {
			add(name)
			continue
		}
		entries, err := fs.ReadDir(p.fsys, name)
		if err != nil {
			diags = append(diags, errorDiag("Cannot read directory", fmt.Sprintf("%s: %s.", arg, errText(err)), nil))
			continue
		}
		var names []string
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			diags = append(diags, errorDiag("No descriptor files",
				fmt.Sprintf("The directory %s holds no *.hcl files.", arg), nil))
		}
		for _, n := range names {
			add(strings.TrimSuffix(name, "/") + "/" + n)
		}
	}
	if len(files) > MaxFiles {
		diags = append(diags, errorDiag("Too many descriptor files",
			fmt.Sprintf("%d files were given; the limit is %d.", len(files), MaxFiles), nil))
		return nil, diags
	}
	return files, diags
}

// ParseFile reads and parses one HCL file after checking its size and
// nesting depth.
func (p *Parser) ParseFile(name string) (*hcl.File, hcl.Diagnostics) {
	if f, ok := p.p.Files()[name]; ok {
		return f, nil
	}
	src, err := p.readLimited(name)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot read file", fmt.Sprintf("%s: %s.", name, errText(err)), nil)}
	}
	if d := checkNesting(name, src); d != nil {
		// Register the source so the diagnostic can show a snippet, without
		// handing it to the HCL parser.
		p.p.AddFile(name, &hcl.File{Bytes: src, Body: hcl.EmptyBody()})
		return nil, hcl.Diagnostics{d}
	}
	f, diags := p.p.ParseHCL(src, name)
	if f != nil && !diags.HasErrors() {
		if d := checkForNesting(f); d != nil {
			return nil, append(diags, d)
		}
	}
	return f, diags
}

func (p *Parser) readLimited(name string) ([]byte, error) {
	f, err := p.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return nil, errors.New("is a directory")
	}
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 32*1024)
	for {
		n, err := f.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if len(buf) > MaxFileSize {
			return nil, fmt.Errorf("larger than the %d KiB limit for one file", MaxFileSize>>10)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	p.total += len(buf)
	if p.total > MaxTotalSize {
		return nil, fmt.Errorf("the files read so far exceed the %d MiB limit for one load", MaxTotalSize>>20)
	}
	return buf, nil
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
	}
	return err.Error()
}
