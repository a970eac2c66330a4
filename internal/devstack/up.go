package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// Options configure `dev up`.
type Options struct {
	StateDir string
	CacheDir string
	Repo     string // checkout holding jobs/platform, policies, images
	Ports    Ports
	BindAddr string // "" picks the default route's address
	// Install builds missing agents and images instead of failing.
	Install bool
	Out     io.Writer
}

// Platform job files, relative to the repository.
const (
	traefikJob    = "jobs/platform/traefik.nomad.hcl"
	autoscalerJob = "jobs/platform/nomad-autoscaler.nomad.hcl"
	nomadBridge   = "nomad" // the CNI bridge Nomad creates for bridge-mode groups
)

// Up starts the stack and returns once every component is ready. On
// failure (or interrupt) it stops what it started and keeps the logs.
func Up(ctx context.Context, o Options) (st *State, err error) {
	start := time.Now()
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := o.Ports.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(o.StateDir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	// A stack recorded here: refuse if alive, clean up if it crashed.
	if prev, err := LoadState(o.StateDir); err == nil {
		if alive := prev.Running(); len(alive) > 0 {
			return nil, fmt.Errorf("a dev stack is already running from %s (%s); stop it with `stackctl dev down`",
				o.StateDir, strings.Join(alive, ", "))
		}
		fmt.Fprintf(out, "==> recovering: the previous stack in %s did not stop cleanly; cleaning up\n", o.StateDir)
		if err := cleanup(ctx, prev, io.Discard, false); err != nil {
			return nil, fmt.Errorf("cleaning up the previous stack: %w", err)
		}
	} else if !errors.Is(err, ErrNoStack) {
		return nil, err
	} else if stray := strayProcesses(o.StateDir, NomadDataDir(o.StateDir)); len(stray) > 0 {
		// No record but tasks of an earlier stack survive: stop them.
		for _, p := range stray {
			_ = p.Stop(syscall.SIGTERM, 5*time.Second)
		}
	}
	if err := checkPortsFree(o.Ports); err != nil {
		return nil, err
	}

	st = &State{Dir: o.StateDir, StartedAt: time.Now().UTC(), Ports: o.Ports, Procs: map[string]Proc{}, Bins: map[string]string{}}
	if o.BindAddr == "" {
		st.Iface, st.BindAddr, err = HostAddr()
	} else {
		st.BindAddr = o.BindAddr
		st.Iface, err = IfaceOf(o.BindAddr)
	}
	if err != nil {
		return nil, err
	}

	// From here on, a failure stops whatever was started.
	defer func() {
		if err != nil {
			fmt.Fprintf(out, "==> dev up failed; stopping what it started (logs kept in %s)\n", filepath.Join(o.StateDir, "logs"))
			cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_ = cleanup(cctx, st, io.Discard, true)
			st = nil
		}
	}()

	if err := st.prepare(ctx, o, out); err != nil {
		return st, err
	}
	step := func(what string, since time.Time) {
		fmt.Fprintf(out, "==> %s (%.1fs)\n", what, time.Since(since).Seconds())
	}

	// Consul and Vault do not depend on each other: start both, then wait.
	if err := st.startAgent("consul", []string{"agent", "-dev", "-config-file=" + filepath.Join(o.StateDir, "consul", "consul.hcl")}, nil); err != nil {
		return st, err
	}
	token, err := newToken()
	if err != nil {
		return st, err
	}
	if err := writeFileAtomic(st.tokenPath(), []byte(token), 0o600); err != nil {
		return st, err
	}
	if err := st.startAgent("vault", []string{"server", "-dev", "-dev-root-token-id=" + token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", o.Ports.Vault), "-dev-no-store-token"}, vaultEnv()); err != nil {
		return st, err
	}
	if err := st.save(); err != nil {
		return st, err
	}

	var wg sync.WaitGroup
	var consulErr, vaultErr error
	var nomadVaultToken string
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.Now()
		if consulErr = st.waitConsul(ctx); consulErr == nil {
			if consulErr = st.consulConfigWrite(ctx, filepath.Join(o.Repo, "policies", "consul", "default-deny.hcl")); consulErr == nil {
				step("consul: leader elected, Connect CA ready, mesh default-deny", t)
			}
		}
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		if vaultErr = st.waitVault(ctx); vaultErr == nil {
			if nomadVaultToken, vaultErr = st.configureVault(ctx, filepath.Join(o.Repo, "policies", "vault")); vaultErr == nil {
				step("vault: unsealed, KV v2 at secret/, policies written", t)
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(consulErr, vaultErr); err != nil {
		return st, err
	}

	t := time.Now()
	if err := st.writeNomadConfig(nomadVaultToken); err != nil {
		return st, err
	}
	if _, err := net.InterfaceByName(nomadBridge); err != nil {
		st.CreatedBridge = true
	}
	nomadEnv := append(os.Environ(), "PATH="+filepath.Join(o.StateDir, "bin")+":"+os.Getenv("PATH"))
	if err := st.startAgent("nomad", []string{"agent", "-dev-connect", "-config=" + filepath.Join(o.StateDir, "nomad", "nomad.hcl")}, nomadEnv); err != nil {
		return st, err
	}
	if err := st.save(); err != nil {
		return st, err
	}
	if err := st.waitNomad(ctx); err != nil {
		return st, err
	}
	step("nomad: leader elected, node ready, docker and raw_exec healthy", t)
	if err := st.save(); err != nil {
		return st, err
	}

	// The platform jobs, as an operator would submit them.
	t = time.Now()
	nc, err := st.NomadClient()
	if err != nil {
		return st, err
	}
	var traefikErr, scalerErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		vars := fmt.Sprintf("public_port = %d\ninternal_port = %d\nconsul_http_addr = \"127.0.0.1:%d\"\n",
			o.Ports.Public, o.Ports.Internal, o.Ports.ConsulHTTP)
		if traefikErr = submitJobFile(nc, filepath.Join(o.Repo, traefikJob), vars); traefikErr == nil {
			if traefikErr = st.waitTraefik(ctx, nc); traefikErr == nil {
				step("traefik: running, Connect certificate held, catalog routes loaded", t)
			}
		}
	}()
	go func() {
		defer wg.Done()
		vars := fmt.Sprintf("nomad_port = %d\nhttp_port = %d\n", o.Ports.NomadHTTP, o.Ports.Autoscaler)
		if scalerErr = submitJobFile(nc, filepath.Join(o.Repo, autoscalerJob), vars); scalerErr == nil {
			if scalerErr = st.waitAutoscaler(ctx, nc); scalerErr == nil {
				step("nomad-autoscaler: running, connected to Nomad", t)
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(traefikErr, scalerErr); err != nil {
		return st, err
	}

	st.ReadyIn = time.Since(start).Round(100 * time.Millisecond).String()
	if err := st.save(); err != nil {
		return st, err
	}
	fmt.Fprintf(out, "==> dev stack ready in %s; state in %s\n", st.ReadyIn, o.StateDir)
	return st, nil
}

// prepare resolves the binaries (building them when allowed), makes sure
// Docker runs and the pause image exists, and writes the agents' configs.
func (st *State) prepare(ctx context.Context, o Options, out io.Writer) error {
	in := &Installer{Cache: o.CacheDir, Out: out}
	for _, a := range Agents {
		p, err := in.Resolve(ctx, a)
		if err != nil && o.Install {
			var paths map[string]string
			paths, err = in.Install(ctx, []Agent{a})
			p = paths[a.Name]
		}
		if err != nil {
			return err
		}
		st.Bins[a.Name] = p
	}
	// raw_exec tasks (the Connect sidecars, Traefik, the autoscaler) run
	// bare commands resolved through the Nomad agent's PATH: put the pinned
	// binaries first on it.
	binDir := filepath.Join(st.Dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	for name, p := range st.Bins {
		link := filepath.Join(binDir, name)
		_ = os.Remove(link)
		if err := os.Symlink(p, link); err != nil {
			return err
		}
	}

	if o.Install {
		if err := SystemDeps(ctx, out); err != nil {
			return err
		}
	}
	pid, err := EnsureDockerd(ctx, st.Dir, out)
	if err != nil {
		return err
	}
	if pid > 0 {
		p := newProc(pid)
		st.Dockerd = &p
	} else if prev := readPID(filepath.Join(st.Dir, "dockerd.pid")); prev > 0 && processAlive(prev) {
		// Started by `dev install` or an earlier up: still ours to stop.
		p := newProc(prev)
		st.Dockerd = &p
	}
	if !ImageExists(ctx, PauseImage.Tag) {
		if !o.Install {
			return fmt.Errorf("image %s is missing: run `stackctl dev install`", PauseImage.Tag)
		}
		if err := BuildImage(ctx, o.Repo, PauseImage, out); err != nil {
			return err
		}
	}

	for _, d := range []string{"logs", "consul", "vault", "nomad"} {
		if err := os.MkdirAll(filepath.Join(st.Dir, d), 0o755); err != nil {
			return err
		}
	}
	// Dev agents start from nothing each time.
	if err := os.RemoveAll(st.nomadDataDir()); err != nil {
		return err
	}
	for _, name := range []string{"consul", "vault", "nomad"} {
		_ = os.Remove(st.logPath(name)) // a new log per run
	}
	return st.writeConsulConfig()
}

func (st *State) startAgent(name string, args, env []string) error {
	if env == nil {
		env = os.Environ()
	}
	env = append(env, markerVar+"="+st.Dir)
	pid, err := startDaemon(st.Bins[name], args, env, st.logPath(name), st.Dir)
	if err != nil {
		return err
	}
	st.Procs[name] = newProc(pid)
	return nil
}

// alive turns a dead agent into a permanent error with its log's tail, so
// a wait fails at once instead of at its timeout.
func (st *State) alive(name string) error {
	if st.Procs[name].Alive() {
		return nil
	}
	return permanent(fmt.Errorf("%s exited; last lines of %s:\n%s", name, st.logPath(name), tailFile(st.logPath(name), 15)))
}

func vaultEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "dev-" + hex.EncodeToString(b), nil
}

// --- Consul -------------------------------------------------------------

func (st *State) writeConsulConfig() error {
	p := st.Ports
	conf := fmt.Sprintf(`# Written by stackctl dev up; dev mode: in-memory, single server.
bind_addr   = %q
# The Connect sidecars run inside the allocations' network namespaces and
# reach the HTTP API at the host's address.
client_addr = "0.0.0.0"
log_level   = "INFO"
ui_config {
  enabled = false
}
connect {
  enabled = true
}
ports {
  http     = %d
  grpc     = %d
  grpc_tls = %d
  server   = %d
  serf_lan = %d
  serf_wan = %d
  dns      = %d
}
`, st.BindAddr, p.ConsulHTTP, p.ConsulGRPC, p.ConsulGRPCTLS, p.ConsulServer, p.ConsulSerfLAN, p.ConsulSerfWAN, p.ConsulDNS)
	return writeFileAtomic(filepath.Join(st.Dir, "consul", "consul.hcl"), []byte(conf), 0o644)
}

// ConsulClient returns an API client for the stack's Consul.
func (st *State) ConsulClient() (*consul.Client, error) {
	c := consul.DefaultNonPooledConfig()
	c.Address = st.ConsulAddr()
	c.Token = ""
	return consul.NewClient(c)
}

func (st *State) waitConsul(ctx context.Context) error {
	c, err := st.ConsulClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "consul", func() error {
		if err := st.alive("consul"); err != nil {
			return err
		}
		return consulReady(c)
	})
}

func consulReady(c *consul.Client) error {
	leader, err := c.Status().Leader()
	if err != nil {
		return err
	}
	if leader == "" {
		return errors.New("no leader")
	}
	roots, _, err := c.Connect().CARoots(nil)
	if err != nil {
		return err
	}
	if roots.ActiveRootID == "" || len(roots.Roots) == 0 {
		return errors.New("Connect CA has no active root")
	}
	return nil
}

// consulConfigWrite applies a config entry file exactly as an operator
// would, with `consul config write`.
func (st *State) consulConfigWrite(ctx context.Context, file string) error {
	cmd := exec.CommandContext(ctx, st.Bins["consul"], "config", "write", "-http-addr="+st.ConsulAddr(), file)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("consul config write %s: %v: %s", file, err, b)
	}
	return nil
}

// --- Vault --------------------------------------------------------------

// VaultClient returns an API client for the stack's Vault with the root
// token.
func (st *State) VaultClient() (*vault.Client, error) {
	c := vault.DefaultConfig()
	c.Address = st.VaultAddr()
	c.MaxRetries = 0
	vc, err := vault.NewClient(c)
	if err != nil {
		return nil, err
	}
	tok, err := st.RootToken()
	if err != nil {
		return nil, err
	}
	vc.SetToken(tok)
	return vc, nil
}

func (st *State) waitVault(ctx context.Context) error {
	vc, err := st.VaultClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "vault", func() error {
		if err := st.alive("vault"); err != nil {
			return err
		}
		return vaultReady(ctx, vc)
	})
}

func vaultReady(ctx context.Context, vc *vault.Client) error {
	h, err := vc.Sys().HealthWithContext(ctx)
	if err != nil {
		return err
	}
	if !h.Initialized || h.Sealed {
		return fmt.Errorf("initialized=%v sealed=%v", h.Initialized, h.Sealed)
	}
	mounts, err := vc.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return err
	}
	m, ok := mounts["secret/"]
	if !ok || m.Type != "kv" || m.Options["version"] != "2" {
		return errors.New("KV v2 is not mounted at secret/")
	}
	return nil
}

// configureVault writes every policy in dir (name = file name without
// .hcl) and, for Nomad's legacy token flow, the nomad-cluster token role
// and a periodic orphan token with the nomad-server policy for Nomad.
func (st *State) configureVault(ctx context.Context, dir string) (string, error) {
	vc, err := st.VaultClient()
	if err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		if err := vc.Sys().PutPolicyWithContext(ctx, name, string(b)); err != nil {
			return "", fmt.Errorf("vault policy %s: %w", f, err)
		}
	}
	if _, err := vc.Logical().WriteWithContext(ctx, "auth/token/roles/nomad-cluster", map[string]any{
		"disallowed_policies":    "nomad-server",
		"token_explicit_max_ttl": 0,
		"orphan":                 true,
		"token_period":           "72h",
		"renewable":              true,
	}); err != nil {
		return "", fmt.Errorf("vault token role nomad-cluster: %w", err)
	}
	sec, err := vc.Auth().Token().CreateOrphanWithContext(ctx, &vault.TokenCreateRequest{
		Policies:    []string{"nomad-server"},
		Period:      "72h",
		DisplayName: "nomad-server",
	})
	if err != nil {
		return "", fmt.Errorf("vault token for nomad: %w", err)
	}
	return sec.Auth.ClientToken, nil
}

// --- Nomad --------------------------------------------------------------

func (st *State) writeNomadConfig(vaultToken string) error {
	p := st.Ports
	conf := fmt.Sprintf(`# Written by stackctl dev up (nomad agent -dev-connect -config=this file).
data_dir  = %q
bind_addr = "0.0.0.0"
log_level = "INFO"

advertise {
  http = %q
  rpc  = %q
  serf = %q
}

ports {
  http = %d
  rpc  = %d
  serf = %d
}

server {
  enabled          = true
  bootstrap_expect = 1
}

client {
  enabled           = true
  network_interface = %q
  cni_path          = %q
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

plugin "docker" {
  config {
    # No registry is reachable: the pause container is built locally.
    infra_image = %q
    # Images are built locally and cannot be pulled back once removed.
    gc {
      image = false
    }
    extra_labels = ["job_name", "task_group_name", "task_name", "node_name"]
    volumes {
      enabled = true
    }
  }
}

consul {
  address      = "127.0.0.1:%d"
  grpc_address = "127.0.0.1:%d"
}

# Nomad 1.6 legacy token flow: Nomad derives each task's token from the
# nomad-cluster role (policies/vault/nomad-server.hcl).
vault {
  enabled          = true
  address          = %q
  token            = %q
  create_from_role = "nomad-cluster"
}

telemetry {
  collection_interval        = "1s"
  publish_allocation_metrics = true
  publish_node_metrics       = true
}
`, st.nomadDataDir(), st.BindAddr, st.BindAddr, st.BindAddr, p.NomadHTTP, p.NomadRPC, p.NomadSerf,
		st.Iface, cniPath, PauseImage.Tag, p.ConsulHTTP, p.ConsulGRPC, st.VaultAddr(), vaultToken)
	// The file holds a Vault token.
	return writeFileAtomic(filepath.Join(st.Dir, "nomad", "nomad.hcl"), []byte(conf), 0o600)
}

// NomadClient returns an API client for the stack's Nomad.
func (st *State) NomadClient() (*nomad.Client, error) {
	c := nomad.DefaultConfig()
	c.Address = st.NomadAddr()
	c.SecretID = ""
	return nomad.NewClient(c)
}

func (st *State) waitNomad(ctx context.Context) error {
	nc, err := st.NomadClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "nomad", func() error {
		if err := st.alive("nomad"); err != nil {
			return err
		}
		id, err := nomadReady(nc)
		st.NomadNodeID = id
		return err
	})
}

// nomadReady checks for a leader and a ready node whose docker and raw_exec
// drivers are healthy, and returns the node's ID.
func nomadReady(nc *nomad.Client) (string, error) {
	leader, err := nc.Status().Leader()
	if err != nil {
		return "", err
	}
	if leader == "" {
		return "", errors.New("no leader")
	}
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil {
		return "", err
	}
	if len(nodes) == 0 {
		return "", errors.New("no client node registered")
	}
	n := nodes[0]
	if n.Status != "ready" {
		return n.ID, fmt.Errorf("node %s is %s", n.Name, n.Status)
	}
	for _, d := range []string{"docker", "raw_exec"} {
		if info, ok := n.Drivers[d]; !ok || !info.Detected || !info.Healthy {
			desc := "not detected"
			if ok {
				desc = info.HealthDescription
			}
			return n.ID, fmt.Errorf("driver %s not healthy: %s", d, desc)
		}
	}
	return n.ID, nil
}

// submitJobFile parses an HCL2 job file with the server's own parser (so
// the file is exactly what `nomad job run -var-file` accepts) and
// registers it.
func submitJobFile(nc *nomad.Client, path, vars string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	job, err := nc.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(src), Variables: vars, Canonicalize: true})
	if err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	if _, _, err := nc.Jobs().Register(job, nil); err != nil {
		return fmt.Errorf("register %s: %w", path, err)
	}
	return nil
}

// JobRunning checks that every allocation the job should have is running
// with all its tasks up, and returns a reason when not.
func JobRunning(nc *nomad.Client, jobID string) error {
	allocs, _, err := nc.Jobs().Allocations(jobID, false, nil)
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
		if err := JobRunning(nc, "traefik"); err != nil {
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
		if err := JobRunning(nc, "nomad-autoscaler"); err != nil {
			return err
		}
		return httpOK(ctx, st.AutoscalerURL()+"/v1/health")
	})
}
