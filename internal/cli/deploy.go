package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/rollout"
)

func deployCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "deploy",
		Usage:     "apply descriptors to the cluster and watch the rollout until healthy",
		ArgsUsage: "PATH...",
		Description: `Plans, then writes in order: Vault policy (and JWT role on Nomad >= 1.7),
Consul intentions, Nomad job (registered only if it is still at the planned
modify index, with counts preserved for autoscaled groups; not registered at
all when nothing changed). Intentions follow the whole stack's graph: with -s,
other services' intentions change too when the selection's upstreams did.
Then follows each evaluation and deployment,
explains placement failures and failed allocations, follows auto-revert.
A rollout is healthy when Nomad says so and every running instance is also
a passing Connect instance in Consul (what Traefik and callers route to);
until then it prints "N/M instances in the mesh".
Refuses before writing anything when a referenced secret is missing, a
component is unreachable or sealed, a deployment is still running, an object
belongs to another stack or was not made by stackctl, or a saved plan does
not match the descriptors it carries.
Ctrl-C stops watching, not the deployment.
Exit status: 0 healthy (or nothing to do), 1 failed or rolled back, 2 usage.`,
		Flags: append(varFlags(),
			serviceFlag(),
			&ucli.StringFlag{Name: "plan", Usage: "apply the saved plan `FILE` (from plan -out) instead of PATHs"},
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once registered; do not watch the rollout"},
			&ucli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "stop waiting for the rollout after `DURATION`"},
			&ucli.BoolFlag{Name: "force", Usage: "supersede a deployment that is still running"},
		),
		Action: runDeploy,
	}
}

func runDeploy(c *ucli.Context) error {
	out := c.App.Writer
	opts := deploy.Options{
		Services: c.StringSlice("service"),
		Force:    c.Bool("force"),
		Detach:   c.Bool("detach"),
		Timeout:  c.Duration("timeout"),
		ShowPlan: func(p *deploy.Plan) { writePlan(out, p) },
		Report:   newReporter(out),
	}
	var needs cluster.Needs
	if file := c.String("plan"); file != "" {
		if c.Args().Present() || len(opts.Services) > 0 {
			return usageErrorf("give either --plan FILE or PATHs (and -s), not both")
		}
		saved, err := deploy.LoadSaved(file)
		var notPlan *deploy.NotAPlanError
		if errors.As(err, &notPlan) {
			return usageErrorf("%v", err)
		}
		if err != nil {
			return err
		}
		// Checked before anything is contacted; Deploy checks again.
		b, err := saved.Verify()
		if err != nil {
			return err
		}
		opts.Saved, needs = saved, deploy.Needs(b, saved.Selected)
	} else {
		b, _, err := loadBundle(c)
		if err != nil {
			return err
		}
		opts.Bundle, needs = b, deploy.Needs(b, opts.Services)
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, needs)
	if err != nil {
		return err
	}
	res, err := deploy.Deploy(ctx, cl, opts)
	if res != nil && len(res.Watched) > 0 {
		writeWatched(out, res.Watched, opts.Timeout)
	} else if err == nil && opts.Detach && res.Plan.HasChanges() {
		fmt.Fprintln(out, "Detached: follow the rollout with stackctl status.")
	}
	var failed *rollout.FailedError
	switch {
	case errors.Is(err, deploy.ErrUnfinished):
		return silentExit(ExitError)
	case errors.As(err, &failed):
		return &exitError{code: ExitError, err: err}
	}
	return err
}

// writeWatched gives every service its line, whatever happened to the
// others: a rollout still going on must not hide why another one failed.
func writeWatched(out io.Writer, ws []deploy.Watched, timeout time.Duration) {
	fmt.Fprintln(out)
	for _, w := range ws {
		r := w.Result
		switch {
		case w.Stopped:
			why := fmt.Sprintf("no result after %s", timeout)
			if w.Interrupted {
				why = "interrupted"
			}
			fmt.Fprintf(out, "%s: stopped watching (%s); the deployment goes on in Nomad: stackctl status %s\n", w.Service, why, w.Service)
			writeReasons(out, r.Reasons)
		case w.Err != nil:
			fmt.Fprintf(out, "%s: error: %v\n", w.Service, w.Err)
		case r.Outcome == rollout.Healthy:
			fmt.Fprintf(out, "%s: healthy\n", w.Service)
		default:
			fmt.Fprintf(out, "%s: %s", w.Service, r.Outcome)
			if r.Description != "" {
				fmt.Fprintf(out, " (%s)", r.Description)
			}
			fmt.Fprintln(out)
			writeReasons(out, r.Reasons)
			if r.RevertedTo != nil {
				fmt.Fprintf(out, "  Nomad reverted %s to job version %d; the new version is not running.\n", w.Service, *r.RevertedTo)
			}
		}
	}
}

func writeReasons(out io.Writer, reasons []string) {
	for _, reason := range reasons {
		fmt.Fprintf(out, "  - %s\n", reason)
	}
}
