//go:build integration

package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func (l *lifecycle) serialisesConcurrentDeploys(t *testing.T) {
	// Two different releases at once: whichever registers second must
	// be refused, not supersede the first.
	dirs := []string{t.TempDir(), t.TempDir()}
	for i, dir := range dirs {
		copyDir(t, l.jobs, dir)
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
}

func (l *lifecycle) rollsBackFailingCheck(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, l.jobs, dir)
	failingOrders(t, dir)
	before := jobVersions(t)["orders"]
	code, out := l.run(t, "", "deploy", "-s", "orders", "--timeout", "3m", dir)
	if code != 1 {
		t.Fatalf("deploy of a failing release exited %d, want 1\n%s", code, out)
	}
	if !reportsRevert(out, "orders") || !strings.Contains(out, `"orders-http"`) {
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
}

func (l *lifecycle) reportsEveryRollout(t *testing.T) {
	// orders fails its health check within ~40 s; web stays healthy
	// but needs 4 minutes to count as such, past the watch timeout.
	dir := t.TempDir()
	copyDir(t, l.jobs, dir)
	failingOrders(t, dir)
	replace(t, filepath.Join(dir, "web.hcl"), `LOG_LEVEL    = "info"`, `LOG_LEVEL    = "debug"`)
	replace(t, filepath.Join(dir, "web.hcl"), `  upstream "api" {`, `  update {
    min_healthy_time  = "4m"
    healthy_deadline  = "5m"
    progress_deadline = "6m"
  }

  upstream "api" {`)
	code, out := l.run(t, "", "deploy", "-s", "orders", "-s", "web", "--timeout", "75s", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !reportsRevert(out, "orders") || !strings.Contains(out, `"orders-http"`) {
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
}

func (l *lifecycle) survivesConsulFailure(t *testing.T) {
	// orders starts calling api: api's intentions change (written
	// first, in service order), then orders' job. Consul accepts the
	// plan's reads but drops the connection on every write, as if it
	// stopped between plan and apply.
	dir := t.TempDir()
	copyDir(t, l.jobs, dir)
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
	code, out := l.run(t, "", "deploy", "-s", "api", "-s", "orders", dir)
	if code != 1 || !strings.Contains(out, "write Consul intentions for api at "+failing.URL) || !strings.Contains(out, "converges") {
		t.Fatalf("exit %d; want a failure naming Consul's address and how to recover:\n%s", code, out)
	}
	if v := jobVersions(t)["orders"]; v != before {
		t.Errorf("orders was registered (version %d -> %d) although its caller's intentions were not written", before, v)
	}

	t.Setenv("CONSUL_HTTP_ADDR", stack.State.ConsulAddr())
	if code, out := l.run(t, "", "deploy", "-s", "api", "-s", "orders", "--timeout", "3m", dir); code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	body := stack.waitGet(t, 30*time.Second, internal, "orders.shop.localhost", "/call/API_ADDR/", 200)
	if !strings.Contains(body, `"service":"api"`) {
		t.Errorf("orders -> api after the rerun answered %s", body)
	}
	// Back to the descriptors in l.jobs/: the extra caller goes away.
	if code, out := l.run(t, "", "deploy", "-s", "api", "-s", "orders", "--timeout", "3m", l.jobs); code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
}

func (l *lifecycle) destroysOwnOnly(t *testing.T) {
	// The question names the stack and namespace destroy acts for.
	const question = `This stops orders of stack "shop" (namespace default) and removes its intentions and Vault policy. Type the service name to confirm: `
	if code, out := l.run(t, "", "destroy", "--stack", l.jobs, "orders"); code != 1 || !strings.Contains(out, question) || !strings.Contains(out, "Not confirmed") {
		t.Errorf("destroy without confirmation: %d\n%s", code, out)
	}
	code, out := l.run(t, "orders\n", "destroy", "--stack", l.jobs, "orders")
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
}

// reportsRevert: deploy either saw Nomad roll svc back, or stopped
// watching a rollout that could no longer succeed and said that Nomad will
// revert it (rollout.Hopeless): both are exit 1 with the reason.
func reportsRevert(out, svc string) bool {
	return strings.Contains(out, svc+": rolled back") ||
		strings.Contains(out, svc+": failed (stopped watching early") && strings.Contains(out, "reverts "+svc+" to job version")
}
