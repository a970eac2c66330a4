// Package stackgen writes synthetic stacks of any size for benchmarks, in
// the layout the README teaches: stack.hcl plus one descriptor per service.
// Every service carries the features that cost the most to check and
// render: an image, 2 replicas, one port, an HTTP health check, env, one
// upstream, a public route, autoscaling and one secret.
package stackgen

import (
	"fmt"
	"strings"
)

// StackFile is the name of the shared settings file.
const StackFile = "stack.hcl"

// Name returns the name of service i of an n-service stack; the width is
// fixed per stack so the files sort in service order.
func Name(i, n int) string {
	return fmt.Sprintf("svc-%0*d", len(fmt.Sprint(max(n-1, 0))), i)
}

// Files returns an n-service stack as file name -> content, names relative
// to the stack's directory.
func Files(n int) map[string][]byte {
	files := map[string][]byte{StackFile: []byte(Settings())}
	for i := 0; i < n; i++ {
		name := Name(i, n)
		files[name+".hcl"] = []byte(Service(name, Name((i+1)%n, n)))
	}
	return files
}

// Settings is the stack block every generated stack shares.
func Settings() string {
	return `stack {
  name   = "bench"
  domain = "bench.example.com"

  sidecar {
    kind = "builtin"
  }
}
`
}

// Service is one service's descriptor; it calls upstream through the mesh.
func Service(name, upstream string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `service %[1]q {
  image    = "registry.example.com/%[1]s:1.0.0"
  replicas = 2

  port "http" {
    container_port = 8080
  }

  resources {
    cpu    = 100
    memory = 64
  }

  health {
    path = "/healthz"
  }

  env = {
    SERVICE_NAME = %[1]q
    LOG_LEVEL    = "info"
  }

  secret "DB_PASSWORD" {
    path = "bench/%[1]s"
    key  = "password"
  }

  upstream %[2]q {
    local_port = 9001
  }

  expose "public" {
    path_prefix = "/%[1]s"
  }

  autoscale {
    min         = 1
    max         = 5
    cpu_percent = 70
  }
}
`, name, upstream)
	return b.String()
}
