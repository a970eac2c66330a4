package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
)

// Change is what applying a plan does to one object.
type Change string

const (
	NoChange Change = "no change"
	Create   Change = "create"
	Update   Change = "update"
	Delete   Change = "delete"
)

// Plan is what deploy would do, per service.
type Plan struct {
	Services []*ServicePlan
}

// ServicePlan holds the changes for one service.
type ServicePlan struct {
	Name string
	// Job is what will be registered: the compiled job, with the current
	// count kept for autoscaled groups.
	Job            *nomad.Job
	JobChange      Change
	JobModifyIndex uint64 // Nomad's index when planned; 0 for a new job
	JobVersion     uint64 // current version, when the job exists
	Diff           *nomad.JobDiff
	Updates        map[string]*nomad.DesiredUpdates // per group
	FailedPlaces   map[string]*nomad.AllocationMetric
	Warnings       string
	PreserveCounts bool

	Policy       *compile.VaultPolicy
	PolicyText   string
	PolicyChange Change

	Role       *compile.VaultRole
	RoleChange Change

	Intentions       *consul.ServiceIntentionsConfigEntry
	IntentionsChange Change

	Secrets []SecretCheck
}

// SecretCheck reports whether a secret the service reads exists. It never
// holds the value.
type SecretCheck struct {
	Env, Path, Key string
	PathExists     bool
	KeyExists      bool
	Unverified     bool // the token may not read values: only the path was checked
	Err            string
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

// Changes counts the objects this service's plan changes.
func (s *ServicePlan) Changes() int {
	n := 0
	for _, c := range []Change{s.JobChange, s.PolicyChange, s.RoleChange, s.IntentionsChange} {
		if c != NoChange && c != "" {
			n++
		}
	}
	return n
}

// MissingSecrets lists secrets that would make the task's template fail.
func (s *ServicePlan) MissingSecrets() []SecretCheck {
	var out []SecretCheck
	for _, c := range s.Secrets {
		if !c.KeyExists {
			out = append(out, c)
		}
	}
	return out
}

// MakePlan compares the bundle's services with the cluster. It only reads.
func MakePlan(ctx context.Context, cl *Clients, b *compile.Bundle) (*Plan, error) {
	p := &Plan{}
	for _, svc := range b.Services {
		sp, err := planService(ctx, cl, b, svc)
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", svc.Name, err)
		}
		p.Services = append(p.Services, sp)
	}
	return p, nil
}

func planService(ctx context.Context, cl *Clients, b *compile.Bundle, svc *compile.Service) (*ServicePlan, error) {
	job, err := copyJob(svc.Job)
	if err != nil {
		return nil, err
	}
	sp := &ServicePlan{Name: svc.Name, Job: job, Policy: svc.VaultPolicy, Role: svc.VaultRole, Intentions: svc.Intentions}
	q := (&nomad.QueryOptions{Namespace: *svc.Job.Namespace}).WithContext(ctx)

	current, _, err := cl.Nomad.Jobs().Info(*svc.Job.ID, q)
	switch {
	case err == nil:
		sp.JobVersion = deref(current.Version)
		if current.Meta[compile.MetaManagedBy] != compile.ManagedBy && !isStopped(current) {
			return nil, fmt.Errorf("Nomad job %q exists and was not created by stackctl (no meta %s = %s); refusing to take it over",
				*svc.Job.ID, compile.MetaManagedBy, compile.ManagedBy)
		}
		// The autoscaler owns the count of scaled groups: keep what it
		// chose so that a redeploy neither shows nor makes a count change.
		for _, g := range sp.Job.TaskGroups {
			if g.Scaling == nil {
				continue
			}
			for _, cg := range current.TaskGroups {
				if *cg.Name == *g.Name && cg.Count != nil {
					g.Count = ptr(*cg.Count)
					sp.PreserveCounts = true
				}
			}
		}
	case isNotFound(err):
	default:
		return nil, fmt.Errorf("read Nomad job %q: %s", *svc.Job.ID, short(err))
	}

	resp, _, err := cl.Nomad.Jobs().Plan(sp.Job, true, (&nomad.WriteOptions{Namespace: *svc.Job.Namespace}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("Nomad plan of job %q: %s", *svc.Job.ID, short(err))
	}
	sp.JobModifyIndex = resp.JobModifyIndex
	sp.Diff = resp.Diff
	sp.FailedPlaces = resp.FailedTGAllocs
	sp.Warnings = resp.Warnings
	if resp.Annotations != nil {
		sp.Updates = resp.Annotations.DesiredTGUpdates
	}
	switch {
	case resp.Diff == nil || resp.Diff.Type == "None" || (resp.Diff.Type == "Edited" && !specChanged(resp.Diff)):
		// "Edited" without a changed field only means allocations lag
		// behind the job's version (e.g. after the autoscaler scaled it):
		// the spec is what we want, nothing to register.
		sp.JobChange = NoChange
		// A stopped job still diffs as None: deploying it must start it.
		if current != nil && isStopped(current) {
			sp.JobChange = Update
		}
	case resp.Diff.Type == "Added":
		sp.JobChange = Create
	default:
		sp.JobChange = Update
	}

	sp.PolicyChange = NoChange
	if svc.VaultPolicy != nil {
		sp.PolicyText = string(render.PolicyHCL(svc.VaultPolicy, svc.Name))
		existing, err := cl.Vault.Sys().GetPolicyWithContext(ctx, svc.VaultPolicy.Name)
		switch {
		case err != nil:
			return nil, fmt.Errorf("read Vault policy %q: %s", svc.VaultPolicy.Name, short(err))
		case existing == "":
			sp.PolicyChange = Create
		case strings.TrimSpace(existing) != strings.TrimSpace(sp.PolicyText):
			sp.PolicyChange = Update
		}
		for _, sec := range svc.Secrets {
			sp.Secrets = append(sp.Secrets, checkSecret(ctx, cl.Vault, b.Settings.VaultMount, sec))
		}
	}

	sp.RoleChange = NoChange
	if svc.VaultRole != nil {
		path := "auth/" + svc.VaultRole.AuthPath + "/role/" + svc.VaultRole.Name
		sec, err := cl.Vault.Logical().ReadWithContext(ctx, path)
		switch {
		case err != nil:
			return nil, fmt.Errorf("read Vault JWT role %q: %s (is the %q auth method enabled?)", path, short(err), svc.VaultRole.AuthPath)
		case sec == nil:
			sp.RoleChange = Create
		case !roleMatches(sec.Data, svc.VaultRole):
			sp.RoleChange = Update
		}
	}

	sp.IntentionsChange = NoChange
	entry, _, err := cl.Consul.ConfigEntries().Get(consul.ServiceIntentions, svc.Name, (&consul.QueryOptions{}).WithContext(ctx))
	var existing *consul.ServiceIntentionsConfigEntry
	switch {
	case err == nil:
		existing, _ = entry.(*consul.ServiceIntentionsConfigEntry)
	case isConsulNotFound(err):
	default:
		return nil, fmt.Errorf("read Consul intentions for %q: %s", svc.Name, short(err))
	}
	switch {
	case svc.Intentions == nil && existing != nil && existing.Meta[compile.MetaManagedBy] == compile.ManagedBy:
		sp.IntentionsChange = Delete
	case svc.Intentions == nil:
	case existing == nil:
		sp.IntentionsChange = Create
	case !sameSources(existing, svc.Intentions) || !reflect.DeepEqual(existing.Meta, svc.Intentions.Meta):
		if existing.Meta[compile.MetaManagedBy] != compile.ManagedBy {
			return nil, fmt.Errorf("Consul intentions for %q exist and were not written by stackctl; merge them into the descriptor's upstreams or remove them", svc.Name)
		}
		sp.IntentionsChange = Update
	}
	return sp, nil
}

// checkSecret finds out whether a secret exists without printing it:
// the path through KV v2 metadata (what a deployer's policy allows), the
// key through the data only when the token may read it.
func checkSecret(ctx context.Context, v *vault.Client, mount string, s compile.SecretRef) SecretCheck {
	c := SecretCheck{Env: s.Env, Path: s.Path, Key: s.Key}
	kv := v.KVv2(mount)
	meta, err := kv.GetMetadata(ctx, s.Path)
	switch {
	case errors.Is(err, vault.ErrSecretNotFound):
		return c
	case err != nil:
		c.Err = short(err)
		return c
	}
	if cur, ok := meta.Versions[fmt.Sprint(meta.CurrentVersion)]; ok && (!cur.DeletionTime.IsZero() || cur.Destroyed) {
		return c // the current version was deleted: reading it fails
	}
	c.PathExists = true
	sec, err := kv.Get(ctx, s.Path)
	switch {
	case err == nil:
		_, c.KeyExists = sec.Data[s.Key]
	case strings.Contains(err.Error(), "403"):
		// The deployer may not read values; the key is checked at run
		// time by the template (error_on_missing_key).
		c.KeyExists = true
		c.Unverified = true
	default:
		c.Err = short(err)
	}
	return c
}

func roleMatches(data map[string]any, r *compile.VaultRole) bool {
	pol, _ := data["token_policies"].([]any)
	if len(pol) != len(r.Body.TokenPolicies) {
		return false
	}
	for i, p := range pol {
		if fmt.Sprint(p) != r.Body.TokenPolicies[i] {
			return false
		}
	}
	bc, _ := data["bound_claims"].(map[string]any)
	for k, v := range r.Body.BoundClaims {
		if fmt.Sprint(bc[k]) != v {
			return false
		}
	}
	return fmt.Sprint(data["user_claim"]) == r.Body.UserClaim
}

func sameSources(a, b *consul.ServiceIntentionsConfigEntry) bool {
	key := func(e *consul.ServiceIntentionsConfigEntry) []string {
		var out []string
		for _, s := range e.Sources {
			out = append(out, s.Name+"="+string(s.Action))
		}
		sort.Strings(out)
		return out
	}
	return reflect.DeepEqual(key(a), key(b))
}

func isStopped(j *nomad.Job) bool { return j.Stop != nil && *j.Stop }

func isNotFound(err error) bool {
	var ue nomad.UnexpectedResponseError
	if errors.As(err, &ue) && ue.StatusCode() == 404 {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "404")
}

func isConsulNotFound(err error) bool {
	var se consul.StatusError
	if errors.As(err, &se) && se.Code == 404 {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "404")
}

// copyJob deep-copies through JSON so plan-time edits (counts) never touch
// the compiled bundle.
func copyJob(j *nomad.Job) (*nomad.Job, error) {
	b, err := render.JobJSON(j)
	if err != nil {
		return nil, fmt.Errorf("copy job %s: %w", deref(j.ID), err)
	}
	var out struct{ Job *nomad.Job }
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy job %s: %w", deref(j.ID), err)
	}
	return out.Job, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// specChanged reports whether a job diff changes any field, as opposed to
// only carrying the scheduler's pending allocation updates.
func specChanged(d *nomad.JobDiff) bool {
	if fieldsChanged(d.Fields) || objectsChanged(d.Objects) {
		return true
	}
	for _, g := range d.TaskGroups {
		if g.Type == "Added" || g.Type == "Deleted" || fieldsChanged(g.Fields) || objectsChanged(g.Objects) {
			return true
		}
		for _, t := range g.Tasks {
			if t.Type == "Added" || t.Type == "Deleted" || fieldsChanged(t.Fields) || objectsChanged(t.Objects) {
				return true
			}
		}
	}
	return false
}

func fieldsChanged(fs []*nomad.FieldDiff) bool {
	for _, f := range fs {
		if f.Type != "None" {
			return true
		}
	}
	return false
}

func objectsChanged(os []*nomad.ObjectDiff) bool {
	for _, o := range os {
		if o.Type != "None" && (o.Type != "Edited" || fieldsChanged(o.Fields) || objectsChanged(o.Objects)) {
			return true
		}
	}
	return false
}
