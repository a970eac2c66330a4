// Package cli is stackctl's command-line interface: one file per command,
// flag parsing and output kept apart from the work, every error mapped to an
// exit code in one place (exitCode).
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/rollout"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK      = 0 // success
	ExitError   = 1 // invalid descriptor, failed operation
	ExitUsage   = 2 // bad flags or arguments
	ExitChanges = 3 // fmt -check found unformatted files; plan found changes
)

// Version is set at build time with -ldflags "-X .../cli.Version=...".
var Version = "0.1.0-dev"

// exitError carries an exit code through urfave/cli without it calling
// os.Exit (see App.ExitErrHandler below).
type exitError struct {
	code int
	err  error // nil when the message was already printed
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a problem with flags or arguments (exit 2).
func usageErrorf(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// silentExit ends a command with code after it printed its own report.
func silentExit(code int) error { return &exitError{code: code} }

// Main runs the CLI with args (args[0] is the program name) and returns the
// process exit code. It never calls os.Exit, so tests drive it in-process.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	// Commands recover the order of -var/-var-file from the raw arguments.
	app.Metadata = map[string]any{"args": args}
	err := app.Run(args)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "Error: %s\n", printableLines(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "Error: %s\n", printableLines(err.Error()))
	return ExitError
}

// printableLines escapes what a terminal would act on in each line of an
// error, keeping its line breaks: errors carry the agents' own answers.
func printableLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = rollout.Printable(l)
	}
	return strings.Join(lines, "\n")
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *ucli.App {
	app := &ucli.App{
		Name:      "stackctl",
		Usage:     "one HCL descriptor per service -> Nomad, Consul Connect, Vault and Traefik",
		Version:   Version,
		Reader:    stdin,
		Writer:    stdout,
		ErrWriter: stderr,
		// urfave/cli would call os.Exit on cli.Exit errors; keep exit codes
		// in exitCode instead.
		ExitErrHandler:         func(*ucli.Context, error) {},
		HideHelpCommand:        false,
		EnableBashCompletion:   true,
		UseShortOptionHandling: true,
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return &exitError{code: ExitUsage, err: err}
		},
		// Without a known command: help, or a usage error for a typo.
		Action: func(c *ucli.Context) error {
			if c.Args().Present() {
				return usageErrorf("unknown command %q; run 'stackctl --help' for the list of commands", c.Args().First())
			}
			return ucli.ShowAppHelp(c)
		},
		Commands: []*ucli.Command{
			validateCommand(),
			renderCommand(),
			fmtCommand(),
			planCommand(),
			deployCommand(),
			statusCommand(),
			logsCommand(),
			execCommand(),
			scaleCommand(),
			rollbackCommand(),
			destroyCommand(),
			secretsCommand(),
			compareCommand(),
			importCommand(),
			graphCommand(),
			devCommand(),
		},
	}
	// Flag errors inside subcommands are usage errors too.
	for _, c := range app.Commands {
		setUsageErrors(c)
	}
	return app
}

func setUsageErrors(c *ucli.Command) {
	if c.OnUsageError == nil {
		c.OnUsageError = func(_ *ucli.Context, err error, _ bool) error {
			return &exitError{code: ExitUsage, err: err}
		}
	}
	for _, s := range c.Subcommands {
		setUsageErrors(s)
	}
}
