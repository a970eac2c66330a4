package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
)

func namespaceFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "namespace", Value: defaultNamespace(), Usage: "Nomad `NAMESPACE` of the services (NOMAD_NAMESPACE)"}
}

func defaultNamespace() string {
	if ns := os.Getenv("NOMAD_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}

func statusCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "status",
		Usage:     "show the services stackctl deployed: version, health, routes, scaling",
		ArgsUsage: "[SERVICE]",
		Description: `Without SERVICE, one line per service stackctl manages. With SERVICE, its
allocations, its latest deployment, its routes and the autoscaler's last actions.`,
		Flags:  []ucli.Flag{namespaceFlag()},
		Action: runStatus,
	}
}

func runStatus(c *ucli.Context) error {
	if c.NArg() > 1 {
		return usageErrorf("status takes at most one SERVICE")
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, false)
	if err != nil {
		return err
	}
	q := (&nomad.QueryOptions{Namespace: c.String("namespace")}).WithContext(ctx)
	if c.NArg() == 1 {
		return serviceStatus(ctx, c, cl, c.Args().First(), q)
	}
	stubs, _, err := cl.Nomad.Jobs().List(q)
	if err != nil {
		return fmt.Errorf("list jobs at %s: %w", cl.NomadAddr, err)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tVERSION\tSTATUS\tHEALTHY\tCOUNT (MIN-MAX)\tDEPLOYMENT\tROUTES")
	n := 0
	sort.Slice(stubs, func(i, j int) bool { return stubs[i].ID < stubs[j].ID })
	for _, s := range stubs {
		// Nomad 1.6's job list carries no meta: read each job.
		job, _, err := cl.Nomad.Jobs().Info(s.ID, q)
		if err != nil {
			return err
		}
		if job.Meta[compile.MetaManagedBy] != compile.ManagedBy {
			continue
		}
		scale, _, _ := cl.Nomad.Jobs().ScaleStatus(s.ID, q)
		dep, _, _ := cl.Nomad.Jobs().LatestDeployment(s.ID, q)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, deref(job.Version), s.Status,
			healthy(scale), countRange(job, scale), deploymentState(dep), strings.Join(routes(job), "; "))
		n++
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintf(c.App.Writer, "No service deployed by stackctl in namespace %q.\n", c.String("namespace"))
	}
	return nil
}

func serviceStatus(ctx context.Context, c *ucli.Context, cl *deploy.Clients, name string, q *nomad.QueryOptions) error {
	job, _, err := cl.Nomad.Jobs().Info(name, q)
	if err != nil {
		return fmt.Errorf("service %q: %s (stackctl status lists the deployed services)", name, firstLine(err.Error()))
	}
	scale, _, _ := cl.Nomad.Jobs().ScaleStatus(name, q)
	dep, _, _ := cl.Nomad.Jobs().LatestDeployment(name, q)
	w := c.App.Writer
	fmt.Fprintf(w, "Service     %s\n", name)
	fmt.Fprintf(w, "Version     %d\n", deref(job.Version))
	fmt.Fprintf(w, "Status      %s\n", deref(job.Status))
	fmt.Fprintf(w, "Healthy     %s\n", healthy(scale))
	fmt.Fprintf(w, "Count       %s\n", countRange(job, scale))
	if dep != nil {
		fmt.Fprintf(w, "Deployment  %s %s (job version %d): %s\n", firstN(dep.ID, 8), dep.Status, dep.JobVersion, dep.StatusDescription)
	}
	// Healthy in Nomad is not yet routable: the Connect sidecar must pass
	// in Consul too (deploy/mesh.go).
	if deploy.UsesConnect(job) {
		if m, err := deploy.MeshInstances(ctx, cl, q.Namespace, name, name, name); err == nil {
			fmt.Fprintf(w, "Mesh        %s\n", m)
			for _, why := range m.Waiting {
				fmt.Fprintf(w, "            %s\n", why)
			}
		}
	}
	for _, r := range routes(job) {
		fmt.Fprintf(w, "Route       %s\n", r)
	}
	if scale != nil {
		for _, tg := range scale.TaskGroups {
			for i, ev := range tg.Events {
				if i >= 3 {
					break
				}
				what := ev.Message
				if ev.Count != nil {
					what = fmt.Sprintf("%d -> %d: %s", ev.PreviousCount, *ev.Count, ev.Message)
				}
				fmt.Fprintf(w, "Scaling     %s  %s\n", time.Unix(0, int64(ev.Time)).UTC().Format(time.RFC3339), what)
			}
		}
	}
	allocs, _, err := cl.Nomad.Jobs().Allocations(name, false, q)
	if err != nil {
		return err
	}
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex > allocs[j].CreateIndex })
	fmt.Fprintln(w, "\nAllocations")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNODE\tVERSION\tDESIRED\tSTATUS\tHEALTHY\tAGE")
	for _, a := range allocs {
		h := "-"
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			h = fmt.Sprint(*a.DeploymentStatus.Healthy)
		}
		age := time.Since(time.Unix(0, a.CreateTime)).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", firstN(a.ID, 8), a.NodeName, a.JobVersion, a.DesiredStatus, a.ClientStatus, h, age)
	}
	return tw.Flush()
}

func healthy(s *nomad.JobScaleStatusResponse) string {
	if s == nil {
		return "-"
	}
	var h, d int
	for _, tg := range s.TaskGroups {
		h += tg.Healthy
		d += tg.Desired
	}
	return fmt.Sprintf("%d/%d", h, d)
}

func countRange(job *nomad.Job, s *nomad.JobScaleStatusResponse) string {
	var parts []string
	for _, g := range job.TaskGroups {
		count := deref(g.Count)
		if s != nil {
			if tg, ok := s.TaskGroups[*g.Name]; ok {
				count = tg.Desired
			}
		}
		p := fmt.Sprint(count)
		if g.Scaling != nil && g.Scaling.Min != nil && g.Scaling.Max != nil {
			p += fmt.Sprintf(" (%d-%d)", *g.Scaling.Min, *g.Scaling.Max)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func deploymentState(d *nomad.Deployment) string {
	if d == nil {
		return "-"
	}
	return d.Status
}

// routes reads the Traefik routers back from the service tags.
func routes(job *nomad.Job) []string {
	var out []string
	for _, g := range job.TaskGroups {
		for _, s := range g.Services {
			rules, eps := map[string]string{}, map[string]string{}
			for _, t := range s.Tags {
				k, v, ok := strings.Cut(t, "=")
				if !ok || !strings.HasPrefix(k, "traefik.http.routers.") {
					continue
				}
				rest := strings.TrimPrefix(k, "traefik.http.routers.")
				router, field, _ := strings.Cut(rest, ".")
				switch field {
				case "rule":
					rules[router] = v
				case "entrypoints":
					eps[router] = v
				}
			}
			for _, r := range sortedKeys(rules) {
				out = append(out, eps[r]+" "+rules[r])
			}
		}
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
