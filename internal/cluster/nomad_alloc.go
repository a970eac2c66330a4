package cluster

import (
	"context"
	"io"

	nomad "github.com/hashicorp/nomad/api"
)

// AllocIO reaches into a job's running allocations, for `stackctl logs`
// and `stackctl exec`: it follows the job's allocations as they come and
// go, streams a task's logs, and runs a command in a task. Nomad embeds it.
type AllocIO interface {
	// WatchAllocations is a blocking query on a job's allocations: it
	// answers once Nomad's index for them passes index (at once for 0),
	// or after a few seconds with the same index.
	WatchAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error)
	// Logs streams one of a task's logs. A task that has not started yet
	// is a 404, an unknown task a 400.
	Logs(ctx context.Context, alloc *nomad.AllocationListStub, req LogRequest) (io.ReadCloser, error)
	// Exec runs a command in a task and returns its exit code.
	Exec(ctx context.Context, alloc *nomad.AllocationListStub, req ExecRequest) (int, error)
}

// LogRequest says which log of a task to read, and from where.
type LogRequest struct {
	Task   string
	Stream string // "stdout" or "stderr"
	// Origin "start" counts Offset bytes from the log's beginning, "end"
	// back from its end (Nomad's log API has no line or time positions).
	Origin string
	Offset int64
	// Follow keeps the stream open for what the task writes next, until
	// ctx ends or the stream is closed; without it the stream ends at the
	// log's current end.
	Follow bool
}

// ExecRequest is a command to run in a task, and its standard streams.
type ExecRequest struct {
	Task    string
	Command []string
	TTY     bool // a pseudo-terminal: stdout and stderr arrive merged on Stdout
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Resize carries the local terminal's size, first and on every change
	// (TTY only); nil when there is none.
	Resize <-chan nomad.TerminalSize
}

// The operations of AllocIO (policies/nomad/deployer.hcl grants all three
// in the stack's namespace).
var (
	JobAllocationsWatch = nomadOp("job.allocations.watch", "watch allocations of job {name} in namespace {ns}", "read-job")
	AllocLogs           = nomadOp("alloc.logs", "read logs of {name} in namespace {ns}", "read-logs")
	AllocExec           = nomadOp("alloc.exec", "execute commands in {name} in namespace {ns}", "alloc-exec")
)

// allocTarget names a task of an allocation in messages: "allocation
// 1f2e3d4c (task api)".
func allocTarget(alloc *nomad.AllocationListStub, task string) Target {
	return Target{Namespace: alloc.Namespace, Name: "allocation " + ShortID(alloc.ID) + " (task " + task + ")"}
}

func (g guardNomad) WatchAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	a, i, err := g.n.WatchAllocations(ctx, ns, id, index)
	return a, i, g.fail(JobAllocationsWatch, ns, id, err)
}

func (g guardNomad) Logs(ctx context.Context, alloc *nomad.AllocationListStub, req LogRequest) (io.ReadCloser, error) {
	r, err := g.n.Logs(ctx, alloc, req)
	return r, withHint(wrap(AllocLogs, g.n.Addr(), allocTarget(alloc, req.Task), err), g.noToken)
}

func (g guardNomad) Exec(ctx context.Context, alloc *nomad.AllocationListStub, req ExecRequest) (int, error) {
	code, err := g.n.Exec(ctx, alloc, req)
	return code, withHint(wrap(AllocExec, g.n.Addr(), allocTarget(alloc, req.Task), err), g.noToken)
}
