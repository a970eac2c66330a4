package rollout

import (
	"reflect"
	"testing"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
)

func TestMeshStatus(t *testing.T) {
	const (
		ready   = "11111111-aaaa-bbbb-cccc-000000000001"
		refused = "22222222-aaaa-bbbb-cccc-000000000002"
		missing = "33333333-aaaa-bbbb-cccc-000000000003"
		warning = "44444444-aaaa-bbbb-cccc-000000000004"
		stopped = "55555555-aaaa-bbbb-cccc-000000000005"
	)
	alloc := func(id, client, desired string) *nomad.AllocationListStub {
		return &nomad.AllocationListStub{ID: id, TaskGroup: "orders", ClientStatus: client, DesiredStatus: desired}
	}
	entry := func(id string, checks ...*consul.HealthCheck) *consul.ServiceEntry {
		return &consul.ServiceEntry{
			Service: &consul.AgentService{ID: "_nomad-task-" + id + "-group-orders-orders-8080-sidecar-proxy"},
			Checks:  checks,
		}
	}
	check := func(name, status, output string) *consul.HealthCheck {
		return &consul.HealthCheck{Name: name, Status: status, Output: output}
	}
	allocs := []*nomad.AllocationListStub{
		alloc(ready, "running", "run"),
		alloc(refused, "running", "run"),
		alloc(missing, "running", "run"),
		alloc(warning, "running", "run"),
		alloc(stopped, "running", "stop"), // being stopped: not waited for
		alloc("66666666-aaaa-bbbb-cccc-000000000006", "pending", "run"),
		{ID: "77777777-aaaa-bbbb-cccc-000000000007", TaskGroup: "other", ClientStatus: "running", DesiredStatus: "run"},
	}
	entries := []*consul.ServiceEntry{
		entry(ready, check("Serf Health Status", "passing", ""), check("Connect Sidecar Listening", "passing", "")),
		entry(refused,
			check("Connect Sidecar Listening", "critical", "dial tcp 192.0.2.2:2345: connect: connection refused\n"),
			check("Connect Sidecar Aliasing x", "passing", "")),
		entry(warning, check("Connect Sidecar Listening", "warning", "slow")),
		entry(stopped, check("Connect Sidecar Listening", "critical", "")),
	}
	got := meshStatus(allocs, "orders", entries)
	want := MeshStatus{
		Running: 4,
		Ready:   2,
		Waiting: []string{
			`allocation 22222222: check "Connect Sidecar Listening" critical: dial tcp 192.0.2.2:2345: connect: connection refused`,
			"allocation 33333333: its Connect sidecar is not registered in Consul yet",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if got.Done() {
		t.Error("Done with two instances outside the mesh")
	}
	if s := got.String(); s != "2/4 instances in the mesh" {
		t.Errorf("String() = %q", s)
	}
	if m := meshStatus(nil, "orders", nil); !m.Done() || m.Running != 0 {
		t.Errorf("no allocations: %#v, want done", m)
	}
}

func TestUsesConnect(t *testing.T) {
	plain := &nomad.Job{TaskGroups: []*nomad.TaskGroup{{Services: []*nomad.Service{{Name: "a"}}}}}
	meshed := &nomad.Job{TaskGroups: []*nomad.TaskGroup{{Services: []*nomad.Service{{Name: "a", Connect: &nomad.ConsulConnect{}}}}}}
	if UsesConnect(plain) || !UsesConnect(meshed) {
		t.Errorf("UsesConnect: plain %v, meshed %v", UsesConnect(plain), UsesConnect(meshed))
	}
}
