// Package rollout follows what Nomad does after stackctl changed a job: a
// deployment (watch.go), a count change (count.go), and the Connect
// instances Consul offers to Traefik and callers (mesh.go). It decides when
// a rollout is healthy (Nomad's verdict and every running instance a
// passing Connect instance) and, when it is not, explains why in words a
// person can act on (reasons.go).
package rollout

import (
	"context"
	"time"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Event is one line of progress. A Status event replaces the service's
// previous status (a terminal redraws it in place); the others are steps.
type Event struct {
	Service string
	Status  bool
	Text    string
}

func (e Event) String() string { return e.Service + ": " + e.Text }

// Reporter receives events, for people or logs; concurrent watchers share
// one, so it must be safe for concurrent use.
type Reporter func(Event)

// Step reports a step of service.
func (r Reporter) Step(service, text string) { r(Event{Service: service, Text: text}) }

// State reports the current status of service.
func (r Reporter) State(service, text string) { r(Event{Service: service, Status: true, Text: text}) }

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
