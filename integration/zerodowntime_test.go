//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/loadgen"
)

// zdRate is the load each scenario runs under: modest, so that a loaded CI
// machine keeps up, and steady, so that every instance change meets
// requests in flight. The benchmark (bench/zero-downtime.sh) raises it
// with STACKCTL_ZD_RATE and STACKCTL_ZD_CLIENTS.
var (
	zdRate    = envInt("STACKCTL_ZD_RATE", 60)
	zdClients = envInt("STACKCTL_ZD_CLIENTS", 4)
	// zdScaleInRate is the scale-in scenario's load: one at which api's
	// CPU policy wants fewer instances. At the benchmark's 600/s api needs
	// its maximum and the autoscaler, rightly, keeps it (measured: count 4
	// for the scenario's 4 minutes), so there is no scale-in to measure.
	zdScaleInRate = envInt("STACKCTL_ZD_SCALEIN_RATE", min(zdRate, 60))
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// target is one way in: the public or internal entrypoint with a Host
// header, or the mesh (web calling api through its upstream).
type target struct {
	name, url, host string
}

func publicTarget(name, host, path string) target {
	return target{name, stack.State.PublicURL() + path, host}
}

func internalTarget(name, host, path string) target {
	return target{name, stack.State.InternalURL() + path, host}
}

// underLoad runs action while every target takes a steady load, keeps the
// load for settle after it, and fails the test for any failed request.
func underLoad(t *testing.T, settle time.Duration, targets []target, action func(t *testing.T)) {
	t.Helper()
	underLoadAt(t, zdRate, settle, targets, action)
}

// underLoadAt is underLoad at rate requests/s per target.
func underLoadAt(t *testing.T, rate int, settle time.Duration, targets []target, action func(t *testing.T)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	reports := make([]loadgen.Report, len(targets))
	errs := make([]error, len(targets))
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = loadgen.Run(ctx, loadgen.Options{
				URL: tg.url, Host: tg.host, Rate: rate, Clients: zdClients, Duration: 15 * time.Minute, KeepAlive: true,
			})
		}()
	}
	loadStart := time.Now()
	time.Sleep(2 * time.Second) // the load is steady before anything changes
	start := time.Now()
	action(t)
	time.Sleep(settle)
	cancel()
	wg.Wait()
	failed := false
	for i, tg := range targets {
		if errs[i] != nil {
			t.Fatalf("load on %s: %v", tg.name, errs[i])
		}
		r := reports[i]
		t.Logf("%s at %d/s: %s (action took %s)", tg.name, rate, r, time.Since(start).Round(time.Second))
		if r.Requests < rate { // less than a second's worth: the load did not run
			t.Errorf("%s: only %d requests were sent", tg.name, r.Requests)
		}
		if r.Failed() > 0 {
			t.Errorf("%s: %d of %d requests failed: %s (from %s)", tg.name, r.Failed(), r.Requests, r,
				loadStart.Add(r.FirstFailure).UTC().Format("15:04:05.000"))
			failed = true
		}
	}
	if failed {
		stack.routingDiagnostics(t)
		for _, job := range []string{"web", "api", "orders"} {
			t.Logf("diagnostics: allocations of %s:\n%s", job, stack.allocReport(job))
		}
	}
}

// testZeroDowntime deploys the example system and changes it in every way
// a running system changes, under load through the edge (both entrypoints)
// and through the mesh; not one request may fail. The demo app drains
// nothing itself (IGNORE_SIGTERM=1 in every change), as third-party apps.
func testZeroDowntime(t *testing.T) {
	setClusterEnv(t)
	jobs := filepath.Join(stack.Repo, "jobs")
	adminSecrets(t)
	// jobs/, not the copy below: the copy (a t.TempDir made after this
	// cleanup) is removed before it runs. Both are stack "shop".
	t.Cleanup(func() {
		for _, s := range []string{"web", "api", "orders", "kv"} {
			_, _ = stackctl(t, "", "destroy", "--stack", jobs, "--yes", "--purge", s)
		}
	})
	if code, out := stackctl(t, "", "deploy", "--timeout", "5m", jobs); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	stack.waitGet(t, time.Minute, public, "shop.localhost", "/", 200)
	stack.waitGet(t, time.Minute, public, "shop.localhost", "/call/API_ADDR/", 200)
	stack.waitGet(t, time.Minute, internal, "orders.shop.localhost", "/", 200)

	web := publicTarget("public web", "shop.localhost", "/")
	mesh := publicTarget("web -> api through the mesh", "shop.localhost", "/call/API_ADDR/")
	api := publicTarget("public api", "shop.localhost", "/api/")
	orders := internalTarget("internal orders", "orders.shop.localhost", "/")

	// Each step changes a copy of jobs/ a little more; the apps ignore
	// SIGTERM from now on.
	dir := t.TempDir()
	copyDir(t, jobs, dir)
	for _, svc := range []string{"web", "api", "orders"} {
		replace(t, filepath.Join(dir, svc+".hcl"), fmt.Sprintf(`SERVICE_NAME = %q`, svc), fmt.Sprintf(`SERVICE_NAME = %q
    IGNORE_SIGTERM = "1"`, svc))
	}
	deploy := func(t *testing.T, args ...string) {
		t.Helper()
		code, out := stackctl(t, "", append([]string{"deploy", "--timeout", "5m"}, append(args, dir)...)...)
		if code != 0 {
			t.Fatalf("deploy %v: exit %d\n%s", args, code, out)
		}
	}

	t.Run("canary deploy with promotion", func(t *testing.T) {
		underLoad(t, 8*time.Second, []target{web, mesh, api, orders}, func(t *testing.T) {
			deploy(t)
		})
	})
	if code, out := stackctl(t, "", "scale", "--stack", dir, "web", "3"); code != 0 {
		t.Fatalf("scale web 3: exit %d\n%s", code, out)
	}
	t.Run("rolling deploy without canary", func(t *testing.T) {
		replace(t, filepath.Join(dir, "web.hcl"), `LOG_LEVEL    = "info"`, `LOG_LEVEL    = "debug"`)
		replace(t, filepath.Join(dir, "web.hcl"), `  upstream "api" {`, `  update {
    canary = 0
  }

  upstream "api" {`)
		underLoad(t, 8*time.Second, []target{web, mesh}, func(t *testing.T) {
			deploy(t, "-s", "web")
		})
	})
	t.Run("an allocation stopped and replaced by Nomad", func(t *testing.T) {
		underLoad(t, 8*time.Second, []target{web, mesh}, func(t *testing.T) {
			allocs, _, err := stack.Nomad.Jobs().Allocations("web", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range allocs {
				if a.ClientStatus == "running" && a.DesiredStatus == "run" {
					if _, err := stack.Nomad.Allocations().Stop(&nomad.Allocation{ID: a.ID, Namespace: a.Namespace}, nil); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			stack.waitJobHealthy(t, "web", 3*time.Minute)
		})
	})
	t.Run("scale down", func(t *testing.T) {
		underLoad(t, 8*time.Second, []target{web, mesh}, func(t *testing.T) {
			if code, out := stackctl(t, "", "scale", "--stack", dir, "web", "1"); code != 0 {
				t.Fatalf("scale web 1: exit %d\n%s", code, out)
			}
		})
	})
	t.Run("auto-revert of a failing release", func(t *testing.T) {
		failingOrders(t, dir)
		underLoad(t, 8*time.Second, []target{orders}, func(t *testing.T) {
			code, out := stackctl(t, "", "deploy", "-s", "orders", "--timeout", "3m", dir)
			if code != 1 || !reportsRevert(out, "orders") {
				t.Fatalf("deploy of a failing release: exit %d, want 1 and a rollback\n%s", code, out)
			}
			settled(t, "orders")
		})
	})
	t.Run("autoscaler scale-in", func(t *testing.T) {
		// api's policy scales on CPU: at this load (zdScaleInRate) it
		// wants fewer than 3 instances. How many (1 or 2) depends on the
		// CPU the machine measures; the scale-in, with no request lost, is
		// what this scenario is about (lifecycle_scaling_test.go checks
		// the policy's bounds).
		if code, out := stackctl(t, "", "scale", "--stack", dir, "api", "3"); code != 0 {
			t.Fatalf("scale api 3: exit %d\n%s", code, out)
		}
		underLoadAt(t, zdScaleInRate, 8*time.Second, []target{api, mesh}, func(t *testing.T) {
			eventually(t, 4*time.Minute, "the autoscaler scaling api in", func() error {
				if n := groupCount(t, "api"); n >= 3 {
					return fmt.Errorf("count %d", n)
				}
				return nil
			})
			t.Logf("the autoscaler scaled api in to %d", groupCount(t, "api"))
			settled(t, "api")
		})
	})
}

// adminSecrets gives the example's secrets random values with the
// operator's token (the deployer may not read them back; that is fine).
func adminSecrets(t *testing.T) {
	t.Helper()
	for path, data := range map[string]map[string]any{
		"shop/api": {"signing_key": randomString(t)},
		"shop/kv":  {"password": randomString(t)},
	} {
		if _, err := stack.Vault.KVv2("secret").Put(t.Context(), path, data); err != nil {
			t.Fatal(err)
		}
	}
}
