package kube_test

import (
	"testing"

	"github.com/stackctl/stackctl/internal/testkit"
)

// TestKubeIsPure keeps the Kubernetes renderer, like the compiler, free of
// I/O, clocks and randomness (k8s.io/api types only, no client-go), and
// independent of the Nomad side's writer.
func TestKubeIsPure(t *testing.T) {
	testkit.Pure(t, "k8s.io/client-go/kubernetes", "k8s.io/client-go/rest",
		"github.com/stackctl/stackctl/internal/render", "github.com/stackctl/stackctl/internal/outdir")
}
