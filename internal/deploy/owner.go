package deploy

import (
	"fmt"
	"slices"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// ForeignError refuses to change an object that another stack, or a
// person, owns: it names the owner and how to get out of the clash.
type ForeignError struct {
	What   string         // `job "api" in namespace default`
	Owner  *compile.Owner // nil: not written by stackctl
	Record string         // where the ownership is recorded
	// Command and Act are set when a command that works on a deployed
	// service (destroy, scale, ...) refuses: "scale", "scale it". The way
	// out is then to run it for the owner's stack, not to rename.
	Command, Act string
	Stack        string // the stack the command acted for
}

func (e *ForeignError) Error() string {
	if e.Command != "" {
		return e.refusal()
	}
	if e.Owner == nil {
		return fmt.Sprintf("%s was not created by stackctl (%s); rename the service or remove it there first", e.What, e.Record)
	}
	return fmt.Sprintf("%s belongs to stack %q%s (%s); rename the service or destroy it there first",
		e.What, e.Owner.Stack, inNamespace(e.Owner.Namespace), e.Record)
}

// inNamespace says where an owner is, when its record says.
func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}

// refusal is the message of a command that works on deployed services.
func (e *ForeignError) refusal() string {
	if e.Owner == nil {
		return fmt.Sprintf("%s was not deployed by stackctl (%s); refusing to %s", e.What, e.Record, e.Act)
	}
	return fmt.Sprintf("%s belongs to stack %q (%s), not to stack %q; refusing to %s: run stackctl %s with --stack at stack %q's descriptors",
		e.What, e.Owner.Stack, e.Record, e.Stack, e.Act, e.Command, e.Owner.Stack)
}

// ClaimDeployed refuses to work, for the stack of want, on a job that
// another stack deployed or that stackctl did not deploy: destroy, scale,
// rollback, logs and exec act only on their own stack's jobs. command
// and act name the command for the message ("scale", "scale it"). A
// legacy job (no stack recorded) is any stack's, as deploy adopts it.
func ClaimDeployed(j *nomad.Job, want compile.Owner, command, act string) error {
	if err := claimJob(j, want); err != nil {
		fe := err.(*ForeignError)
		fe.Command, fe.Act, fe.Stack = command, act, want.Stack
		return fe
	}
	return nil
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

// nomadServicePrefix begins the service ID of every instance Nomad
// registers: "_nomad-task-<allocation ID>-group-<group>-<service>-<port>".
const nomadServicePrefix = "_nomad-task-"

// claimRegistration refuses a catalog instance of the service that is not
// want's. An instance without stackctl's meta is still want's when Nomad
// registered it for one of ownAllocs, the allocations of want's own job
// (registered before the meta was written, or by an older stackctl).
func claimRegistration(inst *consul.CatalogService, want compile.Owner, ownAllocs map[string]bool) error {
	what := fmt.Sprintf("service %q in Consul's catalog", inst.ServiceName)
	o, ok := compile.IntentionsOwner(inst.ServiceName, inst.ServiceMeta)
	if ok {
		if o.Is(want) {
			return nil
		}
		return &ForeignError{What: what, Owner: &o,
			Record: fmt.Sprintf("service meta %s, %s of instance %s", compile.MetaStack, compile.MetaNamespace, inst.ServiceID)}
	}
	alloc, byNomad := nomadAlloc(inst.ServiceID)
	if byNomad && ownAllocs[alloc] {
		return nil
	}
	record := fmt.Sprintf("instance %s on node %s has no service meta %s = %s", inst.ServiceID, inst.Node, compile.MetaManagedBy, compile.ManagedBy)
	if byNomad {
		record += fmt.Sprintf("; Nomad registered it for allocation %s of another job", cluster.ShortID(alloc))
	}
	return &ForeignError{What: what, Record: record}
}

// nomadAlloc reads the allocation ID from the service ID of an instance
// Nomad registered; ok is false for any other instance.
func nomadAlloc(serviceID string) (alloc string, ok bool) {
	rest, ok := strings.CutPrefix(serviceID, nomadServicePrefix)
	if !ok || len(rest) < 36 {
		return "", false
	}
	return rest[:36], true // a UUID
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
