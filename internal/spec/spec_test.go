package spec

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestCheckNesting(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if d := checkNesting("f.hcl", []byte(ok)); d != nil {
		t.Errorf("depth %d rejected: %s", MaxDepth, d.Summary)
	}
	deep := "x = " + strings.Repeat("[", MaxDepth+1)
	d := checkNesting("f.hcl", []byte(deep))
	if d == nil {
		t.Fatal("depth beyond the limit accepted")
	}
	if got, want := d.Subject.Start.Column, 4+MaxDepth+1; got != want {
		t.Errorf("column %d, want %d", got, want)
	}
	// Brackets inside strings and comments do not count.
	quoted := `x = "` + strings.Repeat("[", 100) + `" # ` + strings.Repeat("{", 100)
	if d := checkNesting("f.hcl", []byte(quoted)); d != nil {
		t.Errorf("brackets in a string or comment counted: %s", d.Summary)
	}
}

func TestVaultPathProblem(t *testing.T) {
	st := Settings{Name: "shop", VaultMount: "secret"}
	for path, want := range map[string]string{
		"shop/db": "", "shop/team-1/app_2/v.3": "", "shop/.hidden": "",
		"":                "is empty",
		"/shop/db":        "leading or trailing slash",
		"shop/db/":        "leading or trailing slash",
		"data/shop/db":    "API segment",
		"metadata/x":      "API segment",
		"secret/shop/db":  "starts with the KV v2 mount",
		"shop//db":        "segment",
		"shop/../db":      "segment",
		"../other":        "segment",
		"shop/./db":       "segment",
		"shop db":         "characters",
		"shop/${x}":       "characters",
		"shop":            "prefix itself",
		"other/db":        "outside the stack",
		"shopping/db":     "outside the stack",
		"a":               "outside the stack",
		"team-1/app_2/v3": "outside the stack",
	} {
		got, _ := vaultPathProblem(path, st)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("vaultPathProblem(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"web":                          "",
		"web:1.0":                      "1.0",
		"localhost:5000/web":           "",
		"localhost:5000/web:2":         "2",
		"registry.example.com/a/b:3.1": "3.1",
		"web@sha256:abc":               "sha256:abc",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

func TestValidHostnameAndPath(t *testing.T) {
	for h, want := range map[string]bool{
		"shop.localhost": true, "a-b.c": true, "x": true,
		"Shop.example.com": false, "-a.com": false, "a..b": false, "https://a.com": false, "a.com:80": false, "": false,
	} {
		if got := validHostname(h); got != want {
			t.Errorf("validHostname(%q) = %v, want %v", h, got, want)
		}
	}
	for p, want := range map[string]bool{
		"/": true, "/api": true, "/api/v1": true, "api": false, "/a b": false, "/a`b": false, "//x": false,
	} {
		if got := validPath(p); got != want {
			t.Errorf("validPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestDefaults checks what an almost empty service turns into.
func TestDefaults(t *testing.T) {
	fsys := fstest.MapFS{"s.hcl": {Data: []byte(`
service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  autoscale {
    min         = 2
    max         = 4
    cpu_percent = 50
  }
  expose "public" {}
}
stack {
  domain = "example.com"
}
`)}}
	st, diags := NewParser(fsys).Load([]string{"s.hcl"}, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	s := st.Services[0]
	if s.Replicas != 2 {
		t.Errorf("replicas %d, want autoscale min 2", s.Replicas)
	}
	if s.Health.Port != "http" || s.Health.Type != "http" || s.Health.Interval != 10*time.Second {
		t.Errorf("health defaults: %+v", s.Health)
	}
	// One canary promoted when healthy: create before destroy by default.
	if !s.Update.AutoRevert || !s.Update.AutoPromote || s.Update.Canary != 1 || s.Update.MaxParallel != 1 {
		t.Errorf("update defaults: %+v", s.Update)
	}
	if e := s.Exposes[0]; e.Host != "web.example.com" || e.Router != "web-public" {
		t.Errorf("expose defaults: host %q router %q", e.Host, e.Router)
	}
	if st.Settings.Sidecar.Kind != SidecarEnvoy || !st.Settings.NomadVersion.AtLeast(1, 6) || st.Settings.NomadVersion.AtLeast(1, 7) {
		t.Errorf("stack defaults: %+v", st.Settings)
	}
	if st.Settings.Domain != "example.com" {
		t.Errorf("domain %q", st.Settings.Domain)
	}
}

// TestLimits: oversized input is refused before it reaches the parser.
func TestLimits(t *testing.T) {
	big := make([]byte, MaxFileSize+1)
	for i := range big {
		big[i] = '\n'
	}
	_, diags := NewParser(fstest.MapFS{"big.hcl": {Data: big}}).Load([]string{"big.hcl"}, LoadOptions{})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "limit") {
		t.Fatalf("oversized file not refused: %v", diags)
	}
}

// TestHealthAdviceDecodes: every health block the diagnostics suggest must
// itself be accepted (a warning once advised health { type = "tcp" }, which
// decoding refuses on mesh services).
func TestHealthAdviceDecodes(t *testing.T) {
	const svc = "service \"web\" {\n  image = \"web:1.0.0\"\n  port \"http\" {\n    container_port = 8080\n  }\n%s\n}\n"
	var advice []string
	for _, health := range []string{"", "health {}", `health { port = "http" }`} {
		_, diags := NewParser(fstest.MapFS{"s.hcl": {Data: []byte(fmt.Sprintf(svc, health))}}).Load([]string{"s.hcl"}, LoadOptions{})
		if len(diags) == 0 {
			t.Fatalf("%q: no diagnostic", health)
		}
		for _, d := range diags {
			advice = append(advice, d.Detail)
		}
	}
	suggested := regexp.MustCompile(`health \{[^}]*\}|type = "[a-z]+"`)
	found := 0
	for _, text := range advice {
		for _, s := range suggested.FindAllString(text, -1) {
			found++
			block := s
			if !strings.HasPrefix(s, "health") {
				block = "health {\n" + s + "\npath = \"/healthz\"\n}"
			}
			block = strings.ReplaceAll(strings.ReplaceAll(block, "{ ", "{\n"), " }", "\n}")
			if _, diags := NewParser(fstest.MapFS{"s.hcl": {Data: []byte(fmt.Sprintf(svc, block))}}).Load([]string{"s.hcl"}, LoadOptions{}); diags.HasErrors() {
				t.Errorf("advice %q (in %q) is refused: %s", s, text, diags.Error())
			}
		}
	}
	if found == 0 {
		t.Fatalf("no health advice found in %q", advice)
	}
}

// TestValidateLeavesModel: validation only reads the stack; the defaults
// that depend on other fields are applied before it (applyDefaults).
func TestValidateLeavesModel(t *testing.T) {
	build := func() *Stack {
		return &Stack{
			Settings: Settings{Domain: "example.com", VaultMount: "secret"},
			Services: []*Service{{
				Name:      "web",
				Image:     "web:1.0.0",
				Ports:     []*Port{{Name: "http", Container: 8080, Protocol: "http"}},
				Health:    &Health{Type: "http", Path: "/healthz"},
				Exposes:   []*Expose{{Entrypoint: EntrypointPublic}},
				Autoscale: &Autoscale{Min: 2, Max: 4, CPUPercent: 50},
			}},
		}
	}
	st, want := build(), build()
	validateStack(st)
	validateStack(st)
	if !reflect.DeepEqual(st, want) {
		t.Errorf("validateStack changed the model:\n got %+v\nwant %+v", *st.Services[0], *want.Services[0])
	}
}
