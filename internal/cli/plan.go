package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/jsonview"
	"github.com/stackctl/stackctl/internal/logs"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

func planCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "plan",
		Usage:     "show what deploy would change in Nomad, Consul and Vault",
		ArgsUsage: "PATH...",
		Description: `Compares the compiled services with the cluster: Nomad's plan (placements,
in-place vs destructive updates), Vault policies and roles, Consul intentions,
and whether every referenced secret exists (never its value). Intentions
follow the whole stack's graph: with -s, the intentions of other services
that must change are planned too (never their jobs).
-out FILE saves the plan with the descriptors and variables it was made from;
"stackctl deploy --plan FILE" checks it against them, then applies exactly
it, and only while nothing it changes moved in the cluster since.
--format json prints the plan as one JSON object for tools (schema: docs/cli.md,
"JSON output"): every change per service, the Nomad diff, and whether each secret
is set, never its value.
Exit status: 0 no changes, 1 error, 2 usage, 3 changes (with --detailed-exitcode;
without it, 0 for changes too).`,
		Flags: append(varFlags(),
			serviceFlag(),
			&ucli.StringFlag{Name: "out", Usage: "save the plan to `FILE` for deploy --plan"},
			&ucli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 3 when there are changes"},
			formatFlag(),
		),
		Action: runPlan,
	}
}

func runPlan(c *ucli.Context) error {
	asJSON, err := jsonFormat(c)
	if err != nil {
		return err
	}
	b, cfg, err := loadBundle(c)
	if err != nil {
		return err
	}
	only := c.StringSlice("service")
	ctx, cancel := interruptible(c.Context)
	defer cancel()
	cl, err := connect(ctx, deploy.Needs(b, only))
	if err != nil {
		return err
	}
	p, err := deploy.MakePlan(ctx, cl, deploy.PlanOptions{Bundle: b, Services: only, Config: cfg})
	if err != nil {
		return err
	}
	out := c.String("out")
	if out != "" {
		if err := deploy.Save(out, b, p); err != nil {
			return fmt.Errorf("save plan: %w", err)
		}
	}
	if asJSON {
		// Only the document on stdout; the note for people goes to stderr.
		if err := jsonview.Write(c.App.Writer, jsonview.NewPlan(b, only, p, out)); err != nil {
			return err
		}
		if out != "" {
			fmt.Fprintf(c.App.ErrWriter, "Saved the plan to %s. Apply exactly it with: stackctl deploy --plan %s\n", out, out)
		}
	} else {
		writePlan(c.App.Writer, p)
		if out != "" {
			fmt.Fprintf(c.App.Writer, "\nSaved the plan to %s. Apply exactly it with: stackctl deploy --plan %s\n", out, out)
		}
	}
	if p.HasChanges() && c.Bool("detailed-exitcode") {
		return silentExit(ExitChanges)
	}
	return nil
}

var changeSymbol = map[deploy.Change]string{
	deploy.NoChange: " ", deploy.Create: "+", deploy.Update: "~", deploy.Delete: "-",
}

// writePlan prints a plan the way people review one: per service, a line
// per object with its change, the job's field diff and the scheduler's view.
func writePlan(w io.Writer, p *deploy.Plan) {
	changed, unchanged := 0, 0
	for _, s := range p.Services {
		if s.Selected {
			fmt.Fprintf(w, "Service %s\n", s.Name)
			writeServicePlan(w, s)
		} else {
			fmt.Fprintf(w, "Service %s (not selected: its intentions follow the stack's graph)\n", s.Name)
			writeIntentionsPlan(w, s)
		}
		if s.Changes() > 0 {
			changed++
		} else {
			unchanged++
		}
		fmt.Fprintln(w)
	}
	if !p.HasChanges() {
		fmt.Fprintf(w, "No changes: %d service(s) match the cluster.\n", unchanged)
		return
	}
	fmt.Fprintf(w, "Plan: %d service(s) to change, %d unchanged.\n", changed, unchanged)
}

// writeServicePlan prints one service's plan. What Nomad, Consul and
// Vault said (the diff's names, warnings, the scheduler's metrics, errors)
// goes through logs.Printable; the diff's values are quoted (%q).
func writeServicePlan(w io.Writer, s *deploy.ServicePlan) {
	p := logs.Printable[string]
	fmt.Fprintf(w, "  %s job %-28s %s\n", changeSymbol[s.JobChange], s.Name, jobSummary(s))
	if s.JobChange == deploy.Update && s.Diff != nil {
		writeJobDiff(w, s.Diff)
	}
	for _, n := range s.Notes {
		fmt.Fprintf(w, "      ! %s\n", p(n))
	}
	for _, g := range sortedKeys(s.FailedPlaces) {
		fmt.Fprintf(w, "      ! group %s would not be placed: %s\n", p(g), p(rollout.WhyUnplaced(s.FailedPlaces[g])))
	}
	if s.Warnings != "" {
		lines := strings.Split(strings.TrimSpace(s.Warnings), "\n")
		for i, l := range lines {
			lines[i] = p(l)
		}
		fmt.Fprintf(w, "      ! Nomad warns: %s\n", strings.Join(lines, "\n        "))
	}
	if s.Policy != nil {
		fmt.Fprintf(w, "  %s vault policy %-21s %s\n", changeSymbol[s.PolicyChange], s.Policy.Name, s.PolicyChange)
	}
	if s.Role != nil {
		fmt.Fprintf(w, "  %s vault jwt role %-19s %s\n", changeSymbol[s.RoleChange], s.Role.Name, s.RoleChange)
	}
	writeIntentionsPlan(w, s)
	for _, sec := range s.Secrets {
		fmt.Fprintf(w, "    secret %-27s %s key %s: %s\n", sec.Env, sec.Path, sec.Key, logs.Printable(secretState(sec)))
	}
}

func writeIntentionsPlan(w io.Writer, s *deploy.ServicePlan) {
	ip := s.Intentions
	if ip == nil || (ip.Want == nil && ip.Change != deploy.Delete) {
		return
	}
	allow := "nobody"
	if ip.Want != nil {
		allow = strings.Join(deploy.SourceNames(ip.Want), ", ")
	}
	fmt.Fprintf(w, "  %s intentions %-23s %s (allow %s)\n", changeSymbol[ip.Change], s.Name, ip.Change, allow)
}

func secretState(sec secrets.Check) string {
	switch {
	case sec.Err != "":
		return "UNREADABLE: " + sec.Err
	case !sec.PathExists:
		return "MISSING (path does not exist)"
	case !sec.KeyExists:
		return "MISSING (key not set)"
	case sec.Unverified:
		return "path present (key not checked: the token may not read values)"
	}
	return "present"
}

func jobSummary(s *deploy.ServicePlan) string {
	switch s.JobChange {
	case deploy.NoChange:
		return fmt.Sprintf("no change (version %d)", s.JobVersion)
	case deploy.Create:
		return "create" + updatesSummary(s.Updates)
	}
	return fmt.Sprintf("update from version %d%s", s.JobVersion, updatesSummary(s.Updates))
}

func updatesSummary(u map[string]*nomad.DesiredUpdates) string {
	var place, inplace, destructive, canary, stop uint64
	for _, d := range u {
		place += d.Place
		inplace += d.InPlaceUpdate
		destructive += d.DestructiveUpdate
		canary += d.Canary
		stop += d.Stop
	}
	var parts []string
	add := func(n uint64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(place, "to place")
	add(inplace, "in-place")
	add(destructive, "to replace (destructive)")
	add(canary, "canary")
	add(stop, "to stop")
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// writeJobDiff prints Nomad's job diff, indented like `nomad job plan`.
func writeJobDiff(w io.Writer, d *nomad.JobDiff) {
	writeFields(w, d.Fields, 6)
	writeObjects(w, d.Objects, 6)
	for _, g := range d.TaskGroups {
		if g.Type == "None" {
			continue
		}
		fmt.Fprintf(w, "%s%s group %q\n", strings.Repeat(" ", 6), diffSymbol(g.Type), g.Name)
		writeFields(w, g.Fields, 8)
		writeObjects(w, g.Objects, 8)
		for _, t := range g.Tasks {
			if t.Type == "None" {
				continue
			}
			fmt.Fprintf(w, "%s%s task %q\n", strings.Repeat(" ", 8), diffSymbol(t.Type), t.Name)
			writeFields(w, t.Fields, 10)
			writeObjects(w, t.Objects, 10)
		}
	}
}

func writeFields(w io.Writer, fields []*nomad.FieldDiff, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, f := range fields {
		switch f.Type {
		case "Added":
			fmt.Fprintf(w, "%s+ %s: %q\n", pad, logs.Printable(f.Name), f.New)
		case "Deleted":
			fmt.Fprintf(w, "%s- %s: %q\n", pad, logs.Printable(f.Name), f.Old)
		case "Edited":
			fmt.Fprintf(w, "%s~ %s: %q => %q\n", pad, logs.Printable(f.Name), f.Old, f.New)
		}
	}
}

func writeObjects(w io.Writer, objs []*nomad.ObjectDiff, indent int) {
	for _, o := range objs {
		if o.Type == "None" {
			continue
		}
		fmt.Fprintf(w, "%s%s %s\n", strings.Repeat(" ", indent), diffSymbol(o.Type), logs.Printable(o.Name))
		writeFields(w, o.Fields, indent+2)
		writeObjects(w, o.Objects, indent+2)
	}
}

func diffSymbol(t string) string {
	switch t {
	case "Added":
		return "+"
	case "Deleted":
		return "-"
	case "Edited":
		return "~"
	}
	return " "
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
