package deploy

import (
	"context"
	"reflect"
	"slices"

	consul "github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// Intentions always equal the declared graph: every deploy, whatever -s
// selects, plans the intentions of every service of the stack, so a
// caller that drops an upstream is removed from the callee's sources even
// when only the caller is deployed.

// planIntentions compares the service's compiled intentions (nil: nobody
// may call it) with Consul's entry, refusing an entry it does not own.
func planIntentions(ctx context.Context, cl *cluster.Cluster, owner compile.Owner, compiled *compile.ServiceIntentionsConfigEntry) (*IntentionsPlan, error) {
	want := apimodel.Intentions(compiled)
	ip := &IntentionsPlan{Want: want, Change: NoChange}
	existing, err := cl.Consul.Intentions(ctx, owner.Service)
	switch {
	case cluster.IsNotFound(err):
		existing = nil
	case err != nil:
		return nil, err
	}
	if existing == nil {
		if want != nil {
			ip.Change = Create
		}
		return ip, nil
	}
	ip.Index = existing.ModifyIndex
	if err := claimIntentions(existing, owner); err != nil {
		return nil, err
	}
	switch {
	case want == nil:
		ip.Change = Delete
	case !sameSources(existing, want) || !reflect.DeepEqual(existing.Meta, want.Meta):
		ip.Change = Update
	}
	return ip, nil
}

func sameSources(a, b *consul.ServiceIntentionsConfigEntry) bool {
	key := func(e *consul.ServiceIntentionsConfigEntry) []string {
		var out []string
		for _, s := range e.Sources {
			out = append(out, s.Name+"="+string(s.Action))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// withoutSource returns a copy of e that no longer allows name, or nil
// when no caller is left.
func withoutSource(e *consul.ServiceIntentionsConfigEntry, name string) *consul.ServiceIntentionsConfigEntry {
	out := *e
	out.Sources = nil
	for _, s := range e.Sources {
		if s.Name != name {
			out.Sources = append(out.Sources, s)
		}
	}
	if len(out.Sources) == 0 {
		return nil
	}
	return &out
}

// applyIntentions writes or deletes a service's entry, only while it is
// still at the planned index.
func applyIntentions(ctx context.Context, cl *cluster.Cluster, service string, ip *IntentionsPlan) error {
	var ok bool
	var err error
	switch ip.Change {
	case Create, Update:
		ok, err = cl.Consul.WriteIntentions(ctx, ip.Want, ip.Index)
	case Delete:
		ok, err = cl.Consul.DeleteIntentions(ctx, service, ip.Index)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if !ok {
		return &ConflictError{Service: service, Object: "intentions", Where: "Consul",
			Detail: "the config entry was written by someone else in the meantime"}
	}
	return nil
}
