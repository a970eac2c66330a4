package kube_test

import (
	"testing"

	"github.com/stackctl/stackctl/internal/testkit"
)

// TestKubeIsPure keeps the Kubernetes renderer, like the compiler, free of
// I/O, clocks and randomness, and independent of the Nomad side's writer.
// It uses its own small object types (objects.go), not k8s.io/api: those
// packages' initialisers would run in every stackctl process, validate
// included. The tests still decode the output into the official types.
func TestKubeIsPure(t *testing.T) {
	testkit.Pure(t, "k8s.io/client-go/kubernetes", "k8s.io/client-go/rest",
		"k8s.io/api/core/v1", "k8s.io/api/apps/v1", "k8s.io/api/autoscaling/v2", "k8s.io/api/networking/v1",
		"k8s.io/apimachinery/pkg/apis/meta/v1", "k8s.io/apimachinery/pkg/api/resource",
		"k8s.io/apimachinery/pkg/util/intstr", "k8s.io/apimachinery/pkg/util/validation",
		"github.com/stackctl/stackctl/internal/render", "github.com/stackctl/stackctl/internal/outdir")
}
