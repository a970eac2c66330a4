package cli

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// TestLogsFollowsEveryInstance: web scaled to 3 instances, each writing
// many long lines, and a fourth starting while logs -f follows. Every
// instance's lines come out, each whole and after its own prefix, and the
// fourth joins.
func TestLogsFollowsEveryInstance(t *testing.T) {
	fake, run := deployedShop(t)
	if code, out := run("", args("scale", shopStack, "web", "3")...); code != 0 {
		t.Fatalf("scale: %d\n%s", code, out)
	}
	var before []string
	fake.Edit(func(s *clustertest.State) {
		for _, a := range s.Jobs["default/web"].Allocs {
			if a.ClientStatus == "running" {
				before = append(before, a.ID)
			}
		}
	})
	if len(before) != 3 {
		t.Fatalf("%d running instances, want 3", len(before))
	}
	const lines = 200
	filler := strings.Repeat("x", 3000) // longer than a read: lines arrive in pieces
	for _, id := range before {
		var text strings.Builder
		for i := range lines {
			fmt.Fprintf(&text, "line %d of %s %s\n", i, cluster.ShortID(id), filler)
		}
		if err := fake.AppendLog("default", "web", id, "web", "stdout", text.String()); err != nil {
			t.Fatal(err)
		}
	}
	fake.AddTimeline("default", "web", "start", "stop")

	var stdout, stderr bytes.Buffer
	code := Main(args("stackctl", "logs", shopStack, "-f", "--stdout", "web"), strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("logs -f: exit %d\n%s", code, stderr.String())
	}
	var after []string
	fake.Edit(func(s *clustertest.State) {
		for _, a := range s.Jobs["default/web"].Allocs {
			after = append(after, a.ID)
		}
	})
	fourth := after[len(after)-1]
	if strings.Contains(strings.Join(before, " "), fourth) {
		t.Fatalf("the timeline started no new instance")
	}

	line := regexp.MustCompile(`^([0-9a-f]{8}) out \| (.*)$`)
	counts := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a log line: %.120q", l)
		}
		// The text names the instance that wrote it: a line cut by
		// another would name the wrong one, or none.
		if !strings.Contains(m[2], " "+m[1]) || (strings.HasPrefix(m[2], "line ") && !strings.HasSuffix(m[2], filler)) {
			t.Fatalf("line of %s mixed up: %.120q", m[1], l)
		}
		counts[m[1]]++
	}
	for _, id := range before {
		// DefaultLog's line, then the ones written above.
		if n := counts[cluster.ShortID(id)]; n != lines+1 {
			t.Errorf("instance %s: %d lines, want %d", cluster.ShortID(id), n, lines+1)
		}
	}
	if counts[cluster.ShortID(fourth)] != 1 {
		t.Errorf("the instance that started while following did not join: %v", counts)
	}
	if !strings.Contains(stderr.String(), cluster.ShortID(fourth)+": instance started (job version 1)") {
		t.Errorf("no notice of the new instance:\n%s", stderr.String())
	}
}
