package compile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// Ownership markers written into everything stackctl creates, so deploy and
// destroy touch only what is theirs (owner.go reads them back).
const (
	MetaManagedBy = "managed-by"
	ManagedBy     = "stackctl"
	MetaStack     = "stackctl-stack"
	// MetaNamespace is the Nomad namespace of the service an intentions
	// entry belongs to: Consul OSS has one service namespace for all of
	// Nomad's, so the entry records whose it is.
	MetaNamespace = "stackctl-namespace"
)

// Bundle is everything compiled from one stack.
type Bundle struct {
	Settings descriptor.Settings
	Services []*Service // same order as the stack's services
}

// Select returns a copy of the bundle with only the named services, in the
// order given, or an error naming the unknown one and the services there
// are. Without names it returns b itself.
func (b *Bundle) Select(names []string) (*Bundle, error) {
	if len(names) == 0 {
		return b, nil
	}
	out := &Bundle{Settings: b.Settings}
	for _, name := range names {
		s := b.Service(name)
		if s == nil {
			return nil, fmt.Errorf("no service %q in the stack (have: %s)", name, strings.Join(b.Names(), ", "))
		}
		if !slices.Contains(out.Names(), name) {
			out.Services = append(out.Services, s)
		}
	}
	return out, nil
}

// Service returns the service called name, or nil.
func (b *Bundle) Service(name string) *Service {
	for _, s := range b.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Names lists the services' names in bundle order.
func (b *Bundle) Names() []string {
	names := make([]string, 0, len(b.Services))
	for _, s := range b.Services {
		names = append(names, s.Name)
	}
	return names
}

// Service holds one service's artifacts.
type Service struct {
	Name string
	Job  *Job
	// VaultPolicy is nil when the service reads no secrets.
	VaultPolicy *VaultPolicy
	// Intentions is nil when no service may call this one.
	Intentions *ServiceIntentionsConfigEntry
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
	Owner Owner        // written as the policy's first line (PolicyMarker)
	Rules []PolicyRule // sorted by path
	// JWTAuthPath is the JWT auth mount of the service's role, recorded in
	// the marker so destroy finds the role without the descriptors; empty
	// when the service has no role (Nomad 1.6).
	JWTAuthPath string
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

// RolePath is the Vault API path of a JWT auth role.
func RolePath(mount, role string) string { return "auth/" + mount + "/role/" + role }

// Path is the Vault API path of the role.
func (r *VaultRole) Path() string { return RolePath(r.AuthPath, r.Name) }

// MaxSecretLine is the longest line Nomad 1.6's env-file parser reads from
// a template with env = true (a bufio.Scanner's 64 KiB buffer, newline
// included). A longer secret fails the task at start.
const MaxSecretLine = 64*1024 - 1

// SecretLine is the length of the line the secrets template (job.go,
// secretsTemplate) renders for value: ENV="value" with backslash, quote and
// newline escaped by one more byte each.
func SecretLine(env, value string) int {
	return len(env) + len(`=""`) + len(value) +
		strings.Count(value, `\`) + strings.Count(value, `"`) + strings.Count(value, "\n")
}

// Owner is whose a cluster object is: one service of one stack in one
// Nomad namespace. stackctl changes or deletes an object only when its
// recorded owner is the one deploying, so two stacks (or a person) never
// overwrite each other. An empty Namespace or Stack is a legacy record
// written before stackctl recorded them.
type Owner struct {
	Namespace, Stack, Service string
}

// OwnerOf is the owner of a compiled service.
func OwnerOf(set descriptor.Settings, service string) Owner {
	return Owner{Namespace: set.Namespace, Stack: set.Name, Service: service}
}

// Legacy reports a record that names no stack.
func (o Owner) Legacy() bool { return o.Stack == "" }

// Is reports whether o and want are the same owner; a legacy record
// matches any stack's service of its name (it is adopted on the next
// deploy), a missing namespace any namespace.
func (o Owner) Is(want Owner) bool {
	return o.Service == want.Service &&
		(o.Stack == "" || o.Stack == want.Stack) &&
		(o.Namespace == "" || o.Namespace == want.Namespace)
}

// JobOwner reads the owner of a Nomad job from its namespace, ID and meta
// (apimodel.JobOwner hands them over from a job read from Nomad); ok is
// false when stackctl did not write the job.
func JobOwner(namespace, id string, meta map[string]string) (o Owner, ok bool) {
	if meta[MetaManagedBy] != ManagedBy {
		return Owner{}, false
	}
	return Owner{Namespace: namespace, Stack: meta[MetaStack], Service: id}, true
}

// IntentionsMeta is the meta of an intentions entry owned by o.
func IntentionsMeta(o Owner) map[string]string {
	return map[string]string{MetaManagedBy: ManagedBy, MetaStack: o.Stack, MetaNamespace: o.Namespace}
}

// IntentionsOwner reads the owner of a service-intentions entry from its
// name and meta (apimodel.IntentionsOwner hands them over from an entry
// read from Consul); ok is false when stackctl did not write it.
func IntentionsOwner(name string, meta map[string]string) (o Owner, ok bool) {
	if meta[MetaManagedBy] != ManagedBy {
		return Owner{}, false
	}
	return Owner{Namespace: meta[MetaNamespace], Stack: meta[MetaStack], Service: name}, true
}

// policyMarkerPrefix starts the first line of every Vault policy stackctl
// writes; the rest of the line is key="value" pairs (Go-quoted strings).
const policyMarkerPrefix = "# stackctl-owner "

// PolicyMarker is the first line of the policy's text: its owner and the
// JWT auth mount of its role, in a form PolicyOwner parses back.
func (p *VaultPolicy) PolicyMarker() string {
	m := fmt.Sprintf("%snamespace=%q stack=%q service=%q", policyMarkerPrefix, p.Owner.Namespace, p.Owner.Stack, p.Owner.Service)
	if p.JWTAuthPath != "" {
		m += fmt.Sprintf(" jwt_auth_path=%q", p.JWTAuthPath)
	}
	return m + "\n"
}

// PolicyOwner reads the owner (and the role's JWT auth mount) from a Vault
// policy's first line; ok is false when stackctl did not write the policy.
// Policies written before the marker existed start with the old generated
// header, matched as a whole line: their owner is a legacy record.
func PolicyOwner(name, text string) (o Owner, jwtAuthPath string, ok bool) {
	first, _, _ := strings.Cut(text, "\n")
	rest, found := strings.CutPrefix(first, policyMarkerPrefix)
	if !found {
		svc := strings.TrimPrefix(name, PolicyName(""))
		legacy := fmt.Sprintf("# Vault policy %q for service %q, generated by stackctl from its descriptor. Do not edit.", name, svc)
		if first == legacy {
			return Owner{Service: svc}, "", true
		}
		return Owner{}, "", false
	}
	fields := map[string]string{}
	for rest != "" {
		key, after, found := strings.Cut(rest, "=")
		if !found {
			return Owner{}, "", false
		}
		quoted, err := strconv.QuotedPrefix(after)
		if err != nil {
			return Owner{}, "", false
		}
		fields[key], _ = strconv.Unquote(quoted)
		rest = strings.TrimPrefix(after[len(quoted):], " ")
	}
	if fields["service"] == "" {
		return Owner{}, "", false
	}
	return Owner{Namespace: fields["namespace"], Stack: fields["stack"], Service: fields["service"]}, fields["jwt_auth_path"], true
}
