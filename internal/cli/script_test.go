package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// fakeClusterEnv names the file holding the in-memory cluster of a test
// script. Only this test binary reads it: the shipped stackctl always
// dials the real cluster.
const fakeClusterEnv = "STACKCTL_TEST_CLUSTER"

// TestMain lets testscript run the real CLI as the "stackctl" program,
// wired to the script's in-memory cluster.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"stackctl": func() { os.Exit(mainWithFakeCluster()) },
	})
}

// mainWithFakeCluster runs the CLI against the cluster saved in the
// script's work directory, and saves it back for the next command.
func mainWithFakeCluster() int {
	path := os.Getenv(fakeClusterEnv)
	if path == "" {
		return Main(os.Args, os.Stdin, os.Stdout, os.Stderr)
	}
	fake, err := clustertest.Open(path)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 99
	}
	dial = func() (*cluster.Cluster, error) { return fake.API(), nil }
	code := Main(os.Args, os.Stdin, os.Stdout, os.Stderr)
	if err := fake.Save(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 99
	}
	return code
}

// TestScripts runs the end-to-end CLI scenarios in testdata/script/*.txtar.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			// Copy the examples in, so scripts can validate and render them.
			env.Setenv("NO_COLOR", "1")
			env.Setenv(fakeClusterEnv, filepath.Join(env.WorkDir, ".cluster.json"))
			return os.CopyFS(env.WorkDir+"/jobs", os.DirFS("../../jobs"))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exits N PROGRAM ARGS... runs a program and wants exit status N
			// exactly; its output is kept for stdout/stderr checks.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits N program [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
			"cluster": clusterCmd,
			"json":    jsonCmd,
			"jsonl":   jsonlCmd,
		},
	})
}
