package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/outdir"
	"github.com/stackctl/stackctl/internal/spec"
)

func fmtCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "fmt",
		Usage:     "rewrite descriptors in canonical HCL style",
		ArgsUsage: "PATH... (or - for stdin)",
		Description: `Formats descriptor files in place (a directory contributes its *.hcl files).
With -check nothing is written: the unformatted files are listed and the exit
status is 3. "-" reads standard input and writes the result to standard output.`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "check", Usage: "only list files that need formatting; exit 3 if any"},
			&ucli.BoolFlag{Name: "no-color", Usage: "disable colour in diagnostics"},
		},
		Action: runFmt,
	}
}

func runFmt(c *ucli.Context) error {
	paths := c.Args().Slice()
	if len(paths) == 0 {
		return usageErrorf("fmt needs at least one PATH, or - for standard input")
	}
	if len(paths) == 1 && paths[0] == "-" {
		// One byte over the limit is enough to refuse it: the same
		// size and nesting limits as a file, not a silent truncation.
		src, err := io.ReadAll(io.LimitReader(c.App.Reader, spec.MaxFileSize+1))
		if err != nil {
			return err
		}
		p := spec.NewParser(spec.OSFS{})
		if _, diags := p.ParseSource("<stdin>", src); diags.HasErrors() {
			printDiagnostics(c, c.App.ErrWriter, p, diags)
			return silentExit(ExitError)
		}
		out, diags := formatSource(src, "<stdin>")
		if diags.HasErrors() {
			printDiagnostics(c, c.App.ErrWriter, p, diags)
			return silentExit(ExitError)
		}
		if c.Bool("check") {
			if !bytes.Equal(src, out) {
				fmt.Fprintln(c.App.Writer, "<stdin>")
				return silentExit(ExitChanges)
			}
			return nil
		}
		_, err = c.App.Writer.Write(out)
		return err
	}
	p := spec.NewParser(spec.OSFS{})
	files, diags := p.DescriptorFiles(paths)
	changed := 0
	for _, name := range files {
		// Parse through the spec parser so size and nesting limits apply
		// and diagnostics get snippets.
		if _, d := p.ParseFile(name); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		src := p.Sources()[name]
		out, d := formatSource(src, name)
		diags = append(diags, d...)
		if d.HasErrors() || bytes.Equal(src, out) {
			continue
		}
		changed++
		fmt.Fprintln(c.App.Writer, name)
		if c.Bool("check") {
			continue
		}
		info, err := os.Stat(name)
		if err != nil {
			return err
		}
		if err := outdir.WriteFile(name, out, info.Mode().Perm()); err != nil {
			return err
		}
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	if c.Bool("check") && changed > 0 {
		return silentExit(ExitChanges)
	}
	return nil
}

// formatSource rewrites src in canonical style. hclwrite parses with
// hclsyntax, whose recursion has no limit of its own, so the bytes go
// through spec's nesting check first even when the caller has not parsed
// them with spec.
func formatSource(src []byte, name string) ([]byte, hcl.Diagnostics) {
	if diags := spec.CheckNesting(name, src); diags.HasErrors() {
		return nil, diags
	}
	f, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(f.Bytes()), nil
}
