package cli

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/stackctl/stackctl/internal/deploy"
)

// statusLineRe matches the watcher's progress lines ("api: deployment
// 1a2b3c4d running: ..."), which a terminal view redraws in place instead
// of appending.
var statusLineRe = regexp.MustCompile(`^([a-z0-9-]+): deployment [0-9a-f]{8} `)

// newReporter returns a live view on a terminal and plain timestamped
// lines otherwise (CI logs, pipes).
func newReporter(w io.Writer) deploy.Reporter {
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("TERM") != "dumb" {
		return (&ttyView{w: w, status: map[string]string{}}).report
	}
	return lineReporter(w)
}

// ttyView keeps one status line per service at the bottom of the screen
// and prints every other event above it.
type ttyView struct {
	mu     sync.Mutex
	w      io.Writer
	status map[string]string
	drawn  int // status lines currently on screen
}

func (v *ttyView) report(format string, a ...any) {
	line := fmt.Sprintf(format, a...)
	v.mu.Lock()
	defer v.mu.Unlock()
	// Move to the start of the status block and clear it.
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.drawn)
	}
	if m := statusLineRe.FindStringSubmatch(line); m != nil {
		v.status[m[1]] = line
	} else {
		fmt.Fprintf(v.w, "%s  %s\n", time.Now().Format("15:04:05"), line)
	}
	names := make([]string, 0, len(v.status))
	for n := range v.status {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(v.w, "  %s\n", strings.TrimSpace(v.status[n]))
	}
	v.drawn = len(names)
}
