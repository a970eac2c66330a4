package jsonview

import (
	"maps"
	"slices"
	"sort"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

// Plan is `stackctl plan --format json`, in the manner of `terraform show
// -json`: the change of every object, per service, and whether each
// secret is set (never its value).
type Plan struct {
	Header
	Stack     string        `json:"stack"`
	Namespace string        `json:"namespace"`
	Selected  []string      `json:"selected"`
	Changes   bool          `json:"changes"`
	SavedPlan *string       `json:"saved_plan"`
	Services  []ServicePlan `json:"services"`
	Summary   PlanSummary   `json:"summary"`
}

// PlanSummary counts the services listed with and without changes.
type PlanSummary struct {
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
}

// ServicePlan is one service's changes. A service outside the selection
// appears only when its intentions change; its job is then null.
type ServicePlan struct {
	Name        string           `json:"name"`
	Selected    bool             `json:"selected"`
	Changed     bool             `json:"changed"`
	Job         *JobPlan         `json:"job"`
	VaultPolicy *ObjectChange    `json:"vault_policy"`
	VaultRole   *ObjectChange    `json:"vault_role"`
	Intentions  *IntentionsPlan  `json:"intentions"`
	Secrets     []SecretPresence `json:"secrets"`
}

// Action is what applying does to an object.
type Action string

// Actions, Terraform's words.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
	ActionNoOp   Action = "no-op"
)

func action(c deploy.Change) Action {
	switch c {
	case deploy.Create:
		return ActionCreate
	case deploy.Update:
		return ActionUpdate
	case deploy.Delete:
		return ActionDelete
	}
	return ActionNoOp
}

// JobPlan is the change of the service's Nomad job.
type JobPlan struct {
	ID             string      `json:"id"`
	Namespace      string      `json:"namespace"`
	Action         Action      `json:"action"`
	CurrentVersion *uint64     `json:"current_version"`
	ModifyIndex    uint64      `json:"modify_index"`
	TaskGroups     []GroupPlan `json:"task_groups"`
	Diff           *JobDiff    `json:"diff"`
	Notes          []string    `json:"notes"`
	Warnings       []string    `json:"warnings"`
}

// GroupPlan is what Nomad's scheduler would do to a task group's
// allocations, and why it could not place them, if so.
type GroupPlan struct {
	Name              string  `json:"name"`
	Place             uint64  `json:"place"`
	InPlaceUpdate     uint64  `json:"in_place_update"`
	DestructiveUpdate uint64  `json:"destructive_update"`
	Canary            uint64  `json:"canary"`
	Stop              uint64  `json:"stop"`
	Migrate           uint64  `json:"migrate"`
	Ignore            uint64  `json:"ignore"`
	FailedPlacement   *string `json:"failed_placement"`
}

// ObjectChange is the change of a named object (a Vault policy or role).
type ObjectChange struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Action Action `json:"action"`
}

// IntentionsPlan is the change of the service's intentions entry: the
// callers it allows once applied.
type IntentionsPlan struct {
	Action Action   `json:"action"`
	Allow  []string `json:"allow"`
}

// SecretPresence says whether a secret the job reads is set; it carries
// no value.
type SecretPresence struct {
	Env        string  `json:"env"`
	Mount      string  `json:"mount"`
	Path       string  `json:"path"`
	Key        string  `json:"key"`
	State      string  `json:"state"` // present, missing, unverified, unreadable
	PathExists bool    `json:"path_exists"`
	Version    *int    `json:"version"`
	Error      *string `json:"error"`
}

// Secret states.
const (
	SecretPresent    = "present"
	SecretMissing    = "missing"
	SecretUnverified = "unverified" // the path exists; the token may not read the key
	SecretUnreadable = "unreadable"
)

// NewPlan builds the plan document; savedTo is the plan -out file, if any.
func NewPlan(b *compile.Bundle, selected []string, p *deploy.Plan, savedTo string) Plan {
	doc := Plan{Header: header(), Stack: b.Settings.Name, Namespace: b.Settings.Namespace,
		Selected: slices.Sorted(slices.Values(selected)), Changes: p.HasChanges(), Services: []ServicePlan{}}
	if len(selected) == 0 {
		doc.Selected = list(b.Names())
	}
	if savedTo != "" {
		doc.SavedPlan = &savedTo
	}
	for _, s := range p.Services {
		sp := ServicePlan{Name: s.Name, Selected: s.Selected, Changed: s.Changes() > 0, Secrets: []SecretPresence{}}
		if s.Selected {
			sp.Job = jobPlan(s)
			if s.Policy != nil {
				sp.VaultPolicy = &ObjectChange{Name: s.Policy.Name, Path: "sys/policies/acl/" + s.Policy.Name, Action: action(s.PolicyChange)}
			}
			if s.Role != nil {
				sp.VaultRole = &ObjectChange{Name: s.Role.Name, Path: compile.RolePath(s.Role.AuthPath, s.Role.Name), Action: action(s.RoleChange)}
			}
			for _, c := range s.Secrets {
				sp.Secrets = append(sp.Secrets, presence(b.Settings.VaultMount, c))
			}
		}
		if ip := s.Intentions; ip != nil && (ip.Want != nil || ip.Change == deploy.Delete) {
			allow := slices.Sorted(slices.Values(deploy.SourceNames(ip.Want)))
			sp.Intentions = &IntentionsPlan{Action: action(ip.Change), Allow: list(allow)}
		}
		if sp.Changed {
			doc.Summary.Changed++
		} else {
			doc.Summary.Unchanged++
		}
		doc.Services = append(doc.Services, sp)
	}
	sort.SliceStable(doc.Services, func(i, j int) bool { return doc.Services[i].Name < doc.Services[j].Name })
	return doc
}

func jobPlan(s *deploy.ServicePlan) *JobPlan {
	jp := &JobPlan{ID: s.Name, Namespace: s.Owner.Namespace, Action: action(s.JobChange), ModifyIndex: s.JobModifyIndex,
		TaskGroups: []GroupPlan{}, Notes: list(s.Notes), Warnings: lines(s.Warnings)}
	if s.Job != nil && s.Job.Namespace != nil {
		jp.Namespace = *s.Job.Namespace
	}
	if s.JobChange != deploy.Create {
		jp.CurrentVersion = ptr(s.JobVersion)
	}
	groups := map[string]bool{}
	for g := range s.Updates {
		groups[g] = true
	}
	for g := range s.FailedPlaces {
		groups[g] = true
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		gp := GroupPlan{Name: g}
		if u := s.Updates[g]; u != nil {
			gp.Place, gp.InPlaceUpdate, gp.DestructiveUpdate, gp.Canary = u.Place, u.InPlaceUpdate, u.DestructiveUpdate, u.Canary
			gp.Stop, gp.Migrate, gp.Ignore = u.Stop, u.Migrate, u.Ignore
		}
		if m := s.FailedPlaces[g]; m != nil {
			gp.FailedPlacement = ptr(rollout.WhyUnplaced(m))
		}
		jp.TaskGroups = append(jp.TaskGroups, gp)
	}
	jp.Diff = jobDiff(s.Diff)
	return jp
}

func presence(mount string, c secrets.Check) SecretPresence {
	p := SecretPresence{Env: c.Env, Mount: mount, Path: c.Path, Key: c.Key, PathExists: c.PathExists}
	if c.PathExists {
		p.Version = ptr(c.Version)
	}
	switch {
	case c.Err != "":
		p.State, p.Error = SecretUnreadable, ptr(c.Err)
	case !c.KeyExists:
		p.State = SecretMissing
	case c.Unverified:
		p.State = SecretUnverified
	default:
		p.State = SecretPresent
	}
	return p
}

// JobDiff is Nomad's plan diff with what does not change left out, in a
// stable order: fields and objects by name, groups and tasks by name.
// Types are "added", "deleted" and "edited" ("none" only at the top, for
// a job that does not change).
type JobDiff struct {
	Type       string       `json:"type"`
	Fields     []FieldDiff  `json:"fields"`
	Objects    []ObjectDiff `json:"objects"`
	TaskGroups []GroupDiff  `json:"task_groups"`
}

// FieldDiff is one changed field; old is null for an added field, new for
// a deleted one.
type FieldDiff struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Old         *string  `json:"old"`
	New         *string  `json:"new"`
	Annotations []string `json:"annotations"`
}

// ObjectDiff is a changed block (a template, a service, a network...).
type ObjectDiff struct {
	Name    string       `json:"name"`
	Type    string       `json:"type"`
	Fields  []FieldDiff  `json:"fields"`
	Objects []ObjectDiff `json:"objects"`
}

// GroupDiff is a changed task group.
type GroupDiff struct {
	Name    string       `json:"name"`
	Type    string       `json:"type"`
	Fields  []FieldDiff  `json:"fields"`
	Objects []ObjectDiff `json:"objects"`
	Tasks   []TaskDiff   `json:"tasks"`
}

// TaskDiff is a changed task.
type TaskDiff struct {
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Fields      []FieldDiff  `json:"fields"`
	Objects     []ObjectDiff `json:"objects"`
	Annotations []string     `json:"annotations"`
}

func jobDiff(d *nomad.JobDiff) *JobDiff {
	if d == nil {
		return nil
	}
	out := &JobDiff{Type: diffType(d.Type), Fields: fieldDiffs(d.Fields), Objects: objectDiffs(d.Objects), TaskGroups: []GroupDiff{}}
	for _, g := range d.TaskGroups {
		if changed(g.Type) {
			gd := GroupDiff{Name: g.Name, Type: diffType(g.Type), Fields: fieldDiffs(g.Fields), Objects: objectDiffs(g.Objects), Tasks: []TaskDiff{}}
			for _, t := range g.Tasks {
				if changed(t.Type) {
					gd.Tasks = append(gd.Tasks, TaskDiff{Name: t.Name, Type: diffType(t.Type), Fields: fieldDiffs(t.Fields),
						Objects: objectDiffs(t.Objects), Annotations: list(slices.Clone(t.Annotations))})
				}
			}
			sort.SliceStable(gd.Tasks, func(i, j int) bool { return gd.Tasks[i].Name < gd.Tasks[j].Name })
			out.TaskGroups = append(out.TaskGroups, gd)
		}
	}
	sort.SliceStable(out.TaskGroups, func(i, j int) bool { return out.TaskGroups[i].Name < out.TaskGroups[j].Name })
	return out
}

func fieldDiffs(fs []*nomad.FieldDiff) []FieldDiff {
	out := []FieldDiff{}
	for _, f := range fs {
		if !changed(f.Type) {
			continue
		}
		fd := FieldDiff{Name: f.Name, Type: diffType(f.Type), Annotations: list(slices.Clone(f.Annotations))}
		if f.Type != "Added" {
			fd.Old = ptr(f.Old)
		}
		if f.Type != "Deleted" {
			fd.New = ptr(f.New)
		}
		out = append(out, fd)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func objectDiffs(os []*nomad.ObjectDiff) []ObjectDiff {
	out := []ObjectDiff{}
	for _, o := range os {
		if changed(o.Type) {
			out = append(out, ObjectDiff{Name: o.Name, Type: diffType(o.Type), Fields: fieldDiffs(o.Fields), Objects: objectDiffs(o.Objects)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func changed(t string) bool { return t != "" && t != "None" }

func diffType(t string) string {
	if t == "" {
		return "none"
	}
	return strings.ToLower(t)
}
