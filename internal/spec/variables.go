package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix marks environment variables that set input variables, as
// TF_VAR_ does for Terraform.
const EnvVarPrefix = "STACKCTL_VAR_"

// VarArg is one -var or -var-file flag, kept in command-line order because
// later flags override earlier ones.
type VarArg struct {
	File  bool // true: -var-file=Value; false: -var Value ("name=value")
	Value string
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
	},
}

type variableDecl struct {
	Variable
	Type    cty.Type
	Default cty.Value // cty.NilVal when required
}

func decodeVariable(block *hcl.Block) (*variableDecl, hcl.Diagnostics) {
	v := &variableDecl{Variable: Variable{Name: block.Labels[0], DeclRange: at(block.DefRange)}, Type: cty.DynamicPseudoType}
	content, diags := block.Body.Content(variableSchema)
	if !hclsyntax.ValidIdentifier(v.Name) {
		diags = append(diags, invalidValueDiag("variable name",
			"A variable name must start with a letter or underscore and hold only letters, digits, underscores and dashes.",
			block.LabelRanges[0]))
	}
	if a, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Type = ty
		}
	}
	// description and sensitive are evaluated as literals, under the same
	// size bound as every expression.
	literal := func(e hcl.Expression) (cty.Value, hcl.Diagnostics) {
		if g := growthDiag(e, newBoundScope(nil)); g != nil {
			return cty.NilVal, hcl.Diagnostics{g}
		}
		return e.Value(nil)
	}
	if a, ok := content.Attributes["description"]; ok {
		val, d := literal(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() && val.Type() == cty.String && val.IsKnown() && !val.IsNull() {
			v.Description = val.AsString()
		}
	}
	if a, ok := content.Attributes["sensitive"]; ok {
		val, d := literal(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if val.Type() != cty.Bool || val.IsNull() {
				diags = append(diags, invalidValueDiag("sensitive", "sensitive must be true or false.", a.Expr.Range()))
			} else {
				v.Sensitive = val.True()
			}
		}
	}
	if a, ok := content.Attributes["default"]; ok {
		val, d := literal(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			conv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, invalidValueDiag("default value",
					fmt.Sprintf("The default does not fit the variable's type: %s.", err), a.Expr.Range()))
			} else {
				v.Default = conv
			}
		}
	}
	return v, diags
}

// resolveVariables computes every variable's value from, lowest precedence
// first: the default, STACKCTL_VAR_<name> environment variables, then
// -var-file and -var flags in the order given.
func (p *Parser) resolveVariables(decls map[string]*variableDecl, args []VarArg, environ []string) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	values := map[string]cty.Value{}
	for name, d := range decls {
		if d.Default != cty.NilVal {
			values[name] = d.Default
		}
	}
	// Environment: undeclared names are ignored, as a shell may hold
	// variables for other stacks.
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvVarPrefix) {
			continue
		}
		name, raw, _ := strings.Cut(strings.TrimPrefix(kv, EnvVarPrefix), "=")
		d, ok := decls[name]
		if !ok {
			continue
		}
		val, dd := parseRawValue(d, raw, "environment variable "+EnvVarPrefix+name)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			values[name] = val
		}
	}
	for _, arg := range args {
		if arg.File {
			dd := p.applyVarFile(decls, arg.Value, values)
			diags = append(diags, dd...)
			continue
		}
		name, raw, ok := strings.Cut(arg.Value, "=")
		if !ok || name == "" {
			diags = append(diags, errorDiag("Invalid -var option",
				fmt.Sprintf("The option -var %q is not of the form NAME=VALUE, e.g. -var replicas=3.", arg.Value), nil))
			continue
		}
		d, ok := decls[name]
		if !ok {
			diags = append(diags, errorDiag("Undeclared variable",
				fmt.Sprintf("-var sets %q, which no variable block declares.%s Declare it with a variable %q block.",
					name, didYouMean(name, declNames(decls)), name), nil))
			continue
		}
		val, dd := parseRawValue(d, raw, "-var "+name)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			values[name] = val
		}
	}
	for _, name := range declNames(decls) {
		if _, ok := values[name]; !ok {
			d := decls[name]
			diags = append(diags, errorDiag("No value for required variable",
				fmt.Sprintf("The variable %q has no default. Set it with -var %s=..., a -var-file, or %s%s.",
					name, name, EnvVarPrefix, name), rangePtr(d.DeclRange)))
		}
	}
	return values, diags
}

// parseRawValue reads a value given on the command line or in the
// environment: taken literally for string variables, parsed as an HCL
// expression otherwise (Terraform's rule).
func parseRawValue(d *variableDecl, raw, source string) (cty.Value, hcl.Diagnostics) {
	if d.Type == cty.String {
		return cty.StringVal(raw), nil
	}
	// The same limits as a file's expressions: nesting before the parser,
	// for expressions and the size bound before evaluation. Their
	// diagnostics are located in the value, under the name of its source.
	if n := checkNesting(source, []byte(raw)); n != nil {
		return cty.NilVal, hcl.Diagnostics{n}
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), source, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilVal, hcl.Diagnostics{errorDiag("Invalid value for variable",
			fmt.Sprintf("The value given by %s for %q is not a valid expression: %s.", source, d.Name, diags[0].Summary), nil)}
	}
	if n := forNesting(expr); n != nil {
		return cty.NilVal, hcl.Diagnostics{n}
	}
	if g := growthDiag(expr, newBoundScope(nil)); g != nil {
		return cty.NilVal, hcl.Diagnostics{g}
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, hcl.Diagnostics{errorDiag("Invalid value for variable",
			fmt.Sprintf("The value given by %s for %q is not a valid %s literal (%s); write it in HCL syntax, e.g. 3, true, [\"a\"] or {k = \"v\"}.",
				source, d.Name, d.Type.FriendlyName(), diags[0].Summary), nil)}
	}
	if d.Type == cty.DynamicPseudoType {
		return val, nil
	}
	conv, err := convert.Convert(val, d.Type)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{errorDiag("Invalid value for variable",
			fmt.Sprintf("The value given by %s for %q does not fit its type %s: %s.",
				source, d.Name, d.Type.FriendlyName(), err), nil)}
	}
	return conv, nil
}

func (p *Parser) applyVarFile(decls map[string]*variableDecl, name string, values map[string]cty.Value) hcl.Diagnostics {
	f, diags := p.ParseFile(name)
	if f == nil || diags.HasErrors() {
		return diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := attrs[n]
		decl, ok := decls[n]
		if !ok {
			diags = append(diags, warningDiag("Value for undeclared variable",
				fmt.Sprintf("The file sets %q, which no variable block declares; it is ignored.%s", n, didYouMean(n, declNames(decls))),
				rangePtr(a.NameRange)))
			continue
		}
		var dd hcl.Diagnostics
		if g := growthDiag(a.Expr, newBoundScope(nil)); g != nil {
			dd = hcl.Diagnostics{g}
		}
		var val cty.Value
		if !dd.HasErrors() {
			val, dd = a.Expr.Value(nil)
		}
		if !dd.HasErrors() {
			conv, err := convert.Convert(val, decl.Type)
			if err == nil {
				values[n] = conv
				continue
			}
			dd = hcl.Diagnostics{invalidValueDiag("value for variable",
				fmt.Sprintf("The value for %q does not fit its type %s: %s.", n, decl.Type.FriendlyName(), err), a.Expr.Range())}
		}
		if decl.Sensitive {
			// The snippet would print the line holding the value.
			dd = hideSnippets(dd)
		}
		diags = append(diags, dd...)
	}
	return diags
}

func declNames(decls map[string]*variableDecl) []string {
	names := make([]string, 0, len(decls))
	for n := range decls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
