package cli

import (
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/mattn/go-isatty"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// varFlags are shared by every command that reads descriptors; the order
// of -var and -var-file on the command line decides precedence, so they are
// recovered from the raw arguments rather than from two separate lists.
func varFlags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringSliceFlag{Name: "var", Usage: "set a variable: `NAME=VALUE` (repeatable; later wins)"},
		&ucli.StringSliceFlag{Name: "var-file", Usage: "read variables from an HCL `FILE` of NAME = VALUE lines (repeatable)"},
		&ucli.BoolFlag{Name: "no-color", Usage: "disable colour in diagnostics"},
	}
}

// varArgs returns -var and -var-file values in command-line order.
func varArgs(c *ucli.Context) []spec.VarArg {
	var out []spec.VarArg
	vars, files := c.StringSlice("var"), c.StringSlice("var-file")
	vi, fi := 0, 0
	args := os.Args
	if c.App != nil && c.App.Metadata != nil {
		if a, ok := c.App.Metadata["args"].([]string); ok {
			args = a
		}
	}
	for _, a := range args {
		name, _, _ := cutFlag(a)
		switch name {
		case "var":
			if vi < len(vars) {
				out = append(out, spec.VarArg{Value: vars[vi]})
				vi++
			}
		case "var-file":
			if fi < len(files) {
				out = append(out, spec.VarArg{File: true, Value: files[fi]})
				fi++
			}
		}
	}
	// Anything not matched positionally (unusual spellings) keeps its
	// relative order after the matched ones.
	for ; fi < len(files); fi++ {
		out = append(out, spec.VarArg{File: true, Value: files[fi]})
	}
	for ; vi < len(vars); vi++ {
		out = append(out, spec.VarArg{Value: vars[vi]})
	}
	return out
}

// cutFlag splits "--name=value" / "-name" into the flag name.
func cutFlag(a string) (name, value string, ok bool) {
	switch {
	case len(a) > 2 && a[:2] == "--":
		a = a[2:]
	case len(a) > 1 && a[0] == '-':
		a = a[1:]
	default:
		return "", "", false
	}
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", true
}

// loadStack parses and validates the descriptors named by the command's
// arguments. It returns the parser too, whose files give diagnostics their
// source snippets.
func loadStack(c *ucli.Context) (*spec.Stack, *spec.Parser, hcl.Diagnostics, error) {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return nil, nil, nil, usageErrorf("%s needs at least one PATH (a descriptor file or a directory of *.hcl files)", c.Command.Name)
	}
	if err := flagsAfterArgs(c, paths); err != nil {
		return nil, nil, nil, err
	}
	return loadStackPaths(c, paths)
}

// loadStackPaths loads descriptors from explicit paths (e.g. --stack).
func loadStackPaths(c *ucli.Context, paths []string) (*spec.Stack, *spec.Parser, hcl.Diagnostics, error) {
	p := spec.NewParser(spec.OSFS{})
	st, diags := p.Load(paths, spec.LoadOptions{Vars: varArgs(c), Environ: os.Environ()})
	return st, p, diags, nil
}

// printDiagnostics writes diagnostics to w once, with snippets, coloured
// only on a terminal.
func printDiagnostics(c *ucli.Context, w io.Writer, p *spec.Parser, diags hcl.Diagnostics) {
	var files map[string]*hcl.File
	if p != nil {
		files = p.Files()
	}
	printDiagnosticsFiles(c, w, files, diags)
}

// printDiagnosticsFiles is printDiagnostics with the snippets' sources
// given directly (import compose shows lines of compose files).
func printDiagnosticsFiles(c *ucli.Context, w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	color, width := false, uint(0)
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		color, width = !c.Bool("no-color") && os.Getenv("NO_COLOR") == "", 100
	}
	render.SortDiagnostics(diags)
	_ = render.DiagnosticsText(w, diags, files, width, color)
}

// flagsAfterArgs reports flags written after the positional arguments,
// which urfave/cli would otherwise take as paths.
func flagsAfterArgs(c *ucli.Context, args []string) error {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return usageErrorf("flag %q comes after the PATH arguments; put flags first: stackctl %s [flags] PATH...", a, c.Command.Name)
		}
	}
	return nil
}
