package cli

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/composeimport"
)

func importCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "import",
		Usage: "write descriptors from another format (Docker Compose)",
		Subcommands: []*ucli.Command{{
			Name:      "compose",
			Usage:     "one descriptor per compose service plus stack.hcl, validated",
			ArgsUsage: "[FILE...]",
			Description: `Reads compose files as docker compose does (several files merged in order,
extends, include, profiles, interpolation from the environment and .env; no
FILE: compose.yaml and its override in the current directory) and writes one
descriptor per service plus stack.hcl into a new directory.

Published ports become expose blocks, HTTP health probes health blocks,
depends_on, links and service names in environment values upstreams (the
values rewritten to the upstream's local address), compose secrets and
secret-looking variables secret blocks. Secret values are written nowhere:
the import prints the 'stackctl secrets put' commands to run. Whatever has no
equivalent is a warning with the compose file's line and what to do instead.
The result passes 'stackctl validate', or the import fails and writes nothing.
The compose project is untrusted input: a file it names (env_file, include,
extends, a secret's file, ...) must be a regular file inside its directory.
Exit status: 0 imported (warnings allowed), 1 failed, 2 bad usage.`,
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write into `DIR`, which must not exist or be empty (default: stackctl-<project name>)"},
				&ucli.StringFlag{Name: "project-name", Aliases: []string{"p"}, Usage: "compose project `NAME`, also the stack's name (default: as docker compose picks it)"},
				&ucli.StringSliceFlag{Name: "profile", Usage: "activate a compose `PROFILE` (repeatable; default: COMPOSE_PROFILES)"},
				&ucli.StringSliceFlag{Name: "env-file", Usage: "read interpolation variables from `FILE` instead of .env (repeatable)"},
				&ucli.StringFlag{Name: "domain", Usage: "the stack's `DOMAIN`; published services get <service>.DOMAIN (default: <stack>.localhost)"},
				&ucli.BoolFlag{Name: "no-color", Usage: "disable colour in diagnostics"},
			},
			Action: runImportCompose,
		}},
	}
}

func runImportCompose(c *ucli.Context) error {
	files := c.Args().Slice()
	if err := flagsAfterArgs(c, files); err != nil {
		return err
	}
	out := c.String("output")
	if out != "" {
		if err := emptyOrAbsent(out); err != nil {
			return err
		}
	}
	res, diags := composeimport.Import(c.Context, composeimport.Options{
		Files:       files,
		ProjectName: c.String("project-name"),
		Profiles:    c.StringSlice("profile"),
		EnvFiles:    c.StringSlice("env-file"),
		Environ:     os.Environ(),
		Domain:      c.String("domain"),
		OutDir:      out,
	})
	printImportDiagnostics(c, diags, res.Sources)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	if out == "" {
		out = composeimport.DefaultDir(res.Stack)
	}
	if err := res.Write(out); err != nil {
		return err
	}
	res.WriteReport(c.App.Writer, out, countWarnings(diags))
	return nil
}

// emptyOrAbsent refuses an output directory that holds files: an import
// never mixes its descriptors with others or overwrites them.
func emptyOrAbsent(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s already exists and is not empty; import into a new directory (-o DIR) or remove it first", dir)
	case err != nil && !os.IsNotExist(err):
		if info, serr := os.Stat(dir); serr == nil && !info.IsDir() {
			return fmt.Errorf("%s is a file; -o takes a directory to create", dir)
		}
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

func printImportDiagnostics(c *ucli.Context, diags hcl.Diagnostics, sources map[string]*hcl.File) {
	if len(diags) == 0 {
		return
	}
	// The snippets come from the compose files (secret values masked) and
	// the generated descriptors, not from a spec parser.
	printDiagnosticsFiles(c, c.App.ErrWriter, sources, diags)
}

func countWarnings(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			n++
		}
	}
	return n
}
