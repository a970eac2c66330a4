// Package kube renders a validated stack as Kubernetes manifests, the
// baseline stackctl compares the HashiCorp path against.
package kube

import (
	"errors"

	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// Render returns the manifests of every service, one file per service
// (<service>/kubernetes.yaml) plus shared objects, deterministically.
func Render(st *spec.Stack) ([]render.File, error) {
	return nil, errors.New("the kubernetes target is not implemented yet")
}
