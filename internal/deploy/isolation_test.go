package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
	"github.com/stackctl/stackctl/internal/compile"
)

// deployedShop is a fake cluster running the examples.
func deployedShop(t *testing.T) *clustertest.Cluster {
	t.Helper()
	b, _ := shop(t)
	fake := withSecrets()
	if _, err := Deploy(context.Background(), fake.API(), Options{Bundle: b, Timeout: time.Second, Report: quiet}); err != nil {
		t.Fatal(err)
	}
	return fake
}

// webJob is a job registering the Consul service "web" in namespace ns,
// with meta on the job and on the service (nil: none, as a job stackctl
// did not write).
func webJob(ns string, meta map[string]string) *nomad.Job {
	id := "web"
	return &nomad.Job{ID: &id, Name: &id, Namespace: &ns, Meta: meta, TaskGroups: []*nomad.TaskGroup{{
		Name: &id, Count: ptr(1),
		Services: []*nomad.Service{{Name: "web", PortLabel: "8080", Meta: meta}},
	}}}
}

// TestPlanRefusesNamesOthersRegistered: Consul has one service namespace,
// so a "web" registered by a job of another stack or namespace, by a job
// stackctl did not deploy, or by something that is not Nomad at all, is
// refused before anything is written, naming its owner; the stack's own
// instances, with or without its meta, are not.
func TestPlanRefusesNamesOthersRegistered(t *testing.T) {
	billing := compile.IntentionsMeta(compile.Owner{Namespace: "payments", Stack: "billing", Service: "web"})
	billing[compile.MetaManagedBy] = compile.ManagedBy
	for name, tc := range map[string]struct {
		setup func(*clustertest.Cluster)
		want  string
	}{
		"another stack's job in another namespace": {
			func(c *clustertest.Cluster) { c.Register(webJob("payments", billing)) },
			`plan web: service "web" in Consul's catalog belongs to stack "billing" in namespace payments (service meta stackctl-stack, stackctl-namespace of instance _nomad-task-a`,
		},
		"a job stackctl did not deploy": {
			func(c *clustertest.Cluster) { c.Register(webJob("ops", nil)) },
			`plan web: service "web" in Consul's catalog was not created by stackctl (instance _nomad-task-a`,
		},
		"a registration outside Nomad": {
			func(c *clustertest.Cluster) {
				c.RegisterService(&consul.CatalogService{Node: "db1", ServiceID: "web-1", ServiceName: "web"})
			},
			`plan web: service "web" in Consul's catalog was not created by stackctl (instance web-1 on node db1 has no service meta managed-by = stackctl); rename the service or remove it there first`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := shop(t)
			fake := withSecrets()
			fake.Edit(func(*clustertest.State) { tc.setup(fake) })
			_, err := MakePlan(context.Background(), fake.API(), PlanOptions{Bundle: b, Services: []string{"web"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
			if name == "a job stackctl did not deploy" && !strings.Contains(err.Error(), "; Nomad registered it for allocation a") {
				t.Errorf("the allocation is not named: %v", err)
			}
			// Deploying another service would write web's intentions.
			_, err = Deploy(context.Background(), fake.API(), Options{Bundle: b, Services: []string{"api"}, Timeout: time.Second, Report: quiet})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("deploy -s api: got %v\nwant %s", err, tc.want)
			}
			fake.Edit(func(s *clustertest.State) {
				if _, ok := s.Jobs["default/api"]; ok || len(s.Intentions) > 0 {
					t.Errorf("written despite the refusal: jobs %v, intentions %v", len(s.Jobs), len(s.Intentions))
				}
			})
		})
	}
}

// TestPlanKeepsItsOwnInstances: the stack's own instances pass, also when
// they carry no owner meta (registered by an older stackctl): Nomad
// registered them for the allocations of the stack's own job.
func TestPlanKeepsItsOwnInstances(t *testing.T) {
	fake := deployedShop(t)
	b, _ := shop(t)
	if _, err := MakePlan(context.Background(), fake.API(), PlanOptions{Bundle: b}); err != nil {
		t.Fatalf("redeploy planned with its own instances: %v", err)
	}
	fake.Edit(func(s *clustertest.State) {
		for _, j := range s.Jobs {
			for _, v := range j.Versions {
				for _, g := range v.TaskGroups {
					for _, svc := range g.Services {
						svc.Meta = nil
					}
				}
			}
		}
	})
	fake.ResetCalls()
	if _, err := MakePlan(context.Background(), fake.API(), PlanOptions{Bundle: b}); err != nil {
		t.Fatalf("instances without meta: %v", err)
	}
	if !slices.Contains(fake.Calls(), "nomad.job.allocations") {
		t.Errorf("the job's allocations were not read: %v", fake.Calls())
	}
	// Not selected, web's entry is written again: its job is read to
	// know its instances.
	fake.Edit(func(s *clustertest.State) { delete(s.Intentions, "web") })
	p, err := MakePlan(context.Background(), fake.API(), PlanOptions{Bundle: b, Services: []string{"api"}})
	if err != nil {
		t.Fatalf("web's entry planned with its own instances: %v", err)
	}
	if len(p.Services) != 2 || p.Services[1].Name != "web" || p.Services[1].IntentionsChange() != Create {
		t.Errorf("web's entry is not planned: %+v", p.Services)
	}
}

// TestDestroyChangesOnlyItsStack: destroying orders takes it out of its
// own stack's entries only; another stack's entry, and one stackctl did
// not write, still allow it and are reported.
func TestDestroyChangesOnlyItsStack(t *testing.T) {
	fake := deployedShop(t)
	fake.Edit(func(*clustertest.State) {
		fake.PutIntentions(&consul.ServiceIntentionsConfigEntry{Kind: consul.ServiceIntentions, Name: "ledger",
			Meta:    compile.IntentionsMeta(compile.Owner{Namespace: "payments", Stack: "billing", Service: "ledger"}),
			Sources: []*consul.SourceIntention{{Name: "orders", Action: consul.IntentionActionAllow, Type: consul.IntentionSourceConsul}}})
		fake.PutIntentions(&consul.ServiceIntentionsConfigEntry{Kind: consul.ServiceIntentions, Name: "reports",
			Sources: []*consul.SourceIntention{{Name: "orders", Action: consul.IntentionActionAllow, Type: consul.IntentionSourceConsul}}})
	})
	var lines []string
	err := Destroy(context.Background(), fake.API(), DestroyOptions{Namespace: "default", Stack: "shop", Service: "orders",
		Report: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Join(lines, "\n")
	for _, want := range []string{
		"kv: intentions updated (allow api)",
		`ledger: intentions kept: they belong to stack "billing" in namespace payments and still allow orders`,
		"reports: intentions kept: not written by stackctl (no config entry meta managed-by = stackctl), they still allow orders",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	fake.Edit(func(s *clustertest.State) {
		for _, name := range []string{"ledger", "reports"} {
			if e := s.Intentions[name]; e == nil || len(e.Sources) != 1 || e.Sources[0].Name != "orders" {
				t.Errorf("%s changed: %+v", name, e)
			}
		}
		if srcs := SourceNames(s.Intentions["kv"]); !slices.Equal(srcs, []string{"api"}) {
			t.Errorf("kv allows %v", srcs)
		}
	})
}

// TestDestroyRefusesAnotherStacksJob: destroy acting for stack billing
// does not touch shop's api, nor anything of it.
func TestDestroyRefusesAnotherStacksJob(t *testing.T) {
	fake := deployedShop(t)
	err := Destroy(context.Background(), fake.API(), DestroyOptions{Namespace: "default", Stack: "billing", Service: "api",
		Confirm: func() bool { t.Error("asked to confirm"); return true }, Report: func(string) {}})
	want := `job "api" in namespace default belongs to stack "shop" (meta stackctl-stack), not to stack "billing"; refusing to destroy it: run stackctl destroy with --stack at stack "shop"'s descriptors`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	fake.Edit(func(s *clustertest.State) {
		if j := s.Jobs["default/api"]; deref(j.Versions[len(j.Versions)-1].Stop) {
			t.Error("api was stopped")
		}
		if _, ok := s.Policies["stackctl-api"]; !ok || s.Intentions["api"] == nil {
			t.Error("api's policy or intentions were deleted")
		}
	})
}

func TestClaimDeployed(t *testing.T) {
	job := func(meta map[string]string) *nomad.Job {
		return &nomad.Job{ID: ptr("api"), Namespace: ptr("default"), Meta: meta}
	}
	shop := compile.Owner{Namespace: "default", Stack: "shop", Service: "api"}
	for _, tc := range []struct {
		meta map[string]string
		want string
	}{
		{map[string]string{compile.MetaManagedBy: compile.ManagedBy, compile.MetaStack: "shop"}, ""},
		// Written before stacks were recorded: any stack's, as deploy adopts it.
		{map[string]string{compile.MetaManagedBy: compile.ManagedBy}, ""},
		{map[string]string{compile.MetaManagedBy: compile.ManagedBy, compile.MetaStack: "billing"},
			`job "api" in namespace default belongs to stack "billing" (meta stackctl-stack), not to stack "shop"; refusing to scale it: run stackctl scale with --stack at stack "billing"'s descriptors`},
		{nil, `job "api" in namespace default was not deployed by stackctl (no meta managed-by = stackctl); refusing to scale it`},
	} {
		err := ClaimDeployed(job(tc.meta), shop, "scale", "scale it")
		if got := errText(err); got != tc.want {
			t.Errorf("meta %v:\ngot  %s\nwant %s", tc.meta, got, tc.want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
