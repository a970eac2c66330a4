package composeimport

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing/fstest"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	yaml "go.yaml.in/yaml/v4"

	"github.com/stackctl/stackctl/internal/spec"
)

// Result is an import that succeeded: the descriptor files, ready to be
// written, and what the user must know.
type Result struct {
	Stack    string            // the stack's name
	Services []string          // stackctl service names, sorted
	Files    map[string][]byte // file name in the output directory -> content
	Secrets  []*SecretPut      // commands to run before deploying, in service order
	// Sources are the compose files and generated descriptors by the names
	// diagnostics use, for snippets; secret values in them are masked.
	Sources map[string]*hcl.File
}

// FileNames lists the files in write order (stack.hcl first).
func (r *Result) FileNames() []string {
	var names []string
	for n := range r.Files {
		if n != stackFileName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append([]string{stackFileName}, names...)
}

const stackFileName = "stack.hcl"

// Import reads the compose project, converts it and validates the result
// with the descriptor loader. The diagnostics hold every warning; on an
// error the result is nil and nothing may be written. The Sources of a
// failed import come back in the partial result for snippets.
func Import(ctx context.Context, opts Options) (*Result, hcl.Diagnostics) {
	p, loc, diags := load(ctx, opts)
	partial := &Result{Sources: map[string]*hcl.File{}}
	if p == nil {
		if loc != nil {
			addSources(partial, loc, nil)
		}
		return partial, diags
	}
	diags = append(diags, p.warnings...)
	stack := dnsName(p.Name)
	domain := opts.Domain
	if domain == "" {
		domain = stack + ".localhost"
	}
	c := &converter{
		p: p, stack: stack, domain: domain, outDir: opts.OutDir,
		names: map[string]string{}, skipped: map[string]string{}, hosts: map[string]string{},
		refs: map[string]map[string][]ref{}, ev: map[string]*evidence{}, ports: map[string][]*port{},
		shared: map[string]*secretRef{}, putAt: map[string]*SecretPut{}, strip: map[string][]string{},
	}
	descs := c.convert()
	diags = append(diags, c.diags...)
	addSources(partial, p.loc, &c.red)
	if len(descs) == 0 && !diags.HasErrors() {
		diags = append(diags, errorDiag("No services to import",
			"The compose project has no service that can become a stackctl service (check --profile: services of inactive profiles are left out).", nil))
	}
	if diags.HasErrors() {
		return partial, diags
	}

	res := &Result{Stack: stack, Files: map[string][]byte{}, Sources: partial.Sources, Secrets: c.puts}
	var shown []string
	for _, s := range p.loc.files {
		shown = append(shown, s.name)
	}
	res.Files[stackFileName] = writeStack(&stackFile{Name: stack, Domain: domain, Sources: shown, Images: c.images})
	for _, d := range descs {
		res.Services = append(res.Services, d.Name)
		res.Files[descriptorFile(d.Name)] = writeDescriptor(d)
	}

	// The import's promise: what it writes passes `stackctl validate`.
	vd, files := validate(opts.OutDir, res)
	for name, f := range files {
		res.Sources[name] = f
	}
	composeOf := map[string]string{} // generated file -> compose service
	for _, d := range descs {
		composeOf[filepath.ToSlash(filepath.Join(outDirOr(opts.OutDir, stack), descriptorFile(d.Name)))] = d.Compose
	}
	for _, d := range vd {
		switch {
		case d.Severity == hcl.DiagError:
			diags = append(diags, d)
		case d.Summary == "Image without a pinned tag" && d.Subject != nil && composeOf[d.Subject.Filename] != "":
			// Said where it can be fixed: at the compose file's image line.
			moved := *d
			moved.Subject = p.loc.service(composeOf[d.Subject.Filename], key("image"))
			diags = append(diags, &moved)
		case !coveredWarnings[d.Summary]:
			diags = append(diags, d)
		}
	}
	if vd.HasErrors() {
		diags = append(diags, errorDiag("Import does not validate",
			"The descriptors generated from the compose file do not pass stackctl validate (above); nothing was written. Adjust the compose file where the errors point, or report the case.", nil))
		return partial.withSources(res.Sources), diags
	}
	return res, diags
}

// withSources hands a failed import's snippets (compose and generated
// files) to the caller.
func (r *Result) withSources(s map[string]*hcl.File) *Result {
	r.Sources = s
	return r
}

// coveredWarnings are validation warnings the import has already given,
// with the reason, at the compose line that causes them.
var coveredWarnings = map[string]bool{"Service without a health check": true}

// DefaultDir is where an import writes without -o: named after the stack,
// and never the compose project's own directory.
func DefaultDir(stack string) string { return "stackctl-" + stack }

func outDirOr(dir, stack string) string {
	if dir == "" {
		return DefaultDir(stack)
	}
	return dir
}

// descriptorFile names a service's file; "stack.hcl" is taken.
func descriptorFile(service string) string {
	if service+".hcl" == stackFileName {
		return service + "-service.hcl"
	}
	return service + ".hcl"
}

// validate loads the generated files with the real descriptor loader,
// from memory, under the names they will have on disk.
func validate(dir string, res *Result) (hcl.Diagnostics, map[string]*hcl.File) {
	dir = outDirOr(dir, res.Stack)
	mem := memFS{}
	var paths []string
	for _, n := range res.FileNames() {
		p := filepath.ToSlash(filepath.Join(dir, n))
		mem[p] = res.Files[n]
		paths = append(paths, p)
	}
	parser := spec.NewParser(mem)
	_, diags := parser.Load(paths, spec.LoadOptions{})
	return diags, parser.Files()
}

// memFS serves files by the exact names the parser asks for, whatever
// they look like (fstest.MapFS refuses "../x" and absolute paths).
type memFS map[string][]byte

// Open implements fs.FS.
func (m memFS) Open(name string) (fs.File, error) {
	b, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return fstest.MapFS{"f": &fstest.MapFile{Data: b, Mode: 0o644}}.Open("f")
}

// addSources registers the compose files for snippets, with every secret
// value masked: the lines that set a secret-looking variable anywhere in
// the files (overridden values and anchors included), and the values
// themselves wherever else they appear.
func addSources(r *Result, loc *locator, red *redactor) {
	for _, s := range loc.allSources() {
		masked := map[int]int{} // line -> column of the key
		secretLines(s.root, masked)
		lines := strings.Split(string(s.src), "\n")
		if s.root == nil {
			// Not valid YAML (or empty): the lines are judged one by one.
			secretTextLines(lines, masked)
		}
		for i, l := range lines {
			if col, ok := masked[i+1]; ok {
				lines[i] = maskLine(l, col)
			} else if red != nil {
				lines[i] = red.redact(l)
			}
			lines[i] = shortLine(lines[i])
		}
		r.Sources[s.name] = &hcl.File{Bytes: []byte(strings.Join(lines, "\n"))}
	}
}

// secretLines walks a YAML tree and records the lines of NAME: value
// pairs and "NAME=value" items whose name or value looks secret.
func secretLines(n *yaml.Node, into map[int]int) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && secretValue(k.Value, v.Value) {
				for l := k.Line; l <= max(k.Line, v.Line+strings.Count(v.Value, "\n")); l++ {
					into[l] = k.Column
				}
				continue
			}
			secretLines(v, into)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, it := range n.Content {
			if it.Kind == yaml.ScalarNode {
				if name, v, ok := strings.Cut(it.Value, "="); ok && secretValue(name, v) {
					into[it.Line] = it.Column
				} else if urlHasPassword(it.Value) {
					into[it.Line] = it.Column
				}
				continue
			}
			secretLines(it, into)
		}
	}
}

var keyValueLineRe = regexp.MustCompile(`^(\s*(?:-\s*)?["']?)([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[:=]\s*(.*)$`)

// secretTextLines masks, in a file that does not parse, the lines that
// look like a secret-named key with a value, or hold a URL with a
// password: its YAML error is shown with its line.
func secretTextLines(lines []string, into map[int]int) {
	for i, l := range lines {
		if m := keyValueLineRe.FindStringSubmatch(l); m != nil && secretValue(m[2], strings.Trim(m[3], `"' `)) {
			into[i+1] = len(m[1]) + 1
		} else if urlHasPassword(l) {
			into[i+1] = 1
		}
	}
}

// maxSnippetLine bounds a source line shown under a diagnostic; a
// minified or generated file can hold megabytes on one line.
const maxSnippetLine = 500

func shortLine(l string) string {
	if len(l) <= maxSnippetLine {
		return l
	}
	cut := maxSnippetLine
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + " ..."
}

// maskLine keeps a YAML line up to the key's separator (":" or "=") after
// column col and replaces the value.
func maskLine(line string, col int) string {
	start := min(max(col-1, 0), len(line))
	i := strings.IndexAny(line[start:], ":=")
	if i < 0 {
		return line[:start] + "<secret>"
	}
	return line[:start+i+1] + " <secret>"
}

// Write puts the files into dir, which must not exist or be empty. The
// files are written to a temporary directory beside it that is renamed
// into place, so an interrupted import leaves nothing half-written.
func (r *Result) Write(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil {
		if len(entries) > 0 {
			return fmt.Errorf("%s already exists and is not empty; import into a new directory (-o) or remove it", dir)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".import-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone after a successful rename
	for _, n := range r.FileNames() {
		if err := os.WriteFile(filepath.Join(tmp, n), r.Files[n], 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		// An existing empty directory (perhaps ".") keeps its identity:
		// the files move into it.
		for _, n := range r.FileNames() {
			if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("write %s: %w", dir, err)
			}
		}
		return nil
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	return nil
}
