// Command stackctl compiles service descriptors into Nomad jobs, Vault
// policies and Consul intentions, and runs a local HashiCorp stack.
package main

import (
	"os"

	"github.com/stackctl/stackctl/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
