package deploy

import (
	"context"
	"fmt"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/secrets"
)

// Change is what applying a plan does to one object.
type Change string

const (
	NoChange Change = "no change"
	Create   Change = "create"
	Update   Change = "update"
	Delete   Change = "delete"
)

// changes reports whether c writes anything.
func (c Change) changes() bool { return c != NoChange && c != "" }

// Plan is what deploy would do, per service: the selected services in
// full, and every other service of the stack whose intentions must change
// so that the cluster's intentions equal the declared graph.
type Plan struct {
	Services []*ServicePlan
	// Config is what the bundle was compiled from, kept in a saved plan.
	Config *Config
}

// ServicePlan holds the changes for one service.
type ServicePlan struct {
	Name  string
	Owner compile.Owner
	// Selected is false for a service outside -s whose intentions change:
	// only Intentions is planned for it, never its job.
	Selected bool

	// Job is what will be registered: the compiled job, with the current
	// count kept for autoscaled groups (clamped into the new bounds).
	Job            *nomad.Job
	JobChange      Change
	JobModifyIndex uint64 // Nomad's index when planned; 0 for a new job
	JobVersion     uint64 // current version, when the job exists
	Diff           *nomad.JobDiff
	Updates        map[string]*nomad.DesiredUpdates // per group
	FailedPlaces   map[string]*nomad.AllocationMetric
	Warnings       string
	PreserveCounts bool
	Notes          []string // what the plan adjusted, for the reader

	Policy       *compile.VaultPolicy
	PolicyText   string
	PolicyChange Change

	Role       *compile.VaultRole
	RoleChange Change

	Intentions *IntentionsPlan

	Secrets []secrets.Check
}

// IntentionsPlan is the change of one service's intentions entry.
type IntentionsPlan struct {
	Want   *consul.ServiceIntentionsConfigEntry // nil: nobody may call the service
	Index  uint64                               // the entry's modify index when planned; 0 when absent
	Change Change
}

// HasChanges reports whether applying would change anything.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Services {
		if s.Changes() > 0 {
			return true
		}
	}
	return false
}

// Selected lists the plans of the selected services.
func (p *Plan) Selected() []*ServicePlan {
	var out []*ServicePlan
	for _, s := range p.Services {
		if s.Selected {
			out = append(out, s)
		}
	}
	return out
}

// Changes counts the objects this service's plan changes.
func (s *ServicePlan) Changes() int {
	n := 0
	for _, c := range []Change{s.JobChange, s.PolicyChange, s.RoleChange, s.IntentionsChange()} {
		if c.changes() {
			n++
		}
	}
	return n
}

// IntentionsChange is the change of the service's intentions entry.
func (s *ServicePlan) IntentionsChange() Change {
	if s.Intentions == nil {
		return NoChange
	}
	return s.Intentions.Change
}

// MissingSecrets lists secrets that would make the task's template fail.
func (s *ServicePlan) MissingSecrets() []secrets.Check {
	var out []secrets.Check
	for _, c := range s.Secrets {
		if !c.KeyExists {
			out = append(out, c)
		}
	}
	return out
}

// PlanOptions say what to plan.
type PlanOptions struct {
	Bundle   *compile.Bundle // the whole stack: intentions come from its graph
	Services []string        // the selection (-s); empty: every service
	Config   *Config         // what the bundle was compiled from (for plan -out)
}

// MakePlan compares the bundle's services with the cluster. It only reads.
func MakePlan(ctx context.Context, cl *cluster.Cluster, opts PlanOptions) (*Plan, error) {
	sel, err := opts.Bundle.Select(opts.Services)
	if err != nil {
		return nil, err
	}
	p := &Plan{Config: opts.Config}
	selected := map[string]bool{}
	for _, svc := range sel.Services {
		selected[svc.Name] = true
	}
	// Every service's intentions, in stack order, so the plan reads the
	// same whatever -s selects.
	for _, svc := range opts.Bundle.Services {
		owner := compile.OwnerOf(opts.Bundle.Settings, svc.Name)
		sp := &ServicePlan{Name: svc.Name, Owner: owner, Selected: selected[svc.Name]}
		if sp.Selected {
			if err := planService(ctx, cl, opts.Bundle.Settings.VaultMount, svc, sp); err != nil {
				return nil, fmt.Errorf("plan %s: %w", svc.Name, err)
			}
		}
		if sp.Intentions, err = planIntentions(ctx, cl, owner, svc.Intentions); err != nil {
			return nil, fmt.Errorf("plan %s: %w", svc.Name, err)
		}
		// An entry written for a service that runs elsewhere under the
		// same name would change who may call the other owner's service.
		if c := sp.Intentions.Change; !sp.Selected && (c == Create || c == Update) {
			if err := claimCatalog(ctx, cl, owner, svc.Name, readJob(ctx, cl, owner)); err != nil {
				return nil, fmt.Errorf("plan %s: %w", svc.Name, err)
			}
		}
		if sp.Selected || sp.Intentions.Change.changes() {
			p.Services = append(p.Services, sp)
		}
	}
	return p, nil
}

// planService plans the selected service's own objects: job, Vault policy
// and role, and the secrets the job reads.
func planService(ctx context.Context, cl *cluster.Cluster, mount string, svc *compile.Service, sp *ServicePlan) error {
	if err := planJob(ctx, cl, svc, sp); err != nil {
		return err
	}
	policyOwner, err := planPolicy(ctx, cl, svc, sp)
	if err != nil {
		return err
	}
	if err := planRole(ctx, cl, svc, sp, policyOwner); err != nil {
		return err
	}
	for _, sec := range svc.Secrets {
		sp.Secrets = append(sp.Secrets, secrets.CheckSet(ctx, cl, mount, sec))
	}
	return nil
}

// Needs says which components planning or deploying the selection uses:
// Vault only when a selected service reads secrets.
func Needs(b *compile.Bundle, services []string) cluster.Needs {
	sel, err := b.Select(services)
	if err != nil {
		return cluster.Needs{Vault: true}
	}
	for _, s := range sel.Services {
		if s.VaultPolicy != nil {
			return cluster.Needs{Vault: true}
		}
	}
	return cluster.Needs{}
}
