package compile

import "time"

// The Nomad job as compile emits it. Each type mirrors the type of the
// same name in github.com/hashicorp/nomad/api (GroupService: api.Service),
// with only the fields compile sets, under the same names, of the same
// kinds: pointer where Nomad's is a pointer, time.Duration (nanoseconds in
// JSON) where Nomad's is one. No field has a JSON tag, because Nomad's
// have none: the Go names are the JSON names. internal/apimodel copies a
// Job into a *nomad.Job field by field (its tests hold the two side by
// side), and compile itself needs neither the API package nor the HTTP
// client it brings.

// Job is a Nomad job (api.Job).
type Job struct {
	ID          *string
	Name        *string
	Type        *string
	Region      *string
	Namespace   *string
	Datacenters []string
	Meta        map[string]string
	TaskGroups  []*TaskGroup
}

// TaskGroup is a job's group (api.TaskGroup).
type TaskGroup struct {
	Name          *string
	Count         *int
	Networks      []*NetworkResource
	Services      []*GroupService
	RestartPolicy *RestartPolicy
	Update        *UpdateStrategy
	Tasks         []*Task
	ShutdownDelay *time.Duration
	Scaling       *ScalingPolicy
}

// NetworkResource is a group's network block (api.NetworkResource).
type NetworkResource struct {
	Mode string
}

// GroupService is a group's service block, registered in Consul
// (api.Service).
type GroupService struct {
	Name      string
	Tags      []string
	PortLabel string
	Checks    []ServiceCheck
	Connect   *ConsulConnect
	Meta      map[string]string
}

// ServiceCheck is a service's Consul check (api.ServiceCheck).
type ServiceCheck struct {
	Name        string
	Type        string
	Path        string
	Protocol    string
	PortLabel   string
	AddressMode string
	Interval    time.Duration
	Timeout     time.Duration
}

// ConsulConnect is a service's connect block (api.ConsulConnect).
type ConsulConnect struct {
	SidecarService *ConsulSidecarService
	SidecarTask    *SidecarTask
}

// ConsulSidecarService is the sidecar's registration
// (api.ConsulSidecarService).
type ConsulSidecarService struct {
	Proxy *ConsulProxy
}

// ConsulProxy is the sidecar's proxy block (api.ConsulProxy).
type ConsulProxy struct {
	Upstreams []*ConsulUpstream
}

// ConsulUpstream is one upstream of the proxy (api.ConsulUpstream).
type ConsulUpstream struct {
	DestinationName string
	LocalBindPort   int
}

// SidecarTask replaces the task Nomad runs the sidecar in
// (api.SidecarTask).
type SidecarTask struct {
	Driver    string
	Config    map[string]any
	Resources *Resources
}

// Task is a group's task (api.Task).
type Task struct {
	Name        string
	Driver      string
	Config      map[string]any
	Env         map[string]string
	Resources   *Resources
	KillTimeout *time.Duration
	Vault       *Vault
	Templates   []*Template
	Identities  []*WorkloadIdentity
}

// Resources are a task's reservations (api.Resources).
type Resources struct {
	CPU         *int
	MemoryMB    *int
	MemoryMaxMB *int
}

// Vault is a task's vault block (api.Vault).
type Vault struct {
	Policies    []string
	Role        string
	Env         *bool
	DisableFile *bool
	ChangeMode  *string
}

// Template is a task's template block (api.Template).
type Template struct {
	DestPath      *string
	EmbeddedTmpl  *string
	ChangeMode    *string
	Perms         *string
	Envvars       *bool
	ErrMissingKey *bool
}

// WorkloadIdentity is a task's identity block (api.WorkloadIdentity).
type WorkloadIdentity struct {
	Name     string
	Audience []string
	TTL      time.Duration
}

// ScalingPolicy is a group's scaling block (api.ScalingPolicy).
type ScalingPolicy struct {
	Min     *int64
	Max     *int64
	Policy  map[string]any
	Enabled *bool
}

// UpdateStrategy is a group's update block (api.UpdateStrategy).
type UpdateStrategy struct {
	MaxParallel      *int
	HealthCheck      *string
	MinHealthyTime   *time.Duration
	HealthyDeadline  *time.Duration
	ProgressDeadline *time.Duration
	Canary           *int
	AutoRevert       *bool
	AutoPromote      *bool
}

// RestartPolicy is a group's restart block (api.RestartPolicy).
type RestartPolicy struct {
	Interval *time.Duration
	Attempts *int
	Delay    *time.Duration
	Mode     *string
}
