package devstack

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/stackctl/stackctl/internal/dockerauthz"
)

// Nomad's docker driver labels every container it creates with its
// allocation's ID: the task containers, which bind-mount the allocation's
// directories from the client's data dir, and the pause container that
// holds a bridge-mode group's network namespace (no mounts, restart policy
// unless-stopped, so dockerd starts it again after a reboot). Nomad removes
// them when it stops an allocation, not when the node goes down with
// allocations placed. The data dir may be gone by then (it lives under
// /tmp), but each task container still names it in its mounts: that is how
// a container is known to be this stack's and not another Nomad's on the
// same engine (the Compose stack's, say).

// AllocLabel is the label Nomad's docker driver puts on every container
// it creates, with the allocation's ID.
const AllocLabel = dockerauthz.AllocLabel

// allocDirs lists the allocation IDs that have a directory in a Nomad
// client's data dir: known even when Nomad died.
func allocDirs(dataDir string) map[string]bool {
	ids := map[string]bool{}
	ents, err := os.ReadDir(filepath.Join(dataDir, "alloc"))
	if err != nil {
		return ids
	}
	for _, e := range ents {
		if e.IsDir() {
			ids[e.Name()] = true
		}
	}
	return ids
}

// allocContainer is what ownedContainers needs of one labelled container.
type allocContainer struct {
	ID     string
	Alloc  string
	Mounts []string // host paths
}

// ownedContainers picks the containers of the Nomad client whose data dir
// is dataDir: those of the allocations in allocIDs, those that mount from
// dataDir, and the pause containers of the allocations found so.
func ownedContainers(cs []allocContainer, dataDir string, allocIDs map[string]bool) []string {
	owned := map[string]bool{}
	for a := range allocIDs {
		owned[a] = true
	}
	for _, c := range cs {
		for _, m := range c.Mounts {
			if within(filepath.Clean(m), filepath.Clean(dataDir)) {
				owned[c.Alloc] = true
				break
			}
		}
	}
	var ids []string
	for _, c := range cs {
		if c.Alloc != "" && owned[c.Alloc] {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// parseAllocContainers reads the lines of listAllocContainers's inspect
// format: ID, allocation, then the mount sources, tab-separated.
func parseAllocContainers(out string) []allocContainer {
	var cs []allocContainer
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fs := strings.Split(strings.TrimRight(sc.Text(), "\t"), "\t")
		if len(fs) < 2 || fs[0] == "" {
			continue
		}
		cs = append(cs, allocContainer{ID: fs[0], Alloc: fs[1], Mounts: fs[2:]})
	}
	return cs
}

// listAllocContainers lists every container on the engine that carries
// AllocLabel, whichever Nomad made it.
func listAllocContainers(ctx context.Context) ([]allocContainer, error) {
	b, err := exec.CommandContext(ctx, "docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label="+AllocLabel).Output()
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	all := strings.Fields(string(b))
	if len(all) == 0 {
		return nil, nil
	}
	format := `{{.Id}}	{{index .Config.Labels "` + AllocLabel + `"}}	{{range .Mounts}}{{.Source}}	{{end}}`
	b, err = exec.CommandContext(ctx, "docker", append([]string{"inspect", "--type", "container", "--format", format}, all...)...).Output()
	if err != nil && len(b) == 0 {
		// A container removed between ps and inspect fails the call but
		// leaves the others' lines.
		return nil, fmt.Errorf("docker inspect: %w", err)
	}
	return parseAllocContainers(string(b)), nil
}

// removeAllocContainers removes the containers (task and pause containers)
// of the Nomad client whose data dir is dataDir, and only those: see
// ownedContainers. For a moment when that client does not run (before it
// starts, after it stopped). A Docker engine that does not answer has
// nothing to remove.
func removeAllocContainers(ctx context.Context, dataDir string, allocIDs map[string]bool) (int, error) {
	if DockerPing(ctx) != nil {
		return 0, nil
	}
	cs, err := listAllocContainers(ctx)
	if err != nil {
		return 0, err
	}
	ids := ownedContainers(cs, dataDir, allocIDs)
	if len(ids) == 0 {
		return 0, nil
	}
	if b, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f", "-v"}, ids...)...).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("docker rm: %v: %s", err, b)
	}
	return len(ids), nil
}
