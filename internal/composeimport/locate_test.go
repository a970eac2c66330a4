package composeimport

import (
	"os"
	"path/filepath"
	"testing"
)

// TestYAMLErrorPositions pins where syntax errors are reported, for each
// kind of error the YAML parser raises (see yamlErrorPos).
func TestYAMLErrorPositions(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line, col int
	}{
		{"parser: bad indentation", "services:\n  web:\n    image: x\n   ports: [1]\n", 4, 4},
		{"scanner: tab indentation", "services:\n\tweb: {}\n", 2, 1},
		{"scanner: unclosed quote", "services:\n  web:\n    image: \"x\n", 4, 1},
		{"composer: unknown anchor", "services:\n  web: *base\n", 2, 8},
		{"parser: unclosed flow sequence", "services:\n  web:\n    ports: [1, 2\n", 4, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, d := parseYAML("compose.yaml", []byte(c.src))
			if d == nil {
				t.Fatal("no error")
			}
			if d.Subject == nil {
				t.Fatalf("no position: %s", d.Detail)
			}
			if d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col {
				t.Errorf("reported at %d:%d, want %d:%d (%s)", d.Subject.Start.Line, d.Subject.Start.Column, c.line, c.col, d.Detail)
			}
		})
	}
}

// TestLocate checks that warnings find their key through override files
// and extends chains, and fall back to the service's own line.
func TestLocate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := write("base.yaml", "services:\n  common:\n    privileged: true\n    environment:\n      - A=1\n")
	main := write("compose.yaml", "services:\n  web:\n    extends:\n      file: base.yaml\n      service: common\n    image: x:1\n")
	over := write("override.yaml", "services:\n  web:\n    image: x:2\n")
	_ = base
	loc, diags := newLocator([]string{main, over}, fileRules{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, c := range []struct {
		path      []step
		file      string
		line, col int
	}{
		{[]step{key("image")}, over, 3, 5},                   // the later -f file wins
		{[]step{key("privileged")}, base, 3, 5},              // found through extends
		{[]step{key("environment"), entry("A")}, base, 5, 9}, // a list item NAME=value
		{[]step{key("volumes")}, main, 2, 3},                 // absent: the service itself
	} {
		r := loc.service("web", c.path...)
		if r == nil {
			t.Errorf("%v: not found", c)
			continue
		}
		if r.Filename != c.file || r.Start.Line != c.line || r.Start.Column != c.col {
			t.Errorf("got %s:%d:%d, want %s:%d:%d", r.Filename, r.Start.Line, r.Start.Column, c.file, c.line, c.col)
		}
	}
}
