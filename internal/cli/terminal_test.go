//go:build linux || darwin

package cli

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestSecretNotEchoed types a value on a real pseudo-terminal: it is read,
// and the terminal never shows it.
func TestSecretNotEchoed(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	var prompt lockedBuffer
	done := make(chan string, 1)
	go func() {
		v, ok, err := readHidden(tty, &prompt, "Value: ")
		if err != nil || !ok {
			t.Errorf("readHidden: ok %v, err %v", ok, err)
		}
		done <- v
	}()
	// Wait until echo is off before typing, as a person would after the
	// prompt.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(prompt.String(), "Value: ") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := ptmx.Write([]byte("hunter2\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-done:
		if v != "hunter2" {
			t.Errorf("read %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no value read")
	}
	// Whatever the terminal echoed is readable on the master side.
	tty.Close()
	echoed, _ := io.ReadAll(ptmx)
	if strings.Contains(string(echoed), "hunter2") {
		t.Errorf("the value was echoed: %q", echoed)
	}
	// Not a terminal: the caller reads the stream itself.
	if _, ok, _ := readHidden(strings.NewReader("x"), io.Discard, "Value: "); ok {
		t.Error("a plain reader was read as a terminal")
	}
}

// lockedBuffer is written by the reader and polled by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
