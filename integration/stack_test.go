//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/devstack"
)

// The stack is wired as a cluster is expected to be.
func testStackWiring(t *testing.T) {
	t.Run("platform jobs running", func(t *testing.T) {
		for _, id := range []string{"traefik", "nomad-autoscaler"} {
			if err := devstack.JobRunning(stack.Nomad, devstack.PlatformNamespace, id); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("the bridge's hardware address is set, not taken from a port", func(t *testing.T) {
		// Taken from a port, it changes when that allocation stops and the
		// others lose their gateway for seconds (isolation.go, ensureBridge).
		b, err := os.ReadFile("/sys/class/net/nomad/addr_assign_type")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(b)); got != "3" { // NET_ADDR_SET
			t.Errorf("addr_assign_type of the nomad bridge is %s, want 3 (set explicitly)", got)
		}
	})
	t.Run("every NAT rule of the bridge network belongs to a known allocation", func(t *testing.T) {
		// A rule of an allocation that is gone shadows the DNAT of a later
		// one on the same host port (devstack/cnirules.go).
		b, err := exec.Command("iptables", "-w", "-t", "nat", "-S").Output()
		if err != nil {
			t.Fatal(err)
		}
		stubs, _, err := stack.Nomad.Allocations().List(&nomad.QueryOptions{Namespace: "*"})
		if err != nil {
			t.Fatal(err)
		}
		known := map[string]bool{}
		for _, a := range stubs {
			known[a.ID] = true
		}
		for _, m := range regexp.MustCompile(`name: \\"nomad\\" id: \\"([0-9a-f-]+)\\"`).FindAllStringSubmatch(string(b), -1) {
			if !known[m[1]] {
				t.Errorf("a NAT rule of allocation %s, which Nomad does not know", m[1])
			}
		}
	})
	t.Run("dev up removed the containers of an earlier stack's allocations, and only those", testLeftoversRemoved)
	t.Run("mesh default deny", func(t *testing.T) {
		e, _, err := stack.Consul.ConfigEntries().Get(consul.ServiceIntentions, "*", nil)
		if err != nil {
			t.Fatal(err)
		}
		ixn := e.(*consul.ServiceIntentionsConfigEntry)
		if len(ixn.Sources) != 1 || ixn.Sources[0].Name != "*" || ixn.Sources[0].Action != consul.IntentionActionDeny {
			t.Errorf("wildcard intention: %+v", ixn.Sources)
		}
	})
	t.Run("vault policies and kv", func(t *testing.T) {
		for _, name := range []string{"deployer", "nomad-server"} {
			p, err := stack.Vault.Sys().GetPolicy(name)
			if err != nil || p == "" {
				t.Errorf("policy %s: %q %v", name, p, err)
			}
		}
		if _, err := stack.Vault.KVv2("secret").Put(t.Context(), "itest/probe", map[string]any{"k": "v"}); err != nil {
			t.Errorf("KV v2 at secret/: %v", err)
		}
	})
	t.Run("traefik internal entrypoint is loopback only", func(t *testing.T) {
		// The readiness route answers on loopback...
		if code, _, err := stack.get(internal, "anything", "/traefik-ready"); err != nil || code != 200 {
			t.Errorf("internal /traefik-ready: %d %v", code, err)
		}
		// ...and is not on the public entrypoint.
		if code, _, err := stack.get(public, "anything", "/traefik-ready"); err != nil || code != 404 {
			t.Errorf("public /traefik-ready: %d %v, want 404", code, err)
		}
		// Traefik's API, too: it lists the routers on loopback only.
		if code, body, err := stack.get(internal, "traefik.localhost", "/api/http/routers"); err != nil || code != 200 || !strings.Contains(body, "traefik-ready@consulcatalog") {
			t.Errorf("internal traefik api: %d %v %.200s", code, err, body)
		}
		if code, _, err := stack.get(public, "traefik.localhost", "/api/http/routers"); err != nil || code != 404 {
			t.Errorf("public traefik api: %d %v, want 404", code, err)
		}
	})
}

// A hand-written Connect pair: routed through Traefik on the public
// entrypoint only, and the mesh denies what no intention allows.
func testMeshAndRouting(t *testing.T) {
	job := stack.parseJobFile(t, filepath.Join("testdata", "mesh.nomad.hcl"),
		fmt.Sprintf("consul_http_addr = %q\n", stack.State.SidecarConsulAddr()))
	ixns := stack.Consul.ConfigEntries()
	for _, svc := range []string{"ithello", "itclient"} {
		entry := &consul.ServiceIntentionsConfigEntry{Kind: consul.ServiceIntentions, Name: svc,
			Sources: []*consul.SourceIntention{{Name: "traefik", Action: consul.IntentionActionAllow}}}
		if _, _, err := ixns.Set(entry, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = ixns.Delete(consul.ServiceIntentions, svc, nil) })
	}
	stack.registerJob(t, job)
	stack.purgeJob(t, *job.ID)
	stack.waitJobHealthy(t, *job.ID, 2*time.Minute)

	body := stack.waitGet(t, 2*time.Minute, public, "hello.itest.localhost", "/", 200)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil || got["service"] != "ithello" {
		t.Errorf("public route: %q %v", body, err)
	}
	if code, b, err := stack.get(internal, "hello.itest.localhost", "/"); err != nil || code != 404 {
		t.Errorf("internal entrypoint served the public route: %d %.100s %v", code, b, err)
	}

	// itclient -> ithello through the mesh: denied by default...
	stack.waitGet(t, 2*time.Minute, public, "client.itest.localhost", "/healthz", 200)
	if code, b, err := stack.get(public, "client.itest.localhost", "/call/HELLO_ADDR/"); err != nil || code == 200 {
		t.Errorf("mesh call without intention: %d %.100s %v, want a failure", code, b, err)
	}
	// ...allowed by an intention.
	allow := &consul.ServiceIntentionsConfigEntry{Kind: consul.ServiceIntentions, Name: "ithello",
		Sources: []*consul.SourceIntention{
			{Name: "traefik", Action: consul.IntentionActionAllow},
			{Name: "itclient", Action: consul.IntentionActionAllow},
		}}
	if _, _, err := ixns.Set(allow, nil); err != nil {
		t.Fatal(err)
	}
	body = stack.waitGet(t, 30*time.Second, public, "client.itest.localhost", "/call/HELLO_ADDR/", 200)
	if !strings.Contains(body, `"service":"ithello"`) {
		t.Errorf("mesh call answered %q, want ithello's index", body)
	}
}

// docker-compose.dev.yml is valid Compose and its images are overridable.
func testComposeFileValid(t *testing.T) {
	if err := exec.Command("docker", "compose", "version").Run(); err != nil {
		t.Fatalf("docker compose v2 is not installed: run stackctl dev install docker-compose (make install-agents does): %v", err)
	}
	file := filepath.Join(stack.Repo, "docker-compose.dev.yml")
	if b, err := exec.Command("docker", "compose", "-f", file, "config", "-q").CombinedOutput(); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, b)
	}
	cmd := exec.Command("docker", "compose", "-f", file, "config", "--images")
	cmd.Env = append(os.Environ(), "NOMAD_IMAGE=local/nomad:test", "TRAEFIK_IMAGE=local/traefik:test")
	b, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"local/nomad:test", "local/traefik:test", "hashicorp/consul:1.14.11", "hashicorp/vault:1.14.1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("images %q lack %s", b, want)
		}
	}
}
