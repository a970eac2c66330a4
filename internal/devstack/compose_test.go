package devstack

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The env file must select an image for every image variable the compose
// file reads, and only those, or a local run silently falls back to a
// registry image.
func TestComposeEnvCoversTheComposeFile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.dev.yml"))
	if err != nil {
		t.Fatal(err)
	}
	inFile := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_]+_IMAGE)[:}-]`).FindAllStringSubmatch(string(src), -1) {
		inFile[m[1]] = true
	}
	if len(inFile) == 0 {
		t.Fatal("no image variables found in docker-compose.dev.yml")
	}
	inEnv := map[string]bool{}
	for _, line := range strings.Split(ComposeEnv(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if v == "" || strings.Contains(v, " ") {
				t.Errorf("%s has a malformed value %q", k, v)
			}
			inEnv[k] = true
		}
	}
	for k := range inFile {
		if !inEnv[k] {
			t.Errorf("the compose file reads %s but compose.env does not set it", k)
		}
	}
	for k := range inEnv {
		if !inFile[k] {
			t.Errorf("compose.env sets %s, which the compose file never reads", k)
		}
	}
}

func TestComposeImageTags(t *testing.T) {
	seen := map[string]bool{}
	for _, ci := range ComposeImages() {
		if ci.Agent.Name == "" {
			t.Fatalf("%s: no agent", ci.EnvVar)
		}
		tag := ci.Tag()
		if !regexp.MustCompile(`^stackctl-[a-z-]+:[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(tag) {
			t.Errorf("%s: tag %q", ci.EnvVar, tag)
		}
		if seen[tag] {
			t.Errorf("tag %s used twice", tag)
		}
		seen[tag] = true
		if !strings.Contains(composeDockerfile(ci), `ENTRYPOINT ["/usr/local/bin/`+ci.Agent.Name+`"]`) {
			t.Errorf("%s: the Dockerfile does not run %s", tag, ci.Agent.Name)
		}
	}
}

func TestDebianMirrorOverride(t *testing.T) {
	t.Setenv("STACKCTL_DEBIAN_MIRROR", "http://mirror.example/debian")
	if got := debianMirror(); got != "http://mirror.example/debian" {
		t.Fatalf("debianMirror() = %q", got)
	}
}

// The compose stack's host-init service installs the same bridge and
// isolation rules as `dev up` (isolation.go), written in shell: they must
// not drift apart.
func TestComposeHostInitMatchesIsolation(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "images", "compose", "host-init.sh"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	var rules []string
	for _, m := range regexp.MustCompile(`(?m)ipt "\$1" `+isolationChain+` (.+?)(?: &&)?$`).FindAllStringSubmatch(s, -1) {
		rules = append(rules, m[1])
	}
	var want []string
	for _, r := range isolationRules {
		want = append(want, strings.Join(r, " "))
	}
	if strings.Join(rules, "\n") != strings.Join(want, "\n") {
		t.Errorf("host-init.sh's rules:\n%s\nisolation.go's:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
	m := regexp.MustCompile(`(?m)^for from in (.+); do$`).FindStringSubmatch(s)
	if m == nil || m[1] != strings.Join(isolationJumps, " ") {
		t.Errorf("host-init.sh jumps from %q, isolation.go from %q", m, isolationJumps)
	}
	prefix := strings.SplitN(bridgeSubnet, "/", 2)[1]
	for _, line := range []string{"bridge=" + bridgeName, "gateway=" + bridgeGateway + "/" + prefix, "chain=" + isolationChain, `ip link set dev "$bridge" address ` + bridgeMAC} {
		if !strings.Contains(s, "\n"+line+"\n") {
			t.Errorf("host-init.sh lacks %q", line)
		}
	}
}

func loadComposeFile(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	po, err := cli.NewProjectOptions([]string{filepath.Join(root, ComposeFile)},
		cli.WithWorkingDirectory(root), cli.WithEnv([]string{"HOME=/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := po.LoadProject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Tokens reach the services through files in the credential directory
// only: never a command line or the configured environment (both shown by
// `docker inspect`). Each agent mounts its own subdirectory, read-only;
// only the init services see the whole directory.
func TestComposeFileKeepsCredentialsInFiles(t *testing.T) {
	p := loadComposeFile(t)
	if p.Name != ComposeProject {
		t.Errorf("project name %q, want %q", p.Name, ComposeProject)
	}
	secrets := "/home/u/.local/state/stackctl/compose/secrets"
	wantMounts := map[string]string{
		"consul-init": secrets, "vault-init": secrets, "nomad-init": secrets,
		"nomad": secrets + "/nomad", "traefik": secrets + "/traefik", "nomad-autoscaler": secrets + "/autoscaler",
	}
	seen := map[string]bool{}
	for name, svc := range p.Services {
		seen[name] = true
		if svc.NetworkMode != "host" {
			t.Errorf("%s: network_mode %q, want host", name, svc.NetworkMode)
		}
		for k := range svc.Environment {
			if strings.Contains(strings.ToUpper(k), "TOKEN") {
				t.Errorf("%s: environment variable %s in the container's configuration", name, k)
			}
		}
		for _, arg := range append(append([]string{}, svc.Entrypoint...), svc.Command...) {
			if strings.Contains(strings.ToLower(arg), "token") {
				t.Errorf("%s: argument %q on the command line", name, arg)
			}
		}
		var mounted []string
		for _, v := range svc.Volumes {
			if strings.HasPrefix(v.Source, secrets) {
				mounted = append(mounted, v.Source)
				if v.Source != secrets && !v.ReadOnly {
					t.Errorf("%s: mounts %s read-write", name, v.Source)
				}
			}
		}
		want := wantMounts[name]
		switch {
		case want == "" && len(mounted) > 0:
			t.Errorf("%s: mounts %v, no credentials wanted", name, mounted)
		case want != "" && (len(mounted) != 1 || mounted[0] != want):
			t.Errorf("%s: mounts %v, want only %s", name, mounted, want)
		}
	}
	for _, name := range append(append([]string{}, composeAgents...), composeOneShots...) {
		if !seen[name] {
			t.Errorf("no service %s", name)
		}
	}
	// `up --wait` accepts a one-shot's exit only when some service
	// depends on its successful completion.
	for _, oneShot := range composeOneShots {
		ok := false
		for _, svc := range p.Services {
			if d, dep := svc.DependsOn[oneShot]; dep && d.Condition == types.ServiceConditionCompletedSuccessfully {
				ok = true
			}
		}
		if !ok {
			t.Errorf("nothing depends on %s completing successfully", oneShot)
		}
	}
}

// The agents' configurations hold the dev stack's security settings.
func TestComposeConfigsMatchTheDevStack(t *testing.T) {
	p := loadComposeFile(t)
	want := map[string][]string{
		"consul": {`http = "127.0.0.1 ` + bridgeGateway + `"`, `default_policy = "deny"`, `grpc = "127.0.0.1"`, "serf_wan = -1"},
		"vault":  {`storage "inmem"`, `address         = "127.0.0.1:8200"`},
		"nomad": {`bind_addr = "127.0.0.1"`, `bridge_network_name   = "` + bridgeName + `"`, `bridge_network_subnet = "` + bridgeSubnet + `"`,
			"allow_unauthenticated = false", `create_from_role = "nomad-cluster"`, "allow_privileged = false", `infra_image = "stackctl-pause:1.0.0"`},
	}
	for name, lines := range want {
		cfg, ok := p.Configs[name]
		if !ok {
			t.Errorf("no config %s", name)
			continue
		}
		for _, l := range lines {
			if !strings.Contains(cfg.Content, l) {
				t.Errorf("config %s lacks %q", name, l)
			}
		}
		if strings.Contains(cfg.Content, "token") {
			t.Errorf("config %s holds a token", name)
		}
	}
	if acl := p.Configs["nomad"].Content; !regexp.MustCompile(`acl \{\s+enabled = true`).MatchString(acl) {
		t.Error("Nomad's ACLs are not enabled")
	}
	for _, svc := range []string{"consul", "vault", "nomad"} {
		if args := strings.Join(p.Services[svc].Command, " "); strings.Contains(args, "-dev-connect") || (svc == "vault" && strings.Contains(args, "-dev")) {
			t.Errorf("%s runs %q: dev mode", svc, args)
		}
	}
}

// The init scripts write the credential files under the names `dev env`
// (secrets.go) reads, and the policies they apply exist.
func TestComposeInitScriptsUseTheDevStackFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "images", "compose")
	want := map[string][]string{
		"consul-init.sh": {consulManagementToken, deployerConsulToken},
		"vault-init.sh":  {vaultRootToken, vaultUnsealKey, deployerVaultToken},
		"nomad-init.sh":  {nomadManagementToken, deployerNomadToken},
	}
	policyRef := regexp.MustCompile(`/policies/(consul|nomad|vault)/([a-z-]+)\.hcl`)
	for script, names := range want {
		b, err := os.ReadFile(filepath.Join(dir, script))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !strings.Contains(string(b), "$S/"+n) {
				t.Errorf("%s does not write $S/%s", script, n)
			}
		}
		for _, m := range policyRef.FindAllStringSubmatch(string(b), -1) {
			if _, err := os.Stat(filepath.Join("..", "..", "policies", m[1], m[2]+".hcl")); err != nil {
				t.Errorf("%s applies %s: %v", script, m[0], err)
			}
		}
	}
	for _, names := range [][]string{{"consul-agent", "nomad-agent", "deployer"}} {
		b, _ := os.ReadFile(filepath.Join(dir, "consul-init.sh"))
		for _, n := range names {
			if !strings.Contains(string(b), `"policy `+n+`"`) {
				t.Errorf("consul-init.sh does not write the policy %s", n)
			}
			if _, err := os.Stat(filepath.Join("..", "..", "policies", "consul", n+".hcl")); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestComposeExports(t *testing.T) {
	o := ComposeOptions{Dir: t.TempDir()}
	if _, err := ComposeExports(o, false); err == nil || !strings.Contains(err.Error(), "stackctl dev compose up") {
		t.Fatalf("no credentials: %v", err)
	}
	st := o.state()
	files := map[string]string{
		deployerNomadToken: "dn", deployerConsulToken: "dc", deployerVaultToken: "dv",
		nomadManagementToken: "an", consulManagementToken: "ac", vaultRootToken: "av",
	}
	for name, v := range files {
		if err := st.writeSecret(name, v); err != nil {
			t.Fatal(err)
		}
	}
	for admin, want := range map[bool]string{false: "dn dc dv", true: "an ac av"} {
		vars, err := ComposeExports(o, admin)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, kv := range vars {
			got[kv[0]] = kv[1]
		}
		if s := got["NOMAD_TOKEN"] + " " + got["CONSUL_HTTP_TOKEN"] + " " + got["VAULT_TOKEN"]; s != want {
			t.Errorf("admin=%v: tokens %q, want %q", admin, s, want)
		}
		if got["NOMAD_ADDR"] != "http://127.0.0.1:4646" || got["CONSUL_HTTP_ADDR"] != "http://127.0.0.1:8500" || got["VAULT_ADDR"] != "http://127.0.0.1:8200" {
			t.Errorf("addresses: %v", got)
		}
	}
	if err := os.Remove(filepath.Join(st.secretsDir(), deployerVaultToken)); err != nil {
		t.Fatal(err)
	}
	if _, err := ComposeExports(o, false); err == nil || !strings.Contains(err.Error(), deployerVaultToken) {
		t.Errorf("a missing token file: %v", err)
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"2.29.7", "2.30.0", true}, {"2.30.0", "2.30.0", false}, {"2.40.3", "2.30.0", false},
		{"1.29.2", "2.30.0", true}, {"2.30", "2.30.0", false}, {"2.30.0-rc1", "2.30.1", true}, {"10.0.0", "9.9.9", false},
	} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("versionLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestMountOf(t *testing.T) {
	ms := []mountInfo{{Point: "/"}, {Point: "/tmp/x", Shared: false}, {Point: "/run"}, {Point: "/tmp/x", Shared: true}, {Point: "/tmp/xy"}}
	for path, want := range map[string]mountInfo{
		"/tmp/x/nomad": {Point: "/tmp/x", Shared: true}, // the layer mounted last
		"/tmp/x":       {Point: "/tmp/x", Shared: true},
		"/tmp/xyz":     {Point: "/"},
		"/run/docker":  {Point: "/run"},
	} {
		if got, ok := mountOf(ms, path); !ok || got != want {
			t.Errorf("mountOf(%s) = %+v %v, want %+v", path, got, ok, want)
		}
	}
}

func TestComposeImageFromEnvFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "compose.env")
	if err := os.WriteFile(f, []byte(ComposeEnv()), 0o644); err != nil {
		t.Fatal(err)
	}
	if img, pull := composeImage(f, "CONSUL_IMAGE", "hashicorp/consul:1.14.11"); img != "stackctl-consul:1.14.11" || pull != "never" {
		t.Errorf("local: %s %s", img, pull)
	}
	if img, pull := composeImage("", "CONSUL_IMAGE", "hashicorp/consul:1.14.11"); img != "hashicorp/consul:1.14.11" || pull != "missing" {
		t.Errorf("registry: %s %s", img, pull)
	}
}
