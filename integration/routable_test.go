//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/devstack"
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
	image := slowProxyImage(t, delay)
	writeFile(t, filepath.Join(dir, "stack.hcl"), fmt.Sprintf(`
stack {
  name        = "itslow"
  datacenters = ["dc1"]
  domain      = "shop.localhost"
  sidecar {
    kind  = "builtin"
    image = %q
  }
}
`, image))
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
	t.Cleanup(func() { _, _ = stackctl(t, "", "destroy", "--stack", dir, "--yes", "--purge", "slowmesh") })

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
		code, out := stackctl(t, "", "scale", "--stack", dir, "--timeout", "60s", "slowmesh", "2")
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

// slowProxyImage builds an image of the built-in proxy whose entrypoint
// sleeps delay seconds before it execs consul: the sidecar runs in a
// container, so the delay goes into the image. The wrapper is a static Go
// program (the proxy image has no shell).
func slowProxyImage(t *testing.T, delay int) string {
	t.Helper()
	ctx := t.TempDir()
	writeFile(t, filepath.Join(ctx, "main.go"), `package main

import (
	"os"
	"syscall"
	"time"
)

var delay = "0s"

func main() {
	d, _ := time.ParseDuration(delay)
	time.Sleep(d)
	err := syscall.Exec("/bin/consul", append([]string{"consul"}, os.Args[1:]...), os.Environ())
	os.Stderr.WriteString(err.Error())
	os.Exit(1)
}
`)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", fmt.Sprintf("-s -w -X main.delay=%ds", delay), "-o", "slow", "main.go")
	build.Dir = ctx
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GO111MODULE=off")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the slow wrapper: %v\n%s", err, b)
	}
	writeFile(t, filepath.Join(ctx, "Dockerfile"), "FROM "+devstack.ProxyImageTag()+"\nCOPY slow /slow\nENTRYPOINT [\"/slow\"]\n")
	tag := fmt.Sprintf("stackctl-consul-proxy-slow:%d", delay)
	if b, err := exec.Command("docker", "build", "-q", "-t", tag, ctx).CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", tag, err, b)
	}
	return tag
}
