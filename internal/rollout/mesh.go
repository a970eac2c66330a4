package rollout

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Nomad's deployment health counts the group's own checks only. Traefik
// and upstream callers route to an instance once its Connect sidecar is
// passing in Consul (the proxy listening, and an alias of the service's
// checks), and the sidecar's listening check runs every 10 s, first at a
// random moment: an instance can be "healthy" in Nomad for a while before
// any request reaches it. So stackctl calls a rollout healthy only when
// every running allocation is also a passing Connect instance.

// MeshStatus says how many of a job's running allocations Consul offers as
// Connect instances.
// It is the data of a KindMesh event.
type MeshStatus struct {
	Running int `json:"running"`
	Ready   int `json:"ready"`
	// Waiting has one line per running allocation not offered, with why,
	// for people: Consul's check output in it is made printable, like in
	// every sentence stackctl words (Printable).
	Waiting []string `json:"waiting,omitempty"`
}

// Done says whether every running allocation is offered.
func (m MeshStatus) Done() bool { return m.Ready == m.Running }

func (m MeshStatus) String() string {
	return fmt.Sprintf("%d/%d instances in the mesh", m.Ready, m.Running)
}

// meshStatus matches the group's running allocations with Connect
// instances: Nomad names every service it registers _nomad-task-<alloc ID>-...
func meshStatus(allocs []*nomad.AllocationListStub, group string, entries []*consul.ServiceEntry) MeshStatus {
	var m MeshStatus
	for _, a := range allocs {
		if a.TaskGroup != group || a.ClientStatus != nomad.AllocClientStatusRunning || a.DesiredStatus != nomad.AllocDesiredStatusRun {
			continue
		}
		m.Running++
		var entry *consul.ServiceEntry
		for _, e := range entries {
			if e.Service != nil && strings.Contains(e.Service.ID, "-"+a.ID+"-") {
				entry = e
				break
			}
		}
		if entry == nil {
			m.Waiting = append(m.Waiting, fmt.Sprintf("allocation %s: its Connect sidecar is not registered in Consul yet", cluster.ShortID(a.ID)))
			continue
		}
		if routable(entry.Checks.AggregatedStatus()) {
			m.Ready++
			continue
		}
		var failing []string
		for _, c := range entry.Checks {
			if routable(c.Status) {
				continue
			}
			out := shorten(strings.TrimSpace(c.Output), 160)
			if out == "" {
				failing = append(failing, fmt.Sprintf("check %q %s", c.Name, c.Status))
			} else {
				failing = append(failing, fmt.Sprintf("check %q %s: %s", c.Name, c.Status, out))
			}
		}
		sort.Strings(failing)
		m.Waiting = append(m.Waiting, Printable(fmt.Sprintf("allocation %s: %s", cluster.ShortID(a.ID), strings.Join(failing, "; "))))
	}
	sort.Strings(m.Waiting)
	return m
}

// routable: Traefik's default strictChecks (and Consul's DNS) serve
// passing and warning instances.
func routable(status string) bool {
	return status == consul.HealthPassing || status == consul.HealthWarning
}

// MeshInstances reads the allocations of a job's group from Nomad and the
// Connect instances of the group's service from Consul (what Traefik and
// upstreams read). A stackctl service is a job, a group and a service of
// the same name.
func MeshInstances(ctx context.Context, cl *cluster.Cluster, namespace, job, group, service string) (MeshStatus, error) {
	allocs, err := cl.Nomad.Allocations(ctx, namespace, job)
	if err != nil {
		return MeshStatus{}, err
	}
	entries, err := cl.Consul.Connect(ctx, service)
	if err != nil {
		return MeshStatus{}, err
	}
	return meshStatus(allocs, group, entries), nil
}

// UsesConnect says whether any group service of the job is in the mesh;
// only those have a sidecar to wait for.
func UsesConnect(job *nomad.Job) bool {
	for _, g := range job.TaskGroups {
		for _, s := range g.Services {
			if s.Connect != nil {
				return true
			}
		}
	}
	return false
}

// WaitMesh polls until every running allocation of the service's job is a
// passing Connect instance, reporting progress; on the context's end it
// returns the last status with the context's error.
func WaitMesh(ctx context.Context, cl *cluster.Cluster, namespace, service string, report Reporter) (MeshStatus, error) {
	last := ""
	for {
		m, err := MeshInstances(ctx, cl, namespace, service, service, service)
		if err != nil {
			if ctx.Err() != nil {
				return m, ctx.Err()
			}
			return m, err
		}
		if line := m.String(); line != last {
			report.Emit(service, KindMesh, line, m)
			last = line
		}
		if m.Done() {
			return m, nil
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return m, err
		}
	}
}
