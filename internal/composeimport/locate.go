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

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/paths"
	"github.com/compose-spec/compose-go/v2/template"
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

	// How compose reads the paths this file names: the variables it
	// interpolates them with and the directory relative ones start from.
	env      map[string]string
	workDir  string
	followed bool

	lineStarts []int // byte offset of each line, built on first use
}

type locator struct {
	files []*source // the -f files, in order
	byAbs map[string]*source
	rules fileRules
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

// fileRules says which files the locator may read besides the -f files
// themselves, and how it interpolates the paths it follows.
type fileRules struct {
	root     *projectRoot      // the project directory; nil: nothing is refused (tests)
	env      map[string]string // interpolation variables of the -f files
	explicit bool              // the -f files were named by the user, not discovered
}

// newLocator reads and parses the compose files. A YAML syntax error comes
// back as a diagnostic with the file, line and column of the problem; a
// file the project may not make the import read (see files.go) as an
// error at the line that names it.
func newLocator(files []string, rules fileRules) (*locator, hcl.Diagnostics) {
	l := &locator{byAbs: map[string]*source{}, rules: rules}
	var diags hcl.Diagnostics
	for _, p := range files {
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		if !rules.explicit && rules.root != nil {
			// Found by discovery: the project's own files, which may be
			// symlinks out of it.
			if f := rules.root.check(abs, false); f != nil {
				diags = append(diags, f.diag("The compose file", p, fileRange(p)))
				continue
			}
		}
		s, d := l.read(abs, p, nil, "The compose file")
		diags = append(diags, d...)
		if s != nil {
			s.env = rules.env
			s.workDir = l.workDir()
			l.files = append(l.files, s)
		}
	}
	if diags.HasErrors() {
		return l, diags
	}
	// Files reached through `extends: {file: ...}` and `include` are read
	// too, so that their syntax errors and warnings point into them, and
	// so that none of them is outside the project or anything but a
	// regular file before the compose library opens it.
	for i := 0; i < len(l.files); i++ {
		diags = append(diags, l.follow(l.files[i], 0)...)
	}
	return l, diags
}

// workDir is the directory compose resolves the -f files' relative paths
// against.
func (l *locator) workDir() string {
	if l.rules.root != nil {
		return l.rules.root.dir
	}
	if len(l.files) > 0 {
		return filepath.Dir(l.files[0].abs)
	}
	return "."
}

// fileRef is a path a compose file names for the compose library to read.
type fileRef struct {
	node *yaml.Node
	what string // how the error names it: "include", "extends file", ...
	dir  bool   // a directory (include project_directory)
}

// maxFollow bounds how deep include and extends chains are followed; the
// compose library reports cycles itself.
const maxFollow = 32

// follow checks and reads the files a compose file extends or includes,
// with the paths interpolated and resolved as the compose library does:
// include paths, env files and project directories against the file's
// working directory, extends files likewise; the file's own directory is
// tried too, and every candidate that exists must be allowed.
func (l *locator) follow(s *source, depth int) hcl.Diagnostics {
	if s.followed || s.root == nil || depth > maxFollow {
		return nil
	}
	s.followed = true
	var diags hcl.Diagnostics
	_, services := key("services")(s.root)
	if services != nil && services.Kind == yaml.MappingNode {
		for i := 1; i < len(services.Content); i += 2 {
			_, ext := key("extends")(services.Content[i])
			if _, f := key("file")(ext); f != nil && f.Kind == yaml.ScalarNode {
				path, d := l.allowed(s, fileRef{node: f, what: "The extends file"})
				diags = append(diags, d...)
				if path == "" {
					continue
				}
				ns, d := l.readRef(s, f.Value, path)
				diags = append(diags, d...)
				if ns != nil && !ns.followed {
					ns.env, ns.workDir = s.env, filepath.Dir(ns.abs)
					diags = append(diags, l.follow(ns, depth+1)...)
				}
			}
		}
	}
	_, inc := key("include")(s.root)
	if inc == nil || inc.Kind != yaml.SequenceNode {
		return diags
	}
	for _, it := range inc.Content {
		it = deref(it)
		if it == nil {
			continue
		}
		var paths, envFiles []*yaml.Node
		var projectDir *yaml.Node
		switch it.Kind {
		case yaml.ScalarNode:
			paths = []*yaml.Node{it}
		case yaml.MappingNode:
			_, p := key("path")(it)
			paths = scalars(p)
			_, e := key("env_file")(it)
			envFiles = scalars(e)
			if _, pd := key("project_directory")(it); pd != nil && pd.Kind == yaml.ScalarNode {
				projectDir = pd
			}
		}
		var files []string
		var sub []*source
		failed := false
		for _, p := range paths {
			path, d := l.allowed(s, fileRef{node: p, what: "The included file"})
			diags = append(diags, d...)
			if path == "" {
				failed = failed || d.HasErrors()
				continue
			}
			files = append(files, path)
			ns, d := l.readRef(s, p.Value, path)
			diags = append(diags, d...)
			if ns != nil && !ns.followed {
				sub = append(sub, ns)
			}
		}
		// The included project's directory and its env files, which the
		// compose library reads for the included files' interpolation.
		workDir := ""
		if len(files) > 0 {
			workDir = filepath.Dir(files[0])
		}
		if projectDir != nil {
			path, d := l.allowed(s, fileRef{node: projectDir, what: "The include project_directory", dir: true})
			diags = append(diags, d...)
			failed = failed || d.HasErrors()
			if path != "" {
				workDir = path
			}
		}
		var envPaths []string
		for _, e := range envFiles {
			if l.interpolate(s, e.Value) == "/dev/null" {
				continue // the compose library skips it
			}
			path, d := l.allowed(s, fileRef{node: e, what: "The include env_file"})
			diags = append(diags, d...)
			failed = failed || d.HasErrors()
			if path != "" {
				envPaths = append(envPaths, path)
			}
		}
		if len(envFiles) == 0 && workDir != "" {
			dotEnv := filepath.Join(workDir, ".env")
			if _, err := os.Lstat(dotEnv); err == nil && l.rules.root != nil {
				if f := l.rules.root.check(dotEnv, false); f != nil {
					diags = append(diags, f.diag("The included project's .env file", dotEnv, nodeRange(s, it)))
					failed = true
				} else {
					envPaths = append(envPaths, dotEnv)
				}
			}
		}
		if failed {
			continue
		}
		env := s.env
		if len(envPaths) > 0 {
			if more, err := dotenv.GetEnvFromFile(s.env, envPaths); err == nil {
				env = map[string]string{}
				for k, v := range s.env {
					env[k] = v
				}
				for k, v := range more {
					env[k] = v
				}
			}
		}
		for _, ns := range sub {
			if !ns.followed {
				ns.env, ns.workDir = env, workDir
				diags = append(diags, l.follow(ns, depth+1)...)
			}
		}
	}
	return diags
}

// scalars lists a scalar or the scalar items of a sequence.
func scalars(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, it := range n.Content {
			if it = deref(it); it != nil && it.Kind == yaml.ScalarNode {
				out = append(out, it)
			}
		}
		return out
	}
	return nil
}

// interpolate fills in ${VAR} in a path as the compose library would;
// a path it cannot fill in is returned as written (the library then
// fails on it before reading anything).
func (l *locator) interpolate(s *source, raw string) string {
	if !strings.Contains(raw, "$") {
		return raw
	}
	v, err := template.Substitute(raw, func(k string) (string, bool) {
		v, ok := s.env[k]
		return v, ok
	})
	if err != nil {
		return raw
	}
	return v
}

// allowed resolves a path a file names and checks every place the compose
// library could take it from; it returns the first candidate, or "" when
// one of them is refused (the diagnostic says why, at the node).
func (l *locator) allowed(s *source, r fileRef) (string, hcl.Diagnostics) {
	v := paths.ExpandUser(l.interpolate(s, r.node.Value))
	if v == "" {
		return "", nil
	}
	var cands []string
	if filepath.IsAbs(v) {
		cands = []string{filepath.Clean(v)}
	} else {
		for _, base := range []string{s.workDir, filepath.Dir(s.abs)} {
			if base == "" {
				continue
			}
			if c := filepath.Join(base, v); !containsStr(cands, c) {
				cands = append(cands, c)
			}
		}
	}
	if l.rules.root == nil {
		return cands[0], nil
	}
	for i, c := range cands {
		if i > 0 {
			if _, err := os.Lstat(c); err != nil {
				continue // only a candidate that exists could be read
			}
		}
		if f := l.rules.root.check(c, r.dir); f != nil {
			return "", hcl.Diagnostics{f.diag(r.what, r.node.Value, nodeRange(s, r.node))}
		}
	}
	return cands[0], nil
}

// readRef reads a file an include or extends names: at the path relative
// to the naming file if it is there (where the locator looks it up), else
// at the compose library's.
func (l *locator) readRef(s *source, raw, path string) (*source, hcl.Diagnostics) {
	shown := raw
	abs := path
	if !filepath.IsAbs(raw) {
		near := filepath.Join(filepath.Dir(s.abs), raw)
		if _, err := os.Stat(near); err == nil && (l.rules.root == nil || l.rules.root.check(near, false) == nil) {
			abs = near
		}
		shown = filepath.Join(filepath.Dir(s.name), raw)
	}
	if prev, ok := l.byAbs[filepath.Clean(abs)]; ok {
		return prev, nil
	}
	return l.read(abs, shown, nil, "The file")
}

// read loads and parses one file once, keyed by its absolute path; shown
// is the name diagnostics use. Only a regular file is read, without
// blocking on it.
func (l *locator) read(path, shown string, subject *hcl.Range, what string) (*source, hcl.Diagnostics) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file", fmt.Sprintf("%s: %v.", printable(shown), err), subject)}
	}
	if s, ok := l.byAbs[abs]; ok {
		return s, nil
	}
	info, err := os.Stat(abs)
	switch {
	case err != nil:
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file",
			fmt.Sprintf("%s: %s. Pass the path of a compose file (compose.yaml, docker-compose.yml, ...).", printable(shown), errText(err)), subject)}
	case info.IsDir():
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file",
			fmt.Sprintf("%s is a directory; pass the compose file inside it.", printable(shown)), subject)}
	case info.Mode().IsRegular() && info.Size() > maxComposeFile:
		return nil, hcl.Diagnostics{errorDiag("Compose file too large",
			fmt.Sprintf("%s is larger than the %d KiB limit.", printable(shown), maxComposeFile>>10), orFile(subject, shown))}
	}
	src, f, err := readRegular(abs)
	if f != nil {
		return nil, hcl.Diagnostics{f.diag(what, shown, orFile(subject, shown))}
	}
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot read compose file", fmt.Sprintf("%s: %s.", printable(shown), errText(err)), subject)}
	}
	s := &source{name: shown, abs: abs, src: src}
	l.byAbs[abs] = s
	root, d := parseYAML(shown, src)
	if d != nil {
		return s, hcl.Diagnostics{d}
	}
	if d := checkShape(s, root); d != nil {
		return s, hcl.Diagnostics{d}
	}
	if d := checkPortRanges(s, root); d != nil {
		return s, hcl.Diagnostics{d}
	}
	s.root = root
	return s, nil
}

// Bounds on a compose file's shape, far above what real files use: the
// compose library's path matching is quadratic in the nesting depth, and
// every warning looks its key up in its mapping.
const (
	maxDepth   = 64
	maxEntries = 5000
	maxNodes   = 100000
)

// checkPortRanges refuses, before the compose library expands them into
// one entry each, port ranges larger than a service may have (maxPorts).
func checkPortRanges(s *source, root *yaml.Node) *hcl.Diagnostic {
	_, services := key("services")(root)
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		at, ports := key("ports")(services.Content[i+1])
		n := 0
		for _, p := range scalars(ports) {
			n += portCount(p.Value)
		}
		if ports != nil && ports.Kind == yaml.SequenceNode {
			for _, it := range ports.Content {
				if _, pub := key("published")(it); pub != nil && pub.Kind == yaml.ScalarNode {
					n += portCount(pub.Value)
				}
			}
		}
		if n > maxPorts {
			return errorDiag("Too many ports",
				fmt.Sprintf("Service %q publishes %d ports (a range counts each port); a stackctl service has one mesh port and at most a few others, so the import takes at most %d. List only the ports the service listens on.", services.Content[i].Value, n, maxPorts),
				nodeRange(s, at))
		}
	}
	return nil
}

// portCount is how many ports a ports entry ("8000-8010:8000-8010/tcp")
// stands for.
func portCount(v string) int {
	v, _, _ = strings.Cut(v, "/")
	n := 1
	for _, part := range strings.Split(v, ":") {
		lo, hi, ok := strings.Cut(part, "-")
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if ok && errA == nil && errB == nil && b >= a {
			n = max(n, b-a+1)
		}
	}
	return n
}

// checkShape refuses a YAML tree deeper, wider or larger than the bounds,
// at the node that crosses one. Aliases are not followed: the compose
// library bounds their expansion itself.
func checkShape(s *source, root *yaml.Node) *hcl.Diagnostic {
	nodes := 0
	var walk func(n *yaml.Node, depth int) *hcl.Diagnostic
	walk = func(n *yaml.Node, depth int) *hcl.Diagnostic {
		nodes++
		switch {
		case nodes > maxNodes:
			return errorDiag("Compose file too large", fmt.Sprintf("%s has more than %d YAML nodes; real compose files have a few thousand. Split it, or remove what is generated.", printable(s.name), maxNodes), nodeRange(s, n))
		case depth > maxDepth:
			return errorDiag("Nesting too deep", fmt.Sprintf("Values nest more than %d levels deep here; compose files need a handful. Flatten the value.", maxDepth), nodeRange(s, n))
		case (n.Kind == yaml.MappingNode && len(n.Content) > 2*maxEntries) || (n.Kind == yaml.SequenceNode && len(n.Content) > maxEntries):
			return errorDiag("Too many entries", fmt.Sprintf("This holds more than %d entries; compose files need far fewer (a service's environment, a few dozen). Move the data out of the compose file.", maxEntries), nodeRange(s, n))
		}
		for _, c := range n.Content {
			if d := walk(c, depth+1); d != nil {
				return d
			}
		}
		return nil
	}
	if root == nil {
		return nil
	}
	return walk(root, 0)
}

// fileRange names a file as a whole (its first line), for errors about a
// file no line of another names.
func fileRange(name string) *hcl.Range {
	return &hcl.Range{Filename: name, Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 1}}
}

func orFile(r *hcl.Range, name string) *hcl.Range {
	if r != nil {
		return r
	}
	return fileRange(name)
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
	if s.lineStarts == nil {
		s.lineStarts = []int{0}
		for i, b := range s.src {
			if b == '\n' {
				s.lineStarts = append(s.lineStarts, i+1)
			}
		}
	}
	off := len(s.src)
	if n.Line >= 1 && n.Line <= len(s.lineStarts) {
		off = s.lineStarts[n.Line-1]
	}
	off = min(off+n.Column-1, len(s.src))
	return &hcl.Range{
		Filename: s.name,
		Start:    hcl.Pos{Line: n.Line, Column: n.Column, Byte: off},
		End:      hcl.Pos{Line: n.Line, Column: n.Column + length, Byte: off + length},
	}
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

// anyTop locates a top-level path in any file read, the -f files first
// (secrets and configs may come from an included file).
func (l *locator) anyTop(path ...step) *hcl.Range {
	if r := l.top(path...); r != nil {
		return r
	}
	for _, s := range l.allSources() {
		if at, _ := find(s.root, path); at != nil {
			return nodeRange(s, at)
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
