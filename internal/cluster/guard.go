package cluster

import (
	"context"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/compile"
)

// Guard returns c with every call's error classified by its Operation
// (errors.go). The CLI and the tests both hand the use cases a guarded
// cluster, so a refusal reads the same whatever implements it.
func Guard(c *Cluster) *Cluster {
	return guardWith(c, "", "")
}

// guardWith also names, in every refusal, the variable that holds no
// token: against a cluster with ACLs, a request without a token is
// refused whatever the policy files say.
func guardWith(c *Cluster, nomadNoToken, consulNoToken string) *Cluster {
	return &Cluster{Nomad: guardNomad{c.Nomad, nomadNoToken}, Consul: guardConsul{c.Consul, consulNoToken}, Vault: guardVault{c.Vault}}
}

type guardNomad struct {
	n       Nomad
	noToken string // a hint when no token was given
}

func (g guardNomad) Addr() string { return g.n.Addr() }

func (g guardNomad) fail(op *Operation, ns, name string, err error) error {
	return withHint(wrap(op, g.n.Addr(), Target{Namespace: ns, Name: name}, err), g.noToken)
}

func (g guardNomad) Leader(ctx context.Context) error {
	return g.fail(NomadLeader, "", "", g.n.Leader(ctx))
}

func (g guardNomad) Job(ctx context.Context, ns, id string) (*nomad.Job, error) {
	j, err := g.n.Job(ctx, ns, id)
	return j, g.fail(JobRead, ns, id, err)
}

func (g guardNomad) Jobs(ctx context.Context, ns string) ([]*nomad.JobListStub, error) {
	l, err := g.n.Jobs(ctx, ns)
	return l, g.fail(JobList, ns, "", err)
}

func (g guardNomad) Plan(ctx context.Context, job *nomad.Job) (*nomad.JobPlanResponse, error) {
	p, err := g.n.Plan(ctx, job)
	return p, g.fail(JobPlan, deref(job.Namespace), deref(job.ID), err)
}

func (g guardNomad) Register(ctx context.Context, job *nomad.Job, opts *nomad.RegisterOptions) (*nomad.JobRegisterResponse, error) {
	r, err := g.n.Register(ctx, job, opts)
	return r, g.fail(JobRegister, deref(job.Namespace), deref(job.ID), err)
}

func (g guardNomad) Deregister(ctx context.Context, ns, id string, purge bool) (string, error) {
	e, err := g.n.Deregister(ctx, ns, id, purge)
	return e, g.fail(JobDeregister, ns, id, err)
}

func (g guardNomad) Versions(ctx context.Context, ns, id string) ([]*nomad.Job, error) {
	v, err := g.n.Versions(ctx, ns, id)
	return v, g.fail(JobVersions, ns, id, err)
}

func (g guardNomad) Revert(ctx context.Context, ns, id string, version, current uint64) (*nomad.JobRegisterResponse, error) {
	r, err := g.n.Revert(ctx, ns, id, version, current)
	return r, g.fail(JobRevert, ns, id, err)
}

func (g guardNomad) Scale(ctx context.Context, ns, id, group string, count int, message string) (*nomad.JobRegisterResponse, error) {
	r, err := g.n.Scale(ctx, ns, id, group, count, message)
	return r, g.fail(JobScale, ns, id, err)
}

func (g guardNomad) ScaleStatus(ctx context.Context, ns, id string) (*nomad.JobScaleStatusResponse, error) {
	s, err := g.n.ScaleStatus(ctx, ns, id)
	return s, g.fail(JobScaleStatus, ns, id, err)
}

func (g guardNomad) Allocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	a, err := g.n.Allocations(ctx, ns, id)
	return a, g.fail(JobAllocations, ns, id, err)
}

func (g guardNomad) LatestDeployment(ctx context.Context, ns, id string) (*nomad.Deployment, error) {
	d, err := g.n.LatestDeployment(ctx, ns, id)
	return d, g.fail(JobDeployment, ns, id, err)
}

func (g guardNomad) Deployment(ctx context.Context, ns, id string, index uint64) (*nomad.Deployment, uint64, error) {
	d, i, err := g.n.Deployment(ctx, ns, id, index)
	return d, i, g.fail(DeploymentRead, ns, ShortID(id), err)
}

func (g guardNomad) DeploymentAllocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	a, err := g.n.DeploymentAllocations(ctx, ns, id)
	return a, g.fail(DeploymentAllocs, ns, ShortID(id), err)
}

func (g guardNomad) Evaluation(ctx context.Context, ns, id string, index uint64) (*nomad.Evaluation, uint64, error) {
	e, i, err := g.n.Evaluation(ctx, ns, id, index)
	return e, i, g.fail(EvaluationRead, ns, ShortID(id), err)
}

type guardConsul struct {
	c       Consul
	noToken string
}

func (g guardConsul) Addr() string { return g.c.Addr() }

func (g guardConsul) fail(op *Operation, name string, err error) error {
	return withHint(wrap(op, g.c.Addr(), Target{Name: name}, err), g.noToken)
}

func (g guardConsul) Leader(ctx context.Context) (string, error) {
	l, err := g.c.Leader(ctx)
	return l, g.fail(ConsulLeader, "", err)
}

func (g guardConsul) Intentions(ctx context.Context, service string) (*consul.ServiceIntentionsConfigEntry, error) {
	e, err := g.c.Intentions(ctx, service)
	return e, g.fail(IntentionsRead, service, err)
}

func (g guardConsul) AllIntentions(ctx context.Context) ([]*consul.ServiceIntentionsConfigEntry, error) {
	l, err := g.c.AllIntentions(ctx)
	return l, g.fail(IntentionsList, "", err)
}

func (g guardConsul) WriteIntentions(ctx context.Context, e *consul.ServiceIntentionsConfigEntry, index uint64) (bool, error) {
	ok, err := g.c.WriteIntentions(ctx, e, index)
	return ok, g.fail(IntentionsWrite, e.Name, err)
}

func (g guardConsul) DeleteIntentions(ctx context.Context, service string, index uint64) (bool, error) {
	ok, err := g.c.DeleteIntentions(ctx, service, index)
	return ok, g.fail(IntentionsDelete, service, err)
}

func (g guardConsul) Checks(ctx context.Context, service string) ([]*consul.HealthCheck, error) {
	c, err := g.c.Checks(ctx, service)
	return c, g.fail(HealthChecks, service, err)
}

func (g guardConsul) Connect(ctx context.Context, service string) ([]*consul.ServiceEntry, error) {
	e, err := g.c.Connect(ctx, service)
	return e, g.fail(ConnectInstances, service, err)
}

func (g guardConsul) Catalog(ctx context.Context, service string) ([]*consul.CatalogService, error) {
	l, err := g.c.Catalog(ctx, service)
	return l, g.fail(CatalogRead, service, err)
}

func (g guardConsul) Lock(ctx context.Context, key, holder string) (func(), bool, error) {
	release, held, err := g.c.Lock(ctx, key, holder)
	return release, held, g.fail(LockTake, key, err)
}

type guardVault struct{ v Vault }

func (g guardVault) Addr() string   { return g.v.Addr() }
func (g guardVault) HasToken() bool { return g.v.HasToken() }

func (g guardVault) fail(op *Operation, mount, name string, err error) error {
	hint := ""
	if !g.v.HasToken() {
		hint = noTokenHint("VAULT_TOKEN")
	}
	return withHint(wrap(op, g.v.Addr(), Target{Mount: mount, Name: name}, err), hint)
}

func (g guardVault) Health(ctx context.Context) (*vault.HealthResponse, error) {
	h, err := g.v.Health(ctx)
	return h, g.fail(VaultHealth, "", "", err)
}

func (g guardVault) LookupSelf(ctx context.Context) error {
	return g.fail(TokenLookup, "", "", g.v.LookupSelf(ctx))
}

func (g guardVault) Policy(ctx context.Context, name string) (string, error) {
	p, err := g.v.Policy(ctx, name)
	return p, g.fail(PolicyRead, "", name, err)
}

func (g guardVault) WritePolicy(ctx context.Context, name, text string) error {
	return g.fail(PolicyWrite, "", name, g.v.WritePolicy(ctx, name, text))
}

func (g guardVault) DeletePolicy(ctx context.Context, name string) error {
	return g.fail(PolicyDelete, "", name, g.v.DeletePolicy(ctx, name))
}

func (g guardVault) Role(ctx context.Context, mount, name string) (map[string]any, error) {
	r, err := g.v.Role(ctx, mount, name)
	return r, g.fail(RoleRead, mount, compile.RolePath(mount, name), err)
}

func (g guardVault) WriteRole(ctx context.Context, mount, name string, body map[string]any) error {
	return g.fail(RoleWrite, mount, compile.RolePath(mount, name), g.v.WriteRole(ctx, mount, name, body))
}

func (g guardVault) DeleteRole(ctx context.Context, mount, name string) error {
	return g.fail(RoleDelete, mount, compile.RolePath(mount, name), g.v.DeleteRole(ctx, mount, name))
}

func (g guardVault) SecretMetadata(ctx context.Context, mount, path string) (*vault.KVMetadata, error) {
	m, err := g.v.SecretMetadata(ctx, mount, path)
	return m, g.fail(SecretMetadataRead, mount, path, err)
}

func (g guardVault) Secret(ctx context.Context, mount, path string) (*vault.KVSecret, error) {
	s, err := g.v.Secret(ctx, mount, path)
	return s, g.fail(SecretRead, mount, path, err)
}

func (g guardVault) PutSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	s, err := g.v.PutSecret(ctx, mount, path, data)
	return s, g.fail(SecretCreate, mount, path, err)
}

func (g guardVault) PatchSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	s, err := g.v.PatchSecret(ctx, mount, path, data)
	return s, g.fail(SecretPatch, mount, path, err)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// ShortID is the first 8 characters of a Nomad ID, as Nomad's CLI shows them.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
