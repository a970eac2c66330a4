package cluster

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// RolloutReader is what following a rollout reads beyond the deployment
// itself: its allocations as they change (the failure inspector in
// internal/rollout), and the end of a crashed task's log.
type RolloutReader interface {
	// WatchDeploymentAllocations blocks until the deployment's
	// allocations change past index (or a few seconds pass) and returns
	// them with the new index.
	WatchDeploymentAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error)
	// TaskLogTail returns at most max bytes from the end of a task's
	// stream ("stdout" or "stderr") in an allocation.
	TaskLogTail(ctx context.Context, ns, allocID, task, stream string, max int64) ([]byte, error)
}

// TaskLogsRead reads the end of a task's log. The deployer's Nomad policy
// grants read-logs so that deploy can show why a task crashed.
var TaskLogsRead = nomadOp("alloc.logs-tail", "read the logs of allocation {name} in namespace {ns}", "read-logs")

func init() { Operations = append(Operations, TaskLogsRead) }

func (l *liveNomad) WatchDeploymentAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	a, m, err := l.c.Deployments().Allocations(id, blocking(ctx, ns, index))
	if err != nil {
		return nil, index, err
	}
	return a, m.LastIndex, nil
}

// TaskLogTail asks the servers for the plain log (they forward to the
// node), so the deployer needs no node:read to find the client's address
// as the api package's AllocFS would.
func (l *liveNomad) TaskLogTail(ctx context.Context, ns, allocID, task, stream string, max int64) ([]byte, error) {
	q := nq(ctx, ns)
	q.Params = map[string]string{
		"task": task, "type": stream, "origin": "end", "offset": strconv.FormatInt(max, 10),
		"plain": "true", "follow": "false",
	}
	r, err := l.c.Raw().Response("/v1/client/fs/logs/"+url.PathEscape(allocID), q)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, max))
}

func (g guardNomad) WatchDeploymentAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	a, i, err := g.n.WatchDeploymentAllocations(ctx, ns, id, index)
	return a, i, g.fail(DeploymentAllocs, ns, ShortID(id), err)
}

func (g guardNomad) TaskLogTail(ctx context.Context, ns, allocID, task, stream string, max int64) ([]byte, error) {
	b, err := g.n.TaskLogTail(ctx, ns, allocID, task, stream, max)
	return b, g.fail(TaskLogsRead, ns, ShortID(allocID), err)
}

// DiagnosticTimeout bounds each read that explains a failure. Such reads
// get a context of their own: the watch's may have just expired, which is
// often why there is something to explain.
const DiagnosticTimeout = 10 * time.Second

// Diagnostic returns a context for explaining a failure: it keeps ctx's
// values but not its deadline or cancellation, and ends after
// DiagnosticTimeout.
func Diagnostic(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), DiagnosticTimeout)
}
