// Package devstack runs the local development stack: it installs the pinned
// open-source agents (Nomad, Consul, Vault, Traefik, Nomad Autoscaler), the
// Docker engine and the local images they need, then starts, checks and stops
// them as one unit whose state, logs and PIDs live under a single directory.
//
// Everything here talks to real processes; the CLI (internal/cli/dev.go) only
// parses flags and prints.
package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// modulePath identifies a stackctl checkout (FindRepo).
const modulePath = "github.com/stackctl/stackctl"

// CacheDir is where built agents, their sources and build logs are kept
// between checkouts: $STACKCTL_CACHE_DIR, else $XDG_CACHE_HOME/stackctl, else
// ~/.cache/stackctl.
func CacheDir() (string, error) {
	if d := os.Getenv("STACKCTL_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "stackctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a cache directory: %w (set STACKCTL_CACHE_DIR)", err)
	}
	return filepath.Join(home, ".cache", "stackctl"), nil
}

// StateDir holds one running stack: config, PIDs, logs, agent data.
// $STACKCTL_DEV_DIR, else $XDG_STATE_HOME/stackctl/dev, else
// ~/.local/state/stackctl/dev.
func StateDir() (string, error) {
	if d := os.Getenv("STACKCTL_DEV_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "stackctl", "dev"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a state directory: %w (set STACKCTL_DEV_DIR)", err)
	}
	return filepath.Join(home, ".local", "state", "stackctl", "dev"), nil
}

// FindRepo returns the root of the stackctl checkout that holds jobs/platform,
// policies and the image sources: $STACKCTL_REPO, else the first parent of
// the working directory whose go.mod declares the stackctl module.
func FindRepo() (string, error) {
	if d := os.Getenv("STACKCTL_REPO"); d != "" {
		return filepath.Abs(d)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a stackctl checkout: run from the repository or set STACKCTL_REPO")
		}
		dir = parent
	}
}
