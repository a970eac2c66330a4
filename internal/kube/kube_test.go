package kube_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/stackctl/stackctl/internal/artifact"
	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/spec"
	"github.com/stackctl/stackctl/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCases are the example stacks whose manifests are kept under
// testdata/golden/<name>/ (the same inputs as internal/render's goldens).
var goldenCases = []struct {
	name  string
	paths []string
}{
	{"shop", []string{"../../jobs"}},
	{"payments", []string{"../spec/testdata/valid/nomad18-envoy.hcl"}},
}

func load(t testing.TB, paths ...string) *spec.Stack {
	t.Helper()
	st, diags := spec.NewParser(spec.OSFS{}).Load(paths, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load %v: %s", paths, diags.Error())
	}
	return st
}

func renderStack(t testing.TB, paths ...string) []artifact.File {
	t.Helper()
	files, err := kube.Render(load(t, paths...))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			testkit.Golden(t, filepath.Join("testdata", "golden", tc.name), renderStack(t, tc.paths...), *update, "go test ./internal/kube -update")
		})
	}
}

// Rendering twice, from two separate loads, gives identical bytes: no map
// order, time or randomness leaks into the output.
func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		a := renderStack(t, tc.paths...)
		for i := 0; i < 5; i++ {
			b := renderStack(t, tc.paths...)
			if len(a) != len(b) {
				t.Fatalf("%s: %d files, then %d", tc.name, len(a), len(b))
			}
			for j := range a {
				if a[j].Path != b[j].Path || !bytes.Equal(a[j].Content, b[j].Content) {
					t.Fatalf("%s: %s differs between two renders", tc.name, a[j].Path)
				}
			}
		}
	}
}

// objects splits a rendered file into documents keyed by "Kind/name".
func objects(t *testing.T, files []artifact.File, path string) map[string][]byte {
	t.Helper()
	for _, f := range files {
		if f.Path != path {
			continue
		}
		out := map[string][]byte{}
		for _, doc := range strings.Split(string(f.Content), "\n---\n") {
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			key := head.Kind + "/" + head.Metadata.Name
			if _, dup := out[key]; dup {
				t.Fatalf("%s: %s twice", path, key)
			}
			out[key] = []byte(doc)
		}
		return out
	}
	t.Fatalf("no file %s", path)
	return nil
}

func decode[T any](t *testing.T, docs map[string][]byte, key string) *T {
	t.Helper()
	doc, ok := docs[key]
	if !ok {
		var keys []string
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Fatalf("no %s among %v", key, keys)
	}
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return v
}

func TestLayout(t *testing.T) {
	files := renderStack(t, "../../jobs")
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := "_shared/kubernetes.yaml api/kubernetes.yaml kv/kubernetes.yaml orders/kubernetes.yaml web/kubernetes.yaml"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("files = %s, want %s", got, want)
	}
	shared := objects(t, files, "_shared/kubernetes.yaml")
	for _, k := range []string{"Namespace/shop", "IngressClass/public", "IngressClass/internal", "NetworkPolicy/default-deny-ingress"} {
		if _, ok := shared[k]; !ok {
			t.Errorf("_shared lacks %s", k)
		}
	}
	deny := decode[networkingv1.NetworkPolicy](t, shared, "NetworkPolicy/default-deny-ingress")
	if len(deny.Spec.PodSelector.MatchLabels)+len(deny.Spec.PodSelector.MatchExpressions) != 0 || len(deny.Spec.Ingress) != 0 {
		t.Errorf("default deny must select every pod and allow nothing: %+v", deny.Spec)
	}
	kv := objects(t, files, "kv/kubernetes.yaml")
	for _, k := range []string{"HorizontalPodAutoscaler/kv", "Ingress/kv-public"} {
		if _, ok := kv[k]; ok {
			t.Errorf("kv is neither autoscaled nor exposed, yet has %s", k)
		}
	}
}

func TestDeployment(t *testing.T) {
	files := renderStack(t, "../../jobs")
	api := decode[appsv1.Deployment](t, objects(t, files, "api/kubernetes.yaml"), "Deployment/api")
	if api.Namespace != "shop" {
		t.Errorf("namespace = %q, want the stack name for Nomad's default namespace", api.Namespace)
	}
	if api.Spec.Replicas != nil {
		t.Errorf("autoscaled api has replicas %d: the HPA must own the count", *api.Spec.Replicas)
	}
	c := api.Spec.Template.Spec.Containers[0]
	if got := c.Resources.Requests.Cpu().MilliValue(); got != 100 {
		t.Errorf("cpu request = %dm, want 100m for 100 MHz", got)
	}
	if c.Resources.Limits.Cpu().MilliValue() != 0 {
		t.Errorf("a CPU limit throttles where Nomad's soft cpu share does not: %v", c.Resources.Limits)
	}
	if got := c.Resources.Limits.Memory().Value(); got != 64<<20 {
		t.Errorf("memory limit = %d, want 64 MiB", got)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if got := env["ORDERS_ADDR"].Value; got != "orders.shop.svc.cluster.local:8080" {
		t.Errorf("ORDERS_ADDR = %q", got)
	}
	if got := env["KV_ADDR"].Value; got != "kv.shop.svc.cluster.local:8080" {
		t.Errorf("KV_ADDR = %q", got)
	}
	sec := env["API_SIGNING_KEY"]
	if sec.Value != "" || sec.ValueFrom == nil || sec.ValueFrom.SecretKeyRef == nil ||
		sec.ValueFrom.SecretKeyRef.Name != "api-secrets" || sec.ValueFrom.SecretKeyRef.Key != "API_SIGNING_KEY" {
		t.Errorf("API_SIGNING_KEY must reference the ESO-managed Secret: %+v", sec)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.PeriodSeconds != 5 || p.TimeoutSeconds != 1 {
		t.Errorf("readiness probe = %+v", p)
	}
	ru := api.Spec.Strategy.RollingUpdate
	if ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
		t.Errorf("rolling update = %+v, want canary 1 surge and nothing unavailable (new pods serve first)", ru)
	}
	// The drain: out of the endpoints, a wait, then SIGTERM and in-flight time.
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != 4 {
		t.Errorf("preStop = %+v, want a 4 s sleep action", l)
	}
	if g := api.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 14 {
		t.Errorf("terminationGracePeriodSeconds = %v, want 14 (drain + stop timeout)", g)
	}
	if api.Spec.MinReadySeconds != 10 || *api.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("minReady %d progressDeadline %d", api.Spec.MinReadySeconds, *api.Spec.ProgressDeadlineSeconds)
	}

	kv := decode[appsv1.Deployment](t, objects(t, files, "kv/kubernetes.yaml"), "Deployment/kv")
	if kv.Spec.Replicas == nil || *kv.Spec.Replicas != 1 {
		t.Errorf("kv replicas = %v, want 1", kv.Spec.Replicas)
	}
	if p := kv.Spec.Template.Spec.Containers[0].ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Port.IntValue() != 8080 || p.HTTPGet.Path != "/healthz" {
		t.Errorf("kv's http check on its tcp port must become an httpGet probe on 8080: %+v", p)
	}
}

func TestCommandAndRegistry(t *testing.T) {
	files := renderStack(t, "../spec/testdata/valid/nomad18-envoy.hcl")
	gw := decode[appsv1.Deployment](t, objects(t, files, "gateway/kubernetes.yaml"), "Deployment/gateway")
	c := gw.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example.com/payments/gateway:2.3.1" {
		t.Errorf("image = %q", c.Image)
	}
	if len(c.Command) != 0 || strings.Join(c.Args, " ") != "/bin/gateway --listen :8443 --upstream LEDGER" {
		t.Errorf("command %q args %q: Nomad's command+args are the image's CMD, i.e. Kubernetes args", c.Command, c.Args)
	}
	if got := c.Resources.Limits.Memory().Value(); got != 512<<20 {
		t.Errorf("memory limit = %d, want memory_max 512 MiB", got)
	}
	if gw.Namespace != "payments" {
		t.Errorf("namespace = %q", gw.Namespace)
	}
	ledger := decode[appsv1.Deployment](t, objects(t, files, "ledger/kubernetes.yaml"), "Deployment/ledger")
	if ledger.Spec.Replicas != nil {
		t.Errorf("autoscaled ledger has replicas")
	}
}

func TestHPA(t *testing.T) {
	files := renderStack(t, "../../jobs")
	web := decode[autoscalingv2.HorizontalPodAutoscaler](t, objects(t, files, "web/kubernetes.yaml"), "HorizontalPodAutoscaler/web")
	if *web.Spec.MinReplicas != 1 || web.Spec.MaxReplicas != 3 {
		t.Errorf("bounds %d..%d", *web.Spec.MinReplicas, web.Spec.MaxReplicas)
	}
	got := map[corev1.ResourceName]int32{}
	for _, m := range web.Spec.Metrics {
		got[m.Resource.Name] = *m.Resource.Target.AverageUtilization
	}
	if got[corev1.ResourceCPU] != 70 || got[corev1.ResourceMemory] != 80 || len(got) != 2 {
		t.Errorf("targets = %v, want cpu 70 memory 80", got)
	}
	if w := web.Spec.Behavior.ScaleDown.StabilizationWindowSeconds; *w != 60 {
		t.Errorf("scale-down window = %d, want the 1m default cooldown", *w)
	}
}

func TestNetworkPolicies(t *testing.T) {
	files := renderStack(t, "../../jobs")
	kv := decode[networkingv1.NetworkPolicy](t, objects(t, files, "kv/kubernetes.yaml"), "NetworkPolicy/kv-allow")
	if len(kv.Spec.Ingress) != 1 {
		t.Fatalf("kv is not exposed: one rule (its callers) expected, got %+v", kv.Spec.Ingress)
	}
	from := kv.Spec.Ingress[0].From[0].PodSelector.MatchExpressions[0]
	if strings.Join(from.Values, ",") != "api,orders" || from.Key != kube.LabelName {
		t.Errorf("kv callers = %+v, want api,orders (its declared upstream users)", from)
	}
	if kv.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 {
		t.Errorf("kv port = %v", kv.Spec.Ingress[0].Ports[0].Port)
	}
	web := decode[networkingv1.NetworkPolicy](t, objects(t, files, "web/kubernetes.yaml"), "NetworkPolicy/web-allow")
	if len(web.Spec.Ingress) != 1 || web.Spec.Ingress[0].From[0].NamespaceSelector == nil ||
		web.Spec.Ingress[0].From[0].NamespaceSelector.MatchLabels[corev1.LabelMetadataName] != kube.IngressNamespace {
		t.Errorf("web has no callers, only the ingress controller: %+v", web.Spec.Ingress)
	}
	// payments' ledger is called by gateway only and is not exposed.
	pay := renderStack(t, "../spec/testdata/valid/nomad18-envoy.hcl")
	gw := objects(t, pay, "gateway/kubernetes.yaml")
	if _, ok := gw["NetworkPolicy/gateway-allow"]; !ok {
		t.Errorf("exposed gateway needs an allow policy for the ingress controller")
	}
}

func TestNoOrphanPolicy(t *testing.T) {
	// A service nobody calls and nobody exposes gets no allow policy: the
	// default deny is all there is (the Nomad side writes no intentions).
	st := load(t, "../../jobs")
	st.Services = []*spec.Service{st.Service("kv")}
	files, err := kube.Render(st)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := objects(t, files, "kv/kubernetes.yaml")["NetworkPolicy/kv-allow"]; ok {
		t.Errorf("kv without callers must not be opened")
	}
	if _, ok := objects(t, files, "_shared/kubernetes.yaml")["IngressClass/public"]; ok {
		t.Errorf("no exposure: no IngressClass needed")
	}
}

func TestIngress(t *testing.T) {
	files := renderStack(t, "../../jobs")
	api := objects(t, files, "api/kubernetes.yaml")
	ing := decode[networkingv1.Ingress](t, api, "Ingress/api-public")
	if *ing.Spec.IngressClassName != "public" {
		t.Errorf("class = %s", *ing.Spec.IngressClassName)
	}
	r := ing.Spec.Rules[0]
	p := r.HTTP.Paths[0]
	if r.Host != "shop.localhost" || p.Path != "/api" || *p.PathType != networkingv1.PathTypePrefix ||
		p.Backend.Service.Name != "api" || p.Backend.Service.Port.Number != 8080 {
		t.Errorf("rule = %+v", r)
	}
	if got := ing.Annotations["traefik.ingress.kubernetes.io/router.middlewares"]; got != "shop-api-public-strip@kubernetescrd" {
		t.Errorf("strip middleware annotation = %q", got)
	}
	if _, ok := api["Middleware/api-public-strip"]; !ok {
		t.Errorf("no Middleware for strip_prefix")
	}
	orders := decode[networkingv1.Ingress](t, objects(t, files, "orders/kubernetes.yaml"), "Ingress/orders-internal")
	if *orders.Spec.IngressClassName != "internal" || orders.Annotations["traefik.ingress.kubernetes.io/router.entrypoints"] != "internal" {
		t.Errorf("orders must be on the internal class/entrypoint only: %+v", orders.ObjectMeta.Annotations)
	}
	pay := renderStack(t, "../spec/testdata/valid/nomad18-envoy.hcl")
	gw := decode[networkingv1.Ingress](t, objects(t, pay, "gateway/kubernetes.yaml"), "Ingress/gateway-public")
	if gw.Annotations["traefik.ingress.kubernetes.io/router.tls.certresolver"] != "letsencrypt" {
		t.Errorf("tls annotations = %v", gw.Annotations)
	}
}

func TestSecretsCarryNoValues(t *testing.T) {
	// A canary secret value never reaches a manifest: only paths and keys.
	files := renderStack(t, "../../jobs")
	for _, f := range files {
		if bytes.Contains(f.Content, []byte("kind: Secret\n")) {
			t.Errorf("%s contains a Secret object; values must stay in Vault", f.Path)
		}
	}
	api := objects(t, files, "api/kubernetes.yaml")
	es := decode[kube.ExternalSecretObject](t, api, "ExternalSecret/api")
	if len(es.Spec.Data) != 1 || es.Spec.Data[0].SecretKey != "API_SIGNING_KEY" ||
		es.Spec.Data[0].RemoteRef.Key != "shop/api" || es.Spec.Data[0].RemoteRef.Property != "signing_key" {
		t.Errorf("ExternalSecret data = %+v", es.Spec.Data)
	}
	store := decode[kube.SecretStoreObject](t, api, "SecretStore/api-vault")
	v := store.Spec.Provider.Vault
	if v.Path != "secret" || v.Version != "v2" || v.Auth.Kubernetes.ServiceAccountRef.Name != "api" || v.Auth.Kubernetes.Role != "api" {
		t.Errorf("SecretStore = %+v", v)
	}
	web := objects(t, files, "web/kubernetes.yaml")
	if _, ok := web["ExternalSecret/web"]; ok {
		t.Errorf("web has no secrets")
	}
}
