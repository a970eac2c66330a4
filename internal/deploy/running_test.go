package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster/clustertest"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
)

func job(version uint64, count int, image string) *nomad.Job {
	id, ns := "web", "default"
	return &nomad.Job{ID: &id, Namespace: &ns, Version: &version, JobModifyIndex: ptr(uint64(10 + version)), Stable: ptr(version%2 == 0),
		SubmitTime: ptr(int64(version)), Status: ptr("running"),
		TaskGroups: []*nomad.TaskGroup{{Name: &id, Count: &count, Scaling: &nomad.ScalingPolicy{Min: ptr(int64(1)), Max: ptr(int64(5)), ModifyIndex: 10 + version},
			Tasks: []*nomad.Task{{Name: "web", Config: map[string]any{"image": image}}}}}}
}

func TestCountsOnly(t *testing.T) {
	c, ok := countsOnly(job(1, 1, "demo:1"), job(2, 3, "demo:1"))
	if !ok || c.Group != "web" || c.From != 1 || c.To != 3 {
		t.Errorf("a count change: %+v %v", c, ok)
	}
	if c, ok := countsOnly(job(1, 1, "demo:1"), job(2, 3, "demo:2")); ok {
		t.Errorf("a count and an image change is a release: %+v", c)
	}
	if c, ok := countsOnly(job(1, 1, "demo:1"), job(2, 1, "demo:1")); ok {
		t.Errorf("no count change: %+v", c)
	}
}

// deployedWeb is the examples deployed on the fake.
func deployedWeb(t *testing.T) *clustertest.Cluster {
	t.Helper()
	b, _ := shop(t)
	fake := withSecrets()
	if _, err := Deploy(context.Background(), fake.API(), Options{Bundle: b, Timeout: time.Minute, Report: quiet}); err != nil {
		t.Fatal(err)
	}
	return fake
}

// assess plans web with image and assesses its latest deployment.
func assess(t *testing.T, fake *clustertest.Cluster, image string, force bool) (*Running, error) {
	t.Helper()
	b, _ := shop(t, "image="+image)
	p, err := MakePlan(context.Background(), fake.API(), PlanOptions{Bundle: b, Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := Assess(context.Background(), fake.API(), p, force)
	if len(runs) == 0 {
		return nil, err
	}
	return runs[0], err
}

func TestAssess(t *testing.T) {
	ctx := context.Background()
	t.Run("nothing running", func(t *testing.T) {
		fake := deployedWeb(t)
		if r, err := assess(t, fake, "demo:2", false); r != nil || err != nil {
			t.Errorf("%+v %v", r, err)
		}
	})
	t.Run("the autoscaler's deployment is waited for", func(t *testing.T) {
		fake := deployedWeb(t)
		if err := fake.ScaleWithDeployment("default", "web", 3, clustertest.ByAutoscaler, 100); err != nil {
			t.Fatal(err)
		}
		r, err := assess(t, fake, "demo:2", false)
		if err != nil || r.Disposition != WaitScale || r.Scaling.String() != "count 1 -> 3, by nomad-autoscaler" {
			t.Fatalf("%+v %v", r, err)
		}
		r, err = assess(t, fake, "demo:2", true)
		if err != nil || r.Disposition != Supersede {
			t.Errorf("with --force: %+v %v", r, err)
		}
	})
	t.Run("stackctl scale and nomad job scale are named", func(t *testing.T) {
		for by, want := range map[string]string{clustertest.ByStackctl: "stackctl scale", clustertest.ByCLI: "the scaling API (nomad job scale)"} {
			fake := deployedWeb(t)
			if err := fake.ScaleWithDeployment("default", "web", 2, by, 100); err != nil {
				t.Fatal(err)
			}
			if r, err := assess(t, fake, "demo:2", false); err != nil || r.Scaling == nil || r.Scaling.By != want {
				t.Errorf("%s: %+v %v", by, r, err)
			}
		}
	})
	t.Run("our own version's rollout is followed", func(t *testing.T) {
		fake := deployedWeb(t)
		fake.Edit(func(s *clustertest.State) { s.Slow["web"] = 100 })
		b, _ := shop(t, "image=demo:2")
		if _, err := Deploy(ctx, fake.API(), Options{Bundle: b, Services: []string{"web"}, Detach: true, Timeout: time.Minute, Report: quiet}); err != nil {
			t.Fatal(err)
		}
		r, err := assess(t, fake, "demo:2", false)
		if err != nil || r.Disposition != Follow || r.Deployment == nil || r.JobVersion != 1 {
			t.Fatalf("same version: %+v %v", r, err)
		}
		// Another version while it runs: someone's release, refused.
		_, err = assess(t, fake, "demo:3", false)
		var busy *BusyError
		if !errors.As(err, &busy) || !strings.Contains(err.Error(), "is still running") {
			t.Errorf("another version: %v", err)
		}
	})
	t.Run("a rollout that cannot succeed is superseded", func(t *testing.T) {
		fake := deployedWeb(t)
		fake.Edit(func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Panic })
		b, _ := shop(t, "image=demo:2")
		if _, err := Deploy(ctx, fake.API(), Options{Bundle: b, Services: []string{"web"}, Detach: true, Timeout: time.Minute, Report: quiet}); err != nil {
			t.Fatal(err)
		}
		if r, err := assess(t, fake, "demo:3", false); err != nil || r.Disposition != Supersede {
			t.Errorf("%+v %v", r, err)
		}
	})
	t.Run("the failed rollout of the current version is followed (and explained)", func(t *testing.T) {
		b, _ := shop(t)
		fake := withSecrets()
		fake.Edit(func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Crash })
		_, err := Deploy(ctx, fake.API(), Options{Bundle: b, Services: []string{"web"}, Timeout: time.Minute, Report: quiet})
		var failed *rollout.FailedError
		if !errors.As(err, &failed) {
			t.Fatalf("first deploy: %v", err)
		}
		r, err := assess(t, fake, "stackctl-demo:1.0.0", false)
		if err != nil || r.Disposition != Follow || r.Deployment == nil || r.Deployment.Status != "failed" {
			t.Errorf("%+v %v", r, err)
		}
	})
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	fake := deployedWeb(t)
	cl := fake.API()
	if _, err := cl.Nomad.Scale(ctx, "default", "api", "api", 3, "scaled by stackctl"); err != nil {
		t.Fatal(err)
	}
	b, _ := shop(t)
	ref, err := secrets.Find(b, "kv", "KV_PASSWORD")
	if err != nil {
		t.Fatal(err)
	}
	const canary = "canary-value-never-in-a-job"
	if _, err := secrets.Put(ctx, cl, ref, canary); err != nil {
		t.Fatal(err)
	}
	rots, err := Rotate(ctx, cl, RotateOptions{Bundle: b, Secret: ref, Timeout: time.Minute, Report: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var rolled []string
	for _, r := range rots {
		if r.Note == "" {
			rolled = append(rolled, r.Service)
		}
	}
	if strings.Join(rolled, ",") != "kv,orders" {
		t.Errorf("rolled %v, want exactly the readers kv and orders", rolled)
	}
	versions, err := secrets.Versions(ctx, cl, "secret", b.Service("orders").Secrets)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "api", "orders", "kv"} {
		j, err := cl.Nomad.Job(ctx, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(j)
		if strings.Contains(string(raw), canary) {
			t.Errorf("%s's job holds the value", name)
		}
		stamp, has := j.Meta[secrets.MetaKey]
		switch name {
		case "orders", "kv":
			if stamp != secrets.Stamp(versions) {
				t.Errorf("%s: stamp %q, want %q", name, stamp, secrets.Stamp(versions))
			}
		default:
			if has {
				t.Errorf("%s does not read the secret but was stamped", name)
			}
		}
		if name == "api" && *j.TaskGroups[0].Count != 3 {
			t.Errorf("api's count %d, want the 3 it was scaled to", *j.TaskGroups[0].Count)
		}
	}
	// Rolling again without a new version changes nothing.
	rots, err = Rotate(ctx, cl, RotateOptions{Bundle: b, Secret: ref, Timeout: time.Minute, Report: quiet})
	if err != nil || rots[0].Note == "" || !strings.Contains(rots[0].Note, "already started with version 2 of shop/kv") {
		t.Errorf("second roll: %v %+v", err, rots[0])
	}
	// A deploy afterwards plans no change for the stamp, and keeps it.
	p, err := MakePlan(ctx, cl, PlanOptions{Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Selected() {
		if s.JobChange != NoChange {
			t.Errorf("%s: %s planned after a rotation", s.Name, s.JobChange)
		}
	}
	b2, _ := shop(t, "image=demo:2")
	if _, err := Deploy(ctx, cl, Options{Bundle: b2, Services: []string{"orders"}, Timeout: time.Minute, Report: quiet}); err != nil {
		t.Fatal(err)
	}
	j, _ := cl.Nomad.Job(ctx, "default", "orders")
	if j.Meta[secrets.MetaKey] != secrets.Stamp(versions) {
		t.Errorf("a deploy with a change dropped the stamp: %v", j.Meta)
	}
}

func TestStamp(t *testing.T) {
	a := secrets.Stamp(map[string]int{"shop/kv": 2, "shop/api": 7})
	if a != secrets.Stamp(map[string]int{"shop/api": 7, "shop/kv": 2}) || len(a) != 12 {
		t.Errorf("not a stable 12-digit stamp: %q", a)
	}
	if a == secrets.Stamp(map[string]int{"shop/kv": 3, "shop/api": 7}) {
		t.Error("a new version does not change the stamp")
	}
}
