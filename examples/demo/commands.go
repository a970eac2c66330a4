package main

import (
	"fmt"
	"io"
	"strconv"
)

// version is what `demo version` prints.
const version = "1.0.0"

// command runs one of the demo's commands instead of the server, for
// `stackctl exec` (the image is FROM scratch: the demo binary is the only
// program in it) and returns the exit status:
//
//	demo version          "demo 1.0.0" on stdout
//	demo exit N [TEXT]    TEXT on stderr, exit status N
//	demo cat              stdin to stdout
func command(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, "demo", version)
		return 0
	case "exit":
		if len(args) < 2 {
			break
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 || n > 255 {
			fmt.Fprintf(stderr, "demo exit: %q is no exit status (0-255)\n", args[1])
			return 2
		}
		if len(args) > 2 {
			fmt.Fprintln(stderr, args[2])
		}
		return n
	case "cat":
		if _, err := io.Copy(stdout, stdin); err != nil {
			fmt.Fprintln(stderr, "demo cat:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(stderr, "usage: demo [version | exit N [TEXT] | cat]")
	return 2
}
