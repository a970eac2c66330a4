package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Agent is one pinned program of the stack and how to build it from the Go
// module proxy. Only open-source (pre-BSL) releases are pinned: see
// docs/devstack.md for why these exact versions and module edits.
type Agent struct {
	Name    string   // binary name, also the bare command jobs use
	Module  string   // module path on the proxy
	Version string   // module version (a release tag)
	Package string   // package to build inside the module
	Edits   []string // `go mod edit` flags applied before building
	LDFlags string   // extra -ldflags (version stamps the release sets)
	// VersionArgs and VersionRE decide whether a binary found on PATH is the
	// pinned release.
	VersionArgs []string
	VersionRE   *regexp.Regexp
}

// Agents lists the stack's programs in build order (fastest to get running
// first is not a goal: Nomad is needed by everything else).
var Agents = []Agent{
	{
		Name: "nomad", Module: "github.com/hashicorp/nomad", Version: "v1.6.1", Package: ".",
		// The release's go.mod replaces nomad/api with ./api, which the module
		// zip does not contain: require the api at the release commit instead.
		Edits: []string{
			"-dropreplace=github.com/hashicorp/nomad/api",
			"-require=github.com/hashicorp/nomad/api@v0.0.0-20230721134942-515895c7690c",
		},
		VersionArgs: []string{"version"},
		VersionRE:   regexp.MustCompile(`(?m)^Nomad v1\.6\.1\b`),
	},
	{
		Name: "consul", Module: "github.com/hashicorp/consul", Version: "v1.14.11", Package: ".",
		Edits: []string{
			"-dropreplace=github.com/hashicorp/consul/api",
			"-dropreplace=github.com/hashicorp/consul/sdk",
			"-dropreplace=github.com/hashicorp/consul/proto-public",
		},
		VersionArgs: []string{"version"},
		VersionRE:   regexp.MustCompile(`(?m)^Consul v1\.14\.11\b`),
	},
	{
		Name: "vault", Module: "github.com/hashicorp/vault", Version: "v1.14.1", Package: ".",
		// The sdk pseudo-version in Vault's go.mod does not compile and the
		// tagged sdk v0.9.2 panics at start: use the sdk at the release commit.
		Edits: []string{
			"-dropreplace=github.com/hashicorp/vault/api",
			"-dropreplace=github.com/hashicorp/vault/api/auth/approle",
			"-dropreplace=github.com/hashicorp/vault/api/auth/kubernetes",
			"-dropreplace=github.com/hashicorp/vault/api/auth/userpass",
			"-dropreplace=github.com/hashicorp/vault/sdk",
			"-require=github.com/hashicorp/vault/sdk@v0.9.2-0.20230721171514-bf23fe8636b0",
		},
		VersionArgs: []string{"version"},
		VersionRE:   regexp.MustCompile(`(?m)^Vault v1\.14\.1\b`),
	},
	{
		Name: "nomad-autoscaler", Module: "github.com/hashicorp/nomad-autoscaler", Version: "v0.3.7", Package: ".",
		VersionArgs: []string{"version"},
		VersionRE:   regexp.MustCompile(`(?m)^Nomad Autoscaler v0\.3\.7\b`),
	},
	{
		Name: "traefik", Module: "github.com/traefik/traefik/v3", Version: "v3.6.12", Package: "./cmd/traefik",
		LDFlags:     "-X github.com/traefik/traefik/v3/pkg/version.Version=3.6.12",
		VersionArgs: []string{"version"},
		VersionRE:   regexp.MustCompile(`(?m)^Version:\s+v?3\.6\.12\b`),
	},
}

// Compose is Docker Compose v2, built like the agents (its go.mod has
// exclude directives that `go install` refuses) for docker-compose.dev.yml.
// It is optional: `stackctl dev install docker-compose` builds it and links it
// as the docker CLI plugin.
var Compose = Agent{
	Name: "docker-compose", Module: "github.com/docker/compose/v2", Version: "v2.40.3", Package: "./cmd",
	LDFlags:     "-X github.com/docker/compose/v2/internal.Version=v2.40.3",
	VersionArgs: []string{"version"},
	VersionRE:   regexp.MustCompile(`Docker Compose version v2\.40\.3\b`),
}

// AgentByName finds a pinned agent (or Compose).
func AgentByName(name string) (Agent, bool) {
	for _, a := range append(Agents, Compose) {
		if a.Name == name {
			return a, true
		}
	}
	return Agent{}, false
}

// CachePath is where the built binary of a is kept.
func (a Agent) CachePath(cache string) string {
	return filepath.Join(cache, "agents", a.Name, a.Version, a.Name)
}

// Installer finds or builds the pinned agents.
type Installer struct {
	Cache string
	Out   io.Writer // progress lines
	// LookPath finds a program on PATH; exec.LookPath when nil (tests fake it).
	LookPath func(string) (string, error)
	// NoPath ignores binaries on PATH (always use the cache).
	NoPath bool
}

// Resolve returns the binary to use for a without building anything: a
// binary on PATH whose version output matches the pin, else the cached
// build. It returns ErrNotInstalled when neither exists.
func (in *Installer) Resolve(ctx context.Context, a Agent) (string, error) {
	if p := in.Cache; p != "" {
		if fi, err := os.Stat(a.CachePath(p)); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return a.CachePath(p), nil
		}
	}
	if !in.NoPath {
		look := in.LookPath
		if look == nil {
			look = exec.LookPath
		}
		if p, err := look(a.Name); err == nil && versionFits(ctx, p, a) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s %s: %w", a.Name, a.Version, ErrNotInstalled)
}

// ErrNotInstalled says an agent is neither on PATH nor in the cache.
var ErrNotInstalled = errors.New("not installed (run `stackctl dev install`)")

func versionFits(ctx context.Context, bin string, a Agent) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, a.VersionArgs...)
	// A child that keeps the output pipe open must not hang the check.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	return err == nil && a.VersionRE.Match(out)
}

// Install makes every agent in as available, building the missing ones one
// after the other (the builds are CPU-bound; running them side by side on a
// small machine is slower overall). It returns the path of each binary.
func (in *Installer) Install(ctx context.Context, as []Agent) (map[string]string, error) {
	paths := map[string]string{}
	for _, a := range as {
		if p, err := in.Resolve(ctx, a); err == nil {
			fmt.Fprintf(in.Out, "%s %s: using %s\n", a.Name, a.Version, p)
			paths[a.Name] = p
			continue
		}
		p, err := in.build(ctx, a)
		if err != nil {
			return paths, err
		}
		paths[a.Name] = p
	}
	return paths, nil
}

// build compiles a into the cache. A lock file keeps two stackctl processes
// from building the same agent at once; the binary is written under a
// temporary name and renamed into place, so an interrupted build leaves no
// half-written binary behind and the next run simply starts over.
func (in *Installer) build(ctx context.Context, a Agent) (string, error) {
	out := a.CachePath(in.Cache)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(out + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have finished the build while we waited.
	if _, err := os.Stat(out); err == nil {
		fmt.Fprintf(in.Out, "%s %s: built by another process: %s\n", a.Name, a.Version, out)
		return out, nil
	}

	logPath := filepath.Join(in.Cache, "logs", a.Name+"-"+a.Version+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logf.Close()

	fmt.Fprintf(in.Out, "%s %s: building %s@%s (log: %s)\n", a.Name, a.Version, a.Module, a.Version, logPath)
	start := time.Now()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(in.Out, "%s %s: still building (%s)\n", a.Name, a.Version, time.Since(start).Round(time.Second))
			}
		}
	}()

	if err := in.compile(ctx, a, out, logf); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("%s %s: build interrupted", a.Name, a.Version)
		}
		return "", fmt.Errorf("%s %s: build failed, see %s:\n%s", a.Name, a.Version, logPath, tailFile(logPath, 20))
	}
	fmt.Fprintf(in.Out, "%s %s: built in %s: %s\n", a.Name, a.Version, time.Since(start).Round(time.Second), out)
	return out, nil
}

func (in *Installer) compile(ctx context.Context, a Agent, out string, log io.Writer) error {
	env := append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOWORK=off")
	run := func(dir string, name string, args ...string) ([]byte, error) {
		fmt.Fprintf(log, "$ %s %s\n", name, strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env, cmd.Stderr = dir, env, log
		cmd.WaitDelay = 10 * time.Second
		return cmd.Output()
	}

	// `go install module@version` refuses modules whose go.mod has replace
	// directives: download, copy to a writable place, edit, build.
	js, err := run("", "go", "mod", "download", "-json", a.Module+"@"+a.Version)
	if err != nil {
		return err
	}
	var dl struct{ Dir, Error string }
	if err := json.Unmarshal(js, &dl); err != nil || dl.Dir == "" {
		return fmt.Errorf("go mod download: %s %v", dl.Error, err)
	}
	work := filepath.Join(in.Cache, "src", a.Name+"-"+a.Version)
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(work), 0o755); err != nil {
		return err
	}
	if _, err := run("", "cp", "-r", dl.Dir, work); err != nil {
		return err
	}
	if _, err := run("", "chmod", "-R", "u+w", work); err != nil {
		return err
	}
	// A go.work in the zip lists folders that are not in it.
	_ = os.Remove(filepath.Join(work, "go.work"))
	for _, e := range a.Edits {
		if _, err := run(work, "go", "mod", "edit", e); err != nil {
			return err
		}
	}
	tmp := fmt.Sprintf("%s.tmp-%d", out, os.Getpid())
	defer os.Remove(tmp)
	args := []string{"build", "-trimpath", "-o", tmp}
	if a.LDFlags != "" {
		args = append(args, "-ldflags", a.LDFlags)
	}
	if _, err := run(work, "go", append(args, a.Package)...); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	// The sources are only needed to build; the Go build cache keeps the
	// compiled packages for a rebuild.
	return os.RemoveAll(work)
}

// lockFile takes an exclusive flock on path, waiting for a holder to finish.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
