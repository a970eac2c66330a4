package cli

import (
	"errors"
	"fmt"
	"strconv"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/rollback"
)

func rollbackCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "rollback",
		Usage:     "run a previous version of a service's job again",
		ArgsUsage: "SERVICE [VERSION]",
		Description: `Without VERSION, goes back to the newest earlier version that was stable.
The rollback is a new job version; the descriptor is not changed, so the next
deploy brings the descriptor's version back.

It acts for the stack at --stack (default: the working directory) and
refuses a job of that name that another stack deployed or that stackctl
did not deploy.`,
		Flags:  stackFlags(),
		Action: runRollback,
	}
}

func runRollback(c *ucli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return usageErrorf("rollback needs SERVICE and optionally VERSION")
	}
	var version *uint64
	if c.NArg() == 2 {
		v, err := strconv.ParseUint(c.Args().Get(1), 10, 64)
		if err != nil {
			return usageErrorf("VERSION must be a job version number, not %q", c.Args().Get(1))
		}
		version = &v
	}
	owner, err := actingStack(c, c.Args().Get(0))
	if err != nil {
		return err
	}
	opts := rollback.Options{Namespace: owner.Namespace, Stack: owner.Stack, Service: owner.Service, Version: version}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{})
	if err != nil {
		return err
	}
	res, err := rollback.Rollback(ctx, cl, opts)
	var same *rollback.SameVersionError
	if errors.As(err, &same) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: rolled back from version %d to %d (evaluation %s); follow it with stackctl status %s\n",
		opts.Service, res.From, res.To, cluster.ShortID(res.EvalID), opts.Service)
	return nil
}
