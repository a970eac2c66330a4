package jsonview

import (
	"bytes"
	"encoding/json"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// TestJobDiff: Nomad's contextual diff, with unchanged entries and lists
// in no particular order, becomes only what changes, sorted by name.
func TestJobDiff(t *testing.T) {
	d := &nomad.JobDiff{Type: "Edited", ID: "web",
		Fields: []*nomad.FieldDiff{
			{Type: "None", Name: "Type", Old: "service", New: "service"},
			{Type: "Edited", Name: "Meta[b]", Old: "1", New: "2"},
			{Type: "Added", Name: "Meta[a]", New: "x"},
		},
		TaskGroups: []*nomad.TaskGroupDiff{
			{Type: "None", Name: "other"},
			{Type: "Edited", Name: "web", Updates: map[string]uint64{"create/destroy update": 1},
				Objects: []*nomad.ObjectDiff{{Type: "Edited", Name: "Update", Fields: []*nomad.FieldDiff{{Type: "Deleted", Name: "Canary", Old: "1"}}}},
				Tasks: []*nomad.TaskDiff{
					{Type: "Edited", Name: "web", Annotations: []string{"forces create/destroy update"},
						Fields:  []*nomad.FieldDiff{{Type: "Edited", Name: "Env[LOG_LEVEL]", Old: "info", New: "debug"}},
						Objects: []*nomad.ObjectDiff{{Type: "None", Name: "Resources"}}},
					{Type: "Added", Name: "debugger"},
				}},
		},
	}
	var got bytes.Buffer
	if err := Write(&got, jobDiff(d)); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"edited",` +
		`"fields":[{"name":"Meta[a]","type":"added","old":null,"new":"x","annotations":[]},{"name":"Meta[b]","type":"edited","old":"1","new":"2","annotations":[]}],` +
		`"objects":[],` +
		`"task_groups":[{"name":"web","type":"edited","fields":[],` +
		`"objects":[{"name":"Update","type":"edited","fields":[{"name":"Canary","type":"deleted","old":"1","new":null,"annotations":[]}],"objects":[]}],` +
		`"tasks":[{"name":"debugger","type":"added","fields":[],"objects":[],"annotations":[]},` +
		`{"name":"web","type":"edited","fields":[{"name":"Env[LOG_LEVEL]","type":"edited","old":"info","new":"debug","annotations":[]}],"objects":[],"annotations":["forces create/destroy update"]}]}]}` + "\n"
	if got.String() != want {
		t.Errorf("got\n%s\nwant\n%s", got.String(), want)
	}
	if !json.Valid(got.Bytes()) {
		t.Error("not JSON")
	}
	if jobDiff(nil) != nil {
		t.Error("no diff from Nomad must stay null")
	}
}
