package logs

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func collect() (*[]string, func([]byte)) {
	var out []string
	return &out, func(b []byte) { out = append(out, string(b)) }
}

func TestSplitterLines(t *testing.T) {
	got, emit := collect()
	s := newSplitter(-1, emit)
	s.write([]byte("one\ntw"))
	s.write([]byte("o\r\nthree"))
	s.flush()
	s.write([]byte("four\n"))
	want := []string{"one", "two", "three", "four"}
	if fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", *got, want)
	}
}

func TestSplitterCutsEndlessLine(t *testing.T) {
	got, emit := collect()
	s := newSplitter(-1, emit)
	s.write([]byte(strings.Repeat("y", maxLine*2+5)))
	s.flush()
	if len(*got) != 3 || len((*got)[0]) != maxLine || len((*got)[2]) != 5 {
		t.Errorf("got %d pieces", len(*got))
	}
}

func TestSplitterTail(t *testing.T) {
	// A log shorter than what --tail 2 asks for: Nomad sends it whole,
	// and its first line is whole too.
	got, emit := collect()
	s := newSplitter(2, emit)
	s.write([]byte("a\nb\nc\n"))
	s.flush()
	if want := []string{"b", "c"}; fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("short log: got %q, want %q", *got, want)
	}
	// A longer one: Nomad sends its last bytes, from the middle of a line;
	// that piece never shows.
	got, emit = collect()
	s = newSplitter(50, emit)
	var log strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&log, "%-99s\n", fmt.Sprintf("line %d", i))
	}
	full := log.String()
	s.write([]byte(full[len(full)-int(tailOffset(50)):]))
	if len(*got) != 50 {
		t.Fatalf("%d lines for --tail 50", len(*got))
	}
	for _, l := range *got {
		if len(l) != 99 || !strings.HasPrefix(l, "line ") {
			t.Errorf("a cut line shows: %q", l)
		}
	}
	if last := strings.TrimSpace((*got)[49]); last != "line 999" {
		t.Errorf("last line %q", last)
	}
	// Lines after the burst pass at once.
	n := len(*got)
	s.write([]byte("after\n"))
	if len(*got) != n+1 || (*got)[n] != "after" {
		t.Errorf("a line after the burst: %q", (*got)[n:])
	}
	// --tail 0: nothing of the past.
	got, emit = collect()
	s = newSplitter(0, emit)
	s.write([]byte("old\n"))
	s.flush()
	s.write([]byte("new\n"))
	if want := []string{"new"}; fmt.Sprint(*got) != fmt.Sprint(want) {
		t.Errorf("--tail 0: got %q, want %q", *got, want)
	}
}

// TestCopyLinesWhenQuiet: a followed stream that goes quiet ends the
// tail's burst, and shows a line the task has not ended.
func TestCopyLinesWhenQuiet(t *testing.T) {
	burstIdle, partialIdle = 20*time.Millisecond, 40*time.Millisecond
	t.Cleanup(func() { burstIdle, partialIdle = 300*time.Millisecond, time.Second })
	r, w := io.Pipe()
	lines := make(chan string, 10)
	s := newSplitter(1, func(b []byte) { lines <- string(b) })
	done := make(chan error)
	go func() { done <- copyLines(r, s) }()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(2 * time.Second):
			t.Fatal("no line")
		}
		return ""
	}
	w.Write([]byte("x\ny\n"))
	if l := next(); l != "y" {
		t.Errorf("burst: got %q, want the last line", l)
	}
	w.Write([]byte("Password: "))
	if l := next(); l != "Password: " {
		t.Errorf("partial line: got %q", l)
	}
	w.CloseWithError(fmt.Errorf("connection reset"))
	if err := <-done; err == nil || err.Error() != "connection reset" {
		t.Errorf("copyLines ended with %v", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tabs\tand ünïcode ✓": "plain text, tabs\tand ünïcode ✓",
		"\x1b[2J\x1b]0;owned\x07":         `\x1b[2J\x1b]0;owned\x07`,
		"carriage\rreturn":                `carriage\x0dreturn`,
		"bad \xff byte":                   `bad \xff byte`,
		"bidi \u202eevil":                 `bidi \u202eevil`,
		"c1 \u009b control":               `c1 \u009b control`,
		`back\slash`:                      `back\slash`,
	} {
		if got := Printable([]byte(in)); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}
