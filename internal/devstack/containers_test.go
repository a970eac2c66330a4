package devstack

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOwnedContainers(t *testing.T) {
	const dataDir = "/tmp/stackctl-1c526430"
	// As listAllocContainers's inspect format prints them: a task and a
	// pause container of an allocation of this stack whose data dir is
	// gone, the same pair of another Nomad (the Compose stack), a pause
	// container of an allocation known from the data dir, and a pause
	// container nobody can place.
	out := "t1\ta1\t" + dataDir + "/alloc/a1/alloc\t" + dataDir + "/alloc/a1/web/local\t\n" +
		"p1\ta1\t\n" +
		"t2\ta2\t/tmp/stackctl-compose/nomad/alloc/a2/alloc\t\n" +
		"p2\ta2\t\n" +
		"p3\ta3\t\n" +
		"p4\ta4\t\n" +
		"t5\ta5\t" + dataDir + "-other/alloc/a5/alloc\t\n" + // a prefix, not a parent
		"\n"
	cs := parseAllocContainers(out)
	if len(cs) != 7 || !reflect.DeepEqual(cs[0].Mounts, []string{dataDir + "/alloc/a1/alloc", dataDir + "/alloc/a1/web/local"}) || len(cs[1].Mounts) != 0 {
		t.Fatalf("parseAllocContainers = %+v", cs)
	}
	got := ownedContainers(cs, dataDir, map[string]bool{"a3": true})
	if want := []string{"t1", "p1", "p3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ownedContainers = %v, want %v", got, want)
	}
	if got := ownedContainers(cs, "/elsewhere", nil); len(got) != 0 {
		t.Errorf("ownedContainers of a data dir nobody mounts = %v, want none", got)
	}
}

func TestAllocDirs(t *testing.T) {
	dir := t.TempDir()
	for _, a := range []string{"a1", "a2"} {
		if err := os.MkdirAll(filepath.Join(dir, "alloc", a, "alloc"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "alloc", "stray-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := allocDirs(dir), map[string]bool{"a1": true, "a2": true}; !reflect.DeepEqual(got, want) {
		t.Errorf("allocDirs = %v, want %v", got, want)
	}
	if got := allocDirs(filepath.Join(dir, "missing")); len(got) != 0 {
		t.Errorf("allocDirs of a missing dir = %v", got)
	}
}
