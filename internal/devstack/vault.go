package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/stackctl/stackctl/internal/outdir"
)

// Vault runs as a real server, not in dev mode: dev mode prints its root
// token and unseal key in the log and takes the root token on the command
// line. Storage is in memory (the dev stack starts from nothing each
// time); dev up initialises it through the API with a single key share,
// keeps the root token and the unseal key in the secrets dir and unseals.

func (st *State) vaultConfigPath() string { return filepath.Join(st.Dir, "vault", "vault.hcl") }

func (st *State) writeVaultConfig() error {
	conf := fmt.Sprintf(`# Written by stackctl dev up: in-memory storage, loopback only.
storage "inmem" {}

listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}

api_addr      = %q
cluster_addr  = "http://127.0.0.1:%d"
disable_mlock = true
ui            = false
log_level     = "info"
`, st.Ports.Vault, st.Ports.Vault+1, st.VaultAddr(), st.Ports.Vault+1)
	return outdir.WriteFile(st.vaultConfigPath(), []byte(conf), 0o600)
}

func (st *State) startVault() error {
	if err := st.writeVaultConfig(); err != nil {
		return err
	}
	return st.startAgent("vault", []string{"server", "-config=" + st.vaultConfigPath()}, agentEnv())
}

func (st *State) vaultClient(token string) (*vault.Client, error) {
	c := vault.DefaultConfig()
	c.Address = st.VaultAddr()
	c.MaxRetries = 0
	vc, err := vault.NewClient(c)
	if err != nil {
		return nil, err
	}
	vc.SetToken(token)
	return vc, nil
}

// VaultClient returns an API client for the stack's Vault with the root
// token.
func (st *State) VaultClient() (*vault.Client, error) {
	tok, err := st.readSecret(vaultRootToken)
	if err != nil {
		return nil, err
	}
	return st.vaultClient(tok)
}

// initVault waits for the server to listen, initialises and unseals it,
// and mounts KV v2 at secret/.
func (st *State) initVault(ctx context.Context) error {
	vc, err := st.vaultClient("")
	if err != nil {
		return err
	}
	if err := waitFor(ctx, 30*time.Second, "vault", func() error {
		if err := st.alive("vault"); err != nil {
			return err
		}
		_, err := vc.Sys().InitStatusWithContext(ctx)
		return err
	}); err != nil {
		return err
	}
	init, err := vc.Sys().InitWithContext(ctx, &vault.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return fmt.Errorf("vault operator init: %w", err)
	}
	if len(init.Keys) != 1 {
		return fmt.Errorf("vault operator init returned %d keys, want 1", len(init.Keys))
	}
	if err := st.writeSecret(vaultUnsealKey, init.Keys[0]); err != nil {
		return err
	}
	if err := st.writeSecret(vaultRootToken, init.RootToken); err != nil {
		return err
	}
	if _, err := vc.Sys().UnsealWithContext(ctx, init.Keys[0]); err != nil {
		return fmt.Errorf("vault operator unseal: %w", err)
	}
	vc.SetToken(init.RootToken)
	if err := waitFor(ctx, 30*time.Second, "vault", func() error {
		h, err := vc.Sys().HealthWithContext(ctx)
		if err != nil {
			return err
		}
		if h.Sealed || h.Standby {
			return fmt.Errorf("sealed=%v standby=%v", h.Sealed, h.Standby)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := vc.Sys().MountWithContext(ctx, "secret", &vault.MountInput{
		Type: "kv", Description: "application secrets (stackctl secrets put)", Options: map[string]string{"version": "2"},
	}); err != nil {
		return fmt.Errorf("vault: mount KV v2 at secret/: %w", err)
	}
	return waitFor(ctx, 30*time.Second, "vault", func() error { return vaultReady(ctx, vc) })
}

func vaultReady(ctx context.Context, vc *vault.Client) error {
	h, err := vc.Sys().HealthWithContext(ctx)
	if err != nil {
		return err
	}
	if !h.Initialized || h.Sealed {
		return fmt.Errorf("initialized=%v sealed=%v", h.Initialized, h.Sealed)
	}
	mounts, err := vc.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return err
	}
	m, ok := mounts["secret/"]
	if !ok || m.Type != "kv" || m.Options["version"] != "2" {
		return errors.New("KV v2 is not mounted at secret/")
	}
	// KV v2 refuses writes until it has upgraded its (empty) storage.
	if _, err := vc.Logical().ReadWithContext(ctx, "secret/config"); err != nil {
		return fmt.Errorf("KV v2 at secret/: %w", err)
	}
	return nil
}

// configureVault writes every policy in dir (name = file name without
// .hcl), the nomad-cluster token role Nomad 1.6 derives task tokens from
// (limited to stackctl-* policies), a periodic orphan token for Nomad and
// the deployer's token. It returns Nomad's token.
func (st *State) configureVault(ctx context.Context, dir string) (string, error) {
	vc, err := st.VaultClient()
	if err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		if err := vc.Sys().PutPolicyWithContext(ctx, name, string(b)); err != nil {
			return "", fmt.Errorf("vault policy %s: %w", f, err)
		}
	}
	// A job may ask only for the policies stackctl writes per service:
	// never the platform's own, whatever its `vault` block says.
	if _, err := vc.Logical().WriteWithContext(ctx, "auth/token/roles/nomad-cluster", map[string]any{
		"allowed_policies_glob":  "stackctl-*",
		"disallowed_policies":    "nomad-server,deployer,root",
		"token_explicit_max_ttl": 0,
		"orphan":                 true,
		"token_period":           "72h",
		"renewable":              true,
	}); err != nil {
		return "", fmt.Errorf("vault token role nomad-cluster: %w", err)
	}
	nomadTok, err := vc.Auth().Token().CreateOrphanWithContext(ctx, &vault.TokenCreateRequest{
		Policies:    []string{"nomad-server"},
		Period:      "72h",
		DisplayName: "nomad-server",
	})
	if err != nil {
		return "", fmt.Errorf("vault token for nomad: %w", err)
	}
	deployer, err := vc.Auth().Token().CreateOrphanWithContext(ctx, &vault.TokenCreateRequest{
		Policies:        []string{"deployer"},
		Period:          "72h",
		DisplayName:     "stackctl-deployer",
		NoDefaultPolicy: true,
	})
	if err != nil {
		return "", fmt.Errorf("vault token for the deployer: %w", err)
	}
	if err := st.writeSecret(deployerVaultToken, deployer.Auth.ClientToken); err != nil {
		return "", err
	}
	return nomadTok.Auth.ClientToken, nil
}
