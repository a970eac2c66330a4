package cluster

import (
	"context"
	"errors"
	"fmt"
)

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

// Needs says which components a command uses.
type Needs struct{ Vault bool }

// Preflight checks that Nomad and Consul have a leader and, when needed,
// that Vault is unsealed and the token valid. Every check runs; the error
// joins every problem, each an UnreachableError or a refusal.
func Preflight(ctx context.Context, c *Cluster, needs Needs) error {
	var errs []error
	reason := func(err error) string {
		var e *Error
		if errors.As(err, &e) && e.Status != 0 {
			return fmt.Sprintf("%d %s", e.Status, e.Message)
		}
		return Short(errors.Unwrap(err))
	}
	if err := c.Nomad.Leader(ctx); err != nil {
		errs = append(errs, &UnreachableError{"Nomad", c.Nomad.Addr(), reason(err), "set NOMAD_ADDR (and NOMAD_TOKEN) or start the cluster (stackctl dev up)"})
	}
	if leader, err := c.Consul.Leader(ctx); err != nil {
		errs = append(errs, &UnreachableError{"Consul", c.Consul.Addr(), reason(err), "set CONSUL_HTTP_ADDR (and CONSUL_HTTP_TOKEN)"})
	} else if leader == "" {
		errs = append(errs, &UnreachableError{"Consul", c.Consul.Addr(), "no leader elected", "wait for the Consul servers to form a quorum"})
	}
	if needs.Vault {
		if err := vaultReady(ctx, c.Vault, reason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func vaultReady(ctx context.Context, v Vault, reason func(error) string) error {
	h, err := v.Health(ctx)
	switch {
	case err != nil:
		return &UnreachableError{"Vault", v.Addr(), reason(err), "set VAULT_ADDR (and VAULT_TOKEN)"}
	case h.Sealed:
		return &UnreachableError{"Vault", v.Addr(), "sealed", "unseal it (vault operator unseal) and retry"}
	case !h.Initialized:
		return &UnreachableError{"Vault", v.Addr(), "not initialized", ""}
	case !v.HasToken():
		return &UnreachableError{"Vault", v.Addr(), "no token", "set VAULT_TOKEN (eval \"$(stackctl dev env)\" for the dev stack)"}
	}
	if err := v.LookupSelf(ctx); err != nil {
		hint := "check VAULT_TOKEN"
		if IsForbidden(err) {
			// Vault answers 403 to an expired or revoked token too.
			hint += "; a valid token needs " + TokenLookup.Needs + " (" + PolicyFiles["Vault"] + ")"
		}
		return &UnreachableError{"Vault", v.Addr(), "token rejected: " + reason(err), hint}
	}
	return nil
}
