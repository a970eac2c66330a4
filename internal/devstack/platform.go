package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/jobsubmit"
)

// Platform job files, relative to the repository. They run in
// PlatformNamespace, submitted with the operator's tokens as on a cluster.
const (
	traefikJob    = "jobs/platform/traefik.nomad.hcl"
	autoscalerJob = "jobs/platform/nomad-autoscaler.nomad.hcl"
)

// submitPlatform registers Traefik and the autoscaler and waits for both.
func (st *State) submitPlatform(ctx context.Context, repo string, step func(string, time.Time)) error {
	nc, err := st.NomadClient()
	if err != nil {
		return err
	}
	// Nomad registers a job's services only for a submitter whose Consul
	// token may write them: Traefik's is the operator's to register.
	consulTok, err := st.readSecret(consulManagementToken)
	if err != nil {
		return err
	}
	t := time.Now()
	errs := make(chan error, 2)
	go func() {
		vars := fmt.Sprintf("namespace = %q\npublic_port = %d\ninternal_port = %d\nconsul_http_addr = \"127.0.0.1:%d\"\n",
			PlatformNamespace, st.Ports.Public, st.Ports.Internal, st.Ports.ConsulHTTP)
		err := submitJobFile(ctx, nc, filepath.Join(repo, traefikJob), vars, consulTok)
		if err == nil {
			if err = st.waitTraefik(ctx, nc); err == nil {
				step("traefik: running, Connect certificate held, catalog routes loaded", t)
			}
		}
		errs <- err
	}()
	go func() {
		vars := fmt.Sprintf("namespace = %q\nnomad_addr = %q\nhttp_port = %d\n", PlatformNamespace, st.NomadAddr(), st.Ports.Autoscaler)
		err := submitJobFile(ctx, nc, filepath.Join(repo, autoscalerJob), vars, consulTok)
		if err == nil {
			if err = st.waitAutoscaler(ctx, nc); err == nil {
				step("nomad-autoscaler: running, connected to Nomad with its own token", t)
			}
		}
		errs <- err
	}()
	return errors.Join(<-errs, <-errs)
}

// submitJobFile parses an HCL2 job file with the server's own parser (so
// the file is exactly what `nomad job run -var-file` accepts) and
// registers it with consulToken as the submitter's Consul token.
func submitJobFile(ctx context.Context, nc *nomad.Client, path, vars, consulToken string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	job, err := nc.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(src), Variables: vars, Canonicalize: true})
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	if _, err := jobsubmit.Register(nc, job, consulToken, jobsubmit.Options{}, (&nomad.WriteOptions{Namespace: *job.Namespace}).WithContext(ctx)); err != nil {
		return fmt.Errorf("register %s: %w", path, err)
	}
	return nil
}

// JobRunning checks that every allocation the job should have is running
// with all its tasks up, and returns a reason when not.
func JobRunning(nc *nomad.Client, namespace, jobID string) error {
	allocs, _, err := nc.Jobs().Allocations(jobID, false, &nomad.QueryOptions{Namespace: namespace})
	if err != nil {
		return err
	}
	running := 0
	for _, a := range allocs {
		if a.DesiredStatus != "run" {
			continue
		}
		switch a.ClientStatus {
		case "running":
			running++
		case "failed", "lost":
			return permanent(fmt.Errorf("job %s: allocation %s %s: %s", jobID, a.ID[:8], a.ClientStatus, taskEvents(a)))
		}
	}
	if running == 0 {
		return fmt.Errorf("job %s: no running allocation", jobID)
	}
	return nil
}

func taskEvents(a *nomad.AllocationListStub) string {
	var msgs []string
	for task, ts := range a.TaskStates {
		for _, e := range ts.Events {
			if e.DisplayMessage != "" {
				msgs = append(msgs, task+": "+e.DisplayMessage)
			}
		}
	}
	if len(msgs) > 3 {
		msgs = msgs[len(msgs)-3:]
	}
	return strings.Join(msgs, "; ")
}

var httpClient = &http.Client{Timeout: 3 * time.Second}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// waitTraefik waits for the job and then for the readiness router
// (jobs/platform/traefik.nomad.hcl): it answers only after Traefik got its
// Connect certificate and loaded the Consul catalog.
func (st *State) waitTraefik(ctx context.Context, nc *nomad.Client) error {
	return waitFor(ctx, 90*time.Second, "traefik", func() error {
		if err := st.alive("nomad"); err != nil {
			return err
		}
		if err := JobRunning(nc, PlatformNamespace, "traefik"); err != nil {
			return err
		}
		return httpOK(ctx, st.InternalURL()+"/traefik-ready")
	})
}

func (st *State) waitAutoscaler(ctx context.Context, nc *nomad.Client) error {
	return waitFor(ctx, 60*time.Second, "nomad-autoscaler", func() error {
		if err := st.alive("nomad"); err != nil {
			return err
		}
		if err := JobRunning(nc, PlatformNamespace, "nomad-autoscaler"); err != nil {
			return err
		}
		return httpOK(ctx, st.AutoscalerURL()+"/v1/health")
	})
}
