package jsonview

import (
	"strings"

	"github.com/stackctl/stackctl/internal/status"
)

// StatusList is `stackctl status --format json`.
type StatusList struct {
	Header
	Namespace string          `json:"namespace"`
	Services  []ServiceStatus `json:"services"`
}

// StatusService is `stackctl status --format json SERVICE`.
type StatusService struct {
	Header
	Namespace string        `json:"namespace"`
	Service   ServiceDetail `json:"service"`
}

// ServiceStatus is one service's summary.
type ServiceStatus struct {
	Name       string      `json:"name"`
	Version    uint64      `json:"version"`
	Status     string      `json:"status"`
	Health     *Health     `json:"health"`
	Groups     []Group     `json:"groups"`
	Deployment *Deployment `json:"deployment"`
	Routes     []Route     `json:"routes"`
}

// Health counts allocations over the service's groups.
type Health struct {
	Desired int `json:"desired"`
	Running int `json:"running"`
	Healthy int `json:"healthy"`
}

// Group is a task group's count and autoscaling bounds.
type Group struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Min   *int64 `json:"min"`
	Max   *int64 `json:"max"`
}

// Deployment is the service's latest Nomad deployment.
type Deployment struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Description string `json:"description"`
	JobVersion  uint64 `json:"job_version"`
}

// Route is a Traefik router of the service.
type Route struct {
	Entrypoints []string `json:"entrypoints"`
	Rule        string   `json:"rule"`
}

// ServiceDetail is a service in full: its summary, the mesh, the scaling
// events and the allocations.
type ServiceDetail struct {
	ServiceStatus
	Mesh          *Mesh          `json:"mesh"`
	MeshError     *string        `json:"mesh_error"`
	ScalingEvents []ScalingEvent `json:"scaling_events"`
	Allocations   []Allocation   `json:"allocations"`
}

// Mesh counts the running allocations Consul offers as Connect instances.
type Mesh struct {
	Running int      `json:"running"`
	Ready   int      `json:"ready"`
	Waiting []string `json:"waiting"`
}

// ScalingEvent is one of the autoscaler's (or stackctl scale's) actions.
type ScalingEvent struct {
	Time          *string `json:"time"`
	Count         *int64  `json:"count"`
	PreviousCount int64   `json:"previous_count"`
	Message       string  `json:"message"`
}

// Allocation is one of the service's Nomad allocations.
type Allocation struct {
	ID            string  `json:"id"`
	Node          string  `json:"node"`
	JobVersion    uint64  `json:"job_version"`
	DesiredStatus string  `json:"desired_status"`
	ClientStatus  string  `json:"client_status"`
	Healthy       *bool   `json:"healthy"`
	CreatedAt     *string `json:"created_at"`
}

// NewStatusList builds the list document.
func NewStatusList(namespace string, list []status.Summary) StatusList {
	doc := StatusList{Header: header(), Namespace: namespace, Services: []ServiceStatus{}}
	for i := range list {
		doc.Services = append(doc.Services, summary(&list[i]))
	}
	return doc
}

// NewStatusService builds the one-service document.
func NewStatusService(namespace string, d *status.Detail) StatusService {
	sd := ServiceDetail{ServiceStatus: summary(&d.Summary), ScalingEvents: []ScalingEvent{}, Allocations: []Allocation{}}
	if d.Mesh != nil {
		sd.Mesh = &Mesh{Running: d.Mesh.Running, Ready: d.Mesh.Ready, Waiting: list(d.Mesh.Waiting)}
	}
	if d.MeshErr != nil {
		sd.MeshError = ptr(d.MeshErr.Error())
	}
	for _, ev := range d.Scaling {
		sd.ScalingEvents = append(sd.ScalingEvents, ScalingEvent{Time: Time(ev.Time), Count: ev.Count, PreviousCount: ev.PreviousCount, Message: ev.Message})
	}
	for _, a := range d.Allocations {
		al := Allocation{ID: a.ID, Node: a.NodeName, JobVersion: a.JobVersion, DesiredStatus: a.DesiredStatus,
			ClientStatus: a.ClientStatus, CreatedAt: nanos(a.CreateTime)}
		if a.DeploymentStatus != nil {
			al.Healthy = a.DeploymentStatus.Healthy
		}
		sd.Allocations = append(sd.Allocations, al)
	}
	return StatusService{Header: header(), Namespace: namespace, Service: sd}
}

func summary(s *status.Summary) ServiceStatus {
	out := ServiceStatus{Name: s.Service, Version: s.Version, Status: s.Status, Groups: []Group{}, Routes: []Route{}}
	if h := s.Health; h != nil {
		out.Health = &Health{Desired: h.Desired, Running: h.Running, Healthy: h.Healthy}
	}
	for _, g := range s.Groups {
		out.Groups = append(out.Groups, Group{Name: g.Name, Count: g.Count, Min: g.Min, Max: g.Max})
	}
	if d := s.Deployment; d != nil {
		out.Deployment = &Deployment{ID: d.ID, Status: d.Status, Description: d.StatusDescription, JobVersion: d.JobVersion}
	}
	for _, r := range s.Routes {
		out.Routes = append(out.Routes, Route{Entrypoints: strings.Split(r.Entrypoint, ","), Rule: r.Rule})
	}
	return out
}
