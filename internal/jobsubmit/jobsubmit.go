// Package jobsubmit registers and reverts Nomad jobs together with the
// submitter's Consul token. A Nomad 1.6 cluster set to
// consul.allow_unauthenticated = false refuses a job whose services the
// submitter's Consul token may not write; the token travels in the job
// (Job.ConsulToken) or the revert request, and Nomad never stores it.
// Current nomad/api releases dropped those fields (Nomad 1.10 removed the
// legacy flow), so the requests are built here on top of the api client.
package jobsubmit

import (
	"encoding/json"
	"fmt"
	"net/url"

	nomad "github.com/hashicorp/nomad/api"
)

// Options mirror nomad.RegisterOptions.
type Options struct {
	EnforceIndex   bool
	ModifyIndex    uint64
	PreserveCounts bool
}

type registerRequest struct {
	Job            map[string]any
	EnforceIndex   bool   `json:",omitempty"`
	JobModifyIndex uint64 `json:",omitempty"`
	PreserveCounts bool   `json:",omitempty"`
}

// Register registers job with consulToken as the submitter's Consul token
// (none when empty).
func Register(nc *nomad.Client, job *nomad.Job, consulToken string, o Options, q *nomad.WriteOptions) (*nomad.JobRegisterResponse, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	if consulToken != "" {
		m["ConsulToken"] = consulToken
	}
	req := registerRequest{Job: m, PreserveCounts: o.PreserveCounts}
	if o.EnforceIndex {
		req.EnforceIndex, req.JobModifyIndex = true, o.ModifyIndex
	}
	var resp nomad.JobRegisterResponse
	if _, err := nc.Raw().Write("/v1/jobs", req, &resp, q); err != nil {
		return nil, err
	}
	return &resp, nil
}

type revertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64 `json:",omitempty"`
	ConsulToken         string  `json:",omitempty"`
}

// Revert reverts jobID to version, presenting consulToken as Nomad 1.6
// requires for the re-registration it makes.
func Revert(nc *nomad.Client, jobID string, version uint64, enforcePriorVersion *uint64, consulToken string, q *nomad.WriteOptions) (*nomad.JobRegisterResponse, error) {
	req := revertRequest{JobID: jobID, JobVersion: version, EnforcePriorVersion: enforcePriorVersion, ConsulToken: consulToken}
	var resp nomad.JobRegisterResponse
	if _, err := nc.Raw().Write("/v1/job/"+url.PathEscape(jobID)+"/revert", req, &resp, q); err != nil {
		return nil, err
	}
	return &resp, nil
}
