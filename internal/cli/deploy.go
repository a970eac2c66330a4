package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
)

func deployCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "deploy",
		Usage:     "apply descriptors to the cluster and watch the rollout until healthy",
		ArgsUsage: "PATH...",
		Description: `Plans, then writes in order: Vault policy (and JWT role on Nomad >= 1.7),
Consul intentions, Nomad job (registered only if it is still at the planned
modify index, with counts preserved for autoscaled groups; not registered at
all when nothing changed). Then follows each evaluation and deployment,
explains placement failures and failed allocations, follows auto-revert.
A rollout is healthy when Nomad says so and every running instance is also
a passing Connect instance in Consul (what Traefik and callers route to);
until then it prints "N/M instances in the mesh".
Refuses before writing anything when a referenced secret is missing, a
component is unreachable or sealed, or a deployment is still running.
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
	var b *compile.Bundle
	var saved *deploy.SavedPlan
	if file := c.String("plan"); file != "" {
		if c.Args().Present() {
			return usageErrorf("give either --plan FILE or PATHs, not both")
		}
		sp, sb, ok, err := deploy.LoadSaved(file)
		if err != nil {
			return err
		}
		if !ok {
			return usageErrorf("%s is not a plan written by stackctl plan -out", file)
		}
		saved, b = sp, sb
	} else {
		var err error
		if b, err = loadBundle(c); err != nil {
			return err
		}
	}
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	out := c.App.Writer
	cl, err := connect(ctx, needsVault(b))
	if err != nil {
		return err
	}
	// Hold each service's deploy lock from plan to registration.
	var names []string
	ns := "default"
	for _, s := range b.Services {
		names = append(names, s.Name)
		ns = *s.Job.Namespace
	}
	release, err := deploy.Lock(ctx, cl, ns, names)
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	defer release()
	p, err := deploy.MakePlan(ctx, cl, b)
	if err != nil {
		return err
	}
	if saved != nil {
		if err := deploy.CheckUnmoved(saved, p); err != nil {
			return fmt.Errorf("the saved plan is stale, nothing was changed:\n  %w", err)
		}
	}
	writePlan(out, p)
	if err := deploy.CheckApplicable(ctx, cl, p, c.Bool("force")); err != nil {
		return fmt.Errorf("nothing was changed:\n  %w", err)
	}
	if !p.HasChanges() {
		return nil
	}
	report := newReporter(out)
	regs, err := deploy.Apply(ctx, cl, p, report)
	if err != nil {
		var conflict *deploy.ConflictError
		if errors.As(err, &conflict) {
			return fmt.Errorf("%w; services before it in the list were applied, a rerun converges", err)
		}
		return fmt.Errorf("%w\nA rerun of the same deploy converges: every step is idempotent", err)
	}
	release()
	if c.Bool("detach") {
		fmt.Fprintln(out, "Detached: follow the rollout with stackctl status.")
		return nil
	}
	return watchAll(ctx, c, cl, regs, report)
}

// lineReporter prints plain progress lines; concurrent watchers share it.
func lineReporter(w io.Writer) deploy.Reporter {
	var mu sync.Mutex
	return func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
}

// watchAll follows every registered job concurrently until each rollout
// ends, the deadline passes, or the user interrupts.
func watchAll(ctx context.Context, c *ucli.Context, cl *deploy.Clients, regs []deploy.Registered, report deploy.Reporter) error {
	wctx, cancel := context.WithTimeout(ctx, c.Duration("timeout"))
	defer cancel()
	var wg sync.WaitGroup
	results := make([]deploy.Result, len(regs))
	errs := make([]error, len(regs))
	for i, r := range regs {
		if !r.Changed {
			results[i] = deploy.Result{Service: r.Service, Outcome: deploy.Healthy}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = deploy.Watch(wctx, cl, r, report)
		}()
	}
	wg.Wait()
	// Every service gets its line, whatever happened to the others: a
	// rollout still going on must not hide why another one failed.
	out := c.App.Writer
	var failed []deploy.Result
	unfinished, errored := 0, 0
	fmt.Fprintln(out)
	for i, r := range results {
		if err := errs[i]; err != nil {
			if deploy.IsStopWaiting(err) {
				unfinished++
				why := fmt.Sprintf("no result after %s", c.Duration("timeout"))
				if ctx.Err() != nil {
					why = "interrupted"
				}
				fmt.Fprintf(out, "%s: stopped watching (%s); the deployment goes on in Nomad: stackctl status %s\n",
					regs[i].Service, why, regs[i].Service)
				for _, reason := range r.Reasons {
					fmt.Fprintf(out, "  - %s\n", reason)
				}
				continue
			}
			errored++
			fmt.Fprintf(out, "%s: error: %v\n", regs[i].Service, err)
			continue
		}
		switch r.Outcome {
		case deploy.Healthy:
			fmt.Fprintf(out, "%s: healthy\n", r.Service)
		default:
			failed = append(failed, r)
			fmt.Fprintf(out, "%s: %s", r.Service, r.Outcome)
			if r.Description != "" {
				fmt.Fprintf(out, " (%s)", r.Description)
			}
			fmt.Fprintln(out)
			for _, reason := range r.Reasons {
				fmt.Fprintf(out, "  - %s\n", reason)
			}
			if r.RevertedTo != nil {
				fmt.Fprintf(out, "  Nomad reverted %s to job version %d; the new version is not running.\n", r.Service, *r.RevertedTo)
			}
		}
	}
	if errored > 0 || (unfinished > 0 && len(failed) == 0) {
		return silentExit(ExitError)
	}
	if len(failed) > 0 {
		return &exitError{code: ExitError, err: &deploy.FailedError{Results: failed}}
	}
	return nil
}
