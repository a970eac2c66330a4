package devstack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stackctl/stackctl/internal/outdir"
)

// State is what `dev up` records in <state dir>/stack.json: enough for
// `down` to stop exactly what was started, and for `status`, `env` and
// `logs` to find it.
type State struct {
	Dir       string            `json:"-"`
	StartedAt time.Time         `json:"started_at"`
	ReadyIn   string            `json:"ready_in,omitempty"` // empty until every component is ready
	Iface     string            `json:"iface"`
	BindAddr  string            `json:"bind_addr"`
	Ports     Ports             `json:"ports"`
	Bins      map[string]string `json:"bins"`
	Procs     map[string]Proc   `json:"procs"` // consul, vault, nomad
	// Dockerd is set when this stack started the Docker engine itself.
	Dockerd *Proc `json:"dockerd,omitempty"`
	// CreatedBridge is set when Nomad's CNI bridge did not exist before up.
	CreatedBridge bool `json:"created_bridge"`
	// Isolation is set once the firewall rules between allocations are in
	// place (isolation.go); down removes them.
	Isolation   bool   `json:"isolation"`
	NomadNodeID string `json:"nomad_node_id,omitempty"`
}

const stateFile = "stack.json"

// ErrNoStack says the state directory records no stack.
var ErrNoStack = errors.New("no dev stack recorded")

// LoadState reads the stack recorded in dir.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (start one with `stackctl dev up`)", ErrNoStack, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	s.Dir = dir
	if s.Procs == nil {
		s.Procs = map[string]Proc{}
	}
	return &s, nil
}

func (s *State) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return outdir.WriteFile(filepath.Join(s.Dir, stateFile), append(b, '\n'), 0o600)
}

// Running lists the recorded agent processes that are still alive.
func (s *State) Running() []string {
	var names []string
	for _, name := range sortedKeys(s.Procs) {
		if s.Procs[name].Alive() {
			names = append(names, name)
		}
	}
	return names
}

// Addresses of the APIs, as a client on this machine reaches them.
func (s *State) NomadAddr() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.NomadHTTP) }
func (s *State) ConsulAddr() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.ConsulHTTP) }
func (s *State) VaultAddr() string  { return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.Vault) }

// SidecarConsulAddr is Consul's HTTP API as the Connect sidecars reach it
// from inside an allocation: the bridge's gateway (isolation.go).
func (s *State) SidecarConsulAddr() string {
	return fmt.Sprintf("%s:%d", bridgeGateway, s.Ports.ConsulHTTP)
}
func (s *State) PublicURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.Public) }
func (s *State) InternalURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.Internal)
}
func (s *State) AutoscalerURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", s.Ports.Autoscaler)
}

func (s *State) logPath(name string) string { return filepath.Join(s.Dir, "logs", name+".log") }

// nomadDataDir is Nomad's data dir. It is kept short, outside the state
// dir: Nomad creates unix sockets (the Consul gRPC/HTTP proxies) inside each
// allocation's directory, and a socket path may not exceed 108 bytes.
func (s *State) nomadDataDir() string { return NomadDataDir(s.Dir) }

// NomadDataDir derives Nomad's data dir from the state dir: one per state
// dir, so two stacks never share it.
func NomadDataDir(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return filepath.Join(os.TempDir(), "stackctl-"+hex.EncodeToString(sum[:4]))
}
