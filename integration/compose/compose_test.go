//go:build compose

// Package compose_test runs docker-compose.dev.yml for real: `docker
// compose up` with the local agent images, the example system deployed on
// it with stackctl, its routes through Traefik, and `docker compose down`
// leaving nothing behind. It uses the same ports as `stackctl dev up`, so it
// runs on its own (`make compose-test`), never beside the dev stack.
package compose_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/cli"
	"github.com/stackctl/stackctl/internal/devstack"
	"github.com/stackctl/stackctl/internal/testkit"
)

const (
	project = "stackctl-compose-test"
	dataDir = "/tmp/stackctl-compose-test/nomad"
	// The compose file's default ports.
	nomadAddr  = "http://127.0.0.1:4646"
	consulAddr = "http://127.0.0.1:8500"
	vaultAddr  = "http://127.0.0.1:8200"
	publicURL  = "http://127.0.0.1:8000"
	internURL  = "http://127.0.0.1:8001"
)

func TestComposeStack(t *testing.T) {
	ctx := t.Context()
	repo, err := devstack.FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	stateDir, err := devstack.StateDir()
	if err != nil {
		t.Fatal(err)
	}
	cacheDir, err := devstack.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"4646", "8500", "8200", "8000", "8001"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			t.Fatalf("port %s is in use: stop the dev stack (`stackctl dev down`) before this test", port)
		}
	}

	// Docker, the agents and the images, as a user gets them.
	dockerWasUp := devstack.DockerPing(ctx) == nil
	if err := devstack.Install(ctx, devstack.InstallOptions{
		CacheDir: cacheDir, StateDir: stateDir, Repo: repo, ComposeImages: true, Out: testWriter{t},
	}); err != nil {
		t.Fatalf("dev install --compose-images: %v", err)
	}
	if !dockerWasUp {
		t.Cleanup(func() {
			if _, err := devstack.StopDockerd(stateDir, testWriter{t}); err != nil {
				t.Error(err)
			}
		})
	}
	prepareMounts(t)

	compose := func(args ...string) (string, error) {
		all := append([]string{"compose", "--env-file", devstack.ComposeEnvFile(stateDir),
			"-f", filepath.Join(repo, "docker-compose.dev.yml"), "-p", project}, args...)
		cmd := exec.CommandContext(context.WithoutCancel(ctx), "docker", all...)
		cmd.Env = append(os.Environ(), "NOMAD_DATA_DIR="+dataDir)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	t.Cleanup(func() {
		// Whatever happened above: nothing of the stack may outlive the test.
		if out, err := compose("down", "--volumes", "--timeout", "30"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
		removeAllocContainers(t)
	})

	start := time.Now()
	if out, err := compose("up", "--detach", "--wait", "--wait-timeout", "180", "--pull", "never"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	t.Logf("compose up --wait: %.1fs", time.Since(start).Seconds())

	t.Run("every component is ready", func(t *testing.T) {
		testkit.Eventually(t, time.Minute, "Consul leader", func() error {
			return wantBody(consulAddr+"/v1/status/leader", "", 200, ":8300")
		})
		testkit.Eventually(t, time.Minute, "Vault unsealed with the deployer policy", func() error {
			return wantBody(vaultAddr+"/v1/sys/policies/acl/deployer", "", 200, "deployer")
		})
		testkit.Eventually(t, time.Minute, "Nomad node ready with docker and raw_exec", func() error {
			return wantBody(nomadAddr+"/v1/nodes?resources=false", "", 200, `"Status":"ready"`)
		})
		testkit.Eventually(t, 2*time.Minute, "Traefik's readiness route on the internal entrypoint", func() error {
			return wantBody(internURL+"/traefik-ready", "", 200, "OK")
		})
	})

	t.Setenv("NOMAD_ADDR", nomadAddr)
	t.Setenv("CONSUL_HTTP_ADDR", consulAddr)
	t.Setenv("VAULT_ADDR", vaultAddr)
	t.Setenv("VAULT_TOKEN", "root")
	jobs := filepath.Join(repo, "jobs")
	secret := fmt.Sprintf("compose-canary-%d", time.Now().UnixNano())
	var transcript strings.Builder
	run := func(stdin string, args ...string) int {
		var out bytes.Buffer
		code := cli.Main(append([]string{"stackctl"}, args...), strings.NewReader(stdin), &out, &out)
		transcript.Write(out.Bytes())
		if code != 0 {
			t.Fatalf("stackctl %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
		return code
	}

	t.Run("the example system deploys and routes", func(t *testing.T) {
		run(secret+"\n", "secrets", "put", "--stack", jobs, "api", "API_SIGNING_KEY")
		run(secret+"-kv\n", "secrets", "put", "--stack", jobs, "kv", "KV_PASSWORD")
		start := time.Now()
		run("", "deploy", "--timeout", "5m", jobs)
		t.Logf("deploy of the example system: %.1fs", time.Since(start).Seconds())

		testkit.Eventually(t, 2*time.Minute, "web on the public entrypoint", func() error {
			return wantBody(publicURL+"/", "shop.localhost", 200, `"service":"web"`)
		})
		sum := sha256.Sum256([]byte(secret))
		testkit.Eventually(t, time.Minute, "api's Vault secret in its environment", func() error {
			return wantBody(publicURL+"/api/env/API_SIGNING_KEY", "shop.localhost", 200, hex.EncodeToString(sum[:]))
		})
		testkit.Eventually(t, time.Minute, "api -> kv through the mesh", func() error {
			return wantBody(publicURL+"/api/call/KV_ADDR/", "shop.localhost", 200, `"service":"kv"`)
		})
		if err := wantBody(internURL+"/", "shop.localhost", 404, ""); err != nil {
			t.Fatalf("the internal entrypoint serves the public site: %v", err)
		}
		if strings.Contains(transcript.String(), secret) {
			t.Fatal("a secret value appeared in stackctl's output")
		}
	})

	t.Run("compose down leaves no container", func(t *testing.T) {
		if out, err := compose("down", "--timeout", "30"); err != nil {
			t.Fatalf("compose down: %v\n%s", err, out)
		}
		for _, filter := range []string{"label=com.docker.compose.project=" + project, "label=com.hashicorp.nomad.alloc_id"} {
			b, err := exec.Command("docker", "ps", "-aq", "--filter", filter).Output()
			if err != nil {
				t.Fatal(err)
			}
			if ids := strings.Fields(string(b)); len(ids) > 0 {
				t.Errorf("%d container(s) with %s left after down", len(ids), filter)
			}
		}
	})
}

// prepareMounts does what docker-compose.dev.yml asks of hosts where / is
// not a shared mount (systemd makes it shared; containers often do not):
// Nomad's data directory and Docker's netns directory become shared mounts
// of themselves (rbind, so what is mounted inside stays visible), undone
// at the end by one lazy unmount of that layer.
func prepareMounts(t *testing.T) {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("findmnt", "-no", "PROPAGATION", "/").Output()
	if err != nil {
		t.Fatalf("findmnt /: %v", err)
	}
	if strings.Contains(string(b), "shared") {
		return
	}
	for _, dir := range []string{dataDir, "/run/docker/netns"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"--rbind", dir, dir}, {"--make-rshared", dir}} {
			if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
				t.Fatalf("mount %v: %v: %s", args, err, out)
			}
		}
		t.Cleanup(func() {
			if out, err := exec.Command("umount", "--lazy", dir).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", dir, err, out)
			}
		})
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(dataDir)) })
}

func removeAllocContainers(t *testing.T) {
	b, err := exec.Command("docker", "ps", "-aq", "--filter", "label=com.hashicorp.nomad.alloc_id").Output()
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return
	}
	args := append([]string{"rm", "-f"}, strings.Fields(string(b))...)
	_ = exec.Command("docker", args...).Run()
}

func wantBody(url, host string, code int, substr string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	if host != "" {
		req.Host = host
	}
	if strings.HasPrefix(url, vaultAddr) {
		req.Header.Set("X-Vault-Token", "root") // the compose file's dev root token
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != code {
		return fmt.Errorf("GET %s (Host %q): %d, want %d: %.200s", url, host, resp.StatusCode, code, body)
	}
	if !strings.Contains(string(body), substr) {
		return fmt.Errorf("GET %s (Host %q): body lacks %q: %.200s", url, host, substr, body)
	}
	return nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
