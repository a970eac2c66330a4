package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets TestCrashAtStart run this binary as the demo's start,
// outside the testing package's recovery: a panic there ends the process
// as it ends the demo.
func TestMain(m *testing.M) {
	if os.Getenv("DEMO_CRASH_HELPER") == "1" {
		crashIfAsked(os.LookupEnv)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCrashAtStart: Go's panic exit code (2) and the panic line on
// stderr, which is what deploy must show.
func TestCrashAtStart(t *testing.T) {
	for _, tc := range []struct {
		env   string
		code  int
		panic bool
	}{
		{"CRASH_AT_START=1", 2, true},
		{"CRASH_AT_START=0", 0, false},
	} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "DEMO_CRASH_HELPER=1", tc.env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.env, code, tc.code, stderr.String())
		}
		if got := strings.Contains(stderr.String(), "panic: "+crashPanic+"\n"); got != tc.panic {
			t.Errorf("%s: panic line on stderr %v, want %v:\n%s", tc.env, got, tc.panic, stderr.String())
		}
	}
}
