package secrets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// MetaKey is the job meta recording which KV versions of its secrets a
// service's instances were started with: a short hash of every secret
// path's current version (Stamp), never a value. secrets put changes it
// to roll the instances onto a new value; deploy keeps the cluster's
// value and planning ignores it, so that neither reverts nor re-plans a
// rotation.
const MetaKey = "stackctl-secrets"

// Readers lists the services of the stack that read r's Vault path and
// key, in stack order: a value stored for one service is read by each.
func Readers(b *compile.Bundle, r Ref) []string {
	var out []string
	for _, s := range b.Services {
		for _, sec := range s.Secrets {
			if sec.Path == r.Path && sec.Key == r.Key && b.Settings.VaultMount == r.Mount {
				out = append(out, s.Name)
				break
			}
		}
	}
	return out
}

// Versions reads the current KV version of every path the secrets are
// read from, through metadata (what the deployer may read); a missing
// path is version 0.
func Versions(ctx context.Context, cl *cluster.Cluster, mount string, refs []compile.SecretRef) (map[string]int, error) {
	out := map[string]int{}
	for _, s := range refs {
		if _, done := out[s.Path]; done {
			continue
		}
		meta, err := cl.Vault.SecretMetadata(ctx, mount, s.Path)
		switch {
		case cluster.IsNotFound(err):
			out[s.Path] = 0
		case err != nil:
			return nil, err
		default:
			out[s.Path] = meta.CurrentVersion
		}
	}
	return out, nil
}

// Stamp is MetaKey's value for a set of path versions: 12 hex digits of
// a SHA-256 over "path@version" lines in path order. It changes when any
// path gets a new version, and says nothing about any value.
func Stamp(versions map[string]int) string {
	paths := make([]string, 0, len(versions))
	for p := range versions {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "%s@%d\n", p, versions[p])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])[:12]
}
