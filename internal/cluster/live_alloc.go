package cluster

import (
	"context"
	"io"

	nomad "github.com/hashicorp/nomad/api"
)

// allocOf is what the API package needs of an allocation to reach it: its
// ID, and its node to try the client directly before going through a
// server (the deployer may not read nodes: the API then uses a server).
func allocOf(a *nomad.AllocationListStub) *nomad.Allocation {
	return &nomad.Allocation{ID: a.ID, NodeID: a.NodeID, Namespace: a.Namespace, JobID: a.JobID, TaskGroup: a.TaskGroup}
}

func (l *liveNomad) WatchAllocations(ctx context.Context, ns, id string, index uint64) ([]*nomad.AllocationListStub, uint64, error) {
	a, m, err := l.c.Jobs().Allocations(id, false, blocking(ctx, ns, index))
	if err != nil {
		return nil, index, err
	}
	return a, m.LastIndex, nil
}

func (l *liveNomad) Logs(ctx context.Context, alloc *nomad.AllocationListStub, req LogRequest) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	frames, errs := l.c.AllocFS().Logs(allocOf(alloc), req.Follow, req.Task, req.Stream, req.Origin, req.Offset, stop, nq(ctx, alloc.Namespace))
	if frames == nil {
		// The request itself failed (a 403, a 404 for a task that has not
		// started): the API package reports it before any frame.
		cancel()
		return nil, <-errs
	}
	return &logStream{FrameReader: nomad.NewFrameReader(frames, errs, stop), cancel: cancel}, nil
}

// logStream ends the HTTP request with the reader.
type logStream struct {
	*nomad.FrameReader
	cancel context.CancelFunc
}

func (s *logStream) Close() error {
	s.cancel()
	return s.FrameReader.Close()
}

func (l *liveNomad) Exec(ctx context.Context, alloc *nomad.AllocationListStub, req ExecRequest) (int, error) {
	code, err := l.c.Allocations().Exec(ctx, allocOf(alloc), req.Task, req.TTY, req.Command,
		req.Stdin, req.Stdout, req.Stderr, req.Resize, nq(ctx, alloc.Namespace))
	if err != nil {
		return code, execRefusal(err)
	}
	return code, nil
}

// Nomad's exec endpoint upgrades to a websocket before it checks the
// token, so a refusal arrives as the socket's close frame: Nomad sends
// every error other than a 500 with the same close code (1008), and the
// API package keeps only the frame's text. The texts of Nomad's two ACL
// errors (structs.ErrPermissionDenied, ErrTokenNotFound) are therefore the
// only sign of a 403 here; they are matched whole.
var execRefusalTexts = map[string]bool{"Permission denied": true, "ACL token not found": true}

func execRefusal(err error) error {
	if execRefusalTexts[err.Error()] {
		return &StatusError{Code: 403, Message: err.Error()}
	}
	return err
}
