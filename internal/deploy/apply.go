package deploy

import (
	"context"
	"fmt"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

// ConflictError means an object changed in the cluster after it was
// planned (another deploy, a scale, a revert, a person); nothing of it was
// written.
type ConflictError struct {
	Service string
	Object  string // "" for the job, "intentions"
	Where   string // "Nomad", "Consul"
	Detail  string
}

func (e *ConflictError) Error() string {
	if e.Object == "" {
		return fmt.Sprintf("job %q changed in Nomad since it was planned (%s); nothing was registered for it. Run the deploy again to plan against the new state", e.Service, e.Detail)
	}
	return fmt.Sprintf("the %s of %q changed in %s since they were planned (%s); nothing was written for them. Run the deploy again to plan against the new state", e.Object, e.Service, e.Where, e.Detail)
}

// BusyError means a deployment of the service is still running.
type BusyError struct {
	Service, DeploymentID string
	JobVersion            uint64
}

func (e *BusyError) Error() string {
	id := e.DeploymentID
	if !strings.HasPrefix(id, "(") {
		id = cluster.ShortID(id)
	}
	return fmt.Sprintf("a deployment of %q (job version %d, deployment %s) is still running; wait for it (stackctl status %s) or pass --force to supersede it",
		e.Service, e.JobVersion, id, e.Service)
}

// MissingSecretError means a service reads a secret that is not set.
type MissingSecretError struct {
	Service string
	Secret  secrets.Check
}

func (e *MissingSecretError) Error() string {
	m := e.Secret
	what := "key " + m.Key + " is not set"
	if !m.PathExists {
		what = "the secret does not exist"
	}
	if m.Err != "" {
		what = "cannot be read: " + m.Err
	}
	return fmt.Sprintf("service %s reads %s from Vault path %s, but %s; set it with: stackctl secrets put %s %s < FILE",
		e.Service, m.Env, m.Path, what, e.Service, m.Env)
}

// Registered is the outcome of applying one service.
type Registered struct {
	rollout.Target
	Changed bool // the job was registered (EvalID is set)
}

// Apply writes the plan in dependency order: first the intentions of
// services outside the selection, then service by service Vault policy
// and role, Consul intentions, and the Nomad job, registered only if it is
// still at the planned modify index.
func Apply(ctx context.Context, cl *cluster.Cluster, p *Plan, report rollout.Reporter) ([]Registered, error) {
	for _, s := range p.Services {
		if !s.Selected {
			if err := applyIntentionsOf(ctx, cl, s, report); err != nil {
				return nil, err
			}
		}
	}
	var out []Registered
	for _, s := range p.Selected() {
		r, err := applyService(ctx, cl, s, report)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func applyService(ctx context.Context, cl *cluster.Cluster, s *ServicePlan, report rollout.Reporter) (Registered, error) {
	r := Registered{Target: rollout.Target{Service: s.Name, Namespace: *s.Job.Namespace, JobVersion: s.JobVersion, Connect: rollout.UsesConnect(s.Job)}}
	if s.PolicyChange.changes() {
		if err := cl.Vault.WritePolicy(ctx, s.Policy.Name, s.PolicyText); err != nil {
			return r, err
		}
		report.Step(s.Name, fmt.Sprintf("Vault policy %s %sd", s.Policy.Name, s.PolicyChange))
	}
	if s.RoleChange.changes() {
		body, err := roleBody(s.Role)
		if err != nil {
			return r, err
		}
		if err := cl.Vault.WriteRole(ctx, s.Role.AuthPath, s.Role.Name, body); err != nil {
			return r, err
		}
		report.Step(s.Name, fmt.Sprintf("Vault JWT role %s %sd", s.Role.Name, s.RoleChange))
	}
	if err := applyIntentionsOf(ctx, cl, s, report); err != nil {
		return r, err
	}
	if s.JobChange == NoChange {
		report.Step(s.Name, fmt.Sprintf("job unchanged (version %d), not registered", s.JobVersion))
		return r, nil
	}
	if err := register(ctx, cl, s, &r); err != nil {
		return r, err
	}
	report.Emit(s.Name, rollout.KindRegistered, fmt.Sprintf("job registered (version %d, evaluation %s)", r.JobVersion, cluster.ShortID(r.EvalID)),
		rollout.Registered{JobVersion: r.JobVersion, Evaluation: r.EvalID})
	return r, nil
}

func applyIntentionsOf(ctx context.Context, cl *cluster.Cluster, s *ServicePlan, report rollout.Reporter) error {
	ip := s.Intentions
	if ip == nil || !ip.Change.changes() {
		return nil
	}
	if err := applyIntentions(ctx, cl, s.Name, ip); err != nil {
		return err
	}
	if ip.Change == Delete {
		report.Step(s.Name, "intentions deleted (no caller left)")
	} else {
		report.Step(s.Name, fmt.Sprintf("intentions %sd (allow %s)", ip.Change, strings.Join(SourceNames(ip.Want), ", ")))
	}
	return nil
}

// register submits the job with Nomad's enforce-index check. When Nomad
// refuses, the job is read again: a modify index other than the planned
// one means another writer came first (a conflict, not a failure).
func register(ctx context.Context, cl *cluster.Cluster, s *ServicePlan, r *Registered) error {
	resp, err := cl.Nomad.Register(ctx, s.Job, &nomad.RegisterOptions{
		EnforceIndex:   true,
		ModifyIndex:    s.JobModifyIndex,
		PreserveCounts: s.PreserveCounts,
	})
	if err != nil {
		if cluster.IsForbidden(err) {
			return err
		}
		now, rerr := cl.Nomad.Job(ctx, *s.Job.Namespace, *s.Job.ID)
		switch {
		case rerr == nil && deref(now.JobModifyIndex) != s.JobModifyIndex:
			return &ConflictError{Service: s.Name, Detail: fmt.Sprintf("its modify index was %d when planned and is %d now", s.JobModifyIndex, deref(now.JobModifyIndex))}
		case cluster.IsNotFound(rerr) && s.JobModifyIndex != 0:
			return &ConflictError{Service: s.Name, Detail: "it was purged"}
		}
		return err
	}
	r.EvalID, r.Changed = resp.EvalID, true
	if s.JobChange == Create {
		r.JobVersion = 0
	} else {
		r.JobVersion = s.JobVersion + 1
	}
	return nil
}
