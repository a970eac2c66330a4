// Command stackctl-docker-authz is the Docker engine's authorization
// plugin of a stackctl node (internal/dockerauthz), as a program of its
// own: `stackctl dev up` builds it from the checkout and starts it before
// the engine, so it never depends on which binary ran `dev up` (a test
// binary, `go run`). `stackctl dev docker-authz` serves the same plugin.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stackctl/stackctl/internal/dockerauthz"
)

func main() {
	socket := flag.String("socket", dockerauthz.SocketPath, "the plugin's unix socket (the engine finds plugins in /run/docker/plugins)")
	docker := flag.String("docker-socket", "/var/run/docker.sock", "the engine's API, where container labels are read")
	pidfile := flag.String("engine-pidfile", "", "exit once the engine whose PID this file holds is gone")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "stackctl-docker-authz takes no arguments (got %q)\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if *pidfile != "" {
		go dockerauthz.WatchEngine(ctx, *pidfile, cancel)
	}
	if err := dockerauthz.Serve(ctx, *socket, *docker, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "stackctl-docker-authz: %v\n", err)
		os.Exit(1)
	}
}
