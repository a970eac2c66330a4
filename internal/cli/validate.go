package cli

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/render"
)

func validateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "validate",
		Usage:     "check descriptors and report every problem with its file:line:col",
		ArgsUsage: "PATH...",
		Description: `Reads the descriptor files (a directory contributes its *.hcl files) and checks
them against the schema and across services: unknown upstreams, duplicate names
and routes, port clashes, autoscaling bounds, env names, Vault paths.
Exit status: 0 valid (warnings allowed), 1 invalid, 2 bad usage.`,
		Flags: append(varFlags(),
			&ucli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		),
		Action: runValidate,
	}
}

func runValidate(c *ucli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErrorf("--format must be text or json, not %q", format)
	}
	st, p, diags, err := loadStack(c)
	if err != nil {
		return err
	}
	var names []string
	if st != nil {
		for _, s := range st.Services {
			names = append(names, s.Name)
		}
	}
	if format == "json" {
		render.SortDiagnostics(diags)
		if err := render.DiagnosticsJSON(c.App.Writer, diags, names); err != nil {
			return err
		}
	} else {
		printDiagnostics(c, c.App.ErrWriter, p, diags)
		if !diags.HasErrors() {
			fmt.Fprintf(c.App.Writer, "Success! %d service(s) valid: %s.\n", len(names), strings.Join(names, ", "))
		}
	}
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	return nil
}
