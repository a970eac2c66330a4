package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommands(t *testing.T) {
	for _, c := range []struct {
		args           []string
		stdin          string
		code           int
		stdout, stderr string
	}{
		{args: []string{"version"}, code: 0, stdout: "demo 1.0.0\n"},
		{args: []string{"exit", "7", "bye"}, code: 7, stderr: "bye\n"},
		{args: []string{"exit", "0"}, code: 0},
		{args: []string{"exit", "300"}, code: 2, stderr: "demo exit: \"300\" is no exit status (0-255)\n"},
		{args: []string{"exit"}, code: 2, stderr: "usage: demo [version | exit N [TEXT] | cat]\n"},
		{args: []string{"cat"}, stdin: "a\nb\n", code: 0, stdout: "a\nb\n"},
		{args: []string{"nope"}, code: 2, stderr: "usage: demo [version | exit N [TEXT] | cat]\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := command(c.args, strings.NewReader(c.stdin), &stdout, &stderr)
		if code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
			t.Errorf("demo %v: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
		}
	}
}
