package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/stackctl/stackctl/internal/dockerauthz"
)

// The Docker engine a stack starts runs with stackctl's authorization
// plugin (internal/dockerauthz): Nomad's docker driver cannot refuse host
// networking, host namespaces or devices to a job submitter, the engine
// can. The plugin is this program itself (`stackctl dev docker-authz`),
// started before the engine and ending with it.

// authzPIDFile records the plugin's PID beside dockerd's.
func authzPIDFile(stateDir string) string { return filepath.Join(stateDir, "docker-authz.pid") }

// startAuthzPlugin starts the plugin unless one of ours answers already,
// and waits for its socket. It watches the engine's PID file and exits
// when the engine it served is gone.
func startAuthzPlugin(ctx context.Context, stateDir string, out io.Writer) error {
	if pid := readPID(authzPIDFile(stateDir)); pid > 0 && processAlive(pid) {
		if _, err := os.Stat(dockerauthz.SocketPath); err == nil {
			return nil
		}
		_ = Proc{PID: pid}.Stop(syscall.SIGTERM, 5*time.Second)
	}
	bin, err := buildAuthzPlugin(ctx, stateDir)
	if err != nil {
		return err
	}
	logPath := filepath.Join(stateDir, "logs", dockerauthz.Name+".log")
	fmt.Fprintf(out, "starting the engine's authorization plugin %s (log: %s)\n", dockerauthz.Name, logPath)
	pid, err := startDaemon(bin, []string{
		"-socket", dockerauthz.SocketPath, "-docker-socket", dockerSock,
		"-engine-pidfile", filepath.Join(stateDir, "dockerd.pid")}, nil, logPath, stateDir)
	if err != nil {
		return err
	}
	if err := writePID(authzPIDFile(stateDir), pid); err != nil {
		return err
	}
	return waitFor(ctx, 15*time.Second, dockerauthz.Name, func() error {
		if !processAlive(pid) {
			return permanent(fmt.Errorf("%s exited; see %s:\n%s", dockerauthz.Name, logPath, tailFile(logPath, 10)))
		}
		_, err := os.Stat(dockerauthz.SocketPath)
		return err
	})
}

// engineAuthz lists the authorization plugins the running engine uses.
func engineAuthz(ctx context.Context) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://docker/info", nil)
	resp, err := dockerClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("docker info: %s", resp.Status)
	}
	var info struct {
		Plugins struct{ Authorization []string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return nil, err
	}
	return info.Plugins.Authorization, nil
}

// ErrEngineUnguarded says the running engine is not ours and has no
// authorization plugin: Nomad's jobs could ask it for host networking.
var ErrEngineUnguarded = errors.New("the running Docker engine has no authorization plugin " + dockerauthz.Name)

// engineGuarded reports whether the running engine consults the plugin.
func engineGuarded(ctx context.Context) (bool, error) {
	plugins, err := engineAuthz(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(plugins, dockerauthz.Name), nil
}

// buildAuthzPlugin builds cmd/stackctl-docker-authz from the checkout into
// the stack's bin directory (seconds with Go's build cache): the plugin
// must be that program whatever binary runs `dev up`.
func buildAuthzPlugin(ctx context.Context, stateDir string) (string, error) {
	repo, err := FindRepo()
	if err != nil {
		return "", fmt.Errorf("the engine's authorization plugin is built from the stackctl checkout: %w", err)
	}
	bin := filepath.Join(stateDir, "bin", "stackctl-docker-authz")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/stackctl-docker-authz")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the engine's authorization plugin: %v\n%s", err, b)
	}
	return bin, nil
}
