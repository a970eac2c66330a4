package rollout

import (
	"context"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// WaitCount follows a count change (stackctl scale): it polls until the
// group has n healthy, running instances, each one in the mesh when the job
// uses Connect (mesh.go), and no deployment of the job is still running, so
// that a deploy right after is not refused as busy. progress gets a line
// each time the state changes. When ctx ends first it returns ctx's error
// with the last mesh status, whose Waiting lines say what was missing.
func WaitCount(ctx context.Context, cl *cluster.Cluster, job *nomad.Job, group string, n int, progress func(string)) (MeshStatus, error) {
	name, ns := *job.ID, *job.Namespace
	var mesh MeshStatus
	last := ""
	for {
		s, err := cl.Nomad.ScaleStatus(ctx, ns, name)
		if err != nil {
			if ctx.Err() != nil {
				return mesh, ctx.Err()
			}
			return mesh, err
		}
		tg := s.TaskGroups[group]
		line := fmt.Sprintf("%s: %d/%d healthy, %d running", name, tg.Healthy, n, tg.Running)
		done := tg.Healthy == n && tg.Running == n
		if done && UsesConnect(job) {
			if mesh, err = MeshInstances(ctx, cl, ns, name, group, name); err != nil {
				if ctx.Err() != nil {
					return mesh, ctx.Err()
				}
				return mesh, err
			}
			line += ", " + mesh.String()
			done = mesh.Done()
		}
		if line != last {
			progress(line)
			last = line
		}
		if done {
			d, err := cl.Nomad.LatestDeployment(ctx, ns, name)
			if err == nil && (d == nil || d.Status != "running") {
				return mesh, nil
			}
		}
		if err := sleep(ctx, time.Second); err != nil {
			return mesh, err
		}
	}
}
