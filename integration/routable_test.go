//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// testHealthyMeansRoutable: Nomad calls an allocation healthy on the
// group's own checks, while Traefik routes to it only once its Connect
// sidecar passes in Consul. A sidecar that starts late (a wrapper that
// sleeps before exec'ing consul) opens that gap on purpose: deploy and scale
// must wait it out, or name the sidecar when their timeout ends first.
func testHealthyMeansRoutable(t *testing.T) {
	setClusterEnv(t)
	// Seconds the sidecar sleeps before it starts: longer than Nomad needs
	// to call an allocation healthy (one 10 s check interval plus 10 s
	// min_healthy_time), with room for a loaded machine.
	const delay = 90
	dir := t.TempDir()
	consulBin := stack.State.Bins["consul"]
	if consulBin == "" {
		t.Fatal("the dev stack records no consul binary")
	}
	slow := filepath.Join(dir, "slow-consul")
	writeFile(t, slow, fmt.Sprintf("#!/bin/sh\nsleep %d\nexec %s \"$@\"\n", delay, consulBin))
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "stack.hcl"), fmt.Sprintf(`
stack {
  name        = "itslow"
  datacenters = ["dc1"]
  domain      = "shop.localhost"
  sidecar {
    kind          = "builtin"
    consul_binary = %q
  }
}
`, slow))
	writeFile(t, filepath.Join(dir, "slowmesh.hcl"), `
service "slowmesh" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "slowmesh"
  }
  expose "internal" {
    host = "slowmesh.shop.localhost"
  }
}
`)
	t.Cleanup(func() { _, _ = stackctl(t, "", "destroy", "--yes", "--purge", "slowmesh") })

	t.Run("deploy waits for the sidecar, then the route answers at once", func(t *testing.T) {
		start := time.Now()
		code, out := stackctl(t, "", "deploy", "--timeout", "4m", dir)
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("deploy: exit %d\n%s", code, out)
		}
		// Nomad's verdict came first, the mesh later.
		successful := strings.Index(out, "successful: 1/1 healthy")
		waiting := strings.Index(out, "slowmesh: 0/1 instances in the mesh")
		ready := strings.Index(out, "slowmesh: 1/1 instances in the mesh")
		if successful < 0 || waiting < successful || ready < waiting || !strings.Contains(out, "slowmesh: healthy") {
			t.Fatalf("want Nomad's success, then 0/1 and 1/1 in the mesh, then healthy:\n%s", out)
		}
		if took < delay*time.Second {
			t.Errorf("deploy returned after %s, before the sidecar could listen (%ds)", took.Round(time.Second), delay)
		}
		// Traefik follows Consul within its throttle (2 s); the bound allows
		// for a loaded machine and stays far below the sidecar's delay.
		routed := time.Now()
		stack.waitGet(t, 30*time.Second, internal, "slowmesh.shop.localhost", "/healthz", 200)
		t.Logf("deploy took %s; the route answered %s after it returned", took.Round(time.Second), time.Since(routed).Round(10*time.Millisecond))
	})

	t.Run("scale names the sidecar that is not in the mesh when its timeout ends", func(t *testing.T) {
		code, out := stackctl(t, "", "scale", "--timeout", "60s", "slowmesh", "2")
		if code != 1 {
			t.Fatalf("scale: exit %d, want 1 (timeout)\n%s", code, out)
		}
		if !strings.Contains(out, "2/2 healthy, 2 running, 1/2 instances in the mesh") {
			t.Errorf("Nomad's health and the mesh count not both shown:\n%s", out)
		}
		why := regexp.MustCompile(`(?m)^  - allocation [0-9a-f]{8}: .*Connect Sidecar Listening.*critical`)
		if !why.MatchString(out) {
			t.Errorf("the waiting allocation and its failing check are not named:\n%s", out)
		}
	})
}
