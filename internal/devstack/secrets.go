package devstack

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackctl/stackctl/internal/outdir"
)

// The stack's credentials live in one 0700 directory of 0600 files, never
// in an agent's argv, environment or log. The bootstrap (management)
// credentials are the operator's; the deployer's are what stackctl and the
// test suite use (policies/*/deployer.hcl).
const (
	secretsDirName = "secrets"

	consulManagementToken = "consul-management.token"
	nomadManagementToken  = "nomad-management.token"
	vaultRootToken        = "vault-root.token"
	vaultUnsealKey        = "vault-unseal.key"

	deployerNomadToken  = "deployer-nomad.token"
	deployerConsulToken = "deployer-consul.token"
	deployerVaultToken  = "deployer-vault.token"
)

// Credentials are the tokens a client of the stack presents.
type Credentials struct {
	Nomad, Consul, Vault string
}

func (s *State) secretsDir() string { return filepath.Join(s.Dir, secretsDirName) }

// readSecret returns the content of one credential file.
func (s *State) readSecret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(s.secretsDir(), name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is missing from %s: the stack was not fully set up (stackctl dev down && stackctl dev up)", name, s.secretsDir())
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// writeSecret stores one credential, readable by its owner only.
func (s *State) writeSecret(name, value string) error {
	if err := os.MkdirAll(s.secretsDir(), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(s.secretsDir(), 0o700); err != nil {
		return err
	}
	return outdir.WriteFile(filepath.Join(s.secretsDir(), name), []byte(value+"\n"), 0o600)
}

// Admin returns the bootstrap credentials: Nomad's and Consul's management
// tokens and Vault's root token.
func (s *State) Admin() (Credentials, error) {
	return s.credentials(nomadManagementToken, consulManagementToken, vaultRootToken)
}

// Deployer returns the least-privilege credentials stackctl deploys with.
func (s *State) Deployer() (Credentials, error) {
	return s.credentials(deployerNomadToken, deployerConsulToken, deployerVaultToken)
}

func (s *State) credentials(nomadFile, consulFile, vaultFile string) (Credentials, error) {
	var c Credentials
	var errs []error
	for _, f := range []struct {
		name string
		dst  *string
	}{{nomadFile, &c.Nomad}, {consulFile, &c.Consul}, {vaultFile, &c.Vault}} {
		v, err := s.readSecret(f.name)
		if err != nil {
			errs = append(errs, err)
		}
		*f.dst = v
	}
	return c, errors.Join(errs...)
}

// newUUID returns a random (version 4) UUID: Consul and Nomad take tokens
// given by the operator only in that form.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
