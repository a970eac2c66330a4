package composeimport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	yaml "go.yaml.in/yaml/v4"
)

// The compose library merges files, extends and includes into one model
// and forgets where each value came from. The locator keeps the YAML node
// trees of the source files so that a warning about service "web"'s
// `build` can still name compose.yaml:12:5: it looks in the files in
// reverse order (a later -f file overrides an earlier one), then follows
// `extends` to the base service.

// source is one compose file as read from disk.
type source struct {
	name string // as shown to the user (the path given, or relative to it)
	abs  string
	src  []byte
	root *yaml.Node // the document's top mapping; nil for an empty file
}

type locator struct {
	files []*source // the -f files, in order
	byAbs map[string]*source
}

// step selects a child of a YAML node: a mapping key or a sequence item.
// It returns the key node (or the item) to point at and the value node to
// descend into.
type step func(n *yaml.Node) (at, next *yaml.Node)

// key selects the value of a mapping key, also where the mapping takes
// it from an anchor through a merge key (<<: *defaults), as compose files
// sharing settings between services do.
func key(k string) step {
	var look func(n *yaml.Node, depth int) (*yaml.Node, *yaml.Node)
	look = func(n *yaml.Node, depth int) (*yaml.Node, *yaml.Node) {
		n = deref(n)
		if n == nil || n.Kind != yaml.MappingNode || depth > 8 {
			return nil, nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				return n.Content[i], deref(n.Content[i+1])
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != "<<" {
				continue
			}
			merged := deref(n.Content[i+1])
			sources := []*yaml.Node{merged}
			if merged != nil && merged.Kind == yaml.SequenceNode {
				sources = merged.Content
			}
			for _, m := range sources {
				if at, v := look(m, depth+1); at != nil {
					return at, v
				}
			}
		}
		return nil, nil
	}
	return func(n *yaml.Node) (*yaml.Node, *yaml.Node) { return look(n, 0) }
}

// deref follows an alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// entry selects an item of a mapping or a list of "NAME=value" (or
// "NAME:alias") strings by its name, the two shapes compose accepts for
// environment, labels, links and the like.
func entry(name string) step {
	return func(n *yaml.Node) (*yaml.Node, *yaml.Node) {
		n = deref(n)
		if n == nil {
			return nil, nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			return key(name)(n)
		case yaml.SequenceNode:
			for _, it := range n.Content {
				if it.Kind != yaml.ScalarNode {
					continue
				}
				v := it.Value
				if v == name || strings.HasPrefix(v, name+"=") || strings.HasPrefix(v, name+":") {
					return it, it
				}
			}
		}
		return nil, nil
	}
}

// item selects the first sequence item for which match is true.
func item(match func(*yaml.Node) bool) step {
	return func(n *yaml.Node) (*yaml.Node, *yaml.Node) {
		n = deref(n)
		if n == nil || n.Kind != yaml.SequenceNode {
			return nil, nil
		}
		for _, it := range n.Content {
			if it = deref(it); match(it) {
				return it, it
			}
		}
		return nil, nil
	}
}

// newLocator reads and parses the compose files. A YAML syntax error comes
// back as a diagnostic with the file, line and column of the problem.
func newLocator(paths []string) (*locator, hcl.Diagnostics) {
	l := &locator{byAbs: map[string]*source{}}
	var diags hcl.Diagnostics
	for _, p := range paths {
		s, d := l.read(p, p)
		diags = append(diags, d...)
		if s != nil {
			l.files = append(l.files, s)
		}
	}
	if diags.HasErrors() {
		return l, diags
	}
	// Files reached through `extends: {file: ...}` and `include` are read
	// too, so that their syntax errors and warnings point into them.
	for i := 0; i < len(l.files); i++ {
		diags = append(diags, l.follow(l.files[i])...)
	}
	return l, diags
}

// follow reads the files a compose file extends or includes.
func (l *locator) follow(s *source) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var refs []string
	_, services := key("services")(s.root)
	if services != nil && services.Kind == yaml.MappingNode {
		for i := 1; i < len(services.Content); i += 2 {
			_, ext := key("extends")(services.Content[i])
			if _, f := key("file")(ext); f != nil && f.Kind == yaml.ScalarNode {
				refs = append(refs, f.Value)
			}
		}
	}
	if _, inc := key("include")(s.root); inc != nil && inc.Kind == yaml.SequenceNode {
		for _, it := range inc.Content {
			switch it.Kind {
			case yaml.ScalarNode:
				refs = append(refs, it.Value)
			case yaml.MappingNode:
				_, p := key("path")(it)
				if p != nil && p.Kind == yaml.ScalarNode {
					refs = append(refs, p.Value)
				} else if p != nil && p.Kind == yaml.SequenceNode {
					for _, pp := range p.Content {
						refs = append(refs, pp.Value)
					}
				}
			}
		}
	}
	for _, r := range refs {
		if strings.Contains(r, "$") || strings.Contains(r, "://") {
			continue // interpolated or remote: the compose library reports it
		}
		abs := r
		if !filepath.IsAbs(r) {
			abs = filepath.Join(filepath.Dir(s.abs), r)
		}
		if _, ok := l.byAbs[filepath.Clean(abs)]; ok {
			continue
		}
		shown := r
		if !filepath.IsAbs(r) {
			shown = filepath.Join(filepath.Dir(s.name), r)
		}
		ns, d := l.read(abs, shown)
		diags = append(diags, d...)
		if ns != nil {
			diags = append(diags, l.follow(ns)...)
		}
	}
	return diags
}

// read loads and parses one file once, keyed by its absolute path; shown
// is the name diagnostics use.
func (l *locator) read(path, shown string) (*source, hcl.Diagnostics) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file", fmt.Sprintf("%s: %v.", shown, err), nil)}
	}
	if s, ok := l.byAbs[abs]; ok {
		return s, nil
	}
	info, err := os.Stat(abs)
	switch {
	case err != nil:
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file",
			fmt.Sprintf("%s: %s. Pass the path of a compose file (compose.yaml, docker-compose.yml, ...).", shown, errText(err)), nil)}
	case info.IsDir():
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file",
			fmt.Sprintf("%s is a directory; pass the compose file inside it.", shown), nil)}
	case info.Size() > maxComposeFile:
		return nil, hcl.Diagnostics{errorDiag("Compose file too large",
			fmt.Sprintf("%s is larger than the %d KiB limit.", shown, maxComposeFile>>10), nil)}
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file", fmt.Sprintf("%s: %s.", shown, errText(err)), nil)}
	}
	s := &source{name: shown, abs: abs, src: src}
	l.byAbs[abs] = s
	root, d := parseYAML(shown, src)
	if d != nil {
		return s, hcl.Diagnostics{d}
	}
	s.root = root
	return s, nil
}

// sentenceBody capitalises nothing and drops a final period.
func sentenceBody(s string) string { return strings.TrimSuffix(strings.TrimSpace(s), ".") }

// maxComposeFile bounds what is read; real compose files are a few KiB.
const maxComposeFile = 4 << 20

// parseYAML parses one document into a node tree; a syntax error becomes a
// diagnostic at the position the parser reports.
func parseYAML(name string, src []byte) (*yaml.Node, *hcl.Diagnostic) {
	var doc yaml.Node
	err := yaml.Unmarshal(src, &doc)
	if err != nil {
		line, col, msg := yamlErrorPos(err)
		var subject *hcl.Range
		if line > 0 {
			subject = pointRange(name, src, line, col, 1)
		}
		if subject == nil {
			msg = name + ": " + msg
		}
		return nil, errorDiag("Invalid YAML",
			fmt.Sprintf("%s. Fix the syntax (docker compose config shows the same error).", sentenceBody(msg)), subject)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		return doc.Content[0], nil
	}
	return nil, nil
}

var yamlPosRe = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: ([^:]*)$`)

// yamlErrorPos returns the 1-based line and column of a YAML syntax error
// and its message without the position prefix. The YAML v4 release
// candidate counts inconsistently: scanner errors carry 1-based lines and
// 0-based columns, parser errors 0-based lines and columns, composer
// errors (a *ParserError) 1-based both; the error types are internal, so
// their Mark fields are read through reflection. TestYAMLErrorPositions
// pins the result for each kind, so a library update that changes the
// counting fails there.
func yamlErrorPos(err error) (line, col int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlPosRe.FindStringSubmatch(msg); m != nil {
		msg = m[3]
	}
	v := reflect.ValueOf(err)
	ptr := v.Kind() == reflect.Pointer
	if ptr {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, 0, msg
	}
	mark := v.FieldByName("Mark")
	if !mark.IsValid() || mark.Kind() != reflect.Struct {
		return 0, 0, msg
	}
	l, c := mark.FieldByName("Line"), mark.FieldByName("Column")
	if !l.IsValid() || !c.IsValid() || !l.CanInt() || !c.CanInt() {
		return 0, 0, msg
	}
	line, col = int(l.Int()), int(c.Int())
	switch typ := v.Type().Name(); {
	case ptr: // composer: node positions, 1-based
	case typ == "ScannerError":
		col++
	case typ == "ParserError":
		line++
		col++
	}
	if col < 1 {
		col = 1
	}
	return line, col, msg
}

// errText is the reason of a file error without the path it repeats.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if os.IsNotExist(err) {
		return "no such file or directory"
	}
	if os.IsPermission(err) {
		return "permission denied"
	}
	return err.Error()
}

// pointRange is a range of length characters at line:col; the byte
// offsets let diagnostics sort by position.
func pointRange(file string, src []byte, line, col, length int) *hcl.Range {
	off := 0
	for l := 1; l < line && off < len(src); l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			off = len(src)
			break
		}
		off += i + 1
	}
	off = min(off+col-1, len(src))
	return &hcl.Range{
		Filename: file,
		Start:    hcl.Pos{Line: line, Column: col, Byte: off},
		End:      hcl.Pos{Line: line, Column: col + length, Byte: off + length},
	}
}

// nodeRange covers a node's first line from its column; plain scalars are
// underlined whole.
func nodeRange(s *source, n *yaml.Node) *hcl.Range {
	length := 1
	if n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") && n.Style == 0 {
		length = max(len(n.Value), 1)
	}
	return pointRange(s.name, s.src, n.Line, n.Column, length)
}

// find returns the node at path below the top of one file.
func find(root *yaml.Node, path []step) (at, val *yaml.Node) {
	n := root
	for _, st := range path {
		at, n = st(n)
		if at == nil {
			return nil, nil
		}
	}
	return at, n
}

// service locates path below service svc: in the -f files from last to
// first, then in the base services it extends; failing that, at the
// service's own key so the warning still names a line.
func (l *locator) service(svc string, path ...step) *hcl.Range {
	// The -f files first; a service from an `include`d file is only there.
	for _, files := range [][]*source{l.files, l.allSources()} {
		if r := l.serviceIn(files, svc, path, 0); r != nil {
			return r
		}
	}
	if len(path) > 0 {
		return l.service(svc)
	}
	return nil
}

// serviceIn looks path up below service svc in files, following extends
// (bounded: a cycle is the compose library's to report).
func (l *locator) serviceIn(files []*source, svc string, path []step, depth int) *hcl.Range {
	if depth > 8 {
		return nil // an extends cycle; the compose library reports it
	}
	full := append([]step{key("services"), key(svc)}, path...)
	if len(path) == 0 {
		// The service itself: where it is first defined, not overridden.
		for _, f := range files {
			if at, _ := find(f.root, full); at != nil {
				return nodeRange(f, at)
			}
		}
		return nil
	}
	for i := len(files) - 1; i >= 0; i-- {
		if at, _ := find(files[i].root, full); at != nil {
			return nodeRange(files[i], at)
		}
	}
	for i := len(files) - 1; i >= 0; i-- {
		_, ext := find(files[i].root, []step{key("services"), key(svc), key("extends")})
		if ext == nil {
			continue
		}
		base, in := svc, files[i]
		if ext.Kind == yaml.ScalarNode {
			base = ext.Value
		} else {
			if _, s := key("service")(ext); s != nil {
				base = s.Value
			}
			if _, f := key("file")(ext); f != nil {
				abs := f.Value
				if !filepath.IsAbs(abs) {
					abs = filepath.Join(filepath.Dir(files[i].abs), abs)
				}
				in = l.byAbs[filepath.Clean(abs)]
			}
		}
		if in == nil {
			continue
		}
		if r := l.serviceIn([]*source{in}, base, path, depth+1); r != nil {
			return r
		}
	}
	return nil
}

// top locates a top-level path such as networks.backend.
func (l *locator) top(path ...step) *hcl.Range {
	for i := len(l.files) - 1; i >= 0; i-- {
		if at, _ := find(l.files[i].root, path); at != nil {
			return nodeRange(l.files[i], at)
		}
	}
	return nil
}

// rawValue is the scalar written in the files at a service's path, before
// interpolation (e.g. "${DB_PASSWORD}"), or "".
func (l *locator) rawValue(svc string, path ...step) string {
	full := append([]step{key("services"), key(svc)}, path...)
	for i := len(l.files) - 1; i >= 0; i-- {
		at, val := find(l.files[i].root, full)
		if at == nil || val == nil || val.Kind != yaml.ScalarNode {
			continue
		}
		if at == val { // a list item "NAME=value"
			_, v, _ := strings.Cut(val.Value, "=")
			return v
		}
		return val.Value
	}
	return ""
}

// schemaPath locates a dotted path from a compose validation message
// ("services.web.ports.0") in the file the message names.
func (l *locator) schemaPath(abs, dotted string) *hcl.Range {
	s := l.byAbs[abs]
	if s == nil {
		if len(l.files) == 0 {
			return nil
		}
		s = l.files[len(l.files)-1]
	}
	var best *yaml.Node
	n := s.root
	for _, part := range strings.Split(dotted, ".") {
		if n == nil {
			break
		}
		var at *yaml.Node
		if i, err := strconv.Atoi(part); err == nil && n.Kind == yaml.SequenceNode && i < len(n.Content) {
			at, n = n.Content[i], n.Content[i]
		} else {
			at, n = key(part)(n)
		}
		if at == nil {
			break
		}
		best = at
	}
	if best == nil {
		return nil
	}
	return nodeRange(s, best)
}
