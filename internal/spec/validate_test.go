package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// fixtureMarkers reads the expected errors of an invalid fixture: a comment
// line whose caret sits under the column of the nearest line above it that
// is not a marker (the format internal/cli's TestInvalidFixtures reads).
func fixtureMarkers(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`^\s*#\s*\^ (.+)$`)
	var out []string
	target := 0
	for i, line := range strings.Split(string(src), "\n") {
		m := marker.FindStringSubmatch(line)
		if m == nil {
			target = i + 1
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d:%d: %s", file, target, strings.Index(line, "^")+1, m[1]))
	}
	return out
}

// TestInvalidFixtureMarkers loads the single-file fixtures this package's
// rules produce errors for and compares the errors with their markers.
func TestInvalidFixtureMarkers(t *testing.T) {
	for _, name := range []string{"vault-path-stack.hcl", "vault-path.hcl", "vault-path-mount.hcl", "deep-operators.hcl", "deep-nesting.hcl"} {
		file := filepath.Join("testdata", "invalid", name)
		_, diags := NewParser(OSFS{}).Load([]string{file}, LoadOptions{})
		var got []string
		for _, d := range diags {
			if d.Severity == 1 && d.Subject != nil { // hcl.DiagError
				got = append(got, fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, d.Summary))
			} else if d.Severity == 1 {
				t.Errorf("%s: error without a location: %s", name, d.Summary)
			}
		}
		want := fixtureMarkers(t, file)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got %s\nwant %s", name, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
		}
	}
}

// TestSecretPathsConfinedToStack: a secret's path must lie below the
// stack's own name; another stack's path, or a trick that leaves the prefix
// or only looks like it, is refused at the path expression with the
// prefix and a path to write instead.
func TestSecretPathsConfinedToStack(t *testing.T) {
	const stack = "stack {\n  name = \"shop\"\n}\n"
	const svc = "service \"api\" {\n  image = \"api:1.0.0\"\n  port \"http\" {\n    container_port = 8080\n  }\n  secret \"TOKEN\" {\n    path = %q\n    key  = \"token\"\n  }\n  health {\n    path = \"/healthz\"\n  }\n}\n"
	for path, example := range map[string]string{
		"billing/api":         "shop/api",
		"../billing/api":      "shop/api",
		"shop/../billing/api": "shop/api",
		"shop//api":           "shop/api",
		"shop/./api":          "shop/api",
		"/billing/api":        "shop/api",
		"/shop/payments":      "shop/payments",
		"data/shop/payments":  "shop/payments",
		"secret/shop/db":      "shop/db",
		"shop":                "shop/api",
		"shopfront/api":       "shop/api",
		"":                    "shop/api",
	} {
		fsys := fstest.MapFS{"stack.hcl": {Data: []byte(stack)}, "api.hcl": {Data: []byte(fmt.Sprintf(svc, path))}}
		st, diags := NewParser(fsys).Load([]string{"stack.hcl", "api.hcl"}, LoadOptions{})
		if st != nil || len(diags) != 1 {
			t.Errorf("%q: want one error, got %v", path, diags)
			continue
		}
		d := diags[0]
		if d.Summary != "Invalid Vault secret path" || d.Subject == nil ||
			d.Subject.Filename != "api.hcl" || d.Subject.Start.Line != 7 || d.Subject.Start.Column != 12 {
			t.Errorf("%q: %s at %v", path, d.Summary, d.Subject)
		}
		for _, want := range []string{`"shop/"`, `stack "shop"`, fmt.Sprintf("Write e.g. path = %q.", example)} {
			if !strings.Contains(d.Detail, want) {
				t.Errorf("%q: the detail does not say %s: %s", path, want, d.Detail)
			}
		}
	}
	// The stack's own paths, any depth below its prefix, are fine; the
	// examples read secrets of their own stacks.
	for _, path := range []string{"shop/api", "shop/team-1/app_2/v.3"} {
		fsys := fstest.MapFS{"stack.hcl": {Data: []byte(stack)}, "api.hcl": {Data: []byte(fmt.Sprintf(svc, path))}}
		if _, diags := NewParser(fsys).Load([]string{"stack.hcl", "api.hcl"}, LoadOptions{}); diags.HasErrors() {
			t.Errorf("%q: %s", path, diags.Error())
		}
	}
	for _, dir := range []string{"../../jobs", "testdata/valid"} {
		if _, diags := NewParser(OSFS{}).Load([]string{dir}, LoadOptions{}); diags.HasErrors() {
			t.Errorf("%s: %s", dir, diags.Error())
		}
	}
}
