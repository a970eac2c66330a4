package compile

import (
	"sort"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// KVDataPath is the KV v2 API path of a logical secret path: reads go to
// <mount>/data/<path>, which is also what the policy must name.
func KVDataPath(set descriptor.Settings, path string) string {
	return set.VaultMount + "/data/" + path
}

// Policy grants read on exactly the KV v2 data paths the service's secrets
// name, and nothing else (no list, no metadata).
func Policy(set descriptor.Settings, s *descriptor.Service) *VaultPolicy {
	paths := map[string]bool{}
	for _, sec := range s.Secrets {
		paths[KVDataPath(set, sec.Path)] = true
	}
	p := &VaultPolicy{Name: PolicyName(s.Name)}
	for path := range paths {
		p.Rules = append(p.Rules, PolicyRule{Path: path, Capabilities: []string{"read"}})
	}
	sort.Slice(p.Rules, func(i, j int) bool { return p.Rules[i].Path < p.Rules[j].Path })
	return p
}

// Role is the JWT auth role that lets the service's Nomad workload identity
// log in to Vault with its policy, bound to this job in this namespace.
func Role(set descriptor.Settings, s *descriptor.Service) *VaultRole {
	return &VaultRole{
		AuthPath: set.VaultJWTAuthPath,
		Name:     PolicyName(s.Name),
		Body: VaultRoleBody{
			RoleType:       "jwt",
			BoundAudiences: []string{"vault.io"},
			BoundClaims: map[string]string{
				"nomad_namespace": set.Namespace,
				"nomad_job_id":    s.Name,
			},
			ClaimMappings: map[string]string{
				"nomad_job_id":    "nomad_job_id",
				"nomad_namespace": "nomad_namespace",
				"nomad_task":      "nomad_task",
			},
			UserClaim:            "/nomad_job_id",
			UserClaimJSONPointer: true,
			TokenType:            "service",
			TokenPolicies:        []string{PolicyName(s.Name)},
			TokenPeriod:          "30m",
		},
	}
}
