package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/spec"
)

// The commands that work on deployed services (destroy, scale, rollback,
// logs, exec) act for one stack, read from --stack as secrets does (the
// working directory by default), and only on that stack's jobs: its name
// and Nomad namespace are checked against each job's owner record.

// stackFlags are --stack, --namespace and the variables the stack's
// descriptors may need to be read.
func stackFlags() []ucli.Flag {
	return append(varFlags(),
		&ucli.StringFlag{Name: "stack", Value: ".", Usage: "descriptor `PATH` of the stack the service belongs to; only its jobs are touched"},
		&ucli.StringFlag{Name: "namespace", DefaultText: "the stack's", Usage: "Nomad `NAMESPACE` of the service; must be the stack's"})
}

// actingStack reads the stack at --stack and returns the owner a command
// acts as for service: the stack's name and namespace. Without
// descriptors there is no stack, and a usage error says how to give one.
func actingStack(c *ucli.Context, service string) (compile.Owner, error) {
	path := c.String("stack")
	if _, diags := spec.NewParser(spec.OSFS{}).DescriptorFiles([]string{path}); diags.HasErrors() {
		if !c.IsSet("stack") {
			return compile.Owner{}, usageErrorf("%s acts only on the services of one stack: run it in the stack's directory or give --stack PATH (%s)",
				c.Command.Name, lowerFirst(diagDetails(diags)))
		}
		return compile.Owner{}, usageErrorf("--stack %s: %s", path, diagDetails(diags))
	}
	st, p, diags, err := loadStackPaths(c, []string{path})
	if err != nil {
		return compile.Owner{}, err
	}
	if diags.HasErrors() {
		printDiagnostics(c, c.App.ErrWriter, p, diags)
		return compile.Owner{}, silentExit(ExitError)
	}
	ns := st.Settings.Namespace
	if c.IsSet("namespace") && c.String("namespace") != ns {
		return compile.Owner{}, usageErrorf("--namespace %s: stack %q (%s) deploys to namespace %s; leave --namespace out",
			c.String("namespace"), st.Settings.Name, path, ns)
	}
	return compile.Owner{Namespace: ns, Stack: st.Settings.Name, Service: service}, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// diagDetails joins the diagnostics' details in one line.
func diagDetails(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, strings.TrimSuffix(d.Detail, "."))
	}
	return strings.Join(parts, "; ")
}

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
