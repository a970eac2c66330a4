package compile

import (
	"sort"

	consul "github.com/hashicorp/consul/api"

	"github.com/stackctl/stackctl/internal/spec"
)

// Compile builds the bundle for a validated stack.
func Compile(st *spec.Stack) *Bundle {
	b := &Bundle{Settings: st.Settings}
	callers := st.Callers()
	for _, s := range st.Services {
		out := &Service{Name: s.Name, Job: Job(st.Settings, s)}
		if len(s.Secrets) > 0 {
			out.VaultPolicy = Policy(st.Settings, s)
			out.VaultPolicy.Owner = OwnerOf(st.Settings, s.Name)
			if st.Settings.NomadVersion.AtLeast(1, 7) {
				out.VaultRole = Role(st.Settings, s)
				out.VaultPolicy.JWTAuthPath = out.VaultRole.AuthPath
			}
		}
		for _, sec := range s.Secrets {
			out.Secrets = append(out.Secrets, SecretRef{Env: sec.Env, Path: sec.Path, Key: sec.Key})
		}
		out.Intentions = Intentions(st.Settings, s, callers[s.Name])
		b.Services = append(b.Services, out)
	}
	return b
}

// TraefikService is the Consul name Traefik's Connect-aware catalog provider
// uses as its mesh identity.
const TraefikService = "traefik"

// Intentions returns the service-intentions entry that allows exactly the
// declared callers (and Traefik, for exposed services). The mesh's
// default-deny entry for "*" lives in policies/; a nil result means nobody
// may call the service.
func Intentions(set spec.Settings, s *spec.Service, callers []string) *consul.ServiceIntentionsConfigEntry {
	sources := append([]string(nil), callers...)
	if len(s.Exposes) > 0 {
		sources = append(sources, TraefikService)
	}
	if len(sources) == 0 {
		return nil
	}
	sort.Strings(sources)
	e := &consul.ServiceIntentionsConfigEntry{
		Kind: consul.ServiceIntentions,
		Name: s.Name,
		Meta: IntentionsMeta(OwnerOf(set, s.Name)),
	}
	for _, src := range sources {
		e.Sources = append(e.Sources, &consul.SourceIntention{
			Name:   src,
			Action: consul.IntentionActionAllow,
			Type:   consul.IntentionSourceConsul,
		})
	}
	return e
}
