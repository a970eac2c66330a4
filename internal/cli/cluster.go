package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
)

// newClients builds the cluster clients lazily, only for commands that
// talk to a cluster; tests replace it.
var newClients = deploy.NewClients

// serviceFlag selects services of the stack (all when absent).
func serviceFlag() ucli.Flag {
	return &ucli.StringSliceFlag{Name: "service", Aliases: []string{"s"}, Usage: "only `NAME` (repeatable)"}
}

// loadBundle loads, validates and compiles the descriptors, then keeps the
// selected services. Intentions are computed over the whole stack first,
// so a partial deploy still allows every declared caller.
func loadBundle(c *ucli.Context) (*compile.Bundle, error) {
	st, p, diags, err := loadStack(c)
	if err != nil {
		return nil, err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return nil, silentExit(ExitError)
	}
	b := compile.Compile(st)
	only := c.StringSlice("service")
	if len(only) == 0 {
		return b, nil
	}
	var keep []*compile.Service
	for _, name := range only {
		found := false
		for _, s := range b.Services {
			if s.Name == name {
				keep, found = append(keep, s), true
			}
		}
		if !found {
			var names []string
			for _, s := range b.Services {
				names = append(names, s.Name)
			}
			return nil, usageErrorf("--service %q: no such service in the stack (have: %s)", name, strings.Join(names, ", "))
		}
	}
	b.Services = keep
	return b, nil
}

// connect builds clients and checks the components a command needs, by
// name and address, before anything is written.
func connect(ctx context.Context, needVault bool) (*deploy.Clients, error) {
	cl, err := newClients()
	if err != nil {
		return nil, err
	}
	if err := cl.Preflight(ctx, needVault); err != nil {
		return nil, fmt.Errorf("cluster not ready, nothing was changed:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cl, nil
}

func needsVault(b *compile.Bundle) bool {
	for _, s := range b.Services {
		if s.VaultPolicy != nil {
			return true
		}
	}
	return false
}

// interruptible returns a context cancelled by Ctrl-C (SIGINT/SIGTERM).
func interruptible(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, sigterm)
}
