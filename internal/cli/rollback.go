package cli

import (
	"fmt"
	"strconv"

	nomad "github.com/hashicorp/nomad/api"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/jobsubmit"
)

func rollbackCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "rollback",
		Usage:     "run a previous version of a service's job again",
		ArgsUsage: "SERVICE [VERSION]",
		Description: `Without VERSION, goes back to the newest earlier version that was stable.
The rollback is a new job version; the descriptor is not changed, so the next
deploy brings the descriptor's version back.`,
		Flags: []ucli.Flag{namespaceFlag()},
		Action: func(c *ucli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageErrorf("rollback needs SERVICE and optionally VERSION")
			}
			name := c.Args().Get(0)
			ctx, cancel := interruptible(c.Context)
			defer cancel()
			cl, err := connect(ctx, false)
			if err != nil {
				return err
			}
			ns := c.String("namespace")
			versions, _, _, err := cl.Nomad.Jobs().Versions(name, false, (&nomad.QueryOptions{Namespace: ns}).WithContext(ctx))
			if err != nil {
				return fmt.Errorf("service %q: %s", name, firstLine(err.Error()))
			}
			current := deref(versions[0].Version)
			var target *uint64
			if c.NArg() == 2 {
				v, err := strconv.ParseUint(c.Args().Get(1), 10, 64)
				if err != nil {
					return usageErrorf("VERSION must be a job version number, not %q", c.Args().Get(1))
				}
				target = &v
			} else {
				for _, j := range versions[1:] {
					if deref(j.Stable) {
						v := deref(j.Version)
						target = &v
						break
					}
				}
				if target == nil {
					return fmt.Errorf("%s has no earlier stable version to go back to (current version %d)", name, current)
				}
			}
			if *target == current {
				return usageErrorf("%s already runs version %d", name, current)
			}
			resp, err := jobsubmit.Revert(cl.Nomad, name, *target, &current, cl.ConsulToken, (&nomad.WriteOptions{Namespace: ns}).WithContext(ctx))
			if err != nil {
				return fmt.Errorf("rollback %s to version %d: %s", name, *target, firstLine(err.Error()))
			}
			fmt.Fprintf(c.App.Writer, "%s: rolled back from version %d to %d (evaluation %s); follow it with stackctl status %s\n",
				name, current, *target, firstN(resp.EvalID, 8), name)
			return nil
		},
	}
}
