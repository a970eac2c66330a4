package composeimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	"github.com/sirupsen/logrus"
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
// variables interpolated from the environment and .env.
func load(ctx context.Context, opts Options) (*project, hcl.Diagnostics) {
	env := opts.Environ
	po, err := cli.NewProjectOptions(opts.Files,
		cli.WithWorkingDirectory(opts.Dir),
		cli.WithEnv(env),
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(opts.EnvFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(opts.Profiles...),
		cli.WithName(opts.ProjectName),
	)
	if err != nil {
		return nil, hcl.Diagnostics{errorDiag("Cannot load the compose project", sentence(err.Error()), nil)}
	}
	if len(po.ConfigPaths) == 0 {
		return nil, hcl.Diagnostics{errorDiag("No compose file",
			"No compose file was given and none of compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml is in the current directory. Pass one: stackctl import compose FILE.", nil)}
	}

	// Parse the files ourselves first: the compose library's YAML errors
	// carry neither the file nor a reliable line.
	shown := opts.Files
	if len(shown) == 0 {
		shown = po.ConfigPaths
	}
	loc, diags := newLocator(shown)
	if diags.HasErrors() {
		return nil, diags
	}

	logMu.Lock()
	defer logMu.Unlock()
	hook := &logCapture{}
	std := logrus.StandardLogger()
	oldOut, oldHooks := std.Out, std.ReplaceHooks(logrus.LevelHooks{})
	std.SetOutput(io.Discard)
	std.AddHook(hook)
	p, err := loadProject(ctx, po)
	std.SetOutput(oldOut)
	std.ReplaceHooks(oldHooks)

	if err != nil {
		return nil, append(diags, loadErrorDiag(err, loc, po.Environment))
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
	return pr, diags
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
	unsetVarRe     = regexp.MustCompile(`^The "([^"]+)" variable is not set`)
	validatingRe   = regexp.MustCompile(`^validating (.+?): ((?:services|networks|volumes|secrets|configs|include|name)[^ ]*) (.*)$`)
	fileNameRe     = regexp.MustCompile(`(/[^\s:"']+)`)
	extendsRe      = regexp.MustCompile(`cannot extend service "([^"]+)"`)
	undefinedDepRe = regexp.MustCompile(`service "([^"]+)" depends on undefined service "([^"]+)"`)
)

// libraryWarning turns a compose library warning into a diagnostic; an
// unset variable points at the first line that uses it.
func libraryWarning(msg string, loc *locator) *hcl.Diagnostic {
	if m := unsetVarRe.FindStringSubmatch(msg); m != nil {
		return warningDiag("Variable not set",
			fmt.Sprintf("${%s} is not set in the environment or the .env file, so it is empty, as docker compose would make it. Set it before importing if the value matters.", m[1]),
			loc.textUse("${"+m[1], "$"+m[1]))
	}
	return warningDiag("Compose file warning", sentence(loc.relativise(msg)), nil)
}

// loadErrorDiag explains why the compose library refused the project,
// with the position when the message names a path into the file.
func loadErrorDiag(err error, loc *locator, environ map[string]string) *hcl.Diagnostic {
	msg := redactEnv(loc.relativise(err.Error()), environ)
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
	if m := undefinedDepRe.FindStringSubmatch(msg); subject == nil && m != nil {
		summary, subject = "Unknown service", loc.service(m[1], key("depends_on"), entry(m[2]))
	}
	if m := extendsRe.FindStringSubmatch(msg); subject == nil && m != nil {
		summary, subject = "Unknown service", loc.service(m[1], key("extends"))
	}
	if errors.Is(err, context.Canceled) {
		summary = "Interrupted"
	}
	return errorDiag(summary, sentence(loc.relativise(msg)), subject)
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
	return fileNameRe.ReplaceAllStringFunc(msg, func(p string) string {
		if s, ok := l.byAbs[filepath.Clean(p)]; ok {
			return s.name
		}
		return p
	})
}

// sentence ends a message with a period.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
