package clustertest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// TaskIO is what the fake's tasks wrote, and what happens to a job's
// allocations while somebody follows them (stackctl logs -f).
type TaskIO struct {
	// Logs holds what tasks wrote, by "<alloc ID>/<task>/<stream>". A task
	// without an entry wrote DefaultLog.
	Logs map[string]string `json:"logs,omitempty"`
	// Timeline lists, per job ("<namespace>/<id>"), what happens at each
	// blocking query on its allocations, one step per query: "start" (one
	// more instance starts) or "stop" (the job is stopped).
	Timeline map[string][]string `json:"timeline,omitempty"`
}

// DefaultLog is the line a task of the fake writes to a stream unless
// told otherwise.
func DefaultLog(allocID, task, stream string) string {
	return fmt.Sprintf("%s %s: %s line\n", task, cluster.ShortID(allocID), stream)
}

func (c *Cluster) io() *TaskIO {
	if c.s.IO == nil {
		c.s.IO = &TaskIO{}
	}
	if c.s.IO.Logs == nil {
		c.s.IO.Logs = map[string]string{}
	}
	if c.s.IO.Timeline == nil {
		c.s.IO.Timeline = map[string][]string{}
	}
	return c.s.IO
}

// AppendLog adds text to a task's stream in every allocation of job whose
// ID starts with allocPrefix ("" for all).
func (c *Cluster) AppendLog(ns, job, allocPrefix, task, stream, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.s.Jobs[key(ns, job)]
	if !ok {
		return fmt.Errorf("no job %s/%s", ns, job)
	}
	n := 0
	for _, a := range j.Allocs {
		if !strings.HasPrefix(a.ID, allocPrefix) {
			continue
		}
		k := a.ID + "/" + task + "/" + stream
		cur, ok := c.io().Logs[k]
		if !ok {
			cur = DefaultLog(a.ID, task, stream)
		}
		c.io().Logs[k] = cur + text
		n++
	}
	if n == 0 {
		return fmt.Errorf("job %s/%s has no allocation %q", ns, job, allocPrefix)
	}
	return nil
}

// AddTimeline appends steps to a job's timeline.
func (c *Cluster) AddTimeline(ns, job string, steps ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.io().Timeline[key(ns, job)] = append(c.io().Timeline[key(ns, job)], steps...)
}

// WatchAllocations answers at once for index 0. Later queries play the
// job's next timeline step, or wait a moment when there is none, as a
// blocking query that sees no change would.
func (f fakeNomad) WatchAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	r, err := call(ctx, f.c, "nomad", cluster.JobAllocationsWatch, id, func() (indexed[[]*nomad.AllocationListStub], error) {
		j, err := f.job(ns, id)
		if err != nil {
			return indexed[[]*nomad.AllocationListStub]{}, err
		}
		if index > 0 {
			f.c.step(ns, id, j)
		}
		return indexed[[]*nomad.AllocationListStub]{clone(j.Allocs), f.c.s.Index}, nil
	})
	if err != nil {
		return nil, index, err
	}
	if r.index == index {
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return r.v, r.index, nil
}

// step plays the job's next timeline step.
func (c *Cluster) step(ns, id string, j *Job) {
	steps := c.io().Timeline[key(ns, id)]
	if len(steps) == 0 {
		return
	}
	c.io().Timeline[key(ns, id)] = steps[1:]
	job := j.latest()
	switch steps[0] {
	case "start":
		g := job.TaskGroups[0]
		g.Count = ptr(deref(g.Count) + 1)
		c.newAlloc(j, job, deref(g.Name), "")
	case "stop":
		c.stopAllocs(j)
		// Stopped now, for --since; Nomad records it as the last change.
		now := time.Now().UnixNano()
		for _, a := range j.Allocs {
			if a.ModifyTime == 0 && a.DesiredStatus == "stop" {
				a.ModifyTime = now
			}
		}
		job.Stop, job.Status = ptr(true), ptr("dead")
		c.next()
	}
}

// tasks lists the tasks of an allocation's group: its own, and the
// Connect sidecar Nomad adds to a group service in the mesh.
func (c *Cluster) tasks(a *nomad.AllocationListStub) []string {
	j, ok := c.s.Jobs[key(a.Namespace, a.JobID)]
	if !ok {
		return nil
	}
	var out []string
	for _, v := range j.Versions {
		if deref(v.Version) != a.JobVersion {
			continue
		}
		for _, g := range v.TaskGroups {
			if deref(g.Name) != a.TaskGroup {
				continue
			}
			for _, t := range g.Tasks {
				out = append(out, t.Name)
			}
			for _, s := range g.Services {
				if s.Connect != nil {
					out = append(out, "connect-proxy-"+s.Name)
				}
			}
		}
	}
	return out
}

// alloc finds an allocation by ID.
func (c *Cluster) alloc(id string) *nomad.AllocationListStub {
	for _, j := range c.s.Jobs {
		for _, a := range j.Allocs {
			if a.ID == id {
				return a
			}
		}
	}
	return nil
}

func terminal(a *nomad.AllocationListStub) bool {
	return a == nil || (a.ClientStatus != "running" && a.ClientStatus != "pending")
}

// checkTask refuses what Nomad's client refuses: an allocation it no
// longer has, a task the group does not have, a task that has not started.
func (c *Cluster) checkTask(alloc *nomad.AllocationListStub, task string) error {
	a := c.alloc(alloc.ID)
	if a == nil {
		return notFound("allocation")
	}
	known := false
	for _, t := range c.tasks(a) {
		known = known || t == task
	}
	if !known {
		return &cluster.StatusError{Code: 400, Message: fmt.Sprintf("unknown task name %q", task)}
	}
	if a.ClientStatus == "pending" {
		return &cluster.StatusError{Code: 404, Message: fmt.Sprintf("task %q not started yet. No logs available", task)}
	}
	return nil
}

// Logs serves what the task wrote from the requested position; a
// followed stream then stays open until the allocation stops, the reader
// is closed or ctx ends.
func (f fakeNomad) Logs(ctx context.Context, alloc *nomad.AllocationListStub, req cluster.LogRequest) (io.ReadCloser, error) {
	text, err := call(ctx, f.c, "nomad", cluster.AllocLogs, alloc.JobID, func() (string, error) {
		if err := f.c.checkTask(alloc, req.Task); err != nil {
			return "", err
		}
		text, ok := f.c.io().Logs[alloc.ID+"/"+req.Task+"/"+req.Stream]
		if !ok {
			text = DefaultLog(alloc.ID, req.Task, req.Stream)
		}
		return text, nil
	})
	if err != nil {
		return nil, err
	}
	from := min(req.Offset, int64(len(text)))
	if req.Origin == "end" {
		from = max(int64(len(text))-req.Offset, 0)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		if _, err := io.WriteString(pw, text[from:]); err != nil || !req.Follow {
			pw.Close()
			return
		}
		for {
			select {
			case <-ctx.Done():
				pw.Close()
				return
			case <-time.After(10 * time.Millisecond):
			}
			f.c.mu.Lock()
			done := terminal(f.c.alloc(alloc.ID))
			f.c.mu.Unlock()
			if done {
				pw.Close()
				return
			}
		}
	}()
	return &pipeStream{PipeReader: pr, cancel: cancel}, nil
}

type pipeStream struct {
	*io.PipeReader
	cancel context.CancelFunc
	once   sync.Once
}

func (p *pipeStream) Close() error {
	p.once.Do(p.cancel)
	return p.PipeReader.Close()
}

// Exec runs a few commands of its own in place of the task's programs:
//
//	echo ARGS...    ARGS on stdout
//	warn ARGS...    ARGS on stderr (stdout with a TTY, as in Nomad)
//	cat             stdin to stdout
//	exit N          exits N
//	whereami        "<alloc ID> <task> tty=<bool>"
//
// Anything else is not found: a message on stderr and exit 126, as the
// Docker driver answers.
func (f fakeNomad) Exec(ctx context.Context, alloc *nomad.AllocationListStub, req cluster.ExecRequest) (int, error) {
	_, err := call(ctx, f.c, "nomad", cluster.AllocExec, alloc.JobID, func() (struct{}, error) {
		if err := f.c.checkTask(alloc, req.Task); err != nil {
			return struct{}{}, err
		}
		if terminal(f.c.alloc(alloc.ID)) {
			return struct{}{}, &cluster.StatusError{Code: 400, Message: "task not running"}
		}
		return struct{}{}, nil
	})
	if err != nil {
		return -1, err
	}
	stderr := req.Stderr
	if req.TTY {
		stderr = req.Stdout
	}
	if len(req.Command) == 0 {
		return -1, &cluster.StatusError{Code: 400, Message: "command is not present"}
	}
	args := req.Command[1:]
	switch req.Command[0] {
	case "echo":
		fmt.Fprintln(req.Stdout, strings.Join(args, " "))
	case "warn":
		fmt.Fprintln(stderr, strings.Join(args, " "))
	case "cat":
		if _, err := io.Copy(req.Stdout, req.Stdin); err != nil {
			return -1, err
		}
	case "exit":
		if len(args) == 1 {
			if n, err := strconv.Atoi(args[0]); err == nil {
				return n, nil
			}
		}
		return 2, nil
	case "whereami":
		fmt.Fprintf(req.Stdout, "%s %s tty=%v\n", alloc.ID, req.Task, req.TTY)
	default:
		fmt.Fprintf(stderr, "OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown\n", req.Command[0])
		return 126, nil
	}
	return 0, nil
}
