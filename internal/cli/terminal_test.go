//go:build linux || darwin

package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/deploy"
	"github.com/stackctl/stackctl/internal/rollout"
	"github.com/stackctl/stackctl/internal/secrets"
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

// TestProgressIsPrintable: progress lines carry what the cluster said (a
// deployment's status, a scaling event's message): the line and terminal
// views escape it, line by line, whoever built the event.
func TestProgressIsPrintable(t *testing.T) {
	ev := rollout.Event{Service: "web", Kind: rollout.KindWaiting,
		Text: "waiting for the scaling deployment (\x1b]0;owned\x07 up\u202e)\n    then \x1b[2J\u009b"}
	want := `web: waiting for the scaling deployment (\x1b]0;owned\x07 up\u202e)` + "\n" + `    then \x1b[2J\u009b` + "\n"
	var lines bytes.Buffer
	lineReporter(&lines)(ev)
	if got := lines.String(); !strings.HasSuffix(got, want) {
		t.Errorf("line view:\n%q\nwant it to end with\n%q", got, want)
	}
	var screen bytes.Buffer
	v := &ttyView{w: &screen, status: map[string]string{}}
	v.report(ev)
	ev.Status, ev.Text = true, "deployment d1 \x1b[31mrunning"
	v.report(ev)
	got := screen.String()
	// The view's own cursor movement is the only escape sequence.
	got = strings.ReplaceAll(got, "\x1b[1A\x1b[J", "")
	if !strings.Contains(got, want) || !strings.Contains(got, `  web: deployment d1 \x1b[31mrunning`+"\n") || strings.ContainsAny(got, "\x1b\u202e\u009b") {
		t.Errorf("terminal view: %q", got)
	}
}

// TestPlanTextIsPrintable: Nomad's diff, warnings and scheduler metrics,
// Vault's errors and the plan's notes are printed escaped.
func TestPlanTextIsPrintable(t *testing.T) {
	s := &deploy.ServicePlan{Name: "web", Selected: true, JobChange: deploy.Update,
		Diff: &nomad.JobDiff{Type: "Edited",
			Fields:  []*nomad.FieldDiff{{Type: "Edited", Name: "Meta[note\x1b[2J]", Old: "a", New: "b\x1b]0;t\x07"}},
			Objects: []*nomad.ObjectDiff{{Type: "Added", Name: "Constraint\u202e", Fields: []*nomad.FieldDiff{{Type: "Added", Name: "RTarget\x7f", New: "x"}}}}},
		Notes:        []string{"count kept at 3 (the autoscaler's \x1b[31mchoice)"},
		Warnings:     "Group \"web\" has warnings:\n\x1b[2J1 error occurred\u202e",
		FailedPlaces: map[string]*nomad.AllocationMetric{"web": {ConstraintFiltered: map[string]int{"${node.class} = \x1b[5mgpu": 2}}},
		Secrets:      []secrets.Check{{Env: "DB_PASSWORD", Path: "shop/db", Key: "password", Err: "Vault said \x1b[2J\u009b"}},
	}
	var out bytes.Buffer
	writePlan(&out, &deploy.Plan{Services: []*deploy.ServicePlan{s}})
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\x7f\u202e\u009b") {
		t.Errorf("raw control characters in the plan:\n%q", got)
	}
	for _, want := range []string{
		`~ Meta[note\x1b[2J]: "a" => "b\x1b]0;t\a"`, `+ Constraint\u202e`, `+ RTarget\x7f: "x"`,
		`! count kept at 3 (the autoscaler's \x1b[31mchoice)`, `\x1b[2J1 error occurred\u202e`,
		`constraint ${node.class} = \x1b[5mgpu filtered 2 node(s)`, `UNREADABLE: Vault said \x1b[2J\u009b`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}

func TestErrorsArePrintable(t *testing.T) {
	var stderr strings.Builder
	code := exitCode(errors.New("nomad: 500 \x1b]0;owned\x07 at line\nsecond \u202eline"), &stderr)
	got := stderr.String()
	if code != ExitError {
		t.Errorf("exit %d", code)
	}
	if strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Errorf("error printed raw: %q", got)
	}
	if !strings.Contains(got, `\x1b]0;owned\x07 at line`+"\nsecond "+`\u202eline`) {
		t.Errorf("error lines not kept, or escaped differently: %q", got)
	}
}
