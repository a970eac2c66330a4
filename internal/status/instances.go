package status

import (
	"context"
	"fmt"
	"sort"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/compile"
)

// Managed reads the job of a service stackctl deployed. A job of that name
// that stackctl did not deploy is refused: its tasks need not be named the
// stackctl way; other names what to use for it instead.
func Managed(ctx context.Context, cl *cluster.Cluster, namespace, name, other string) (*nomad.Job, error) {
	job, err := cl.Nomad.Job(ctx, namespace, name)
	if cluster.IsNotFound(err) {
		return nil, notDeployed(namespace, name)
	}
	if err != nil {
		return nil, err
	}
	if _, ok := apimodel.JobOwner(job); !ok {
		return nil, fmt.Errorf("job %q in namespace %s was not deployed by stackctl (no meta %s = %s); use %s for it",
			name, namespace, compile.MetaManagedBy, compile.ManagedBy, other)
	}
	return job, nil
}

func notDeployed(namespace, name string) error {
	return fmt.Errorf("service %q: no job of that name in namespace %s (stackctl status lists the deployed services)", name, namespace)
}

// AppTask is the task that runs a stackctl service's image: it has the
// service's name (its Connect sidecar is "connect-proxy-<service>").
func AppTask(service string) string { return service }

// Running reports an allocation whose tasks run.
func Running(a *nomad.AllocationListStub) bool {
	return a.ClientStatus == nomad.AllocClientStatusRunning
}

// Terminal reports an allocation that has stopped for good.
func Terminal(a *nomad.AllocationListStub) bool {
	switch a.ClientStatus {
	case nomad.AllocClientStatusComplete, nomad.AllocClientStatusFailed, nomad.AllocClientStatusLost:
		return true
	}
	return false
}

// Instance finds the allocation whose ID starts with prefix, refusing an
// ambiguous prefix.
func Instance(service string, allocs []*nomad.AllocationListStub, prefix string) (*nomad.AllocationListStub, error) {
	var found []*nomad.AllocationListStub
	for _, a := range allocs {
		if strings.HasPrefix(a.ID, prefix) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("service %s has no instance %q (its instances: %s)", service, prefix, Describe(allocs))
	}
	return nil, fmt.Errorf("instance %q is ambiguous: it begins %s; give more of the ID", prefix, Describe(found))
}

// Describe lists allocations for a message: "1f2e3d4c (running), ...",
// newest first.
func Describe(allocs []*nomad.AllocationListStub) string {
	sorted := append([]*nomad.AllocationListStub(nil), allocs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CreateIndex > sorted[j].CreateIndex })
	var parts []string
	for _, a := range sorted {
		parts = append(parts, fmt.Sprintf("%s (%s)", cluster.ShortID(a.ID), a.ClientStatus))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// CheckTask refuses a task the allocation does not have, when Nomad
// reported its tasks (a pending allocation may report none yet).
func CheckTask(a *nomad.AllocationListStub, task string) error {
	if len(a.TaskStates) == 0 {
		return nil
	}
	if _, ok := a.TaskStates[task]; ok {
		return nil
	}
	names := make([]string, 0, len(a.TaskStates))
	for n := range a.TaskStates {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("instance %s has no task %q (its tasks: %s)", cluster.ShortID(a.ID), task, strings.Join(names, ", "))
}
