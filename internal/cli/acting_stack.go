package cli

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	ucli "github.com/urfave/cli/v2"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/spec"
)

// The commands that work on deployed services (destroy, scale, rollback,
// logs, exec) act for one stack, read from --stack as secrets does (the
// working directory by default), and only on that stack's jobs: its name
// and Nomad namespace are checked against each job's owner record.
// The ownership check itself is deploy.ClaimDeployed.

// stackFlags are --stack, --namespace and the variables the stack's
// descriptors may need to be read.
func stackFlags() []ucli.Flag {
	return append(varFlags(),
		&ucli.StringFlag{Name: "stack", Value: ".", Usage: "descriptor `PATH` of the stack the service belongs to; only its jobs are touched"},
		&ucli.StringFlag{Name: "namespace", DefaultText: "the stack's", Usage: "Nomad `NAMESPACE` of the service; must be the stack's"})
}

// actingStack reads the stack at --stack and returns the owner a command
// acts as for service: the stack's name and namespace. Without
// descriptors there is no stack, and a usage error says how to give one.
func actingStack(c *ucli.Context, service string) (compile.Owner, error) {
	path := c.String("stack")
	if _, diags := spec.NewParser(spec.OSFS{}).DescriptorFiles([]string{path}); diags.HasErrors() {
		if !c.IsSet("stack") {
			return compile.Owner{}, usageErrorf("%s acts only on the services of one stack: run it in the stack's directory or give --stack PATH (%s)",
				c.Command.Name, lowerFirst(diagDetails(diags)))
		}
		return compile.Owner{}, usageErrorf("--stack %s: %s", path, diagDetails(diags))
	}
	st, p, diags, err := loadStackPaths(c, []string{path})
	if err != nil {
		return compile.Owner{}, err
	}
	if diags.HasErrors() {
		printDiagnostics(c, c.App.ErrWriter, p, diags)
		return compile.Owner{}, silentExit(ExitError)
	}
	ns := st.Settings.Namespace
	if c.IsSet("namespace") && c.String("namespace") != ns {
		return compile.Owner{}, usageErrorf("--namespace %s: stack %q (%s) deploys to namespace %s; leave --namespace out",
			c.String("namespace"), st.Settings.Name, path, ns)
	}
	return compile.Owner{Namespace: ns, Stack: st.Settings.Name, Service: service}, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// diagDetails joins the diagnostics' details in one line.
func diagDetails(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, strings.TrimSuffix(d.Detail, "."))
	}
	return strings.Join(parts, "; ")
}
