package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
)

// dial builds the cluster clients, only for commands that talk to a
// cluster. The test binary replaces it with an in-memory cluster
// (script_test.go); the shipped binary has no way to.
var dial = cluster.Dial

// serviceFlag selects services of the stack (all when absent).
func serviceFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "only `NAME` (repeatable)"}
}

// loadBundle loads, validates and compiles the whole stack (intentions
// come from its whole graph) and checks the -s names. cfg records what it
// was compiled from, for plan -out.
func loadBundle(c *ucli.Context) (*compile.Bundle, *deploy.Config, error) {
	st, p, diags, err := loadStack(c)
	if err != nil {
		return nil, nil, err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return nil, nil, silentExit(ExitError)
	}
	b := compile.Compile(st)
	if _, err := b.Select(c.StringSlice("service")); err != nil {
		return nil, nil, usageErrorf("--service: %v", err)
	}
	cfg, err := deploy.NewConfig(p, c.Args().Slice(), varArgs(c), os.Environ())
	if err != nil {
		return nil, nil, err
	}
	return b, cfg, nil
}

// connect builds the clients and checks the components a command needs,
// by name and address, before anything is written.
func connect(ctx context.Context, needs cluster.Needs) (*cluster.Cluster, error) {
	cl, err := dial()
	if err != nil {
		return nil, err
	}
	if err := cluster.Preflight(ctx, cl, needs); err != nil {
		return nil, fmt.Errorf("cluster not ready, nothing was changed:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cl, nil
}

// interruptible returns a context cancelled by Ctrl-C (SIGINT/SIGTERM).
func interruptible(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, sigterm)
}

func namespaceFlag() ucli.Flag {
	return &ucli.StringFlag{Name: "namespace", Value: defaultNamespace(), Usage: "Nomad `NAMESPACE` of the services (NOMAD_NAMESPACE)"}
}

func defaultNamespace() string {
	if ns := os.Getenv("NOMAD_NAMESPACE"); ns != "" {
		return ns
	}
	return "default"
}
