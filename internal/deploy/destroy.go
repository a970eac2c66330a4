package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// DestroyOptions say which service to take off the cluster, and for
// which stack: destroy touches only that stack's objects.
type DestroyOptions struct {
	Namespace, Service string
	Stack              string // the stack the command acts for: only its objects are touched
	Purge              bool   // also remove the job's history
	JWTAuthPath        string // the role's mount; empty: the one its policy records
	// Confirm is asked before anything is written; false stops.
	Confirm func() bool
	Report  func(string)
}

// ErrNotConfirmed means the user did not confirm; nothing was changed.
var ErrNotConfirmed = errors.New("not confirmed; nothing was changed")

// Destroy stops the service's job (its history stays unless Purge, so
// rollback and status still work) when it is the stack's, removes the
// service from every intentions entry of the stack, so it is an allowed
// caller nowhere in it, and deletes its intentions, Vault role and policy
// when they are the service's own. Other stacks' entries that still name
// the service are left as they are and reported. Its secrets stay in
// Vault.
func Destroy(ctx context.Context, cl *cluster.Cluster, opts DestroyOptions) error {
	name, report := opts.Service, opts.Report
	if opts.Stack == "" {
		return errors.New("destroy needs the stack it acts for")
	}
	job, err := cl.Nomad.Job(ctx, opts.Namespace, name)
	if cluster.IsNotFound(err) {
		return fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", name, opts.Namespace)
	}
	if err != nil {
		return err
	}
	owner := compile.Owner{Namespace: opts.Namespace, Stack: opts.Stack, Service: name}
	if err := ClaimDeployed(job, owner, "destroy", "destroy it"); err != nil {
		return err
	}
	if opts.Confirm != nil && !opts.Confirm() {
		return ErrNotConfirmed
	}
	evalID, err := cl.Nomad.Deregister(ctx, opts.Namespace, name, opts.Purge)
	if err != nil {
		return err
	}
	report(fmt.Sprintf("%s: job stopped (evaluation %s)", name, cluster.ShortID(evalID)))
	rerun := func(err error) error { return fmt.Errorf("%w (rerun destroy to finish)", err) }
	if err := dropCaller(ctx, cl, owner, report); err != nil {
		return rerun(err)
	}
	if err := dropOwnIntentions(ctx, cl, owner, report); err != nil {
		return rerun(err)
	}
	if err := dropVault(ctx, cl, owner, opts.JWTAuthPath, report); err != nil {
		return rerun(err)
	}
	report(fmt.Sprintf("%s: destroyed; its secrets stay in Vault.", name))
	return nil
}

// dropCaller removes the service from the sources of every intentions
// entry of its stack (in its namespace). Entries of other stacks, or not
// written by stackctl, are theirs to change: the ones that still allow
// the service are reported, not changed.
func dropCaller(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, report func(string)) error {
	name := owner.Service
	entries, err := cl.Consul.AllIntentions(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name == name || !hasSource(e, name) {
			continue
		}
		o, ok := apimodel.IntentionsOwner(e)
		stackOwner := compile.Owner{Namespace: owner.Namespace, Stack: owner.Stack, Service: e.Name}
		switch {
		case !ok:
			report(fmt.Sprintf("%s: intentions kept: not written by stackctl (no config entry meta %s = %s), they still allow %s",
				e.Name, compile.MetaManagedBy, compile.ManagedBy, name))
			continue
		case !o.Is(stackOwner):
			report(fmt.Sprintf("%s: intentions kept: they belong to stack %q%s and still allow %s",
				e.Name, o.Stack, inNamespace(o.Namespace), name))
			continue
		}
		ip := &IntentionsPlan{Want: withoutSource(e, name), Index: e.ModifyIndex, Change: Update}
		if ip.Want == nil {
			ip.Change = Delete
		}
		if err := applyIntentions(ctx, cl, e.Name, ip); err != nil {
			return err
		}
		if ip.Want == nil {
			report(fmt.Sprintf("%s: intentions deleted (%s was its last caller)", e.Name, name))
		} else {
			report(fmt.Sprintf("%s: intentions updated (allow %s)", e.Name, strings.Join(SourceNames(ip.Want), ", ")))
		}
	}
	return nil
}

// dropOwnIntentions deletes the service's own entry when it is the
// service's.
func dropOwnIntentions(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, report func(string)) error {
	e, err := cl.Consul.Intentions(ctx, owner.Service)
	switch {
	case cluster.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	if err := claimIntentions(e, owner); err != nil {
		report(fmt.Sprintf("%s: intentions kept: %s", owner.Service, err))
		return nil
	}
	if err := applyIntentions(ctx, cl, owner.Service, &IntentionsPlan{Index: e.ModifyIndex, Change: Delete}); err != nil {
		return err
	}
	report(fmt.Sprintf("%s: intentions deleted", owner.Service))
	return nil
}

// dropVault deletes the service's JWT role, then its policy (whose marker
// says where the role is, so the order lets a rerun finish).
func dropVault(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, mount string, report func(string)) error {
	name := compile.PolicyName(owner.Service)
	text, err := cl.Vault.Policy(ctx, name)
	if err != nil || text == "" {
		return err
	}
	policyOwner, err := claimPolicy(name, text, owner)
	if err != nil {
		report(fmt.Sprintf("%s: Vault policy %s kept: %s", owner.Service, name, err))
		return nil
	}
	if mount == "" {
		_, mount, _ = compile.PolicyOwner(name, text)
	}
	if mount != "" {
		data, err := cl.Vault.Role(ctx, mount, name)
		if err != nil {
			return err
		}
		if data != nil {
			if err := claimRole(mount, name, data, policyOwner, owner); err != nil {
				report(fmt.Sprintf("%s: Vault JWT role kept: %s", owner.Service, err))
			} else if err := cl.Vault.DeleteRole(ctx, mount, name); err != nil {
				return err
			} else {
				report(fmt.Sprintf("%s: Vault JWT role deleted", owner.Service))
			}
		}
	}
	if err := cl.Vault.DeletePolicy(ctx, name); err != nil {
		return err
	}
	report(fmt.Sprintf("%s: Vault policy %s deleted", owner.Service, name))
	return nil
}
