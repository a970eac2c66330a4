package deploy

import (
	"context"
	"fmt"

	"github.com/stackctl/stackctl/internal/cluster"
)

// LockPrefix holds one Consul lock per service while a deploy plans and
// registers it. Nomad's enforce-index check is not atomic with its Raft
// write (two registrations planned at the same index can both pass, as the
// integration test showed on Nomad 1.6), so deploys serialise themselves.
const LockPrefix = "stackctl/deploy-locks/"

// LockKey is the lock of a service in its Nomad namespace.
func LockKey(namespace, service string) string { return LockPrefix + namespace + "/" + service }

// HeldError means another deploy holds a service's lock.
type HeldError struct{ Service, Key string }

func (e *HeldError) Error() string {
	return fmt.Sprintf("another stackctl deploy of %q is in progress (Consul lock %s); wait for it (stackctl status %s) and retry",
		e.Service, e.Key, e.Service)
}

// Lockable is a service to lock, in its own namespace.
type Lockable struct{ Namespace, Service string }

// Lock takes every service's deploy lock, or none: it returns a release
// function, or a HeldError for the first lock held elsewhere.
func Lock(ctx context.Context, cl *cluster.Cluster, services []Lockable) (func(), error) {
	var held []func()
	release := func() {
		for _, r := range held {
			r()
		}
		held = nil
	}
	for _, s := range services {
		key := LockKey(s.Namespace, s.Service)
		r, busy, err := cl.Consul.Lock(ctx, key, cluster.Holder())
		if err != nil {
			release()
			return nil, err
		}
		if busy {
			release()
			return nil, &HeldError{Service: s.Service, Key: key}
		}
		held = append(held, r)
	}
	return release, nil
}
