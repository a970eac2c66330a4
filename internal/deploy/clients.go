package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// Clients reach the three control planes. Addresses, tokens and TLS come
// from the standard variables (NOMAD_ADDR/NOMAD_TOKEN, CONSUL_HTTP_ADDR/
// CONSUL_HTTP_TOKEN, VAULT_ADDR/VAULT_TOKEN and their TLS companions).
type Clients struct {
	Nomad  *nomad.Client
	Consul *consul.Client
	Vault  *vault.Client

	NomadAddr, ConsulAddr, VaultAddr string
	// ConsulToken is presented to Nomad with every job registration: a
	// cluster with consul.allow_unauthenticated = false registers a job's
	// services only for a submitter whose token may write them.
	ConsulToken string
}

// NewClients builds clients from the environment without contacting
// anything.
func NewClients() (*Clients, error) {
	nc := nomad.DefaultConfig()
	n, err := nomad.NewClient(nc)
	if err != nil {
		return nil, fmt.Errorf("nomad client (%s): %w", nc.Address, err)
	}
	cc := consul.DefaultConfig()
	c, err := consul.NewClient(cc)
	if err != nil {
		return nil, fmt.Errorf("consul client (%s): %w", cc.Address, err)
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault client: %w", vc.Error)
	}
	v, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault client (%s): %w", vc.Address, err)
	}
	consulAddr := cc.Address
	if !strings.Contains(consulAddr, "://") {
		consulAddr = cc.Scheme + "://" + consulAddr
	}
	return &Clients{Nomad: n, Consul: c, Vault: v, NomadAddr: nc.Address, ConsulAddr: consulAddr, VaultAddr: vc.Address, ConsulToken: cc.Token}, nil
}

// UnreachableError names the component that cannot be used and why, so
// the user knows which variable or agent to fix before anything is written.
type UnreachableError struct {
	Component, Addr, Reason, Hint string
}

func (e *UnreachableError) Error() string {
	msg := fmt.Sprintf("%s at %s: %s", e.Component, e.Addr, e.Reason)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Preflight checks that Nomad and Consul have a leader and, when needed,
// that Vault is unsealed and the token is valid. All checks run; every
// problem is reported.
func (c *Clients) Preflight(ctx context.Context, needVault bool) error {
	var errs []error
	if _, err := c.Nomad.Status().Leader(); err != nil {
		errs = append(errs, &UnreachableError{"Nomad", c.NomadAddr, short(err), "set NOMAD_ADDR (and NOMAD_TOKEN) or start the cluster (stackctl dev up)"})
	}
	if leader, err := c.Consul.Status().Leader(); err != nil {
		errs = append(errs, &UnreachableError{"Consul", c.ConsulAddr, short(err), "set CONSUL_HTTP_ADDR (and CONSUL_HTTP_TOKEN)"})
	} else if leader == "" {
		errs = append(errs, &UnreachableError{"Consul", c.ConsulAddr, "no leader elected", "wait for the Consul servers to form a quorum"})
	}
	if needVault {
		h, err := c.Vault.Sys().HealthWithContext(ctx)
		switch {
		case err != nil:
			errs = append(errs, &UnreachableError{"Vault", c.VaultAddr, short(err), "set VAULT_ADDR (and VAULT_TOKEN)"})
		case h.Sealed:
			errs = append(errs, &UnreachableError{"Vault", c.VaultAddr, "sealed", "unseal it (vault operator unseal) and retry"})
		case !h.Initialized:
			errs = append(errs, &UnreachableError{"Vault", c.VaultAddr, "not initialized", ""})
		default:
			if c.Vault.Token() == "" {
				errs = append(errs, &UnreachableError{"Vault", c.VaultAddr, "no token", "set VAULT_TOKEN (eval \"$(stackctl dev env)\" for the dev stack)"})
			} else if _, err := c.Vault.Auth().Token().LookupSelfWithContext(ctx); err != nil {
				errs = append(errs, &UnreachableError{"Vault", c.VaultAddr, "token rejected: " + short(err), "check VAULT_TOKEN"})
			}
		}
	}
	return errors.Join(errs...)
}

// short reduces transport errors to their cause ("connection refused").
func short(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// pollInterval is how often the watcher asks Nomad for progress when a
// blocking query returns early.
const pollInterval = time.Second
