package clustertest

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

type fakeVault struct{ c *Cluster }

func (f fakeVault) Addr() string { return VaultAddr }

func (f fakeVault) HasToken() bool {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	return !f.c.s.NoToken
}

func (f fakeVault) Health(ctx context.Context) (*vault.HealthResponse, error) {
	return call(ctx, f.c, "vault", cluster.VaultHealth, "", func() (*vault.HealthResponse, error) {
		return &vault.HealthResponse{Initialized: true, Sealed: f.c.s.Sealed}, nil
	})
}

func (f fakeVault) LookupSelf(ctx context.Context) error {
	return do(ctx, f.c, "vault", cluster.TokenLookup, "", func() {})
}

func (f fakeVault) Policy(ctx context.Context, name string) (string, error) {
	return call(ctx, f.c, "vault", cluster.PolicyRead, name, func() (string, error) {
		return f.c.s.Policies[name], nil
	})
}

func (f fakeVault) WritePolicy(ctx context.Context, name, text string) error {
	return do(ctx, f.c, "vault", cluster.PolicyWrite, name, func() {
		f.c.s.Policies[name] = text
	})
}

func (f fakeVault) DeletePolicy(ctx context.Context, name string) error {
	return do(ctx, f.c, "vault", cluster.PolicyDelete, name, func() {
		delete(f.c.s.Policies, name)
	})
}

func (f fakeVault) Role(ctx context.Context, mount, name string) (map[string]any, error) {
	return call(ctx, f.c, "vault", cluster.RoleRead, name, func() (map[string]any, error) {
		r, ok := f.c.s.Roles[mount+"/"+name]
		if !ok {
			return nil, nil
		}
		return clone(r), nil
	})
}

// WriteRole stores the role the way Vault returns it: durations in
// seconds.
func (f fakeVault) WriteRole(ctx context.Context, mount, name string, body map[string]any) error {
	return do(ctx, f.c, "vault", cluster.RoleWrite, name, func() {
		r := clone(body)
		for k, v := range r {
			if s, ok := v.(string); ok && (strings.HasSuffix(k, "_period") || strings.HasSuffix(k, "_ttl")) {
				if d, err := time.ParseDuration(s); err == nil {
					r[k] = int64(d.Seconds())
				}
			}
		}
		f.c.s.Roles[mount+"/"+name] = r
	})
}

func (f fakeVault) DeleteRole(ctx context.Context, mount, name string) error {
	return do(ctx, f.c, "vault", cluster.RoleDelete, name, func() {
		delete(f.c.s.Roles, mount+"/"+name)
	})
}

func (f fakeVault) secret(mount, path string) (*Secret, error) {
	s, ok := f.c.s.Secrets[mount+"/"+path]
	if !ok || len(s.Versions) == 0 {
		return nil, fmt.Errorf("%w: at %s/data/%s", vault.ErrSecretNotFound, mount, path)
	}
	return s, nil
}

func created(version int) time.Time {
	return time.Date(2026, 1, 1, 0, 0, version, 0, time.UTC)
}

func (f fakeVault) SecretMetadata(ctx context.Context, mount, path string) (*vault.KVMetadata, error) {
	return call(ctx, f.c, "vault", cluster.SecretMetadataRead, path, func() (*vault.KVMetadata, error) {
		s, err := f.secret(mount, path)
		if err != nil {
			return nil, err
		}
		m := &vault.KVMetadata{CurrentVersion: len(s.Versions), Versions: map[string]vault.KVVersionMetadata{}}
		for i := range s.Versions {
			m.Versions[fmt.Sprint(i+1)] = vault.KVVersionMetadata{Version: i + 1, CreatedTime: created(i + 1)}
		}
		return m, nil
	})
}

func kvSecret(s *Secret) *vault.KVSecret {
	v := len(s.Versions)
	return &vault.KVSecret{Data: clone(s.Versions[v-1]), VersionMetadata: &vault.KVVersionMetadata{Version: v, CreatedTime: created(v)}}
}

func (f fakeVault) Secret(ctx context.Context, mount, path string) (*vault.KVSecret, error) {
	return call(ctx, f.c, "vault", cluster.SecretRead, path, func() (*vault.KVSecret, error) {
		s, err := f.secret(mount, path)
		if err != nil {
			return nil, err
		}
		return kvSecret(s), nil
	})
}

func (f fakeVault) PutSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	return call(ctx, f.c, "vault", cluster.SecretCreate, path, func() (*vault.KVSecret, error) {
		s, ok := f.c.s.Secrets[mount+"/"+path]
		if !ok {
			s = &Secret{}
			f.c.s.Secrets[mount+"/"+path] = s
		}
		s.Versions = append(s.Versions, clone(data))
		return kvSecret(s), nil
	})
}

func (f fakeVault) PatchSecret(ctx context.Context, mount, path string, data map[string]any) (*vault.KVSecret, error) {
	return call(ctx, f.c, "vault", cluster.SecretPatch, path, func() (*vault.KVSecret, error) {
		s, err := f.secret(mount, path)
		if err != nil {
			return nil, err
		}
		merged := maps.Clone(s.Versions[len(s.Versions)-1])
		maps.Copy(merged, data)
		s.Versions = append(s.Versions, merged)
		return kvSecret(s), nil
	})
}
