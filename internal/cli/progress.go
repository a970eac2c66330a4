package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/stackctl/stackctl/internal/rollout"
)

// newReporter returns a live view on a terminal and plain timestamped
// lines otherwise (CI logs, pipes).
func newReporter(w io.Writer) rollout.Reporter {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb" {
		return (&ttyView{w: w, status: map[string]string{}}).report
	}
	return lineReporter(w)
}

// lineReporter prints plain progress lines; concurrent watchers share it.
func lineReporter(w io.Writer) rollout.Reporter {
	var mu sync.Mutex
	return func(e rollout.Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), e)
	}
}

// ttyView keeps one status line per service at the bottom of the screen
// and prints every other event above it.
type ttyView struct {
	mu     sync.Mutex
	w      io.Writer
	status map[string]string
	drawn  int // status lines currently on screen
}

func (v *ttyView) report(e rollout.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	// Move to the start of the status block and clear it.
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
	}
	if e.Status {
		v.status[e.Service] = e.String()
	} else {
		fmt.Fprintf(v.w, "%s  %s\n", time.Now().Format("15:04:05"), e)
	}
	names := make([]string, 0, len(v.status))
	for n := range v.status {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(v.w, "  %s\n", v.status[n])
	}
	v.drawn = len(names)
}
