// Package rollback runs a previous version of a service's job again: the
// newest earlier stable one, or the one asked for. The rollback is a new
// job version; the descriptor is unchanged, so the next deploy brings the
// descriptor's version back.
package rollback

import (
	"context"
	"errors"
	"fmt"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
)

// Options say which service to roll back, and to which version (nil: the
// newest earlier stable one).
type Options struct {
	Namespace, Service string
	Stack              string // the stack the command acts for: only its jobs are rolled back
	Version            *uint64
}

// Result is what Rollback did.
type Result struct {
	From, To uint64
	EvalID   string
}

// SameVersionError means the service already runs the version asked for.
type SameVersionError struct {
	Service string
	Version uint64
}

func (e *SameVersionError) Error() string {
	return fmt.Sprintf("%s already runs version %d", e.Service, e.Version)
}

// Rollback reverts the job, only while it is still at the version it read.
func Rollback(ctx context.Context, cl *cluster.Cluster, opts Options) (*Result, error) {
	if opts.Stack == "" {
		return nil, errors.New("rollback needs the stack it acts for")
	}
	versions, err := cl.Nomad.Versions(ctx, opts.Namespace, opts.Service)
	if cluster.IsNotFound(err) || (err == nil && len(versions) == 0) {
		return nil, fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", opts.Service, opts.Namespace)
	}
	if err != nil {
		return nil, err
	}
	owner := compile.Owner{Namespace: opts.Namespace, Stack: opts.Stack, Service: opts.Service}
	if err := deploy.ClaimDeployed(versions[0], owner, "rollback", "roll it back"); err != nil {
		return nil, err
	}
	current := deref(versions[0].Version)
	target, err := choose(opts, versions, current)
	if err != nil {
		return nil, err
	}
	resp, err := cl.Nomad.Revert(ctx, opts.Namespace, opts.Service, target, current)
	if err != nil {
		return nil, err
	}
	return &Result{From: current, To: target, EvalID: resp.EvalID}, nil
}

// choose picks the version to go back to from the job's versions (newest
// first).
func choose(opts Options, versions []*nomad.Job, current uint64) (uint64, error) {
	if opts.Version != nil {
		if *opts.Version == current {
			return 0, &SameVersionError{Service: opts.Service, Version: current}
		}
		var have []string
		for _, j := range versions {
			if deref(j.Version) == *opts.Version {
				return *opts.Version, nil
			}
			have = append(have, fmt.Sprint(deref(j.Version)))
		}
		return 0, fmt.Errorf("%s has no version %d (Nomad keeps: %s)", opts.Service, *opts.Version, strings.Join(have, ", "))
	}
	for _, j := range versions[1:] {
		if deref(j.Stable) {
			return deref(j.Version), nil
		}
	}
	return 0, fmt.Errorf("%s has no earlier stable version to go back to (current version %d)", opts.Service, current)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
