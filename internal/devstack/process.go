package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stackctl/stackctl/internal/outdir"
)

// Proc identifies a process we started. The start time (in clock ticks
// since boot, from /proc/<pid>/stat) guards against a recycled PID: a
// process is ours only if both match.
type Proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procStart reads a process's start time, or 0 when it does not exist.
func procStart(pid int) (uint64, string) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, ""
	}
	// The command name (field 2) may contain spaces: fields restart after ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, ""
	}
	st, _ := strconv.ParseUint(f[19], 10, 64)
	return st, f[0]
}

// newProc records pid with its start time.
func newProc(pid int) Proc {
	st, _ := procStart(pid)
	return Proc{PID: pid, Start: st}
}

// Alive reports whether the recorded process still runs (not a zombie, not
// another process that got the same PID).
func (p Proc) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, state := procStart(p.PID)
	return st != 0 && state != "Z" && (p.Start == 0 || st == p.Start)
}

func processAlive(pid int) bool { return Proc{PID: pid}.Alive() }

// Stop signals the process and waits up to timeout for it to exit, then
// kills it.
func (p Proc) Stop(sig syscall.Signal, timeout time.Duration) error {
	if !p.Alive() {
		return nil
	}
	if err := syscall.Kill(p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		reap(p.PID)
		if !p.Alive() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	for i := 0; i < 100 && p.Alive(); i++ {
		reap(p.PID)
		time.Sleep(20 * time.Millisecond)
	}
	if p.Alive() {
		return fmt.Errorf("process %d did not exit", p.PID)
	}
	return nil
}

// reap collects an exited child of ours so it does not linger as a zombie.
func reap(pid int) {
	var ws syscall.WaitStatus
	_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
}

// startDaemon starts bin detached from our session (it outlives this
// command and a Ctrl-C in the terminal), output appended to logPath.
func startDaemon(bin string, args, env []string, logPath, dir string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, nil
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

func writePID(path string, pid int) error {
	return outdir.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// permanentError stops waitFor early.
type permanentError struct{ error }

func permanent(err error) error { return permanentError{err} }

// waitFor polls check until it returns nil, a permanent error, or timeout.
func waitFor(ctx context.Context, timeout time.Duration, what string, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	delay := 25 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return nil
		}
		var pe permanentError
		if errors.As(err, &pe) {
			return pe.error
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%s not ready after %s: %w", what, timeout, err)
			}
			return ctx.Err()
		case <-time.After(delay):
		}
		if delay < 250*time.Millisecond {
			delay *= 2
		}
	}
}

// markerVar is set in the environment of every agent `up` starts, with the
// state dir as value. Nomad's plugin processes (executors, logmon) inherit
// it, which tells them apart from anything else on the machine.
const markerVar = "STACKCTL_DEV_STACK"

// strayProcesses lists live processes that belong to the stack in stateDir
// even though their PIDs were not recorded: Nomad's executors and logmon
// plugins (marked by markerVar) and raw_exec tasks (working directory or
// command line inside Nomad's data dir), left running when Nomad itself
// died without stopping its allocations.
func strayProcesses(stateDir, dataDir string) []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	marker := markerVar + "=" + stateDir
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if belongs(pid, marker, dataDir) {
			if p := newProc(pid); p.Alive() {
				out = append(out, p)
			}
		}
	}
	return out
}

func belongs(pid int, marker, dataDir string) bool {
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && within(cwd, dataDir) {
		return true
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		for _, arg := range strings.Split(string(b), "\x00") {
			if strings.Contains(arg, dataDir+"/") {
				return true
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
		for _, kv := range strings.Split(string(b), "\x00") {
			if kv == marker {
				return true
			}
		}
	}
	return false
}

func within(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// agentEnv is this process's environment without the clients' variables
// (NOMAD_*, CONSUL_*, VAULT_*): an agent started from a shell where
// `stackctl dev env` was evaluated must not pick up a token or address
// meant for its clients.
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "CONSUL_") && !strings.HasPrefix(kv, "NOMAD_") {
			env = append(env, kv)
		}
	}
	return env
}

// execAgentCLI prepares one of the agents' own CLIs with agentEnv; the
// caller adds the token it needs.
func execAgentCLI(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = agentEnv()
	return cmd
}
