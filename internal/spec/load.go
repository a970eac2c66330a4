package spec

import (
	"fmt"
	"runtime"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sync/errgroup"
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

// inParallel calls f(0) ... f(n-1) on one goroutine per core.
func inParallel(n int, f func(i int)) {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := 0; i < n; i++ {
		g.Go(func() error { f(i); return nil })
	}
	_ = g.Wait()
}

// releaseSyntax drops the syntax trees of the files read, keeping their
// bytes for diagnostics' snippets: the stack holds no reference into them,
// and a 1,000-service render needs their memory for its output.
func (p *Parser) releaseSyntax() {
	for name, f := range p.p.Files() {
		p.p.AddFile(name, &hcl.File{Bytes: f.Bytes, Body: hcl.EmptyBody()})
	}
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
	parsed, parseDiags := p.parseAll(files)
	var blocks []*hcl.Block
	for i, f := range parsed {
		diags = append(diags, parseDiags[i]...)
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
	for name, decl := range decls {
		if decl.Sensitive {
			values[name] = values[name].Mark(sensitive)
		}
	}
	ev := evalContext(values)

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
	st.Settings, d = decodeStack(stackBlock, ev)
	diags = append(diags, d...)

	// Services decode independently: in parallel, one worker per core,
	// results kept in file order.
	var svcBlocks []*hcl.Block
	for _, b := range blocks {
		if b.Type == "service" {
			svcBlocks = append(svcBlocks, b)
		}
	}
	decoded := make([]*Service, len(svcBlocks))
	decodeDiags := make([]hcl.Diagnostics, len(svcBlocks))
	inParallel(len(svcBlocks), func(i int) { decoded[i], decodeDiags[i] = decodeService(svcBlocks[i], ev) })
	seen := map[string]*Service{}
	for i, svc := range decoded {
		diags = append(diags, decodeDiags[i]...)
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
	st.IndexServices()
	for _, n := range declNames(decls) {
		v := decls[n].Variable
		st.Variables = append(st.Variables, &v)
	}
	if len(st.Services) == 0 && !diags.HasErrors() {
		diags = append(diags, errorDiag("No services",
			fmt.Sprintf("None of %d file(s) declares a service block. Add one, e.g. service \"web\" { image = \"web:1.0.0\" ... }.", len(files)), nil))
	}
	// Defaults that depend on other fields or the stack, then the
	// cross-service checks, which leave the model as it is. They run even
	// after decode errors so the user sees every problem at once; they
	// skip values that failed to decode.
	applyDefaults(st)
	diags = append(diags, validateStack(st)...)
	p.releaseSyntax()
	if diags.HasErrors() {
		return nil, diags
	}
	return st, diags
}
