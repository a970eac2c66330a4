package devstack

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// `stackctl dev compose`: docker-compose.dev.yml with what a compose file
// cannot do. Compose starts containers; it cannot make host directories
// shared mounts, drain Nomad before stopping it, undo the host changes of
// its init services, or wait for readiness beyond each container's health
// check. The wrapper does those around plain `docker compose` commands, so
// the file stays usable on its own by people who prepare the host
// themselves (docs/devstack.md#docker-compose).

const (
	// ComposeFile is the compose file, relative to the repository.
	ComposeFile = "docker-compose.dev.yml"
	// ComposeProject is the file's `name:`.
	ComposeProject = "stackctl-dev"
	// composeMinVersion: configs with inline content and pre_stop hooks.
	composeMinVersion = "2.30.0"
	// The compose file's default for STACKCTL_COMPOSE_NOMAD_DIR: short,
	// because Nomad puts unix sockets in every allocation directory.
	composeDefaultNomadDir = "/tmp/stackctl-compose/nomad"
)

// composeAgents are the long-running services; composeOneShots the init
// services, in the order they run.
var (
	composeAgents   = []string{"consul", "vault", "nomad", "traefik", "nomad-autoscaler"}
	composeOneShots = []string{"host-init", "consul-init", "vault-init", "nomad-init"}
)

// ComposeDir holds the compose stack's credentials (secrets/) and what
// `dev compose up` changed on the host: $STACKCTL_COMPOSE_DIR, else
// ~/.local/state/stackctl/compose, the compose file's own default.
func ComposeDir() (string, error) {
	if d := os.Getenv("STACKCTL_COMPOSE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a state directory: %w (set STACKCTL_COMPOSE_DIR)", err)
	}
	return filepath.Join(home, ".local", "state", "stackctl", "compose"), nil
}

// ComposeNomadDir is Nomad's data directory in the compose stack, the same
// path inside its container and on the host: $STACKCTL_COMPOSE_NOMAD_DIR,
// else the compose file's default.
func ComposeNomadDir() (string, error) {
	if d := os.Getenv("STACKCTL_COMPOSE_NOMAD_DIR"); d != "" {
		return filepath.Abs(d)
	}
	return composeDefaultNomadDir, nil
}

// ComposeOptions configure `dev compose`.
type ComposeOptions struct {
	Repo     string // checkout holding docker-compose.dev.yml, images/compose, policies
	Dir      string // ComposeDir
	NomadDir string // ComposeNomadDir
	DevDir   string // StateDir: where `dev install --compose-images` wrote compose.env
	// EnvFile is passed to docker compose; "" picks the local images' env
	// file when no image registry answers.
	EnvFile string
	Out     io.Writer
}

func (o ComposeOptions) out() io.Writer {
	if o.Out == nil {
		return io.Discard
	}
	return o.Out
}

// state is the compose stack seen as a dev stack: the same credential
// files (in Dir/secrets) and the same default ports, so that the clients,
// readiness checks and Env of the dev stack apply as they are.
func (o ComposeOptions) state() *State {
	return &State{Dir: o.Dir, Ports: DefaultPorts()}
}

// compose runs `docker compose` on the file with the stack's directories.
func (o ComposeOptions) compose(ctx context.Context, envFile string, args ...string) *exec.Cmd {
	all := []string{"compose"}
	if envFile != "" {
		all = append(all, "--env-file", envFile)
	}
	all = append(all, "-f", filepath.Join(o.Repo, ComposeFile))
	cmd := exec.CommandContext(ctx, "docker", append(all, args...)...)
	cmd.Env = append(os.Environ(), "STACKCTL_COMPOSE_DIR="+o.Dir, "STACKCTL_COMPOSE_NOMAD_DIR="+o.NomadDir)
	return cmd
}

func (o ComposeOptions) composeRun(ctx context.Context, envFile string, args ...string) error {
	b, err := o.compose(ctx, envFile, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker compose %s: %v\n%s", strings.Join(args, " "), err, lastLines(string(b), 25))
	}
	return nil
}

// ComposeUp prepares the host, runs `docker compose up --wait` and waits
// until every component is ready. On a running stack it converges: the
// one-shot services run again and keep what exists.
func ComposeUp(ctx context.Context, o ComposeOptions) error {
	start := time.Now()
	out := o.out()
	step := func(what string, since time.Time) {
		fmt.Fprintf(out, "==> %s (%.1fs)\n", what, time.Since(since).Seconds())
	}
	unlock, err := o.lock("up prepares")
	if err != nil {
		return err
	}
	defer unlock()

	t := time.Now()
	pid, err := EnsureDockerd(ctx, o.Dir, out)
	if err != nil {
		return err
	}
	if err := checkComposeVersion(ctx); err != nil {
		return err
	}
	envFile, err := o.resolveEnvFile(ctx)
	if err != nil {
		return err
	}
	running, err := o.servicesRunning(ctx, envFile)
	if err != nil {
		return err
	}
	if len(running) == 0 {
		if err := checkPortsFree(DefaultPorts()); err != nil {
			return fmt.Errorf("%w (the dev stack of `stackctl dev up` uses the same ports: `stackctl dev down` first)", err)
		}
		// Its Nomad does not run: containers of its allocations are
		// leftovers of a stack that went down with the machine (containers.go).
		if n, err := removeAllocContainers(ctx, o.NomadDir, allocDirs(o.NomadDir)); err != nil {
			return err
		} else if n > 0 {
			fmt.Fprintf(out, "==> removed %d container(s) of allocations of an earlier compose stack\n", n)
		}
	}
	host, err := loadComposeHost(o.Dir)
	if err != nil {
		return err
	}
	if host == nil {
		// First up: what was there before is what down leaves.
		if host, err = snapshotHost(ctx); err != nil {
			return err
		}
	}
	if pid > 0 {
		p := newProc(pid)
		host.Dockerd = &p
	}
	host.EnvFile = envFile
	if err := host.save(o.Dir); err != nil {
		return err
	}
	if err := o.prepareHost(ctx, host, envFile); err != nil {
		return err
	}
	step("host: credential directory, shared mounts for Nomad's data and Docker's network namespaces", t)

	t = time.Now()
	args := []string{"up", "--detach", "--wait", "--wait-timeout", "300"}
	if envFile != "" {
		args = append(args, "--pull", "never")
	}
	if err := o.composeRun(ctx, envFile, args...); err != nil {
		return fmt.Errorf("%w\nThe containers are left for inspection: docker compose -f %s logs SERVICE; `stackctl dev compose down` removes them",
			err, filepath.Join(o.Repo, ComposeFile))
	}
	step("compose: bridge and isolation rules, ACLs bootstrapped, Vault initialised and unsealed, tokens minted, health checks passing", t)

	st := o.state()
	for _, c := range composeChecks(st) {
		t := time.Now()
		if err := waitFor(ctx, c.timeout, c.name, func() error { return c.check(ctx) }); err != nil {
			return err
		}
		step(c.name+": "+c.ready, t)
	}
	fmt.Fprintf(out, "==> compose stack ready in %s; credentials in %s\n",
		time.Since(start).Round(100*time.Millisecond), filepath.Join(o.Dir, secretsDirName))
	return nil
}

// lock checks that it may change the host (root) and takes the compose
// dir's lock, so that two `up`/`down` never interleave.
func (o ComposeOptions) lock(verb string) (func(), error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("stackctl dev compose %s the host preparation (shared mounts, Nomad's bridge, firewall rules): run it as root", verb)
	}
	if err := privateDir(o.Dir); err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(o.Dir, ".lock"))
}

// prepareHost makes the credential directories (owner only) and Nomad's
// data dir, and the two shared mounts the nomad service needs, recording
// the layers it adds.
func (o ComposeOptions) prepareHost(ctx context.Context, host *composeHost, envFile string) error {
	secrets := filepath.Join(o.Dir, secretsDirName)
	for _, d := range []string{secrets, filepath.Join(secrets, "nomad"), filepath.Join(secrets, "traefik"), filepath.Join(secrets, "autoscaler")} {
		if err := privateDir(d); err != nil {
			return err
		}
	}
	netns := dockerNetnsDir()
	for _, d := range []string{o.NomadDir, netns} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The host-network sandbox must be mounted below the netns layer, not
	// on it (dockerHostSandbox).
	image, pull := composeImage(envFile, "CONSUL_IMAGE", "hashicorp/consul:1.14.11")
	if err := ensureHostSandbox(ctx, image, pull); err != nil {
		return err
	}
	for _, d := range []string{netns, o.NomadDir} {
		made, err := ensureShared(d)
		if err != nil {
			return err
		}
		if made {
			host.Mounts = append(host.Mounts, d)
			if err := host.save(o.Dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// privateDir makes dir, readable by its owner only.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// composeImage returns the image an env file selects for variable (or the
// compose file's default) and the pull policy that fits it.
func composeImage(envFile, variable, def string) (image, pull string) {
	if envFile == "" {
		return def, "missing"
	}
	if v := readEnvFile(envFile)[variable]; v != "" {
		return v, "never"
	}
	return def, "never"
}

// readEnvFile parses KEY=VALUE lines, skipping comments.
func readEnvFile(path string) map[string]string {
	vars := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return vars
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return vars
}

// registryAddr is what "a registry is reachable" means: Docker Hub, where
// the compose file's default images come from.
var registryAddr = "registry-1.docker.io:443"

func registryReachable(ctx context.Context) bool {
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(ctx, "tcp", registryAddr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// resolveEnvFile returns the env file to pass to docker compose: the one
// given, else (no registry answering) the local images' one, which must
// exist with every image it names.
func (o ComposeOptions) resolveEnvFile(ctx context.Context) (string, error) {
	f := o.EnvFile
	if f == "" {
		if registryReachable(ctx) {
			return "", nil
		}
		f = ComposeEnvFile(o.DevDir)
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("no image registry answers (%s) and %s is missing: build the local images with `stackctl dev install --compose-images`, or pass --env-file", registryAddr, f)
		}
	} else if _, err := os.Stat(f); err != nil {
		return "", fmt.Errorf("--env-file: %w", err)
	}
	vars := readEnvFile(f)
	for _, k := range sortedKeys(vars) {
		if strings.HasSuffix(k, "_IMAGE") && !ImageExists(ctx, vars[k]) {
			return "", fmt.Errorf("image %s (%s in %s) is missing: run `stackctl dev install --compose-images`", vars[k], k, f)
		}
	}
	return f, nil
}

// checkComposeVersion refuses a Compose older than the file needs (Debian's
// docker-compose is 1.x).
func checkComposeVersion(ctx context.Context) error {
	b, err := exec.CommandContext(ctx, "docker", "compose", "version", "--short").Output()
	if err != nil {
		return errors.New("`docker compose` (Compose v2) is missing: run `stackctl dev install docker-compose`")
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(b)), "v")
	if versionLess(v, composeMinVersion) {
		return fmt.Errorf("docker compose %s is older than %s, which %s needs: run `stackctl dev install docker-compose`", v, composeMinVersion, ComposeFile)
	}
	return nil
}

// versionLess compares dotted numeric versions; what follows the digits
// of a part ("3-rc1") is ignored.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = leadingInt(pa[i])
		}
		if i < len(pb) {
			y = leadingInt(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func leadingInt(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// composeService is one line of `docker compose ps --format json`.
type composeService struct {
	Service  string
	State    string
	Health   string
	ExitCode int
}

func (o ComposeOptions) services(ctx context.Context, envFile string) (map[string]composeService, error) {
	b, err := o.compose(ctx, envFile, "ps", "--all", "--format", "json").Output()
	if err != nil {
		return nil, fmt.Errorf("docker compose ps: %w", err)
	}
	svcs := map[string]composeService{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var one composeService
		if err := json.Unmarshal([]byte(line), &one); err != nil {
			return nil, fmt.Errorf("docker compose ps: %w: %.100s", err, line)
		}
		svcs[one.Service] = one
	}
	return svcs, nil
}

func (o ComposeOptions) servicesRunning(ctx context.Context, envFile string) ([]string, error) {
	svcs, err := o.services(ctx, envFile)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, name := range sortedKeys(svcs) {
		if svcs[name].State == "running" {
			names = append(names, name)
		}
	}
	return names, nil
}

// composeCheck is one readiness condition, the same `dev up` waits for.
type composeCheck struct {
	name, addr, ready string
	timeout           time.Duration
	check             func(ctx context.Context) error
}

func composeChecks(st *State) []composeCheck {
	return []composeCheck{
		{"consul", st.ConsulAddr(), "leader elected, Connect CA ready, ACLs answer", 30 * time.Second, func(context.Context) error {
			c, err := st.ConsulClient()
			if err != nil {
				return err
			}
			return consulReady(c)
		}},
		{"vault", st.VaultAddr(), "initialised, unsealed, KV v2 at secret/", 30 * time.Second, func(ctx context.Context) error {
			vc, err := st.VaultClient()
			if err != nil {
				return err
			}
			return vaultReady(ctx, vc)
		}},
		{"nomad", st.NomadAddr(), "node ready, docker healthy", 60 * time.Second, func(context.Context) error {
			nc, err := st.NomadClient()
			if err != nil {
				return err
			}
			_, err = nomadReady(nc, composeDrivers)
			return err
		}},
		{"traefik", fmt.Sprintf("public %s, internal %s", st.PublicURL(), st.InternalURL()),
			"Connect certificate held, catalog routes loaded (/traefik-ready)", 90 * time.Second, func(ctx context.Context) error {
				return httpOK(ctx, st.InternalURL()+"/traefik-ready")
			}},
		{"nomad-autoscaler", st.AutoscalerURL(), "connected to Nomad with its own token", 30 * time.Second, func(ctx context.Context) error {
			return httpOK(ctx, st.AutoscalerURL()+"/v1/health")
		}},
	}
}

// ComposeStatus checks each service: the one-shot services exited 0, the
// agents run and pass the readiness checks of `up`.
func ComposeStatus(ctx context.Context, o ComposeOptions) []Health {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	hs := []Health{{Component: "docker", Address: "unix://" + dockerSock, OK: true}}
	if err := DockerPing(ctx); err != nil {
		hs[0] = Health{Component: "docker", Address: hs[0].Address, Detail: firstLine(err.Error())}
		return hs
	}
	host, _ := loadComposeHost(o.Dir)
	envFile := ""
	if host != nil {
		envFile = host.EnvFile
	}
	svcs, err := o.services(ctx, envFile)
	if err != nil {
		return append(hs, Health{Component: "compose", Detail: firstLine(err.Error())})
	}
	for _, name := range composeOneShots {
		s, ok := svcs[name]
		h := Health{Component: name, Address: "(one-shot)"}
		switch {
		case !ok:
			h.Detail = "no container"
		case s.State == "exited" && s.ExitCode == 0:
			h.OK, h.Detail = true, "done"
		default:
			h.Detail = fmt.Sprintf("%s (exit %d): docker compose -f %s logs %s", s.State, s.ExitCode, ComposeFile, name)
		}
		hs = append(hs, h)
	}
	st := o.state()
	for _, c := range composeChecks(st) {
		h := Health{Component: c.name, Address: c.addr}
		s, ok := svcs[c.name]
		switch {
		case !ok:
			h.Detail = "no container"
		case s.State != "running":
			h.Detail = "container " + s.State
		default:
			if err := c.check(ctx); err != nil {
				h.Detail = firstLine(err.Error())
			} else {
				h.OK = true
			}
		}
		hs = append(hs, h)
	}
	return hs
}

// ComposeExports returns the exports for the compose stack: the deployer's
// tokens, or with admin the bootstrap ones, read from the credential files.
func ComposeExports(o ComposeOptions, admin bool) ([][2]string, error) {
	st := o.state()
	if _, err := os.Stat(st.secretsDir()); err != nil {
		return nil, fmt.Errorf("no credentials in %s: start the stack with `stackctl dev compose up`", st.secretsDir())
	}
	vars, err := Env(st, admin)
	if err != nil {
		return nil, fmt.Errorf("the compose stack's credentials are incomplete (its init services write them; see `stackctl dev compose status`): %w", err)
	}
	return vars, nil
}

// ComposeDown drains Nomad, runs `docker compose down`, removes what
// Nomad's allocations left, and undoes what `up` changed on the host:
// mounts, Nomad's data dir, the bridge and firewall chains, the
// credentials, and the Docker engine if `up` started it.
func ComposeDown(ctx context.Context, o ComposeOptions) error {
	out := o.out()
	unlock, err := o.lock("down undoes")
	if err != nil {
		return err
	}
	defer unlock()
	host, err := loadComposeHost(o.Dir)
	if err != nil {
		return err
	}
	var errs []error
	allocIDs := allocDirs(o.NomadDir)
	dockerUp := DockerPing(ctx) == nil
	if dockerUp {
		envFile := ""
		if host != nil {
			if _, err := os.Stat(host.EnvFile); err == nil {
				envFile = host.EnvFile
			}
		}
		if err := drainNomad(ctx, o.state(), out); err != nil {
			fmt.Fprintf(out, "==> Nomad not drained (%v); its allocations' containers are removed after it stops\n", firstLine(err.Error()))
		}
		fmt.Fprintln(out, "==> docker compose down")
		if err := o.composeRun(ctx, envFile, "down", "--timeout", "30", "--remove-orphans"); err != nil {
			errs = append(errs, err)
		}
		if n, err := removeAllocContainers(ctx, o.NomadDir, allocIDs); err != nil {
			errs = append(errs, err)
		} else if n > 0 {
			fmt.Fprintf(out, "==> removed %d container(s) of Nomad's allocations\n", n)
		}
	}
	// Task processes Nomad runs itself (executors, log collectors) live
	// in Nomad's cgroups, not its container's: left running if the drain
	// failed.
	if stray := strayProcesses(o.Dir, o.NomadDir); len(stray) > 0 {
		fmt.Fprintf(out, "==> stopping %d task process(es) of Nomad's allocations\n", len(stray))
		for _, p := range stray {
			if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Nomad's tmpfs mounts and the shared layer of its data dir, then the
	// netns layer, then the data dir itself.
	if err := unmountUnder(o.NomadDir); err != nil {
		errs = append(errs, err)
	}
	if host != nil {
		for i := len(host.Mounts) - 1; i >= 0; i-- {
			m := host.Mounts[i]
			if within(m, o.NomadDir) {
				continue
			}
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	if dockerUp {
		if err := checkHostSandbox(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(o.NomadDir); err != nil {
		errs = append(errs, err)
	}
	if o.NomadDir == composeDefaultNomadDir {
		_ = os.Remove(filepath.Dir(o.NomadDir)) // only when empty
	}
	if host != nil {
		if err := host.undoNetwork(ctx); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(out, "==> removed Nomad's bridge and the firewall chains the stack added\n")
		}
	} else {
		fmt.Fprintf(out, "==> no record of `stackctl dev compose up` in %s: Nomad's bridge and the firewall rules are left as they are\n", o.Dir)
	}
	// Credentials of a stack that no longer exists are only a liability.
	if err := os.RemoveAll(filepath.Join(o.Dir, secretsDirName)); err != nil {
		errs = append(errs, err)
	}
	if host != nil && host.Dockerd != nil && host.Dockerd.Alive() {
		fmt.Fprintf(out, "==> stopping dockerd (pid %d), which `dev compose up` started\n", host.Dockerd.PID)
		if err := host.Dockerd.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("dockerd: %w", err))
		} else {
			_ = os.Remove(filepath.Join(o.Dir, "dockerd.pid"))
		}
	}
	if len(errs) > 0 {
		// Keep the record so that a second `down` can finish the job.
		return errors.Join(errs...)
	}
	if err := os.Remove(filepath.Join(o.Dir, composeHostFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintln(out, "==> compose stack stopped; the host is as it was")
	return nil
}

// drainNomad drains every node (forced: the stack is going away), waits up
// to a minute for the allocations to stop and has the clients collect
// them, which removes their containers and unmounts their directories.
func drainNomad(ctx context.Context, st *State, out io.Writer) error {
	nc, err := st.NomadClient()
	if err != nil {
		return err
	}
	nodes, _, err := nc.Nodes().List((&nomad.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return err
	}
	wo := (&nomad.WriteOptions{}).WithContext(ctx)
	for _, n := range nodes {
		if _, err := nc.Nodes().UpdateDrain(n.ID, &nomad.DrainSpec{Deadline: -1}, false, wo); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "==> draining Nomad")
	err = waitFor(ctx, 60*time.Second, "nomad drain", func() error {
		live := 0
		for _, n := range nodes {
			allocs, _, err := nc.Nodes().Allocations(n.ID, (&nomad.QueryOptions{}).WithContext(ctx))
			if err != nil {
				return err
			}
			for _, a := range allocs {
				if a.ClientStatus == "pending" || a.ClientStatus == "running" {
					live++
				}
			}
		}
		if live > 0 {
			return fmt.Errorf("%d allocation(s) still running", live)
		}
		return nil
	})
	for _, n := range nodes {
		// Nomad answers the GC with an empty body, which the client
		// library fails to decode (io.EOF): the GC ran.
		if gcErr := nc.Nodes().GC(n.ID, (&nomad.QueryOptions{}).WithContext(ctx)); gcErr != nil && !errors.Is(gcErr, io.EOF) && err == nil {
			err = gcErr
		}
	}
	return err
}
