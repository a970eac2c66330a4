package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
)

// planPolicy compares the service's Vault policy with the one in Vault,
// refusing one that is not the service's. It returns the owner recorded in
// Vault's copy (the role's stack comes from it).
func planPolicy(ctx context.Context, cl *cluster.Cluster, svc *compile.Service, sp *ServicePlan) (compile.Owner, error) {
	sp.PolicyChange = NoChange
	if svc.VaultPolicy == nil {
		return compile.Owner{}, nil
	}
	sp.Policy = svc.VaultPolicy
	sp.PolicyText = string(render.PolicyHCL(svc.VaultPolicy, svc.Name))
	existing, err := cl.Vault.Policy(ctx, svc.VaultPolicy.Name)
	switch {
	case err != nil:
		return compile.Owner{}, err
	case existing == "":
		sp.PolicyChange = Create
		return sp.Owner, nil
	}
	owner, err := claimPolicy(svc.VaultPolicy.Name, existing, sp.Owner)
	if err != nil {
		return owner, err
	}
	if strings.TrimSpace(existing) != strings.TrimSpace(sp.PolicyText) {
		sp.PolicyChange = Update
	}
	return owner, nil
}

// planRole compares the service's JWT role with the one in Vault.
func planRole(ctx context.Context, cl *cluster.Cluster, svc *compile.Service, sp *ServicePlan, policyOwner compile.Owner) error {
	sp.RoleChange = NoChange
	r := svc.VaultRole
	if r == nil {
		return nil
	}
	sp.Role = r
	data, err := cl.Vault.Role(ctx, r.AuthPath, r.Name)
	switch {
	case err != nil:
		return fmt.Errorf("%w (is the %q auth method enabled?)", err, r.AuthPath)
	case data == nil:
		sp.RoleChange = Create
		return nil
	}
	if err := claimRole(r.AuthPath, r.Name, data, policyOwner, sp.Owner); err != nil {
		return err
	}
	if !roleMatches(data, r) {
		sp.RoleChange = Update
	}
	return nil
}

// roleMatches compares every field stackctl writes with what Vault
// returns, in Vault's forms: lists and maps of strings, booleans, and
// durations as seconds.
func roleMatches(data map[string]any, r *compile.VaultRole) bool {
	want, err := roleBody(r)
	if err != nil {
		return false
	}
	for k, w := range want {
		if normalize(k, w) != normalize(k, data[k]) {
			return false
		}
	}
	return true
}

// roleBody is the role's payload as Vault's API takes it.
func roleBody(r *compile.VaultRole) (map[string]any, error) {
	b, err := json.Marshal(r.Body)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// normalize writes a role field in one canonical string form: lists
// sorted (Vault keeps sets such as audiences in its own order), maps by
// key, durations in seconds.
func normalize(key string, v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case []any:
		var items []string
		for _, i := range t {
			items = append(items, fmt.Sprint(i))
		}
		slices.Sort(items)
		return "[" + strings.Join(items, ",") + "]"
	case map[string]any:
		var items []string
		for k, i := range t {
			items = append(items, k+"="+fmt.Sprint(i))
		}
		slices.Sort(items)
		return "{" + strings.Join(items, ",") + "}"
	case string:
		if strings.HasSuffix(key, "_period") || strings.HasSuffix(key, "_ttl") {
			if d, err := time.ParseDuration(t); err == nil {
				return fmt.Sprint(int64(d.Seconds()))
			}
		}
	}
	return fmt.Sprint(v)
}
