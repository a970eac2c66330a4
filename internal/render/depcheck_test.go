package render_test

import (
	"testing"

	"github.com/stackctl/stackctl/internal/testkit"
)

// TestRenderIsPure: render turns artifacts into bytes and writes nothing;
// files are written at the edge (internal/cli through internal/outdir).
func TestRenderIsPure(t *testing.T) {
	testkit.Pure(t, "github.com/stackctl/stackctl/internal/outdir")
}
