package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/deploy"
)

func scaleCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "scale",
		Usage:     "set a service's instance count (within its autoscaling bounds)",
		ArgsUsage: "SERVICE COUNT",
		Description: `Uses Nomad's scaling API, so the change is recorded as a scaling event and a
later deploy keeps it for autoscaled services. COUNT must lie within the
service's autoscale min and max when it has them. Waits until the new count is
healthy and every instance is in the mesh (a passing Connect instance in
Consul, which is when Traefik routes to it) unless --detach.`,
		Flags: []ucli.Flag{
			namespaceFlag(),
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the instances"},
			&ucli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "stop waiting after `DURATION`"},
		},
		Action: runScale,
	}
}

func runScale(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("scale needs SERVICE and COUNT, e.g. stackctl scale api 3")
	}
	name := c.Args().Get(0)
	n, err := strconv.Atoi(c.Args().Get(1))
	if err != nil || n < 0 {
		return usageErrorf("COUNT must be a whole number >= 0, not %q", c.Args().Get(1))
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, false)
	if err != nil {
		return err
	}
	ns := c.String("namespace")
	job, _, err := cl.Nomad.Jobs().Info(name, (&nomad.QueryOptions{Namespace: ns}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("service %q: %s", name, firstLine(err.Error()))
	}
	g := job.TaskGroups[0]
	if sc := g.Scaling; sc != nil && sc.Min != nil && sc.Max != nil && (int64(n) < *sc.Min || int64(n) > *sc.Max) {
		return usageErrorf("%s scales between %d and %d (its autoscale block); %d is outside. Change min/max in the descriptor and deploy to go further", name, *sc.Min, *sc.Max, n)
	}
	// Nomad refuses to scale during a deployment; wait for it rather than
	// fail, up to the timeout.
	var resp *nomad.JobRegisterResponse
	deadline := time.Now().Add(c.Duration("timeout"))
	for waited := false; ; waited = true {
		resp, _, err = cl.Nomad.Jobs().Scale(name, *g.Name, &n, "scaled by stackctl", false, nil, (&nomad.WriteOptions{Namespace: ns}).WithContext(ctx))
		if err == nil || !strings.Contains(err.Error(), "active deployment") || time.Now().After(deadline) {
			break
		}
		if !waited {
			fmt.Fprintf(c.App.Writer, "%s: a deployment is running; waiting for it to finish before scaling\n", name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	if err != nil {
		return fmt.Errorf("scale %s: %s", name, firstLine(err.Error()))
	}
	fmt.Fprintf(c.App.Writer, "%s: count %d -> %d (evaluation %s)\n", name, deref(g.Count), n, firstN(resp.EvalID, 8))
	if c.Bool("detach") || resp.EvalID == "" {
		return nil
	}
	// Waiting until the new count is healthy and in the mesh, up to the
	// timeout; Ctrl-C stops the wait, not the scaling.
	wctx, stopWaiting := context.WithTimeout(ctx, c.Duration("timeout"))
	defer stopWaiting()
	mesh, err := deploy.WaitCount(wctx, cl, job, *g.Name, n, func(line string) { fmt.Fprintln(c.App.Writer, line) })
	if err == nil || !deploy.IsStopWaiting(err) || ctx.Err() != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "Stopped waiting after %s; follow it with: stackctl status %s\n", c.Duration("timeout"), name)
	for _, w := range mesh.Waiting {
		fmt.Fprintf(c.App.Writer, "  - %s\n", w)
	}
	return silentExit(ExitError)
}
