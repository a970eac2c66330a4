package cli

import (
	"regexp"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// TestLogsExecFailures: what logs and exec say when they cannot do their
// work, and the exit status: 1 for logs, 125 for exec (2 for usage).
func TestLogsExecFailures(t *testing.T) {
	fake, run := deployedShop(t)
	if code, out := run("", args("destroy", shopStack, "--yes", "kv")...); code != 0 {
		t.Fatalf("destroy: %d\n%s", code, out)
	}
	// A job of that name that stackctl did not deploy.
	fake.Edit(func(*clustertest.State) {
		fake.Register(&nomad.Job{ID: ptrTo("legacy"), Name: ptrTo("legacy"), Namespace: ptrTo("default"),
			TaskGroups: []*nomad.TaskGroup{{Name: ptrTo("legacy"), Count: ptrTo(1)}}})
	})
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{args("logs", shopStack, "nope"), "", 1, `service "nope": no job of that name in namespace default \(stackctl status lists the deployed services\)`},
		{args("logs", shopStack, "legacy"), "", 1, `job "legacy" in namespace default was not deployed by stackctl \(no meta managed-by = stackctl\); use nomad alloc logs for it`},
		{args("logs", shopStack, "--task", "nope", "api"), "", 1, `read Nomad logs of allocation a[0-9a-f]{7} \(task nope\) in namespace default at http://nomad.test:4646: 400 unknown task name "nope"`},
		{args("logs", shopStack, "--instance", "zz", "api"), "", 1, `^Error: service api has no instance "zz" \(its instances: a[0-9a-f]{7} \(running\), a[0-9a-f]{7} \(running\)\)$`},
		{args("logs", shopStack, "--instance", "a", "api"), "", 1, `^Error: instance "a" is ambiguous: it begins a[0-9a-f]{7} \(running\), a[0-9a-f]{7} \(running\); give more of the ID$`},
		{args("logs", shopStack, "-f", "kv"), "", 1, `^Error: service kv has no running instance \(1 stopped: --since 1h reads those that stopped in the last hour\)$`},
		{args("logs", shopStack, "api", "web"), "", 2, `logs takes one SERVICE`},
		{args("logs", shopStack), "", 2, `logs takes one SERVICE`},
		{args("logs", shopStack, "--since", "-5m", "api"), "", 2, `--since must be a positive duration`},
		{args("logs", shopStack, "--tail", "x", "api"), "", 2, `invalid value "x" for flag -tail`},

		{args("exec", shopStack, "nope", "--", "echo"), "", 125, `service "nope": no job of that name in namespace default`},
		{args("exec", shopStack, "legacy", "--", "echo"), "", 125, `job "legacy" in namespace default was not deployed by stackctl \(no meta managed-by = stackctl\); use nomad alloc exec for it`},
		{args("exec", shopStack, "--instance", "zz", "web", "--", "echo"), "", 125, `service web has no instance "zz"`},
		{args("exec", shopStack, "--task", "nope", "web", "--", "echo"), "", 125, `execute Nomad commands in allocation a[0-9a-f]{7} \(task nope\) in namespace default at http://nomad.test:4646: 400 unknown task name "nope"`},
		{args("exec", shopStack, "kv", "--", "echo"), "", 125, `^Error: service kv has no running instance to run the command in \(instances: a[0-9a-f]{7} \(complete\)\)$`},
		{args("exec", shopStack, "--instance", "a", "kv", "--", "echo"), "", 125, `^Error: instance a[0-9a-f]{7} of kv is not running \(complete\)$`},
		{args("exec", shopStack, "web"), "", 2, `exec takes SERVICE -- COMMAND \[ARG...\] \(flags go before SERVICE\)`},
		{args("exec", shopStack, "web", "--"), "", 2, `exec takes SERVICE -- COMMAND`},
		{args("exec", shopStack), "", 2, `exec takes SERVICE -- COMMAND`},
		{args("exec", shopStack, "-i", "-t", "web", "--", "cat"), "x", 2, `-t needs stdin to be a terminal with -i \(use -t=false to pipe input\)`},
	} {
		code, out := run(c.stdin, c.args...)
		if code != c.code || !regexp.MustCompile(`(?m)`+c.want).MatchString(out) {
			t.Errorf("%v: exit %d, want %d and %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
}
