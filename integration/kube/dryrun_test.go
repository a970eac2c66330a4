//go:build integration

package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/stackctl/stackctl/internal/kube"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// examples are every stack the repository ships: the shop in jobs/ and
// each valid descriptor fixture.
func examples(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{"shop": {"../../jobs"}}
	fixtures, err := filepath.Glob("../../internal/spec/testdata/valid/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		out[strings.TrimSuffix(filepath.Base(f), ".hcl")] = []string{f}
	}
	return out
}

func renderExample(t *testing.T, paths []string) []render.File {
	t.Helper()
	st, diags := spec.NewParser(spec.OSFS{}).Load(paths, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatalf("load %v: %s", paths, diags.Error())
	}
	files, err := kube.Render(st)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// object is one rendered document, as JSON, with what addressing it needs.
type object struct {
	File       string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	JSON       []byte
}

func (o object) String() string { return fmt.Sprintf("%s %s/%s", o.File, o.Kind, o.Name) }

func splitObjects(t *testing.T, files []render.File) []object {
	t.Helper()
	var out []object
	for _, f := range files {
		for _, doc := range strings.Split(string(f.Content), "\n---\n") {
			js, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(js, &head); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			out = append(out, object{f.Path, head.APIVersion, head.Kind, head.Metadata.Name, head.Metadata.Namespace, js})
		}
	}
	return out
}

// resource is where the API server serves a kind.
type resource struct {
	Plural     string
	Namespaced bool
}

// discover maps apiVersion+kind to the resource's path segment, from the
// server's own discovery documents.
func discover(apiVersion string) (map[string]resource, error) {
	path := "/apis/" + apiVersion
	if apiVersion == "v1" {
		path = "/api/v1"
	}
	var list struct {
		Resources []struct {
			Name       string `json:"name"`
			Kind       string `json:"kind"`
			Namespaced bool   `json:"namespaced"`
		} `json:"resources"`
	}
	if err := server.do(http.MethodGet, path, "", nil, &list); err != nil {
		return nil, err
	}
	out := map[string]resource{}
	for _, r := range list.Resources {
		if !strings.Contains(r.Name, "/") {
			out[r.Kind] = resource{r.Name, r.Namespaced}
		}
	}
	return out, nil
}

var (
	crdOnce sync.Once
	crdErr  error
)

// installCRDs creates the custom resource definitions of
// testdata/crds/*.yaml (for real: a dry-run needs them served) and waits
// until each is established and discoverable.
func installCRDs(t *testing.T) {
	t.Helper()
	crdOnce.Do(func() { crdErr = doInstallCRDs() })
	if crdErr != nil {
		t.Fatalf("install CRDs: %v", crdErr)
	}
}

func doInstallCRDs() error {
	paths, err := filepath.Glob("testdata/crds/*.yaml")
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no CRDs under testdata/crds (%v)", err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		var crd struct {
			Metadata struct{ Name string } `json:"metadata"`
			Spec     struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name string `json:"name"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(js, &crd); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		err = server.do(http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions?fieldValidation=Strict", "application/json", js, nil)
		var ae *apiError
		if err != nil && !(errors.As(err, &ae) && ae.Code == http.StatusConflict) {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := waitEstablished(crd.Metadata.Name); err != nil {
			return err
		}
		gv := crd.Spec.Group + "/" + crd.Spec.Versions[0].Name
		if err := waitFor(30*time.Second, func() error {
			rs, err := discover(gv)
			if err != nil {
				return err
			}
			if _, ok := rs[crd.Spec.Names.Kind]; !ok {
				return fmt.Errorf("%s not in discovery of %s yet", crd.Spec.Names.Kind, gv)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(name string) error {
	return waitFor(30*time.Second, func() error {
		var crd struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string } `json:"conditions"`
			} `json:"status"`
		}
		if err := server.do(http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+name, "", nil, &crd); err != nil {
			return err
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == "NonStructuralSchema" && c.Status == "True" {
				return fmt.Errorf("CRD %s: non-structural schema: %s", name, c.Message)
			}
			if c.Type == "Established" && c.Status == "True" {
				return nil
			}
		}
		return fmt.Errorf("CRD %s not established yet", name)
	})
}

func waitFor(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// apply server-side applies one object; dryRun leaves nothing behind.
// fieldValidation=Strict turns an unknown or duplicate field into an error
// instead of a warning.
func apply(o object, rs map[string]resource, dryRun bool) (map[string]any, error) {
	r, ok := rs[o.Kind]
	if !ok {
		return nil, fmt.Errorf("the server does not serve %s in %s", o.Kind, o.APIVersion)
	}
	path := "/apis/" + o.APIVersion
	if o.APIVersion == "v1" {
		path = "/api/v1"
	}
	if r.Namespaced {
		if o.Namespace == "" {
			return nil, fmt.Errorf("%s is namespaced but has no namespace", o)
		}
		path += "/namespaces/" + o.Namespace
	} else if o.Namespace != "" {
		return nil, fmt.Errorf("%s is cluster-scoped but names namespace %q", o, o.Namespace)
	}
	path += "/" + r.Plural + "/" + o.Name + "?fieldManager=stackctl&force=true&fieldValidation=Strict"
	if dryRun {
		path += "&dryRun=All"
	}
	var out map[string]any
	err := server.do(http.MethodPatch, path, "application/apply-patch+yaml", o.JSON, &out)
	return out, err
}

// TestManifestsPassServerSideDryRun is the acceptance test: every
// manifest of every example is accepted by kube-apiserver v1.33 with strict
// field validation. Only the namespaces are created for real (a namespaced
// dry run needs its namespace to exist); all else is dry-run.
func TestManifestsPassServerSideDryRun(t *testing.T) {
	installCRDs(t)
	ex := examples(t)
	names := make([]string, 0, len(ex))
	for n := range ex {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			objs := splitObjects(t, renderExample(t, ex[name]))
			discovery := map[string]map[string]resource{}
			resources := func(apiVersion string) map[string]resource {
				if rs, ok := discovery[apiVersion]; ok {
					return rs
				}
				rs, err := discover(apiVersion)
				if err != nil {
					t.Fatalf("discovery of %s: %v", apiVersion, err)
				}
				discovery[apiVersion] = rs
				return rs
			}
			for _, o := range objs {
				if o.Kind == "Namespace" {
					if _, err := apply(o, resources(o.APIVersion), false); err != nil {
						t.Fatalf("create %s: %v", o, err)
					}
				}
			}
			kinds := map[string]int{}
			server.takeWarnings()
			for _, o := range objs {
				got, err := apply(o, resources(o.APIVersion), true)
				if err != nil {
					t.Errorf("dry-run apply %s: %v", o, err)
					continue
				}
				// Deprecations and ignored fields come back as warnings,
				// not errors: the manifests must not draw any.
				if w := server.takeWarnings(); len(w) > 0 {
					t.Errorf("dry-run apply %s: server warnings: %q", o, w)
				}
				kinds[o.Kind]++
				if got["kind"] != o.Kind {
					t.Errorf("%s: server answered kind %v", o, got["kind"])
				}
				if o.Kind == "Deployment" {
					// The answer is the object as it would be stored:
					// defaulted by the server, so it was really admitted.
					tmpl := got["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
					if tmpl["restartPolicy"] != "Always" {
						t.Errorf("%s: not defaulted by the server: restartPolicy %v", o, tmpl["restartPolicy"])
					}
				}
			}
			t.Logf("%s: %d objects accepted by dry-run: %v", name, len(objs), kinds)
		})
	}
}

// TestDryRunLeavesNothing: after the dry runs no Deployment exists.
func TestDryRunLeavesNothing(t *testing.T) {
	installCRDs(t)
	objs := splitObjects(t, renderExample(t, []string{"../../jobs"}))
	rs, err := discover("v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind == "Namespace" {
			if _, err := apply(o, rs, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	apps, err := discover("apps/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Kind == "Deployment" {
			if _, err := apply(o, apps, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	var list struct {
		Items []any `json:"items"`
	}
	if err := server.do(http.MethodGet, "/apis/apps/v1/namespaces/shop/deployments", "", nil, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("dry-run left %d Deployments behind", len(list.Items))
	}
}

// TestStrictValidationRefusesUnknownFields shows the check has teeth: the
// same objects with one misspelt field are refused, for a built-in kind and
// for a custom resource.
func TestStrictValidationRefusesUnknownFields(t *testing.T) {
	installCRDs(t)
	objs := splitObjects(t, renderExample(t, []string{"../../jobs"}))
	for _, o := range objs {
		if o.Kind == "Namespace" {
			rs, _ := discover("v1")
			if _, err := apply(o, rs, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, kind := range []string{"Deployment", "ExternalSecret", "Ingress", "Middleware"} {
		var o object
		for _, c := range objs {
			if c.Kind == kind {
				o = c
				break
			}
		}
		if o.Kind == "" {
			t.Fatalf("the shop renders no %s", kind)
		}
		var m map[string]any
		if err := json.Unmarshal(o.JSON, &m); err != nil {
			t.Fatal(err)
		}
		m["spec"].(map[string]any)["replicaz"] = 3
		o.JSON, _ = json.Marshal(m)
		rs, err := discover(o.APIVersion)
		if err != nil {
			t.Fatal(err)
		}
		_, err = apply(o, rs, true)
		var ae *apiError
		if !errors.As(err, &ae) || !strings.Contains(ae.Message, "replicaz") {
			t.Errorf("%s with spec.replicaz: want a refusal naming the field, got %v", kind, err)
		}
	}
}
