package rollback

import (
	"context"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/cluster/clustertest"
	"github.com/stackctl/stackctl/internal/compile"
)

// noVersions answers an empty version list, which Nomad may for a job
// purged in the meantime.
type noVersions struct{ cluster.Nomad }

func (noVersions) Versions(context.Context, string, string) ([]*nomad.Job, error) { return nil, nil }

func TestNoVersionsIsAnError(t *testing.T) {
	api := clustertest.New().API()
	cl := cluster.Guard(&cluster.Cluster{Nomad: noVersions{api.Nomad}, Consul: api.Consul, Vault: api.Vault})
	_, err := Rollback(context.Background(), cl, Options{Namespace: "default", Stack: "shop", Service: "api"})
	if err == nil || !strings.Contains(err.Error(), `service "api": no job of that name in namespace default`) {
		t.Fatalf("got %v", err)
	}
}

func TestChoose(t *testing.T) {
	v := func(n uint64, stable bool) *nomad.Job { return &nomad.Job{Version: &n, Stable: &stable} }
	versions := []*nomad.Job{v(3, false), v(2, false), v(1, true), v(0, true)}
	if got, err := choose(Options{Service: "api"}, versions, 3); err != nil || got != 1 {
		t.Errorf("newest earlier stable: %d %v", got, err)
	}
	two := uint64(2)
	if got, err := choose(Options{Service: "api", Version: &two}, versions, 3); err != nil || got != 2 {
		t.Errorf("given version: %d %v", got, err)
	}
	three := uint64(3)
	if _, err := choose(Options{Service: "api", Version: &three}, versions, 3); err == nil {
		t.Error("the current version accepted")
	}
	if _, err := choose(Options{Service: "api"}, versions[:1], 3); err == nil || !strings.Contains(err.Error(), "no earlier stable version") {
		t.Errorf("one version: %v", err)
	}
}

// TestRefusesAnotherStacksJob: rollback acts only on its own stack's
// jobs; the job stays at its version.
func TestRefusesAnotherStacksJob(t *testing.T) {
	fake := clustertest.New()
	job := func() *nomad.Job {
		id, ns := "api", "default"
		return &nomad.Job{ID: &id, Name: &id, Namespace: &ns,
			Meta: map[string]string{compile.MetaManagedBy: compile.ManagedBy, compile.MetaStack: "billing"}}
	}
	fake.Edit(func(*clustertest.State) { fake.Register(job()); fake.Register(job()) })
	_, err := Rollback(context.Background(), fake.API(), Options{Namespace: "default", Stack: "shop", Service: "api"})
	want := `job "api" in namespace default belongs to stack "billing" (meta stackctl-stack), not to stack "shop"; refusing to roll it back: run stackctl rollback with --stack at stack "billing"'s descriptors`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if _, err := Rollback(context.Background(), fake.API(), Options{Namespace: "default", Stack: "billing", Service: "api"}); err != nil {
		t.Fatalf("its own stack: %v", err)
	}
}
