// Package comparison counts what the Nomad and the Kubernetes paths
// generate for the same descriptors, and which of the six requirements
// (docs/comparison.md) each service needs and how each path meets it.
package comparison

import (
	"bytes"
	"strings"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// Report is the comparison; its JSON form is what compare --format json prints.
type Report struct {
	Stack        string        `json:"stack"`
	Services     int           `json:"services"`
	User         UserInput     `json:"user"`
	Targets      []Target      `json:"targets"`
	Requirements []Requirement `json:"requirements"`
}

type UserInput struct {
	Files int `json:"files"`
	Lines int `json:"lines"`
}

type Target struct {
	Target     string          `json:"target"`
	Files      int             `json:"files"`
	Objects    int             `json:"objects"`
	Lines      int             `json:"lines"`
	PerKind    map[string]int  `json:"objects_per_kind"`
	PerService []ServiceOutput `json:"per_service"`
	// Components are what an operator runs and upgrades for this path.
	Components []string `json:"operator_components"`
}

type ServiceOutput struct {
	Service string `json:"service"`
	Objects int    `json:"objects"`
	Lines   int    `json:"lines"`
}

type Requirement struct {
	ID         int      `json:"id"`
	Name       string   `json:"name"`
	NeededBy   []string `json:"needed_by"`
	Nomad      string   `json:"nomad"`
	Kubernetes string   `json:"kubernetes"`
}

// requirement is one of the six requirements the HashiCorp path proves end
// to end (docs/comparison.md), with how each path meets it and which of
// the user's services need it.
type requirement struct {
	name, nomad, kubernetes string
	needs                   func(st *spec.Stack, s *spec.Service) bool
}

var requirements = []requirement{
	{"containers", "job: docker task, update block, Consul check", "Deployment: container, probes, RollingUpdate; ServiceAccount",
		func(*spec.Stack, *spec.Service) bool { return true }},
	{"discovery and routing", "Connect sidecar upstreams; Traefik consulcatalog tags", "Service (cluster DNS); Ingress + IngressClass (+ Traefik Middleware)",
		func(st *spec.Stack, s *spec.Service) bool {
			return len(s.Upstreams) > 0 || len(s.Exposes) > 0 || callsOf(st, s.Name) > 0
		}},
	{"horizontal scaling", "group count; `stackctl scale`", "Deployment replicas; `kubectl scale`",
		func(*spec.Stack, *spec.Service) bool { return true }},
	{"autoscaling", "group scaling block (Nomad Autoscaler, nomad-apm)", "HorizontalPodAutoscaler v2 (metrics-server)",
		func(_ *spec.Stack, s *spec.Service) bool { return s.Autoscale != nil }},
	{"outside vs inside", "intentions (mTLS identity), Traefik entrypoints", "NetworkPolicy default deny + allow (labels, CNI-enforced); IngressClass per entrypoint",
		func(*spec.Stack, *spec.Service) bool { return true }},
	{"configuration and secrets", "task env; Vault policy + template (env = true)", "container env; ExternalSecret + SecretStore (ESO) -> Secret",
		func(_ *spec.Stack, s *spec.Service) bool { return len(s.Env) > 0 || len(s.Secrets) > 0 }},
}

var (
	nomadComponents = []string{"nomad", "consul", "vault", "traefik", "nomad-autoscaler", "docker"}
	kubeComponents  = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
		"kubelet + container runtime", "CNI enforcing NetworkPolicy", "metrics-server", "traefik (ingress controller)",
		"external-secrets operator", "vault"}
)

func callsOf(st *spec.Stack, name string) int {
	n := 0
	for _, s := range st.Services {
		for _, u := range s.Upstreams {
			if u.Service == name {
				n++
			}
		}
	}
	return n
}

// Compare renders both targets and counts what they generate.
func Compare(st *spec.Stack, user UserInput) (*Report, error) {
	out := &Report{Stack: st.Settings.Name, Services: len(st.Services), User: user}

	nomadFiles, err := render.Files(compile.Compile(st))
	if err != nil {
		return nil, err
	}
	nomad := Target{Target: "nomad", PerKind: map[string]int{}, Components: nomadComponents}
	for _, s := range st.Services {
		so := ServiceOutput{Service: s.Name}
		for _, f := range nomadFiles {
			svc, name, _ := strings.Cut(f.Path, "/")
			kind := nomadKinds[name]
			if svc != s.Name || kind == "" {
				continue
			}
			so.Objects++
			so.Lines += CountLines(f.Content)
			nomad.PerKind[kind]++
			nomad.Files++
		}
		nomad.PerService = append(nomad.PerService, so)
		nomad.Objects += so.Objects
		nomad.Lines += so.Lines
	}

	kubeFiles, err := kube.Render(st)
	if err != nil {
		return nil, err
	}
	k := Target{Target: "kubernetes", PerKind: map[string]int{}, Components: kubeComponents}
	for _, f := range kubeFiles {
		svc, _, _ := strings.Cut(f.Path, "/")
		so := ServiceOutput{Service: svc}
		for _, kind := range yamlKinds(f.Content) {
			k.PerKind[kind]++
			so.Objects++
		}
		so.Lines = CountLines(f.Content)
		k.Files++
		k.Objects += so.Objects
		k.Lines += so.Lines
		k.PerService = append(k.PerService, so)
	}
	out.Targets = []Target{nomad, k}

	for i, r := range requirements {
		ru := Requirement{ID: i + 1, Name: r.name, Nomad: r.nomad, Kubernetes: r.kubernetes, NeededBy: []string{}}
		for _, s := range st.Services {
			if r.needs(st, s) {
				ru.NeededBy = append(ru.NeededBy, s.Name)
			}
		}
		out.Requirements = append(out.Requirements, ru)
	}
	return out, nil
}

// nomadKinds names the object each counted Nomad artifact is.
var nomadKinds = map[string]string{
	"job.nomad.hcl":    "Job",
	"vault-policy.hcl": "VaultPolicy",
	"vault-role.json":  "VaultJWTRole",
	"intentions.hcl":   "ServiceIntentions",
}

// yamlKinds lists the kind of every document of a YAML stream.
func yamlKinds(b []byte) []string {
	var kinds []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, ok := strings.CutPrefix(line, "kind: "); ok {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// CountLines counts non-blank lines that are not only a comment.
func CountLines(b []byte) int {
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.HasPrefix(t, []byte("//")) {
			continue
		}
		n++
	}
	return n
}

// Written counts the lines the user wrote in the descriptor files.
func Written(files []string, sources map[string][]byte) UserInput {
	var user UserInput
	for _, f := range files {
		if src, ok := sources[f]; ok {
			user.Files++
			user.Lines += CountLines(src)
		}
	}
	return user
}
