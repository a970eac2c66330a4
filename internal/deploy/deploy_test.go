package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
	"github.com/stackctl/stackctl/internal/spec"
)

// shop compiles the examples with vars, recording their configuration.
func shop(t *testing.T, vars ...string) (*compile.Bundle, *Config) {
	t.Helper()
	var args []spec.VarArg
	for _, v := range vars {
		args = append(args, spec.VarArg{Value: v})
	}
	p := spec.NewParser(spec.OSFS{})
	paths := []string{"../../jobs"}
	st, diags := p.Load(paths, spec.LoadOptions{Vars: args})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	cfg, err := NewConfig(p, paths, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	return compile.Compile(st), cfg
}

// withSecrets is an empty cluster holding the examples' secrets.
func withSecrets() *clustertest.Cluster {
	fake := clustertest.New()
	fake.Edit(func(s *clustertest.State) {
		s.Secrets["secret/shop/api"] = &clustertest.Secret{Versions: []map[string]any{{"signing_key": "k"}}}
		s.Secrets["secret/shop/kv"] = &clustertest.Secret{Versions: []map[string]any{{"password": "p"}}}
	})
	return fake
}

func quiet(rollout.Event) {}

func TestTamperedPlansWriteNothing(t *testing.T) {
	ctx := context.Background()
	b, cfg := shop(t, "nomad_version=1.8")
	fake := withSecrets()
	p, err := MakePlan(ctx, fake.API(), PlanOptions{Bundle: b, Services: []string{"api", "web"}, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shop.plan")
	if err := Save(path, b, p); err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(original, &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		out, _ := json.Marshal(doc)
		return out
	}
	services := func(doc map[string]any) []any { return doc["services"].([]any) }
	service := func(doc map[string]any, i int) map[string]any { return services(doc)[i].(map[string]any) }
	for name, tc := range map[string]struct {
		file []byte
		want string
	}{
		"policy": {edit(func(d map[string]any) {
			s := service(d, 0)
			s["vault_policy"] = strings.Replace(s["vault_policy"].(string), `["read"]`, `["read", "list"]`, 1)
		}), `the Vault policy of "api" differs`},
		"policy to another path": {edit(func(d map[string]any) {
			s := service(d, 0)
			s["vault_policy"] = strings.Replace(s["vault_policy"].(string), "shop/api", "billing/*", 1)
		}), `the Vault policy of "api" differs`},
		"role": {edit(func(d map[string]any) {
			service(d, 0)["vault_role"].(map[string]any)["token_policies"] = []any{"root"}
		}), `the Vault JWT role of "api" differs`},
		"job": {edit(func(d map[string]any) {
			job := service(d, 1)["job"].(map[string]any)["Job"].(map[string]any)
			job["Meta"].(map[string]any)["extra"] = "x"
		}), `the job of "web" differs`},
		"intentions": {edit(func(d map[string]any) {
			for _, e := range d["intentions"].([]any) {
				entry := e.(map[string]any)["entry"].(map[string]any)
				entry["Sources"] = append(entry["Sources"].([]any), map[string]any{"Name": "*", "Action": "allow", "Type": "consul"})
			}
		}), `the intentions of "api" differ`},
		"service added": {edit(func(d map[string]any) {
			extra := map[string]any{}
			for k, v := range service(d, 1) {
				extra[k] = v
			}
			extra["name"] = "orders"
			d["services"] = append(services(d), extra)
		}), `the plan's services (api, web, orders) are not the ones it selected (api, web)`},
		"service removed": {edit(func(d map[string]any) {
			d["services"] = services(d)[:1]
		}), `the plan's services (api) are not the ones it selected (api, web)`},
		"unknown service": {edit(func(d map[string]any) {
			service(d, 1)["name"] = "evil"
		}), `service "evil" is not in its descriptors`},
		"descriptor": {edit(func(d map[string]any) {
			src := d["configuration"].(map[string]any)["sources"].(map[string]any)
			src["../../jobs/web.hcl"] = strings.Replace(src["../../jobs/web.hcl"].(string), `LOG_LEVEL    = "info"`, `LOG_LEVEL    = "debug"`, 1)
		}), `the job of "web" differs`},
		"descriptor made invalid": {edit(func(d map[string]any) {
			src := d["configuration"].(map[string]any)["sources"].(map[string]any)
			src["../../jobs/web.hcl"] = `service "web" {}`
		}), `its descriptors are not valid: ../../jobs/web.hcl:1:`},
		"variable": {edit(func(d map[string]any) {
			d["configuration"].(map[string]any)["vars"] = []any{map[string]any{"value": "nomad_version=1.6"}}
		}), `the Vault JWT role of "api" differs`},
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "tampered.plan")
			if err := os.WriteFile(file, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			sp, err := LoadSaved(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Deploy(ctx, fake.API(), Options{Saved: sp, Timeout: time.Second, Report: quiet})
			var tampered *TamperedError
			if !errors.As(err, &tampered) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a TamperedError with %q", err, tc.want)
			}
			fake.Edit(func(s *clustertest.State) {
				if len(s.Jobs)+len(s.Intentions)+len(s.Policies)+len(s.Roles) > 0 {
					t.Errorf("something was written: %d jobs, %d intentions, %d policies, %d roles", len(s.Jobs), len(s.Intentions), len(s.Policies), len(s.Roles))
				}
			})
		})
	}
	// The plan as saved applies.
	sp, err := LoadSaved(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Deploy(ctx, fake.API(), Options{Saved: sp, Timeout: time.Second, Report: quiet}); err != nil {
		t.Fatalf("untouched plan: %v", err)
	}
}

func TestRoleMatchesEveryField(t *testing.T) {
	b, _ := shop(t, "nomad_version=1.8")
	r := b.Service("api").VaultRole
	// What Vault returns for the role stackctl wrote: lists in its own
	// order, the period in seconds, fields stackctl does not set.
	vaultForm := func() map[string]any {
		return map[string]any{
			"role_type": "jwt", "bound_audiences": []any{"vault.io"},
			"bound_claims":   map[string]any{"nomad_job_id": "api", "nomad_namespace": "default"},
			"claim_mappings": map[string]any{"nomad_job_id": "nomad_job_id", "nomad_namespace": "nomad_namespace", "nomad_task": "nomad_task"},
			"user_claim":     "/nomad_job_id", "user_claim_json_pointer": true, "token_type": "service",
			"token_policies": []any{"stackctl-api"}, "token_period": json.Number("1800"), "token_ttl": json.Number("0"),
		}
	}
	if !roleMatches(vaultForm(), r) {
		t.Fatal("the role as Vault returns it does not match")
	}
	for field, v := range map[string]any{
		"claim_mappings":          map[string]any{"nomad_job_id": "nomad_job_id"},
		"bound_audiences":         []any{"other"},
		"token_period":            json.Number("3600"),
		"token_type":              "batch",
		"user_claim_json_pointer": false,
		"token_policies":          []any{"stackctl-api", "admin"},
		"bound_claims":            map[string]any{"nomad_job_id": "api"},
		"role_type":               "oidc",
		"user_claim":              "sub",
	} {
		data := vaultForm()
		data[field] = v
		if roleMatches(data, r) {
			t.Errorf("a change of %s plans as no change", field)
		}
	}
}

func TestPreservedCountIsClamped(t *testing.T) {
	ctx := context.Background()
	fake := withSecrets()
	cl := fake.API()
	wide, _ := shop(t)
	web := wide.Service("web").Job.TaskGroups[0]
	web.Scaling.Max = ptr(int64(6))
	if _, err := Deploy(ctx, cl, Options{Bundle: wide, Services: []string{"web"}, Timeout: time.Second, Report: quiet}); err != nil {
		t.Fatal(err)
	}
	// The autoscaler went to 5; the descriptor now says max 3.
	fake.Edit(func(s *clustertest.State) {
		j := s.Jobs["default/web"]
		*j.Versions[len(j.Versions)-1].TaskGroups[0].Count = 5
	})
	narrow, _ := shop(t)
	p, err := MakePlan(ctx, cl, PlanOptions{Bundle: narrow, Services: []string{"web"}})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	s := p.Services[0]
	if got := *s.Job.TaskGroups[0].Count; got != 3 || s.PreserveCounts || len(s.Notes) != 1 {
		t.Fatalf("count %d, preserve %v, notes %q", got, s.PreserveCounts, s.Notes)
	}
	if _, err := Deploy(ctx, cl, Options{Bundle: narrow, Services: []string{"web"}, Timeout: time.Second, Report: quiet}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	// Within the bounds the autoscaler's count is kept as before.
	fake.Edit(func(s *clustertest.State) {
		j := s.Jobs["default/web"]
		*j.Versions[len(j.Versions)-1].TaskGroups[0].Count = 2
	})
	p, err = MakePlan(ctx, cl, PlanOptions{Bundle: narrow, Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Services[0]; *s.Job.TaskGroups[0].Count != 2 || !s.PreserveCounts || s.JobChange != NoChange {
		t.Errorf("count %d, preserve %v, change %s", *s.Job.TaskGroups[0].Count, s.PreserveCounts, s.JobChange)
	}
}

func TestLockKeysCarryEachNamespace(t *testing.T) {
	ctx := context.Background()
	fake := withSecrets()
	b, _ := shop(t)
	// Two services of the bundle in different namespaces: each lock is in
	// its own (a deploy used to take the last service's for all).
	b.Service("web").Job.Namespace = ptr("team-b")
	b.Service("kv").Job.Namespace = ptr("team-a")
	fake.Edit(func(s *clustertest.State) {
		s.Faults = append(s.Faults, &clustertest.Fault{Op: "consul.lock", Name: "stackctl/deploy-locks/team-b/web", Status: 500, Message: "boom"})
	})
	_, err := Deploy(ctx, fake.API(), Options{Bundle: b, Services: []string{"kv", "web"}, Timeout: time.Second, Report: quiet})
	if err == nil || !strings.Contains(err.Error(), "take Consul deploy lock stackctl/deploy-locks/team-b/web") {
		t.Fatalf("got %v", err)
	}
	release, err := Lock(ctx, fake.API(), []Lockable{{"team-a", "kv"}, {"team-c", "web"}})
	if err != nil {
		t.Fatal(err)
	}
	fake.Edit(func(s *clustertest.State) {
		if s.Locks["stackctl/deploy-locks/team-a/kv"] == "" || s.Locks["stackctl/deploy-locks/team-c/web"] == "" {
			t.Errorf("locks held: %v", s.Locks)
		}
	})
	release()
	fake.Edit(func(s *clustertest.State) {
		if len(s.Locks) != 0 {
			t.Errorf("locks left after release: %v", s.Locks)
		}
	})
}

func TestJobChange(t *testing.T) {
	stopped := &nomad.Job{Stop: ptr(true)}
	if got := jobChange(&nomad.JobDiff{Type: "None"}, stopped); got != Update {
		t.Errorf("a stopped job must be started: %s", got)
	}
	if got := jobChange(&nomad.JobDiff{Type: "Added"}, nil); got != Create {
		t.Errorf("new job: %s", got)
	}
}
func TestPlanChanges(t *testing.T) {
	p := &Plan{Services: []*ServicePlan{
		{Name: "a", JobChange: NoChange, PolicyChange: NoChange, RoleChange: NoChange, Intentions: &IntentionsPlan{Change: NoChange}},
	}}
	if p.HasChanges() {
		t.Fatal("unchanged plan reports changes")
	}
	p.Services[0].Intentions.Change = Update
	if !p.HasChanges() || p.Services[0].Changes() != 1 {
		t.Fatal("intention change not counted")
	}
	p.Services[0].Secrets = []secrets.Check{{Env: "A", KeyExists: true}, {Env: "B", PathExists: true}}
	if m := p.Services[0].MissingSecrets(); len(m) != 1 || m[0].Env != "B" {
		t.Fatalf("missing secrets: %+v", m)
	}
}

func TestSpecChanged(t *testing.T) {
	lagging := &nomad.JobDiff{Type: "Edited", TaskGroups: []*nomad.TaskGroupDiff{{
		Type: "Edited", Name: "api", Updates: map[string]uint64{"in-place update": 1},
		Tasks: []*nomad.TaskDiff{{Type: "None", Name: "api"}},
	}}}
	if specChanged(lagging) {
		t.Error("allocation updates alone counted as a spec change")
	}
	env := &nomad.JobDiff{Type: "Edited", TaskGroups: []*nomad.TaskGroupDiff{{
		Type: "Edited", Name: "api",
		Tasks: []*nomad.TaskDiff{{Type: "Edited", Name: "api", Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "Env[A]", Old: "1", New: "2"}}}},
	}}}
	if !specChanged(env) {
		t.Error("an env change not seen")
	}
	nested := &nomad.JobDiff{Type: "Edited", TaskGroups: []*nomad.TaskGroupDiff{{
		Type: "Edited", Objects: []*nomad.ObjectDiff{{Type: "Edited", Name: "Update", Objects: []*nomad.ObjectDiff{{Type: "Added", Name: "X"}}}},
	}}}
	if !specChanged(nested) {
		t.Error("a nested object change not seen")
	}
}
