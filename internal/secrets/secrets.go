// Package secrets manages the Vault KV v2 secrets a service reads: whether
// each is set (what plan and list report), storing a value, and reading
// one back. Values come in only through Put and leave only through Get;
// nothing here logs or prints them.
package secrets

import (
	"context"
	"fmt"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// Check reports whether a secret a service reads is set. It never holds
// the value.
type Check struct {
	Env, Path, Key string
	PathExists     bool
	KeyExists      bool
	Unverified     bool // the token may not read values: only the path was checked
	Version        int  // the current version, when the path exists
	Err            string
}

// CheckSet finds out whether a secret is set without reading it into
// anything printed: the path through KV v2 metadata (what the deployer's
// policy allows), the key through the data only when the token may read it.
func CheckSet(ctx context.Context, cl *cluster.Cluster, mount string, s compile.SecretRef) Check {
	c := Check{Env: s.Env, Path: s.Path, Key: s.Key}
	meta, err := cl.Vault.SecretMetadata(ctx, mount, s.Path)
	switch {
	case cluster.IsNotFound(err):
		return c
	case err != nil:
		c.Err = err.Error()
		return c
	}
	if cur, ok := meta.Versions[fmt.Sprint(meta.CurrentVersion)]; ok && (!cur.DeletionTime.IsZero() || cur.Destroyed) {
		return c // the current version was deleted: reading it fails
	}
	c.PathExists, c.Version = true, meta.CurrentVersion
	sec, err := cl.Vault.Secret(ctx, mount, s.Path)
	switch {
	case err == nil:
		_, c.KeyExists = sec.Data[s.Key]
	case cluster.IsForbidden(err):
		// The deployer may not read values; the key is checked at run
		// time by the template (error_on_missing_key).
		c.KeyExists = true
		c.Unverified = true
	default:
		c.Err = err.Error()
	}
	return c
}

// Ref is one secret of one service, where it lives in Vault.
type Ref struct {
	Service string
	Mount   string
	compile.SecretRef
}

// Location is the secret's path under its mount, for people.
func (r Ref) Location() string { return r.Mount + "/" + r.Path }

// UnknownError means the service or secret asked for is not declared.
type UnknownError struct{ msg string }

func (e *UnknownError) Error() string { return e.msg }

// Refs lists a service's secrets from the compiled stack.
func Refs(b *compile.Bundle, service string) ([]Ref, error) {
	svc := b.Service(service)
	if svc == nil {
		return nil, &UnknownError{fmt.Sprintf("no service %q in the stack (have: %s)", service, strings.Join(b.Names(), ", "))}
	}
	var out []Ref
	for _, s := range svc.Secrets {
		out = append(out, Ref{Service: service, Mount: b.Settings.VaultMount, SecretRef: s})
	}
	return out, nil
}

// Find returns the service's secret read into env.
func Find(b *compile.Bundle, service, env string) (Ref, error) {
	refs, err := Refs(b, service)
	if err != nil {
		return Ref{}, err
	}
	var names []string
	for _, r := range refs {
		if r.Env == env {
			return r, nil
		}
		names = append(names, r.Env)
	}
	if len(names) == 0 {
		return Ref{}, &UnknownError{fmt.Sprintf("service %s declares no secret block", service)}
	}
	return Ref{}, &UnknownError{fmt.Sprintf("service %s has no secret %q (it has: %s)", service, env, strings.Join(names, ", "))}
}

// ValueError means a value cannot be stored as given.
type ValueError struct{ msg string }

func (e *ValueError) Error() string { return e.msg }

// CheckValue refuses values the task could not read: empty ones, and ones
// whose env-file line is longer than Nomad's parser reads.
func CheckValue(r Ref, value string) error {
	if value == "" {
		return &ValueError{fmt.Sprintf("the value is empty; pipe it in, e.g. stackctl secrets put %s %s < file", r.Service, r.Env)}
	}
	if n := compile.SecretLine(r.Env, value); n > compile.MaxSecretLine {
		return &ValueError{fmt.Sprintf("the value is too long: %s's env-file line would be %d bytes, and Nomad reads lines of at most %d (its env-file parser's 64 KiB buffer); the task would fail to start. Store large values in a file the app reads instead",
			r.Env, n, compile.MaxSecretLine)}
	}
	return nil
}

// Put stores value under the secret's key, keeping the path's other keys,
// and returns the new version.
func Put(ctx context.Context, cl *cluster.Cluster, r Ref, value string) (int, error) {
	if err := CheckValue(r, value); err != nil {
		return 0, err
	}
	// A new path is created; an existing one is patched, which keeps the
	// other keys without reading them (the deployer may not read values).
	_, err := cl.Vault.SecretMetadata(ctx, r.Mount, r.Path)
	data := map[string]any{r.Key: value}
	var sec *vault.KVSecret
	switch {
	case cluster.IsNotFound(err):
		sec, err = cl.Vault.PutSecret(ctx, r.Mount, r.Path, data)
	case err == nil:
		sec, err = cl.Vault.PatchSecret(ctx, r.Mount, r.Path, data)
	}
	if err != nil {
		return 0, err
	}
	if sec == nil || sec.VersionMetadata == nil {
		return 0, nil
	}
	return sec.VersionMetadata.Version, nil
}

// Value is a secret read back.
type Value struct {
	Value   string
	Version int
	Created time.Time
}

// Get reads a secret's value and version.
func Get(ctx context.Context, cl *cluster.Cluster, r Ref) (*Value, error) {
	sec, err := cl.Vault.Secret(ctx, r.Mount, r.Path)
	if err != nil {
		return nil, err
	}
	v, ok := sec.Data[r.Key]
	if !ok {
		return nil, fmt.Errorf("%s has no key %s; set it with stackctl secrets put %s %s", r.Location(), r.Key, r.Service, r.Env)
	}
	out := &Value{Value: fmt.Sprint(v)}
	if sec.VersionMetadata != nil {
		out.Version, out.Created = sec.VersionMetadata.Version, sec.VersionMetadata.CreatedTime
	}
	return out, nil
}

// List checks every secret of a service.
func List(ctx context.Context, cl *cluster.Cluster, refs []Ref) []Check {
	var out []Check
	for _, r := range refs {
		out = append(out, CheckSet(ctx, cl, r.Mount, r.SecretRef))
	}
	return out
}
