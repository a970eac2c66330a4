package rollout

import (
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

func TestPlacementReasons(t *testing.T) {
	got := PlacementReasons(map[string]*nomad.AllocationMetric{
		"api": {NodesEvaluated: 1, DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 1},
		"web": {NodesEvaluated: 3, ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 3}},
	})
	if len(got) != 2 {
		t.Fatalf("%d reasons: %q", len(got), got)
	}
	if !strings.Contains(got[0], "group api: 2 allocation(s) unplaced: memory exhausted on 1 node(s)") {
		t.Errorf("api reason: %q", got[0])
	}
	if !strings.Contains(got[1], "constraint ${attr.kernel.name} = windows filtered 3 node(s)") {
		t.Errorf("web reason: %q", got[1])
	}
}

func TestProgressLine(t *testing.T) {
	d := &nomad.Deployment{ID: "0123456789abcdef", Status: "running", TaskGroups: map[string]*nomad.DeploymentState{
		"api": {DesiredTotal: 3, PlacedAllocs: 2, HealthyAllocs: 1, UnhealthyAllocs: 1, DesiredCanaries: 1, PlacedCanaries: []string{"x"}},
	}}
	want := "deployment 01234567 running: 1/3 healthy, 2 placed, 1 unhealthy, canaries 1/1"
	if got := progressLine(d); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRevertDescription(t *testing.T) {
	m := revertRe.FindStringSubmatch("Failed due to unhealthy allocations - rolling back to job version 4")
	if m == nil || m[1] != "4" {
		t.Fatalf("revert version not found: %v", m)
	}
}

func TestEventText(t *testing.T) {
	for _, tc := range []struct {
		ev   nomad.TaskEvent
		want string
	}{
		{nomad.TaskEvent{DisplayMessage: "Failed to pull `x`"}, "Failed to pull `x`"},
		{nomad.TaskEvent{DriverError: "no such image"}, "no such image"},
		{nomad.TaskEvent{ExitCode: 3}, "exit code 3"},
	} {
		if got := eventText(&tc.ev); got != tc.want {
			t.Errorf("eventText(%+v) = %q, want %q", tc.ev, got, tc.want)
		}
	}
}
