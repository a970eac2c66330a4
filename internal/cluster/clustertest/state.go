// Package clustertest is an in-memory Nomad, Consul and Vault behind
// stackctl's cluster interfaces, for tests: jobs with versions, rollouts
// that succeed, crash, hang or cannot be placed, intentions with modify
// indexes, locks, policies, roles and KV v2 secrets, and failures injected
// per operation (a 403, a 500, an unreachable component, a sealed Vault).
//
// Its state is plain JSON, so a CLI test script keeps one cluster across
// several stackctl processes (Open, Save). It mimics the behaviour stackctl
// relies on, not the whole APIs; the integration suite judges the real
// agents.
package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Rollout behaviours of a service's next registrations.
const (
	Healthy  = "healthy"  // the deployment succeeds, every instance in the mesh
	Crash    = "crash"    // the tasks exit, the health check fails, the deployment fails, Nomad reverts to the last stable version
	Stuck    = "stuck"    // the deployment never ends
	Unplaced = "unplaced" // the scheduler finds no node
	// Panic and OOM: the task crashes at start (exit 2 with a Go panic on
	// stderr; or OOM-killed, exit 137) until its restart policy gives up,
	// and the deployment keeps running, as Nomad's does until its
	// progress deadline.
	Panic = "panic"
	OOM   = "oom"
)

// State is everything the fake cluster holds.
type State struct {
	Index uint64 `json:"index"`

	Jobs        map[string]*Job                  `json:"jobs"` // by namespace/id
	Evals       map[string]*nomad.Evaluation     `json:"evals"`
	Deployments map[string]*nomad.Deployment     `json:"deployments"`
	Rollouts    map[string]string                `json:"rollouts,omitempty"` // service -> behaviour
	Checks      map[string][]*consul.HealthCheck `json:"checks,omitempty"`
	// Slow holds a service's next deployments running for that many
	// reads of the deployment before they end; Pending counts them down.
	Slow    map[string]int      `json:"slow,omitempty"`
	Pending map[string]*Pending `json:"pending,omitempty"` // by deployment ID
	Logs    map[string]string   `json:"logs,omitempty"`    // by allocID/task/stream

	Intentions map[string]*consul.ServiceIntentionsConfigEntry `json:"intentions"`
	Locks      map[string]string                               `json:"locks"`
	// Registrations are catalog instances registered outside Nomad (a
	// person's, another tool's), by service name; Nomad's come from the
	// running allocations (Catalog).
	Registrations map[string][]*consul.CatalogService `json:"registrations,omitempty"`

	Sealed   bool                      `json:"sealed,omitempty"`
	NoToken  bool                      `json:"no_token,omitempty"`
	Policies map[string]string         `json:"policies"`
	Roles    map[string]map[string]any `json:"roles"`   // by mount/name
	Secrets  map[string]*Secret        `json:"secrets"` // by mount/path

	IO *TaskIO `json:"io,omitempty"` // task logs and what happens while they are followed (alloc_io.go)

	Down   map[string]bool `json:"down,omitempty"` // "nomad", "consul", "vault"
	Faults []*Fault        `json:"faults,omitempty"`
}

// Job is a job's versions (oldest first) and allocations.
type Job struct {
	Versions []*nomad.Job                `json:"versions"`
	Allocs   []*nomad.AllocationListStub `json:"allocs"`
	Events   []nomad.ScalingEvent        `json:"events,omitempty"`
}

func (j *Job) latest() *nomad.Job { return j.Versions[len(j.Versions)-1] }

// Secret is a KV v2 secret's versions (data per version, 1 first).
type Secret struct {
	Versions []map[string]any `json:"versions"`
}

// Fault makes matching calls fail. Status 0 with Race set does not fail
// the call: it first registers a new version of the job, as a concurrent
// deploy would.
type Fault struct {
	Op      string `json:"op"`             // an Operation ID, e.g. "consul.intentions.write"
	Name    string `json:"name,omitempty"` // only for this target name; empty: any
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Race    bool   `json:"race,omitempty"`
	Times   int    `json:"times,omitempty"` // 0: every call; else this many calls
}

// Cluster is the fake, safe for concurrent use.
type Cluster struct {
	mu    sync.Mutex
	s     *State
	path  string
	calls []string // operation IDs in first-call order (Calls)
}

// ResetCalls forgets the calls made so far.
func (c *Cluster) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

// Calls lists the operations called so far, each once, in the order of
// their first call.
func (c *Cluster) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

// New returns an empty cluster.
func New() *Cluster {
	return &Cluster{s: &State{
		Jobs: map[string]*Job{}, Evals: map[string]*nomad.Evaluation{}, Deployments: map[string]*nomad.Deployment{},
		Rollouts: map[string]string{}, Checks: map[string][]*consul.HealthCheck{},
		Slow: map[string]int{}, Pending: map[string]*Pending{}, Logs: map[string]string{},
		Intentions: map[string]*consul.ServiceIntentionsConfigEntry{}, Locks: map[string]string{},
		Registrations: map[string][]*consul.CatalogService{},
		Policies:      map[string]string{}, Roles: map[string]map[string]any{}, Secrets: map[string]*Secret{},
		Down: map[string]bool{},
	}}
}

// Open loads the cluster saved at path, or an empty one when there is
// none yet; Save writes it back there.
func Open(path string) (*Cluster, error) {
	c := New()
	c.path = path
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, c.s); err != nil {
		return nil, fmt.Errorf("fake cluster %s: %w", path, err)
	}
	fresh := New().s
	fillNil(&c.s.Jobs, fresh.Jobs)
	fillNil(&c.s.Evals, fresh.Evals)
	fillNil(&c.s.Deployments, fresh.Deployments)
	fillNil(&c.s.Rollouts, fresh.Rollouts)
	fillNil(&c.s.Checks, fresh.Checks)
	fillNil(&c.s.Slow, fresh.Slow)
	fillNil(&c.s.Pending, fresh.Pending)
	fillNil(&c.s.Logs, fresh.Logs)
	fillNil(&c.s.Intentions, fresh.Intentions)
	fillNil(&c.s.Locks, fresh.Locks)
	fillNil(&c.s.Registrations, fresh.Registrations)
	fillNil(&c.s.Policies, fresh.Policies)
	fillNil(&c.s.Roles, fresh.Roles)
	fillNil(&c.s.Secrets, fresh.Secrets)
	fillNil(&c.s.Down, fresh.Down)
	return c, nil
}

func fillNil[M ~map[K]V, K comparable, V any](m *M, empty M) {
	if *m == nil {
		*m = empty
	}
}

// Save writes the state back to the path it was opened from.
func (c *Cluster) Save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := json.MarshalIndent(c.s, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.path, data, 0o600)
}

// Edit changes the state under the cluster's lock (for test setup).
func (c *Cluster) Edit(f func(s *State)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c.s)
}

// API returns the guarded cluster stackctl's use cases take.
func (c *Cluster) API() *cluster.Cluster {
	return cluster.Guard(&cluster.Cluster{Nomad: fakeNomad{c}, Consul: fakeConsul{c}, Vault: fakeVault{c}})
}

// Addresses the fake reports, for messages.
const (
	NomadAddr  = "http://nomad.test:4646"
	ConsulAddr = "http://consul.test:8500"
	VaultAddr  = "http://vault.test:8200"
)

// fail returns the error a call of op on name meets, if any: the
// component down, or a matching fault.
func (c *Cluster) fail(component string, op *cluster.Operation, name string) error {
	if c.s.Down[component] {
		return unreachable(component)
	}
	for i, f := range c.s.Faults {
		if f.Op != op.ID || (f.Name != "" && f.Name != name) || f.Race {
			continue
		}
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				c.s.Faults = append(c.s.Faults[:i], c.s.Faults[i+1:]...)
			}
		}
		msg := f.Message
		if msg == "" {
			msg = defaultMessage(f.Status, component)
		}
		return &cluster.StatusError{Code: f.Status, Message: msg}
	}
	return nil
}

// race reports (and consumes) a race fault for op on name.
func (c *Cluster) race(op *cluster.Operation, name string) bool {
	for i, f := range c.s.Faults {
		if f.Op == op.ID && f.Race && (f.Name == "" || f.Name == name) {
			c.s.Faults = append(c.s.Faults[:i], c.s.Faults[i+1:]...)
			return true
		}
	}
	return false
}

func defaultMessage(status int, component string) string {
	switch {
	case status == 403 && component == "vault":
		return "permission denied"
	case status == 403:
		return "Permission denied"
	case status == 404:
		return "not found"
	}
	return "internal error"
}

func (c *Cluster) next() uint64 {
	c.s.Index++
	return c.s.Index
}

// newID makes a deterministic UUID-shaped ID from the cluster's index.
func (c *Cluster) newID(kind byte) string {
	n := c.next()
	return fmt.Sprintf("%c%07x-0000-4000-8000-%012x", kind, n, n)
}

// clone deep-copies through JSON, so callers never share the state.
func clone[T any](v T) T {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Register adds job as the newest version of its job, stable, with its
// allocations running: a job somebody else deployed.
func (c *Cluster) Register(job *nomad.Job) *Job {
	j := c.addVersion(job, true)
	c.stopAllocs(j)
	for _, g := range job.TaskGroups {
		for range deref(g.Count) {
			c.newAlloc(j, job, deref(g.Name), "")
		}
	}
	return j
}

// PutIntentions stores an intentions entry as somebody else wrote it.
func (c *Cluster) PutIntentions(e *consul.ServiceIntentionsConfigEntry) {
	var index uint64
	if old, ok := c.s.Intentions[e.Name]; ok {
		index = old.ModifyIndex
	}
	c.writeIntentions(e, index)
}

// RegisterService adds a catalog instance as something other than Nomad
// registers it (a person with the Consul CLI, another scheduler).
func (c *Cluster) RegisterService(svc *consul.CatalogService) {
	c.s.Registrations[svc.ServiceName] = append(c.s.Registrations[svc.ServiceName], clone(svc))
}

// call runs f under the cluster's lock, unless a fault of op on name (or
// the component being down) fails the call first. A call on a context
// that has ended fails as the API clients' do, without reaching the
// cluster.
func call[T any](ctx context.Context, c *Cluster, component string, op *cluster.Operation, name string, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, &url.Error{Op: "Get", URL: component, Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !slices.Contains(c.calls, op.ID) {
		c.calls = append(c.calls, op.ID)
	}
	if err := c.fail(component, op, name); err != nil {
		return zero, err
	}
	return f()
}

// do is call for a change that cannot fail by itself.
func do(ctx context.Context, c *Cluster, component string, op *cluster.Operation, name string, f func()) error {
	_, err := call(ctx, c, component, op, name, func() (struct{}, error) {
		f()
		return struct{}{}, nil
	})
	return err
}
