package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/devstack"
)

// devCommand groups the local development stack commands (internal/devstack).
func devCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "dev",
		Usage: "run the local Nomad + Consul + Vault + Traefik + autoscaler stack",
		Description: `The local stack is wired as stackctl expects a cluster to be: Consul with
Connect (mesh default-deny), Vault (dev, KV v2 at secret/, policies from
policies/vault), Nomad (server+client, bridge networking; deployers get the docker
driver only, confined by the engine's authorization plugin, dev docker-authz),
and Traefik and Nomad Autoscaler as Nomad jobs from jobs/platform.

State, logs and PIDs live in $STACKCTL_DEV_DIR (default
~/.local/state/stackctl/dev); built agents in $STACKCTL_CACHE_DIR (default
~/.cache/stackctl). See docs/devstack.md.`,
		Subcommands: []*ucli.Command{
			devInstallCommand(),
			devUpCommand(),
			devDownCommand(),
			devStatusCommand(),
			devEnvCommand(),
			devLogsCommand(),
			devComposeCommand(),
			devDockerAuthzCommand(),
		},
	}
}

// devDirs resolves the state and cache directories.
func devDirs() (state, cache string, err error) {
	if state, err = devstack.StateDir(); err != nil {
		return "", "", err
	}
	cache, err = devstack.CacheDir()
	return state, cache, err
}

// signalContext ends on SIGINT/SIGTERM, so long operations clean up.
func signalContext(c *ucli.Context) (context.Context, context.CancelFunc) {
	return interruptible(c.Context)
}

// loadDevState reads the state of the stack `dev up` recorded.
func loadDevState() (*devstack.State, error) {
	state, _, err := devDirs()
	if err != nil {
		return nil, err
	}
	return devstack.LoadState(state)
}

func noArgs(c *ucli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("%s takes no arguments (got %q)", c.Command.FullName(), c.Args().First())
	}
	return nil
}

func devInstallCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "install",
		Usage: "install Docker and the CNI plugins, build the pinned agents and the local images",
		Description: `Uses agents found on PATH when their version matches the pin; otherwise
builds them from the Go module proxy into the cache (one log per build under
<cache>/logs). Safe to interrupt and to run again. Without names it installs
every agent and Docker Compose v2 (for docker-compose.dev.yml, linked as the
docker CLI plugin); name agents to install only those.

--compose-images builds, from the same agent binaries, the images
docker-compose.dev.yml runs where no registry is reachable (a Debian base made
with debootstrap, one image per agent) and writes compose.env in the state
directory for "docker compose --env-file".`,
		ArgsUsage: "[agent ...]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "no-path", Usage: "ignore agents on PATH; always use (or build) the cached pinned build"},
			&ucli.BoolFlag{Name: "agents-only", Usage: "only the agents: no system packages, dockerd or images"},
			&ucli.BoolFlag{Name: "images-only", Usage: "only the local images (starts dockerd if needed)"},
			&ucli.BoolFlag{Name: "compose-images", Usage: "also build local agent images for docker-compose.dev.yml (no registry needed) and write the env file selecting them"},
		},
		Action: func(c *ucli.Context) error {
			state, cache, err := devDirs()
			if err != nil {
				return err
			}
			var agents []devstack.Agent
			for _, name := range c.Args().Slice() {
				a, ok := devstack.AgentByName(name)
				if !ok {
					return usageErrorf("unknown agent %q (one of nomad, consul, vault, nomad-autoscaler, traefik, docker-compose)", name)
				}
				agents = append(agents, a)
			}
			opts := devstack.InstallOptions{
				CacheDir: cache, StateDir: state, Agents: agents,
				NoPath: c.Bool("no-path"), SkipSystem: c.Bool("agents-only"), SkipAgents: c.Bool("images-only"),
				ComposeImages: c.Bool("compose-images"), Out: c.App.Writer,
			}
			if opts.ComposeImages && opts.SkipSystem {
				return usageErrorf("--compose-images needs dockerd and the system packages: drop --agents-only")
			}
			if opts.SkipSystem && opts.SkipAgents {
				return usageErrorf("--agents-only and --images-only exclude each other")
			}
			if !opts.SkipSystem {
				if opts.Repo, err = devstack.FindRepo(); err != nil {
					return err
				}
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			return devstack.Install(ctx, opts)
		},
	}
}

func devUpCommand() *ucli.Command {
	d := devstack.DefaultPorts()
	return &ucli.Command{
		Name:  "up",
		Usage: "start the stack and wait until every component is ready",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "bind-addr", Usage: "this machine's address the agents and allocations meet on (default: the default route's)"},
			&ucli.BoolFlag{Name: "no-install", Usage: "fail instead of building missing agents and images"},
			&ucli.IntFlag{Name: "consul-port", Value: d.ConsulHTTP, Usage: "Consul HTTP API"},
			&ucli.IntFlag{Name: "consul-grpc-port", Value: d.ConsulGRPC, Usage: "Consul gRPC (xDS)"},
			&ucli.IntFlag{Name: "vault-port", Value: d.Vault, Usage: "Vault API (the cluster port is this + 1)"},
			&ucli.IntFlag{Name: "nomad-port", Value: d.NomadHTTP, Usage: "Nomad HTTP API (RPC and serf are the next two)"},
			&ucli.IntFlag{Name: "public-port", Value: d.Public, Usage: "Traefik entrypoint public (all interfaces)"},
			&ucli.IntFlag{Name: "internal-port", Value: d.Internal, Usage: "Traefik entrypoint internal (loopback)"},
			&ucli.IntFlag{Name: "autoscaler-port", Value: d.Autoscaler, Usage: "Nomad Autoscaler HTTP API"},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			state, cache, err := devDirs()
			if err != nil {
				return err
			}
			repo, err := devstack.FindRepo()
			if err != nil {
				return err
			}
			p := devstack.DefaultPorts()
			p.ConsulHTTP, p.ConsulGRPC = c.Int("consul-port"), c.Int("consul-grpc-port")
			p.Vault = c.Int("vault-port")
			p.NomadHTTP = c.Int("nomad-port")
			p.NomadRPC, p.NomadSerf = p.NomadHTTP+1, p.NomadHTTP+2
			p.Public, p.Internal, p.Autoscaler = c.Int("public-port"), c.Int("internal-port"), c.Int("autoscaler-port")
			if err := p.Validate(); err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			st, err := devstack.Up(ctx, devstack.Options{
				StateDir: state, CacheDir: cache, Repo: repo, Ports: p,
				BindAddr: c.String("bind-addr"), Install: !c.Bool("no-install"), Out: c.App.Writer,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "\nUse it from a shell with:  eval \"$(stackctl dev env)\"\n")
			return printStatus(c.Context, c.App.Writer, st)
		},
	}
}

func devDownCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "down",
		Usage: "stop everything `dev up` started (by recorded PID) and remove its containers",
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			state, _, err := devDirs()
			if err != nil {
				return err
			}
			err = devstack.Down(context.WithoutCancel(c.Context), state, c.App.Writer)
			if errors.Is(err, devstack.ErrNoStack) {
				fmt.Fprintf(c.App.Writer, "no dev stack recorded in %s: nothing to stop\n", state)
				return nil
			}
			return err
		},
	}
}

func devStatusCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "status",
		Usage: "show each component's health and address (exit 1 when one is down)",
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			st, err := loadDevState()
			if err != nil {
				return err
			}
			return printStatus(c.Context, c.App.Writer, st)
		},
	}
}

// printStatus prints the health table and fails naming the unhealthy
// components.
func printStatus(ctx context.Context, w io.Writer, st *devstack.State) error {
	return printHealth(w, devstack.Status(ctx, st))
}

func devEnvCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "env",
		Usage: "print shell exports for the stack: eval \"$(stackctl dev env)\"",
		Description: `Prints NOMAD_ADDR/NOMAD_TOKEN, CONSUL_HTTP_ADDR/CONSUL_HTTP_TOKEN and
VAULT_ADDR/VAULT_TOKEN. The tokens are the deployer's (policies/*/deployer.hcl):
enough for every stackctl command, nothing more. --admin prints the bootstrap
tokens instead (Nomad and Consul management, Vault root), for operating the
stack itself with the agents' own CLIs.`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "admin", Usage: "the bootstrap (management/root) tokens instead of the deployer's"},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			st, err := loadDevState()
			if err != nil {
				return err
			}
			vars, err := devstack.Env(st, c.Bool("admin"))
			if err != nil {
				return err
			}
			for _, kv := range vars {
				fmt.Fprintf(c.App.Writer, "export %s=%s\n", kv[0], shellQuote(kv[1]))
			}
			return nil
		},
	}
}

// shellQuote single-quotes s for POSIX shells.
func shellQuote(s string) string {
	q := "'"
	for _, r := range s {
		if r == '\'' {
			q += `'\''`
		} else {
			q += string(r)
		}
	}
	return q + "'"
}

func devLogsCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "logs",
		Usage:     "print a component's log (consul, vault, nomad, dockerd, traefik, nomad-autoscaler)",
		ArgsUsage: "[-f] [-n N] COMPONENT",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what is appended"},
			&ucli.IntFlag{Name: "lines", Aliases: []string{"n"}, Usage: "only the last N lines (0: all)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("logs takes one component: %s", strings.Join(devstack.LogComponents, ", "))
			}
			st, err := loadDevState()
			if err != nil {
				return err
			}
			files, err := devstack.LogFiles(st, c.Args().First())
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			follow := c.Bool("follow")
			if follow && len(files) > 1 {
				// Follow the task's stderr, where Traefik and the autoscaler log.
				files = files[len(files)-1:]
			}
			for _, f := range files {
				if len(files) > 1 {
					fmt.Fprintf(c.App.Writer, "==> %s <==\n", f)
				}
				if err := devstack.CopyLog(ctx, c.App.Writer, f, c.Int("lines"), follow); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
