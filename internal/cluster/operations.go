package cluster

import "strings"

// Operation is one kind of call stackctl makes: what it does, in words,
// and the ACL permission it needs, in the component's policy language.
// Every call goes through the guard with its Operation, so a 403 always
// names the permission and the shipped policy file that grants it.
type Operation struct {
	ID        string // stable name, used by test scenarios: "consul.intentions.write"
	Component string // "Nomad", "Consul" or "Vault"
	// Does and Needs are templates over a Target: {ns}, {name}, {mount}.
	Does  string // "write intentions for {name}": a verb, then the object
	Needs string // the rule the token needs; "" when no ACL applies
	// NotGranted is set when the deployer's policy leaves the permission
	// out on purpose, and says why.
	NotGranted string
}

// Target is what an operation acts on.
type Target struct {
	Namespace string // Nomad namespace
	Name      string // job, service, policy, lock key, secret path, or a role's full path
	Mount     string // Vault mount of a role or secret
}

// PolicyFiles are the least-privilege deployer policies shipped for each
// component; the table below is what they must grant.
var PolicyFiles = map[string]string{
	"Nomad":  "policies/nomad/deployer.hcl",
	"Consul": "policies/consul/deployer.hcl",
	"Vault":  "policies/vault/deployer.hcl",
}

func (o *Operation) fill(s string, t Target) string {
	return strings.NewReplacer("{ns}", t.Namespace, "{name}", t.Name, "{mount}", t.Mount).Replace(s)
}

// failure describes a failed call without a refusal: "write Consul
// intentions for api".
func (o *Operation) failure(t Target) string {
	verb, rest, _ := strings.Cut(o.fill(o.Does, t), " ")
	return verb + " " + o.Component + " " + rest
}

// refusal explains a 403: who refused what, the missing permission, and
// where it is granted.
func (o *Operation) refusal(t Target, status string) string {
	msg := o.Component + " refused to " + o.fill(o.Does, t) + " (" + status + ")"
	if o.Needs == "" {
		return msg
	}
	msg += ": the token needs " + o.fill(o.Needs, t) + "; " + PolicyFiles[o.Component]
	if o.NotGranted != "" {
		return msg + " does not grant it to the deployer: " + o.NotGranted
	}
	return msg + " grants it to the deployer"
}

func nomadOp(id, does, capability string) *Operation {
	needs := ""
	if capability != "" {
		needs = `namespace "{ns}" { capabilities = ["` + capability + `"] }`
	}
	return &Operation{ID: "nomad." + id, Component: "Nomad", Does: does, Needs: needs}
}

func consulOp(id, does, needs string) *Operation {
	return &Operation{ID: "consul." + id, Component: "Consul", Does: does, Needs: needs}
}

func vaultOp(id, does, needs string) *Operation {
	return &Operation{ID: "vault." + id, Component: "Vault", Does: does, Needs: needs}
}

// The operations, one per method of Nomad, Consul and Vault.
var (
	NomadLeader          = nomadOp("leader", "find leader", "")
	JobRead              = nomadOp("job.read", "read job {name} in namespace {ns}", "read-job")
	JobList              = nomadOp("job.list", "list jobs in namespace {ns}", "list-jobs")
	JobPlan              = nomadOp("job.plan", "plan job {name} in namespace {ns}", "submit-job")
	JobRegister          = nomadOp("job.register", "register job {name} in namespace {ns}", "submit-job")
	JobDeregister        = nomadOp("job.deregister", "stop job {name} in namespace {ns}", "submit-job")
	JobVersions          = nomadOp("job.versions", "read versions of job {name} in namespace {ns}", "read-job")
	JobRevert            = nomadOp("job.revert", "revert job {name} in namespace {ns}", "submit-job")
	JobScale             = nomadOp("job.scale", "scale job {name} in namespace {ns}", "scale-job")
	JobScaleStatus       = nomadOp("job.scale-status", "read scaling status of job {name} in namespace {ns}", "read-job-scaling")
	JobAllocations       = nomadOp("job.allocations", "list allocations of job {name} in namespace {ns}", "read-job")
	JobDeployment        = nomadOp("job.deployment", "read latest deployment of job {name} in namespace {ns}", "read-job")
	DeploymentRead       = nomadOp("deployment.read", "follow deployment {name} in namespace {ns}", "read-job")
	DeploymentAllocs     = nomadOp("deployment.allocations", "list allocations of deployment {name} in namespace {ns}", "read-job")
	EvaluationRead       = nomadOp("evaluation.read", "follow evaluation {name} in namespace {ns}", "read-job")
	ConsulLeader         = consulOp("leader", "find leader", "")
	IntentionsRead       = consulOp("intentions.read", "read intentions for {name}", `service "{name}" { intentions = "read" }`)
	IntentionsList       = consulOp("intentions.list", "list intentions", `service_prefix "" { intentions = "read" }`)
	IntentionsWrite      = consulOp("intentions.write", "write intentions for {name}", `service "{name}" { intentions = "write" }`)
	IntentionsDelete     = consulOp("intentions.delete", "delete intentions for {name}", `service "{name}" { intentions = "write" }`)
	HealthChecks         = consulOp("health.checks", "read health checks of {name}", `service "{name}" { policy = "read" } and node_prefix "" { policy = "read" }`)
	ConnectInstances     = consulOp("health.connect", "read Connect instances of {name}", `service "{name}" { policy = "read" } and node_prefix "" { policy = "read" }`)
	CatalogRead          = consulOp("catalog.service", "read catalog instances of {name}", `service "{name}" { policy = "read" } and node_prefix "" { policy = "read" }`)
	LockTake             = consulOp("lock", "take deploy lock {name}", `key_prefix "stackctl/deploy-locks/" { policy = "write" } and session_prefix "" { policy = "write" }`)
	VaultHealth          = vaultOp("health", "report health", "")
	TokenLookup          = vaultOp("token.lookup", "check token", `path "auth/token/lookup-self" { capabilities = ["read"] }`)
	PolicyRead           = vaultOp("policy.read", "read policy {name}", `path "sys/policies/acl/{name}" { capabilities = ["read"] }`)
	PolicyWrite          = vaultOp("policy.write", "write policy {name}", `path "sys/policies/acl/{name}" { capabilities = ["create", "update"] }`)
	PolicyDelete         = vaultOp("policy.delete", "delete policy {name}", `path "sys/policies/acl/{name}" { capabilities = ["delete"] }`)
	RoleRead             = vaultOp("role.read", "read JWT role {name}", `path "{name}" { capabilities = ["read"] }`)
	RoleWrite            = vaultOp("role.write", "write JWT role {name}", `path "{name}" { capabilities = ["create", "update"] }`)
	RoleDelete           = vaultOp("role.delete", "delete JWT role {name}", `path "{name}" { capabilities = ["delete"] }`)
	SecretMetadataRead   = vaultOp("secret.metadata", "read secret metadata {mount}/metadata/{name}", `path "{mount}/metadata/{name}" { capabilities = ["read"] }`)
	SecretRead           = vaultOp("secret.read", "read secret {mount}/data/{name}", `path "{mount}/data/{name}" { capabilities = ["read"] }`)
	SecretCreate         = vaultOp("secret.create", "write secret {mount}/data/{name}", `path "{mount}/data/{name}" { capabilities = ["create", "update"] }`)
	SecretPatch          = vaultOp("secret.patch", "update secret {mount}/data/{name}", `path "{mount}/data/{name}" { capabilities = ["patch"] }`)
	secretReadNotGranted = "it checks that secrets exist, never reads them; use a token that may read the value"
)

func init() { SecretRead.NotGranted = secretReadNotGranted }

// Operations lists every operation, for the scenario tests' fault names.
var Operations = []*Operation{
	NomadLeader, JobRead, JobList, JobPlan, JobRegister, JobDeregister, JobVersions, JobRevert, JobScale,
	JobScaleStatus, JobAllocations, JobDeployment, DeploymentRead, DeploymentAllocs, EvaluationRead,
	ConsulLeader, IntentionsRead, IntentionsList, IntentionsWrite, IntentionsDelete, HealthChecks,
	ConnectInstances, CatalogRead, LockTake,
	VaultHealth, TokenLookup, PolicyRead, PolicyWrite, PolicyDelete, RoleRead, RoleWrite, RoleDelete,
	SecretMetadataRead, SecretRead, SecretCreate, SecretPatch,
	JobAllocationsWatch, AllocLogs, AllocExec, // nomad_alloc.go
}
