package compile_test

import (
	"testing"

	"github.com/stackctl/stackctl/internal/testkit"
)

// TestCompileIsPure keeps the compiler free of I/O, clocks and randomness.
// (The nomad/consul API packages are imported for their types only; calls
// into their clients would need net/http here.)
func TestCompileIsPure(t *testing.T) { testkit.Pure(t) }
