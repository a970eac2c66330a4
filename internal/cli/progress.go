package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/stackctl/stackctl/internal/logs"
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
		fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), printableEvent(e))
	}
}

// printableEvent is an event's text for a terminal or a log: events carry
// what the cluster said (a deployment's status, a scaling event's message,
// a task's stderr), and whoever built them, each line goes through
// logs.Printable (rollout's texts already did: it changes nothing twice).
// The lines an event continues on stay lines.
func printableEvent(e rollout.Event) string {
	lines := strings.Split(e.String(), "\n")
	for i, l := range lines {
		lines[i] = logs.Printable(l)
	}
	return strings.Join(lines, "\n")
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
		// One line: the block is cleared by counting lines.
		v.status[e.Service] = logs.Printable(e.String())
	} else {
		fmt.Fprintf(v.w, "%s  %s\n", time.Now().Format("15:04:05"), printableEvent(e))
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

// jsonFormatVersion is in every object deploy --format json writes; it
// changes only when a field changes meaning or goes away.
const jsonFormatVersion = 1

// jsonLines writes one JSON object per line (docs/cli.md, "deploy
// --format json"); concurrent watchers share it.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

// write adds the fields every object has and writes obj on one line.
func (j *jsonLines) write(typ, service string, obj map[string]any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if obj == nil {
		obj = map[string]any{}
	}
	obj["format_version"] = jsonFormatVersion
	obj["type"] = typ
	obj["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	if service != "" {
		obj["service"] = service
	}
	// One line each (Encode ends it), with "->" and "<" as they are.
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		_ = enc.Encode(map[string]any{"format_version": jsonFormatVersion, "type": "error", "message": "encode event: " + err.Error()})
	}
}

// report writes a progress event: its kind as the type, its first line
// as the message (what follows is in the fields, such as a crash's
// stderr), and its data's fields.
func (j *jsonLines) report(e rollout.Event) {
	obj := fields(e.Data)
	obj["message"], _, _ = strings.Cut(e.Text, "\n")
	j.write(string(e.Kind), e.Service, obj)
}

// fields turns an event's data into the object's fields.
func fields(data any) map[string]any {
	obj := map[string]any{}
	if data == nil {
		return obj
	}
	b, err := json.Marshal(data)
	if err == nil {
		_ = json.Unmarshal(b, &obj)
	}
	return obj
}
