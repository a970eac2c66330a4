package rollout

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/cluster"
)

// Crash is one failure of a task of the new version: how it ended, what
// Nomad does next, and the end of its stderr. It is the data of a
// KindCrash event.
type Crash struct {
	Allocation string `json:"allocation"`
	Group      string `json:"group"`
	Task       string `json:"task"`
	// Event is Nomad's task event: Terminated, Driver Failure, Task hook
	// failed, Setup Failure, Failed Validation, Failed Artifact Download.
	Event     string `json:"event"`
	ExitCode  int    `json:"exit_code"`
	Signal    int    `json:"signal,omitempty"`
	OOMKilled bool   `json:"oom_killed,omitempty"`
	// Restarts is how many times the task had been restarted when it
	// failed this time.
	Restarts uint64 `json:"restarts"`
	// Next is what Nomad does: "restart", "delayed restart" (a "delay"
	// restart policy used up its attempts), "gave up" (the restart
	// policy failed the task), or "unknown" (not decided yet).
	Next      string `json:"next"`
	RestartIn string `json:"restart_in,omitempty"`
	// Detail is Nomad's own words: the driver or hook error, why the
	// restart policy gave up.
	Detail string   `json:"detail,omitempty"`
	Stderr []string `json:"stderr,omitempty"`
	// StderrUnavailable says why Stderr is empty when it could not be
	// read.
	StderrUnavailable string `json:"stderr_unavailable,omitempty"`
}

// Next values of a Crash.
const (
	NextRestart        = "restart"
	NextDelayedRestart = "delayed restart"
	NextGaveUp         = "gave up"
	NextUnknown        = "unknown"
)

// How says how the task ended: the exit code, the signal, an OOM kill, or
// the error that kept it from running. Like every method that words a
// crash for people, it shows Nomad's text made printable (Printable);
// the fields keep it exact.
func (c Crash) How() string {
	switch {
	case c.Event != nomad.TaskTerminated:
		if c.Detail == "" {
			return Printable(c.Event)
		}
		return Printable(c.Event + ": " + c.Detail)
	case c.OOMKilled:
		return fmt.Sprintf("killed for running out of memory (OOM, exit code %d): raise resources.memory or memory_max", c.ExitCode)
	case c.Signal != 0:
		return fmt.Sprintf("killed by signal %d%s (exit code %d)", c.Signal, signalName(c.Signal), c.ExitCode)
	case c.ExitCode > 128 && c.ExitCode < 128+32:
		return fmt.Sprintf("exit code %d (128+%d: killed by signal %d%s)", c.ExitCode, c.ExitCode-128, c.ExitCode-128, signalName(c.ExitCode-128))
	}
	return fmt.Sprintf("exit code %d", c.ExitCode)
}

// Then says what Nomad does about it.
func (c Crash) Then() string {
	switch c.Next {
	case NextRestart:
		return fmt.Sprintf("Nomad restarts it in %s (restart %d)", c.RestartIn, c.Restarts+1)
	case NextDelayedRestart:
		return fmt.Sprintf("its restart policy used up its attempts; Nomad tries again in %s", c.RestartIn)
	case NextGaveUp:
		msg := fmt.Sprintf("restarted %d time(s), then the restart policy gave up", c.Restarts)
		if c.Detail != "" && c.Event == nomad.TaskTerminated {
			msg += " (" + Printable(c.Detail) + ")"
		}
		return msg
	}
	return fmt.Sprintf("restarted %d time(s) so far", c.Restarts)
}

// String is the crash on one line, without its stderr.
func (c Crash) String() string {
	return fmt.Sprintf("task %s in allocation %s: %s; %s", Printable(c.Task), Printable(cluster.ShortID(c.Allocation)), c.How(), c.Then())
}

// Lines is the crash with the end of its stderr on indented lines.
func (c Crash) Lines() string {
	var b strings.Builder
	b.WriteString(c.String())
	for _, l := range c.Stderr {
		b.WriteString("\n    stderr: " + Printable(l))
	}
	if c.StderrUnavailable != "" {
		b.WriteString("\n    (no stderr: " + Printable(c.StderrUnavailable) + ")")
	}
	return b.String()
}

var signalNames = map[int]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
	9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM"}

func signalName(n int) string {
	if s, ok := signalNames[n]; ok {
		return ", " + s
	}
	return ""
}

// failureEvents are the task events that end a run of the task (or keep
// it from starting); each is reported as a Crash.
var failureEvents = map[string]bool{
	nomad.TaskTerminated: true, nomad.TaskDriverFailure: true, nomad.TaskSetupFailure: true,
	nomad.TaskFailedValidation: true, nomad.TaskArtifactDownloadFailed: true, "Task hook failed": true,
}

// deliberate are the events after which a task's exit is Nomad's or an
// operator's doing (a stop, a restart, a sibling's failure), not a crash.
var deliberate = map[string]bool{
	nomad.TaskKilling: true, nomad.TaskKilled: true, nomad.TaskRestartSignal: true, nomad.TaskSignaling: true,
	nomad.TaskSiblingFailed: true, nomad.TaskLeaderDead: true,
}

// crashAt reads the failure at events[i] of a task state, with the
// decision Nomad made about it if that event is there already. ok is
// false for an exit that is no crash: a clean exit, or one Nomad asked
// for.
func crashAt(a *nomad.AllocationListStub, task string, ts *nomad.TaskState, i int) (c Crash, ok bool) {
	ev := ts.Events[i]
	if !failureEvents[ev.Type] {
		return c, false
	}
	if i > 0 && deliberate[ts.Events[i-1].Type] {
		return c, false
	}
	c = Crash{Allocation: a.ID, Group: a.TaskGroup, Task: task, Event: ev.Type, Next: NextUnknown}
	if ev.Type == nomad.TaskTerminated {
		c.ExitCode, c.Signal = ev.ExitCode, ev.Signal
		if c.ExitCode == 0 {
			c.ExitCode, _ = strconv.Atoi(ev.Details["exit_code"])
		}
		if c.Signal == 0 {
			c.Signal, _ = strconv.Atoi(ev.Details["signal"])
		}
		c.OOMKilled = ev.Details["oom_killed"] == "true" || strings.Contains(ev.Message, "OOM Killed") || strings.Contains(ev.DisplayMessage, "OOM Killed")
		if c.ExitCode == 0 && c.Signal == 0 && !c.OOMKilled {
			// A service task that exits 0 is restarted too, but it is not a
			// crash: the restart line says so if it matters.
			return c, false
		}
	} else {
		c.Detail = eventText(ev)
	}
	// Restarts counts the restarts before this failure; the task state's
	// count includes any after it (Nomad keeps only the latest events).
	after := 0
	for _, e := range ts.Events[i+1:] {
		if e.Type == nomad.TaskRestarting {
			after++
		}
	}
	if n := int(ts.Restarts) - after; n > 0 {
		c.Restarts = uint64(n)
	}
	if i+1 < len(ts.Events) {
		next := ts.Events[i+1]
		switch next.Type {
		case nomad.TaskRestarting:
			c.Next, c.RestartIn = NextRestart, time.Duration(next.StartDelay).Round(100*time.Millisecond).String()
			if strings.HasPrefix(next.RestartReason, "Exceeded allowed attempts") {
				c.Next = NextDelayedRestart
			}
		case nomad.TaskNotRestarting:
			c.Next = NextGaveUp
			if c.Event == nomad.TaskTerminated {
				c.Detail = eventText(next)
			}
		}
	}
	if c.Next == NextUnknown && ts.State == "dead" {
		c.Next = NextGaveUp
	}
	return c, true
}

// Bounds of the stderr shown for a crash: what is read from the end of
// the log, how many lines are shown, and how long each may be.
const (
	stderrReadBytes = 8 << 10
	stderrLines     = 5
	stderrLineBytes = 200
)

// stderrTail picks what a person needs from the end of a log: the last
// stderrLines non-blank lines, or, when a Go runtime message ("panic: ",
// "fatal error: ") is among the lines read, that message and the lines
// after it, since the panic line says more than the end of its stack.
// The lines are kept as the task wrote them (cut to a length): they are
// data, which JSON writes exactly; Lines makes them printable for people.
func stderrTail(log []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(log), "\n") {
		l = strings.TrimRight(l, "\r \t")
		if strings.TrimSpace(l) != "" {
			lines = append(lines, shorten(l, stderrLineBytes))
		}
	}
	start := max(len(lines)-stderrLines, 0)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "panic: ") || strings.HasPrefix(lines[i], "fatal error: ") {
			start = i
			break
		}
	}
	return lines[start:min(start+stderrLines, len(lines))]
}

// shorten cuts s to at most n bytes, on a character boundary, marking
// the cut with "...".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
