package kube_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/spec"
)

// variety is a stack that takes the branches the example stacks do not:
// no health check, no autoscaling, whole cores and GiB, a port name that is
// no Kubernetes port name, strip_prefix.
const variety = `
stack {
  name   = "variety"
  domain = "variety.example.com"
}

service "tcp" {
  image    = "tcp:1.0.0"
  replicas = 4
  port "a_very_long_port_name" {
    container_port = 5432
  }
  resources {
    cpu        = 2000
    memory     = 1024
    memory_max = 3072
  }
}

service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  resources {
    cpu    = 1500
    memory = 1536
  }
  upstream "tcp" {
    local_port = 6000
  }
  expose "public" {
    path_prefix  = "/web"
    strip_prefix = true
  }
}
`

// TestObjectsMatchAPITypes decodes every manifest of the example stacks
// strictly into its k8s.io/api type (an unknown or misspelt field fails)
// and marshals that the way the renderer did when it built those types:
// the bytes must be the same, so no field the official types always write
// is missing and no value is spelt differently (quantities, int-or-string
// ports).
func TestObjectsMatchAPITypes(t *testing.T) {
	stacks := map[string]*spec.Stack{}
	for _, tc := range goldenCases {
		stacks[tc.name] = load(t, tc.paths...)
	}
	st, diags := spec.NewParser(fstest.MapFS{"variety.hcl": {Data: []byte(variety)}}).Load([]string{"variety.hcl"}, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	stacks["variety"] = st
	kinds := map[string]int{}
	for name, st := range stacks {
		files, err := kube.Render(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			body := string(f.Content[strings.Index(string(f.Content), "\n\n")+2:])
			for _, doc := range strings.Split(body, "---\n") {
				var head struct {
					Kind string `json:"kind"`
				}
				if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
					t.Fatal(err)
				}
				typed := apiObject(head.Kind)
				if typed == nil {
					continue // a custom resource: local types either way
				}
				kinds[head.Kind]++
				if err := yaml.UnmarshalStrict([]byte(doc), typed); err != nil {
					t.Errorf("%s %s: %s: %v\n%s", name, f.Path, head.Kind, err, doc)
					continue
				}
				again, err := kube.Marshal(typed)
				if err != nil {
					t.Fatal(err)
				}
				if string(again) != doc {
					t.Errorf("%s %s: %s differs from what %T writes:\n%s\nwant:\n%s", name, f.Path, head.Kind, typed, doc, again)
				}
			}
		}
	}
	for _, k := range []string{"Namespace", "IngressClass", "NetworkPolicy", "ServiceAccount", "Deployment", "Service", "HorizontalPodAutoscaler", "Ingress"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests checked", k)
		}
	}
}

func apiObject(kind string) any {
	switch kind {
	case "Namespace":
		return &corev1.Namespace{}
	case "ServiceAccount":
		return &corev1.ServiceAccount{}
	case "Service":
		return &corev1.Service{}
	case "Deployment":
		return &appsv1.Deployment{}
	case "HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "IngressClass":
		return &networkingv1.IngressClass{}
	case "NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "Ingress":
		return &networkingv1.Ingress{}
	}
	return nil
}

// TestVarietyRenders makes sure the variety stack reaches the branches it
// is there for.
func TestVarietyRenders(t *testing.T) {
	st, diags := spec.NewParser(fstest.MapFS{"variety.hcl": {Data: []byte(variety)}}).Load([]string{"variety.hcl"}, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	files, err := kube.Render(st)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range files {
		fmt.Fprintf(&all, "%s\n", f.Content)
	}
	for _, want := range []string{"replicas: 4", "cpu: \"2\"", "memory: 1Gi", "memory: 3Gi", "cpu: 1500m", "memory: 1536Mi", "kind: Middleware"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no %q in the variety stack's manifests", want)
		}
	}
}
