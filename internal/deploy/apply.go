package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/jobsubmit"
)

// ConflictError means the job changed in Nomad after it was planned
// (another deploy, a scale, a revert); nothing of this service was
// registered.
type ConflictError struct {
	Service string
	Detail  string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("job %q changed in Nomad since it was planned (%s); nothing was registered for it. Run the deploy again to plan against the new state", e.Service, e.Detail)
}

// BusyError means a deployment of the service is still running.
type BusyError struct {
	Service, DeploymentID string
	JobVersion            uint64
}

func (e *BusyError) Error() string {
	id := e.DeploymentID
	if !strings.HasPrefix(id, "(") {
		id = shortID(id)
	}
	return fmt.Sprintf("a deployment of %q (job version %d, deployment %s) is still running; wait for it (stackctl status %s) or pass --force to supersede it",
		e.Service, e.JobVersion, id, e.Service)
}

// Registered is the outcome of applying one service.
type Registered struct {
	Service    string
	Namespace  string
	EvalID     string // empty when the job did not change
	JobVersion uint64
	Changed    bool
	Connect    bool // the job has a Connect sidecar: healthy waits for the mesh too
}

// Reporter receives one line per step, for people or logs.
type Reporter func(format string, a ...any)

// CheckApplicable refuses, before anything is written, plans that would
// fail half-way: missing secrets and deployments still running.
func CheckApplicable(ctx context.Context, cl *Clients, p *Plan, force bool) error {
	var errs []error
	for _, s := range p.Services {
		for _, m := range s.MissingSecrets() {
			what := "key " + m.Key + " is not set"
			if !m.PathExists {
				what = "the secret does not exist"
			}
			if m.Err != "" {
				what = "cannot be read: " + m.Err
			}
			errs = append(errs, fmt.Errorf("service %s reads %s from Vault path %s, but %s; set it with: stackctl secrets put %s %s < FILE",
				s.Name, m.Env, m.Path, what, s.Name, m.Env))
		}
		if force || s.JobChange == NoChange || s.JobChange == Create {
			continue
		}
		q := (&nomad.QueryOptions{Namespace: *s.Job.Namespace}).WithContext(ctx)
		d, _, err := cl.Nomad.Jobs().LatestDeployment(*s.Job.ID, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("read deployments of %s: %s", s.Name, short(err)))
			continue
		}
		if d != nil && d.Status == "running" {
			errs = append(errs, &BusyError{Service: s.Name, DeploymentID: d.ID, JobVersion: d.JobVersion})
			continue
		}
		// A version registered moments ago has no deployment yet: another
		// deploy is starting. It becomes stable once its rollout succeeds.
		job, _, err := cl.Nomad.Jobs().Info(*s.Job.ID, q)
		if err == nil && !deref(job.Stable) && !isStopped(job) && (d == nil || d.JobVersion != deref(job.Version)) {
			errs = append(errs, &BusyError{Service: s.Name, DeploymentID: "(not created yet)", JobVersion: deref(job.Version)})
		}
	}
	return errors.Join(errs...)
}

// Apply writes the plan in dependency order, service by service: Vault
// policy and role, Consul intentions, then the Nomad job registered only if
// it is still at the planned modify index.
func Apply(ctx context.Context, cl *Clients, p *Plan, report Reporter) ([]Registered, error) {
	var out []Registered
	for _, s := range p.Services {
		r, err := applyService(ctx, cl, s, report)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func applyService(ctx context.Context, cl *Clients, s *ServicePlan, report Reporter) (Registered, error) {
	r := Registered{Service: s.Name, Namespace: *s.Job.Namespace, JobVersion: s.JobVersion, Connect: UsesConnect(s.Job)}
	if s.PolicyChange == Create || s.PolicyChange == Update {
		if err := cl.Vault.Sys().PutPolicyWithContext(ctx, s.Policy.Name, s.PolicyText); err != nil {
			return r, fmt.Errorf("write Vault policy %s at %s: %s", s.Policy.Name, cl.VaultAddr, short(err))
		}
		report("%s: Vault policy %s %sd", s.Name, s.Policy.Name, s.PolicyChange)
	}
	if s.RoleChange == Create || s.RoleChange == Update {
		body, err := toMap(s.Role.Body)
		if err != nil {
			return r, err
		}
		path := "auth/" + s.Role.AuthPath + "/role/" + s.Role.Name
		if _, err := cl.Vault.Logical().WriteWithContext(ctx, path, body); err != nil {
			return r, fmt.Errorf("write Vault JWT role %s at %s: %s", path, cl.VaultAddr, short(err))
		}
		report("%s: Vault JWT role %s %sd", s.Name, s.Role.Name, s.RoleChange)
	}
	switch s.IntentionsChange {
	case Create, Update:
		if _, _, err := cl.Consul.ConfigEntries().Set(s.Intentions, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
			return r, fmt.Errorf("write Consul intentions for %s at %s: %s", s.Name, cl.ConsulAddr, short(err))
		}
		report("%s: intentions %sd (allow %s)", s.Name, s.IntentionsChange, sourceNames(s.Intentions))
	case Delete:
		if _, err := cl.Consul.ConfigEntries().Delete(consul.ServiceIntentions, s.Name, (&consul.WriteOptions{}).WithContext(ctx)); err != nil {
			return r, fmt.Errorf("delete Consul intentions for %s at %s: %s", s.Name, cl.ConsulAddr, short(err))
		}
		report("%s: intentions deleted (no caller left)", s.Name)
	}
	if s.JobChange == NoChange {
		report("%s: job unchanged (version %d), not registered", s.Name, s.JobVersion)
		return r, nil
	}
	resp, err := jobsubmit.Register(cl.Nomad, s.Job, cl.ConsulToken, jobsubmit.Options{
		EnforceIndex:   true,
		ModifyIndex:    s.JobModifyIndex,
		PreserveCounts: s.PreserveCounts,
	}, (&nomad.WriteOptions{Namespace: *s.Job.Namespace}).WithContext(ctx))
	if err != nil {
		if strings.Contains(err.Error(), "modify index") || strings.Contains(err.Error(), "job exists") {
			return r, &ConflictError{Service: s.Name, Detail: firstLine(err.Error())}
		}
		return r, fmt.Errorf("register job %s at %s: %s", s.Name, cl.NomadAddr, short(err))
	}
	r.EvalID, r.Changed = resp.EvalID, true
	if s.JobChange == Create {
		r.JobVersion = 0
	} else {
		r.JobVersion = s.JobVersion + 1
	}
	report("%s: job registered (version %d, evaluation %s)", s.Name, r.JobVersion, shortID(resp.EvalID))
	return r, nil
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func sourceNames(e *consul.ServiceIntentionsConfigEntry) string {
	var names []string
	for _, s := range e.Sources {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
