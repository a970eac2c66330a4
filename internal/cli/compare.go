package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/comparison"
	"github.com/stackctl/stackctl/internal/kube"
)

// compareCommand compares what the HashiCorp and Kubernetes paths generate
// for the user's own services.
func compareCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "compare",
		Usage:     "compare the Nomad and Kubernetes output for the same descriptors",
		ArgsUsage: "PATH...",
		Description: `Renders the descriptors for both targets and reports, for the user's own
services: the lines the user wrote, the objects and lines generated per
target (per kind and per service), which of the six requirements each
service needs and how each path meets it, and the components an operator
runs. Lines are non-blank, non-comment lines; for Nomad the HCL forms are
counted (job.nomad.hcl, vault-policy.hcl, intentions.hcl, vault-role.json),
not the job.json duplicate.`,
		Flags: append(varFlags(),
			&ucli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		),
		Action: runCompare,
	}
}

func runCompare(c *ucli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErrorf("--format must be text or json, not %q", format)
	}
	st, p, diags, err := loadStack(c)
	if err != nil {
		return err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	files, _ := p.DescriptorFiles(c.Args().Slice())
	cmp, err := comparison.Compare(st, comparison.Written(files, p.Sources()))
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(cmp)
	}
	return writeComparison(c.App.Writer, cmp)
}

func writeComparison(w io.Writer, c *comparison.Report) error {
	fmt.Fprintf(w, "stack %q: %d services, %d lines written in %d descriptor files\n\n", c.Stack, c.Services, c.User.Lines, c.User.Files)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFILES\tOBJECTS\tLINES\tLINES PER LINE WRITTEN")
	for _, t := range c.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Target, t.Files, t.Objects, t.Lines, ratio(t.Lines, c.User.Lines))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nobjects per kind")
	for _, t := range c.Targets {
		kinds := make([]string, 0, len(t.PerKind))
		for k := range t.PerKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, t.PerKind[k])
		}
		fmt.Fprintf(w, "  %-11s %s\n", t.Target+":", strings.Join(parts, ", "))
	}

	fmt.Fprintln(w, "\nper service (objects/lines)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tNOMAD\tKUBERNETES")
	kubeBy := map[string]comparison.ServiceOutput{}
	for _, s := range c.Targets[1].PerService {
		kubeBy[s.Service] = s
	}
	for _, s := range c.Targets[0].PerService {
		k := kubeBy[s.Service]
		fmt.Fprintf(tw, "  %s\t%d/%d\t%d/%d\n", s.Service, s.Objects, s.Lines, k.Objects, k.Lines)
	}
	if k, ok := kubeBy[kube.SharedDir]; ok {
		fmt.Fprintf(tw, "  (shared)\t-\t%d/%d\n", k.Objects, k.Lines)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nrequirements")
	for _, r := range c.Requirements {
		needed := "not used"
		if len(r.NeededBy) > 0 {
			needed = strings.Join(r.NeededBy, ", ")
		}
		fmt.Fprintf(w, "  %d. %s (%s)\n", r.ID, r.Name, needed)
		fmt.Fprintf(w, "       nomad:      %s\n", r.Nomad)
		fmt.Fprintf(w, "       kubernetes: %s\n", r.Kubernetes)
	}

	fmt.Fprintln(w, "\noperator runs and upgrades")
	for _, t := range c.Targets {
		fmt.Fprintf(w, "  %-11s %s (%d)\n", t.Target+":", strings.Join(t.Components, ", "), len(t.Components))
	}
	return nil
}

func ratio(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(n)/float64(d))
}
