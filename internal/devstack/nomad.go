package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/stackctl/stackctl/internal/outdir"
)

// Nomad runs as one server and client (no dev flags) with ACLs on: the
// anonymous policy is empty, so an unauthenticated request reads and
// writes nothing. Its APIs listen on loopback only; allocations get their
// ports on the node's interface. It registers services in Consul with its
// own token but refuses a job whose submitter's Consul token may not write
// the job's services (consul.allow_unauthenticated = false).

// PlatformNamespace holds Traefik and the autoscaler, out of the
// deployer's reach.
const PlatformNamespace = "platform"

// DeployerNamespace is where the deployer's token may submit jobs (the
// example stack's namespace).
const DeployerNamespace = "default"

// Namespaces are the stack's Nomad namespaces and the task drivers each
// admits, checked by Nomad when a job is submitted. A deployer's jobs may
// use the docker driver only: raw_exec and exec would run its code on the
// node as root or outside any image. Only the operator's platform jobs
// (Traefik and the autoscaler, raw_exec processes of the pinned binaries)
// keep raw_exec. What a docker task may ask of the engine is limited by the
// docker plugin's settings and the engine's authorization plugin
// (docker_authz.go).
func Namespaces() []*nomad.Namespace {
	return []*nomad.Namespace{
		{
			Name:         DeployerNamespace,
			Description:  "deployers' jobs: containers only",
			Capabilities: &nomad.NamespaceCapabilities{EnabledTaskDrivers: []string{"docker"}},
		},
		{
			Name:         PlatformNamespace,
			Description:  "the platform's jobs: Traefik, the Nomad Autoscaler",
			Capabilities: &nomad.NamespaceCapabilities{EnabledTaskDrivers: []string{"docker", "raw_exec"}},
		},
	}
}

func (st *State) nomadConfigPath() string { return filepath.Join(st.Dir, "nomad", "nomad.hcl") }

func (st *State) writeNomadConfig(consulToken, vaultToken string) error {
	p := st.Ports
	conf := fmt.Sprintf(`# Written by stackctl dev up (nomad agent -config=this file).
# Holds Nomad's Consul and Vault tokens: mode 0600.
data_dir  = %q
bind_addr = "127.0.0.1"
log_level = "INFO"

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

ports {
  http = %d
  rpc  = %d
  serf = %d
}

acl {
  enabled = true
}

server {
  enabled          = true
  bootstrap_expect = 1
}

client {
  enabled           = true
  # Allocations' ports (the Connect sidecars' mTLS listeners) are
  # published on this interface.
  network_interface     = %q
  cni_path              = %q
  bridge_network_name   = %q
  bridge_network_subnet = %q
}

plugin "raw_exec" {
  config {
    enabled = true
  }
}

plugin "docker" {
  config {
    # No registry is reachable: the pause container is built locally.
    infra_image = %q
    # Images are built locally and cannot be pulled back once removed.
    gc {
      image = false
    }
    extra_labels = ["job_name", "task_group_name", "task_name", "node_name"]
    # No bind mounts of host paths and no privileged containers.
    volumes {
      enabled = false
    }
    allow_privileged = false
  }
}

consul {
  address               = "127.0.0.1:%d"
  grpc_address          = "127.0.0.1:%d"
  token                 = %q
  allow_unauthenticated = false
}

# Nomad 1.6 legacy token flow: Nomad derives each task's token from the
# nomad-cluster role (policies/vault/nomad-server.hcl), which hands out
# stackctl-* policies only.
vault {
  enabled          = true
  address          = %q
  token            = %q
  create_from_role = "nomad-cluster"
}

telemetry {
  collection_interval        = "1s"
  publish_allocation_metrics = true
  publish_node_metrics       = true
}
`, st.nomadDataDir(), p.NomadHTTP, p.NomadRPC, p.NomadSerf,
		st.Iface, cniPath, bridgeName, bridgeSubnet, PauseImage.Tag,
		p.ConsulHTTP, p.ConsulGRPC, consulToken, st.VaultAddr(), vaultToken)
	return outdir.WriteFile(st.nomadConfigPath(), []byte(conf), 0o600)
}

func (st *State) startNomad(consulToken, vaultToken string) error {
	if err := st.writeNomadConfig(consulToken, vaultToken); err != nil {
		return err
	}
	env := append(agentEnv(), "PATH="+filepath.Join(st.Dir, "bin")+":"+os.Getenv("PATH"))
	return st.startAgent("nomad", []string{"agent", "-config=" + st.nomadConfigPath()}, env)
}

func (st *State) nomadClient(token string) (*nomad.Client, error) {
	c := nomad.DefaultConfig()
	c.Address = st.NomadAddr()
	c.SecretID = token
	return nomad.NewClient(c)
}

// NomadClient returns an API client for the stack's Nomad with the
// management token.
func (st *State) NomadClient() (*nomad.Client, error) {
	tok, err := st.readSecret(nomadManagementToken)
	if err != nil {
		return nil, err
	}
	return st.nomadClient(tok)
}

// bootstrapNomadACL waits for a leader, then bootstraps the ACL system
// with a management token of our making (kept in the secrets dir).
func (st *State) bootstrapNomadACL(ctx context.Context) error {
	anon, err := st.nomadClient("")
	if err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, "nomad", func() error {
		if err := st.alive("nomad"); err != nil {
			return err
		}
		leader, err := anon.Status().Leader()
		if err == nil && leader == "" {
			err = errors.New("no leader")
		}
		return err
	}); err != nil {
		return err
	}
	token, err := newUUID()
	if err != nil {
		return err
	}
	if err := st.writeSecret(nomadManagementToken, token); err != nil {
		return err
	}
	// Right after the election the ACL system may not take the bootstrap
	// yet ("ACL bootstrap ... not ready"); retry briefly.
	return waitFor(ctx, 30*time.Second, "nomad ACL bootstrap", func() error {
		_, _, err := anon.ACLTokens().BootstrapOpts(token, (&nomad.WriteOptions{}).WithContext(ctx))
		if err != nil && strings.Contains(err.Error(), "ACL bootstrap already done") {
			return permanent(fmt.Errorf("nomad: ACL bootstrap already done by someone else: %w", err))
		}
		return err
	})
}

func (st *State) waitNomad(ctx context.Context) error {
	nc, err := st.NomadClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "nomad", func() error {
		if err := st.alive("nomad"); err != nil {
			return err
		}
		id, err := nomadReady(nc, nativeDrivers)
		st.NomadNodeID = id
		return err
	})
}

// Drivers each stack's Nomad client must have healthy: the native stack
// runs the platform jobs with raw_exec; the Compose stack runs them as
// Compose services, and its Nomad runs containers only.
var (
	nativeDrivers  = []string{"docker", "raw_exec"}
	composeDrivers = []string{"docker"}
)

// nomadReady checks for a leader and a ready node whose drivers are
// healthy, and returns the node's ID.
func nomadReady(nc *nomad.Client, drivers []string) (string, error) {
	leader, err := nc.Status().Leader()
	if err != nil {
		return "", err
	}
	if leader == "" {
		return "", errors.New("no leader")
	}
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil {
		return "", err
	}
	if len(nodes) == 0 {
		return "", errors.New("no client node registered")
	}
	n := nodes[0]
	if n.Status != "ready" {
		return n.ID, fmt.Errorf("node %s is %s", n.Name, n.Status)
	}
	for _, d := range drivers {
		if info, ok := n.Drivers[d]; !ok || !info.Detected || !info.Healthy {
			desc := "not detected"
			if ok {
				desc = info.HealthDescription
			}
			return n.ID, fmt.Errorf("driver %s not healthy: %s", d, desc)
		}
	}
	return n.ID, nil
}

// configureNomad creates the platform namespace, writes the ACL policies
// of policies/nomad/ and mints the deployer's and the autoscaler's tokens.
// The autoscaler's token goes into the Nomad variable its job reads
// (nomad/jobs/nomad-autoscaler): it never appears in the job.
func (st *State) configureNomad(ctx context.Context, policyDir string) error {
	nc, err := st.NomadClient()
	if err != nil {
		return err
	}
	wo := (&nomad.WriteOptions{}).WithContext(ctx)
	for _, ns := range Namespaces() {
		if _, err := nc.Namespaces().Register(ns, wo); err != nil {
			return fmt.Errorf("nomad namespace %s: %w", ns.Name, err)
		}
	}
	mint := func(policy, description string) (string, error) {
		rules, err := os.ReadFile(filepath.Join(policyDir, policy+".hcl"))
		if err != nil {
			return "", err
		}
		if _, err := nc.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: policy, Description: description, Rules: string(rules)}, wo); err != nil {
			return "", fmt.Errorf("nomad policy %s: %w", policy, err)
		}
		t, _, err := nc.ACLTokens().Create(&nomad.ACLToken{Name: description, Type: "client", Policies: []string{policy}}, wo)
		if err != nil {
			return "", fmt.Errorf("nomad token %s: %w", policy, err)
		}
		return t.SecretID, nil
	}
	deployer, err := mint("deployer", "stackctl deployer")
	if err != nil {
		return err
	}
	if err := st.writeSecret(deployerNomadToken, deployer); err != nil {
		return err
	}
	scaler, err := mint("autoscaler", "nomad-autoscaler")
	if err != nil {
		return err
	}
	v := &nomad.Variable{Namespace: PlatformNamespace, Path: "nomad/jobs/nomad-autoscaler", Items: nomad.VariableItems{"token": scaler}}
	if _, _, err := nc.Variables().Create(v, wo); err != nil {
		return fmt.Errorf("nomad variable %s: %w", v.Path, err)
	}
	return nil
}
