//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// 1 + 2: containers from local images, public routes through Traefik,
// service-to-service only through declared upstreams.
func (l *lifecycle) routesPublic(t *testing.T) {
	body := stack.waitGet(t, 60*time.Second, public, "shop.localhost", "/", 200)
	if !strings.Contains(body, `"service":"web"`) {
		t.Errorf("shop.localhost/ answered %s", body)
	}
	body = stack.waitGet(t, 60*time.Second, public, "shop.localhost", "/api/", 200)
	if !strings.Contains(body, `"service":"api"`) {
		t.Errorf("shop.localhost/api/ answered %s", body)
	}
}

func (l *lifecycle) callsUpstream(t *testing.T) {
	body := stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/call/API_ADDR/", 200)
	if !strings.Contains(body, `"service":"api"`) {
		t.Errorf("web -> api answered %s", body)
	}
	body = stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/api/call/KV_ADDR/healthz", 200)
	_ = body
}

// 5: outside vs inside.
func (l *lifecycle) keepsInternalInside(t *testing.T) {
	stack.waitGet(t, 60*time.Second, internal, "orders.shop.localhost", "/", 200)
	if code, body, err := stack.get(public, "orders.shop.localhost", "/"); err != nil || code != 404 {
		t.Errorf("public entrypoint served orders: %d %.100s %v", code, body, err)
	}
	if code, _, err := stack.get(public, "kv.shop.localhost", "/"); err != nil || code != 404 {
		t.Errorf("kv reachable from the edge: %d %v", code, err)
	}
}

func (l *lifecycle) internalOnLoopback(t *testing.T) {
	// The stack's own non-loopback address: the public entrypoint
	// answers there, the internal one must not.
	addr := stack.State.BindAddr
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, fmt.Sprint(stack.State.Ports.Public)), 3*time.Second); err != nil {
		t.Fatalf("public entrypoint not reachable on %s: %v", addr, err)
	} else {
		c.Close()
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(addr, fmt.Sprint(stack.State.Ports.Internal)), 3*time.Second); err == nil {
		c.Close()
		t.Errorf("internal entrypoint accepts connections on %s", addr)
	}
}

func (l *lifecycle) refusesUndeclaredCaller(t *testing.T) {
	// intruder declares kv as an upstream in its own job, but no
	// intention allows it: render it beside the stack and register only
	// its job, as someone bypassing stackctl would.
	dir := t.TempDir()
	copyDir(t, l.jobs, dir)
	writeFile(t, filepath.Join(dir, "intruder.hcl"), `
service "intruder" {
  image = var.image
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "intruder"
  }
  upstream "kv" {
    local_port = 9003
  }
  expose "public" {
    host = "intruder.shop.localhost"
  }
}
`)
	out := t.TempDir()
	if code, o := l.run(t, "", "render", "-o", out, "-s", "intruder", dir); code != 0 {
		t.Fatalf("render: %d %s", code, o)
	}
	id := stack.registerPayload(t, filepath.Join(out, "intruder", "job.json"))
	stack.purgeJob(t, id)
	// Let Traefik in, but not intruder -> kv.
	if err := stack.consulConfigWrite(t, filepath.Join(out, "intruder", "intentions.hcl")); err != nil {
		t.Fatal(err)
	}
	stack.waitJobHealthy(t, id, 2*time.Minute)
	stack.waitGet(t, 2*time.Minute, public, "intruder.shop.localhost", "/healthz", 200)
	if code, body, err := stack.get(public, "intruder.shop.localhost", "/call/KV_ADDR/healthz"); err == nil && code == 200 {
		t.Errorf("intruder reached kv without an intention: %.200s", body)
	}
}

// 6: configuration and secrets.
func (l *lifecycle) injectsEnvAndSecrets(t *testing.T) {
	body := stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/api/env/API_SIGNING_KEY", 200)
	if strings.TrimSpace(body) != sha(canary) {
		t.Errorf("API_SIGNING_KEY in the container hashes to %q, want %q", body, sha(canary))
	}
	body = stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/api/env/SERVICE_NAME", 200)
	if strings.TrimSpace(body) != sha("api") {
		t.Errorf("SERVICE_NAME hashes to %q", body)
	}
	if code, _, _ := stack.get(public, "shop.localhost", "/api/env/VAULT_TOKEN"); code != 404 {
		t.Errorf("the app got a VAULT_TOKEN (status %d); it must not", code)
	}
}

func (l *lifecycle) isolatesSecrets(t *testing.T) {
	tok, err := stack.Vault.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"stackctl-api"}, NoDefaultPolicy: true, TTL: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := stack.Vault.Clone()
	c.SetToken(tok.Auth.ClientToken)
	if _, err := c.KVv2("secret").Get(t.Context(), "shop/api"); err != nil {
		t.Errorf("api cannot read its own secret: %v", err)
	}
	if _, err := c.KVv2("secret").Get(t.Context(), "shop/kv"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("api's policy read kv's secret: %v", err)
	}
}

func (l *lifecycle) leaksNoSecret(t *testing.T) {
	var leaks []string
	for _, id := range []string{"api", "kv", "orders"} {
		job, _, err := stack.Nomad.Jobs().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(job)
		if bytes.Contains(b, []byte(canary)) {
			leaks = append(leaks, "nomad job inspect "+id)
		}
	}
	out := t.TempDir()
	if code, o := l.run(t, "", "render", "-o", out, l.jobs); code != 0 {
		t.Fatalf("render: %s", o)
	}
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(canary)) {
				leaks = append(leaks, "rendered "+p)
			}
		}
		return nil
	})
	_, planOut := l.run(t, "", "plan", l.jobs)
	_, statusOut := l.run(t, "", "status", "api")
	if strings.Contains(planOut+statusOut+l.transcript.String(), canary) {
		leaks = append(leaks, "stackctl output")
	}
	// Task logs and the agents' logs.
	allocs, _, _ := stack.Nomad.Jobs().Allocations("api", true, nil)
	for _, a := range allocs {
		alloc, _, err := stack.Nomad.Allocations().Info(a.ID, nil)
		if err != nil {
			continue
		}
		for _, typ := range []string{"stdout", "stderr"} {
			frames, errc := stack.Nomad.AllocFS().Logs(alloc, false, "api", typ, "start", 0, nil, nil)
			var buf bytes.Buffer
		read:
			for {
				select {
				case f, ok := <-frames:
					if !ok {
						break read
					}
					buf.Write(f.Data)
				case <-errc:
					break read
				case <-time.After(5 * time.Second):
					break read
				}
			}
			if bytes.Contains(buf.Bytes(), []byte(canary)) {
				leaks = append(leaks, "task log "+a.ID[:8]+" "+typ)
			}
		}
	}
	logs, _ := filepath.Glob(filepath.Join(stack.State.Dir, "logs", "*"))
	for _, l := range logs {
		if b, _ := os.ReadFile(l); bytes.Contains(b, []byte(canary)) {
			leaks = append(leaks, "agent log "+l)
		}
	}
	if len(leaks) > 0 {
		t.Errorf("the canary secret leaked into: %s", strings.Join(leaks, ", "))
	}
}

func (l *lifecycle) redeploysNothing(t *testing.T) {
	before := jobVersions(t)
	code, out := l.run(t, "", "deploy", l.jobs)
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if after := jobVersions(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("job versions moved: %v -> %v", before, after)
	}
}
