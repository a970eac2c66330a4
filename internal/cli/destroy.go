package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/deploy"
)

func destroyCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "destroy",
		Usage:     "stop a service of the stack and remove the intentions and Vault policy stackctl created for it",
		ArgsUsage: "SERVICE",
		Description: `Stops the Nomad job (its history stays, so rollback and status still work),
removes the service from the sources of every intentions entry of its stack
(it is an allowed caller nowhere in the stack afterwards), deletes its own
intentions and Vault policy/role only when they are this service's (written
by stackctl for its stack), and leaves its secrets in Vault. Asks to type the
service name unless --yes.

It acts for the stack at --stack (default: the working directory) and
refuses a job of that name that another stack deployed or that stackctl
did not deploy. Other stacks' intentions entries are left as they are; those
that still allow the service are listed.`,
		Flags: append(stackFlags(),
			&ucli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&ucli.BoolFlag{Name: "purge", Usage: "also remove the job's history from Nomad"},
			&ucli.StringFlag{Name: "vault-jwt-auth-path", Usage: "JWT auth mount of the service's role (default: the one its Vault policy records)"},
		),
		Action: runDestroy,
	}
}

func runDestroy(c *ucli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("destroy needs exactly one SERVICE")
	}
	name, out := c.Args().First(), c.App.Writer
	owner, err := actingStack(c, name)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, cluster.Needs{Vault: true})
	if err != nil {
		return err
	}
	err = deploy.Destroy(ctx, cl, deploy.DestroyOptions{
		Namespace:   owner.Namespace,
		Stack:       owner.Stack,
		Service:     name,
		Purge:       c.Bool("purge"),
		JWTAuthPath: c.String("vault-jwt-auth-path"),
		Confirm: func() bool {
			if c.Bool("yes") {
				return true
			}
			fmt.Fprintf(out, "This stops %s of stack %q (namespace %s) and removes its intentions and Vault policy. Type the service name to confirm: ",
				name, owner.Stack, owner.Namespace)
			line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
			return strings.TrimSpace(line) == name
		},
		Report: func(line string) { fmt.Fprintln(out, line) },
	})
	if errors.Is(err, deploy.ErrNotConfirmed) {
		fmt.Fprintln(out, "\nNot confirmed; nothing was changed. (--yes skips this question.)")
		return silentExit(ExitError)
	}
	return err
}
