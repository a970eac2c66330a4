// Package apimodel is where what compile emits meets the types of the
// Nomad and Consul API packages: it converts a compiled job or intentions
// entry into the value the API clients send and the JSON renderers write,
// and reads stackctl's records (owner, Traefik routes) back from objects
// read from the cluster. compile itself stays free of those packages and
// the HTTP clients they bring (compile/depcheck_test.go).
package apimodel

import (
	"bytes"
	"encoding/json"
	"fmt"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/compile"
)

// Job converts a compiled job into Nomad's type. The result is a deep
// copy: plan may change it (counts, meta) without touching the bundle.
func Job(j *compile.Job) (*nomad.Job, error) {
	if j == nil {
		return nil, nil
	}
	out := new(nomad.Job)
	if err := convert(j, out); err != nil {
		return nil, fmt.Errorf("job %s: %w", deref(j.ID), err)
	}
	return out, nil
}

// Intentions converts a compiled intentions entry into Consul's type; nil
// (nobody may call the service) stays nil.
func Intentions(e *compile.ServiceIntentionsConfigEntry) (*consul.ServiceIntentionsConfigEntry, error) {
	if e == nil {
		return nil, nil
	}
	out := new(consul.ServiceIntentionsConfigEntry)
	if err := convert(e, out); err != nil {
		return nil, fmt.Errorf("intentions of %s: %w", e.Name, err)
	}
	return out, nil
}

// convert goes through JSON: compile's types carry the API's field names
// and encodings (compile/nomad.go), so the JSON of one is the JSON of the
// other. A field the API type does not have is an error, not a silent
// loss, and numbers in driver config and scaling policy stay the literals
// compile wrote (json.Number), so the API value marshals to the same bytes.
func convert(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(to); err != nil {
		return fmt.Errorf("not convertible to the API type: %w", err)
	}
	return nil
}

// JobOwner reads the owner of a job read from Nomad (compile.JobOwner);
// ok is false when stackctl did not write it.
func JobOwner(j *nomad.Job) (compile.Owner, bool) {
	if j == nil {
		return compile.Owner{}, false
	}
	return compile.JobOwner(deref(j.Namespace), deref(j.ID), j.Meta)
}

// IntentionsOwner reads the owner of an entry read from Consul
// (compile.IntentionsOwner); ok is false when stackctl did not write it.
func IntentionsOwner(e *consul.ServiceIntentionsConfigEntry) (compile.Owner, bool) {
	if e == nil {
		return compile.Owner{}, false
	}
	return compile.IntentionsOwner(e.Name, e.Meta)
}

// Routes reads a job's Traefik routers back from its services' tags
// (compile.Routes), service by service.
func Routes(j *nomad.Job) []string {
	var out []string
	for _, g := range j.TaskGroups {
		for _, s := range g.Services {
			out = append(out, compile.Routes(s.Tags)...)
		}
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
