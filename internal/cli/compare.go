package cli

import ucli "github.com/urfave/cli/v2"

// compareCommand compares what the HashiCorp and Kubernetes paths generate
// for the user's own services.
func compareCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "compare",
		Usage:     "compare the Nomad and Kubernetes output for the same descriptors",
		ArgsUsage: "PATH...",
		Action: func(c *ucli.Context) error {
			return usageErrorf("compare is not implemented yet")
		},
	}
}
