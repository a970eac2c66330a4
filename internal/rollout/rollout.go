// Package rollout follows what Nomad does after stackctl changed a job: a
// deployment (watch.go), a count change (count.go), and the Connect
// instances Consul offers to Traefik and callers (mesh.go). It decides when
// a rollout is healthy (Nomad's verdict and every running instance a
// passing Connect instance) and, when it is not, explains why in words a
// person can act on (reasons.go): while it runs, the inspector
// (inspect.go) follows the deployment's allocations and reports every
// task crash at once, with the end of the task's stderr (crash.go), and
// stops early when no allocation of the new version can become healthy.
package rollout

import (
	"context"
	"time"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Kind says what an event reports; it is the "type" of the event in
// deploy --format json (docs/cli.md lists each with its fields).
type Kind string

const (
	KindStep              Kind = "step"                   // an object written, or a note
	KindRegistered        Kind = "registered"             // Registered
	KindDeploymentStarted Kind = "deployment_started"     // DeploymentRef
	KindProgress          Kind = "deployment_progress"    // Progress
	KindPlacement         Kind = "placement_failed"       // Placement
	KindCrash             Kind = "task_crashed"           // Crash
	KindUnhealthy         Kind = "allocation_unhealthy"   // Unhealthy
	KindLogsUnavailable   Kind = "logs_unavailable"       // LogsUnavailable
	KindMesh              Kind = "mesh_progress"          // MeshStatus
	KindWaiting           Kind = "waiting_for_deployment" // Waiting
	KindWaited            Kind = "deployment_finished"    // Waited
	KindFollowing         Kind = "following_rollout"      // DeploymentRef
)

// Event is one piece of progress: a line for people (Text, which may
// continue on indented lines) and, for machines, its Kind and Data, the
// kind's fields (nil for a step).
type Event struct {
	Service string
	Kind    Kind
	// Status replaces the service's previous status line (a terminal
	// redraws it in place); other events are printed once.
	Status bool
	Text   string
	Data   any
}

func (e Event) String() string { return e.Service + ": " + e.Text }

// Reporter receives events, for people or logs; concurrent watchers share
// one, so it must be safe for concurrent use.
type Reporter func(Event)

// Step reports a step of service.
func (r Reporter) Step(service, text string) { r(Event{Service: service, Kind: KindStep, Text: text}) }

// Emit reports an event of kind with its data.
func (r Reporter) Emit(service string, kind Kind, text string, data any) {
	r(Event{Service: service, Kind: kind, Text: text, Data: data})
}

// Registered is the data of a KindRegistered event.
type Registered struct {
	JobVersion uint64 `json:"job_version"`
	Evaluation string `json:"evaluation"`
}

// DeploymentRef names a deployment (KindDeploymentStarted,
// KindFollowing).
type DeploymentRef struct {
	Deployment string `json:"deployment"`
	JobVersion uint64 `json:"job_version"`
	Status     string `json:"status,omitempty"`
}

// Placement is the data of a KindPlacement event.
type Placement struct {
	Reason string `json:"reason"`
}

// Target is a registered job whose rollout is followed.
type Target struct {
	Service    string
	Namespace  string
	EvalID     string
	JobVersion uint64
	Connect    bool // the job has a Connect sidecar: healthy waits for the mesh too
}

// pollInterval is how often progress is read when a blocking query returns
// early.
const pollInterval = time.Second

// Sleep waits d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error { return sleep(ctx, d) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// IsStopWaiting tells apart a deadline or Ctrl-C (the rollout goes on in
// Nomad) from a real failure.
func IsStopWaiting(err error) bool { return cluster.Interrupted(err) }
