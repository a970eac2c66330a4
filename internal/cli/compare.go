package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// compareCommand compares what the HashiCorp and Kubernetes paths generate
// for the user's own services.
func compareCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "compare",
		Usage:     "compare the Nomad and Kubernetes output for the same descriptors",
		ArgsUsage: "PATH...",
		Description: `Renders the descriptors for both targets and reports, for the user's own
services: the lines the user wrote, the objects and lines generated per
target (per kind and per service), which of the six requirements each
service needs and how each path meets it, and the components an operator
runs. Lines are non-blank, non-comment lines; for Nomad the HCL forms are
counted (job.nomad.hcl, vault-policy.hcl, intentions.hcl, vault-role.json),
not the job.json duplicate.`,
		Flags: append(varFlags(),
			&ucli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
		),
		Action: runCompare,
	}
}

// comparison is the report; its JSON form is what --format json prints.
type comparison struct {
	Stack        string            `json:"stack"`
	Services     int               `json:"services"`
	User         userInput         `json:"user"`
	Targets      []targetOutput    `json:"targets"`
	Requirements []requirementUsed `json:"requirements"`
}

type userInput struct {
	Files int `json:"files"`
	Lines int `json:"lines"`
}

type targetOutput struct {
	Target     string          `json:"target"`
	Files      int             `json:"files"`
	Objects    int             `json:"objects"`
	Lines      int             `json:"lines"`
	PerKind    map[string]int  `json:"objects_per_kind"`
	PerService []serviceOutput `json:"per_service"`
	// Components are what an operator runs and upgrades for this path.
	Components []string `json:"operator_components"`
}

type serviceOutput struct {
	Service string `json:"service"`
	Objects int    `json:"objects"`
	Lines   int    `json:"lines"`
}

type requirementUsed struct {
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

func runCompare(c *ucli.Context) error {
	format := c.String("format")
	if format != "text" && format != "json" {
		return usageErrorf("--format must be text or json, not %q", format)
	}
	st, p, diags, err := loadStack(c)
	if err != nil {
		return err
	}
	printDiagnostics(c, c.App.ErrWriter, p, diags)
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	files, _ := p.DescriptorFiles(c.Args().Slice())
	sources := p.Sources()
	var user userInput
	for _, f := range files {
		if src, ok := sources[f]; ok {
			user.Files++
			user.Lines += countLines(src)
		}
	}
	cmp, err := compare(st, user)
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(cmp)
	}
	return writeComparison(c.App.Writer, cmp)
}

// compare renders both targets and counts what they generate.
func compare(st *spec.Stack, user userInput) (*comparison, error) {
	out := &comparison{Stack: st.Settings.Name, Services: len(st.Services), User: user}

	nomadFiles, err := render.Files(compile.Compile(st))
	if err != nil {
		return nil, err
	}
	nomad := targetOutput{Target: "nomad", PerKind: map[string]int{}, Components: nomadComponents}
	for _, s := range st.Services {
		so := serviceOutput{Service: s.Name}
		for _, f := range nomadFiles {
			svc, name, _ := strings.Cut(f.Path, "/")
			kind := nomadKinds[name]
			if svc != s.Name || kind == "" {
				continue
			}
			so.Objects++
			so.Lines += countLines(f.Content)
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
	k := targetOutput{Target: "kubernetes", PerKind: map[string]int{}, Components: kubeComponents}
	for _, f := range kubeFiles {
		svc, _, _ := strings.Cut(f.Path, "/")
		so := serviceOutput{Service: svc}
		for _, kind := range yamlKinds(f.Content) {
			k.PerKind[kind]++
			so.Objects++
		}
		so.Lines = countLines(f.Content)
		k.Files++
		k.Objects += so.Objects
		k.Lines += so.Lines
		k.PerService = append(k.PerService, so)
	}
	out.Targets = []targetOutput{nomad, k}

	for i, r := range requirements {
		ru := requirementUsed{ID: i + 1, Name: r.name, Nomad: r.nomad, Kubernetes: r.kubernetes, NeededBy: []string{}}
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

// countLines counts non-blank lines that are not only a comment.
func countLines(b []byte) int {
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

func writeComparison(w io.Writer, c *comparison) error {
	fmt.Fprintf(w, "stack %q: %d services, %d lines written in %d descriptor files\n\n", c.Stack, c.Services, c.User.Lines, c.User.Files)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFILES\tOBJECTS\tLINES\tLINES PER LINE WRITTEN")
	for _, t := range c.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Target, t.Files, t.Objects, t.Lines, ratio(t.Lines, c.User.Lines))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nobjects per kind")
	for _, t := range c.Targets {
		kinds := make([]string, 0, len(t.PerKind))
		for k := range t.PerKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		parts := make([]string, len(kinds))
		for i, k := range kinds {
			parts[i] = fmt.Sprintf("%s %d", k, t.PerKind[k])
		}
		fmt.Fprintf(w, "  %-11s %s\n", t.Target+":", strings.Join(parts, ", "))
	}

	fmt.Fprintln(w, "\nper service (objects/lines)")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tNOMAD\tKUBERNETES")
	kubeBy := map[string]serviceOutput{}
	for _, s := range c.Targets[1].PerService {
		kubeBy[s.Service] = s
	}
	for _, s := range c.Targets[0].PerService {
		k := kubeBy[s.Service]
		fmt.Fprintf(tw, "  %s\t%d/%d\t%d/%d\n", s.Service, s.Objects, s.Lines, k.Objects, k.Lines)
	}
	if k, ok := kubeBy[kube.SharedDir]; ok {
		fmt.Fprintf(tw, "  (shared)\t-\t%d/%d\n", k.Objects, k.Lines)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nrequirements")
	for _, r := range c.Requirements {
		needed := "not used"
		if len(r.NeededBy) > 0 {
			needed = strings.Join(r.NeededBy, ", ")
		}
		fmt.Fprintf(w, "  %d. %s (%s)\n", r.ID, r.Name, needed)
		fmt.Fprintf(w, "       nomad:      %s\n", r.Nomad)
		fmt.Fprintf(w, "       kubernetes: %s\n", r.Kubernetes)
	}

	fmt.Fprintln(w, "\noperator runs and upgrades")
	for _, t := range c.Targets {
		fmt.Fprintf(w, "  %-11s %s (%d)\n", t.Target+":", strings.Join(t.Components, ", "), len(t.Components))
	}
	return nil
}

func ratio(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", float64(n)/float64(d))
}
