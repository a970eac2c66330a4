package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
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

// Up starts the stack and returns once every component is ready. A stack
// that is already running and healthy is left as it is (Up converges, like
// `docker compose up -d`); one that is partly down is stopped and started
// again. On failure (or interrupt) Up stops what it started and keeps the
// logs.
func Up(ctx context.Context, o Options) (st *State, err error) {
	start := time.Now()
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if err := o.Ports.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	// The state dir holds the stack's credentials: owner only.
	if err := os.Chmod(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(o.StateDir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	if prev, err := LoadState(o.StateDir); err == nil {
		if unhealthy := Unhealthy(ctx, prev); len(unhealthy) == 0 {
			fmt.Fprintf(out, "==> the dev stack in %s is already running and healthy\n", o.StateDir)
			return prev, nil
		} else if alive := prev.Running(); len(alive) > 0 {
			fmt.Fprintf(out, "==> the dev stack in %s is partly down (%s); restarting it\n", o.StateDir, strings.Join(unhealthy, ", "))
		} else {
			fmt.Fprintf(out, "==> recovering: the previous stack in %s did not stop cleanly; cleaning up\n", o.StateDir)
		}
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
	t := time.Now()
	if st.CreatedBridge, err = ensureBridge(ctx); err != nil {
		return st, err
	}
	if err := st.save(); err != nil {
		return st, err
	}
	if err := ensureIsolation(ctx); err != nil {
		return st, err
	}
	st.Isolation = true
	// No Nomad of the stack runs yet: every CNI rule of the bridge network
	// is a leftover of an allocation that never got to stop (cnirules.go).
	if n, err := removeCNIRules(ctx); err != nil {
		return st, err
	} else if n > 0 {
		fmt.Fprintf(out, "==> removed %d stale NAT rule(s) of allocations of an earlier stack\n", n)
	}
	step(fmt.Sprintf("network: bridge %s (%s), allocations reach each other only through their sidecars", bridgeName, bridgeSubnet), t)

	// Consul and Vault do not depend on each other: start both, then
	// configure each.
	if err := st.startConsul(); err != nil {
		return st, err
	}
	if err := st.startVault(); err != nil {
		return st, err
	}
	if err := st.save(); err != nil {
		return st, err
	}
	var wg sync.WaitGroup
	var consulErr, vaultErr error
	var consulToks consulTokens
	var nomadVaultToken string
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.Now()
		if consulErr = st.waitConsul(ctx); consulErr == nil {
			if consulToks, consulErr = st.configureConsul(ctx, filepath.Join(o.Repo, "policies", "consul")); consulErr == nil {
				step("consul: leader elected, Connect CA ready, ACLs default deny, mesh default deny", t)
			}
		}
	}()
	go func() {
		defer wg.Done()
		t := time.Now()
		if vaultErr = st.initVault(ctx); vaultErr == nil {
			if nomadVaultToken, vaultErr = st.configureVault(ctx, filepath.Join(o.Repo, "policies", "vault")); vaultErr == nil {
				step("vault: initialised, unsealed, KV v2 at secret/, policies written", t)
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(consulErr, vaultErr); err != nil {
		return st, err
	}

	t = time.Now()
	if err := st.startNomad(consulToks.Nomad, nomadVaultToken); err != nil {
		return st, err
	}
	if err := st.save(); err != nil {
		return st, err
	}
	if err := st.bootstrapNomadACL(ctx); err != nil {
		return st, err
	}
	if err := st.waitNomad(ctx); err != nil {
		return st, err
	}
	if err := st.configureNomad(ctx, filepath.Join(o.Repo, "policies", "nomad")); err != nil {
		return st, err
	}
	step("nomad: ACLs bootstrapped, node ready, docker and raw_exec healthy", t)
	if err := st.save(); err != nil {
		return st, err
	}

	if err := st.submitPlatform(ctx, o.Repo, step); err != nil {
		return st, err
	}
	st.ReadyIn = time.Since(start).Round(100 * time.Millisecond).String()
	if err := st.save(); err != nil {
		return st, err
	}
	fmt.Fprintf(out, "==> dev stack ready in %s; state and credentials in %s\n", st.ReadyIn, o.StateDir)
	return st, nil
}

// prepare resolves the binaries (building them when allowed), makes sure
// Docker runs with its authorization plugin, the pause and sidecar
// images exist, and makes the agents' dirs.
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
	// raw_exec tasks (Traefik, the autoscaler: the platform's jobs) run
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
	// The built-in Connect sidecar of every job runs in this image.
	if o.Install {
		if err := BuildProxyImage(ctx, st.Bins["consul"], out); err != nil {
			return err
		}
	} else if !ImageExists(ctx, ProxyImageTag()) {
		return fmt.Errorf("image %s is missing: run `stackctl dev install` (it holds the pinned consul)", ProxyImageTag())
	}

	for _, d := range []string{"logs", "consul", "vault", "nomad"} {
		if err := os.MkdirAll(filepath.Join(st.Dir, d), 0o700); err != nil {
			return err
		}
	}
	// No Nomad of this stack runs yet: containers of its allocations are
	// leftovers of a stack that did not stop (a reboot, a killed agent),
	// and the pause containers among them hold addresses and host ports.
	// Before the data dir, which names some of them, goes.
	if n, err := removeAllocContainers(ctx, st.nomadDataDir(), allocDirs(st.nomadDataDir())); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(out, "==> removed %d container(s) of allocations of an earlier stack\n", n)
	}
	// Dev agents start from nothing each time, credentials included.
	if err := os.RemoveAll(st.nomadDataDir()); err != nil {
		return err
	}
	if err := os.RemoveAll(st.secretsDir()); err != nil {
		return err
	}
	for _, name := range []string{"consul", "vault", "nomad"} {
		_ = os.Remove(st.logPath(name)) // a new log per run
	}
	return nil
}

func (st *State) startAgent(name string, args, env []string) error {
	if env == nil {
		env = agentEnv()
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
