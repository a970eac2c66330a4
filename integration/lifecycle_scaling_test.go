//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/testkit"
)

// 3: horizontal scaling.
func (l *lifecycle) scalesOut(t *testing.T) {
	code, out := l.run(t, "", "scale", "--stack", l.jobs, "orders", "3")
	if code != 0 {
		t.Fatalf("scale: %d\n%s", code, out)
	}
	// Every answer is tallied (instance, or status and body, or
	// error), so that a failure says whether an instance was never
	// routed or was routed and failed.
	seen := map[string]bool{}
	tally := map[string]int{}
	err := testkit.Poll(60*time.Second, func() error {
		code, body, err := stack.get(internal, "orders.shop.localhost", "/")
		var r struct{ Alloc string }
		switch {
		case err != nil:
			tally["error: "+err.Error()]++
		case code == 200 && json.Unmarshal([]byte(body), &r) == nil && r.Alloc != "":
			seen[r.Alloc] = true
			tally["200 from "+r.Alloc]++
		default:
			tally[fmt.Sprintf("%d %.80q", code, body)]++
		}
		if len(seen) < 3 {
			return fmt.Errorf("%d distinct instances; answers: %v", len(seen), tally)
		}
		return nil
	})
	if err != nil {
		stack.routingDiagnostics(t)
		stack.allocDiagnostics(t, "orders")
		t.Fatalf("three orders instances answering: not done after 60s: %v", err)
	}
	if code, out := l.run(t, "", "scale", "--stack", l.jobs, "api", "9"); code != 2 || !strings.Contains(out, "between 1 and 4") {
		t.Errorf("scale beyond the autoscale max: exit %d\n%s", code, out)
	}
}

// 4: autoscaling. The autoscaler already chose api's count at idle (it
// scales in from the descriptor's 2); a redeploy must keep its choice.
func (l *lifecycle) keepsAutoscaledCount(t *testing.T) {
	settled(t, "orders")
	var chosen int
	eventually(t, 90*time.Second, "the autoscaler acting on api", func() error {
		s, _, err := stack.Nomad.Jobs().ScaleStatus("api", nil)
		if err != nil {
			return err
		}
		tg := s.TaskGroups["api"]
		if len(tg.Events) == 0 || tg.Desired == 2 {
			return fmt.Errorf("no scaling yet (desired %d)", tg.Desired)
		}
		chosen = tg.Desired
		return nil
	})
	code, out := l.run(t, "", "deploy", l.jobs)
	if code != 0 {
		t.Fatalf("redeploy: %d\n%s", code, out)
	}
	if n := groupCount(t, "api"); n != chosen {
		t.Errorf("redeploy set api's count to %d, the autoscaler had chosen %d", n, chosen)
	}
}

func (l *lifecycle) autoscalesUnderLoad(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_, _, _ = stack.get(public, "shop.localhost", "/api/burn?ms=400")
				}
			}
		}()
	}
	peak := 0
	eventually(t, 3*time.Minute, "api scaled out under load", func() error {
		n := groupCount(t, "api")
		peak = max(peak, n)
		if n < 2 {
			return fmt.Errorf("count %d", n)
		}
		return nil
	})
	close(stop)
	wg.Wait()
	if peak > 4 {
		t.Errorf("scaled to %d, beyond max 4", peak)
	}
	eventually(t, 3*time.Minute, "api scaled back in after the load", func() error {
		if n := groupCount(t, "api"); n != 1 {
			return fmt.Errorf("count %d", n)
		}
		return nil
	})
}
