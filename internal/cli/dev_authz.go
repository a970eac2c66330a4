package cli

import (
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/dockerauthz"
)

// devDockerAuthzCommand serves the Docker engine's authorization plugin
// (internal/dockerauthz), as cmd/stackctl-docker-authz does, for an
// operator who runs it beside an engine of their own (docs/security.md);
// `dev up` starts that smaller program.
func devDockerAuthzCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "docker-authz",
		Usage: "serve the Docker engine's authorization plugin that confines Nomad's containers (started by dev up)",
		Description: `Answers the engine (dockerd --authorization-plugin=` + dockerauthz.Name + `) on
` + dockerauthz.SocketPath + `: a container of a Nomad allocation may not use the host's network,
PID, IPC, UTS or user namespace, another allocation's namespaces, privileged mode, added
capabilities, devices, host paths or volumes. See docs/security.md.`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "socket", Value: dockerauthz.SocketPath, Usage: "the plugin's unix socket (the engine finds plugins in /run/docker/plugins)"},
			&ucli.StringFlag{Name: "docker-socket", Value: "/var/run/docker.sock", Usage: "the engine's API, where container labels are read"},
			&ucli.StringFlag{Name: "engine-pidfile", Usage: "exit once the engine whose PID this file holds is gone"},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			ctx, cancel := signalContext(c)
			defer cancel()
			if f := c.String("engine-pidfile"); f != "" {
				go dockerauthz.WatchEngine(ctx, f, cancel)
			}
			return dockerauthz.Serve(ctx, c.String("socket"), c.String("docker-socket"), os.Stderr)
		},
	}
}
