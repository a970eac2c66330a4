package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/jobsubmit"
)

// Dial builds the live clients from the standard environment variables
// (NOMAD_ADDR/NOMAD_TOKEN, CONSUL_HTTP_ADDR/CONSUL_HTTP_TOKEN, VAULT_ADDR/
// VAULT_TOKEN and their TLS companions) without contacting anything, and
// guards them.
func Dial() (*Cluster, error) {
	nc := nomad.DefaultConfig()
	n, err := nomad.NewClient(nc)
	if err != nil {
		return nil, fmt.Errorf("nomad client (%s): %w", nc.Address, err)
	}
	cc := consul.DefaultConfig()
	c, err := consul.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("consul client (%s): %w", cc.Address, err)
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client: %w", vc.Error)
	}
	v, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client (%s): %w", vc.Address, err)
	}
	consulAddr := cc.Address
	if !strings.Contains(consulAddr, "://") {
		consulAddr = cc.Scheme + "://" + consulAddr
	}
	consulToken := cc.Token
	if consulToken == "" && cc.TokenFile != "" {
		b, err := os.ReadFile(cc.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("consul token file (CONSUL_HTTP_TOKEN_FILE): %w", err)
		}
		consulToken = strings.TrimSpace(string(b))
	}
	var nomadHint, consulHint string
	if nc.SecretID == "" {
		nomadHint = noTokenHint("NOMAD_TOKEN")
	}
	if cc.Token == "" && cc.TokenFile == "" {
		consulHint = noTokenHint("CONSUL_HTTP_TOKEN")
	}
	return guardWith(&Cluster{
		Nomad:  &liveNomad{c: n, addr: nc.Address, consulToken: consulToken},
		Consul: &liveConsul{c: c, addr: consulAddr},
		Vault:  &liveVault{c: v, addr: vc.Address},
	}, nomadHint, consulHint), nil
}

// The live implementations only translate calls: no decision, no error
// handling (the guard classifies errors).

type liveNomad struct {
	c    *nomad.Client
	addr string
	// consulToken goes with every registration and revert: a Nomad 1.6
	// cluster with consul.allow_unauthenticated = false registers a job's
	// services only for a submitter whose Consul token may write them
	// (internal/jobsubmit).
	consulToken string
}

func (l *liveNomad) Addr() string { return l.addr }

func nq(ctx context.Context, ns string) *nomad.QueryOptions {
	return (&nomad.QueryOptions{Namespace: ns}).WithContext(ctx)
}

func nw(ctx context.Context, ns string) *nomad.WriteOptions {
	return (&nomad.WriteOptions{Namespace: ns}).WithContext(ctx)
}

func (l *liveNomad) Leader(ctx context.Context) error {
	_, err := l.c.Status().Leader()
	return err
}

func (l *liveNomad) Job(ctx context.Context, ns, id string) (*nomad.Job, error) {
	j, _, err := l.c.Jobs().Info(id, nq(ctx, ns))
	return j, err
}

func (l *liveNomad) Jobs(ctx context.Context, ns string) ([]*nomad.JobListStub, error) {
	j, _, err := l.c.Jobs().List(nq(ctx, ns))
	return j, err
}

func (l *liveNomad) Plan(ctx context.Context, job *nomad.Job) (*nomad.JobPlanResponse, error) {
	p, _, err := l.c.Jobs().Plan(job, true, nw(ctx, deref(job.Namespace)))
	return p, err
}

func (l *liveNomad) Register(ctx context.Context, job *nomad.Job, opts *nomad.RegisterOptions) (*nomad.JobRegisterResponse, error) {
	var o jobsubmit.Options
	if opts != nil {
		o = jobsubmit.Options{EnforceIndex: opts.EnforceIndex, ModifyIndex: opts.ModifyIndex, PreserveCounts: opts.PreserveCounts}
	}
	return jobsubmit.Register(l.c, job, l.consulToken, o, nw(ctx, deref(job.Namespace)))
}

func (l *liveNomad) Deregister(ctx context.Context, ns, id string, purge bool) (string, error) {
	e, _, err := l.c.Jobs().Deregister(id, purge, nw(ctx, ns))
	return e, err
}

func (l *liveNomad) Versions(ctx context.Context, ns, id string) ([]*nomad.Job, error) {
	v, _, _, err := l.c.Jobs().Versions(id, false, nq(ctx, ns))
	return v, err
}

func (l *liveNomad) Revert(ctx context.Context, ns, id string, version, current uint64) (*nomad.JobRegisterResponse, error) {
	return jobsubmit.Revert(l.c, id, version, &current, l.consulToken, nw(ctx, ns))
}

func (l *liveNomad) Scale(ctx context.Context, ns, id, group string, count int, message string) (*nomad.JobRegisterResponse, error) {
	r, _, err := l.c.Jobs().Scale(id, group, &count, message, false, nil, nw(ctx, ns))
	return r, err
}

func (l *liveNomad) ScaleStatus(ctx context.Context, ns, id string) (*nomad.JobScaleStatusResponse, error) {
	s, _, err := l.c.Jobs().ScaleStatus(id, nq(ctx, ns))
	return s, err
}

func (l *liveNomad) Allocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	a, _, err := l.c.Jobs().Allocations(id, false, nq(ctx, ns))
	return a, err
}

func (l *liveNomad) LatestDeployment(ctx context.Context, ns, id string) (*nomad.Deployment, error) {
	d, _, err := l.c.Jobs().LatestDeployment(id, nq(ctx, ns))
	return d, err
}

// blocking waits up to 5 s for an index past index.
func blocking(ctx context.Context, ns string, index uint64) *nomad.QueryOptions {
	return (&nomad.QueryOptions{Namespace: ns, WaitIndex: index, WaitTime: 5 * time.Second}).WithContext(ctx)
}

func (l *liveNomad) Deployment(ctx context.Context, ns, id string, index uint64) (*nomad.Deployment, uint64, error) {
	d, m, err := l.c.Deployments().Info(id, blocking(ctx, ns, index))
	if err != nil {
		return nil, index, err
	}
	return d, m.LastIndex, nil
}

func (l *liveNomad) DeploymentAllocations(ctx context.Context, ns, id string) ([]*nomad.AllocationListStub, error) {
	a, _, err := l.c.Deployments().Allocations(id, nq(ctx, ns))
	return a, err
}

func (l *liveNomad) Evaluation(ctx context.Context, ns, id string, index uint64) (*nomad.Evaluation, uint64, error) {
	e, m, err := l.c.Evaluations().Info(id, blocking(ctx, ns, index))
	if err != nil {
		return nil, index, err
	}
	return e, m.LastIndex, nil
}

type liveConsul struct {
	c    *consul.Client
	addr string
}

func (l *liveConsul) Addr() string { return l.addr }

func cq(ctx context.Context) *consul.QueryOptions { return (&consul.QueryOptions{}).WithContext(ctx) }
func cw(ctx context.Context) *consul.WriteOptions { return (&consul.WriteOptions{}).WithContext(ctx) }

func (l *liveConsul) Leader(ctx context.Context) (string, error) {
	return l.c.Status().LeaderWithQueryOptions(cq(ctx))
}

func (l *liveConsul) Intentions(ctx context.Context, service string) (*consul.ServiceIntentionsConfigEntry, error) {
	e, _, err := l.c.ConfigEntries().Get(consul.ServiceIntentions, service, cq(ctx))
	if err != nil {
		return nil, err
	}
	si, _ := e.(*consul.ServiceIntentionsConfigEntry)
	return si, nil
}

func (l *liveConsul) AllIntentions(ctx context.Context) ([]*consul.ServiceIntentionsConfigEntry, error) {
	entries, _, err := l.c.ConfigEntries().List(consul.ServiceIntentions, cq(ctx))
	var out []*consul.ServiceIntentionsConfigEntry
	for _, e := range entries {
		if si, ok := e.(*consul.ServiceIntentionsConfigEntry); ok {
			out = append(out, si)
		}
	}
	return out, err
}

func (l *liveConsul) WriteIntentions(ctx context.Context, e *consul.ServiceIntentionsConfigEntry, index uint64) (bool, error) {
	ok, _, err := l.c.ConfigEntries().CAS(e, index, cw(ctx))
	return ok, err
}

func (l *liveConsul) DeleteIntentions(ctx context.Context, service string, index uint64) (bool, error) {
	ok, _, err := l.c.ConfigEntries().DeleteCAS(consul.ServiceIntentions, service, index, cw(ctx))
	return ok, err
}

func (l *liveConsul) Checks(ctx context.Context, service string) ([]*consul.HealthCheck, error) {
	c, _, err := l.c.Health().Checks(service, cq(ctx))
	return c, err
}

func (l *liveConsul) Connect(ctx context.Context, service string) ([]*consul.ServiceEntry, error) {
	e, _, err := l.c.Health().Connect(service, "", false, cq(ctx))
	return e, err
}

func (l *liveConsul) Catalog(ctx context.Context, service string) ([]*consul.CatalogService, error) {
	s, _, err := l.c.Catalog().Service(service, "", cq(ctx))
	return s, err
}

func (l *liveConsul) Lock(ctx context.Context, key, holder string) (func(), bool, error) {
	lock, err := l.c.LockOpts(&consul.LockOptions{
		Key:          key,
		Value:        []byte(holder),
		SessionName:  "stackctl deploy " + key,
		SessionTTL:   "30s",
		LockTryOnce:  true,
		LockWaitTime: 300 * time.Millisecond,
	})
	if err != nil {
		return nil, false, err
	}
	ch, err := lock.Lock(ctx.Done())
	if err != nil || ch == nil {
		return nil, err == nil, err
	}
	return func() { _ = lock.Unlock() }, false, nil
}

type liveVault struct {
	c    *vault.Client
	addr string
}

func (l *liveVault) Addr() string   { return l.addr }
func (l *liveVault) HasToken() bool { return l.c.Token() != "" }

func (l *liveVault) Health(ctx context.Context) (*vault.HealthResponse, error) {
	return l.c.Sys().HealthWithContext(ctx)
}

func (l *liveVault) LookupSelf(ctx context.Context) error {
	_, err := l.c.Auth().Token().LookupSelfWithContext(ctx)
	return err
}

func (l *liveVault) Policy(ctx context.Context, name string) (string, error) {
	return l.c.Sys().GetPolicyWithContext(ctx, name)
}

func (l *liveVault) WritePolicy(ctx context.Context, name, text string) error {
	return l.c.Sys().PutPolicyWithContext(ctx, name, text)
}

func (l *liveVault) DeletePolicy(ctx context.Context, name string) error {
	return l.c.Sys().DeletePolicyWithContext(ctx, name)
}

func (l *liveVault) Role(ctx context.Context, mount, name string) (map[string]any, error) {
	s, err := l.c.Logical().ReadWithContext(ctx, compile.RolePath(mount, name))
	if err != nil || s == nil {
		return nil, err
	}
	return s.Data, nil
}

func (l *liveVault) WriteRole(ctx context.Context, mount, name string, body map[string]any) error {
	_, err := l.c.Logical().WriteWithContext(ctx, compile.RolePath(mount, name), body)
	return err
}

func (l *liveVault) DeleteRole(ctx context.Context, mount, name string) error {
	_, err := l.c.Logical().DeleteWithContext(ctx, compile.RolePath(mount, name))
	return err
}

func (l *liveVault) SecretMetadata(ctx context.Context, mount, path string) (*vault.KVMetadata, error) {
	return l.c.KVv2(mount).GetMetadata(ctx, path)
}

func (l *liveVault) Secret(ctx context.Context, mount, path string) (*vault.KVSecret, error) {
	return l.c.KVv2(mount).Get(ctx, path)
}

func (l *liveVault) PutSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	return l.c.KVv2(mount).Put(ctx, path, data)
}

func (l *liveVault) PatchSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	return l.c.KVv2(mount).Patch(ctx, path, data)
}

// Holder names this process in a lock's value, for whoever finds it held.
func Holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s pid %d", host, os.Getpid())
}

// FromClients guards API clients built elsewhere (the integration
// harness's); a nil client is a component the caller does not use.
func FromClients(n *nomad.Client, c *consul.Client, v *vault.Client, consulToken string) *Cluster {
	cl := &Cluster{Nomad: &liveNomad{c: n}, Consul: &liveConsul{c: c, addr: "Consul"}, Vault: &liveVault{c: v}}
	if n != nil {
		cl.Nomad = &liveNomad{c: n, addr: n.Address(), consulToken: consulToken}
	}
	if v != nil {
		cl.Vault = &liveVault{c: v, addr: v.Address()}
	}
	return Guard(cl)
}
