package deploy

import (
	"fmt"
	"slices"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/compile"
)

// ForeignError refuses to change an object that another stack, or a
// person, owns: it names the owner and how to get out of the clash.
type ForeignError struct {
	What   string         // `job "api" in namespace default`
	Owner  *compile.Owner // nil: not written by stackctl
	Record string         // where the ownership is recorded
}

func (e *ForeignError) Error() string {
	if e.Owner == nil {
		return fmt.Sprintf("%s was not created by stackctl (%s); rename the service or remove it there first", e.What, e.Record)
	}
	where := ""
	if e.Owner.Namespace != "" {
		where = " in namespace " + e.Owner.Namespace
	}
	return fmt.Sprintf("%s belongs to stack %q%s (%s); rename the service or destroy it there first",
		e.What, e.Owner.Stack, where, e.Record)
}

func jobWhat(ns, id string) string { return fmt.Sprintf("job %q in namespace %s", id, ns) }

// claimJob refuses a job that is not want's, stopped or not: a stopped
// job that stackctl never made is not taken over either.
func claimJob(j *nomad.Job, want compile.Owner) error {
	o, ok := apimodel.JobOwner(j)
	what := jobWhat(deref(j.Namespace), deref(j.ID))
	switch {
	case !ok:
		return &ForeignError{What: what, Record: fmt.Sprintf("no meta %s = %s", compile.MetaManagedBy, compile.ManagedBy)}
	case !o.Is(want):
		o.Namespace = "" // the job's own: already in what
		return &ForeignError{What: what, Owner: &o, Record: "meta " + compile.MetaStack}
	}
	return nil
}

// claimIntentions refuses an entry that is not want's.
func claimIntentions(e *consul.ServiceIntentionsConfigEntry, want compile.Owner) error {
	o, ok := apimodel.IntentionsOwner(e)
	what := fmt.Sprintf("the intentions entry of %q", e.Name)
	switch {
	case !ok:
		return &ForeignError{What: what, Record: fmt.Sprintf("config entry without meta %s = %s; merge them into the descriptors' upstreams", compile.MetaManagedBy, compile.ManagedBy)}
	case !o.Is(want):
		return &ForeignError{What: what, Owner: &o, Record: "config entry meta " + compile.MetaStack + ", " + compile.MetaNamespace}
	}
	return nil
}

// claimPolicy refuses a Vault policy that is not want's, and returns the
// owner recorded in it.
func claimPolicy(name, text string, want compile.Owner) (compile.Owner, error) {
	o, _, ok := compile.PolicyOwner(name, text)
	what := fmt.Sprintf("Vault policy %q", name)
	switch {
	case !ok:
		return o, &ForeignError{What: what, Record: "its first line is no stackctl-owner marker"}
	case !o.Is(want):
		return o, &ForeignError{What: what, Owner: &o, Record: "its stackctl-owner line"}
	}
	return o, nil
}

// roleOwner reads the owner of a JWT role: stackctl's roles grant exactly
// the service's policy to that job's workload identity in its namespace;
// the stack is the one recorded in the policy. ok is false for any other
// role.
func roleOwner(name string, data map[string]any, policy compile.Owner) (compile.Owner, bool) {
	pols, _ := data["token_policies"].([]any)
	claims, _ := data["bound_claims"].(map[string]any)
	job, _ := claims["nomad_job_id"].(string)
	ns, _ := claims["nomad_namespace"].(string)
	if len(pols) != 1 || fmt.Sprint(pols[0]) != name || compile.PolicyName(job) != name {
		return compile.Owner{}, false
	}
	o := compile.Owner{Namespace: ns, Service: job}
	if policy.Service == job {
		o.Stack = policy.Stack
	}
	return o, true
}

// claimRole refuses a JWT role that is not want's.
func claimRole(mount, name string, data map[string]any, policy, want compile.Owner) error {
	o, ok := roleOwner(name, data, policy)
	what := fmt.Sprintf("Vault JWT role %q", compile.RolePath(mount, name))
	switch {
	case !ok:
		return &ForeignError{What: what, Record: "it does not grant exactly the policy " + name + " to the job's identity"}
	case !o.Is(want):
		return &ForeignError{What: what, Owner: &o, Record: "its bound claims and policy"}
	}
	return nil
}

// SourceNames lists an entry's allowed callers, for people.
func SourceNames(e *consul.ServiceIntentionsConfigEntry) []string {
	if e == nil {
		return nil
	}
	var names []string
	for _, s := range e.Sources {
		names = append(names, s.Name)
	}
	return names
}

func hasSource(e *consul.ServiceIntentionsConfigEntry, name string) bool {
	return slices.Contains(SourceNames(e), name)
}
