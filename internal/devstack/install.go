package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// InstallOptions configure `dev install`.
type InstallOptions struct {
	CacheDir string
	StateDir string // where a dockerd we start keeps its PID and log
	Repo     string
	Agents   []Agent // nil: all, and Docker Compose v2 (the compose tests need it)
	NoPath   bool    // ignore binaries on PATH
	// SkipSystem skips the Docker engine, CNI plugins and images.
	SkipSystem bool
	// SkipAgents skips the agents (images only).
	SkipAgents bool
	// ComposeImages also builds the agent images for docker-compose.dev.yml
	// and writes the env file that selects them (ComposeEnvFile).
	ComposeImages bool
	Out           io.Writer
}

// Install gets everything the stack needs: system packages, a running
// Docker engine, the pinned agents and the local images. Each part is
// idempotent; running it again after an interrupt resumes where it stopped.
func Install(ctx context.Context, o InstallOptions) error {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	if !o.SkipSystem {
		if err := SystemDeps(ctx, out); err != nil {
			return err
		}
		pid, err := EnsureDockerd(ctx, o.StateDir, out)
		if err != nil {
			return err
		}
		if pid > 0 {
			fmt.Fprintf(out, "dockerd: running (pid %d, stopped by `stackctl dev down`)\n", pid)
		} else {
			fmt.Fprintf(out, "dockerd: running\n")
		}
	}
	if !o.SkipAgents {
		as := o.Agents
		if as == nil {
			as = append(append([]Agent(nil), Agents...), Compose)
		}
		in := &Installer{Cache: o.CacheDir, Out: out, NoPath: o.NoPath}
		paths, err := in.Install(ctx, as)
		if err != nil {
			return err
		}
		if p, ok := paths[Compose.Name]; ok {
			if err := linkComposePlugin(p, out); err != nil {
				return err
			}
		}
	}
	if o.SkipSystem {
		return nil
	}
	for _, img := range Images {
		if err := BuildImage(ctx, o.Repo, img, out); err != nil {
			return err
		}
	}
	// The sidecar image holds the pinned Consul. With --images-only and no
	// Consul built yet there is nothing to put in it: say so.
	consul, _ := AgentByName("consul")
	bin, err := (&Installer{Cache: o.CacheDir, Out: out, NoPath: o.NoPath}).Resolve(ctx, consul)
	switch {
	case errors.Is(err, ErrNotInstalled) && o.SkipAgents:
		fmt.Fprintf(out, "image %s: skipped, consul is not installed (`stackctl dev install consul`)\n", ProxyImageTag())
	case err != nil:
		return fmt.Errorf("the sidecar image needs the pinned consul: %w", err)
	default:
		if err := BuildProxyImage(ctx, bin, out); err != nil {
			return err
		}
	}
	if o.ComposeImages {
		in := &Installer{Cache: o.CacheDir, Out: out, NoPath: o.NoPath}
		env := ComposeEnvFile(o.StateDir)
		if err := BuildComposeImages(ctx, in, filepath.Join(o.CacheDir, "compose-base"), env, out); err != nil {
			return err
		}
		fmt.Fprintf(out, "compose images: selected by %s\n  docker compose --env-file %s -f docker-compose.dev.yml up -d --wait\n", env, env)
	}
	return nil
}

// ComposeEnvFile is where `dev install --compose-images` writes the
// variables that select the local agent images.
func ComposeEnvFile(stateDir string) string { return filepath.Join(stateDir, "compose.env") }

// linkComposePlugin makes bin the `docker compose` CLI plugin
// (~/.docker/cli-plugins/docker-compose), unless it already is.
func linkComposePlugin(bin string, out io.Writer) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	link := filepath.Join(home, ".docker", "cli-plugins", "docker-compose")
	if cur, err := os.Readlink(link); err == nil && cur == bin {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(bin, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		return err
	}
	fmt.Fprintf(out, "docker compose: plugin %s -> %s\n", link, bin)
	return nil
}
