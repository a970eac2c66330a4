// Package status reads what the cluster runs for the services stackctl
// deployed: versions, health, counts within their bounds, the latest
// deployment, routes, the mesh and the autoscaler's last actions.
package status

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/rollout"
)

// Summary is one service's line.
type Summary struct {
	Service    string
	Version    uint64
	Status     string
	Healthy    string // "healthy/desired", "-" when unknown
	Count      string // "count (min-max)" per group
	Deployment *nomad.Deployment
	Routes     []string // "<entrypoint> <rule>"
}

// List summarises every job stackctl deployed in namespace, by name.
func List(ctx context.Context, cl *cluster.Cluster, namespace string) ([]Summary, error) {
	stubs, err := cl.Nomad.Jobs(ctx, namespace)
	if err != nil {
		return nil, err
	}
	sort.Slice(stubs, func(i, j int) bool { return stubs[i].ID < stubs[j].ID })
	var out []Summary
	for _, s := range stubs {
		// Nomad 1.6's job list carries no meta: read each job.
		job, err := cl.Nomad.Job(ctx, namespace, s.ID)
		if err != nil {
			return nil, err
		}
		if _, ok := compile.JobOwner(job); !ok {
			continue
		}
		sum, _, err := summarise(ctx, cl, job)
		if err != nil {
			return nil, err
		}
		sum.Status = s.Status
		out = append(out, sum)
	}
	return out, nil
}

// summarise reads a job's scale status and latest deployment.
func summarise(ctx context.Context, cl *cluster.Cluster, job *nomad.Job) (Summary, *nomad.JobScaleStatusResponse, error) {
	ns, id := deref(job.Namespace), deref(job.ID)
	sum := Summary{Service: id, Version: deref(job.Version), Status: deref(job.Status), Routes: compile.Routes(job)}
	scale, err := cl.Nomad.ScaleStatus(ctx, ns, id)
	if err != nil && !cluster.IsNotFound(err) {
		return sum, nil, err
	}
	if sum.Deployment, err = cl.Nomad.LatestDeployment(ctx, ns, id); err != nil && !cluster.IsNotFound(err) {
		return sum, nil, err
	}
	sum.Healthy, sum.Count = healthy(scale), countRange(job, scale)
	return sum, scale, nil
}

// Detail is one service in full.
type Detail struct {
	Summary
	Mesh        *rollout.MeshStatus // nil without Connect, or when Consul could not say (MeshErr)
	MeshErr     error
	Scaling     []Event
	Allocations []*nomad.AllocationListStub // newest first
}

// Event is one of the autoscaler's (or stackctl scale's) actions.
type Event struct {
	Time time.Time
	Text string
}

// Service reads one service.
func Service(ctx context.Context, cl *cluster.Cluster, namespace, name string) (*Detail, error) {
	job, err := cl.Nomad.Job(ctx, namespace, name)
	if cluster.IsNotFound(err) {
		return nil, fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", name, namespace)
	}
	if err != nil {
		return nil, err
	}
	sum, scale, err := summarise(ctx, cl, job)
	if err != nil {
		return nil, err
	}
	d := &Detail{Summary: sum}
	// Healthy in Nomad is not yet routable: the Connect sidecar must pass
	// in Consul too (rollout/mesh.go).
	if rollout.UsesConnect(job) {
		m, err := rollout.MeshInstances(ctx, cl, namespace, name, name, name)
		if err != nil {
			d.MeshErr = err
		} else {
			d.Mesh = &m
		}
	}
	if scale != nil {
		for _, tg := range scale.TaskGroups {
			for i, ev := range tg.Events {
				if i >= 3 {
					break
				}
				text := ev.Message
				if ev.Count != nil {
					text = fmt.Sprintf("%d -> %d: %s", ev.PreviousCount, *ev.Count, ev.Message)
				}
				d.Scaling = append(d.Scaling, Event{Time: time.Unix(0, int64(ev.Time)).UTC(), Text: text})
			}
		}
	}
	if d.Allocations, err = cl.Nomad.Allocations(ctx, namespace, name); err != nil {
		return nil, err
	}
	sort.Slice(d.Allocations, func(i, j int) bool { return d.Allocations[i].CreateIndex > d.Allocations[j].CreateIndex })
	return d, nil
}

func healthy(s *nomad.JobScaleStatusResponse) string {
	if s == nil {
		return "-"
	}
	var h, d int
	for _, tg := range s.TaskGroups {
		h += tg.Healthy
		d += tg.Desired
	}
	return fmt.Sprintf("%d/%d", h, d)
}

func countRange(job *nomad.Job, s *nomad.JobScaleStatusResponse) string {
	var parts []string
	for _, g := range job.TaskGroups {
		count := deref(g.Count)
		if s != nil {
			if tg, ok := s.TaskGroups[deref(g.Name)]; ok {
				count = tg.Desired
			}
		}
		p := fmt.Sprint(count)
		if g.Scaling != nil && g.Scaling.Min != nil && g.Scaling.Max != nil {
			p += fmt.Sprintf(" (%d-%d)", *g.Scaling.Min, *g.Scaling.Max)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
