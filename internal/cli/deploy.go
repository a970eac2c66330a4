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
A task that crashes is reported at once: exit code or signal, restart count,
the end of its stderr. A rollout whose every new allocation failed stops
early (exit 1), saying what Nomad will do next.
A rollout is healthy when Nomad says so and every running instance is also
a passing Connect instance in Consul (what Traefik and callers route to);
until then it prints "N/M instances in the mesh".
A deployment still running is handled by whose it is: a scaling deployment
(autoscaler, scale) is waited for, up to --timeout; the rollout of the very
version the descriptors compile to (an earlier deploy's) is followed to its
end; one that cannot succeed is superseded; any other is refused
(--force supersedes it).
Refuses before writing anything when a referenced secret is missing, a
component is unreachable or sealed, another release is still rolling out,
an object belongs to another stack or was not made by stackctl, or a saved
plan does not match the descriptors it carries.
Ctrl-C stops watching, not the deployment.
Exit status: 0 healthy (or nothing to do and every instance in the mesh),
1 failed or rolled back, 2 usage.`,
		Flags: append(varFlags(),
			serviceFlag(),
			&ucli.StringFlag{Name: "plan", Usage: "apply the saved plan `FILE` (from plan -out) instead of PATHs"},
			&ucli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once registered; do not watch the rollout"},
			&ucli.DurationFlag{Name: "timeout", Value: 10 * time.Minute, Usage: "stop waiting for a scaling deployment, and then for the rollout, after `DURATION` each"},
			&ucli.BoolFlag{Name: "force", Usage: "supersede a deployment that is still running"},
			&ucli.StringFlag{Name: "format", Value: "text", Usage: "`text`, or json: one JSON object per line (docs/cli.md)"},
		),
		Action: runDeploy,
	}
}

func runDeploy(c *ucli.Context) error {
	out := c.App.Writer
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErrorf("--format: want text or json, not %q", format)
	}
	opts := deploy.Options{
		Services: c.StringSlice("service"),
		Force:    c.Bool("force"),
		Detach:   c.Bool("detach"),
		Timeout:  c.Duration("timeout"),
		ShowPlan: func(p *deploy.Plan) { writePlan(out, p) },
		Report:   newReporter(out),
	}
	var js *jsonLines
	if format == "json" {
		js = &jsonLines{w: out}
		opts.ShowPlan = func(p *deploy.Plan) { writePlanJSON(js, p) }
		opts.Report = js.report
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
		if js != nil {
			js.write("error", "", map[string]any{"message": err.Error()})
		}
		return err
	}
	res, err := deploy.Deploy(ctx, cl, opts)
	if js != nil {
		writeSummaryJSON(js, res, opts, err)
	} else if res != nil && len(res.Watched) > 0 {
		writeWatched(out, res.Watched, opts.Timeout)
	} else if err == nil && opts.Detach && res.Plan.HasChanges() {
		fmt.Fprintln(out, "Detached: follow the rollout with stackctl status.")
	}
	return rolloutExit(err)
}

// rolloutExit maps how following rollouts ended to the exit: 1 for a
// rollout not followed to its end (already reported) or not healthy.
func rolloutExit(err error) error {
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
			fmt.Fprintf(out, "%s: error: %s\n", w.Service, printableLines(w.Err.Error()))
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
			if r.Aftermath != "" {
				fmt.Fprintf(out, "  %s.\n", r.Aftermath)
			}
		}
	}
}

func writeReasons(out io.Writer, reasons []string) {
	for _, reason := range reasons {
		fmt.Fprintf(out, "  - %s\n", reason)
	}
}

// writePlanJSON writes one "plan" object per service of the plan.
func writePlanJSON(js *jsonLines, p *deploy.Plan) {
	for _, s := range p.Services {
		obj := map[string]any{
			"selected":   s.Selected,
			"changes":    s.Changes(),
			"intentions": string(s.IntentionsChange()),
		}
		if s.Selected {
			obj["job"] = string(s.JobChange)
			obj["job_version"] = s.JobVersion
			if s.Policy != nil {
				obj["vault_policy"] = string(s.PolicyChange)
			}
			if s.Role != nil {
				obj["vault_role"] = string(s.RoleChange)
			}
			if len(s.Notes) > 0 {
				obj["notes"] = s.Notes
			}
			var missing []string
			for _, m := range s.MissingSecrets() {
				missing = append(missing, m.Env)
			}
			if len(missing) > 0 {
				obj["missing_secrets"] = missing
			}
		}
		js.write("plan", s.Name, obj)
	}
}

// writeSummaryJSON ends a JSON deploy: one "summary" object per selected
// service, or an "error" object when the deploy failed before (or
// without) a rollout to sum up.
func writeSummaryJSON(js *jsonLines, res *deploy.Outcome, opts deploy.Options, err error) {
	var failed *rollout.FailedError
	rolloutErr := errors.Is(err, deploy.ErrUnfinished) || errors.As(err, &failed)
	if err != nil && !rolloutErr {
		js.write("error", "", map[string]any{"message": err.Error()})
		return
	}
	if res == nil || res.Plan == nil {
		return
	}
	watched := map[string]deploy.Watched{}
	for _, w := range res.Watched {
		watched[w.Service] = w
	}
	for _, s := range res.Plan.Selected() {
		obj := map[string]any{"outcome": "unchanged"}
		if w, ok := watched[s.Name]; ok {
			summaryOf(obj, w, opts.Timeout)
		} else if s.Changes() > 0 {
			obj["outcome"] = "applied"
			if opts.Detach && s.JobChange != deploy.NoChange {
				obj["outcome"] = "registered"
			}
		}
		js.write("summary", s.Name, obj)
	}
}

// summaryOf fills a summary object from how a service's rollout ended.
func summaryOf(obj map[string]any, w deploy.Watched, timeout time.Duration) {
	r := w.Result
	switch {
	case w.Stopped && w.Interrupted:
		obj["outcome"] = "interrupted"
	case w.Stopped:
		obj["outcome"] = "stopped"
		obj["timeout"] = timeout.String()
	case w.Err != nil:
		obj["outcome"] = "error"
		obj["error"] = w.Err.Error()
	default:
		obj["outcome"] = string(r.Outcome)
	}
	obj["resumed"] = w.Resumed
	if r.DeploymentID != "" {
		obj["deployment"] = r.DeploymentID
	}
	if r.Description != "" {
		obj["description"] = r.Description
	}
	if len(r.Reasons) > 0 {
		obj["reasons"] = r.Reasons
	}
	if r.RevertedTo != nil {
		obj["reverted_to"] = *r.RevertedTo
	}
	if r.Aftermath != "" {
		obj["aftermath"] = r.Aftermath
	}
}
