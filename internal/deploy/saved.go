package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/render"
	"github.com/stackctl/stackctl/internal/spec"
)

// SavedPlanFormat identifies a file written by `stackctl plan -out`.
// Version 2 carries the configuration the plan was made from.
const SavedPlanFormat = "stackctl-plan/2"

// A saved plan is checked again before anything is written, the way
// Terraform keeps the configuration in its plan: deploy --plan compiles the
// saved descriptor sources and variables again (validation included) and
// compares every saved artifact byte for byte with the result. A plan
// edited by hand, or cut short, is refused with nothing written; the
// artifacts applied are always what the compiler makes of valid
// descriptors.

// SavedPlan is a plan written to disk. It holds no secret values: jobs
// only reference Vault paths, and of the variables it keeps only those
// the stack declares not sensitive (saveable); the sensitive ones are
// read from the environment again when it is applied.
type SavedPlan struct {
	Format     string            `json:"format"`
	Config     Config            `json:"configuration"`
	Selected   []string          `json:"services_selected,omitempty"`
	Services   []SavedService    `json:"services"`
	Intentions []SavedIntentions `json:"intentions,omitempty"`

	path string // where LoadSaved read it, for messages
}

// SavedService is one selected service of a saved plan: its compiled
// artifacts and the Nomad modify index its job had when planned.
type SavedService struct {
	Name           string          `json:"name"`
	JobModifyIndex uint64          `json:"job_modify_index"`
	Job            json.RawMessage `json:"job"`
	Policy         string          `json:"vault_policy,omitempty"`
	Role           json.RawMessage `json:"vault_role,omitempty"`
}

// SavedIntentions is one intentions change of a saved plan.
type SavedIntentions struct {
	Service string          `json:"service"`
	Index   uint64          `json:"modify_index"`
	Entry   json.RawMessage `json:"entry"` // null: no caller left
}

// Config is what a bundle was compiled from: enough to compile it again.
// In memory it holds every value given; the copy a plan saves holds only
// the declared, non-sensitive ones (saveable).
type Config struct {
	Files   []string          `json:"files"`          // descriptor files, in load order
	Sources map[string]string `json:"sources"`        // every file read: descriptors and -var-files
	Vars    []Var             `json:"vars,omitempty"` // -var and -var-file, in command-line order
	Env     []string          `json:"env,omitempty"`  // STACKCTL_VAR_* variables
	// Sensitive names the sensitive variables that were given a value
	// (never the value): applying the saved plan reads them from the
	// environment again.
	Sensitive []string `json:"sensitive_variables,omitempty"`
}

// Var is one -var NAME=VALUE, or -var-file FILE when File is set.
type Var struct {
	File  bool   `json:"file,omitempty"`
	Value string `json:"value"`
}

// NewConfig records the configuration a parser loaded.
func NewConfig(p *spec.Parser, paths []string, vars []spec.VarArg, environ []string) (*Config, error) {
	files, diags := p.DescriptorFiles(paths)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Config{Files: files, Sources: map[string]string{}}
	for _, v := range vars {
		c.Vars = append(c.Vars, Var{File: v.File, Value: v.Value})
	}
	for name, src := range p.Sources() {
		c.Sources[name] = string(src)
	}
	for _, kv := range environ {
		if strings.HasPrefix(kv, spec.EnvVarPrefix) {
			c.Env = append(c.Env, kv)
		}
	}
	slices.Sort(c.Env)
	return c, nil
}

// environ is the process's environment, where applying a saved plan finds
// its sensitive variables; tests replace it.
var environ = os.Environ

// MissingSensitiveError means a saved plan is applied without a sensitive
// variable it was planned with in the environment: the plan does not hold
// its value.
type MissingSensitiveError struct {
	Names []string
	Path  string // the saved plan
}

func (e *MissingSensitiveError) Error() string {
	var set []string
	for _, n := range e.Names {
		set = append(set, spec.EnvVarPrefix+n+"=...")
	}
	path := e.Path
	if path == "" {
		path = "FILE"
	}
	return fmt.Sprintf("the saved plan holds no value for the sensitive variable(s) %s: a plan never saves sensitive values, nothing was changed. Pass them in the environment when applying it: %s stackctl deploy --plan %s",
		strings.Join(e.Names, ", "), strings.Join(set, " "), path)
}

// Compile loads, validates and compiles the configuration again, from the
// saved sources only, and the sensitive variables from the environment.
func (c *Config) Compile() (*compile.Bundle, error) {
	env := slices.Clone(c.Env)
	if len(c.Sensitive) > 0 {
		have := map[string]string{}
		for _, kv := range environ() {
			if name, ok := strings.CutPrefix(kv, spec.EnvVarPrefix); ok {
				name, _, _ = strings.Cut(name, "=")
				have[name] = kv
			}
		}
		var missing []string
		for _, name := range c.Sensitive {
			kv, ok := have[name]
			if !ok {
				missing = append(missing, name)
				continue
			}
			env = append(env, kv)
		}
		if len(missing) > 0 {
			return nil, &MissingSensitiveError{Names: missing}
		}
	}
	st, diags := c.load(env)
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				where := ""
				if d.Subject != nil {
					where = spec.Pos(*d.Subject) + ": "
				}
				msgs = append(msgs, where+d.Summary)
			}
		}
		return nil, fmt.Errorf("its descriptors are not valid: %s", strings.Join(msgs, "; "))
	}
	return compile.Compile(st), nil
}

// load reads the configuration's descriptors from its sources, with env
// as the environment.
func (c *Config) load(env []string) (*spec.Stack, hcl.Diagnostics) {
	p := spec.NewParser(sourceFS(c.Sources))
	var vars []spec.VarArg
	for _, v := range c.Vars {
		vars = append(vars, spec.VarArg{File: v.File, Value: v.Value})
	}
	return p.Load(c.Files, spec.LoadOptions{Vars: vars, Environ: env})
}

// saveable is the configuration as a plan file may hold it: only the
// variables the stack declares (a shell's STACKCTL_VAR_* may be meant for
// other stacks, a -var-file may set more), and none that is sensitive,
// from the environment, -var or a -var-file; Sensitive names those that
// were given, so that applying the plan asks the environment for them.
// Which variables are declared and sensitive is spec's to say: the
// descriptors are loaded once more.
func (c *Config) saveable() (*Config, error) {
	st, diags := c.load(c.Env)
	if diags.HasErrors() {
		return nil, fmt.Errorf("the plan's descriptors no longer load: %w", diags)
	}
	sensitive := map[string]bool{}
	for _, v := range st.Variables {
		sensitive[v.Name] = v.Sensitive
	}
	keep := func(name string) bool { s, declared := sensitive[name]; return declared && !s }
	given := map[string]bool{}
	out := &Config{Files: c.Files, Sources: maps.Clone(c.Sources)}
	for _, kv := range c.Env {
		name, _, _ := strings.Cut(strings.TrimPrefix(kv, spec.EnvVarPrefix), "=")
		if keep(name) {
			out.Env = append(out.Env, kv)
		} else if sensitive[name] {
			given[name] = true
		}
	}
	rewritten := map[string]bool{}
	for _, v := range c.Vars {
		if !v.File {
			name, _, _ := strings.Cut(v.Value, "=")
			if keep(name) {
				out.Vars = append(out.Vars, v)
			} else if sensitive[name] {
				given[name] = true
			}
			continue
		}
		out.Vars = append(out.Vars, v)
		if rewritten[v.Value] {
			continue
		}
		rewritten[v.Value] = true
		src, dropped, err := keepAttributes(v.Value, c.Sources[v.Value], keep)
		if err != nil {
			return nil, err
		}
		out.Sources[v.Value] = src
		for _, name := range dropped {
			if sensitive[name] {
				given[name] = true
			}
		}
	}
	out.Sensitive = slices.Sorted(maps.Keys(given))
	return out, nil
}

// keepAttributes rewrites a -var-file with only the attributes keep
// accepts, each with its own source text, in file order; dropped names
// the others.
func keepAttributes(name, src string, keep func(string) bool) (string, []string, error) {
	f, diags := hclsyntax.ParseConfig([]byte(src), name, hcl.InitialPos)
	if diags.HasErrors() {
		return "", nil, fmt.Errorf("read %s again: %w", name, diags)
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok || len(body.Blocks) > 0 {
		return "", nil, fmt.Errorf("%s is not a file of NAME = VALUE lines", name)
	}
	attrs := slices.Collect(maps.Values(body.Attributes))
	slices.SortFunc(attrs, func(a, b *hclsyntax.Attribute) int { return a.SrcRange.Start.Byte - b.SrcRange.Start.Byte })
	var b strings.Builder
	var dropped []string
	for _, a := range attrs {
		if !keep(a.Name) {
			dropped = append(dropped, a.Name)
			continue
		}
		b.WriteString(src[a.SrcRange.Start.Byte:a.SrcRange.End.Byte])
		b.WriteString("\n")
	}
	return b.String(), dropped, nil
}

// Save writes plan p of bundle b to path, atomically (mode 0600: it
// describes the system and holds variable values).
func Save(path string, b *compile.Bundle, p *Plan) error {
	if p.Config == nil {
		return errors.New("the plan has no configuration to save")
	}
	cfg, err := p.Config.saveable()
	if err != nil {
		return err
	}
	sp := SavedPlan{Format: SavedPlanFormat, Config: *cfg}
	for _, s := range p.Services {
		if s.Intentions != nil && s.Intentions.Change.changes() {
			e, err := intentionsJSON(s.Intentions.Want)
			if err != nil {
				return err
			}
			sp.Intentions = append(sp.Intentions, SavedIntentions{Service: s.Name, Index: s.Intentions.Index, Entry: e})
		}
		if !s.Selected {
			continue
		}
		sp.Selected = append(sp.Selected, s.Name)
		ss, err := savedService(b.Service(s.Name))
		if err != nil {
			return err
		}
		ss.JobModifyIndex = s.JobModifyIndex
		sp.Services = append(sp.Services, ss)
	}
	// Artifacts keep their bytes: no HTML escaping of "&&" in route rules.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sp); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// savedService renders the artifacts of a compiled service.
func savedService(svc *compile.Service) (SavedService, error) {
	ss := SavedService{Name: svc.Name}
	var err error
	if ss.Job, err = render.JobJSON(apimodel.Job(svc.Job)); err != nil {
		return ss, err
	}
	if svc.VaultPolicy != nil {
		ss.Policy = string(render.PolicyHCL(svc.VaultPolicy, svc.Name))
	}
	if svc.VaultRole != nil {
		if ss.Role, err = render.RoleJSON(svc.VaultRole); err != nil {
			return ss, err
		}
	}
	return ss, nil
}

// intentionsJSON renders an entry; null when nobody may call the service.
func intentionsJSON(e *consul.ServiceIntentionsConfigEntry) (json.RawMessage, error) {
	if e == nil {
		return json.RawMessage("null"), nil
	}
	return render.IntentionsJSON(e)
}

// NotAPlanError means a file is not a saved plan at all.
type NotAPlanError struct{ Path, Why string }

func (e *NotAPlanError) Error() string {
	return fmt.Sprintf("%s is not a plan written by stackctl plan -out (%s)", e.Path, e.Why)
}

// LoadSaved reads a saved plan. A file that cannot be read is reported as
// such; one that is not a plan of this format is a NotAPlanError.
func LoadSaved(path string) (*SavedPlan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the saved plan: %w", err)
	}
	var head struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(data, &head) != nil || !strings.HasPrefix(head.Format, "stackctl-plan/") {
		return nil, &NotAPlanError{Path: path, Why: "no stackctl-plan format field"}
	}
	if head.Format != SavedPlanFormat {
		return nil, fmt.Errorf("%s is a plan of format %s, which this stackctl does not apply (it applies %s, which carries the configuration to check the plan against); run stackctl plan -out again",
			path, head.Format, SavedPlanFormat)
	}
	var sp SavedPlan
	if err := json.Unmarshal(data, &sp); err != nil {
		return nil, &NotAPlanError{Path: path, Why: err.Error()}
	}
	if len(sp.Services) == 0 {
		return nil, fmt.Errorf("the saved plan %s holds no service", path)
	}
	sp.path = path
	return &sp, nil
}

// TamperedError means a saved plan's artifacts are not what its own
// configuration compiles to.
type TamperedError struct{ Problems []string }

func (e *TamperedError) Error() string {
	return "the saved plan does not match its own descriptors, nothing was changed:\n  " + strings.Join(e.Problems, "\n  ") +
		"\nA plan is applied only as stackctl plan -out wrote it; run stackctl plan -out again"
}

// Verify compiles the plan's configuration again and compares every saved
// artifact with the result, byte for byte. It returns the recompiled
// bundle (the whole stack) for deploy to use.
func (sp *SavedPlan) Verify() (*compile.Bundle, error) {
	b, err := sp.Config.Compile()
	var missing *MissingSensitiveError
	if errors.As(err, &missing) {
		missing.Path = sp.path
		return nil, missing
	}
	if err != nil {
		return nil, &TamperedError{Problems: []string{err.Error()}}
	}
	var problems []string
	var saved []string
	for _, ss := range sp.Services {
		saved = append(saved, ss.Name)
		svc := b.Service(ss.Name)
		if svc == nil {
			problems = append(problems, fmt.Sprintf("service %q is not in its descriptors", ss.Name))
			continue
		}
		want, err := savedService(svc)
		if err != nil {
			return nil, err
		}
		for _, c := range []struct {
			what      string
			got, want []byte
		}{
			{"job", compact(ss.Job), compact(want.Job)},
			{"Vault policy", []byte(ss.Policy), []byte(want.Policy)},
			{"Vault JWT role", compact(ss.Role), compact(want.Role)},
		} {
			if !bytes.Equal(c.got, c.want) {
				problems = append(problems, fmt.Sprintf("the %s of %q differs from what its descriptors compile to", c.what, ss.Name))
			}
		}
	}
	if !slices.Equal(saved, sp.Selected) {
		problems = append(problems, fmt.Sprintf("the plan's services (%s) are not the ones it selected (%s)",
			strings.Join(saved, ", "), strings.Join(sp.Selected, ", ")))
	}
	for _, si := range sp.Intentions {
		svc := b.Service(si.Service)
		if svc == nil {
			problems = append(problems, fmt.Sprintf("intentions of %q: no such service in its descriptors", si.Service))
			continue
		}
		want, err := intentionsJSON(apimodel.Intentions(svc.Intentions))
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(compact(si.Entry), compact(want)) {
			problems = append(problems, fmt.Sprintf("the intentions of %q differ from what the descriptors' graph compiles to", si.Service))
		}
	}
	if len(problems) > 0 {
		return nil, &TamperedError{Problems: problems}
	}
	return b, nil
}

// compact is the JSON without insignificant space: the form artifacts are
// compared in (the plan file is indented as a whole).
func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// CheckUnmoved refuses to apply a saved plan when the cluster moved since
// it was planned: a job's modify index, or the intentions it changes.
func CheckUnmoved(sp *SavedPlan, fresh *Plan) error {
	var errs []error
	byName := map[string]*ServicePlan{}
	for _, s := range fresh.Services {
		byName[s.Name] = s
	}
	for _, s := range sp.Services {
		if now := byName[s.Name]; now != nil && now.JobModifyIndex != s.JobModifyIndex {
			errs = append(errs, &ConflictError{Service: s.Name,
				Detail: fmt.Sprintf("its modify index was %d when planned and is %d now", s.JobModifyIndex, now.JobModifyIndex)})
		}
	}
	for _, si := range sp.Intentions {
		now := byName[si.Service]
		if now == nil || now.Intentions == nil {
			continue
		}
		if now.Intentions.Index != si.Index {
			errs = append(errs, &ConflictError{Service: si.Service, Object: "intentions", Where: "Consul",
				Detail: fmt.Sprintf("the config entry's modify index was %d when planned and is %d now", si.Index, now.Intentions.Index)})
		}
	}
	return errors.Join(errs...)
}

// writeAtomic writes a file through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sourceFS serves saved sources by the exact names the parser read them
// under (relative, absolute or with ".."), which fs.FS path rules forbid.
type sourceFS map[string]string

func (m sourceFS) Open(name string) (fs.File, error) {
	src, ok := m[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &sourceFile{Reader: strings.NewReader(src), name: name, size: int64(len(src))}, nil
}

type sourceFile struct {
	*strings.Reader
	name string
	size int64
}

func (f *sourceFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *sourceFile) Close() error               { return nil }
func (f *sourceFile) Name() string               { return filepath.Base(f.name) }
func (f *sourceFile) Size() int64                { return f.size }
func (f *sourceFile) Mode() fs.FileMode          { return 0o444 }
func (f *sourceFile) ModTime() time.Time         { return time.Time{} }
func (f *sourceFile) IsDir() bool                { return false }
func (f *sourceFile) Sys() any                   { return nil }
