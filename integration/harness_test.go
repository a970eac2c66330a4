//go:build integration

// Package integration tests stackctl against the real agents: the dev stack
// (internal/devstack) is started once per run, or a healthy one already
// running is reused and left running.
//
//	go test -tags integration ./integration/...
//
// STACKCTL_KEEP_STACK=1 keeps a stack this run started, for debugging.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/cli"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/devstack"
	"github.com/stackctl/stackctl/internal/jobsubmit"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/testkit"
)

// Stack is the running dev stack and its API clients.
type Stack struct {
	State  *devstack.State
	Repo   string
	Nomad  *nomad.Client
	Consul *consul.Client
	Vault  *vault.Client
}

var stack *Stack

// ownStack is true when this run started the stack (and will stop it), so
// tests may break it on purpose at the end.
var ownStack bool

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx := context.Background()
	s, started, err := startStack(ctx)
	if err != nil {
		planted.removeForeign()
		fmt.Fprintf(os.Stderr, "integration: dev stack: %v\n", err)
		return 1
	}
	stack, ownStack = s, started
	code := m.Run()
	planted.removeForeign() // while the engine runs: down may stop it
	if started && os.Getenv("STACKCTL_KEEP_STACK") == "" {
		if err := devstack.Down(context.Background(), s.State.Dir, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "integration: dev down: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// startStack reuses a healthy stack or starts one through the same code as
// `stackctl dev up`; started says whether this run owns it.
func startStack(ctx context.Context) (*Stack, bool, error) {
	repo, err := devstack.FindRepo()
	if err != nil {
		return nil, false, err
	}
	stateDir, err := devstack.StateDir()
	if err != nil {
		return nil, false, err
	}
	cacheDir, err := devstack.CacheDir()
	if err != nil {
		return nil, false, err
	}
	started := false
	st, err := devstack.LoadState(stateDir)
	if err == nil && healthy(ctx, st) {
		fmt.Fprintf(os.Stderr, "integration: reusing the healthy dev stack in %s\n", stateDir)
	} else {
		start := time.Now()
		planted = plantLeftovers(ctx, stateDir)
		st, err = devstack.Up(ctx, devstack.Options{
			StateDir: stateDir, CacheDir: cacheDir, Repo: repo, Ports: devstack.DefaultPorts(),
			Install: true, Out: os.Stderr,
		})
		if err != nil {
			return nil, false, err
		}
		started = true
		fmt.Fprintf(os.Stderr, "integration: dev stack up in %.1fs\n", time.Since(start).Seconds())
	}
	s := &Stack{State: st, Repo: repo}
	if s.Nomad, err = st.NomadClient(); err != nil {
		return nil, started, err
	}
	if s.Consul, err = st.ConsulClient(); err != nil {
		return nil, started, err
	}
	if s.Vault, err = st.VaultClient(); err != nil {
		return nil, started, err
	}
	return s, started, nil
}

func healthy(ctx context.Context, st *devstack.State) bool {
	for _, h := range devstack.Status(ctx, st) {
		if !h.OK {
			return false
		}
	}
	return true
}

// eventually retries f until it returns nil or timeout passes.
var eventually = testkit.Eventually

// Entrypoints of Traefik.
const (
	public   = "public"
	internal = "internal"
)

// get sends GET path to Traefik's entrypoint with a Host header.
func (s *Stack) get(entrypoint, host, path string) (int, string, error) {
	base := s.State.PublicURL()
	if entrypoint == internal {
		base = s.State.InternalURL()
	}
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	// A fresh connection each time: intentions are checked when a
	// connection opens.
	req.Close = true
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitGet retries a GET until it answers want.
func (s *Stack) waitGet(t *testing.T, timeout time.Duration, entrypoint, host, path string, want int) string {
	t.Helper()
	var body string
	err := testkit.Poll(timeout, func() error {
		code, b, err := s.get(entrypoint, host, path)
		if err == nil && code != want {
			err = fmt.Errorf("got %d: %.200s", code, b)
		}
		body = b
		return err
	})
	if err != nil {
		// What Traefik was given, so that a routing failure explains itself.
		s.routingDiagnostics(t)
		t.Fatalf("GET %s%s on %s -> %d: not done after %s: %v", host, path, entrypoint, want, timeout, err)
	}
	return body
}

// routingDiagnostics logs, for every service Traefik may route, the health
// of its Connect instances in Consul (what Traefik reads), and the end of
// Traefik's own log.
func (s *Stack) routingDiagnostics(t *testing.T) {
	t.Helper()
	services, _, err := s.Consul.Catalog().Services(nil)
	if err != nil {
		t.Logf("diagnostics: consul catalog: %v", err)
		return
	}
	for name, tags := range services {
		if !strings.Contains(strings.Join(tags, ","), "traefik.enable=true") {
			continue
		}
		entries, _, err := s.Consul.Health().Connect(name, "traefik.enable=true", false, nil)
		if err != nil {
			t.Logf("diagnostics: %s: %v", name, err)
			continue
		}
		for _, e := range entries {
			var checks []string
			for _, c := range e.Checks {
				check := fmt.Sprintf("%q=%s", c.Name, c.Status)
				if c.Status != consul.HealthPassing {
					check += fmt.Sprintf(" (%.200s)", c.Output)
				}
				checks = append(checks, check)
			}
			t.Logf("diagnostics: consul connect instance of %s: %s %s:%d %s (%s)", name, e.Service.ID, e.Service.Address, e.Service.Port,
				e.Checks.AggregatedStatus(), strings.Join(checks, ", "))
		}
		if len(entries) == 0 {
			t.Logf("diagnostics: %s has no Connect instance tagged for Traefik", name)
		}
	}
	// What Traefik holds: its API answers on the internal entrypoint
	// (jobs/platform/traefik.nomad.hcl).
	if code, body, err := s.get(internal, "traefik.localhost", "/api/http/services"); err != nil || code != 200 {
		t.Logf("diagnostics: traefik api: %d %v %.200s", code, err, body)
	} else {
		var services []struct {
			Name         string
			LoadBalancer struct{ Servers []struct{ URL string } }
			ServerStatus map[string]string
		}
		if err := json.Unmarshal([]byte(body), &services); err != nil {
			t.Logf("diagnostics: traefik api: %v", err)
		}
		for _, svc := range services {
			var servers []string
			for _, srv := range svc.LoadBalancer.Servers {
				servers = append(servers, srv.URL+" "+svc.ServerStatus[srv.URL])
			}
			t.Logf("diagnostics: traefik service %s: servers [%s]", svc.Name, strings.Join(servers, ", "))
		}
	}
	allocs, _, err := s.Nomad.Jobs().Allocations("traefik", false, &nomad.QueryOptions{Namespace: devstack.PlatformNamespace})
	if err != nil {
		t.Logf("diagnostics: traefik allocations: %v", err)
		return
	}
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			s.taskLogTails(t, a.ID, 4096) // with the access log: where requests went
			s.traefikWarnings(t, a.ID)
		}
	}
}

// traefikWarnings logs every warning and error line Traefik wrote: why a
// router or a server was dropped (its access log is on stdout, its own log
// on stderr).
func (s *Stack) traefikWarnings(t *testing.T, allocID string) {
	t.Helper()
	alloc, _, err := s.Nomad.Allocations().Info(allocID, &nomad.QueryOptions{Namespace: devstack.PlatformNamespace})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	frames, errs := s.Nomad.AllocFS().Logs(alloc, false, "traefik", "stderr", "start", 0, ctx.Done(), nil)
	var buf bytes.Buffer
	for done := false; !done; {
		select {
		case f, ok := <-frames:
			if !ok {
				done = true
			} else if f != nil {
				buf.Write(f.Data)
			}
		case <-errs:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, " ERR ") || strings.Contains(line, " WRN ") {
			t.Logf("diagnostics: traefik: %s", line)
		}
	}
}

// allocDiagnostics logs allocReport for a job and the end of the task
// logs of its running allocations.
func (s *Stack) allocDiagnostics(t *testing.T, job string) {
	t.Helper()
	t.Logf("diagnostics: allocations of %s:\n%s", job, s.allocReport(job))
	allocs, _, err := s.Nomad.Jobs().Allocations(job, false, nil)
	if err != nil {
		return
	}
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			s.taskLogTails(t, a.ID, 2048)
		}
	}
}

// taskLogTails logs the last size bytes of every task's stdout and stderr
// in an allocation (e.g. a sidecar proxy waiting for its certificate).
func (s *Stack) taskLogTails(t *testing.T, allocID string, size int64) {
	t.Helper()
	alloc, _, err := s.Nomad.Allocations().Info(allocID, nil)
	if err != nil {
		t.Logf("diagnostics: alloc %s: %v", allocID, err)
		return
	}
	for task := range alloc.TaskStates {
		for _, stream := range []string{"stdout", "stderr"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			frames, errs := s.Nomad.AllocFS().Logs(alloc, false, task, stream, "end", size, ctx.Done(), nil)
			select {
			case f := <-frames:
				if f != nil && len(f.Data) > 0 {
					t.Logf("diagnostics: %s %s %s (end):\n%s", allocID[:8], task, stream, f.Data)
				}
			case err := <-errs:
				t.Logf("diagnostics: %s %s %s: %v", allocID[:8], task, stream, err)
			case <-ctx.Done():
			}
			cancel()
		}
	}
}

// parseJobFile parses an HCL2 job file with Nomad's own parser.
func (s *Stack) parseJobFile(t *testing.T, path, vars string) *nomad.Job {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.Nomad.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(src), Variables: vars, Canonicalize: true})
	if err != nil {
		t.Fatalf("nomad parse %s: %v", path, err)
	}
	return job
}

// registerPayload submits a /v1/jobs register payload ({"Job": {...}}) as
// it is on disk, so every field the renderer wrote reaches Nomad, with the
// operator's tokens (Nomad's, and Consul's for the job's services).
func (s *Stack) registerPayload(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var payload struct{ Job map[string]any }
	if err := json.Unmarshal(b, &payload); err != nil || payload.Job == nil {
		t.Fatalf("%s: not a register payload: %v", path, err)
	}
	admin := s.admin(t)
	payload.Job["ConsulToken"] = admin.Consul
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPut, s.State.NomadAddr()+"/v1/jobs", bytes.NewReader(body))
	req.Header.Set("X-Nomad-Token", admin.Nomad)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("register %s: %s: %s", path, resp.Status, answer)
	}
	id, _ := payload.Job["ID"].(string)
	return id
}

// registerJob registers a parsed job with the operator's Consul token.
func (s *Stack) registerJob(t *testing.T, job *nomad.Job) {
	t.Helper()
	if _, err := jobsubmit.Register(s.Nomad, job, s.admin(t).Consul, jobsubmit.Options{}, nil); err != nil {
		t.Fatalf("register %s: %v", *job.ID, err)
	}
}

// admin returns the stack's bootstrap credentials.
func (s *Stack) admin(t *testing.T) devstack.Credentials {
	t.Helper()
	c, err := s.State.Admin()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stopExisting stops a job of that name left by someone else (a reused
// stack where scripts/up.sh deployed jobs/) and waits until none of its
// allocations runs, so that what the test registers next starts fresh
// instances: re-registering an identical job would keep the old ones, with
// secrets read before the test wrote its own.
func (s *Stack) stopExisting(t *testing.T, id string) {
	t.Helper()
	if _, _, err := s.Nomad.Jobs().Info(id, nil); err != nil {
		return // none
	}
	if _, _, err := s.Nomad.Jobs().Deregister(id, true, nil); err != nil {
		t.Fatalf("stop the existing job %s: %v", id, err)
	}
	eventually(t, 2*time.Minute, "the existing job "+id+" stopped", func() error {
		allocs, _, err := s.Nomad.Jobs().Allocations(id, true, nil)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if a.ClientStatus == "running" || a.ClientStatus == "pending" {
				return fmt.Errorf("allocation %s is %s", a.ID[:8], a.ClientStatus)
			}
		}
		return nil
	})
}

// purgeJob stops and purges a job when the test ends.
func (s *Stack) purgeJob(t *testing.T, id string) {
	t.Cleanup(func() {
		if _, _, err := s.Nomad.Jobs().Deregister(id, true, nil); err != nil {
			t.Logf("purge %s: %v", id, err)
		}
	})
}

// waitJobHealthy waits until the job's latest deployment succeeded (every
// allocation running and passing its checks), or fails with the reason.
func (s *Stack) waitJobHealthy(t *testing.T, id string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "job "+id+" healthy", func() error {
		d, _, err := s.Nomad.Jobs().LatestDeployment(id, nil)
		if err != nil {
			return err
		}
		if d == nil {
			return devstack.JobRunning(s.Nomad, "default", id)
		}
		switch d.Status {
		case "successful":
			return s.inMesh(id)
		case "failed", "cancelled":
			t.Fatalf("job %s: deployment %s: %s\n%s", id, d.Status, d.StatusDescription, s.allocReport(id))
		}
		return fmt.Errorf("deployment %s: %s", d.Status, d.StatusDescription)
	})
}

// inMesh is nil once every running allocation of a Connect job is also a
// passing Connect instance in Consul: Nomad's "successful" does not wait
// for the sidecar, Traefik does (internal/rollout/mesh.go).
func (s *Stack) inMesh(id string) error {
	job, _, err := s.Nomad.Jobs().Info(id, nil)
	if err != nil {
		return err
	}
	cl := cluster.FromClients(s.Nomad, s.Consul, nil, "")
	for _, g := range job.TaskGroups {
		for _, svc := range g.Services {
			if svc.Connect == nil {
				continue
			}
			m, err := rollout.MeshInstances(context.Background(), cl, "", id, *g.Name, svc.Name)
			if err != nil {
				return err
			}
			if !m.Done() {
				return fmt.Errorf("%s: %s: %s", svc.Name, m, strings.Join(m.Waiting, "; "))
			}
		}
	}
	return nil
}

// allocReport summarises a job's allocations for a failure message.
func (s *Stack) allocReport(id string) string {
	allocs, _, err := s.Nomad.Jobs().Allocations(id, true, nil)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, a := range allocs {
		healthy := "-"
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			healthy = fmt.Sprint(*a.DeploymentStatus.Healthy)
		}
		fmt.Fprintf(&b, "alloc %s v%d %s/%s healthy %s\n", a.ID[:8], a.JobVersion, a.DesiredStatus, a.ClientStatus, healthy)
		for task, ts := range a.TaskStates {
			for _, e := range ts.Events {
				fmt.Fprintf(&b, "  %s %s: %s %s\n", task, time.Unix(0, e.Time).UTC().Format("15:04:05.000"), e.Type, e.DisplayMessage)
			}
		}
	}
	return b.String()
}

// consulConfigWrite applies a config entry file with `consul config write`
// and the operator's token.
func (s *Stack) consulConfigWrite(t *testing.T, file string) error {
	cmd := exec.Command(s.State.Bins["consul"], "config", "write", "-http-addr="+s.State.ConsulAddr(), file)
	cmd.Env = append(os.Environ(), "CONSUL_HTTP_TOKEN="+s.admin(t).Consul)
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("consul config write %s: %v: %s", file, err, b)
	}
	return nil
}

// renderExamples renders jobs/ with the stackctl CLI in-process.
func renderExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := cli.Main([]string{"stackctl", "render", "-o", dir, filepath.Join(stack.Repo, "jobs")}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("stackctl render: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	return dir
}

// renderedServices lists the service directories of a render.
func renderedServices(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var svcs []string
	for _, e := range ents {
		if e.IsDir() {
			svcs = append(svcs, e.Name())
		}
	}
	if len(svcs) == 0 {
		t.Fatalf("render wrote no service in %s", dir)
	}
	return svcs
}
