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

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/rollout"
)

// Summary is one service's line.
type Summary struct {
	Service    string
	Version    uint64
	Status     string
	Health     *Health // nil when Nomad reports no scaling status
	Groups     []Group
	Deployment *nomad.Deployment
	Routes     []Route
}

// Health counts a service's allocations over all its groups.
type Health struct {
	Desired, Running, Healthy int
}

// Group is a task group's count and its autoscaling bounds (nil without
// an autoscale block).
type Group struct {
	Name     string
	Count    int
	Min, Max *int64
}

// Route is a Traefik router of the service.
type Route struct {
	Entrypoint string // Traefik's entrypoints, comma-separated
	Rule       string
}

func (r Route) String() string { return r.Entrypoint + " " + r.Rule }

// Healthy is "healthy/desired", "-" when unknown.
func (s *Summary) Healthy() string {
	if s.Health == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", s.Health.Healthy, s.Health.Desired)
}

// Count is "count (min-max)" per group.
func (s *Summary) Count() string {
	var parts []string
	for _, g := range s.Groups {
		p := fmt.Sprint(g.Count)
		if g.Min != nil && g.Max != nil {
			p += fmt.Sprintf(" (%d-%d)", *g.Min, *g.Max)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
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
		if _, ok := apimodel.JobOwner(job); !ok {
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
	sum := Summary{Service: id, Version: deref(job.Version), Status: deref(job.Status)}
	for _, r := range apimodel.Routes(job) {
		ep, rule, _ := strings.Cut(r, " ")
		sum.Routes = append(sum.Routes, Route{Entrypoint: ep, Rule: rule})
	}
	scale, err := cl.Nomad.ScaleStatus(ctx, ns, id)
	if err != nil && !cluster.IsNotFound(err) {
		return sum, nil, err
	}
	if sum.Deployment, err = cl.Nomad.LatestDeployment(ctx, ns, id); err != nil && !cluster.IsNotFound(err) {
		return sum, nil, err
	}
	sum.Health, sum.Groups = health(scale), groups(job, scale)
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
	Time          time.Time
	Count         *int64 // nil for an event that changed no count
	PreviousCount int64
	Message       string
}

// Text is the event in words: "1 -> 3: scaled by stackctl".
func (e Event) Text() string {
	if e.Count == nil {
		return e.Message
	}
	return fmt.Sprintf("%d -> %d: %s", e.PreviousCount, *e.Count, e.Message)
}

// Service reads one service.
func Service(ctx context.Context, cl *cluster.Cluster, namespace, name string) (*Detail, error) {
	job, err := cl.Nomad.Job(ctx, namespace, name)
	if cluster.IsNotFound(err) {
		return nil, notDeployed(namespace, name)
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
				d.Scaling = append(d.Scaling, Event{Time: time.Unix(0, int64(ev.Time)).UTC(), Count: ev.Count, PreviousCount: ev.PreviousCount, Message: ev.Message})
			}
		}
	}
	if d.Allocations, err = cl.Nomad.Allocations(ctx, namespace, name); err != nil {
		return nil, err
	}
	sort.Slice(d.Allocations, func(i, j int) bool { return d.Allocations[i].CreateIndex > d.Allocations[j].CreateIndex })
	return d, nil
}

func health(s *nomad.JobScaleStatusResponse) *Health {
	if s == nil {
		return nil
	}
	h := &Health{}
	for _, tg := range s.TaskGroups {
		h.Healthy += tg.Healthy
		h.Running += tg.Running
		h.Desired += tg.Desired
	}
	return h
}

// groups reads each group's count from the scaling status (what the
// autoscaler chose), else from the job.
func groups(job *nomad.Job, s *nomad.JobScaleStatusResponse) []Group {
	var out []Group
	for _, g := range job.TaskGroups {
		gr := Group{Name: deref(g.Name), Count: deref(g.Count)}
		if s != nil {
			if tg, ok := s.TaskGroups[gr.Name]; ok {
				gr.Count = tg.Desired
			}
		}
		if g.Scaling != nil && g.Scaling.Min != nil && g.Scaling.Max != nil {
			gr.Min, gr.Max = g.Scaling.Min, g.Scaling.Max
		}
		out = append(out, gr)
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
