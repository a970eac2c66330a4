// Package descriptor is the model of a decoded stack: its settings, input
// variables and services, as internal/spec produces them from HCL files
// and internal/compile reads them. It holds no reader and depends on the
// standard library alone, so the compiler's whole import graph stays
// free of I/O and randomness (internal/compile/depcheck_test.go): ranges
// are this package's Range, which spec converts to and from hcl.Range.
package descriptor

import (
	"sort"
	"time"
)

// Stack is a validated set of services plus the settings they share.
type Stack struct {
	Settings  Settings
	Variables []*Variable // sorted by name
	Services  []*Service  // sorted by name

	byName map[string]*Service // set by IndexServices; nil in stacks built by hand
}

// IndexServices makes Service a map lookup; call it once Services is
// final (spec's Load does).
func (s *Stack) IndexServices() {
	s.byName = make(map[string]*Service, len(s.Services))
	for _, svc := range s.Services {
		s.byName[svc.Name] = svc
	}
}

// Service returns the service called name, or nil.
func (s *Stack) Service(name string) *Service {
	if s.byName != nil {
		return s.byName[name]
	}
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// Callers inverts the upstream graph: for each service, the services that
// declare it as an upstream (who may call it), sorted. Intentions and
// Kubernetes network policies are built from it.
func (s *Stack) Callers() map[string][]string {
	callers := map[string][]string{}
	for _, svc := range s.Services {
		for _, u := range svc.Upstreams {
			callers[u.Service] = append(callers[u.Service], svc.Name)
		}
	}
	for _, c := range callers {
		sort.Strings(c)
	}
	return callers
}

// Sidecar kinds: Nomad's default Envoy, or Consul's built-in proxy run as a
// raw_exec sidecar task where Envoy is not available.
const (
	SidecarEnvoy   = "envoy"
	SidecarBuiltin = "builtin"
)

// Edge entrypoints served by Traefik.
const (
	EntrypointPublic   = "public"
	EntrypointInternal = "internal"
)

// Settings come from the optional `stack` block; zero values are replaced
// by the defaults in spec's decode_stack.go.
type Settings struct {
	Name             string
	Region           string
	Datacenters      []string
	Namespace        string
	Domain           string // default host suffix for exposures
	Registry         string // prefix for images given without a registry
	VaultMount       string // KV v2 mount holding the services' secrets
	VaultJWTAuthPath string // Nomad >= 1.7: the JWT auth mount for workload identities
	NomadVersion     Version
	Sidecar          Sidecar
	DeclRange        Range
}

// Version is a target cluster's major.minor version.
type Version struct{ Major, Minor int }

// AtLeast reports whether v >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// Sidecar describes how the Connect sidecar proxy runs.
type Sidecar struct {
	Kind           string // SidecarEnvoy or SidecarBuiltin
	Image          string // builtin: the Docker image whose entrypoint is the consul binary
	ConsulHTTPAddr string // builtin: Consul's HTTP API as seen from inside an allocation
	CPU            int    // MHz
	Memory         int    // MB
}

// Variable is a declared input variable and the value it resolved to.
type Variable struct {
	Name        string
	Description string
	Sensitive   bool
	DeclRange   Range
}

// Service is one microservice: one Nomad job with one group and one task.
type Service struct {
	Name      string
	NameRange Range
	DeclRange Range
	File      string

	Image      string
	ImageRange Range
	Command    string
	Args       []string
	Replicas   int
	// ReplicasSet is false when replicas was not written (autoscaled
	// services then start at min).
	ReplicasSet   bool
	ReplicasRange Range

	Ports     []*Port // the first is the mesh port
	Resources Resources
	Health    *Health // nil: no check (a warning)
	Restart   Restart
	Update    Update
	Env       []*EnvVar // sorted by name
	Secrets   []*Secret // sorted by env name
	Upstreams []*Upstream
	Exposes   []*Expose
	Autoscale *Autoscale
}

// MeshPort is the port registered in Consul and reached through the sidecar.
func (s *Service) MeshPort() *Port {
	if len(s.Ports) == 0 {
		return nil
	}
	return s.Ports[0]
}

// Port looks up a port by name.
func (s *Service) Port(name string) *Port {
	for _, p := range s.Ports {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Port is a named container port.
type Port struct {
	Name      string
	Container int
	Protocol  string // "http" or "tcp"
	DeclRange Range
	NameRange Range
}

// Resources are the task's reservations.
type Resources struct {
	CPU       int // MHz
	Memory    int // MB
	MemoryMax int // MB, 0: no oversubscription
}

// Health is the service's Consul check.
type Health struct {
	Type     string // always "http": Nomad runs no tcp checks on Connect services
	Path     string
	Port     string
	Interval time.Duration
	Timeout  time.Duration
	// PortRange points at the port attribute, or the block when omitted.
	PortRange Range
}

// Restart is the task's local restart policy.
type Restart struct {
	Attempts int
	Delay    time.Duration
	Interval time.Duration
	Mode     string
}

// Update is the group's rolling update strategy.
type Update struct {
	MaxParallel      int
	Canary           int
	AutoRevert       bool
	AutoPromote      bool
	MinHealthyTime   time.Duration
	HealthyDeadline  time.Duration
	ProgressDeadline time.Duration
}

// EnvVar is a plain environment variable.
type EnvVar struct {
	Name, Value string
	Range       Range
}

// Secret is an environment variable filled from Vault KV v2 at run time.
type Secret struct {
	Env       string // variable name
	Path      string // relative to the stack's KV v2 mount, without "data/"
	Key       string
	DeclRange Range
	PathRange Range
}

// Upstream is a dependency reached through the mesh on a local port.
type Upstream struct {
	Service   string
	LocalPort int
	Env       string // receives "127.0.0.1:<local port>"
	DeclRange Range
	PortRange Range
	NameRange Range
}

// Expose opts a service into a Traefik entrypoint.
type Expose struct {
	Entrypoint string
	Router     string // unique router name
	// RouterDefaulted is true when Router was not written and defaults to
	// <service>-<entrypoint>.
	RouterDefaulted bool
	Host            string
	PathPrefix      string
	StripPrefix     bool
	TLS             bool
	CertResolver    string
	DeclRange       Range
}

// AutoscaleWindow is how far back the autoscaler averages the load:
// validation keeps the cooldown at least this long, and compile sets it
// as the checks' query window.
const AutoscaleWindow = 30 * time.Second

// Autoscale bounds and targets for Nomad Autoscaler.
type Autoscale struct {
	Min, Max           int
	CPUPercent         int // 0: not a target
	MemoryPercent      int // 0: not a target
	EvaluationInterval time.Duration
	Cooldown           time.Duration
	DeclRange          Range
}
