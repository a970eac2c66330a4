package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/clusterview"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/graph"
	"github.com/stackctl/stackctl/internal/outdir"
)

func graphCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "graph",
		Usage:     "draw the stack: services, upstreams and the edge, as DOT, Mermaid or SVG",
		ArgsUsage: "PATH...",
		Description: `Draws the services of the descriptors as nodes marked public, internal or
mesh only, their upstreams as arrows, and Traefik's entrypoints with the routes
into the stack. DOT is Graphviz's language, Mermaid renders on GitHub and in
most wikis, SVG is laid out in-process (no Graphviz install needed).
With -o the format follows the file's extension (.dot, .gv, .mmd, .svg)
unless --format is given.
--live reads the cluster too (Nomad and Consul, through the usual variables):
each service's running and healthy instances (a service with fewer healthy
than desired, or not running, is outlined red), and for each arrow whether
Consul's intentions allow it: a declared call they deny is drawn red and
dashed, a call they allow that no descriptor declares orange and dotted.
Exit status: 0 drawn, 1 invalid descriptors or failed, 2 bad usage.`,
		Flags: append(varFlags(),
			&ucli.StringFlag{Name: "format", Usage: "output `FORMAT`: dot, mermaid or svg (default: from -o's extension, else dot)"},
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of stdout"},
			&ucli.BoolFlag{Name: "live", Usage: "add what the cluster runs and which calls its intentions allow"},
		),
		Action: runGraph,
	}
}

// graphFormats maps -o extensions to formats.
var graphFormats = map[string]string{".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".svg": "svg"}

func runGraph(c *ucli.Context) error {
	format, out := c.String("format"), c.String("output")
	if format == "" {
		format = "dot"
		if f, ok := graphFormats[strings.ToLower(filepath.Ext(out))]; ok {
			format = f
		}
	}
	if format != "dot" && format != "mermaid" && format != "svg" {
		return usageErrorf("--format must be dot, mermaid or svg, not %q", format)
	}
	st, p, diags, err := loadStack(c)
	if err != nil {
		return err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	g := graph.Build(st)
	if c.Bool("live") {
		ctx, cancel := interruptible(c.Context)
		defer cancel()
		cl, err := connect(ctx, cluster.Needs{})
		if err != nil {
			return err
		}
		view, err := clusterview.Read(ctx, cl, compile.Compile(st))
		if err != nil {
			return fmt.Errorf("graph --live: %w", err)
		}
		g.Observe(view)
	}

	var buf bytes.Buffer
	switch format {
	case "dot":
		err = graph.DOT(&buf, g)
	case "mermaid":
		err = graph.Mermaid(&buf, g)
	case "svg":
		err = graph.SVG(&buf, g)
	}
	if err != nil {
		return err
	}
	if out == "" || out == "-" {
		_, err = c.App.Writer.Write(buf.Bytes())
		return err
	}
	return outdir.WriteFile(out, buf.Bytes(), 0o644)
}
