//go:build integration

// Named so that it runs after the wiring and rendering tests (file order):
// it deploys, scales and breaks things on purpose.

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/cli"
	"github.com/stackctl/stackctl/internal/devstack"
	"github.com/stackctl/stackctl/internal/testkit"
)

// canary is a secret value that must never show up anywhere but inside the
// container's environment.
var canary = fmt.Sprintf("canary-%d-\"quoted\" \\ back$lash", time.Now().UnixNano())

// stackctl runs the CLI in-process with stdin and returns its exit code and
// combined output.
func stackctl(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := cli.Main(append([]string{"stackctl"}, args...), strings.NewReader(stdin), &out, &out)
	return code, out.String()
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// setClusterEnv points stackctl at the stack with the deployer's
// least-privilege tokens, exactly what `eval "$(stackctl dev env)"` sets.
func setClusterEnv(t *testing.T) {
	env, err := devstack.Env(stack.State, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		t.Setenv(kv[0], kv[1])
	}
}

// TestDeployLifecycle deploys the example system with `stackctl deploy` and
// proves the six requirements against the real stack, in order.
func TestDeployLifecycle(t *testing.T) {
	setClusterEnv(t)
	jobs := filepath.Join(stack.Repo, "jobs")
	var transcript strings.Builder // every byte stackctl printed, checked for the canary
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		code, out := stackctl(t, stdin, args...)
		transcript.WriteString(out)
		return code, out
	}
	// Start from a cluster without the example's secrets and policies,
	// whatever earlier tests left behind.
	for _, path := range []string{"shop/api", "shop/kv"} {
		if err := stack.Vault.KVv2("secret").DeleteMetadata(t.Context(), path); err != nil {
			t.Fatalf("clear secret %s: %v", path, err)
		}
	}
	for _, svc := range []string{"web", "api", "orders", "kv"} {
		if err := stack.Vault.Sys().DeletePolicy("stackctl-" + svc); err != nil {
			t.Fatalf("clear policy of %s: %v", svc, err)
		}
	}
	t.Cleanup(func() {
		for _, s := range []string{"web", "api", "orders", "kv", "intruder"} {
			_, _ = stackctl(t, "", "destroy", "--yes", "--purge", s)
		}
	})

	t.Run("unreachable component refused before anything is written", func(t *testing.T) {
		t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
		code, out := run("", "deploy", jobs)
		if code != 1 || !strings.Contains(out, "Vault at http://127.0.0.1:1") || !strings.Contains(out, "nothing was changed") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
		if _, _, err := stack.Nomad.Jobs().Info("api", nil); err == nil {
			t.Fatal("a job was registered although Vault was unreachable")
		}
	})

	t.Run("missing secrets refused before anything is written", func(t *testing.T) {
		code, out := run("", "deploy", jobs)
		if code != 1 || !strings.Contains(out, "stackctl secrets put api API_SIGNING_KEY") {
			t.Fatalf("exit %d, output:\n%s", code, out)
		}
		if _, _, err := stack.Nomad.Jobs().Info("kv", nil); err == nil {
			t.Fatal("a job was registered although secrets were missing")
		}
	})

	t.Run("secrets put reads stdin, never prints the value", func(t *testing.T) {
		for _, s := range [][2]string{{"api", "API_SIGNING_KEY"}, {"kv", "KV_PASSWORD"}} {
			code, out := run(canary+"\n", "secrets", "put", "--stack", jobs, s[0], s[1])
			if code != 0 {
				t.Fatalf("secrets put %s: exit %d\n%s", s[0], code, out)
			}
		}
		code, out := run("", "secrets", "list", "--stack", jobs, "orders")
		if code != 0 || !strings.Contains(out, "KV_PASSWORD") || !strings.Contains(out, "set") {
			t.Fatalf("secrets list: exit %d\n%s", code, out)
		}
	})

	t.Run("plan shows the changes and exits 3 with --detailed-exitcode", func(t *testing.T) {
		code, out := run("", "plan", "--detailed-exitcode", jobs)
		if code != 3 || !strings.Contains(out, "+ job api") || !strings.Contains(out, "+ vault policy stackctl-api") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	t.Run("deploy brings the example system up healthy", func(t *testing.T) {
		code, out := run("", "deploy", "--timeout", "5m", jobs)
		if code != 0 {
			t.Fatalf("deploy: exit %d\n%s\n%s", code, out, stack.allocReport("api"))
		}
		for _, s := range []string{"web", "api", "orders", "kv"} {
			if !strings.Contains(out, s+": healthy") {
				t.Errorf("%s not reported healthy:\n%s", s, out)
			}
		}
	})

	// 1 + 2: containers from local images, public routes through Traefik,
	// service-to-service only through declared upstreams.
	t.Run("public routes reach the right service", func(t *testing.T) {
		body := stack.waitGet(t, 60*time.Second, public, "shop.localhost", "/", 200)
		if !strings.Contains(body, `"service":"web"`) {
			t.Errorf("shop.localhost/ answered %s", body)
		}
		body = stack.waitGet(t, 60*time.Second, public, "shop.localhost", "/api/", 200)
		if !strings.Contains(body, `"service":"api"`) {
			t.Errorf("shop.localhost/api/ answered %s", body)
		}
	})
	t.Run("web reaches api through its upstream", func(t *testing.T) {
		body := stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/call/API_ADDR/", 200)
		if !strings.Contains(body, `"service":"api"`) {
			t.Errorf("web -> api answered %s", body)
		}
		body = stack.waitGet(t, 30*time.Second, public, "shop.localhost", "/api/call/KV_ADDR/healthz", 200)
		_ = body
	})

	// 5: outside vs inside.
	t.Run("internal service is not on the public entrypoint", func(t *testing.T) {
		stack.waitGet(t, 60*time.Second, internal, "orders.shop.localhost", "/", 200)
		if code, body, err := stack.get(public, "orders.shop.localhost", "/"); err != nil || code != 404 {
			t.Errorf("public entrypoint served orders: %d %.100s %v", code, body, err)
		}
		if code, _, err := stack.get(public, "kv.shop.localhost", "/"); err != nil || code != 404 {
			t.Errorf("kv reachable from the edge: %d %v", code, err)
		}
	})
	t.Run("the internal entrypoint does not listen on a non-loopback address", func(t *testing.T) {
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
	})
	t.Run("undeclared caller is refused by the mesh", func(t *testing.T) {
		// intruder declares kv as an upstream in its own job, but no
		// intention allows it: render it beside the stack and register only
		// its job, as someone bypassing stackctl would.
		dir := t.TempDir()
		copyDir(t, jobs, dir)
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
		if code, o := run("", "render", "-o", out, "-s", "intruder", dir); code != 0 {
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
	})

	// 6: configuration and secrets.
	t.Run("env and Vault secret are in the container environment", func(t *testing.T) {
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
	})
	t.Run("a service's policy cannot read another service's secret", func(t *testing.T) {
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
	})
	t.Run("the canary value appears nowhere", func(t *testing.T) {
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
		if code, o := run("", "render", "-o", out, jobs); code != 0 {
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
		_, planOut := run("", "plan", jobs)
		_, statusOut := run("", "status", "api")
		if strings.Contains(planOut+statusOut+transcript.String(), canary) {
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
	})

	t.Run("an unchanged redeploy creates no new job version", func(t *testing.T) {
		before := jobVersions(t)
		code, out := run("", "deploy", jobs)
		if code != 0 || !strings.Contains(out, "No changes") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if after := jobVersions(t); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("job versions moved: %v -> %v", before, after)
		}
	})

	// 3: horizontal scaling.
	t.Run("scale to 3: three instances answer through the edge", func(t *testing.T) {
		code, out := run("", "scale", "orders", "3")
		if code != 0 {
			t.Fatalf("scale: %d\n%s", code, out)
		}
		// Every answer is tallied (instance, or status and body, or
		// error), so that a failure says whether an instance was never
		// routed or was routed and failed.
		seen := map[string]bool{}
		tally := map[string]int{}
		err := testkit.Poll(60*time.Second, func() error {
			code, body, err := stack.get(internal, "orders.shop.localhost", "/")
			var r struct{ Alloc string }
			switch {
			case err != nil:
				tally["error: "+err.Error()]++
			case code == 200 && json.Unmarshal([]byte(body), &r) == nil && r.Alloc != "":
				seen[r.Alloc] = true
				tally["200 from "+r.Alloc]++
			default:
				tally[fmt.Sprintf("%d %.80q", code, body)]++
			}
			if len(seen) < 3 {
				return fmt.Errorf("%d distinct instances; answers: %v", len(seen), tally)
			}
			return nil
		})
		if err != nil {
			stack.routingDiagnostics(t)
			stack.allocDiagnostics(t, "orders")
			t.Fatalf("three orders instances answering: not done after 60s: %v", err)
		}
		if code, out := run("", "scale", "api", "9"); code != 2 || !strings.Contains(out, "between 1 and 4") {
			t.Errorf("scale beyond the autoscale max: exit %d\n%s", code, out)
		}
	})

	// 4: autoscaling. The autoscaler already chose api's count at idle (it
	// scales in from the descriptor's 2); a redeploy must keep its choice.
	t.Run("a redeploy keeps the count the autoscaler chose", func(t *testing.T) {
		settled(t, "orders")
		var chosen int
		eventually(t, 90*time.Second, "the autoscaler acting on api", func() error {
			s, _, err := stack.Nomad.Jobs().ScaleStatus("api", nil)
			if err != nil {
				return err
			}
			tg := s.TaskGroups["api"]
			if len(tg.Events) == 0 || tg.Desired == 2 {
				return fmt.Errorf("no scaling yet (desired %d)", tg.Desired)
			}
			chosen = tg.Desired
			return nil
		})
		code, out := run("", "deploy", jobs)
		if code != 0 {
			t.Fatalf("redeploy: %d\n%s", code, out)
		}
		if n := groupCount(t, "api"); n != chosen {
			t.Errorf("redeploy set api's count to %d, the autoscaler had chosen %d", n, chosen)
		}
	})
	t.Run("load makes the autoscaler scale out within max, then back in", func(t *testing.T) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						_, _, _ = stack.get(public, "shop.localhost", "/api/burn?ms=400")
					}
				}
			}()
		}
		peak := 0
		eventually(t, 3*time.Minute, "api scaled out under load", func() error {
			n := groupCount(t, "api")
			peak = max(peak, n)
			if n < 2 {
				return fmt.Errorf("count %d", n)
			}
			return nil
		})
		close(stop)
		wg.Wait()
		if peak > 4 {
			t.Errorf("scaled to %d, beyond max 4", peak)
		}
		eventually(t, 3*time.Minute, "api scaled back in after the load", func() error {
			if n := groupCount(t, "api"); n != 1 {
				return fmt.Errorf("count %d", n)
			}
			return nil
		})
	})

	t.Run("concurrent deploys: one wins, the other is refused cleanly", func(t *testing.T) {
		// Two different releases at once: whichever registers second must
		// be refused, not supersede the first.
		dirs := []string{t.TempDir(), t.TempDir()}
		for i, dir := range dirs {
			copyDir(t, jobs, dir)
			replace(t, filepath.Join(dir, "orders.hcl"), `SERVICE_NAME = "orders"`, fmt.Sprintf(`SERVICE_NAME = "orders"
    RELEASE      = "%d"`, i+2))
		}
		settled(t, "orders")
		before := jobVersions(t)["orders"]
		var wg sync.WaitGroup
		codes, outs := make([]int, 2), make([]string, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], outs[i] = stackctl(t, "", "deploy", "-s", "orders", "--timeout", "3m", dirs[i])
			}()
		}
		wg.Wait()
		ok := 0
		for i := range 2 {
			if codes[i] == 0 {
				ok++
			} else if !strings.Contains(outs[i], "changed in Nomad since it was planned") && !strings.Contains(outs[i], "still running") && !strings.Contains(outs[i], "in progress") {
				t.Errorf("the refused deploy does not say why:\n%s", outs[i])
			}
		}
		if ok != 1 {
			t.Errorf("%d deploys succeeded, want exactly 1\n--- 1:\n%s\n--- 2:\n%s", ok, outs[0], outs[1])
		}
		if after := jobVersions(t)["orders"]; after != before+1 {
			t.Errorf("orders went from version %d to %d, want exactly one new version", before, after)
		}
		settled(t, "orders")
	})

	t.Run("a failing health check rolls back and deploy says which check", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, jobs, dir)
		failingOrders(t, dir)
		before := jobVersions(t)["orders"]
		code, out := run("", "deploy", "-s", "orders", "--timeout", "3m", dir)
		if code != 1 {
			t.Fatalf("deploy of a failing release exited %d, want 1\n%s", code, out)
		}
		if !strings.Contains(out, "rolled back") || !strings.Contains(out, `"orders-http"`) {
			t.Errorf("the output does not explain the rollback and name the check:\n%s", out)
		}
		eventually(t, 90*time.Second, "orders reverted", func() error {
			job, _, err := stack.Nomad.Jobs().Info("orders", nil)
			if err != nil {
				return err
			}
			if _, failing := job.TaskGroups[0].Tasks[0].Env["FAIL_HEALTH"]; failing {
				return fmt.Errorf("still the failing version %d", *job.Version)
			}
			if *job.Version <= before {
				return fmt.Errorf("version %d", *job.Version)
			}
			return nil
		})
		stack.waitGet(t, 60*time.Second, internal, "orders.shop.localhost", "/", 200)
		settled(t, "orders")
	})

	t.Run("a rollout still going on does not hide another one's failure", func(t *testing.T) {
		// orders fails its health check within ~40 s; web stays healthy
		// but needs 4 minutes to count as such, past the watch timeout.
		dir := t.TempDir()
		copyDir(t, jobs, dir)
		failingOrders(t, dir)
		replace(t, filepath.Join(dir, "web.hcl"), `LOG_LEVEL    = "info"`, `LOG_LEVEL    = "debug"`)
		replace(t, filepath.Join(dir, "web.hcl"), `  upstream "api" {`, `  update {
    min_healthy_time  = "4m"
    healthy_deadline  = "5m"
    progress_deadline = "6m"
  }

  upstream "api" {`)
		code, out := run("", "deploy", "-s", "orders", "-s", "web", "--timeout", "75s", dir)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if !strings.Contains(out, "orders: rolled back") || !strings.Contains(out, `"orders-http"`) {
			t.Errorf("orders' failure is not reported:\n%s", out)
		}
		if !strings.Contains(out, "web: stopped watching (no result after 1m15s)") {
			t.Errorf("web's unfinished rollout is not reported:\n%s", out)
		}
		// End web's slow rollout: failing it makes Nomad revert to the
		// previous version, as after any failed deployment.
		d, _, err := stack.Nomad.Jobs().LatestDeployment("web", nil)
		if err != nil || d == nil {
			t.Fatalf("web's deployment: %v", err)
		}
		if _, _, err := stack.Nomad.Deployments().Fail(d.ID, nil); err != nil {
			t.Fatalf("fail web's deployment: %v", err)
		}
		settled(t, "orders")
		settled(t, "web")
	})

	t.Run("Consul failing mid-deploy: clear error, nothing half-applied, a rerun converges", func(t *testing.T) {
		// orders starts calling api: api's intentions change (written
		// first, in service order), then orders' job. Consul accepts the
		// plan's reads but drops the connection on every write, as if it
		// stopped between plan and apply.
		dir := t.TempDir()
		copyDir(t, jobs, dir)
		replace(t, filepath.Join(dir, "orders.hcl"), `  upstream "kv" {`, `  upstream "api" {
    local_port = 9001
  }

  upstream "kv" {`)
		target, _ := url.Parse(stack.State.ConsulAddr())
		proxy := httputil.NewSingleHostReverseProxy(target)
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/config") {
				if hj, ok := w.(http.Hijacker); ok {
					conn, _, _ := hj.Hijack()
					conn.Close()
					return
				}
			}
			proxy.ServeHTTP(w, r)
		}))
		defer failing.Close()
		before := jobVersions(t)["orders"]

		t.Setenv("CONSUL_HTTP_ADDR", failing.URL)
		code, out := run("", "deploy", "-s", "api", "-s", "orders", dir)
		if code != 1 || !strings.Contains(out, "write Consul intentions for api at "+failing.URL) || !strings.Contains(out, "converges") {
			t.Fatalf("exit %d; want a failure naming Consul's address and how to recover:\n%s", code, out)
		}
		if v := jobVersions(t)["orders"]; v != before {
			t.Errorf("orders was registered (version %d -> %d) although its caller's intentions were not written", before, v)
		}

		t.Setenv("CONSUL_HTTP_ADDR", stack.State.ConsulAddr())
		if code, out := run("", "deploy", "-s", "api", "-s", "orders", "--timeout", "3m", dir); code != 0 {
			t.Fatalf("rerun: exit %d\n%s", code, out)
		}
		body := stack.waitGet(t, 30*time.Second, internal, "orders.shop.localhost", "/call/API_ADDR/", 200)
		if !strings.Contains(body, `"service":"api"`) {
			t.Errorf("orders -> api after the rerun answered %s", body)
		}
		// Back to the descriptors in jobs/: the extra caller goes away.
		if code, out := run("", "deploy", "-s", "api", "-s", "orders", "--timeout", "3m", jobs); code != 0 {
			t.Fatalf("restore: exit %d\n%s", code, out)
		}
	})

	t.Run("destroy removes only what stackctl created", func(t *testing.T) {
		if code, out := run("", "destroy", "orders"); code != 1 || !strings.Contains(out, "Not confirmed") {
			t.Errorf("destroy without confirmation: %d\n%s", code, out)
		}
		code, out := run("orders\n", "destroy", "orders")
		if code != 0 {
			t.Fatalf("destroy: %d\n%s", code, out)
		}
		if p, _ := stack.Vault.Sys().GetPolicy("stackctl-orders"); p != "" {
			t.Error("policy stackctl-orders still exists")
		}
		if _, err := stack.Vault.KVv2("secret").Get(t.Context(), "shop/kv"); err != nil {
			t.Errorf("destroy removed the secrets too: %v", err)
		}
		job, _, err := stack.Nomad.Jobs().Info("orders", nil)
		if err != nil || job.Stop == nil || !*job.Stop {
			t.Errorf("orders not stopped: %v", err)
		}
	})
}

// settled waits until a job's current version has a successful
// deployment, so the next step does not meet a rollout still running.
// failingOrders makes orders in dir a release whose health check fails,
// with deadlines short enough for Nomad to give up within ~40 s.
func failingOrders(t *testing.T, dir string) {
	t.Helper()
	replace(t, filepath.Join(dir, "orders.hcl"), `SERVICE_NAME = "orders"`, `SERVICE_NAME = "orders"
    FAIL_HEALTH  = "1"`)
	replace(t, filepath.Join(dir, "orders.hcl"), `  health {
    path = "/healthz"
  }`, `  health {
    path     = "/healthz"
    interval = "2s"
    timeout  = "1s"
  }

  update {
    min_healthy_time  = "2s"
    healthy_deadline  = "20s"
    progress_deadline = "40s"
  }`)
}

func settled(t *testing.T, id string) {
	t.Helper()
	eventually(t, 2*time.Minute, id+" settled", func() error {
		job, _, err := stack.Nomad.Jobs().Info(id, nil)
		if err != nil {
			return err
		}
		d, _, err := stack.Nomad.Jobs().LatestDeployment(id, nil)
		if err != nil {
			return err
		}
		if d == nil || d.JobVersion != *job.Version || d.Status != "successful" {
			return fmt.Errorf("version %d, latest deployment %+v", *job.Version, d)
		}
		return nil
	})
}

func jobVersions(t *testing.T) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, id := range []string{"web", "api", "orders", "kv"} {
		job, _, err := stack.Nomad.Jobs().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = *job.Version
	}
	return out
}

func groupCount(t *testing.T, id string) int {
	t.Helper()
	job, _, err := stack.Nomad.Jobs().Info(id, &nomad.QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *job.TaskGroups[0].Count
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(from, "*.hcl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, filepath.Base(f)), string(b))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	writeFile(t, path, strings.Replace(string(b), old, new, 1))
}
