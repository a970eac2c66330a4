package cli

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/artifact"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/logs"
	"github.com/stackctl/stackctl/internal/outdir"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

func renderCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "render",
		Usage:     "compile descriptors into Nomad jobs, Vault policies and Consul intentions",
		ArgsUsage: "PATH...",
		Description: `Without -o, prints the artifacts of the chosen format to stdout, each after a
"# Source: <service>/<file>" line. With -o DIR, writes per service
DIR/<service>/job.nomad.hcl, job.json, vault-policy.hcl, vault-role.json
(Nomad >= 1.7) and intentions.hcl, each atomically, and only when its bytes
changed: a second render of an unchanged stack writes nothing. DIR/` + nomadManifest + `
lists what stackctl wrote, with the SHA-256 of the bytes; files it listed
that are no longer generated (a removed service) are deleted. A file is
replaced or deleted only while it holds exactly what stackctl wrote there:
other files in DIR, and files edited since, are left and named (a generated
file left so makes render exit 1).
--target kubernetes renders the same stack as Kubernetes manifests instead:
DIR/<service>/kubernetes.yaml and DIR/_shared/kubernetes.yaml (docs/comparison.md),
listed in DIR/` + kubeManifest + `.`,
		Flags: append(varFlags(),
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write files under `DIR` instead of printing"},
			&ucli.StringFlag{Name: "format", Value: "hcl", Usage: "what to print without -o: `hcl` or json"},
			&ucli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "only render `NAME` (repeatable)"},
			&ucli.StringFlag{Name: "target", Value: "nomad", Usage: "`TARGET` platform: nomad, or kubernetes (manifests for comparison)"},
		),
		Action: runRender,
	}
}

func runRender(c *ucli.Context) error {
	format := c.String("format")
	if format != "hcl" && format != "json" {
		return usageErrorf("--format must be hcl or json, not %q", format)
	}
	target := c.String("target")
	if target != "nomad" && target != "kubernetes" {
		return usageErrorf("--target must be nomad or kubernetes, not %q", target)
	}
	st, p, diags, err := loadStack(c)
	if err != nil {
		return err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	if target == "kubernetes" {
		return emitKubernetes(c, st)
	}
	if only := c.StringSlice("service"); len(only) > 0 {
		keep := st.Services[:0:0]
		for _, name := range only {
			svc := st.Service(name)
			if svc == nil {
				var names []string
				for _, s := range st.Services {
					names = append(names, s.Name)
				}
				return usageErrorf("--service %q: no such service in the stack (have: %s)", name, strings.Join(names, ", "))
			}
			keep = append(keep, svc)
		}
		// Intentions need every caller, so compile the whole stack and
		// filter the output.
		bundle := compile.Compile(st)
		filtered := bundle.Services[:0:0]
		for _, s := range bundle.Services {
			for _, k := range keep {
				if s.Name == k.Name {
					filtered = append(filtered, s)
				}
			}
		}
		bundle.Services = filtered
		return emit(c, bundle, format)
	}
	return emit(c, compile.Compile(st), format)
}

// The manifests that mark a directory as render's output, one per target
// so both can share a directory without pruning each other's files.
const (
	nomadManifest = ".stackctl-render"
	kubeManifest  = ".stackctl-render-kubernetes"
)

func emit(c *ucli.Context, bundle *compile.Bundle, format string) error {
	files, err := render.Files(bundle)
	if err != nil {
		return err
	}
	if dir := c.String("output"); dir != "" {
		return writeOutput(c, dir, files, nomadManifest)
	}
	first := true
	for _, f := range files {
		if !strings.HasSuffix(f.Path, "."+format) {
			continue
		}
		if !first {
			fmt.Fprintln(c.App.Writer)
		}
		first = false
		fmt.Fprintf(c.App.Writer, "# Source: %s\n", f.Path)
		if _, err := c.App.Writer.Write(f.Content); err != nil {
			return err
		}
	}
	return nil
}

// emitKubernetes renders the same stack as Kubernetes manifests; with -o
// they are written under DIR, otherwise printed as one YAML stream.
func emitKubernetes(c *ucli.Context, st *spec.Stack) error {
	files, err := kube.Render(st)
	if err != nil {
		return err
	}
	if only := c.StringSlice("service"); len(only) > 0 {
		keep := files[:0:0]
		for _, f := range files {
			for _, name := range only {
				if strings.HasPrefix(f.Path, name+"/") {
					keep = append(keep, f)
				}
			}
		}
		files = keep
	}
	if dir := c.String("output"); dir != "" {
		return writeOutput(c, dir, files, kubeManifest)
	}
	for i, f := range files {
		if i > 0 {
			fmt.Fprintln(c.App.Writer, "---")
		}
		fmt.Fprintf(c.App.Writer, "# Source: %s\n", f.Path)
		if _, err := c.App.Writer.Write(f.Content); err != nil {
			return err
		}
	}
	return nil
}

// writeOutput brings dir up to date with files and says what changed: a
// line per file written or removed, then a count. Pruning is left out with
// --service, whose files are a subset of the stack's. A file render would
// replace or remove but did not write (or that was edited since) is left
// and named on stderr; when it is one of this run's files, the output is
// incomplete and render exits 1.
func writeOutput(c *ucli.Context, dir string, files []artifact.File, manifest string) error {
	res, err := outdir.Sync(dir, files, outdir.Options{
		Manifest: manifest,
		Prune:    len(c.StringSlice("service")) == 0,
		Header:   "Files written by `stackctl render`; the next render may replace or remove them while they hold these bytes. Other files here are left alone.",
	})
	w := bufio.NewWriter(c.App.Writer)
	for _, p := range res.Written {
		fmt.Fprintf(w, "wrote %s\n", filepath.Join(dir, filepath.FromSlash(p)))
	}
	for _, p := range res.Removed {
		fmt.Fprintf(w, "removed %s\n", filepath.Join(dir, filepath.FromSlash(p)))
	}
	if err == nil {
		fmt.Fprintf(w, "%s: %d written, %d unchanged, %d removed", dir, len(res.Written), len(res.Unchanged), len(res.Removed))
		if len(res.Kept) > 0 {
			fmt.Fprintf(w, ", %d kept", len(res.Kept))
		}
		fmt.Fprintln(w)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	// The paths come from the manifest, which anybody may have written.
	ew := c.App.ErrWriter
	for _, msg := range res.Ignored {
		fmt.Fprintf(ew, "Warning: %s: %s\n", filepath.Join(dir, manifest), logs.Printable(msg))
	}
	incomplete := 0
	for _, k := range res.Kept {
		what := "not removed"
		if k.Generated {
			what, incomplete = "not written", incomplete+1
		}
		fmt.Fprintf(ew, "Warning: %s %s: %s\n", logs.Printable(filepath.Join(dir, filepath.FromSlash(k.Path))), what, k.Why)
	}
	if err == nil && incomplete > 0 {
		return fmt.Errorf("%d generated file(s) in %s were not written, the output is incomplete: move the files named above away (or delete them) and render again", incomplete, dir)
	}
	return err
}
