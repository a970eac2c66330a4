package spec

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestSidecarImage(t *testing.T) {
	load := func(sidecar string) (*Stack, string) {
		t.Helper()
		src := "stack {\n  name = \"s\"\n  sidecar {\n" + sidecar + "  }\n}\nservice \"web\" {\n  image = \"web:1.0.0\"\n  port \"http\" {\n    container_port = 8080\n  }\n  health {\n    path = \"/healthz\"\n  }\n}\n"
		st, diags := NewParser(fstest.MapFS{"stack.hcl": {Data: []byte(src)}}).Load([]string{"stack.hcl"}, LoadOptions{})
		if !diags.HasErrors() {
			return st, ""
		}
		return st, diags.Error()
	}
	st, errs := load("    kind = \"builtin\"\n")
	if errs != "" {
		t.Fatal(errs)
	}
	if got := st.Settings.Sidecar.Image; got != "stackctl-consul-proxy:1.14.11" {
		t.Errorf("default sidecar image %q", got)
	}
	st, errs = load("    kind  = \"builtin\"\n    image = \"registry.example.com/consul-proxy:1.14.11\"\n")
	if errs != "" || st.Settings.Sidecar.Image != "registry.example.com/consul-proxy:1.14.11" {
		t.Errorf("image not taken: %q %s", st.Settings.Sidecar.Image, errs)
	}
	// The node's consul binary (a raw_exec task) is gone: say so where it
	// is set, and what replaces it.
	_, errs = load("    kind          = \"builtin\"\n    consul_binary = \"/usr/bin/consul\"\n")
	for _, want := range []string{"stack.hcl:5,5-18", "consul_binary", "raw_exec", "image"} {
		if !strings.Contains(errs, want) {
			t.Errorf("consul_binary: error %q lacks %q", errs, want)
		}
	}
}
