package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/spec"
)

// deepDescriptor is a valid service whose replicas are 1 negated ten times
// MaxDepth times: the 32nd "-", on line 7 at column 45, goes past the limit
// (the service block is the first level). A few hundred KiB of these
// overflowed the HCL parser's stack, a fatal error, in every command that
// reads descriptors.
func deepDescriptor() string {
	return "# deep\nservice \"web\" {\n  image = \"web:1.0.0\"\n  port \"http\" {\n    container_port = 8080\n  }\n" +
		"  replicas = " + strings.Repeat("-", 10*spec.MaxDepth) + "1\n}\n"
}

// TestFmtAndOtherReadersRefuseDeepNesting: every command that parses
// descriptor bytes (fmt on files and on standard input, validate, render,
// graph) refuses input nested too deep with a located diagnostic before the
// parser sees it, and formatSource does on its own (FuzzFormat calls it
// directly).
func TestFmtAndOtherReadersRefuseDeepNesting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "web.hcl")
	if err := os.WriteFile(file, []byte(deepDescriptor()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"fmt", file}, {"fmt", "-check", file}, {"validate", file}, {"render", file}, {"graph", file},
	} {
		start := time.Now()
		code, _, stderr := runCLI(t, args...)
		if code != ExitError || !strings.Contains(stderr, file+":7:45: error: Nesting too deep") || !strings.Contains(stderr, "Operators chain more than 32 levels") {
			t.Errorf("%v: exit %d, stderr:\n%s", args[:len(args)-1], code, stderr)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%v took %v", args[:len(args)-1], time.Since(start))
		}
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"stackctl", "fmt", "-"}, strings.NewReader(deepDescriptor()), &out, &errb); code != ExitError ||
		!strings.Contains(errb.String(), "<stdin>:7:45: error: Nesting too deep") || out.Len() != 0 {
		t.Errorf("fmt -: exit %d, stdout %q, stderr:\n%s", code, out.String(), errb.String())
	}
	if _, diags := formatSource([]byte(deepDescriptor()), "web.hcl"); !diags.HasErrors() || diags[0].Summary != "Nesting too deep" ||
		fmt.Sprint(diags[0].Subject.Start.Line, ":", diags[0].Subject.Start.Column) != "7:45" {
		t.Errorf("formatSource: %v", diags)
	}
	// The file is left as it was.
	if got, _ := os.ReadFile(file); string(got) != deepDescriptor() {
		t.Error("fmt rewrote the refused file")
	}
}
