//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/devstack"
)

// leftovers are containers planted before this run's `dev up`, as a stack
// that went down with the machine leaves them: a task container that
// mounts from the stack's Nomad data dir (gone with /tmp by then) and its
// allocation's running pause container; and the same pair of another
// Nomad on the engine, which dev up must leave alone.
type leftovers struct {
	ours, foreign []string // container IDs
	err           error    // why nothing was planted
}

var planted leftovers

func plantLeftovers(ctx context.Context, stateDir string) leftovers {
	if _, err := devstack.EnsureDockerd(ctx, stateDir, os.Stderr); err != nil {
		return leftovers{err: err}
	}
	if !devstack.ImageExists(ctx, devstack.PauseImage.Tag) {
		return leftovers{err: fmt.Errorf("image %s is missing", devstack.PauseImage.Tag)}
	}
	var l leftovers
	pair := func(dataDir string) ([]string, error) {
		alloc := allocID()
		task, err := docker(ctx, "create", "--label", devstack.AllocLabel+"="+alloc,
			"-v", filepath.Join(dataDir, "alloc", alloc, "alloc")+":/alloc", devstack.PauseImage.Tag)
		if err != nil {
			return nil, err
		}
		pause, err := docker(ctx, "run", "-d", "--restart", "unless-stopped", "--network", "none",
			"--label", devstack.AllocLabel+"="+alloc, devstack.PauseImage.Tag)
		if err != nil {
			return []string{task}, err
		}
		return []string{task, pause}, nil
	}
	if l.ours, l.err = pair(devstack.NomadDataDir(stateDir)); l.err != nil {
		return l
	}
	// Running containers of no allocation it knows are removed by the
	// Nomad docker driver's dangling-container reconciler after 5 minutes;
	// the created task container stays until removeForeign.
	l.foreign, l.err = pair(filepath.Join(os.TempDir(), "stackctl-itest-other-nomad"))
	return l
}

// removeForeign removes the other Nomad's pair, whichever phases ran (a
// run of some phases only never checks them): left, `make compose-test`
// finds them after its down. TestMain calls it.
func (l leftovers) removeForeign() {
	if len(l.foreign) == 0 {
		return
	}
	if _, err := docker(context.Background(), append([]string{"rm", "-f", "-v"}, l.foreign...)...); err != nil {
		fmt.Fprintf(os.Stderr, "integration: removing the planted containers: %v\n", err)
	}
}

func docker(ctx context.Context, args ...string) (string, error) {
	b, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %v: %s", args[0], err, b)
	}
	return strings.TrimSpace(string(b)), nil
}

func allocID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func testLeftoversRemoved(t *testing.T) {
	if !ownStack {
		t.Skip("this run reused a running stack: no dev up to test")
	}
	if planted.err != nil {
		t.Fatalf("could not plant the leftovers: %v", planted.err)
	}
	exists := func(id string) bool {
		_, err := docker(t.Context(), "inspect", "--type", "container", "--format", "{{.Id}}", id)
		return err == nil
	}
	for _, id := range planted.ours {
		if exists(id) {
			t.Errorf("container %.12s of an allocation of an earlier stack survived dev up", id)
		}
	}
	for _, id := range planted.foreign {
		if !exists(id) {
			t.Errorf("container %.12s of another Nomad's allocation was removed by dev up", id)
		}
	}
}
