package devstack

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/stackctl/stackctl/internal/outdir"
)

// What docker-compose.dev.yml needs from the host and cannot do itself:
// two directories that are shared mounts (Nomad's data dir, so that the
// tmpfs Nomad mounts in a container reach the host's dockerd; Docker's
// netns dir, so that the pause containers' namespaces reach Nomad in its
// container). composeHost records what `dev compose up` changed, so that
// `down` undoes exactly that, together with what the host-init service and
// Nomad's CNI plugins added (bridge, firewall chains).

const composeHostFile = "host.json"

// composeHost is <compose dir>/host.json.
type composeHost struct {
	// EnvFile is the env file `up` passed to docker compose ("" for none).
	EnvFile string `json:"env_file"`
	// Mounts are the shared-mount layers `up` made, in order.
	Mounts []string `json:"mounts,omitempty"`
	// BridgeExisted and Chains say what was there before the first `up`:
	// Nomad's bridge, and the iptables chains per table.
	BridgeExisted bool                `json:"bridge_existed"`
	Chains        map[string][]string `json:"chains"`
	// Dockerd is set when `up` started the Docker engine itself.
	Dockerd *Proc `json:"dockerd,omitempty"`
}

// stackChainTables are the iptables tables the stack adds chains to.
var stackChainTables = []string{"filter", "nat"}

func loadComposeHost(dir string) (*composeHost, error) {
	b, err := os.ReadFile(filepath.Join(dir, composeHostFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h composeHost
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, composeHostFile), err)
	}
	return &h, nil
}

func (h *composeHost) save(dir string) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return outdir.WriteFile(filepath.Join(dir, composeHostFile), append(b, '\n'), 0o600)
}

// snapshot records the network state before the stack changes it.
func snapshotHost(ctx context.Context) (*composeHost, error) {
	h := &composeHost{Chains: map[string][]string{}}
	_, err := net.InterfaceByName(bridgeName)
	h.BridgeExisted = err == nil
	for _, t := range stackChainTables {
		chains, err := listChains(ctx, t)
		if err != nil {
			return nil, err
		}
		h.Chains[t] = chains
	}
	return h, nil
}

// undoNetwork removes what the stack added to the host's network: the
// isolation chain and its jumps, the chains Nomad's CNI plugins created
// (CNI-*, NOMAD-ADMIN) with every rule that jumps to them, and the bridge,
// each only if it was not there before the first `up`.
func (h *composeHost) undoNetwork(ctx context.Context) error {
	var errs []error
	if !contains(h.Chains["filter"], isolationChain) {
		if err := removeIsolation(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range stackChainTables {
		if err := removeNewChains(ctx, t, h.Chains[t], isStackChain); err != nil {
			errs = append(errs, err)
		}
	}
	if !h.BridgeExisted {
		if b, err := exec.CommandContext(ctx, "ip", "link", "delete", bridgeName).CombinedOutput(); err != nil &&
			!strings.Contains(string(b), "Cannot find device") {
			errs = append(errs, fmt.Errorf("ip link delete %s: %v: %s", bridgeName, err, b))
		}
	}
	return errors.Join(errs...)
}

// isStackChain names the chains Nomad's CNI plugins (bridge, firewall,
// portmap) and the isolation rules create.
func isStackChain(name string) bool {
	return strings.HasPrefix(name, "CNI-") || name == nomadAdminChain || name == isolationChain
}

// listChains returns every chain of an iptables table, built-in ones too.
func listChains(ctx context.Context, table string) ([]string, error) {
	rules, err := iptablesRules(ctx, table)
	if err != nil {
		return nil, err
	}
	var chains []string
	for _, line := range strings.Split(rules, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && (f[0] == "-P" || f[0] == "-N") {
			chains = append(chains, f[1])
		}
	}
	return chains, nil
}

// removeNewChains deletes the chains of table that match and are not in
// before, and every rule that jumps to them (by rule number, from the
// bottom, so that the numbers stay valid).
func removeNewChains(ctx context.Context, table string, before []string, match func(string) bool) error {
	chains, err := listChains(ctx, table)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, c := range chains {
		if match(c) && !contains(before, c) {
			gone[c] = true
		}
	}
	if len(gone) == 0 {
		return nil
	}
	var errs []error
	for _, c := range chains {
		nums, err := rulesJumpingTo(ctx, table, c, gone)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := len(nums) - 1; i >= 0; i-- {
			if err := iptables(ctx, "-t", table, "-D", c, strconv.Itoa(nums[i])); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, c := range sortedKeys(gone) {
			if err := iptables(ctx, "-t", table, op, c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// rulesJumpingTo returns the numbers of chain's rules whose target is one
// of targets.
func rulesJumpingTo(ctx context.Context, table, chain string, targets map[string]bool) ([]int, error) {
	b, err := exec.CommandContext(ctx, "iptables", "-w", "-t", table, "-L", chain, "-n", "--line-numbers").Output()
	if err != nil {
		return nil, fmt.Errorf("iptables -t %s -L %s: %w", table, chain, err)
	}
	var nums []int
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !targets[f[1]] {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			nums = append(nums, n)
		}
	}
	return nums, nil
}

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	Point  string
	Shared bool
}

func readMounts() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []mountInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 7 {
			continue
		}
		m := mountInfo{Point: unescapeMount(fs[4])}
		// Optional fields (shared:N, master:N ...) run up to "-".
		for _, opt := range fs[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				m.Shared = true
			}
		}
		ms = append(ms, m)
	}
	return ms, sc.Err()
}

// mountOf returns the mount that holds path: the last-mounted one with the
// longest mount point that is path or one of its parents.
func mountOf(ms []mountInfo, path string) (mountInfo, bool) {
	var best mountInfo
	found := false
	for _, m := range ms {
		if within(path, m.Point) || m.Point == "/" {
			if !found || len(m.Point) >= len(best.Point) {
				best, found = m, true
			}
		}
	}
	return best, found
}

// isMountPoint reports whether something is mounted exactly at path.
func isMountPoint(path string) bool {
	ms, err := readMounts()
	if err != nil {
		return false
	}
	for _, m := range ms {
		if m.Point == path {
			return true
		}
	}
	return false
}

// ensureShared makes path a shared mount, unless the mount that holds it
// already is one (systemd makes / shared), by binding path onto itself
// (recursively: what is mounted below stays visible) and sharing that
// layer. made says whether it added the layer, which `down` removes.
func ensureShared(path string) (made bool, err error) {
	ms, err := readMounts()
	if err != nil {
		return false, err
	}
	if m, ok := mountOf(ms, path); ok && m.Shared {
		return false, nil
	}
	if err := syscall.Mount(path, path, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return false, fmt.Errorf("mount --rbind %s %s: %w", path, path, err)
	}
	if err := syscall.Mount("", path, "", syscall.MS_SHARED|syscall.MS_REC, ""); err != nil {
		_ = syscall.Unmount(path, syscall.MNT_DETACH)
		return false, fmt.Errorf("mount --make-rshared %s: %w", path, err)
	}
	return true, nil
}

// dockerNetnsDir is where dockerd mounts the network namespaces of its
// sandboxes (/var/run is a link to /run on current distributions).
func dockerNetnsDir() string {
	if p, err := filepath.EvalSymlinks("/var/run/docker"); err == nil {
		return filepath.Join(p, "netns")
	}
	return "/var/run/docker/netns"
}

// The host-network sandbox: dockerd mounts its own network namespace on
// <netns dir>/default the first time a host-network container starts, and
// never again until it restarts; every later host-network container joins
// the namespace through that file. Mounted while a layer covers the
// directory, the namespace would be on the layer and go with it, leaving
// an empty file that no host-network container can join ("can't get final
// child's PID from pipe"): it must exist before the layer is made.
func dockerHostSandbox() string { return filepath.Join(dockerNetnsDir(), "default") }

// ensureHostSandbox has dockerd create the host-network sandbox, by running
// one short host-network container, unless it exists.
func ensureHostSandbox(ctx context.Context, image, pull string) error {
	if isMountPoint(dockerHostSandbox()) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--network", "host", "--pull", pull,
		"--entrypoint", "/bin/true", image)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker run --network host %s: %v: %s", image, err, strings.TrimSpace(string(b)))
	}
	if !isMountPoint(dockerHostSandbox()) {
		return fmt.Errorf("dockerd did not mount its host-network sandbox on %s", dockerHostSandbox())
	}
	return nil
}

// checkHostSandbox reports a host-network sandbox that lost its namespace
// (an empty file where dockerd expects a mount).
func checkHostSandbox() error {
	p := dockerHostSandbox()
	if _, err := os.Stat(p); err != nil || isMountPoint(p) {
		return nil
	}
	return fmt.Errorf("%s is no longer a network namespace (it was mounted while a shared-mount layer covered %s): "+
		"dockerd cannot start host-network containers until it is restarted", p, filepath.Dir(p))
}
