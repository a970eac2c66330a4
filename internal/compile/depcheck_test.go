package compile_test

import (
	"slices"
	"testing"

	"github.com/stackctl/stackctl/internal/testkit"
)

// TestCompileIsPure keeps the compiler a function of its input, whatever
// it comes to import: nothing in its import graph may open a connection,
// run a program or draw random numbers (the Nomad and Consul API
// packages would bring all three: compile emits its own types, which
// internal/apimodel converts), and neither its code nor the model's
// (internal/descriptor) may touch files or the environment, read the
// clock or print.
func TestCompileIsPure(t *testing.T) {
	checked := testkit.PureGraph(t)
	for _, p := range []string{"compile", "descriptor"} {
		if !slices.Contains(checked, "github.com/stackctl/stackctl/internal/"+p) {
			t.Errorf("internal/%s was not among the packages checked (%v)", p, checked)
		}
	}
}
