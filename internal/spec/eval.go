package spec

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"github.com/zclconf/go-cty/cty/gocty"
)

// evalContext exposes var.<name> and a small set of pure string and
// collection functions; nothing that reads files, the clock or the network,
// so the same inputs always decode to the same stack. format() is left out:
// a width like "%999999999d" makes it allocate without bound, and string
// templates ("${...}") cover its use.
func evalContext(values map[string]cty.Value) *evaluator {
	vars := cty.EmptyObjectVal
	if len(values) > 0 {
		vars = cty.ObjectVal(values)
	}
	return &evaluator{bounds: newBoundScope(values), ctx: &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": vars},
		Functions: map[string]function.Function{
			"upper":     stdlib.UpperFunc,
			"lower":     stdlib.LowerFunc,
			"join":      stdlib.JoinFunc,
			"split":     stdlib.SplitFunc,
			"replace":   stdlib.ReplaceFunc,
			"trimspace": stdlib.TrimSpaceFunc,
			"concat":    stdlib.ConcatFunc,
			"coalesce":  stdlib.CoalesceFunc,
			"merge":     stdlib.MergeFunc,
			"min":       stdlib.MinFunc,
			"max":       stdlib.MaxFunc,
		},
	}}
}

// evaluator is what descriptor expressions are evaluated with: the
// context, and the size bounds of its variables for growthDiag.
type evaluator struct {
	ctx    *hcl.EvalContext
	bounds *boundScope
}

// sensitive marks the values of variables declared sensitive = true. cty
// carries a mark through every operation, so a value derived from one is
// recognised wherever it ends up (checkSensitive).
const sensitive = sensitiveMark("sensitive")

type sensitiveMark string

// checkSensitive refuses a value that carries the sensitive mark: every
// descriptor value ends up in clear in the Nomad job (and in plans and
// rendered files); a secret belongs in Vault. The diagnostic names the
// variables the expression reads, never the value.
func checkSensitive(val cty.Value, expr hcl.Expression, what string) *hcl.Diagnostic {
	if !val.ContainsMarked() {
		return nil
	}
	_, marks := val.UnmarkDeepWithPaths()
	found := false
	for _, pm := range marks {
		if _, ok := pm.Marks[sensitive]; ok {
			found = true
		}
	}
	if !found {
		return nil
	}
	var names []string
	for _, t := range expr.Variables() {
		if t.RootName() == "var" && len(t) > 1 {
			if a, ok := t[1].(hcl.TraverseAttr); ok {
				names = append(names, "var."+a.Name)
			}
		}
	}
	from := "a sensitive variable"
	if len(names) > 0 {
		from = "a sensitive variable (" + strings.Join(names, ", ") + ")"
	}
	return errorDiag("Sensitive value in "+what,
		fmt.Sprintf("This value comes from %s and would be stored in clear in the Nomad job, in plans and in rendered files. Put the secret in Vault and read it with a secret block (secret \"ENV_NAME\" { path = \"...\" key = \"...\" }).", from),
		rangePtr(expr.Range()))
}

// attrs decodes attribute values with one evaluation context, collecting
// diagnostics instead of stopping at the first.
type attrs struct {
	*evaluator
	diags hcl.Diagnostics
}

// eval evaluates an expression after checking the size of what it could
// produce (growthDiag) and refuses sensitive results; ok is false when
// that or the evaluation failed.
func (d *attrs) eval(e hcl.Expression, what string) (cty.Value, bool) {
	if g := growthDiag(e, d.bounds); g != nil {
		d.diags = append(d.diags, g)
		return cty.NilVal, false
	}
	val, diags := e.Value(d.ctx)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if s := checkSensitive(val, e, what); s != nil {
		d.diags = append(d.diags, s)
		return cty.NilVal, false
	}
	return val, true
}

// value evaluates a; ok is false when it failed or is null.
func (d *attrs) value(a *hcl.Attribute, ty cty.Type, what string) (cty.Value, bool) {
	val, ok := d.eval(a.Expr, what)
	if !ok {
		return cty.NilVal, false
	}
	if val.IsNull() {
		return cty.NilVal, false
	}
	if !val.IsWhollyKnown() {
		d.diags = append(d.diags, invalidValueDiag(what, "The value is not known; only variables and literal values can be used here.", a.Expr.Range()))
		return cty.NilVal, false
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		d.diags = append(d.diags, invalidValueDiag(what,
			fmt.Sprintf("%s must be %s: %s.", a.Name, ty.FriendlyName(), err), a.Expr.Range()))
		return cty.NilVal, false
	}
	return conv, true
}

func (d *attrs) str(a *hcl.Attribute, dst *string) bool {
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.String, a.Name)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

func (d *attrs) boolean(a *hcl.Attribute, dst *bool) bool {
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.Bool, a.Name)
	if ok {
		*dst = v.True()
	}
	return ok
}

// integer decodes a whole number within [min, max].
func (d *attrs) integer(a *hcl.Attribute, dst *int, min, max int) bool {
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.Number, a.Name)
	if !ok {
		return false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		d.diags = append(d.diags, invalidValueDiag(a.Name, fmt.Sprintf("%s must be a whole number.", a.Name), a.Expr.Range()))
		return false
	}
	if bf.Cmp(big.NewFloat(float64(min))) < 0 || bf.Cmp(big.NewFloat(float64(max))) > 0 {
		d.diags = append(d.diags, invalidValueDiag(a.Name,
			fmt.Sprintf("%s must be between %d and %d.", a.Name, min, max), a.Expr.Range()))
		return false
	}
	var n int
	if err := gocty.FromCtyValue(v, &n); err != nil {
		d.diags = append(d.diags, invalidValueDiag(a.Name, err.Error(), a.Expr.Range()))
		return false
	}
	*dst = n
	return true
}

// duration decodes a Go duration string ("10s", "1m30s") within [min, max].
func (d *attrs) duration(a *hcl.Attribute, dst *time.Duration, min, max time.Duration) bool {
	var s string
	if !d.str(a, &s) {
		return false
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.diags = append(d.diags, invalidValueDiag(a.Name,
			fmt.Sprintf("%q is not a duration; write a number with a unit, such as \"10s\", \"500ms\" or \"5m\".", s), a.Expr.Range()))
		return false
	}
	if dur < min || dur > max {
		d.diags = append(d.diags, invalidValueDiag(a.Name,
			fmt.Sprintf("%s must be between %s and %s.", a.Name, min, max), a.Expr.Range()))
		return false
	}
	*dst = dur
	return true
}

func (d *attrs) strList(a *hcl.Attribute, dst *[]string) bool {
	if a == nil {
		return false
	}
	v, ok := d.value(a, cty.List(cty.String), a.Name)
	if !ok {
		return false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.diags = append(d.diags, invalidValueDiag(a.Name, "The list must not contain null.", a.Expr.Range()))
			return false
		}
		out = append(out, e.AsString())
	}
	*dst = out
	return true
}
