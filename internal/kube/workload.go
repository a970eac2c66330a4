package kube

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/spec"
)

// MillicoresPerMHz converts Nomad's cpu reservation to a Kubernetes CPU
// request. Nomad counts MHz of the client's total (cores x clock), so the
// same number means more or less compute on different hardware; Kubernetes
// counts cores. stackctl assumes a 1 GHz reference core: 1 MHz = 1
// millicore, so cpu = 100 becomes 100m (a tenth of a core), and
// cpu = 2000 two cores. On a 2.5 GHz host the Nomad reservation is then 2.5
// times smaller in real terms than the Kubernetes one: a deliberate,
// conservative rounding toward "enough CPU".
const MillicoresPerMHz = 1

func meta(set spec.Settings, name, service string) ObjectMeta {
	return ObjectMeta{
		Name:      name,
		Namespace: Namespace(set),
		Labels:    labels(set, service),
	}
}

func labels(set spec.Settings, service string) map[string]string {
	l := map[string]string{LabelManagedBy: managedBy}
	if service != "" {
		l[LabelName] = service
	}
	if set.Name != "" {
		l[LabelPartOf] = set.Name
	}
	return l
}

func selector(service string) map[string]string {
	return map[string]string{LabelName: service}
}

// ServiceAccount is the service's identity: ESO logs into Vault with it
// (the counterpart of the Nomad task's Vault token or workload identity).
// The app itself never talks to the API server, so no token is mounted.
func ServiceAccount(set spec.Settings, s *spec.Service) *ServiceAccountObject {
	return &ServiceAccountObject{
		TypeMeta:                     TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   meta(set, s.Name, s.Name),
		AutomountServiceAccountToken: ptr(false),
	}
}

// Deployment runs the service. Its replicas are left out when an HPA owns
// the count: a value in the manifest would reset the autoscaler's choice on
// every apply (the Nomad side deploys with PreserveCounts for the same
// reason); the Deployment starts at 1 and the HPA raises it to min at once.
func Deployment(st *spec.Stack, s *spec.Service) *DeploymentObject {
	set := st.Settings
	u := s.Update
	d := &DeploymentObject{
		TypeMeta:   TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta(set, s.Name, s.Name),
		Spec: DeploymentSpec{
			Selector: &LabelSelector{MatchLabels: selector(s.Name)},
			// Nomad's update block: max_parallel allocations replaced at a
			// time, canaries started on top. Kubernetes has no canary
			// promotion or auto-revert of its own (see docs/comparison.md);
			// the nearest to a canary that serves before an old instance
			// stops is a surge with nothing unavailable.
			Strategy: DeploymentStrategy{
				Type: "RollingUpdate",
				RollingUpdate: &RollingUpdateDeployment{
					MaxUnavailable: ptr(int32(maxUnavailable(u))),
					MaxSurge:       ptr(int32(u.Canary)),
				},
			},
			MinReadySeconds:         seconds(u.MinHealthyTime),
			ProgressDeadlineSeconds: ptr(seconds(u.ProgressDeadline)),
			Template: PodTemplateSpec{
				ObjectMeta: ObjectMeta{Labels: labels(set, s.Name)},
				Spec:       podSpec(st, s),
			},
		},
	}
	if s.Autoscale == nil {
		d.Spec.Replicas = ptr(int32(s.Replicas))
	}
	return d
}

func podSpec(st *spec.Stack, s *spec.Service) PodSpec {
	set := st.Settings
	c := Container{
		Name:  s.Name,
		Image: compile.Image(set, s.Image),
		// Nomad's Docker driver turns command + args into the image's CMD
		// and keeps its ENTRYPOINT; Kubernetes' args is that CMD.
		Args:      containerArgs(s),
		Env:       env(st, s),
		Resources: resources(s.Resources),
	}
	for _, p := range s.Ports {
		c.Ports = append(c.Ports, ContainerPort{
			Name:          portName(p.Name),
			ContainerPort: int32(p.Container),
			Protocol:      "TCP",
		})
	}
	if s.Health != nil {
		c.ReadinessProbe, c.LivenessProbe = probes(s)
	}
	// The fair equivalent of the Nomad side's drain (compile/drain.go): a
	// terminating pod leaves the Service's endpoints at once, but the
	// ingress controller and kube-proxy learn it later, so the kubelet
	// waits before it sends SIGTERM (a sleep action: the image may have
	// no shell), then allows in-flight requests StopTimeout.
	c.Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{
		Sleep: &SleepAction{Seconds: int64(seconds(compile.DrainDelay))},
	}}
	return PodSpec{
		TerminationGracePeriodSeconds: ptr(int64(seconds(compile.DrainDelay + compile.StopTimeout))),
		ServiceAccountName:            s.Name,
		AutomountServiceAccountToken:  ptr(false),
		// Upstreams come as explicit env vars; the legacy docker-link
		// variables of every Service in the namespace would only add noise.
		EnableServiceLinks: ptr(false),
		Containers:         []Container{c},
	}
}

// maxUnavailable is 0 with canaries: new pods serve before old ones stop.
func maxUnavailable(u spec.Update) int {
	if u.Canary > 0 {
		return 0
	}
	return u.MaxParallel
}

func containerArgs(s *spec.Service) []string {
	if s.Command == "" {
		return append([]string(nil), s.Args...)
	}
	return append([]string{s.Command}, s.Args...)
}

// env keeps the Nomad side's variable names: plain values, upstream
// addresses (the upstream's Service DNS name instead of the sidecar's
// 127.0.0.1 listener) and secrets, the latter as references into the Secret
// ESO keeps in sync, so no value is in the manifest. Sorted by name.
func env(st *spec.Stack, s *spec.Service) []EnvVar {
	var out []EnvVar
	for _, e := range s.Env {
		out = append(out, EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, u := range s.Upstreams {
		out = append(out, EnvVar{Name: u.Env, Value: UpstreamAddr(st, u)})
	}
	for _, sec := range s.Secrets {
		out = append(out, EnvVar{Name: sec.Env, ValueFrom: &EnvVarSource{
			SecretKeyRef: &SecretKeySelector{
				Name: SecretName(s),
				Key:  sec.Env,
			},
		}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UpstreamAddr is the host:port a caller reaches an upstream at: its
// Service's cluster DNS name and the upstream's mesh port, which the
// Service publishes under the same number. An upstream outside the stack
// is addressed by name with the caller's local port, the only port known.
func UpstreamAddr(st *spec.Stack, u *spec.Upstream) string {
	port := u.LocalPort
	if t := st.Service(u.Service); t != nil && t.MeshPort() != nil {
		port = t.MeshPort().Container
	}
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", u.Service, Namespace(st.Settings), port)
}

// resources: Nomad reserves cpu (a soft share: a task may use idle CPU
// beyond it) and memory (a hard limit, unless memory_max allows more). So
// the CPU becomes a request only, with no limit that would throttle where
// Nomad would not, and memory a request plus a limit at memory_max or
// memory.
func resources(r spec.Resources) ResourceRequirements {
	memLimit := r.Memory
	if r.MemoryMax > 0 {
		memLimit = r.MemoryMax
	}
	return ResourceRequirements{
		Requests: map[string]string{
			"cpu":    milliCPU(int64(r.CPU * MillicoresPerMHz)),
			"memory": mebibytes(r.Memory),
		},
		Limits: map[string]string{
			"memory": mebibytes(memLimit),
		},
	}
}

// mebibytes: Nomad's "MB" are MiB.
func mebibytes(n int) string { return binaryQuantity(int64(n)) }

// probes turn the Consul check into a readiness probe with the same
// cadence (a failing Consul check takes the instance out of the catalog at
// once, so one failure takes the pod out of its Service) and a liveness
// probe on the same endpoint that restarts the container after three
// failures in a row. The liveness probe has no Nomad counterpart in the
// generated job (it sets no check_restart): it is Kubernetes' usual
// practice, named as a difference in docs/comparison.md.
func probes(s *spec.Service) (readiness, liveness *Probe) {
	h := s.Health
	port := int32(s.Port(h.Port).Container)
	probe := Probe{TCPSocket: &TCPSocketAction{Port: port}}
	if h.Type == "http" {
		probe = Probe{HTTPGet: &HTTPGetAction{Path: h.Path, Port: port, Scheme: "HTTP"}}
	}
	probe.PeriodSeconds, probe.TimeoutSeconds = atLeastOne(seconds(h.Interval)), atLeastOne(seconds(h.Timeout))
	probe.SuccessThreshold = 1
	r, l := probe, probe
	r.FailureThreshold, l.FailureThreshold = 1, 3
	readiness, liveness = &r, &l
	return readiness, liveness
}

// Service publishes the mesh port under its own number, so an upstream's
// address differs from Nomad's only in the host part. Other ports stay
// pod-local as they do in the Nomad allocation (no host port mapped).
func Service(set spec.Settings, s *spec.Service) *ServiceObject {
	mesh := s.MeshPort()
	return &ServiceObject{
		TypeMeta:   TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(set, s.Name, s.Name),
		Spec: ServiceSpec{
			Type:     "ClusterIP",
			Selector: selector(s.Name),
			Ports: []ServicePort{{
				Name:       portName(mesh.Name),
				Port:       int32(mesh.Container),
				TargetPort: int32(mesh.Container),
				Protocol:   "TCP",
			}},
		},
	}
}

// HPA scales on the same targets as the Nomad Autoscaler policy. Both
// measure utilization against the reservation (avg_cpu-allocated ~ CPU
// utilization of the request), so the percentages carry over unchanged.
// The cooldown becomes the scale-down stabilization window; the evaluation
// interval has no per-object field (it is the controller-manager's
// --horizontal-pod-autoscaler-sync-period, 15 s by default).
func HPA(set spec.Settings, s *spec.Service) *HPAObject {
	a := s.Autoscale
	h := &HPAObject{
		TypeMeta:   TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta(set, s.Name, s.Name),
		Spec: HPASpec{
			ScaleTargetRef: CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: s.Name},
			MinReplicas:    ptr(int32(a.Min)),
			MaxReplicas:    int32(a.Max),
			Behavior: &HPABehavior{
				ScaleDown: &HPAScalingRules{
					// The API caps the window at one hour.
					StabilizationWindowSeconds: ptr(min(seconds(a.Cooldown), 3600)),
				},
			},
		},
	}
	for _, m := range []struct {
		name    string
		percent int
	}{{"cpu", a.CPUPercent}, {"memory", a.MemoryPercent}} {
		if m.percent == 0 {
			continue
		}
		h.Spec.Metrics = append(h.Spec.Metrics, MetricSpec{
			Type: "Resource",
			Resource: &ResourceMetricSource{
				Name:   m.name,
				Target: MetricTarget{Type: "Utilization", AverageUtilization: ptr(int32(m.percent))},
			},
		})
	}
	return h
}

// portName turns a descriptor port name (up to 31 of [a-z0-9_]) into a
// Kubernetes port name (an IANA service name: up to 15 of [a-z0-9-], no
// double or edge hyphen), or "" when it cannot be one; the ports are then
// referred to by number, which is what the probes and Service do anyway.
func portName(name string) string {
	n := strings.ReplaceAll(name, "_", "-")
	if !validPortName(n) {
		return ""
	}
	return n
}

func seconds(d time.Duration) int32 {
	return int32(math.Ceil(d.Seconds()))
}

func atLeastOne(n int32) int32 { return max(n, 1) }

func ptr[T any](v T) *T { return &v }
