package deploy

import (
	"context"
	"fmt"
	"os"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// LockPrefix holds one Consul lock per service while a deploy plans and
// registers it. Nomad's enforce-index check is not atomic with its Raft
// write (two registrations planned at the same index can both pass, as the
// integration test showed on Nomad 1.6), so deploys serialise themselves.
const LockPrefix = "stackctl/deploy-locks/"

// HeldError means another deploy holds a service's lock.
type HeldError struct{ Service, Key string }

func (e *HeldError) Error() string {
	return fmt.Sprintf("another stackctl deploy of %q is in progress (Consul lock %s); wait for it (stackctl status %s) and retry",
		e.Service, e.Key, e.Service)
}

// Lock takes every service's deploy lock, or none: it returns a release
// function, or a HeldError for the first lock held elsewhere.
func Lock(ctx context.Context, cl *Clients, namespace string, services []string) (func(), error) {
	var held []*consul.Lock
	release := func() {
		for _, l := range held {
			_ = l.Unlock()
		}
	}
	host, _ := os.Hostname()
	for _, svc := range services {
		key := LockPrefix + namespace + "/" + svc
		l, err := cl.Consul.LockOpts(&consul.LockOptions{
			Key:          key,
			Value:        []byte(fmt.Sprintf("%s pid %d", host, os.Getpid())),
			SessionName:  "stackctl deploy " + svc,
			SessionTTL:   "30s",
			LockTryOnce:  true,
			LockWaitTime: 300 * time.Millisecond,
		})
		if err != nil {
			release()
			return nil, fmt.Errorf("deploy lock for %s at %s: %s", svc, cl.ConsulAddr, short(err))
		}
		ch, err := l.Lock(ctx.Done())
		if err != nil {
			release()
			return nil, fmt.Errorf("deploy lock for %s at %s: %s", svc, cl.ConsulAddr, short(err))
		}
		if ch == nil {
			release()
			return nil, &HeldError{Service: svc, Key: key}
		}
		held = append(held, l)
	}
	return release, nil
}
