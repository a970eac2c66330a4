package compile_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/spec"
)

// generatedStack writes n services in files of 50, each with the features
// that cost the most to check: upstreams, secrets, exposure, autoscaling.
func generatedStack(n int) fstest.MapFS {
	fsys := fstest.MapFS{}
	var b strings.Builder
	b.WriteString("stack {\n  domain = \"bench.example.com\"\n  sidecar { kind = \"builtin\" }\n}\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `
service "svc-%[1]d" {
  image    = "registry.example.com/svc-%[1]d:1.0.%[1]d"
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
    SERVICE_NAME = "svc-%[1]d"
    LOG_LEVEL    = "info"
  }
  secret "DB_PASSWORD" {
    path = "bench/svc-%[1]d"
    key  = "password"
  }
  upstream "svc-%[2]d" {
    local_port = 9001
  }
  expose "public" {
    path_prefix = "/svc-%[1]d"
  }
  autoscale {
    min         = 1
    max         = 5
    cpu_percent = 70
  }
}
`, i, (i+1)%n)
		if (i+1)%50 == 0 || i == n-1 {
			fsys[fmt.Sprintf("stack/part-%04d.hcl", i/50)] = &fstest.MapFile{Data: []byte(b.String())}
			b.Reset()
		}
	}
	return fsys
}

func benchmarkPipeline(b *testing.B, n int) {
	fsys := generatedStack(n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		st, diags := spec.NewParser(fsys).Load([]string{"stack"}, spec.LoadOptions{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		if got := len(compile.Compile(st).Services); got != n {
			b.Fatalf("%d services compiled, want %d", got, n)
		}
	}
}

// BenchmarkValidateCompile measures parse+validate+compile; the 100 and
// 1000 cases show whether cost grows linearly with the number of services.
func BenchmarkValidateCompile100(b *testing.B)  { benchmarkPipeline(b, 100) }
func BenchmarkValidateCompile1000(b *testing.B) { benchmarkPipeline(b, 1000) }
