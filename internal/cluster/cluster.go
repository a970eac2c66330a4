// Package cluster is stackctl's one way into Nomad, Consul and Vault: the
// narrow interfaces the use cases need (this file), their thin
// implementation over the official API clients (live.go), and the guard
// every call goes through (guard.go), which turns a failure into an Error
// naming the component, the operation and, for a 403, the permission that
// was missing and the policy file that grants it (operations.go).
//
// Nothing here decides anything: the use cases (internal/deploy, status,
// scale, rollback, secrets) do. clustertest implements the same interfaces
// in memory for tests.
package cluster

import (
	"context"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// Cluster reaches the three control planes.
type Cluster struct {
	Nomad  Nomad
	Consul Consul
	Vault  Vault
}

// Nomad is what the use cases read and write in Nomad. Reads of a missing
// object fail with a 404 (IsNotFound).
type Nomad interface {
	Addr() string
	Leader(ctx context.Context) error
	Job(ctx context.Context, ns, id string) (*nomad.Job, error)
	Jobs(ctx context.Context, ns string) ([]*nomad.JobListStub, error)
	Plan(ctx context.Context, job *nomad.Job) (*nomad.JobPlanResponse, error)
	Register(ctx context.Context, job *nomad.Job, opts *nomad.RegisterOptions) (*nomad.JobRegisterResponse, error)
	Deregister(ctx context.Context, ns, id string, purge bool) (evalID string, err error)
	// Versions lists the job's versions, newest first.
	Versions(ctx context.Context, ns, id string) ([]*nomad.Job, error)
	Revert(ctx context.Context, ns, id string, version, current uint64) (*nomad.JobRegisterResponse, error)
	Scale(ctx context.Context, ns, id, group string, count int, message string) (*nomad.JobRegisterResponse, error)
	ScaleStatus(ctx context.Context, ns, id string) (*nomad.JobScaleStatusResponse, error)
	Allocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error)
	// LatestDeployment is nil when the job has none.
	LatestDeployment(ctx context.Context, ns, id string) (*nomad.Deployment, error)
	// Deployment and Evaluation block until the object's index passes
	// index (or a few seconds pass) and return the new index.
	Deployment(ctx context.Context, ns, id string, index uint64) (*nomad.Deployment, uint64, error)
	DeploymentAllocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error)
	Evaluation(ctx context.Context, ns, id string, index uint64) (*nomad.Evaluation, uint64, error)
	AllocIO       // logs and exec (nomad_alloc.go)
	RolloutReader // nomad_rollout.go
}

// Consul is what the use cases read and write in Consul.
type Consul interface {
	Addr() string
	Leader(ctx context.Context) (string, error)
	// Intentions reads a service's intentions entry (404 when none).
	Intentions(ctx context.Context, service string) (*consul.ServiceIntentionsConfigEntry, error)
	AllIntentions(ctx context.Context) ([]*consul.ServiceIntentionsConfigEntry, error)
	// WriteIntentions and DeleteIntentions apply only while the entry is
	// at index (0: does not exist yet); ok is false when it moved.
	WriteIntentions(ctx context.Context, e *consul.ServiceIntentionsConfigEntry, index uint64) (ok bool, err error)
	DeleteIntentions(ctx context.Context, service string, index uint64) (ok bool, err error)
	Checks(ctx context.Context, service string) ([]*consul.HealthCheck, error)
	// Connect lists the service's Connect instances with their checks.
	Connect(ctx context.Context, service string) ([]*consul.ServiceEntry, error)
	// Catalog lists every registered instance of the service, whoever
	// registered it: Consul OSS has one service namespace for all of
	// Nomad's, so another stack's "api" is the same service there. Each
	// instance carries its registration's meta (stackctl's owner record
	// for the services it deploys) and service ID (Nomad's begins
	// "_nomad-task-<allocation ID>-").
	Catalog(ctx context.Context, service string) ([]*consul.CatalogService, error)
	// Lock takes key with a session, or reports held when another
	// session has it; release gives it back.
	Lock(ctx context.Context, key, holder string) (release func(), held bool, err error)
}

// Vault is what the use cases read and write in Vault.
type Vault interface {
	Addr() string
	Health(ctx context.Context) (*vault.HealthResponse, error)
	HasToken() bool
	LookupSelf(ctx context.Context) error
	// Policy is "" when there is none.
	Policy(ctx context.Context, name string) (string, error)
	WritePolicy(ctx context.Context, name, text string) error
	DeletePolicy(ctx context.Context, name string) error
	// Role reads a JWT auth role; nil when there is none.
	Role(ctx context.Context, mount, name string) (map[string]any, error)
	WriteRole(ctx context.Context, mount, name string, body map[string]any) error
	DeleteRole(ctx context.Context, mount, name string) error
	// KV v2; a missing path is a 404.
	SecretMetadata(ctx context.Context, mount, path string) (*vault.KVMetadata, error)
	Secret(ctx context.Context, mount, path string) (*vault.KVSecret, error)
	PutSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error)
	PatchSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error)
}
