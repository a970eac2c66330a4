package cli

import (
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// TestEveryCallFails runs each cluster command once to learn the calls it
// makes, then again with each of those calls failing (a 500): the command
// must fail and say which call failed, where, and why, unless the call is
// one the command may do without.
func TestEveryCallFails(t *testing.T) {
	jobs := "../../jobs"
	commands := []struct {
		name  string
		args  []string
		stdin string
		setup func(*clustertest.State)
		// tolerated calls: the command succeeds without them, saying so
		// unless silent too.
		tolerated, silent []string
	}{
		{name: "plan", args: args("plan", nomad18, jobs),
			// Shown as UNREADABLE; deploy refuses then.
			tolerated: []string{"vault.secret.metadata", "vault.secret.read"}},
		{name: "deploy", args: args("deploy", nomad18, "-var", "image=demo:2", jobs),
			// Read only to explain a failed rollout (the inspector reads
			// the deployment's allocations while it runs).
			tolerated: []string{"consul.health.checks", "nomad.deployment.allocations"},
			silent:    []string{"consul.health.checks", "nomad.deployment.allocations"}},
		{name: "deploy crash", args: args("deploy", nomad18, "-var", "image=demo:2", "-s", "web", jobs),
			setup: func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Crash }},
		{name: "status", args: args("status")},
		{name: "status json", args: args("status", "--format", "json", "api"),
			// mesh_error says so.
			tolerated: []string{"consul.health.connect"}},
		{name: "plan json", args: args("plan", "--format", "json", nomad18, jobs),
			tolerated: []string{"vault.secret.metadata", "vault.secret.read"}},
		{name: "logs", args: args("logs", shopStack, "api")},
		{name: "logs follow", args: args("logs", shopStack, "-f", "web"), setup: stopWhileFollowed("web")},
		{name: "exec", args: args("exec", shopStack, "web", "--", "echo", "hi")},
		{name: "graph live", args: args("graph", "--live", jobs)},
		{name: "status service", args: args("status", "api"),
			// The Mesh line says it is unknown.
			tolerated: []string{"consul.health.connect"}},
		{name: "scale", args: args("scale", shopStack, "web", "2")},
		{name: "rollback", args: args("rollback", shopStack, "web", "0"), setup: secondVersion},
		{name: "destroy", args: args("destroy", shopStack, "--yes", "api")},
		{name: "secrets put", args: args("secrets", "put", "--stack", jobs, "api", "API_SIGNING_KEY"), stdin: "v",
			// The roll is watched as deploy's rollouts are.
			tolerated: []string{"consul.health.checks", "nomad.deployment.allocations"},
			silent:    []string{"consul.health.checks", "nomad.deployment.allocations"}},
		// The deployment never ends by itself: without the inspector's
		// reads the watch ends at --timeout.
		{name: "deploy crash at start", args: args("deploy", nomad18, "--timeout", "1s", "-var", "image=demo:2", "-s", "web", jobs),
			setup: func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Panic }},
		{name: "secrets get", args: args("secrets", "get", "--stack", jobs, "api", "API_SIGNING_KEY")},
		{name: "secrets list", args: args("secrets", "list", "--stack", jobs, "api")},
	}
	for _, cmd := range commands {
		t.Run(cmd.name, func(t *testing.T) {
			fake, run := deployedShop(t)
			if cmd.setup != nil {
				fake.Edit(cmd.setup)
			}
			fake.ResetCalls()
			code, out := run(cmd.stdin, cmd.args...)
			calls := fake.Calls()
			if code != 0 && !strings.HasPrefix(cmd.name, "deploy crash") {
				t.Fatalf("without failures: exit %d\n%s", code, out)
			}
			if len(calls) == 0 {
				t.Fatal("no call recorded")
			}
			for _, op := range calls {
				t.Run(op, func(t *testing.T) {
					fake, run := deployedShop(t)
					if cmd.setup != nil {
						fake.Edit(cmd.setup)
					}
					fake.Edit(func(s *clustertest.State) {
						s.Faults = append(s.Faults, &clustertest.Fault{Op: op, Status: 500, Message: "injected failure"})
					})
					fake.ResetCalls()
					code, out := run(cmd.stdin, cmd.args...)
					if !contains(fake.Calls(), op) {
						return // an earlier call's failure stopped the command first
					}
					if contains(cmd.tolerated, op) {
						if code != 0 {
							t.Errorf("exit %d although %s may fail\n%s", code, op, out)
						}
					} else if code == 0 && !strings.HasPrefix(cmd.name, "deploy crash") {
						t.Errorf("exit 0 despite the failure\n%s", out)
					}
					if !contains(cmd.silent, op) && !strings.Contains(out, "500 injected failure") {
						t.Errorf("the failure is not reported:\n%s", out)
					}
				})
			}
		})
	}
}

// stopWhileFollowed stops the service at the first watch of its
// allocations, so that logs -f ends by itself.
func stopWhileFollowed(service string) func(*clustertest.State) {
	return func(s *clustertest.State) {
		s.IO = &clustertest.TaskIO{Timeline: map[string][]string{"default/" + service: {"stop"}}}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
