package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/cluster/clustertest"
)

// withFake runs the CLI in-process against fake; run returns the exit
// code and stdout+stderr.
func withFake(t *testing.T, fake *clustertest.Cluster) func(stdin string, args ...string) (int, string) {
	t.Helper()
	saved := dial
	dial = func() (*cluster.Cluster, error) { return fake.API(), nil }
	t.Cleanup(func() { dial = saved })
	return func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := Main(append([]string{"stackctl"}, args...), strings.NewReader(stdin), &out, &out)
		return code, out.String()
	}
}

// nomad18 makes the examples target Nomad 1.8: services with secrets get
// a JWT role too.
var nomad18 = []string{"-var", "nomad_version=1.8"}

func args(a ...any) []string {
	var out []string
	for _, x := range a {
		switch v := x.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

// deployedShop is a cluster running the example stack (Nomad 1.8 form).
func deployedShop(t *testing.T) (*clustertest.Cluster, func(string, ...string) (int, string)) {
	t.Helper()
	fake := clustertest.New()
	fake.Edit(func(s *clustertest.State) {
		s.Secrets["secret/shop/api"] = &clustertest.Secret{Versions: []map[string]any{{"signing_key": "k"}}}
		s.Secrets["secret/shop/kv"] = &clustertest.Secret{Versions: []map[string]any{{"password": "p"}}}
	})
	run := withFake(t, fake)
	if code, out := run("", args("deploy", nomad18, "../../jobs")...); code != 0 {
		t.Fatalf("deploy of the examples: exit %d\n%s", code, out)
	}
	return fake, run
}

// TestRefusals gives every operation a 403 in a command that makes it and
// checks the message names the component, the permission and the policy
// file that grants it.
func TestRefusals(t *testing.T) {
	const (
		nomadPolicy  = "policies/nomad/deployer.hcl grants it to the deployer"
		consulPolicy = "policies/consul/deployer.hcl grants it to the deployer"
		vaultPolicy  = "policies/vault/deployer.hcl grants it to the deployer"
	)
	jobs := "../../jobs"
	change := args("deploy", nomad18, "-var", "image=demo:2", "-s", "web", jobs)
	changeAPI := args("deploy", nomad18, "-var", "image=demo:2", "-s", "api", jobs)
	crash := func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Crash }
	cases := []struct {
		op    string
		setup func(*clustertest.State)
		args  []string
		stdin string
		want  []string
	}{
		{op: "nomad.leader", args: args("status"), want: []string{"Nomad at http://nomad.test:4646: 403 Permission denied"}},
		{op: "nomad.job.read", args: args("plan", nomad18, jobs), want: []string{`Nomad refused to read job api in namespace default (403 Permission denied): the token needs namespace "default" { capabilities = ["read-job"] }`, nomadPolicy}},
		{op: "nomad.job.list", args: args("status"), want: []string{`Nomad refused to list jobs in namespace default`, `["list-jobs"]`, nomadPolicy}},
		{op: "nomad.job.plan", args: args("plan", nomad18, jobs), want: []string{`Nomad refused to plan job api in namespace default`, `["submit-job"]`, nomadPolicy}},
		{op: "nomad.job.register", args: change, want: []string{`Nomad refused to register job web in namespace default`, `["submit-job"]`, nomadPolicy}},
		{op: "nomad.job.deregister", args: args("destroy", shopStack, "--yes", "web"), want: []string{`Nomad refused to stop job web`, `["submit-job"]`, nomadPolicy}},
		{op: "nomad.job.versions", args: args("rollback", shopStack, "web"), want: []string{`Nomad refused to read versions of job web`, `["read-job"]`, nomadPolicy}},
		{op: "nomad.job.revert", setup: secondVersion, args: args("rollback", shopStack, "web"), want: []string{`Nomad refused to revert job web`, `["submit-job"]`, nomadPolicy}},
		{op: "nomad.job.scale", args: args("scale", shopStack, "web", "2"), want: []string{`Nomad refused to scale job web`, `["scale-job"]`, nomadPolicy}},
		{op: "nomad.job.scale-status", args: args("status", "web"), want: []string{`Nomad refused to read scaling status of job web`, `["read-job-scaling"]`, nomadPolicy}},
		{op: "nomad.job.allocations", args: args("status", "web"), want: []string{`Nomad refused to list allocations of job web`, `["read-job"]`, nomadPolicy}},
		{op: "nomad.job.deployment", args: args("status", "web"), want: []string{`Nomad refused to read latest deployment of job web`, `["read-job"]`, nomadPolicy}},
		{op: "nomad.deployment.read", args: change, want: []string{`web: error: Nomad refused to follow deployment d`, `["read-job"]`, nomadPolicy}},
		{op: "nomad.deployment.allocations", setup: crash, args: change, want: []string{`could not read the deployment's allocations: Nomad refused to list allocations of deployment d`, nomadPolicy}},
		{op: "nomad.alloc.logs-tail", setup: func(s *clustertest.State) { s.Rollouts["web"] = clustertest.Panic }, args: change, want: []string{
			`web: cannot show the tasks' stderr: Nomad refused to read the logs of allocation a`, `["read-logs"]`, nomadPolicy, "going on without it", "exit code 2"}},
		{op: "nomad.evaluation.read", args: change, want: []string{`web: error: Nomad refused to follow evaluation e`, `["read-job"]`, nomadPolicy}},
		{op: "consul.leader", args: args("status"), want: []string{"Consul at http://consul.test:8500: 403 Permission denied"}},
		{op: "consul.intentions.read", args: args("plan", nomad18, jobs), want: []string{`Consul refused to read intentions for api (403 Permission denied): the token needs service "api" { intentions = "read" }`, consulPolicy}},
		{op: "consul.intentions.list", args: args("destroy", shopStack, "--yes", "web"), want: []string{`Consul refused to list intentions`, `service_prefix "" { intentions = "read" }`, consulPolicy}},
		{op: "consul.intentions.write", setup: dropEntry("web"), args: args("deploy", nomad18, "-s", "web", jobs), want: []string{`Consul refused to write intentions for web (403 Permission denied): the token needs service "web" { intentions = "write" }`, consulPolicy}},
		{op: "consul.intentions.delete", args: args("destroy", shopStack, "--yes", "web"), want: []string{`Consul refused to delete intentions for web`, `service "web" { intentions = "write" }`, consulPolicy}},
		{op: "consul.health.checks", setup: crash, args: change, want: []string{`could not read the health checks: Consul refused to read health checks of web`, `service "web" { policy = "read" } and node_prefix "" { policy = "read" }`, consulPolicy}},
		{op: "consul.health.connect", args: args("status", "web"), want: []string{`Mesh        unknown: Consul refused to read Connect instances of web`, consulPolicy}},
		{op: "consul.catalog.service", args: args("plan", nomad18, jobs), want: []string{`Consul refused to read catalog instances of api (403 Permission denied): the token needs service "api" { policy = "read" } and node_prefix "" { policy = "read" }`, consulPolicy}},
		{op: "consul.lock", args: change, want: []string{`nothing was changed: Consul refused to take deploy lock stackctl/deploy-locks/default/web`, `key_prefix "stackctl/deploy-locks/" { policy = "write" } and session_prefix "" { policy = "write" }`, consulPolicy}},
		{op: "nomad.job.allocations.watch", args: args("logs", shopStack, "-f", "web"), want: []string{`Nomad refused to watch allocations of job web in namespace default`, `["read-job"]`, nomadPolicy}},
		{op: "nomad.alloc.logs", args: args("logs", shopStack, "web"), want: []string{`Nomad refused to read logs of allocation a`, `(task web) in namespace default (403 Permission denied): the token needs namespace "default" { capabilities = ["read-logs"] }`, nomadPolicy}},
		{op: "nomad.alloc.exec", args: args("exec", shopStack, "web", "--", "echo"), want: []string{`Nomad refused to execute commands in allocation a`, `(task web) in namespace default (403 Permission denied): the token needs namespace "default" { capabilities = ["alloc-exec"] }`, nomadPolicy}},
		{op: "vault.health", args: changeAPI, want: []string{"Vault at http://vault.test:8200: 403 permission denied"}},
		{op: "vault.token.lookup", args: changeAPI, want: []string{"Vault at http://vault.test:8200: token rejected: 403 permission denied", `path "auth/token/lookup-self" { capabilities = ["read"] }`}},
		{op: "vault.policy.read", args: args("plan", nomad18, jobs), want: []string{`Vault refused to read policy stackctl-api (403 permission denied): the token needs path "sys/policies/acl/stackctl-api" { capabilities = ["read"] }`, vaultPolicy}},
		{op: "vault.policy.write", setup: dropPolicy, args: args("deploy", nomad18, "-s", "api", jobs), want: []string{`Vault refused to write policy stackctl-api`, `{ capabilities = ["create", "update"] }`, vaultPolicy}},
		{op: "vault.policy.delete", args: args("destroy", shopStack, "--yes", "api"), want: []string{`Vault refused to delete policy stackctl-api`, `{ capabilities = ["delete"] }`, vaultPolicy}},
		{op: "vault.role.read", args: args("plan", nomad18, jobs), want: []string{`Vault refused to read JWT role auth/jwt-nomad/role/stackctl-api`, `path "auth/jwt-nomad/role/stackctl-api" { capabilities = ["read"] }`, vaultPolicy}},
		{op: "vault.role.write", setup: dropRole, args: args("deploy", nomad18, "-s", "api", jobs), want: []string{`Vault refused to write JWT role auth/jwt-nomad/role/stackctl-api`, `["create", "update"]`, vaultPolicy}},
		{op: "vault.role.delete", args: args("destroy", shopStack, "--yes", "api"), want: []string{`Vault refused to delete JWT role auth/jwt-nomad/role/stackctl-api`, `["delete"]`, vaultPolicy}},
		{op: "vault.secret.metadata", args: args("secrets", "list", "--stack", jobs, "api"), want: []string{`Vault refused to read secret metadata secret/metadata/shop/api`, `path "secret/metadata/shop/api" { capabilities = ["read"] }`, vaultPolicy}},
		{op: "vault.secret.read", args: args("secrets", "get", "--stack", jobs, "api", "API_SIGNING_KEY"), want: []string{`Vault refused to read secret secret/data/shop/api`, `policies/vault/deployer.hcl does not grant it to the deployer: it checks that secrets exist, never reads them`}},
		{op: "vault.secret.create", setup: dropSecret, stdin: "v\n", args: args("secrets", "put", "--stack", jobs, "api", "API_SIGNING_KEY"), want: []string{`Vault refused to write secret secret/data/shop/api`, `["create", "update"]`, vaultPolicy}},
		{op: "vault.secret.patch", stdin: "v\n", args: args("secrets", "put", "--stack", jobs, "api", "API_SIGNING_KEY"), want: []string{`Vault refused to update secret secret/data/shop/api`, `{ capabilities = ["patch"] }`, vaultPolicy}},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.op] = true
		t.Run(tc.op, func(t *testing.T) {
			fake, run := deployedShop(t)
			if tc.setup != nil {
				fake.Edit(tc.setup)
			}
			fake.Edit(func(s *clustertest.State) { s.Faults = append(s.Faults, &clustertest.Fault{Op: tc.op, Status: 403}) })
			code, out := run(tc.stdin, tc.args...)
			if code == 0 && tc.op != "consul.health.connect" {
				t.Errorf("exit 0 despite the 403")
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	for _, op := range cluster.Operations {
		if !covered[op.ID] {
			t.Errorf("no 403 case for %s", op.ID)
		}
	}
}

func secondVersion(s *clustertest.State) {
	j := s.Jobs["default/web"]
	v := *j.Versions[0]
	next := uint64(1)
	v.Version = &next
	j.Versions = append(j.Versions, &v)
}

func dropEntry(name string) func(*clustertest.State) {
	return func(s *clustertest.State) { delete(s.Intentions, name) }
}

func dropPolicy(s *clustertest.State) { delete(s.Policies, "stackctl-api") }
func dropRole(s *clustertest.State)   { delete(s.Roles, "jwt-nomad/stackctl-api") }
func dropSecret(s *clustertest.State) { delete(s.Secrets, "secret/shop/api") }
