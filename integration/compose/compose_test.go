//go:build compose

// Package compose_test runs the README's Docker Compose commands exactly as
// the README writes them (the indented blocks after its `compose-test`
// markers), then checks what they promise: every component ready with ACLs
// on, the example system deployed with the deployer's tokens and routed,
// its Vault secret delivered, the mesh working, a direct dial between
// allocations refused, no token in any container's configuration, log or
// process arguments, a second `up` converging, and `down` leaving no
// container, mount, firewall rule or bridge behind, with Docker still able
// to start host-network containers. It uses the ports of `stackctl dev up`,
// so it runs on its own (`make compose-test`), never beside the dev stack.
package compose_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/devstack"
	"github.com/stackctl/stackctl/internal/testkit"
)

const (
	nomadAddr  = "http://127.0.0.1:4646"
	consulAddr = "http://127.0.0.1:8500"
	vaultAddr  = "http://127.0.0.1:8200"
	publicURL  = "http://127.0.0.1:8000"
	internURL  = "http://127.0.0.1:8001"
	gateway    = "172.26.64.1"
)

func TestComposeStack(t *testing.T) {
	repo, err := devstack.FindRepo()
	if err != nil {
		t.Fatal(err)
	}
	devDir, err := devstack.StateDir()
	if err != nil {
		t.Fatal(err)
	}
	composeDir, err := devstack.ComposeDir()
	if err != nil {
		t.Fatal(err)
	}
	nomadDir, err := devstack.ComposeNomadDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []string{"4646", "8500", "8200", "8000", "8001"} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			t.Fatalf("port %s is in use: stop the dev stack (`stackctl dev down`) before this test", port)
		}
	}
	up, down := readmeBlock(t, repo, "up"), readmeBlock(t, repo, "down")
	// Split the up block before `dev compose up`, to photograph the host
	// once Docker runs and before the stack changes anything.
	i := slices.IndexFunc(up, func(l string) bool { return strings.Contains(l, "dev compose up") })
	if i < 1 {
		t.Fatalf("the README's up block does not run `dev compose up` after installing:\n%s", strings.Join(up, "\n"))
	}
	stackctl := filepath.Join(repo, "bin", "stackctl")

	dockerWasUp := devstack.DockerPing(t.Context()) == nil
	downDone := false
	t.Cleanup(func() {
		// Whatever failed above: nothing of the stack may outlive the test.
		if !downDone {
			if out, err := run(context.Background(), repo, stackctl+" dev compose down"); err != nil {
				t.Errorf("cleanup: dev compose down: %v\n%s", err, out)
			}
		}
		if !dockerWasUp {
			if _, err := devstack.StopDockerd(devDir, testWriter{t}); err != nil {
				t.Error(err)
			}
		}
	})
	shell(t, repo, up[:i])
	before := photograph(t, nomadDir)

	start := time.Now()
	shell(t, repo, up[i:])
	t.Logf("the README's up block from `dev compose up` to the curl: %.1fs", time.Since(start).Seconds())

	deployer := exports(t, repo, stackctl, "dev", "compose", "env")
	admin := exports(t, repo, stackctl, "dev", "compose", "env", "--admin")
	secretsDir := filepath.Join(composeDir, "secrets")
	tokens := credentials(t, secretsDir)

	t.Run("every component is ready, with ACLs on", func(t *testing.T) {
		if err := wantBody(internURL+"/traefik-ready", "", nil, 200, "OK"); err != nil {
			t.Error(err)
		}
		if err := wantBody(nomadAddr+"/v1/nodes", "", map[string]string{"X-Nomad-Token": admin["NOMAD_TOKEN"]}, 200, `"Status":"ready"`); err != nil {
			t.Error(err)
		}
		if err := wantBody(vaultAddr+"/v1/sys/health", "", nil, 200, `"initialized":true,"sealed":false`); err != nil {
			t.Error(err)
		}
		if err := wantBody("http://127.0.0.1:8090/v1/health", "", nil, 200, ""); err != nil {
			t.Error(err)
		}
		// Anonymous requests get nothing.
		if err := wantBody(nomadAddr+"/v1/jobs", "", nil, 403, ""); err != nil {
			t.Errorf("Nomad without a token: %v", err)
		}
		if err := wantBody(consulAddr+"/v1/catalog/services", "", nil, 200, "{}"); err != nil {
			t.Errorf("Consul without a token: %v", err)
		}
		if err := wantBody(vaultAddr+"/v1/secret/data/shop/api", "", nil, 403, ""); err != nil {
			t.Errorf("Vault without a token: %v", err)
		}
		// The deployer may not read the platform's Consul ACLs.
		if err := wantBody(consulAddr+"/v1/acl/tokens", "", map[string]string{"X-Consul-Token": deployer["CONSUL_HTTP_TOKEN"]}, 403, ""); err != nil {
			t.Errorf("Consul ACL tokens with the deployer's token: %v", err)
		}
	})

	t.Run("APIs listen on loopback, Consul also on the bridge gateway", func(t *testing.T) {
		_, hostIP, err := devstack.HostAddr()
		if err != nil {
			t.Fatal(err)
		}
		for _, port := range []int{4646, 8500, 8200, 8001, 8090} {
			if c, err := net.DialTimeout("tcp", net.JoinHostPort(hostIP, strconv.Itoa(port)), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("port %d answers on the host's address %s", port, hostIP)
			}
		}
		if c, err := net.DialTimeout("tcp", gateway+":8500", 2*time.Second); err != nil {
			t.Errorf("Consul on the bridge gateway: %v", err)
		} else {
			c.Close()
		}
	})

	t.Run("credentials are 0600 files in 0700 directories", func(t *testing.T) {
		err := filepath.WalkDir(composeDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !within(p, secretsDir) {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) < 10 {
			t.Errorf("found %d credentials in %s, want the 7 of `dev env` and the agents' own", len(tokens), secretsDir)
		}
	})

	t.Run("the example routes, with its Vault secret and the mesh", func(t *testing.T) {
		testkit.Eventually(t, time.Minute, "web on the public entrypoint", func() error {
			return wantBody(publicURL+"/", "shop.localhost", nil, 200, `"service":"web"`)
		})
		if err := wantBody(internURL+"/", "shop.localhost", nil, 404, ""); err != nil {
			t.Errorf("the internal entrypoint serves the public site: %v", err)
		}
		// The value the README's command generated, read back as the
		// operator (the deployer may only write secrets).
		value := vaultSecret(t, admin["VAULT_TOKEN"], "secret/data/shop/api", "signing_key") // jobs/api.hcl
		sum := sha256.Sum256([]byte(value))
		testkit.Eventually(t, time.Minute, "api's Vault secret in its environment", func() error {
			return wantBody(publicURL+"/api/env/API_SIGNING_KEY", "shop.localhost", nil, 200, hex.EncodeToString(sum[:]))
		})
		testkit.Eventually(t, time.Minute, "api -> kv through the mesh", func() error {
			return wantBody(publicURL+"/api/call/KV_ADDR/", "shop.localhost", nil, 200, `"service":"kv"`)
		})
	})

	t.Run("a direct dial between allocations is refused", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "stack.hcl"), []byte(probeStack), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(stackctl, "deploy", "--timeout", "4m", dir)
		cmd.Dir, cmd.Env = repo, withExports(deployer)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deploy the probe stack with the deployer's tokens: %v\n%s", err, out)
		}
		nc, err := nomad.NewClient(&nomad.Config{Address: nomadAddr, SecretID: deployer["NOMAD_TOKEN"]})
		if err != nil {
			t.Fatal(err)
		}
		ip := allocAddr(t, nc, "cmp-target")
		var r struct {
			Connected bool
			Answer    string
			Error     string
		}
		body := getOK(t, internURL+"/dial?addr="+url.QueryEscape(net.JoinHostPort(ip, "8080")), "probe.compose.localhost")
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("probe answer %q: %v", body, err)
		}
		if r.Connected {
			t.Errorf("cmp-probe opened a connection to cmp-target's application at %s:8080 (answer %q)", ip, r.Answer)
		} else if !strings.Contains(r.Error, "refused") && !strings.Contains(r.Error, "reset") {
			t.Errorf("direct dial of cmp-target at %s:8080: %q, want a refusal (not a timeout)", ip, r.Error)
		}
		// Its declared upstream answers through the mesh.
		if body := getOK(t, internURL+"/call/CMP_TARGET_ADDR/", "probe.compose.localhost"); !strings.Contains(body, `"service":"cmp-target"`) {
			t.Errorf("cmp-probe -> cmp-target answered %s", body)
		}
	})

	t.Run("a second up converges", func(t *testing.T) {
		shell(t, repo, []string{stackctl + " dev compose up"})
		if again := credentials(t, secretsDir); !maps(tokens, again) {
			t.Error("a second `dev compose up` changed the credentials")
		}
		if err := wantBody(publicURL+"/", "shop.localhost", nil, 200, `"service":"web"`); err != nil {
			t.Errorf("after a second up: %v", err)
		}
	})

	t.Run("no token in docker inspect, compose logs or any process's arguments", func(t *testing.T) {
		ids, err := exec.Command("docker", "ps", "-aq").Output()
		if err != nil {
			t.Fatal(err)
		}
		inspect, err := exec.Command("docker", append([]string{"inspect"}, strings.Fields(string(ids))...)...).Output()
		if err != nil {
			t.Fatal(err)
		}
		logs, err := exec.Command("docker", "compose", "-f", filepath.Join(repo, devstack.ComposeFile), "logs", "--no-color").CombinedOutput()
		if err != nil {
			t.Fatalf("docker compose logs: %v\n%s", err, logs)
		}
		if len(logs) < 1000 {
			t.Fatalf("docker compose logs printed %d bytes: not the stack's logs", len(logs))
		}
		var argv strings.Builder
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, _ := os.ReadFile(p)
			argv.Write(b)
			argv.WriteByte('\n')
		}
		for name, tok := range tokens {
			for where, text := range map[string]string{"docker inspect": string(inspect), "docker compose logs": string(logs), "a process's arguments": argv.String()} {
				if strings.Contains(text, tok) {
					t.Errorf("%s holds the token of %s", where, name)
				}
			}
		}
	})

	t.Run("down leaves nothing behind", func(t *testing.T) {
		downDone = true
		shell(t, repo, down)
		for _, filter := range []string{"label=com.docker.compose.project=" + devstack.ComposeProject, "label=" + devstack.AllocLabel} {
			b, err := exec.Command("docker", "ps", "-aq", "--filter", filter).Output()
			if err != nil {
				t.Fatal(err)
			}
			if ids := strings.Fields(string(b)); len(ids) > 0 {
				t.Errorf("%d container(s) with %s left after down", len(ids), filter)
			}
		}
		after := photograph(t, nomadDir)
		for _, d := range diff(before.mounts, after.mounts) {
			t.Errorf("mounts: %s", d)
		}
		for _, d := range diff(before.rules, after.rules) {
			// A rule of Nomad's CNI plugins that an earlier stack left
			// behind goes when an allocation that reused its address is
			// torn down: the plugins add a rule only if it is missing.
			if staleCNIRule.MatchString(d) {
				t.Logf("iptables: %s (a stale rule, removed with the allocation that reused its address)", d)
				continue
			}
			t.Errorf("iptables: %s", d)
		}
		if before.bridge != after.bridge {
			t.Errorf("Nomad's bridge: before up %v, after down %v", before.bridge, after.bridge)
		}
		for _, p := range []string{secretsDir, nomadDir} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s is left after down", p)
			}
		}
		// Docker can still start a host-network container (issue 11:
		// "can't get final child's PID from pipe" after the old test).
		image := readEnv(t, devstack.ComposeEnvFile(devDir))["CONSUL_IMAGE"]
		if out, err := exec.Command("docker", "run", "--rm", "--network", "host", "--pull", "never", "--entrypoint", "/bin/true", image).CombinedOutput(); err != nil {
			t.Errorf("docker run --network host after down: %v\n%s", err, out)
		}
	})
}

// probeStack: cmp-probe (PROBE=1, the hostile workload, reached through the
// internal entrypoint) declares cmp-target as its upstream.
const probeStack = `
stack {
  name        = "compose-probe"
  datacenters = ["dc1"]
  domain      = "compose.localhost"
  sidecar {
    kind = "builtin"
  }
}

service "cmp-probe" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "cmp-probe"
    PROBE        = "1"
  }
  upstream "cmp-target" {
    local_port = 9301
  }
  expose "internal" {
    host = "probe.compose.localhost"
  }
}

service "cmp-target" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "cmp-target"
  }
}
`

// readmeBlock returns the lines of the indented block that follows the
// README's `<!-- compose-test: NAME -->` marker.
func readmeBlock(t *testing.T, repo, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	marker := "<!-- compose-test: " + name + " -->"
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("README.md has no %s marker", marker)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimLeft(rest, "\n"), "\n") {
		if !strings.HasPrefix(l, "    ") {
			break
		}
		lines = append(lines, strings.TrimPrefix(l, "    "))
	}
	if len(lines) == 0 {
		t.Fatalf("no indented block after %s in README.md", marker)
	}
	return lines
}

// cleanEnv is the test's environment without the clients' variables, as
// in a fresh shell.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOMAD_") && !strings.HasPrefix(kv, "CONSUL_") && !strings.HasPrefix(kv, "VAULT_") {
			env = append(env, kv)
		}
	}
	return env
}

func run(ctx context.Context, dir, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = dir, cleanEnv()
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// shell runs lines as one bash script (set -euo pipefail) in the repository.
func shell(t *testing.T, repo string, lines []string) {
	t.Helper()
	script := strings.Join(lines, "\n")
	t.Logf("$ %s", strings.ReplaceAll(script, "\n", "\n$ "))
	out, err := run(t.Context(), repo, script)
	t.Log(out)
	if err != nil {
		t.Fatalf("the README's commands failed: %v", err)
	}
}

// exports runs `stackctl dev compose env ...` and parses its exports.
func exports(t *testing.T, repo string, args ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = repo, cleanEnv()
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export ([A-Z_]+)='([^']*)'$`).FindAllStringSubmatch(string(b), -1) {
		vars[m[1]] = m[2]
	}
	for _, k := range []string{"NOMAD_ADDR", "NOMAD_TOKEN", "CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "VAULT_ADDR", "VAULT_TOKEN"} {
		if vars[k] == "" {
			t.Fatalf("%s printed no %s", strings.Join(args[1:], " "), k)
		}
	}
	return vars
}

func withExports(vars map[string]string) []string {
	env := cleanEnv()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// credentials reads every token in the credential directory: whole files,
// and the token attributes of the agents' configuration pieces.
func credentials(t *testing.T, dir string) map[string]string {
	t.Helper()
	toks := map[string]string{}
	attr := regexp.MustCompile(`token = "([^"]+)"`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasSuffix(p, ".hcl") {
			for _, m := range attr.FindAllStringSubmatch(string(b), -1) {
				toks[rel] = m[1]
			}
		} else if v := strings.TrimSpace(string(b)); len(v) >= 16 {
			toks[rel] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// staleCNIRule is a per-allocation rule of the CNI firewall plugin, gone.
var staleCNIRule = regexp.MustCompile(`^removed: filter: -A CNI-FORWARD -[ds] 172\.26\.(6[4-9]|7[0-9])\.[0-9]+/32 `)

// hostPhoto is what `down` must restore.
type hostPhoto struct {
	mounts, rules []string
	bridge        bool
}

func photograph(t *testing.T, nomadDir string) hostPhoto {
	t.Helper()
	var p hostPhoto
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// dockerd's host-network sandbox is dockerd's: mounted by the first
	// host-network container it runs, kept until it stops. The last check
	// of the test shows it intact.
	sandbox := "/run/docker/netns/default"
	if d, err := filepath.EvalSymlinks("/var/run/docker"); err == nil {
		sandbox = filepath.Join(d, "netns", "default")
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 6 && fs[4] != sandbox {
			p.mounts = append(p.mounts, fs[4])
		}
	}
	for _, table := range []string{"filter", "nat"} {
		b, err := exec.Command("iptables", "-w", "-t", table, "-S").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			p.rules = append(p.rules, table+": "+l)
		}
	}
	_, err = net.InterfaceByName("nomad")
	p.bridge = err == nil
	return p
}

// diff lists the lines only one side has, as a multiset.
func diff(before, after []string) []string {
	count := map[string]int{}
	for _, l := range before {
		count[l]++
	}
	for _, l := range after {
		count[l]--
	}
	var out []string
	for l, n := range count {
		switch {
		case n < 0:
			out = append(out, "added: "+l)
		case n > 0:
			out = append(out, "removed: "+l)
		}
	}
	slices.Sort(out)
	return out
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			vars[k] = v
		}
	}
	return vars
}

func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// vaultSecret reads one key of a KV v2 secret.
func vaultSecret(t *testing.T, token, path, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", vaultAddr+"/v1/"+path, nil)
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("read %s: %s %v", path, resp.Status, err)
	}
	v := body.Data.Data[key]
	if v == "" {
		t.Fatalf("%s has no %s", path, key)
	}
	return v
}

// allocAddr returns the bridge address of a job's running allocation.
func allocAddr(t *testing.T, nc *nomad.Client, job string) string {
	t.Helper()
	allocs, _, err := nc.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stub := range allocs {
		if stub.ClientStatus != "running" {
			continue
		}
		a, _, err := nc.Allocations().Info(stub.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ns := a.NetworkStatus; ns != nil && ns.Address != "" {
			return ns.Address
		}
	}
	t.Fatalf("no running allocation of %s with a bridge address", job)
	return ""
}

func getOK(t *testing.T, url, host string) string {
	t.Helper()
	var body string
	testkit.Eventually(t, time.Minute, "GET "+url, func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %.200s", resp.Status, b)
		}
		body = string(b)
		return nil
	})
	return body
}

func wantBody(url, host string, headers map[string]string, code int, substr string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
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
