package compile

import (
	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/spec"
)

// Ownership markers written into everything stackctl creates, so deploy and
// destroy touch only what is theirs.
const (
	MetaManagedBy = "managed-by"
	ManagedBy     = "stackctl"
	MetaStack     = "stackctl-stack"
)

// Bundle is everything compiled from one stack.
type Bundle struct {
	Settings spec.Settings
	Services []*Service // same order as the stack's services
}

// Service holds one service's artifacts.
type Service struct {
	Name string
	Job  *nomad.Job
	// VaultPolicy is nil when the service reads no secrets.
	VaultPolicy *VaultPolicy
	// Intentions is nil when no service may call this one.
	Intentions *consul.ServiceIntentionsConfigEntry
	// VaultRole is set for Nomad >= 1.7 targets that read secrets.
	VaultRole *VaultRole
	// Secrets are the Vault references the job's template reads, sorted by
	// env name (references only, never values).
	Secrets []SecretRef
}

// SecretRef points at one key of a KV v2 secret.
type SecretRef struct {
	Env  string
	Path string // logical path below the mount
	Key  string
}

// VaultPolicy is a named Vault ACL policy.
type VaultPolicy struct {
	Name  string
	Rules []PolicyRule // sorted by path
}

// PolicyRule grants capabilities on one path.
type PolicyRule struct {
	Path         string
	Capabilities []string
}

// VaultRole is a role of Vault's JWT auth method that maps a Nomad workload
// identity to the service's policy (the Nomad >= 1.7 flow).
type VaultRole struct {
	AuthPath string // the JWT auth mount, e.g. "jwt-nomad"
	Name     string
	Body     VaultRoleBody
}

// VaultRoleBody is the payload of auth/<mount>/role/<name>; field names are
// Vault's.
type VaultRoleBody struct {
	RoleType             string            `json:"role_type"`
	BoundAudiences       []string          `json:"bound_audiences"`
	BoundClaims          map[string]string `json:"bound_claims"`
	ClaimMappings        map[string]string `json:"claim_mappings"`
	UserClaim            string            `json:"user_claim"`
	UserClaimJSONPointer bool              `json:"user_claim_json_pointer"`
	TokenType            string            `json:"token_type"`
	TokenPolicies        []string          `json:"token_policies"`
	TokenPeriod          string            `json:"token_period"`
}

// PolicyName is the Vault policy (and JWT role) name of a service.
func PolicyName(service string) string { return "stackctl-" + service }
