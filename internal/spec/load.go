package spec

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// LoadOptions carries the inputs that are not in the files.
type LoadOptions struct {
	Vars    []VarArg // -var and -var-file, in command-line order
	Environ []string // os.Environ(), for STACKCTL_VAR_<name>
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "stack"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "service", LabelNames: []string{"name"}},
	},
}

// Load reads, decodes and validates the descriptors found at paths. The
// stack is nil whenever the diagnostics hold an error; warnings may come
// with a valid stack.
func (p *Parser) Load(paths []string, opts LoadOptions) (*Stack, hcl.Diagnostics) {
	files, diags := p.DescriptorFiles(paths)
	if diags.HasErrors() {
		return nil, diags
	}

	// Parse every file before stopping so the user sees all syntax errors.
	var blocks []*hcl.Block
	for _, name := range files {
		f, d := p.ParseFile(name)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		content, d := f.Body.Content(rootSchema)
		diags = append(diags, d...)
		blocks = append(blocks, content.Blocks...)
	}
	if diags.HasErrors() {
		return nil, diags
	}

	decls := map[string]*variableDecl{}
	for _, b := range blocks {
		if b.Type != "variable" {
			continue
		}
		v, d := decodeVariable(b)
		diags = append(diags, d...)
		if prev, ok := decls[v.Name]; ok {
			diags = append(diags, duplicateDiag("variable", v.Name, prev.DeclRange, b.LabelRanges[0]))
			continue
		}
		decls[v.Name] = v
	}
	values, d := p.resolveVariables(decls, opts.Vars, opts.Environ)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	ctx := evalContext(values)

	st := &Stack{}
	var stackBlock *hcl.Block
	for _, b := range blocks {
		if b.Type != "stack" {
			continue
		}
		if stackBlock != nil {
			diags = append(diags, errorDiag("Duplicate stack block",
				fmt.Sprintf("The stack settings were already given at %s; merge the two blocks into one.", Pos(stackBlock.DefRange)),
				rangePtr(b.DefRange)))
			continue
		}
		stackBlock = b
	}
	st.Settings, d = decodeStack(stackBlock, ctx)
	diags = append(diags, d...)

	seen := map[string]*Service{}
	for _, b := range blocks {
		if b.Type != "service" {
			continue
		}
		svc, d := decodeService(b, ctx)
		diags = append(diags, d...)
		if svc == nil {
			continue
		}
		if prev, ok := seen[svc.Name]; ok {
			diags = append(diags, duplicateDiag("service", svc.Name, prev.NameRange, svc.NameRange))
			continue
		}
		seen[svc.Name] = svc
		st.Services = append(st.Services, svc)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	for _, n := range declNames(decls) {
		v := decls[n].Variable
		st.Variables = append(st.Variables, &v)
	}
	if len(st.Services) == 0 && !diags.HasErrors() {
		diags = append(diags, errorDiag("No services",
			fmt.Sprintf("None of %d file(s) declares a service block. Add one, e.g. service \"web\" { image = \"web:1.0.0\" ... }.", len(files)), nil))
	}
	// Cross-service checks run even after decode errors so the user sees
	// every problem at once; they skip values that failed to decode.
	diags = append(diags, validateStack(st)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return st, diags
}
