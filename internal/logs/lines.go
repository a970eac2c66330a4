package logs

import (
	"bytes"
	"io"
	"time"
)

// Nomad's log API counts bytes, not lines: --tail N asks for the last
// (N+1)*tailBytesPerLine bytes and keeps the last N complete lines of
// them. Lines longer than that on average give fewer than N lines.
const (
	tailBytesPerLine = 512
	maxTailBytes     = 8 << 20
	// maxLine cuts a line that never ends, so memory stays bounded.
	maxLine = 64 << 10
)

// tailOffset is how many bytes before the end --tail n starts reading.
func tailOffset(n int) int64 {
	return min(int64(n+1)*tailBytesPerLine, maxTailBytes)
}

// splitter cuts one stream's bytes into lines. With a tail, it holds the
// first burst of bytes (what Nomad sends at once from the tail offset)
// and passes on only its last lines; the first line of a burst that
// filled the requested bytes is dropped, since it may start mid-line.
type splitter struct {
	emit    func(line []byte)
	pending []byte // the start of a line without its newline yet

	tail  int   // <0: no tail
	want  int64 // bytes requested from the end
	got   int64
	burst [][]byte
}

func newSplitter(tail int, emit func([]byte)) *splitter {
	s := &splitter{emit: emit, tail: tail}
	if tail >= 0 {
		s.want = tailOffset(tail)
	}
	return s
}

func (s *splitter) inBurst() bool { return s.tail >= 0 }

// write takes the next bytes of the stream.
func (s *splitter) write(b []byte) {
	s.got += int64(len(b))
	s.pending = append(s.pending, b...)
	for {
		i := bytes.IndexByte(s.pending, '\n')
		if i < 0 {
			break
		}
		s.line(s.pending[:i])
		s.pending = s.pending[i+1:]
	}
	for len(s.pending) > maxLine {
		s.line(s.pending[:maxLine])
		s.pending = s.pending[maxLine:]
	}
	if len(s.pending) == 0 {
		s.pending = nil // let the buffer go
	}
	if s.inBurst() && s.got >= s.want {
		s.endBurst()
	}
}

func (s *splitter) line(l []byte) {
	l = bytes.Clone(bytes.TrimSuffix(l, []byte("\r")))
	if s.inBurst() {
		s.burst = append(s.burst, l)
		return
	}
	s.emit(l)
}

// endBurst passes on the last lines of the burst.
func (s *splitter) endBurst() {
	if !s.inBurst() {
		return
	}
	lines := s.burst
	if s.got >= s.want && len(lines) > 0 {
		lines = lines[1:]
	}
	if len(lines) > s.tail {
		lines = lines[len(lines)-s.tail:]
	}
	s.tail, s.burst = -1, nil
	for _, l := range lines {
		s.emit(l)
	}
}

// flush passes on a line the task has not ended (yet).
func (s *splitter) flush() {
	s.endBurst()
	if len(s.pending) > 0 {
		s.emit(bytes.Clone(s.pending))
		s.pending = nil
	}
}

// Idle times of a stream: the end of a tail's first burst, and how long a
// line without its newline waits before it is shown as it is (variables
// for the tests).
var (
	burstIdle   = 300 * time.Millisecond
	partialIdle = time.Second
)

// copyLines reads r into s until r ends, ending a burst or showing a
// partial line when r stays quiet.
func copyLines(r io.Reader, s *splitter) error {
	type chunk struct {
		b   []byte
		err error
	}
	chunks := make(chan chunk)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			select {
			case chunks <- chunk{bytes.Clone(buf[:n]), err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	idle := time.NewTimer(burstIdle)
	defer idle.Stop()
	for {
		select {
		case c := <-chunks:
			if len(c.b) > 0 {
				s.write(c.b)
			}
			if c.err != nil {
				s.flush()
				if c.err == io.EOF {
					return nil
				}
				return c.err
			}
		case <-idle.C:
			if s.inBurst() {
				s.endBurst()
			} else {
				s.flush()
			}
		}
		wait := partialIdle
		if s.inBurst() {
			wait = burstIdle
		}
		idle.Reset(wait)
	}
}
