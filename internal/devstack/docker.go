package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackctl/stackctl/internal/dockerauthz"
)

const (
	dockerSock = "/var/run/docker.sock"
	cniPath    = "/usr/lib/cni"
)

// aptPackages are the distribution packages that bring the Docker engine
// (with iptables, which bridge networking needs) and the CNI plugins.
var aptPackages = []string{"docker.io", "containernetworking-plugins"}

// SystemDeps checks for the Docker engine and the CNI plugins and, on
// Debian or Ubuntu, installs the missing ones from the distribution.
func SystemDeps(ctx context.Context, out io.Writer) error {
	var missing []string
	if _, err := exec.LookPath("dockerd"); err != nil {
		missing = append(missing, "docker.io")
	}
	if _, err := exec.LookPath("docker"); err != nil && !contains(missing, "docker.io") {
		missing = append(missing, "docker.io")
	}
	if _, err := os.Stat(filepath.Join(cniPath, "bridge")); err != nil {
		missing = append(missing, "containernetworking-plugins")
	}
	if len(missing) == 0 {
		fmt.Fprintf(out, "docker engine and CNI plugins: present\n")
		return nil
	}
	if !isDebianLike() {
		return fmt.Errorf("missing: the Docker engine (dockerd, docker) and/or the CNI plugins in %s; "+
			"install them with your system's package manager (Debian/Ubuntu packages: %s)",
			cniPath, strings.Join(aptPackages, " "))
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing packages %s: run `sudo apt-get install -y %s` or run stackctl dev install as root",
			strings.Join(missing, " "), strings.Join(missing, " "))
	}
	return aptInstall(ctx, out, missing...)
}

// aptInstall installs Debian packages (as root, on a Debian-like system).
func aptInstall(ctx context.Context, out io.Writer, pkgs ...string) error {
	if !isDebianLike() || os.Geteuid() != 0 {
		return fmt.Errorf("install %s with your system's package manager (as root)", strings.Join(pkgs, " "))
	}
	fmt.Fprintf(out, "installing %s from apt\n", strings.Join(pkgs, " "))
	for _, args := range [][]string{
		{"apt-get", "update"},
		append([]string{"apt-get", "install", "-y", "--no-install-recommends"}, pkgs...),
	} {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, lastLines(string(b), 15))
		}
	}
	return nil
}

func isDebianLike() bool {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		v = strings.Trim(v, `"`)
		if (k == "ID" || k == "ID_LIKE") && (strings.Contains(v, "debian") || strings.Contains(v, "ubuntu")) {
			return true
		}
	}
	return false
}

// dockerClient talks to the engine's API over its unix socket.
func dockerClient() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerSock)
		}},
	}
}

// DockerPing reports whether the engine answers on its socket.
func DockerPing(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://docker/_ping", nil)
	resp, err := dockerClient().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("docker ping: %s", resp.Status)
	}
	return nil
}

// EnsureDockerd starts dockerd in the background when the engine does not
// answer, with its PID and log under stateDir, and waits for its socket.
// It returns the PID it started, or 0 when an engine was already running
// (then it is not ours to stop).
func EnsureDockerd(ctx context.Context, stateDir string, out io.Writer) (int, error) {
	if DockerPing(ctx) == nil {
		guarded, err := engineGuarded(ctx)
		if err != nil {
			return 0, err
		}
		if guarded {
			return 0, nil
		}
		// An engine of ours from before the plugin: restart it with the
		// plugin (no allocation runs yet when a stack comes up).
		stopped, err := StopDockerd(stateDir, out)
		if err != nil {
			return 0, err
		}
		if !stopped {
			return 0, fmt.Errorf("%w: it is not ours to restart; start dockerd with --authorization-plugin=%s "+
				"after `stackctl dev docker-authz` (docs/security.md), or stop it and let stackctl start its own",
				ErrEngineUnguarded, dockerauthz.Name)
		}
	}
	// A dockerd we started earlier may still be coming up.
	if pid := readPID(filepath.Join(stateDir, "dockerd.pid")); pid > 0 && processAlive(pid) {
		return pid, waitFor(ctx, 30*time.Second, "dockerd", func() error { return DockerPing(ctx) })
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return 0, errors.New("dockerd not found: run `stackctl dev install`")
	}
	logDir := filepath.Join(stateDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return 0, err
	}
	fmt.Fprintf(out, "starting dockerd (log: %s)\n", filepath.Join(logDir, "dockerd.log"))
	// --pidfile would clash with a dockerd that a service manager runs; ours
	// records the PID itself.
	if err := startAuthzPlugin(ctx, stateDir, out); err != nil {
		return 0, err
	}
	p, err := startDaemon(bin, []string{"--host=unix://" + dockerSock, "--pidfile=" + filepath.Join(stateDir, "dockerd.engine.pid"),
		"--authorization-plugin=" + dockerauthz.Name},
		nil, filepath.Join(logDir, "dockerd.log"), stateDir)
	if err != nil {
		return 0, err
	}
	if err := writePID(filepath.Join(stateDir, "dockerd.pid"), p); err != nil {
		return p, err
	}
	err = waitFor(ctx, 60*time.Second, "dockerd", func() error {
		if !processAlive(p) {
			return permanent(fmt.Errorf("dockerd exited; see %s:\n%s", filepath.Join(logDir, "dockerd.log"), tailFile(filepath.Join(logDir, "dockerd.log"), 10)))
		}
		return DockerPing(ctx)
	})
	return p, err
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
