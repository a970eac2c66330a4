//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/devstack"
	"github.com/stackctl/stackctl/internal/testkit"
)

// TestImportCompose runs examples/compose under `docker compose up`,
// records how it answers, imports it with `stackctl import compose`, puts
// its secrets, deploys it on the dev stack and checks that the same
// requests get the same answers: the calls between the services, now
// through the mesh, and the secrets, now from Vault.
func testImportCompose(t *testing.T) {
	ctx := t.Context()
	file := filepath.Join(stack.Repo, "examples", "compose", "compose.yaml")
	if out, err := exec.CommandContext(ctx, "docker", "compose", "version").CombinedOutput(); err != nil {
		t.Fatalf("docker compose is needed to run the example as compose would (make install-agents installs it): %v\n%s", err, out)
	}
	if err := devstack.BuildImage(ctx, stack.Repo, devstack.DemoImage, testLog{t}); err != nil {
		t.Fatalf("build %s: %v", devstack.DemoImage.Tag, err)
	}
	secrets := map[string]string{
		"BACK_TOKEN":     "import-token-" + randomString(t),
		"STORE_PASSWORD": "import-pass-" + randomString(t),
	}
	// The shell's variables win over examples/compose/.env, for docker
	// compose and for the import alike.
	for k, v := range secrets {
		t.Setenv(k, v)
	}

	// The requests a user would make, and what each answer must show.
	type probe struct{ path, want string }
	probes := []probe{
		{"/", "front"},
		{"/call/BACK_ADDR/", "back"},
		{"/call/BACK_ADDR/call/STORE_ADDR/", "store"},
		{"/call/BACK_ADDR/env/BACK_TOKEN", sha(secrets["BACK_TOKEN"])},
		{"/call/BACK_ADDR/call/STORE_ADDR/env/STORE_PASSWORD", sha(secrets["STORE_PASSWORD"])},
	}

	// 1. Under docker compose.
	const project = "stackctl-import-test"
	compose := func(args ...string) (string, error) {
		// Not t.Context(): the cleanup below runs after it is cancelled.
		cmd := exec.CommandContext(context.WithoutCancel(ctx), "docker", append([]string{"compose", "-f", file, "-p", project}, args...)...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	t.Cleanup(func() {
		if out, err := compose("down", "--timeout", "10"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})
	if out, err := compose("up", "--detach", "--wait", "--wait-timeout", "120", "--pull", "never"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	underCompose := map[string]string{}
	for _, p := range probes {
		var body string
		err := testkit.Poll(time.Minute, func() error {
			code, b, err := plainGet("http://127.0.0.1:18080" + p.path)
			if err == nil && code != 200 {
				err = fmt.Errorf("status %d: %.200s", code, b)
			}
			body = b
			return err
		})
		if err != nil {
			t.Fatalf("under compose, GET %s: %v", p.path, err)
		}
		underCompose[p.path] = answer(body)
		if underCompose[p.path] != p.want {
			t.Fatalf("under compose, GET %s answered %q, want %q", p.path, body, p.want)
		}
	}
	if code, body, err := plainGet("http://127.0.0.1:18081/"); err != nil || code != 200 || answer(body) != "back" {
		t.Fatalf("under compose, back on loopback: %d %v %.200s", code, err, body)
	}
	if out, err := compose("down", "--timeout", "10"); err != nil {
		t.Fatalf("compose down: %v\n%s", err, out)
	}

	// 2. Imported, secrets put, deployed.
	setClusterEnv(t)
	var transcript strings.Builder
	run := func(stdin string, args ...string) (int, string) {
		t.Helper()
		code, out := stackctl(t, stdin, args...)
		transcript.WriteString(out)
		return code, out
	}
	dir := filepath.Join(t.TempDir(), "demo")
	code, out := run("", "import", "compose", "-o", dir, file)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	for _, name := range []string{"BACK_TOKEN", "STORE_PASSWORD"} {
		if !strings.Contains(out, "secrets put --stack "+dir) || !strings.Contains(out, name) {
			t.Errorf("import does not print the secrets put command for %s:\n%s", name, out)
		}
	}
	t.Cleanup(func() {
		for _, s := range []string{"front", "back", "store"} {
			_, _ = stackctl(t, "", "destroy", "--stack", dir, "-var", "sidecar=builtin", "--yes", "--purge", s)
		}
	})
	for svc, name := range map[string]string{"back": "BACK_TOKEN", "store": "STORE_PASSWORD"} {
		if code, out := run(secrets[name]+"\n", "secrets", "put", "--stack", dir, svc, name); code != 0 {
			t.Fatalf("secrets put %s %s: exit %d\n%s", svc, name, code, out)
		}
	}
	if code, out := run("", "deploy", "-var", "sidecar=builtin", "--timeout", "5m", dir); code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, stack.allocReport("front"))
	}

	// 3. The same requests, through Traefik: front on the public
	// entrypoint, back on the internal one (it was published on loopback).
	for _, p := range probes {
		body := stack.waitGet(t, 2*time.Minute, public, "front.demo.localhost", p.path, 200)
		if got := answer(body); got != underCompose[p.path] {
			t.Errorf("GET %s answered %q on the dev stack, %q under compose", p.path, got, underCompose[p.path])
		}
	}
	if got := answer(stack.waitGet(t, time.Minute, internal, "back.demo.localhost", "/", 200)); got != "back" {
		t.Errorf("back on the internal entrypoint answered %q", got)
	}
	// store is mesh only: no route reaches it.
	if code, _, err := stack.get(public, "store.demo.localhost", "/"); err == nil && code == 200 {
		t.Error("store answered on the public entrypoint; it has no expose block")
	}
	for name, v := range secrets {
		if strings.Contains(transcript.String(), v) {
			t.Errorf("the value of %s appeared in stackctl's output", name)
		}
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), v) {
					t.Errorf("the value of %s is in %s", name, p)
				}
			}
			return nil
		})
	}
}

// answer reduces a demo app answer to what must match: the "service" of a
// JSON body (alloc and host differ by design), or the text itself (the
// digest of a variable).
func answer(body string) string {
	var doc struct{ Service string }
	if json.Unmarshal([]byte(body), &doc) == nil && doc.Service != "" {
		return doc.Service
	}
	return strings.TrimSpace(body)
}

// plainGet sends GET url on a fresh connection.
func plainGet(url string) (int, string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, "", err
	}
	req.Close = true
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// testLog writes build output to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
