package devstack

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/outdir"
)

func TestPortsValidate(t *testing.T) {
	if err := DefaultPorts().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	p := DefaultPorts()
	p.Public = p.NomadHTTP
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "4646") {
		t.Errorf("duplicate port: got %v", err)
	}
	p = DefaultPorts()
	p.Internal = 70000
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "traefik internal") {
		t.Errorf("out of range: got %v", err)
	}
	// Vault's cluster port is the API port + 1.
	p = DefaultPorts()
	p.Public = p.Vault + 1
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "vault cluster") {
		t.Errorf("vault cluster clash: got %v", err)
	}
}

func TestCheckPortsFreeNamesTheTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	p := Ports{}
	free := freePorts(t, 15)
	p.ConsulGRPCTLS = free[14]
	p.ConsulHTTP, p.ConsulGRPC, p.ConsulServer, p.ConsulSerfLAN, p.ConsulSerfWAN, p.ConsulDNS = free[0], free[1], free[2], free[3], free[4], free[5]
	p.Vault, p.NomadHTTP, p.NomadRPC, p.NomadSerf = free[6], free[8], free[9], free[10]
	p.Public, p.Internal, p.Autoscaler = free[11], free[12], taken
	err = checkPortsFree(p)
	if err == nil || !strings.Contains(err.Error(), "nomad-autoscaler") {
		t.Fatalf("got %v, want the autoscaler's port named", err)
	}
}

// freePorts returns n ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	var ports []int
	var ls []net.Listener
	for len(ports) < n {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func TestProcAliveAndStop(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := newProc(cmd.Process.Pid)
	if !p.Alive() {
		t.Fatal("running process not alive")
	}
	// Same PID, other start time: a recycled PID is not ours.
	if (Proc{PID: p.PID, Start: p.Start + 1}).Alive() {
		t.Error("recycled PID counted as alive")
	}
	if err := p.Stop(syscall.SIGTERM, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if p.Alive() {
		t.Error("alive after Stop")
	}
}

func TestStrayProcesses(t *testing.T) {
	state, data := t.TempDir(), t.TempDir()
	inData := exec.Command("sleep", "30") // a raw_exec task
	inData.Dir = data
	marked := exec.Command("sleep", "30") // an executor or logmon
	marked.Env = append(os.Environ(), markerVar+"="+state)
	otherStack := exec.Command("sleep", "30")
	otherStack.Env = append(os.Environ(), markerVar+"="+state+"-other")
	outside := exec.Command("sleep", "30")
	outside.Dir = state // the state dir itself is not enough
	all := []*exec.Cmd{inData, marked, otherStack, outside}
	for _, c := range all {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { c.Process.Kill(); c.Wait() }()
	}
	found := map[int]bool{}
	for _, p := range strayProcesses(state, data) {
		found[p.PID] = true
	}
	for _, c := range []*exec.Cmd{inData, marked} {
		if !found[c.Process.Pid] {
			t.Errorf("%v (dir %q) not found", c.Args, c.Dir)
		}
	}
	for _, c := range []*exec.Cmd{otherStack, outside} {
		if found[c.Process.Pid] {
			t.Errorf("%v (dir %q) wrongly found", c.Args, c.Dir)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/a\040b/c`); got != "/a b/c" {
		t.Errorf("got %q", got)
	}
	if got := unescapeMount(`/plain`); got != "/plain" {
		t.Errorf("got %q", got)
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadState(dir); !errors.Is(err, ErrNoStack) {
		t.Fatalf("empty dir: got %v, want ErrNoStack", err)
	}
	st := &State{Dir: dir, Ports: DefaultPorts(), BindAddr: "192.0.2.2", Procs: map[string]Proc{"consul": {PID: 1, Start: 2}}}
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ports != st.Ports || got.Procs["consul"] != st.Procs["consul"] || got.BindAddr != st.BindAddr {
		t.Errorf("round trip: got %+v", got)
	}
}

// The credentials live in a 0700 dir of 0600 files; dev env prints the
// deployer's unless asked for the admin's, and names a missing file.
func TestCredentials(t *testing.T) {
	st := &State{Dir: t.TempDir(), Ports: DefaultPorts()}
	if _, err := Env(st, false); err == nil || !strings.Contains(err.Error(), deployerNomadToken) {
		t.Fatalf("Env without credentials: got %v, want an error naming %s", err, deployerNomadToken)
	}
	files := map[string]string{
		deployerNomadToken: "d-nomad", deployerConsulToken: "d-consul", deployerVaultToken: "d-vault",
		nomadManagementToken: "m-nomad", consulManagementToken: "m-consul", vaultRootToken: "m-vault",
	}
	for name, v := range files {
		if err := st.writeSecret(name, v); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(st.secretsDir(), name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v, want 0600", name, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(st.secretsDir()); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir: mode %v %v, want 0700", fi.Mode(), err)
	}
	for _, admin := range []bool{false, true} {
		env, err := Env(st, admin)
		if err != nil {
			t.Fatal(err)
		}
		prefix := "d-"
		if admin {
			prefix = "m-"
		}
		want := [][2]string{
			{"NOMAD_ADDR", "http://127.0.0.1:4646"}, {"NOMAD_TOKEN", prefix + "nomad"},
			{"CONSUL_HTTP_ADDR", "http://127.0.0.1:8500"}, {"CONSUL_HTTP_TOKEN", prefix + "consul"},
			{"VAULT_ADDR", "http://127.0.0.1:8200"}, {"VAULT_TOKEN", prefix + "vault"},
		}
		if len(env) != len(want) {
			t.Fatalf("admin=%v: got %v", admin, env)
		}
		for i := range want {
			if env[i] != want[i] {
				t.Errorf("admin=%v: env[%d] = %v, want %v", admin, i, env[i], want[i])
			}
		}
	}
}

func TestLogFiles(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // Nomad's data dir is under TMPDIR
	st := &State{Dir: t.TempDir()}
	if _, err := LogFiles(st, "nope"); err == nil {
		t.Error("unknown component accepted")
	}
	f, err := LogFiles(st, "consul")
	if err != nil || len(f) != 1 || !strings.HasSuffix(f[0], "logs/consul.log") {
		t.Errorf("consul: %v %v", f, err)
	}
	if _, err := LogFiles(st, "traefik"); err == nil {
		t.Error("traefik logs found before any allocation")
	}
	logs := filepath.Join(st.nomadDataDir(), "alloc", "abc", "alloc", "logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "traefik.stderr.0"), []byte("x\n"), 0o644)
	if f, err := LogFiles(st, "traefik"); err != nil || len(f) != 1 {
		t.Errorf("traefik: %v %v", f, err)
	}
}

func TestCopyLogTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "l")
	os.WriteFile(p, []byte("1\n2\n3\n4\n"), 0o644)
	var b strings.Builder
	if err := CopyLog(context.Background(), &b, p, 2, false); err != nil {
		t.Fatal(err)
	}
	if b.String() != "3\n4\n" {
		t.Errorf("got %q", b.String())
	}
}

// fakeAgent writes an executable script that prints out for `version`.
func fakeAgent(t *testing.T, dir, name, out string) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho '"+out+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	a := Agent{Name: "nomad", Version: "v1.6.1", VersionArgs: []string{"version"}, VersionRE: regexp.MustCompile(`(?m)^Nomad v1\.6\.1\b`)}
	pathDir, cache := t.TempDir(), t.TempDir()
	onPath := ""
	in := &Installer{Cache: cache, LookPath: func(string) (string, error) {
		if onPath == "" {
			return "", exec.ErrNotFound
		}
		return onPath, nil
	}}

	if _, err := in.Resolve(ctx, a); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("nothing installed: got %v", err)
	}
	onPath = fakeAgent(t, pathDir, "nomad", "Nomad v1.7.0")
	if _, err := in.Resolve(ctx, a); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("wrong version on PATH was accepted: %v", err)
	}
	// A prefix of the pin must not match (1.6.10 is not 1.6.1).
	onPath = fakeAgent(t, pathDir, "nomad", "Nomad v1.6.10")
	if _, err := in.Resolve(ctx, a); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("v1.6.10 accepted for v1.6.1: %v", err)
	}
	onPath = fakeAgent(t, pathDir, "nomad", "Nomad v1.6.1\nBuildDate 2023-07-21")
	if p, err := in.Resolve(ctx, a); err != nil || p != onPath {
		t.Errorf("pinned version on PATH: got %q %v", p, err)
	}
	in.NoPath = true
	if _, err := in.Resolve(ctx, a); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("NoPath still used PATH: %v", err)
	}
	cached := a.CachePath(cache)
	os.MkdirAll(filepath.Dir(cached), 0o755)
	fakeAgent(t, filepath.Dir(cached), "nomad", "anything")
	if p, err := in.Resolve(ctx, a); err != nil || p != cached {
		t.Errorf("cached build: got %q %v", p, err)
	}
}

func TestPinnedAgentsVersionPatterns(t *testing.T) {
	samples := map[string]string{
		"nomad":            "Nomad v1.6.1\nBuildDate 2023-07-21T13:49:42Z",
		"consul":           "Consul v1.14.11\nRevision \nBuild Date",
		"vault":            "Vault v1.14.1 (), built 2023-07-21",
		"nomad-autoscaler": "Nomad Autoscaler v0.3.7 ()",
		"traefik":          "Version:      3.6.12\nCodename:     x",
	}
	for _, a := range Agents {
		if !a.VersionRE.MatchString(samples[a.Name]) {
			t.Errorf("%s: pattern %s does not match %q", a.Name, a.VersionRE, samples[a.Name])
		}
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "f")
	for _, s := range []string{"first", "2"} {
		if err := outdir.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	ents, _ := os.ReadDir(filepath.Dir(p))
	if string(b) != "2" || len(ents) != 1 {
		t.Errorf("content %q, %d entries", b, len(ents))
	}
}

// StopDockerd (through Down when no stack is recorded) stops only a live
// process named dockerd from the PID file, and clears a stale record.
func TestStopDockerd(t *testing.T) {
	dir := t.TempDir()
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "dockerd")
	b, err := os.ReadFile(sleepBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := writePID(filepath.Join(dir, "dockerd.pid"), cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// Down with no stack recorded stops it and says that is all it did.
	var out strings.Builder
	if err := Down(t.Context(), dir, &out); err != nil {
		t.Fatalf("Down: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "no dev stack was running; stopped the Docker engine") || strings.Contains(out.String(), "dev stack stopped") {
		t.Errorf("Down said:\n%s", out.String())
	}
	if (Proc{PID: cmd.Process.Pid}).Alive() {
		t.Fatal("the process still runs")
	}
	if _, err := os.Stat(filepath.Join(dir, "dockerd.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left: %v", err)
	}

	// A PID that now belongs to something else is not touched.
	other := exec.Command(sleepBin, "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer other.Process.Kill()
	if err := writePID(filepath.Join(dir, "dockerd.pid"), other.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if stopped, err := StopDockerd(dir, &out); err != nil || stopped {
		t.Fatalf("StopDockerd on a non-dockerd = %v, %v", stopped, err)
	}
	if !(Proc{PID: other.Process.Pid}).Alive() {
		t.Fatal("a process that is not dockerd was stopped")
	}
}
