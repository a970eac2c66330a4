package composeimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/paths"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/sirupsen/logrus"
	yaml "go.yaml.in/yaml/v4"
)

// Options says what to import and how; the zero value of each field means
// what docker compose does without the corresponding flag.
type Options struct {
	Files       []string // compose files, merged in order like -f; none: compose.yaml etc. in Dir
	Dir         string   // working directory for discovery and .env; default: the first file's directory
	ProjectName string   // -p; default: the name: key or the directory name
	Profiles    []string // --profile; default: COMPOSE_PROFILES
	EnvFiles    []string // --env-file; default: .env beside the first file
	Environ     []string // the process environment used for interpolation (os.Environ())
	Domain      string   // stack domain; default <stack name>.localhost
	OutDir      string   // where the descriptors go (named in the descriptors' comments and the secrets commands)
}

// project is a loaded compose project with the sources it came from.
type project struct {
	*types.Project
	loc      *locator
	warnings hcl.Diagnostics // from the compose library (unset variables, obsolete version)
}

// logMu serialises loads: the compose library reports warnings through
// logrus's global logger, which load redirects while it runs.
var logMu sync.Mutex

// load reads the compose files the way docker compose does: every -f file
// merged in order, extends and include resolved, profiles applied,
// variables interpolated from the environment and .env. Before the
// compose library opens a file the project names, the file is checked
// (files.go); the locator comes back even when loading fails, with the
// files read so far, for snippets.
func load(ctx context.Context, opts Options) (*project, *locator, hcl.Diagnostics) {
	env := opts.Environ
	po, err := cli.NewProjectOptions(opts.Files,
		cli.WithWorkingDirectory(opts.Dir),
		cli.WithEnv(env),
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithName(opts.ProjectName),
		// env_file and label_file are read after the paths are checked.
		cli.WithoutEnvironmentResolution,
		cli.WithoutLabelsResolution,
	)
	if err != nil {
		return nil, nil, hcl.Diagnostics{errorDiag("Cannot load the compose project", sentence(scrub(err.Error(), nil)), nil)}
	}
	if len(po.ConfigPaths) == 0 {
		return nil, nil, hcl.Diagnostics{errorDiag("No compose file",
			"No compose file was given and none of compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml is in the current directory. Pass one: stackctl import compose FILE.", nil)}
	}
	wd, err := po.GetWorkingDir()
	if err != nil {
		return nil, nil, hcl.Diagnostics{errorDiag("Cannot load the compose project", sentence(err.Error()), nil)}
	}
	root := newProjectRoot(wd)

	// The .env compose finds beside the compose file is the project's; an
	// --env-file is the user's own choice.
	if len(opts.EnvFiles) == 0 {
		for _, f := range po.EnvFiles {
			if r := root.check(f, false); r != nil {
				shown := filepath.Join(filepath.Dir(firstOr(opts.Files, f)), filepath.Base(f))
				return nil, nil, hcl.Diagnostics{r.diag("The .env file", shown, fileRange(shown))}
			}
		}
	}
	if err := cli.WithDotEnv(po); err != nil {
		msg := scrub(err.Error(), nil)
		var subject *hcl.Range
		if m := envLineRe.FindStringSubmatch(err.Error()); m != nil {
			shown := m[1]
			if len(opts.EnvFiles) == 0 {
				shown = filepath.Join(filepath.Dir(firstOr(opts.Files, m[1])), filepath.Base(m[1]))
			}
			subject = lineRange(shown, envErrorLine(m[1], m[2], msg))
		}
		return nil, nil, hcl.Diagnostics{errorDiag("Invalid env file", sentence(msg)+" Fix the file (KEY=value lines) and import again.", subject)}
	}

	// Parse the files ourselves first: the compose library's YAML errors
	// carry neither the file nor a reliable line.
	shown := opts.Files
	if len(shown) == 0 {
		shown = po.ConfigPaths
	}
	_, composeFileEnv := po.Environment[consts.ComposeFilePath]
	loc, diags := newLocator(shown, fileRules{root: root, env: po.Environment, explicit: len(opts.Files) > 0 || composeFileEnv})
	if diags.HasErrors() {
		return nil, loc, diags
	}

	logMu.Lock()
	defer logMu.Unlock()
	hook := &logCapture{}
	std := logrus.StandardLogger()
	oldOut, oldHooks := std.Out, std.ReplaceHooks(logrus.LevelHooks{})
	std.SetOutput(io.Discard)
	std.AddHook(hook)
	p, err := loadProject(ctx, po)
	var refused hcl.Diagnostics
	if err == nil {
		// The env and label files, now that their paths are known.
		if refused = checkProjectFiles(p, loc, root); !refused.HasErrors() {
			p, err = resolveFiles(p)
		}
	}
	std.SetOutput(oldOut)
	std.ReplaceHooks(oldHooks)

	if refused.HasErrors() {
		return nil, loc, append(diags, refused...)
	}
	if err != nil {
		return nil, loc, append(diags, loadErrorDiag(err, loc, po.Environment))
	}
	pr := &project{Project: p, loc: loc}
	for _, msg := range hook.messages {
		// The library says this once per file and process; the import
		// says it itself, every time.
		if !strings.Contains(msg, "`version` is obsolete") {
			pr.warnings = append(pr.warnings, libraryWarning(msg, loc))
		}
	}
	for _, f := range loc.files {
		if at, _ := find(f.root, []step{key("version")}); at != nil {
			pr.warnings = append(pr.warnings, warningDiag("Obsolete version attribute",
				"The top-level version attribute is ignored by docker compose and by the import; remove it.", nodeRange(f, at)))
		}
	}
	return pr, loc, diags
}

// envErrorLine is the line of an env file's parse error. For a quote
// that is never closed the parser names the last line of the file (it
// counted the lines the value ran through), so the quote's own line is
// looked up in the file, read again if it is a regular file.
func envErrorLine(path, line, msg string) int {
	n, _ := strconv.Atoi(line)
	if !strings.Contains(msg, "unterminated quoted value") {
		return n
	}
	if src, f, err := readRegular(path); f == nil && err == nil {
		if l := unclosedQuoteLine(src); l > 0 {
			return l
		}
	}
	return n
}

var envAssignRe = regexp.MustCompile(`^\s*(?:export\s+)?[^\s=:#]+\s*[=:]\s*`)

// unclosedQuoteLine finds the line of an env file where a quoted value
// opens that no quote closes, or 0.
func unclosedQuoteLine(src []byte) int {
	var open byte
	start := 0
	for i, line := range strings.Split(string(src), "\n") {
		j := 0
		if open == 0 {
			m := envAssignRe.FindStringIndex(line)
			if m == nil || m[1] >= len(line) || (line[m[1]] != '"' && line[m[1]] != '\'') {
				continue
			}
			open, start, j = line[m[1]], i+1, m[1]+1
		}
		for ; j < len(line) && open != 0; j++ {
			switch line[j] {
			case '\\':
				j++ // an escaped character
			case open:
				open = 0
			}
		}
	}
	if open != 0 {
		return start
	}
	return 0
}

// lineRange names a line of a file the import does not show (an env
// file: its lines may be secrets).
func lineRange(file string, line int) *hcl.Range {
	return &hcl.Range{Filename: file, Start: hcl.Pos{Line: max(line, 1), Column: 1}, End: hcl.Pos{Line: max(line, 1), Column: 1}}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

// resolveFiles reads the env and label files into the services, as the
// compose library does when it is not told to wait.
func resolveFiles(p *types.Project) (out *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the compose library failed on this project: %v", r)
		}
	}()
	if p, err = p.WithServicesEnvironmentResolved(false); err != nil {
		return nil, err
	}
	return p.WithServicesLabelsResolved(false)
}

// checkProjectFiles refuses the files the loaded project names that the
// import would read (env_file, label_file) or tell the user to feed to
// stackctl (a secret's file), and the configs' files, when they lie
// outside the project directory or are not regular files.
func checkProjectFiles(p *types.Project, loc *locator, root *projectRoot) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		specs := []types.ContainerSpec{s.ContainerSpec}
		for _, h := range s.PreStart {
			specs = append(specs, h.ContainerSpec)
		}
		for _, cs := range specs {
			for _, ef := range cs.EnvFiles {
				if r := root.check(ef.Path, false); r != nil {
					diags = append(diags, r.diag(fmt.Sprintf("The env_file %%s of service %q", name), loc.display(ef.Path), loc.service(name, key("env_file"), listItem(pathItem(ef.Path)))))
				}
			}
			for _, lf := range cs.LabelFiles {
				if r := root.check(lf, false); r != nil {
					diags = append(diags, r.diag(fmt.Sprintf("The label_file %%s of service %q", name), loc.display(lf), loc.service(name, key("label_file"), listItem(pathItem(lf)))))
				}
			}
		}
	}
	check := func(kind, name, file string) {
		if file == "" {
			return
		}
		abs := file
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root.dir, abs)
		}
		if r := root.check(abs, false); r != nil {
			diags = append(diags, r.diag(fmt.Sprintf("The file %%s of %s %q", strings.TrimSuffix(kind, "s"), name), loc.display(abs), loc.anyTop(key(kind), key(name), key("file"))))
		}
	}
	for _, n := range sortedKeys(p.Secrets) {
		check("secrets", n, p.Secrets[n].File)
	}
	for _, n := range sortedKeys(p.Configs) {
		check("configs", n, p.Configs[n].File)
	}
	return diags
}

// listItem selects a scalar value that matches, or the first matching
// item of a sequence (env_file takes either).
func listItem(match func(*yaml.Node) bool) step {
	return func(n *yaml.Node) (*yaml.Node, *yaml.Node) {
		if n = deref(n); n != nil && n.Kind == yaml.ScalarNode {
			if match(n) {
				return n, n
			}
			return nil, nil
		}
		return item(match)(n)
	}
}

// pathItem matches the env_file or label_file item that names path (by
// its last element; the item may be relative, or a mapping with path:).
func pathItem(path string) func(*yaml.Node) bool {
	base := filepath.Base(path)
	return func(n *yaml.Node) bool {
		if n.Kind == yaml.MappingNode {
			_, n = key("path")(n)
		}
		return n != nil && n.Kind == yaml.ScalarNode && filepath.Base(paths.ExpandUser(n.Value)) == base
	}
}

// loadProject runs the compose loader; a panic inside it (a bug there,
// on input it did not expect) becomes an error instead of a crash.
func loadProject(ctx context.Context, po *cli.ProjectOptions) (p *types.Project, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("the compose library failed on this project: %v", r)
		}
	}()
	return po.LoadProject(ctx)
}

// logCapture collects the compose library's logrus warnings so that they
// become diagnostics instead of unformatted lines on stderr.
type logCapture struct{ messages []string }

func (h *logCapture) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *logCapture) Fire(e *logrus.Entry) error {
	h.messages = append(h.messages, e.Message)
	return nil
}

var (
	unsetVarRe      = regexp.MustCompile(`^The "([^"]+)" variable is not set`)
	validatingRe    = regexp.MustCompile(`^validating (.+?): ((?:services|networks|volumes|secrets|configs|include|name)[^ ]*) (.*)$`)
	fileNameRe      = regexp.MustCompile(`(/[^\s:"']+)`)
	extendsRe       = regexp.MustCompile(`cannot extend service "([^"]+)"`)
	envLineRe       = regexp.MustCompile(`failed to read ([^\s:]+): line (\d+):`)
	interpolationRe = regexp.MustCompile(`(?:invalid interpolation format for|error while interpolating) ((?:services|networks|volumes|secrets|configs|include|name)[^\s:]*?)[.:]?(?:\s|$)`)
	undefinedDepRe  = regexp.MustCompile(`service "([^"]+)" depends on undefined service "([^"]+)"`)
)

// libraryWarning turns a compose library warning into a diagnostic; an
// unset variable points at the first line that uses it.
func libraryWarning(msg string, loc *locator) *hcl.Diagnostic {
	if m := unsetVarRe.FindStringSubmatch(msg); m != nil {
		return warningDiag("Variable not set",
			fmt.Sprintf("${%s} is not set in the environment or the .env file, so it is empty, as docker compose would make it. Set it before importing if the value matters.", m[1]),
			loc.textUse("${"+m[1], "$"+m[1]))
	}
	return warningDiag("Compose file warning", sentence(scrub(loc.relativise(msg), loc)), nil)
}

// loadErrorDiag explains why the compose library refused the project,
// with the position when the message names a path into the file.
func loadErrorDiag(err error, loc *locator, environ map[string]string) *hcl.Diagnostic {
	msg := redactEnv(scrub(loc.relativise(err.Error()), loc), environ)
	if m := validatingRe.FindStringSubmatch(msg); m != nil {
		return errorDiag("Invalid compose file",
			fmt.Sprintf("%s %s. docker compose refuses the same file; fix it and import again.", m[2], m[3]),
			loc.schemaPath(m[1], m[2]))
	}
	var subject *hcl.Range
	if strings.Contains(msg, "required variable") {
		if m := regexp.MustCompile(`required variable (\w+)`).FindStringSubmatch(msg); m != nil {
			subject = loc.textUse("${" + m[1])
		}
	}
	summary := "Cannot load the compose project"
	if m := envLineRe.FindStringSubmatch(err.Error()); subject == nil && m != nil {
		// An env file that does not parse: its line, never its text.
		summary, subject = "Invalid env file", lineRange(loc.display(m[1]), envErrorLine(m[1], m[2], msg))
	}
	if m := interpolationRe.FindStringSubmatch(msg); subject == nil && m != nil {
		summary, subject = "Invalid interpolation", loc.schemaPath("", m[1])
	}
	if m := undefinedDepRe.FindStringSubmatch(msg); subject == nil && m != nil {
		summary, subject = "Unknown service", loc.service(m[1], key("depends_on"), entry(m[2]))
	}
	if m := extendsRe.FindStringSubmatch(msg); subject == nil && m != nil {
		summary, subject = "Unknown service", loc.service(m[1], key("extends"))
	}
	if errors.Is(err, context.Canceled) {
		summary = "Interrupted"
	}
	return errorDiag(summary, sentence(msg), subject)
}

// The compose library's messages sometimes quote what a file holds: a
// line of an env file it could not parse, a value it could not
// interpolate or convert, the YAML of a misplaced key. Those values may be
// secrets, so scrub cuts the tails that quote them and replaces every
// quoted fragment that is not a name the files declare (a service, a key,
// a file read) with <value>; the location the diagnostic points at says
// where to look.
var (
	valueTailRes = []*regexp.Regexp{
		regexp.MustCompile(`(unterminated quoted value)[^\n]*`),
		regexp.MustCompile(`(?s)(You may need to escape any \$ with another \$\.).*`),
		regexp.MustCompile(`(must be a list), got[^\n]*`),
		regexp.MustCompile(`(invalid boolean):[^\n]*`),
		regexp.MustCompile(`(Invalid template):[^\n]*`),
		regexp.MustCompile(`(please use long syntax):[^\n]*`),
		regexp.MustCompile(`(invalid value) [^\n]*?(, expected key=value)`),
		regexp.MustCompile(`(unsupported value) [^\n]*`),
		regexp.MustCompile(`(non-string key [^\n:]*):[^\n]*`),
	}
	quotedRe     = regexp.MustCompile("\"(?:[^\"\\\\\n]|\\\\.)*\"|'[^'\n]*'|`[^`\n]*`")
	configPathRe = regexp.MustCompile(`^(services|networks|volumes|secrets|configs|include|models|jobs)([.\[][A-Za-z0-9._\[\]-]*)?$`)
)

func scrub(msg string, loc *locator) string {
	for _, re := range valueTailRes {
		msg = re.ReplaceAllString(msg, "${1}${2}")
	}
	names := loc.names()
	return quotedRe.ReplaceAllStringFunc(msg, func(q string) string {
		inner := q[1 : len(q)-1]
		if q[0] == '"' {
			if u, err := strconv.Unquote(q); err == nil {
				inner = u
			}
		}
		if len([]rune(inner)) <= 1 || names[inner] || flagValues[strings.ToLower(inner)] || configPathRe.MatchString(inner) {
			return printable(q)
		}
		return "<value>"
	})
}

// nameKeys hold names (of services, secrets, networks, ...) rather than
// values.
var nameKeys = map[string]bool{
	"depends_on": true, "links": true, "extends": true, "service": true, "secrets": true, "configs": true,
	"networks": true, "volumes_from": true, "source": true, "profiles": true, "container_name": true, "name": true,
}

// names collects what the compose files declare and name: mapping keys,
// the values of name keys, and the files read; a quoted fragment of a
// library message that is one of them is not a value.
func (l *locator) names() map[string]bool {
	out := map[string]bool{}
	if l == nil {
		return out
	}
	var walk func(n *yaml.Node, nameKey bool, depth int)
	walk = func(n *yaml.Node, nameKey bool, depth int) {
		if n == nil || depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				out[k.Value] = true
				walk(n.Content[i+1], nameKeys[k.Value], depth+1)
			}
		case yaml.SequenceNode:
			for _, it := range n.Content {
				walk(it, nameKey, depth+1)
			}
		case yaml.ScalarNode:
			if nameKey {
				out[n.Value] = true
			}
		}
	}
	for abs, s := range l.byAbs {
		out[abs], out[s.name] = true, true
		walk(s.root, false, 0)
	}
	return out
}

// textUse finds the first line of any source file that contains one of
// the needles (for messages that name a variable, not a path).
func (l *locator) textUse(needles ...string) *hcl.Range {
	for _, s := range l.allSources() {
		for i, line := range strings.Split(string(s.src), "\n") {
			for _, n := range needles {
				if c := strings.Index(line, n); c >= 0 {
					return pointRange(s.name, s.src, i+1, c+1, len(n))
				}
			}
		}
	}
	return nil
}

// allSources lists every file read, the -f files first, then the others
// by name, so that searches are deterministic.
func (l *locator) allSources() []*source {
	out := append([]*source(nil), l.files...)
	seen := map[*source]bool{}
	for _, s := range out {
		seen[s] = true
	}
	var rest []*source
	for _, s := range l.byAbs {
		if !seen[s] {
			rest = append(rest, s)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].name < rest[j].name })
	return append(out, rest...)
}

// relativise replaces absolute paths of files read with the names the user
// gave, so messages read like the command line.
func (l *locator) relativise(msg string) string {
	return fileNameRe.ReplaceAllStringFunc(msg, l.display)
}

// display names a file as the user would: a file read by the name it was
// given, another file of the project (an env file) relative to the first
// compose file as the user named it, anything else as it is.
func (l *locator) display(p string) string {
	if s, ok := l.byAbs[filepath.Clean(p)]; ok {
		return s.name
	}
	root := l.rules.root
	if root == nil || len(l.files) == 0 || filepath.Dir(l.files[0].abs) != root.dir || !within(root.dir, p) {
		return p
	}
	rel, err := filepath.Rel(root.dir, p)
	if err != nil {
		return p
	}
	return filepath.Join(filepath.Dir(l.files[0].name), rel)
}

// sentence ends a message with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
