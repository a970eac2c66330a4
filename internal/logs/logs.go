// Package logs reads the task logs of every instance of a service, the
// way `docker compose logs` and `kubectl logs -l` do: each allocation's
// stdout and stderr as whole lines, interleaved as they come, and with
// Follow the instances that start later too, until the service is
// stopped or the caller's context ends.
//
// Nomad's log API serves bytes at offsets, without times: Since chooses
// instances (those that stopped within it are read too), never lines, and
// Tail counts lines in the last bytes of each log (lines.go).
package logs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/status"
)

// Options say whose logs to read and how.
type Options struct {
	Namespace, Service string
	Stack              string   // the stack the command acts for: only its jobs are read
	Task               string   // "": the service's own task (status.AppTask)
	Streams            []string // "stdout", "stderr"
	Follow             bool
	// Since adds the instances that stopped less than Since ago to the
	// running ones; 0 reads running instances only.
	Since time.Duration
	// Tail reads the last Tail lines of each log; <0 reads it whole.
	Tail int
	// Instance reads only the allocation whose ID starts with it.
	Instance string
	// Grace is how long the log of an instance that stopped is still
	// read while following (Nomad does not end the stream itself);
	// 0: DefaultGrace.
	Grace time.Duration
	Now   func() time.Time
}

// DefaultGrace is how long a stopped instance's log is still read.
const DefaultGrace = 2 * time.Second

// Line is one line an instance wrote, without its newline.
type Line struct {
	Alloc  *nomad.AllocationListStub
	Stream string
	Text   []byte
}

// Output receives the lines and the notices about instances (started,
// stopped) for people; Read calls it from one goroutine at a time, so a
// line is never cut by another.
type Output interface {
	Line(Line)
	Notice(alloc *nomad.AllocationListStub, text string)
}

// NoInstanceError says the service has no instance to read.
type NoInstanceError struct{ msg string }

func (e *NoInstanceError) Error() string { return e.msg }

// Read reads the logs. Following ends without error when ctx ends or
// when no instance of the service is wanted any more (the job was
// stopped) and the last ones' logs were read.
func Read(ctx context.Context, cl *cluster.Cluster, opts Options, out Output) error {
	if opts.Stack == "" {
		return errors.New("logs needs the stack it acts for")
	}
	job, err := status.Managed(ctx, cl, opts.Namespace, opts.Service, "nomad alloc logs")
	if err != nil {
		return err
	}
	owner := compile.Owner{Namespace: opts.Namespace, Stack: opts.Stack, Service: opts.Service}
	if err := deploy.ClaimDeployed(job, owner, "logs", "read its logs"); err != nil {
		return err
	}
	if opts.Task == "" {
		opts.Task = status.AppTask(opts.Service)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Grace == 0 {
		opts.Grace = DefaultGrace
	}
	r := &reader{cl: cl, opts: opts, out: out, instances: map[string]*instance{}, wake: make(chan struct{}, 1)}
	var allocs []*nomad.AllocationListStub
	var index uint64
	if opts.Follow {
		allocs, index, err = cl.Nomad.WatchAllocations(ctx, opts.Namespace, opts.Service, 0)
	} else {
		allocs, err = cl.Nomad.Allocations(ctx, opts.Namespace, opts.Service)
	}
	if err != nil {
		return err
	}
	first, err := r.initial(allocs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.fail = cancel
	for _, a := range first {
		r.start(ctx, a, false)
	}
	if opts.Follow {
		if len(first) == 0 {
			r.notice(nil, fmt.Sprintf("waiting for an instance of %s to start", opts.Service))
		}
		r.follow(ctx, allocs, index)
	}
	r.wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

type reader struct {
	cl   *cluster.Cluster
	opts Options
	fail context.CancelCauseFunc // ends every stream with the first error

	mu  sync.Mutex // serialises out; guards instance.done
	out Output

	wg        sync.WaitGroup
	instances map[string]*instance // read or being read, by allocation ID
	wake      chan struct{}        // an instance's streams all ended
}

type instance struct {
	alloc    *nomad.AllocationListStub
	cancel   context.CancelFunc
	stopping bool // its allocation stopped: read for Grace more
	done     bool // every stream ended
}

func (r *reader) done(inst *instance) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return inst.done
}

// initial picks the instances to read first, or says why there is none.
func (r *reader) initial(allocs []*nomad.AllocationListStub) ([]*nomad.AllocationListStub, error) {
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex < allocs[j].CreateIndex })
	if r.opts.Instance != "" {
		a, err := status.Instance(r.opts.Service, allocs, r.opts.Instance)
		if err != nil {
			return nil, err
		}
		if err := status.CheckTask(a, r.opts.Task); err != nil {
			return nil, err
		}
		if !status.Running(a) && !status.Terminal(a) {
			if r.opts.Follow {
				return nil, nil // it starts soon: follow waits for it
			}
			return nil, &NoInstanceError{fmt.Sprintf("instance %s of %s has not started yet (%s); stackctl logs -f waits for it", cluster.ShortID(a.ID), r.opts.Service, a.ClientStatus)}
		}
		return []*nomad.AllocationListStub{a}, nil
	}
	var out []*nomad.AllocationListStub
	stopped := 0
	for _, a := range allocs {
		switch {
		case status.Running(a):
			if err := status.CheckTask(a, r.opts.Task); err != nil {
				return nil, err
			}
			out = append(out, a)
		case status.Terminal(a) && r.recent(a):
			out = append(out, a)
		case status.Terminal(a):
			stopped++
		}
	}
	if len(out) > 0 || (r.opts.Follow && wanted(allocs)) {
		return out, nil
	}
	msg := fmt.Sprintf("service %s has no running instance", r.opts.Service)
	if r.opts.Since > 0 {
		msg += fmt.Sprintf(" and none stopped in the last %s", r.opts.Since)
	}
	if stopped > 0 && r.opts.Since == 0 {
		msg += fmt.Sprintf(" (%d stopped: --since 1h reads those that stopped in the last hour)", stopped)
	}
	return nil, &NoInstanceError{msg}
}

// recent reports an allocation that stopped within Since.
func (r *reader) recent(a *nomad.AllocationListStub) bool {
	if r.opts.Since <= 0 {
		return false
	}
	return !stoppedAt(a).Before(r.opts.Now().Add(-r.opts.Since))
}

// stoppedAt is when the allocation's last task finished (Nomad's last
// change to it when it reports no task).
func stoppedAt(a *nomad.AllocationListStub) time.Time {
	var t time.Time
	for _, ts := range a.TaskStates {
		if ts.FinishedAt.After(t) {
			t = ts.FinishedAt
		}
	}
	if t.IsZero() {
		t = time.Unix(0, a.ModifyTime)
	}
	return t
}

// wanted reports whether Nomad still wants some instance to run.
func wanted(allocs []*nomad.AllocationListStub) bool {
	for _, a := range allocs {
		if a.DesiredStatus == nomad.AllocDesiredStatusRun {
			return true
		}
	}
	return false
}

func (r *reader) notice(a *nomad.AllocationListStub, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out.Notice(a, text)
}

// start reads an instance's streams; a running one's are followed when
// following.
func (r *reader) start(ctx context.Context, a *nomad.AllocationListStub, joined bool) {
	ictx, cancel := context.WithCancel(ctx)
	inst := &instance{alloc: a, cancel: cancel}
	r.instances[a.ID] = inst
	if joined {
		r.notice(a, fmt.Sprintf("instance started (job version %d)", a.JobVersion))
	}
	follow := r.opts.Follow && !status.Terminal(a)
	var streams sync.WaitGroup
	for _, stream := range r.opts.Streams {
		streams.Add(1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer streams.Done()
			if err := r.stream(ictx, a, stream, follow); err != nil {
				r.fail(err)
			}
		}()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		streams.Wait()
		cancel()
		r.mu.Lock()
		inst.done = true
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}()
}

// stream reads one log of an instance. A task that has not started yet
// (a 404) is asked again while following.
func (r *reader) stream(ctx context.Context, a *nomad.AllocationListStub, stream string, follow bool) error {
	req := cluster.LogRequest{Task: r.opts.Task, Stream: stream, Origin: "start", Follow: follow}
	if r.opts.Tail >= 0 {
		req.Origin, req.Offset = "end", tailOffset(r.opts.Tail)
	}
	for {
		rc, err := r.cl.Nomad.Logs(ctx, a, req)
		switch {
		case err == nil:
			defer rc.Close()
			// Closing unblocks a read that waits for more of the log.
			defer context.AfterFunc(ctx, func() { rc.Close() })()
			s := newSplitter(r.opts.Tail, func(text []byte) {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.out.Line(Line{Alloc: a, Stream: stream, Text: text})
			})
			err := copyLines(rc, s)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("the %s log of instance %s broke off: %w", stream, cluster.ShortID(a.ID), err)
			}
			return nil
		case ctx.Err() != nil:
			return nil
		case follow && cluster.IsNotFound(err):
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		case cluster.IsNotFound(err):
			// A task that never started, or an allocation the client
			// has already collected: nothing to read, say so.
			r.notice(a, fmt.Sprintf("no %s log: %v", stream, err))
			return nil
		default:
			return err
		}
	}
}

// follow watches the job's allocations: new instances are read as they
// start, stopped ones for Grace more. It returns when ctx ends or no
// instance is wanted and every stream ended.
func (r *reader) follow(ctx context.Context, allocs []*nomad.AllocationListStub, index uint64) {
	type answer struct {
		allocs []*nomad.AllocationListStub
		index  uint64
		err    error
	}
	answers := make(chan answer)
	watch := func(index uint64) {
		a, i, err := r.cl.Nomad.WatchAllocations(ctx, r.opts.Namespace, r.opts.Service, index)
		select {
		case answers <- answer{a, i, err}:
		case <-ctx.Done():
		}
	}
	go watch(index)
	current := allocs
	for {
		if !r.wantedNow(current) && r.active() == 0 {
			r.notice(nil, fmt.Sprintf("no instance of %s is wanted any more (stopped)", r.opts.Service))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case ans := <-answers:
			switch {
			case cluster.IsNotFound(ans.err):
				// The job was purged: nothing more will start.
				current = nil
				r.stopAll()
				continue
			case ans.err != nil:
				r.fail(ans.err)
				return
			}
			current = ans.allocs
			r.update(ctx, current)
			go watch(ans.index)
		}
	}
}

// update starts the instances that began running and winds down the
// ones that stopped.
func (r *reader) update(ctx context.Context, allocs []*nomad.AllocationListStub) {
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex < allocs[j].CreateIndex })
	listed := map[string]bool{}
	for _, a := range allocs {
		listed[a.ID] = true
		inst, known := r.instances[a.ID]
		switch {
		case !known && status.Running(a) && r.selected(a):
			r.start(ctx, a, true)
		case known && !inst.stopping && !r.done(inst) && status.Terminal(a):
			r.notice(a, "instance stopped ("+a.ClientStatus+")")
			r.windDown(inst)
		}
	}
	for id, inst := range r.instances {
		if !listed[id] && !inst.stopping && !r.done(inst) {
			r.windDown(inst) // garbage-collected
		}
	}
}

// selected reports whether --instance lets a new allocation in.
func (r *reader) selected(a *nomad.AllocationListStub) bool {
	if r.opts.Instance == "" {
		return true
	}
	return len(a.ID) >= len(r.opts.Instance) && a.ID[:len(r.opts.Instance)] == r.opts.Instance
}

// wantedNow reports whether an instance may still start or run.
func (r *reader) wantedNow(allocs []*nomad.AllocationListStub) bool {
	for _, a := range allocs {
		if a.DesiredStatus == nomad.AllocDesiredStatusRun && r.selected(a) && !status.Terminal(a) {
			return true
		}
	}
	return false
}

func (r *reader) active() int {
	n := 0
	for _, inst := range r.instances {
		if !r.done(inst) {
			n++
		}
	}
	return n
}

// windDown reads a stopped instance's log for Grace more, then ends it.
func (r *reader) windDown(inst *instance) {
	inst.stopping = true
	time.AfterFunc(r.opts.Grace, inst.cancel)
}

func (r *reader) stopAll() {
	for _, inst := range r.instances {
		if !inst.stopping && !r.done(inst) {
			r.windDown(inst)
		}
	}
}
