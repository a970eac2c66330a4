package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Down stops the stack recorded in stateDir: the agents by their recorded
// PIDs, whatever Nomad's allocations left behind (task processes,
// containers, mounts), the Docker engine if the stack started it, and
// Nomad's CNI bridge if the stack created it. Logs are kept.
func Down(ctx context.Context, stateDir string, out io.Writer) error {
	unlock, err := lockFile(filepath.Join(stateDir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	st, err := LoadState(stateDir)
	if errors.Is(err, ErrNoStack) {
		// No stack, but `dev install` may have started the Docker engine.
		stopped, derr := StopDockerd(stateDir, out)
		if derr != nil {
			return derr
		}
		if stopped {
			fmt.Fprintln(out, "==> no dev stack was running; stopped the Docker engine `dev install` started")
			return nil
		}
	}
	if err != nil {
		return err
	}
	if err := cleanup(ctx, st, out, true); err != nil {
		return err
	}
	fmt.Fprintln(out, "==> dev stack stopped")
	return nil
}

// StopDockerd stops the Docker engine that stackctl started (recorded in
// stateDir/dockerd.pid), if it still runs; stopped says whether it did.
func StopDockerd(stateDir string, out io.Writer) (stopped bool, err error) {
	pidFile := filepath.Join(stateDir, "dockerd.pid")
	pid := readPID(pidFile)
	if pid <= 0 {
		return false, nil
	}
	p := Proc{PID: pid}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if !p.Alive() || strings.TrimSpace(string(comm)) != "dockerd" {
		_ = os.Remove(pidFile) // stale: that engine is gone
		return false, nil
	}
	fmt.Fprintf(out, "==> stopping dockerd (pid %d)\n", pid)
	if err := p.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
		return false, fmt.Errorf("dockerd: %w", err)
	}
	_ = os.Remove(pidFile)
	return true, nil
}

// cleanup stops what st records; stopDocker=false keeps a Docker engine the
// stack started running (recovery, where the next up needs it again).
func cleanup(ctx context.Context, st *State, out io.Writer, stopDocker bool) error {
	var errs []error
	// Allocation IDs from Nomad's data dir: known even when Nomad died.
	allocIDs := allocDirs(st.nomadDataDir())

	// Nomad first: in dev mode it stops its allocations as it shuts down.
	// Then the agents it used.
	for _, name := range []string{"nomad", "vault", "consul"} {
		p, ok := st.Procs[name]
		if !ok || !p.Alive() {
			continue
		}
		fmt.Fprintf(out, "==> stopping %s (pid %d)\n", name, p.PID)
		timeout := 10 * time.Second
		if name == "nomad" {
			timeout = 45 * time.Second
		}
		if err := p.Stop(syscall.SIGINT, timeout); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	// Task processes and executors whose Nomad died before stopping them.
	// (Nomad, no longer in dev mode, leaves its allocations running when
	// it stops, as on a real client.)
	if stray := strayProcesses(st.Dir, st.nomadDataDir()); len(stray) > 0 {
		fmt.Fprintf(out, "==> stopping %d task process(es) of the stack's allocations\n", len(stray))
		for _, p := range stray {
			if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if n, err := removeAllocContainers(ctx, st.nomadDataDir(), allocIDs); err != nil {
		errs = append(errs, err)
	} else if n > 0 {
		fmt.Fprintf(out, "==> removed %d container(s) of the stack's allocations\n", n)
	}
	// The allocations' NAT rules, which Nomad leaves when it stops with
	// allocations placed (cnirules.go).
	if _, err := removeCNIRules(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, dir := range []string{st.nomadDataDir(), st.Dir} {
		if err := unmountUnder(dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(st.nomadDataDir()); err != nil {
		errs = append(errs, err)
	}
	if st.Isolation {
		if err := removeIsolation(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if st.CreatedBridge {
		if b, err := exec.CommandContext(ctx, "ip", "link", "delete", bridgeName).CombinedOutput(); err != nil &&
			!strings.Contains(string(b), "Cannot find device") {
			errs = append(errs, fmt.Errorf("ip link delete %s: %v: %s", bridgeName, err, b))
		}
	}
	stoppedDocker := false
	if stopDocker && st.Dockerd != nil && st.Dockerd.Alive() {
		fmt.Fprintf(out, "==> stopping dockerd (pid %d)\n", st.Dockerd.PID)
		if err := st.Dockerd.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("dockerd: %w", err))
		} else {
			stoppedDocker = true
		}
	}
	if len(errs) > 0 {
		// Keep the record so that a second `down` can finish the job.
		return errors.Join(errs...)
	}
	if stoppedDocker {
		_ = os.Remove(filepath.Join(st.Dir, "dockerd.pid"))
	}
	// Credentials of a stack that no longer exists are only a liability.
	_ = os.RemoveAll(st.secretsDir())
	for _, f := range []string{st.nomadConfigPath(), st.consulConfigPath()} {
		_ = os.Remove(f)
	}
	return os.Remove(filepath.Join(st.Dir, stateFile))
}

// unmountUnder detaches every mount below dir (Nomad's tmpfs secrets
// directories and the like), deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 4 && within(unescapeMount(fs[4]), dir) {
			mounts = append(mounts, unescapeMount(fs[4]))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount decodes the octal escapes (\040 for a space ...) of
// /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
