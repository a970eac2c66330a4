//go:build manual

package devstack

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestManualCore(t *testing.T) {
	ctx := context.Background()
	dir := "/tmp/manualstack"
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o700)
	st := &State{Dir: dir, StartedAt: time.Now(), Ports: DefaultPorts(), Procs: map[string]Proc{}, Bins: map[string]string{}}
	st.Iface, st.BindAddr, _ = HostAddr()
	home, _ := os.UserHomeDir()
	for _, a := range []string{"consul", "vault", "nomad"} {
		p, _ := filepath.Glob(filepath.Join(home, ".cache/stackctl/agents", a, "*", a))
		st.Bins[a] = p[0]
	}
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	for n, p := range st.Bins {
		os.Symlink(p, filepath.Join(dir, "bin", n))
	}
	for _, d := range []string{"logs", "consul", "vault", "nomad"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	os.RemoveAll(st.nomadDataDir())
	var err error
	if st.CreatedBridge, err = ensureBridge(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ensureIsolation(ctx); err != nil {
		t.Fatal(err)
	}
	st.Isolation = true
	must := func(err error) {
		t.Helper()
		if err != nil {
			st.save()
			t.Fatal(err)
		}
	}
	must(st.startConsul())
	must(st.startVault())
	must(st.save())
	must(st.waitConsul(ctx))
	toks, err := st.configureConsul(ctx, "/work/main/policies/consul")
	must(err)
	must(st.initVault(ctx))
	vt, err := st.configureVault(ctx, "/work/main/policies/vault")
	must(err)
	must(st.startNomad(toks.Nomad, vt))
	must(st.save())
	must(st.bootstrapNomadACL(ctx))
	must(st.waitNomad(ctx))
	must(st.configureNomad(ctx, "/work/main/policies/nomad"))
	must(st.save())
	t.Log("core up")
}
