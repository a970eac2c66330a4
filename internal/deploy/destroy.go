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

// DestroyOptions say which service to take off the cluster.
type DestroyOptions struct {
	Namespace, Service string
	Purge              bool   // also remove the job's history
	JWTAuthPath        string // the role's mount; empty: the one its policy records
	// Confirm is asked before anything is written; false stops.
	Confirm func() bool
	Report  func(string)
}

// ErrNotConfirmed means the user did not confirm; nothing was changed.
var ErrNotConfirmed = errors.New("not confirmed; nothing was changed")

// Destroy stops the service's job (its history stays unless Purge, so
// rollback and status still work), removes the service from every
// intentions entry stackctl manages, so it is an allowed caller nowhere,
// and deletes its intentions, Vault role and policy when they are the
// service's own. Its secrets stay in Vault.
func Destroy(ctx context.Context, cl *cluster.Cluster, opts DestroyOptions) error {
	name, report := opts.Service, opts.Report
	job, err := cl.Nomad.Job(ctx, opts.Namespace, name)
	if cluster.IsNotFound(err) {
		return fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", name, opts.Namespace)
	}
	if err != nil {
		return err
	}
	owner, ok := apimodel.JobOwner(job)
	if !ok {
		return fmt.Errorf("%s was not deployed by stackctl (no meta %s = %s); refusing to destroy it",
			jobWhat(opts.Namespace, name), compile.MetaManagedBy, compile.ManagedBy)
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
	if err := dropCaller(ctx, cl, name, report); err != nil {
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

// dropCaller removes name from the sources of every intentions entry
// stackctl manages.
func dropCaller(ctx context.Context, cl *cluster.Cluster, name string, report func(string)) error {
	entries, err := cl.Consul.AllIntentions(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := apimodel.IntentionsOwner(e); !ok || e.Name == name || !hasSource(e, name) {
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
