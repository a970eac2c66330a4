package compile

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// SecretsEnvFile is where the secrets template renders, inside the task's
// secrets/ directory (tmpfs, not visible in the job or its logs).
const SecretsEnvFile = "secrets/stackctl.env"

// nomadJob builds the Nomad job of one service: one group, one task, a Consul
// Connect service with its sidecar and upstreams, Traefik tags for its
// exposures, the autoscaler's scaling block and the Vault secrets template.
func nomadJob(set descriptor.Settings, s *descriptor.Service) *Job {
	job := &Job{
		ID:          ptr(s.Name),
		Name:        ptr(s.Name),
		Type:        ptr("service"),
		Region:      ptr(set.Region),
		Namespace:   ptr(set.Namespace),
		Datacenters: append([]string(nil), set.Datacenters...),
		Meta:        map[string]string{MetaManagedBy: ManagedBy, MetaStack: set.Name},
		TaskGroups:  []*TaskGroup{group(set, s)},
	}
	return job
}

func group(set descriptor.Settings, s *descriptor.Service) *TaskGroup {
	g := &TaskGroup{
		Name:     ptr(s.Name),
		Count:    ptr(s.Replicas),
		Networks: []*NetworkResource{{Mode: "bridge"}},
		Services: []*GroupService{service(set, s)},
		RestartPolicy: &RestartPolicy{
			Attempts: ptr(s.Restart.Attempts),
			Delay:    ptr(s.Restart.Delay),
			Interval: ptr(s.Restart.Interval),
			Mode:     ptr(s.Restart.Mode),
		},
		Update: update(s),
		Tasks:  []*Task{task(set, s)},
		// Out of Consul first, then signalled (drain.go).
		ShutdownDelay: ptr(DrainDelay),
	}
	if s.Autoscale != nil {
		g.Scaling = scaling(s.Autoscale)
	}
	return g
}

func update(s *descriptor.Service) *UpdateStrategy {
	u := s.Update
	healthCheck := "checks"
	if s.Health == nil {
		healthCheck = "task_states"
	}
	return &UpdateStrategy{
		MaxParallel:      ptr(u.MaxParallel),
		Canary:           ptr(u.Canary),
		AutoRevert:       ptr(u.AutoRevert),
		AutoPromote:      ptr(u.AutoPromote),
		HealthCheck:      ptr(healthCheck),
		MinHealthyTime:   ptr(u.MinHealthyTime),
		HealthyDeadline:  ptr(u.HealthyDeadline),
		ProgressDeadline: ptr(u.ProgressDeadline),
	}
}

// service registers the mesh port in Consul. Ports are given as container
// port numbers: in bridge mode the sidecar reaches the app on 127.0.0.1
// inside the allocation, so no host port is mapped and nothing but the
// sidecar's mTLS listener is reachable from outside.
func service(set descriptor.Settings, s *descriptor.Service) *GroupService {
	mesh := s.MeshPort()
	svc := &GroupService{
		Name:      s.Name,
		PortLabel: strconv.Itoa(mesh.Container),
		Tags:      TraefikTags(s),
		// The owner travels into Consul's catalog, where Consul's one
		// service namespace makes a second stack's "api" the same service.
		Meta:    IntentionsMeta(OwnerOf(set, s.Name)),
		Connect: connect(set, s),
	}
	if h := s.Health; h != nil {
		svc.Checks = []ServiceCheck{check(s, h)}
	}
	return svc
}

// check runs from the Consul agent on the host against the allocation's
// bridge address ("alloc" address mode), which reaches the app without a
// host port and works with both sidecar kinds.
func check(s *descriptor.Service, h *descriptor.Health) ServiceCheck {
	port := s.Port(h.Port)
	c := ServiceCheck{
		Name:        s.Name + "-" + h.Type,
		Type:        h.Type,
		PortLabel:   strconv.Itoa(port.Container),
		AddressMode: "alloc",
		Interval:    h.Interval,
		Timeout:     h.Timeout,
	}
	if h.Type == "http" {
		c.Path = h.Path
		c.Protocol = "http"
	}
	return c
}

func connect(set descriptor.Settings, s *descriptor.Service) *ConsulConnect {
	c := &ConsulConnect{
		// No tags on the sidecar: Nomad copies the service's tags, which is
		// the form under which Traefik routes exactly once (STACK.md).
		SidecarService: &ConsulSidecarService{Proxy: &ConsulProxy{}},
	}
	for _, u := range s.Upstreams {
		c.SidecarService.Proxy.Upstreams = append(c.SidecarService.Proxy.Upstreams, &ConsulUpstream{
			DestinationName: u.Service,
			LocalBindPort:   u.LocalPort,
		})
	}
	if set.Sidecar.Kind == descriptor.SidecarBuiltin {
		c.SidecarTask = builtinSidecar(set, s)
	}
	return c
}

// builtinSidecar runs Consul's built-in proxy instead of Envoy, in a
// container of set.Sidecar.Image (consul as its entrypoint): never as a
// process on the node, so the deployer's namespace can be refused every
// driver but docker. It must be given its listener and upstreams as flags:
// -sidecar-for would bind the host address registered in Consul, which
// does not exist inside the allocation's network namespace. Its Consul
// identity is the Service Identity token Nomad writes into the task's
// secrets dir (Consul ACLs on): it may act as this service and nothing else.
func builtinSidecar(set descriptor.Settings, s *descriptor.Service) *SidecarTask {
	args := []string{
		"connect", "proxy",
		"-http-addr=" + set.Sidecar.ConsulHTTPAddr,
		"-token-file=${NOMAD_SECRETS_DIR}/si_token",
		"-service=" + s.Name,
		fmt.Sprintf("-service-addr=127.0.0.1:%d", s.MeshPort().Container),
		fmt.Sprintf("-listen=0.0.0.0:${NOMAD_PORT_%s}", envSafe("connect-proxy-"+s.Name)),
	}
	for _, u := range s.Upstreams {
		args = append(args, fmt.Sprintf("-upstream=%s:%d", u.Service, u.LocalPort))
	}
	return &SidecarTask{
		Driver: "docker",
		Config: map[string]any{
			"image": set.Sidecar.Image,
			"args":  args,
		},
		Resources: &Resources{CPU: ptr(set.Sidecar.CPU), MemoryMB: ptr(set.Sidecar.Memory)},
	}
}

// envSafe mirrors how Nomad names NOMAD_PORT_<label> variables.
func envSafe(label string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, label)
}

func task(set descriptor.Settings, s *descriptor.Service) *Task {
	config := map[string]any{"image": Image(set, s.Image)}
	if s.Command != "" {
		config["command"] = s.Command
	}
	if len(s.Args) > 0 {
		config["args"] = append([]string(nil), s.Args...)
	}
	t := &Task{
		Name:        s.Name,
		Driver:      "docker",
		Config:      config,
		KillTimeout: ptr(StopTimeout),
		Resources: &Resources{
			CPU:      ptr(s.Resources.CPU),
			MemoryMB: ptr(s.Resources.Memory),
		},
	}
	if s.Resources.MemoryMax > 0 {
		t.Resources.MemoryMaxMB = ptr(s.Resources.MemoryMax)
	}
	env := map[string]string{}
	for _, e := range s.Env {
		env[e.Name] = e.Value
	}
	for _, u := range s.Upstreams {
		env[u.Env] = fmt.Sprintf("127.0.0.1:%d", u.LocalPort)
	}
	if len(env) > 0 {
		t.Env = env
	}
	if len(s.Secrets) > 0 {
		t.Vault = vaultBlock(set, s)
		t.Templates = []*Template{secretsTemplate(set, s)}
		if set.NomadVersion.AtLeast(1, 7) {
			t.Identities = []*WorkloadIdentity{{
				Name:     "vault_default",
				Audience: []string{"vault.io"},
				TTL:      time.Hour,
			}}
		}
	}
	return t
}

// Image applies the stack's registry to images given without one.
func Image(set descriptor.Settings, image string) string {
	if set.Registry == "" || strings.Contains(image, "/") {
		return image
	}
	return strings.TrimSuffix(set.Registry, "/") + "/" + image
}

func vaultBlock(set descriptor.Settings, s *descriptor.Service) *Vault {
	v := &Vault{
		ChangeMode: ptr("restart"),
		// The app reads secrets from its environment; it gets no Vault
		// token of its own, neither in its environment nor as the
		// secrets/vault_token file Nomad writes by default.
		Env:         ptr(false),
		DisableFile: ptr(true),
	}
	if set.NomadVersion.AtLeast(1, 7) {
		v.Role = PolicyName(s.Name)
	} else {
		v.Policies = []string{PolicyName(s.Name)}
	}
	return v
}

// secretsTemplate renders one KEY="value" line per secret. The value is
// escaped for the env-file parser Nomad uses (backslash, quote, newline),
// so any byte sequence survives; a missing key fails the template instead
// of starting the app with "<no value>".
func secretsTemplate(set descriptor.Settings, s *descriptor.Service) *Template {
	var b strings.Builder
	for _, sec := range s.Secrets {
		fmt.Fprintf(&b, "{{ with secret %q }}%s=\"{{ index .Data.data %q | replaceAll `\\` `\\\\` | replaceAll `\"` `\\\"` | replaceAll \"\\n\" `\\n` }}\"{{ end }}\n",
			KVDataPath(set, sec.Path), sec.Env, sec.Key)
	}
	return &Template{
		EmbeddedTmpl: ptr(b.String()),
		DestPath:     ptr(SecretsEnvFile),
		// Nomad reads the file into the task's environment; nobody else
		// needs to read it.
		Perms:   ptr("0400"),
		Envvars: ptr(true),
		// A changed secret must not restart the task on its own: a task
		// restart does not take the instance out of Consul first, so every
		// instance would drop requests at about the same time. `stackctl
		// secrets put` rolls the instances through a deployment instead,
		// which drains each one (drain.go).
		ChangeMode:    ptr("noop"),
		ErrMissingKey: ptr(true),
	}
}

// A steady load must keep a steady count. The autoscaler averages the
// metric over ScalingWindow; right after a scaling action that average
// still holds samples from the old count, and acting on it sends the count
// back and forth (seen: 1 -> 3 -> 1 -> 3 in three minutes). So the
// cooldown (validated to be at least the window) lets the window fill
// with the new count's samples first, and ScalingThreshold leaves a band
// of +-10 % around the target where nothing moves.
const (
	ScalingWindow    = descriptor.AutoscaleWindow
	ScalingThreshold = 0.1
)

// scaling is the group's policy for Nomad Autoscaler's nomad-apm source and
// target-value strategy. The policy map has the shape Nomad produces when it
// parses the equivalent HCL: each block is a list of maps keyed by label.
func scaling(as *descriptor.Autoscale) *ScalingPolicy {
	var checks []any
	add := func(name, query string, target int) {
		checks = append(checks, map[string]any{name: []any{map[string]any{
			"source":       "nomad-apm",
			"query":        query,
			"query_window": ScalingWindow.String(),
			"strategy": []any{map[string]any{"target-value": []any{map[string]any{
				"target":    target,
				"threshold": ScalingThreshold,
			}}}},
		}}})
	}
	if as.CPUPercent > 0 {
		add("cpu", "avg_cpu-allocated", as.CPUPercent)
	}
	if as.MemoryPercent > 0 {
		add("memory", "avg_memory-allocated", as.MemoryPercent)
	}
	return &ScalingPolicy{
		Enabled: ptr(true),
		Min:     ptr(int64(as.Min)),
		Max:     ptr(int64(as.Max)),
		Policy: map[string]any{
			"evaluation_interval": as.EvaluationInterval.String(),
			"cooldown":            as.Cooldown.String(),
			"check":               checks,
		},
	}
}

func ptr[T any](v T) *T { return &v }
