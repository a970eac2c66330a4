package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/jsonview"
	"github.com/stackctl/stackctl/internal/logs"
	"github.com/stackctl/stackctl/internal/status"
)

// formatFlag chooses between the text for people and the JSON for tools
// (internal/jsonview; docs/cli.md, "JSON output").
func formatFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"}
}

// jsonFormat reports whether --format asks for JSON.
func jsonFormat(c *ucli.Context) (bool, error) {
	switch f := c.String("format"); f {
	case "text":
		return false, nil
	case "json":
		return true, nil
	default:
		return false, usageErrorf("--format must be text or json, not %q", f)
	}
}

func statusCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "status",
		Usage:     "show the services stackctl deployed: version, health, routes, scaling",
		ArgsUsage: "[SERVICE]",
		Description: `Without SERVICE, one line per service stackctl manages. With SERVICE, its
allocations, its latest deployment, its routes and the autoscaler's last actions.
--format json prints one JSON object instead (schema: docs/cli.md, "JSON output").`,
		Flags:  []ucli.Flag{namespaceFlag(), formatFlag()},
		Action: runStatus,
	}
}

func runStatus(c *ucli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("status takes at most one SERVICE")
	}
	asJSON, err := jsonFormat(c)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{})
	if err != nil {
		return err
	}
	ns, w := c.String("namespace"), c.App.Writer
	if c.NArg() == 1 {
		d, err := status.Service(ctx, cl, ns, c.Args().First())
		if err != nil {
			return err
		}
		if asJSON {
			return jsonview.Write(w, jsonview.NewStatusService(ns, d))
		}
		return writeDetail(w, d, time.Now())
	}
	list, err := status.List(ctx, cl, ns)
	if err != nil {
		return err
	}
	if asJSON {
		return jsonview.Write(w, jsonview.NewStatusList(ns, list))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tVERSION\tSTATUS\tHEALTHY\tCOUNT (MIN-MAX)\tDEPLOYMENT\tROUTES")
	for _, s := range list {
		dep := "-"
		if s.Deployment != nil {
			dep = s.Deployment.Status
		}
		var routes []string
		for _, r := range s.Routes {
			routes = append(routes, r.String())
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", cell(s.Service), s.Version, cell(s.Status), s.Healthy(), s.Count(), cell(dep), cell(strings.Join(routes, "; ")))
	}
	tw.Flush()
	if len(list) == 0 {
		fmt.Fprintf(w, "No service deployed by stackctl in namespace %q.\n", ns)
	}
	return nil
}

// cell is cluster text made printable (logs.Printable) for a column of a
// table: a tab in it would start another column.
func cell(s string) string { return strings.ReplaceAll(logs.Printable(s), "\t", `\x09`) }

// writeDetail prints one service. Every string in d comes from the
// cluster: each goes through logs.Printable (cell in the table), so a
// check's output or an event's message cannot drive the terminal.
func writeDetail(w io.Writer, d *status.Detail, now time.Time) error {
	p := logs.Printable[string]
	fmt.Fprintf(w, "Service     %s\n", p(d.Service))
	fmt.Fprintf(w, "Version     %d\n", d.Version)
	fmt.Fprintf(w, "Status      %s\n", p(d.Status))
	fmt.Fprintf(w, "Healthy     %s\n", d.Healthy())
	fmt.Fprintf(w, "Count       %s\n", d.Count())
	if dep := d.Deployment; dep != nil {
		fmt.Fprintf(w, "Deployment  %s %s (job version %d): %s\n", p(cluster.ShortID(dep.ID)), p(dep.Status), dep.JobVersion, p(dep.StatusDescription))
	}
	if d.MeshErr != nil {
		fmt.Fprintf(w, "Mesh        unknown: %s\n", p(d.MeshErr.Error()))
	}
	if d.Mesh != nil {
		fmt.Fprintf(w, "Mesh        %s\n", d.Mesh)
		for _, why := range d.Mesh.Waiting {
			fmt.Fprintf(w, "            %s\n", p(why))
		}
	}
	for _, r := range d.Routes {
		fmt.Fprintf(w, "Route       %s\n", p(r.String()))
	}
	for _, ev := range d.Scaling {
		fmt.Fprintf(w, "Scaling     %s  %s\n", ev.Time.Format(time.RFC3339), p(ev.Text()))
	}
	fmt.Fprintln(w, "\nAllocations")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNODE\tVERSION\tDESIRED\tSTATUS\tHEALTHY\tAGE")
	for _, a := range d.Allocations {
		h := "-"
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			h = fmt.Sprint(*a.DeploymentStatus.Healthy)
		}
		age := now.Sub(time.Unix(0, a.CreateTime)).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", cell(cluster.ShortID(a.ID)), cell(a.NodeName), a.JobVersion, cell(a.DesiredStatus), cell(a.ClientStatus), h, age)
	}
	return tw.Flush()
}
