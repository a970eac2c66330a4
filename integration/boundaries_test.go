//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeStack is a small stack deployed by stackctl with the deployer's
// token: bnd-probe (PROBE=1, the hostile workload the test drives through
// its public route) declares bnd-target as an upstream; bnd-other accepts
// nobody but Traefik.
const probeStack = `
stack {
  name        = "boundaries"
  datacenters = ["dc1"]
  domain      = "itest.localhost"
  sidecar {
    kind = "builtin"
  }
}

service "bnd-probe" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "bnd-probe"
    PROBE        = "1"
  }
  upstream "bnd-target" {
    local_port = 9201
  }
  expose "internal" {
    host = "probe.itest.localhost"
  }
}

service "bnd-target" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "bnd-target"
  }
}

service "bnd-other" {
  image = "stackctl-demo:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    SERVICE_NAME = "bnd-other"
  }
  expose "internal" {
    host = "other.itest.localhost"
  }
}
`

// dialResult and fetchResult are the demo probe's answers
// (examples/demo/handler.go).
type dialResult struct {
	Connected bool
	Answer    string
	Error     string
}

type fetchResult struct {
	Status int
	Body   string
	Error  string
}

// probe asks bnd-probe to do something from inside its allocation.
func probe[T any](t *testing.T, path string) T {
	t.Helper()
	var out T
	code, body, err := stack.get(internal, "probe.itest.localhost", path)
	if err != nil || code != 200 {
		t.Fatalf("probe %s: %d %v %.300s", path, code, err, body)
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("probe %s: %v: %.300s", path, err, body)
	}
	return out
}

// allocAddr returns the bridge address of a job's running allocation and
// the host port Nomad published for its sidecar, as Nomad reports them.
func allocAddr(t *testing.T, job string) (ip string, sidecarPort int) {
	t.Helper()
	allocs, _, err := stack.Nomad.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, stub := range allocs {
		if stub.ClientStatus != "running" {
			continue
		}
		a, _, err := stack.Nomad.Allocations().Info(stub.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.AllocatedResources == nil {
			continue
		}
		for _, p := range a.AllocatedResources.Shared.Ports {
			if strings.HasPrefix(p.Label, "connect-proxy-") {
				sidecarPort = p.Value
			}
		}
		if ns := a.NetworkStatus; ns != nil && ns.Address != "" {
			return ns.Address, sidecarPort
		}
	}
	t.Fatalf("no running allocation of %s with a bridge address", job)
	return "", 0
}

// testBoundaries: what a hostile workload meets on the ACL-enabled stack.
// Probes go only to this machine's loopback, the stack's bridge gateway and
// the addresses of the test's own allocations as Nomad reports them.
func testBoundaries(t *testing.T) {
	setClusterEnv(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "stack.hcl"), probeStack)
	t.Cleanup(func() {
		for _, s := range []string{"bnd-probe", "bnd-target", "bnd-other"} {
			_, _ = stackctl(t, "", "destroy", "--stack", dir, "--yes", "--purge", s)
		}
	})
	if code, out := stackctl(t, "", "deploy", "--timeout", "4m", dir); code != 0 {
		t.Fatalf("deploy the probe stack with the deployer's token: exit %d\n%s", code, out)
	}
	stack.waitGet(t, 2*time.Minute, internal, "probe.itest.localhost", "/healthz", 200)
	gateway := stack.State.SidecarConsulAddr()
	gatewayIP, _, _ := net.SplitHostPort(gateway)

	t.Run("a direct dial of another allocation is refused", func(t *testing.T) {
		for _, job := range []string{"bnd-target", "bnd-other"} {
			ip, _ := allocAddr(t, job)
			r := probe[dialResult](t, "/dial?addr="+url.QueryEscape(net.JoinHostPort(ip, "8080")))
			if r.Connected {
				t.Errorf("bnd-probe opened a connection to %s's application at %s:8080 (answer %q)", job, ip, r.Answer)
			} else if !strings.Contains(r.Error, "refused") && !strings.Contains(r.Error, "reset") {
				t.Errorf("direct dial of %s at %s:8080: %q, want a refusal (not a timeout)", job, ip, r.Error)
			}
		}
	})
	t.Run("the declared upstream answers through the mesh", func(t *testing.T) {
		body := stack.waitGet(t, 30*time.Second, internal, "probe.itest.localhost", "/call/BND_TARGET_ADDR/", 200)
		if !strings.Contains(body, `"service":"bnd-target"`) {
			t.Errorf("bnd-probe -> bnd-target answered %s", body)
		}
	})
	t.Run("another service's sidecar wants a certificate the probe lacks", func(t *testing.T) {
		// The sidecar's published port is reachable (that is how the mesh
		// works) but speaks only mTLS to allowed callers.
		_, port := allocAddr(t, "bnd-other")
		r := probe[dialResult](t, "/dial?addr="+url.QueryEscape(net.JoinHostPort(stack.State.BindAddr, strconv.Itoa(port))))
		if strings.HasPrefix(r.Answer, "HTTP/") {
			t.Errorf("bnd-other's sidecar answered plain HTTP: %q", r.Answer)
		}
	})
	t.Run("Nomad is not reachable from a workload", func(t *testing.T) {
		for _, host := range []string{stack.State.BindAddr, gatewayIP, "127.0.0.1"} {
			addr := net.JoinHostPort(host, strconv.Itoa(stack.State.Ports.NomadHTTP))
			if r := probe[dialResult](t, "/dial?addr="+url.QueryEscape(addr)); r.Connected {
				t.Errorf("bnd-probe reached Nomad's API at %s", addr)
			}
		}
	})
	t.Run("Nomad without a token refuses a job submission", func(t *testing.T) {
		// A docker task: with raw_exec, Nomad's check of the namespace's
		// drivers answers first (500, naming the driver), before its ACLs.
		resp, err := httpDo("PUT", stack.State.NomadAddr()+"/v1/jobs", `{"Job":{"ID":"evil","Name":"evil","Type":"batch","Datacenters":["*"],"TaskGroups":[{"Name":"g","Tasks":[{"Name":"t","Driver":"docker","Config":{"image":"stackctl-demo:1.0.0"}}]}]}}`, nil)
		if err != nil || resp.status != 403 {
			t.Errorf("anonymous job submission: %d %v %.200s, want 403", resp.status, err, resp.body)
		}
	})
	consul := "http://" + gateway
	t.Run("Consul without a token refuses an intention write", func(t *testing.T) {
		body := `{"Kind":"service-intentions","Name":"bnd-target","Sources":[{"Name":"bnd-other","Action":"allow"}]}`
		r := probe[fetchResult](t, "/http?method=PUT&url="+url.QueryEscape(consul+"/v1/config")+"&body="+url.QueryEscape(body))
		if r.Status != 403 {
			t.Errorf("anonymous intention write from a workload: %+v, want 403", r)
		}
	})
	t.Run("Consul without a token refuses a registration as traefik", func(t *testing.T) {
		body := `{"Name":"traefik","Port":8000,"Connect":{"Native":true}}`
		r := probe[fetchResult](t, "/http?method=PUT&url="+url.QueryEscape(consul+"/v1/agent/service/register")+"&body="+url.QueryEscape(body))
		if r.Status != 403 {
			t.Errorf("anonymous registration as traefik from a workload: %+v, want 403", r)
		}
	})
	t.Run("Consul without a token shows no catalog", func(t *testing.T) {
		r := probe[fetchResult](t, "/http?url="+url.QueryEscape(consul+"/v1/catalog/services"))
		if r.Status != 200 || strings.TrimSpace(r.Body) != "{}" {
			t.Errorf("anonymous catalog read from a workload: %+v, want an empty catalog", r)
		}
	})
	t.Run("the task has no Vault token", func(t *testing.T) {
		stack.waitGet(t, 30*time.Second, internal, "probe.itest.localhost", "/env/SERVICE_NAME", 200)
		if code, _, _ := stack.get(internal, "probe.itest.localhost", "/env/VAULT_TOKEN"); code != 404 {
			t.Errorf("a task has VAULT_TOKEN in its environment (status %d)", code)
		}
	})
	t.Run("every non-loopback listener of the stack grants nothing without a token", func(t *testing.T) {
		listeners := stackListeners(t)
		if len(listeners) == 0 {
			t.Fatal("found no listener of the stack at all; the enumeration is broken")
		}
		for _, l := range listeners {
			ip, port, _ := net.SplitHostPort(l.addr)
			p, _ := strconv.Atoi(port)
			answer := unauthenticated(ip, p)
			t.Logf("%-22s %-10s %s", l.addr, l.proc, answer)
			switch {
			case p == stack.State.Ports.Public:
				if !strings.HasPrefix(answer, "404") {
					t.Errorf("public entrypoint %s answered %q to an unknown host, want 404", l.addr, answer)
				}
			case p == stack.State.Ports.ConsulHTTP && ip == gatewayIP:
				if !strings.HasPrefix(answer, "403") {
					t.Errorf("Consul at %s answered %q without a token, want 403", l.addr, answer)
				}
			default:
				t.Errorf("unexpected non-loopback listener %s (%s) answered %q", l.addr, l.proc, answer)
			}
		}
	})
}

type listener struct{ addr, proc string }

// stackListeners lists the TCP sockets in LISTEN state on a non-loopback
// address that belong to the stack's processes (the agents, dockerd and
// their children: the raw_exec tasks), from /proc.
func stackListeners(t *testing.T) []listener {
	t.Helper()
	pids := map[int]string{}
	for name, p := range stack.State.Procs {
		pids[p.PID] = name
	}
	// Children of the agents (executors, raw_exec tasks) belong to them.
	for changed := true; changed; {
		changed = false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pids[pid] != "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if err != nil {
				continue
			}
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
			if ppid, _ := strconv.Atoi(f[1]); pids[ppid] != "" {
				comm := strings.Trim(s[strings.IndexByte(s, '(')+1:strings.LastIndexByte(s, ')')], " ")
				pids[pid] = comm
				changed = true
			}
		}
	}
	inodes := map[string]string{}
	for pid, name := range pids {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if err == nil && strings.HasPrefix(link, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = name
			}
		}
	}
	var out []listener
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			proc, ok := inodes[fs[9]]
			if !ok {
				continue
			}
			ip, port := decodeProcAddr(fs[1])
			if ip.IsLoopback() {
				continue
			}
			if ip.IsUnspecified() {
				ip = net.ParseIP(stack.State.BindAddr)
			}
			out = append(out, listener{addr: net.JoinHostPort(ip.String(), strconv.Itoa(port)), proc: proc})
		}
		f.Close()
	}
	return out
}

// decodeProcAddr decodes /proc/net/tcp's "0100007F:1F90" form.
func decodeProcAddr(s string) (net.IP, int) {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	port, _ := strconv.ParseInt(hexPort, 16, 32)
	b := make([]byte, len(hexIP)/2)
	for i := range b {
		v, _ := strconv.ParseUint(hexIP[2*i:2*i+2], 16, 8)
		b[i] = byte(v)
	}
	// The kernel writes each 32-bit word in host (little-endian) order.
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b), int(port)
}

// unauthenticated sends a plain HTTP request without any token to a
// listener and returns the status line, or what happened instead.
func unauthenticated(ip string, port int) string {
	resp, err := httpDo("GET", fmt.Sprintf("http://%s/v1/agent/self", net.JoinHostPort(ip, strconv.Itoa(port))), "", nil)
	if err != nil {
		return "no HTTP answer: " + err.Error()
	}
	return fmt.Sprintf("%d %.80s", resp.status, strings.TrimSpace(resp.body))
}

type httpResult struct {
	status int
	body   string
}

// httpDo sends one request with the given headers and reads the answer.
func httpDo(method, url, body string, header map[string]string) (httpResult, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return httpResult{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return httpResult{status: resp.StatusCode, body: string(b)}, nil
}
