package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/devstack"
)

// devComposeCommand wraps docker-compose.dev.yml with what the file cannot
// do itself (internal/devstack/composestack.go). Its subcommands mirror
// `dev up/down/env/status`, so the two ways to run the stack read alike.
func devComposeCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "compose",
		Usage: "run the same stack with Docker Compose (docker-compose.dev.yml), host preparation included",
		Description: `up prepares the host (the credential directory, shared mounts for Nomad's
data and Docker's network namespaces), runs "docker compose up -d --wait" (with
the local images' env file when no registry answers) and waits until Traefik
routes, Nomad's node is ready and Vault is unsealed. The file's one-shot
services create Nomad's bridge and the isolation rules, bootstrap the ACLs and
mint the tokens into $STACKCTL_COMPOSE_DIR/secrets (default
~/.local/state/stackctl/compose/secrets). env prints the deployer's exports
(--admin: the bootstrap ones). down drains Nomad, runs "docker compose down" and
undoes the host preparation. See docs/devstack.md#docker-compose.`,
		Subcommands: []*ucli.Command{
			{
				Name:  "up",
				Usage: "prepare the host, start the compose stack and wait until every component is ready",
				Flags: []ucli.Flag{
					&ucli.StringFlag{Name: "env-file", Usage: "env file for docker compose (default: the local images' one from `dev install --compose-images` when no registry answers)"},
				},
				Action: func(c *ucli.Context) error {
					o, err := composeOptions(c, true)
					if err != nil {
						return err
					}
					ctx, cancel := signalContext(c)
					defer cancel()
					if err := devstack.ComposeUp(ctx, o); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "\nUse it from a shell with:  eval \"$(stackctl dev compose env)\"\n")
					return printHealth(c.App.Writer, devstack.ComposeStatus(c.Context, o))
				},
			},
			{
				Name:  "down",
				Usage: "drain Nomad, remove the compose stack's containers and undo the host preparation",
				Action: func(c *ucli.Context) error {
					o, err := composeOptions(c, true)
					if err != nil {
						return err
					}
					return devstack.ComposeDown(context.WithoutCancel(c.Context), o)
				},
			},
			{
				Name:  "status",
				Usage: "show each compose service's state and readiness (exit 1 when one is not)",
				Action: func(c *ucli.Context) error {
					o, err := composeOptions(c, true)
					if err != nil {
						return err
					}
					return printHealth(c.App.Writer, devstack.ComposeStatus(c.Context, o))
				},
			},
			{
				Name:  "env",
				Usage: "print shell exports for the compose stack: eval \"$(stackctl dev compose env)\"",
				Flags: []ucli.Flag{
					&ucli.BoolFlag{Name: "admin", Usage: "the bootstrap (management/root) tokens instead of the deployer's"},
				},
				Action: func(c *ucli.Context) error {
					o, err := composeOptions(c, false)
					if err != nil {
						return err
					}
					vars, err := devstack.ComposeExports(o, c.Bool("admin"))
					if err != nil {
						return err
					}
					for _, kv := range vars {
						fmt.Fprintf(c.App.Writer, "export %s=%s\n", kv[0], shellQuote(kv[1]))
					}
					return nil
				},
			},
		},
	}
}

// composeOptions resolves the directories of the compose stack; withRepo
// also finds the checkout holding docker-compose.dev.yml.
func composeOptions(c *ucli.Context, withRepo bool) (devstack.ComposeOptions, error) {
	var o devstack.ComposeOptions
	if err := noArgs(c); err != nil {
		return o, err
	}
	var err error
	if o.Dir, err = devstack.ComposeDir(); err != nil {
		return o, err
	}
	if o.NomadDir, err = devstack.ComposeNomadDir(); err != nil {
		return o, err
	}
	if o.DevDir, err = devstack.StateDir(); err != nil {
		return o, err
	}
	if withRepo {
		if o.Repo, err = devstack.FindRepo(); err != nil {
			return o, err
		}
	}
	if c.IsSet("env-file") {
		o.EnvFile = c.String("env-file")
	}
	o.Out = c.App.Writer
	return o, nil
}

// printHealth prints one table (component, health, address, detail) and
// fails naming the components that are not healthy.
func printHealth(w io.Writer, hs []devstack.Health) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tHEALTH\tADDRESS\tDETAIL")
	var down []string
	for _, h := range hs {
		health := "healthy"
		if !h.OK {
			health = "DOWN"
			down = append(down, h.Component)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Component, health, h.Address, h.Detail)
	}
	tw.Flush()
	if len(down) > 0 {
		return fmt.Errorf("unhealthy: %s", strings.Join(down, ", "))
	}
	return nil
}
