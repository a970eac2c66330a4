package cli

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/scale"
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
Consul, which is when Traefik routes to it) unless --detach.

It acts for the stack at --stack (default: the working directory) and
refuses a job of that name that another stack deployed or that stackctl
did not deploy.`,
		Flags: append(stackFlags(),
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the instances"},
			&ucli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "stop waiting after `DURATION`"},
		),
		Action: runScale,
	}
}

func runScale(c *ucli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("scale needs SERVICE and COUNT, e.g. stackctl scale api 3")
	}
	n, err := strconv.Atoi(c.Args().Get(1))
	if err != nil || n < 0 {
		return usageErrorf("COUNT must be a whole number >= 0, not %q", c.Args().Get(1))
	}
	owner, err := actingStack(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	out := c.App.Writer
	opts := scale.Options{
		Namespace: owner.Namespace,
		Stack:     owner.Stack,
		Service:   owner.Service,
		Count:     n,
		Wait:      !c.Bool("detach"),
		Timeout:   c.Duration("timeout"),
		Progress:  func(line string) { fmt.Fprintln(out, line) },
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{})
	if err != nil {
		return err
	}
	res, err := scale.Scale(ctx, cl, opts)
	var bounds *scale.BoundsError
	if errors.As(err, &bounds) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	if res.Stopped {
		fmt.Fprintf(out, "Stopped waiting after %s; follow it with: stackctl status %s\n", opts.Timeout, opts.Service)
		writeReasons(out, res.Mesh.Waiting)
		return silentExit(ExitError)
	}
	return nil
}
