package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/stackctl/stackctl/internal/outdir"
)

// Consul runs in dev mode (one in-memory server) with ACLs on and
// everything denied by default, including to the anonymous token. Its HTTP
// API listens on loopback, for the node's own agents, and on the bridge's
// gateway, for the Connect sidecars inside allocations; nothing listens on
// the LAN. Tokens: the management token (in the 0600 config file and the
// secrets dir), the agent's own, Nomad's, and the deployer's.

func (st *State) consulConfigPath() string { return filepath.Join(st.Dir, "consul", "consul.hcl") }

func (st *State) writeConsulConfig(managementToken string) error {
	p := st.Ports
	conf := fmt.Sprintf(`# Written by stackctl dev up; dev mode: in-memory, single server.
# Holds the management token: mode 0600.
bind_addr = "127.0.0.1"
addresses {
  # Loopback for the node's agents and CLIs; the bridge gateway for the
  # Connect sidecars, which run inside the allocations' network namespaces.
  http = "127.0.0.1 %s"
  dns  = "127.0.0.1"
  grpc = "127.0.0.1"
}
log_level = "INFO"
ui_config {
  enabled = false
}
connect {
  enabled = true
}
acl {
  enabled                  = true
  default_policy           = "deny"
  tokens {
    initial_management = %q
  }
}
ports {
  http     = %d
  grpc     = %d
  grpc_tls = %d
  server   = %d
  serf_lan = %d
  serf_wan = -1
  dns      = %d
}
`, bridgeGateway, managementToken, p.ConsulHTTP, p.ConsulGRPC, p.ConsulGRPCTLS, p.ConsulServer, p.ConsulSerfLAN, p.ConsulDNS)
	return outdir.WriteFile(st.consulConfigPath(), []byte(conf), 0o600)
}

// startConsul writes the config with a fresh management token and starts
// the agent.
func (st *State) startConsul() error {
	token, err := newUUID()
	if err != nil {
		return err
	}
	if err := st.writeSecret(consulManagementToken, token); err != nil {
		return err
	}
	if err := st.writeConsulConfig(token); err != nil {
		return err
	}
	return st.startAgent("consul", []string{"agent", "-dev", "-config-file=" + st.consulConfigPath()}, nil)
}

// ConsulClient returns an API client for the stack's Consul with the
// management token.
func (st *State) ConsulClient() (*consul.Client, error) {
	tok, err := st.readSecret(consulManagementToken)
	if err != nil {
		return nil, err
	}
	c := consul.DefaultNonPooledConfig()
	c.Address = st.ConsulAddr()
	c.Token = tok
	return consul.NewClient(c)
}

func (st *State) waitConsul(ctx context.Context) error {
	c, err := st.ConsulClient()
	if err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, "consul", func() error {
		if err := st.alive("consul"); err != nil {
			return err
		}
		return consulReady(c)
	})
}

func consulReady(c *consul.Client) error {
	leader, err := c.Status().Leader()
	if err != nil {
		return err
	}
	if leader == "" {
		return errors.New("no leader")
	}
	roots, _, err := c.Connect().CARoots(nil)
	if err != nil {
		return err
	}
	if roots.ActiveRootID == "" || len(roots.Roots) == 0 {
		return errors.New("Connect CA has no active root")
	}
	// The ACL system answers once the management token is in place.
	if _, _, err := c.ACL().TokenReadSelf(nil); err != nil {
		return fmt.Errorf("ACL system: %w", err)
	}
	return nil
}

// consulTokens are the Consul identities dev up mints from the policies in
// policies/consul/: the agent's own, Nomad's, and the deployer's.
type consulTokens struct {
	Agent, Nomad, Deployer string
}

// configureConsul writes the ACL policies, mints the tokens, gives the
// agent its token and makes the mesh default-deny.
func (st *State) configureConsul(ctx context.Context, policyDir string) (consulTokens, error) {
	var toks consulTokens
	c, err := st.ConsulClient()
	if err != nil {
		return toks, err
	}
	wo := (&consul.WriteOptions{}).WithContext(ctx)
	mint := func(policy, description string) (string, error) {
		rules, err := os.ReadFile(filepath.Join(policyDir, policy+".hcl"))
		if err != nil {
			return "", err
		}
		p, _, err := c.ACL().PolicyCreate(&consul.ACLPolicy{Name: policy, Description: "stackctl dev stack: " + description, Rules: string(rules)}, wo)
		if err != nil {
			return "", fmt.Errorf("consul policy %s: %w", policy, err)
		}
		t, _, err := c.ACL().TokenCreate(&consul.ACLToken{Description: description, Policies: []*consul.ACLTokenPolicyLink{{ID: p.ID}}}, wo)
		if err != nil {
			return "", fmt.Errorf("consul token %s: %w", policy, err)
		}
		return t.SecretID, nil
	}
	if toks.Agent, err = mint("consul-agent", "the Consul agent's own token"); err != nil {
		return toks, err
	}
	if _, err := c.Agent().UpdateAgentACLToken(toks.Agent, wo); err != nil {
		return toks, fmt.Errorf("consul agent token: %w", err)
	}
	if toks.Nomad, err = mint("nomad-agent", "Nomad servers and clients"); err != nil {
		return toks, err
	}
	if toks.Deployer, err = mint("deployer", "stackctl deployer"); err != nil {
		return toks, err
	}
	if err := st.writeSecret(deployerConsulToken, toks.Deployer); err != nil {
		return toks, err
	}
	return toks, st.consulConfigWrite(ctx, filepath.Join(policyDir, "default-deny.hcl"))
}

// consulConfigWrite applies a config entry file exactly as an operator
// would, with `consul config write` (the token through the environment).
func (st *State) consulConfigWrite(ctx context.Context, file string) error {
	tok, err := st.readSecret(consulManagementToken)
	if err != nil {
		return err
	}
	cmd := execAgentCLI(ctx, st.Bins["consul"], "config", "write", "-http-addr="+st.ConsulAddr(), file)
	cmd.Env = append(cmd.Env, "CONSUL_HTTP_TOKEN="+tok)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("consul config write %s: %v: %s", file, err, strings.TrimSpace(string(b)))
	}
	return nil
}
