package deploy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/spec"
)

// secretStack is the example shop with two sensitive variables (one
// required, one with a default) and a file of variable values beside it.
func secretStack(t *testing.T) (dir, varFile string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "jobs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("../../jobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".hcl") {
			b, err := os.ReadFile(filepath.Join("../../jobs", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, e.Name()), string(b))
		}
	}
	write(t, filepath.Join(dir, "secrets.hcl"), `
variable "db_password" {
  type      = string
  sensitive = true
}

variable "api_key" {
  type      = string
  default   = "not-a-secret-default"
  sensitive = true
}
`)
	varFile = filepath.Join(t.TempDir(), "prod.vars.hcl")
	write(t, varFile, `# values for production
image = "demo:from-file"
db_password = <<EOT
s3cr3t-heredoc-from-file
EOT
api_key = "s3cr3t-api-from-file"
undeclared_thing = "u-value-from-file"
`)
	return dir, varFile
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSavedPlanHoldsNoSensitiveValue: a saved plan keeps the variables the
// stack declares and no sensitive one, whichever way it was given
// (environment, -var, -var-file); deploy --plan takes the sensitive ones
// from the environment again, or refuses naming them.
func TestSavedPlanHoldsNoSensitiveValue(t *testing.T) {
	dir, varFile := secretStack(t)
	shell := []string{
		"HOME=/home/someone",
		"STACKCTL_VAR_db_password=s3cr3t-from-env",
		"STACKCTL_VAR_api_key=s3cr3t-api-from-env",
		"STACKCTL_VAR_other_stack_token=s3cr3t-of-another-stack",
		"STACKCTL_VAR_sidecar=builtin",
	}
	vars := []spec.VarArg{{File: true, Value: varFile}, {Value: "db_password=s3cr3t-from-flag"}, {Value: "nomad_version=1.8"}}
	p := spec.NewParser(spec.OSFS{})
	st, diags := p.Load([]string{dir}, spec.LoadOptions{Vars: vars, Environ: shell})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b := compile.Compile(st)
	cfg, err := NewConfig(p, []string{dir}, vars, shell)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shop.plan")
	plan := &Plan{Config: cfg, Services: []*ServicePlan{{Name: "web", Selected: true}}}
	if err := Save(path, b, plan); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3cr3t", "u-value-from-file", "other_stack_token"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the saved plan holds %q:\n%s", secret, data)
		}
	}
	// What is not sensitive is kept, or the plan could not be checked.
	for _, kept := range []string{"demo:from-file", "nomad_version=1.8", "STACKCTL_VAR_sidecar=builtin"} {
		if !strings.Contains(string(data), kept) {
			t.Errorf("the saved plan lost %q:\n%s", kept, data)
		}
	}

	sp, err := LoadSaved(path)
	if err != nil {
		t.Fatal(err)
	}
	// Applied without the sensitive values: refused, naming each and how
	// to pass it.
	defer func(old func() []string) { environ = old }(environ)
	environ = func() []string { return []string{"HOME=/home/someone"} }
	_, err = sp.Verify()
	var missing *MissingSensitiveError
	if !errors.As(err, &missing) {
		t.Fatalf("verify without the sensitive values: %v", err)
	}
	if !slices.Equal(missing.Names, []string{"api_key", "db_password"}) {
		t.Errorf("missing %v", missing.Names)
	}
	for _, want := range []string{"STACKCTL_VAR_api_key=", "STACKCTL_VAR_db_password=", "stackctl deploy --plan " + path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}
	// With them in the environment, the plan checks out against its
	// configuration and compiles to the same artifacts.
	environ = func() []string {
		return []string{"STACKCTL_VAR_db_password=another-value", "STACKCTL_VAR_api_key=x", "STACKCTL_VAR_image=demo:ignored"}
	}
	got, err := sp.Verify()
	if err != nil {
		t.Fatalf("verify with the sensitive values in the environment: %v", err)
	}
	want, err := savedService(b.Service("web"))
	if err != nil {
		t.Fatal(err)
	}
	have, err := savedService(got.Service("web"))
	if err != nil {
		t.Fatal(err)
	}
	if string(compact(have.Job)) != string(compact(want.Job)) {
		t.Error("the job compiled from the saved plan differs from the planned one")
	}
}
