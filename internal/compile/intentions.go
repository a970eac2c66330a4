package compile

import (
	"sort"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// The Consul intentions entry as compile emits it: like the job's types
// (nomad.go), these mirror github.com/hashicorp/consul/api's types of the
// same names, with the fields compile sets, under their JSON names.

// ServiceIntentionsConfigEntry is the config entry of kind
// "service-intentions" that lists who may call a service
// (api.ServiceIntentionsConfigEntry).
type ServiceIntentionsConfigEntry struct {
	Kind    string
	Name    string
	Sources []*SourceIntention
	Meta    map[string]string
}

// SourceIntention is one caller an entry allows or denies
// (api.SourceIntention).
type SourceIntention struct {
	Name   string
	Action string // api.IntentionAction
	Type   string // api.IntentionSourceType
}

// The values of Kind, Action and Type compile writes: consul/api's
// ServiceIntentions, IntentionActionAllow and IntentionSourceConsul.
const (
	IntentionsKind        = "service-intentions"
	IntentionAllow        = "allow"
	IntentionSourceConsul = "consul"
)

// TraefikService is the Consul name Traefik's Connect-aware catalog provider
// uses as its mesh identity.
const TraefikService = "traefik"

// Intentions returns the service-intentions entry that allows exactly the
// declared callers (and Traefik, for exposed services). The mesh's
// default-deny entry for "*" lives in policies/; a nil result means nobody
// may call the service.
func Intentions(set descriptor.Settings, s *descriptor.Service, callers []string) *ServiceIntentionsConfigEntry {
	sources := append([]string(nil), callers...)
	if len(s.Exposes) > 0 {
		sources = append(sources, TraefikService)
	}
	if len(sources) == 0 {
		return nil
	}
	sort.Strings(sources)
	e := &ServiceIntentionsConfigEntry{
		Kind: IntentionsKind,
		Name: s.Name,
		Meta: IntentionsMeta(OwnerOf(set, s.Name)),
	}
	for _, src := range sources {
		e.Sources = append(e.Sources, &SourceIntention{
			Name:   src,
			Action: IntentionAllow,
			Type:   IntentionSourceConsul,
		})
	}
	return e
}
