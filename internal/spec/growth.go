package spec

import (
	"fmt"
	"math"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// MaxValueSize bounds what one attribute's expression may produce, in
// bytes (strings) plus one per element (collections). A descriptor is
// small, but functions and templates multiply: replace() of a string by
// itself squares its length, nested calls repeat that, a for expression
// repeats its body per element, and "${var.x}" repeated copies a variable
// as often as it is written. So before an expression is evaluated, an
// upper bound of its result is computed from its syntax and the sizes of
// the variables it reads (exprBound); beyond the limit it is refused at
// the expression, without evaluating it.
const MaxValueSize = 1 << 20

// valueSize is the size measure of a value: string bytes plus one per
// value, so it bounds both a string's length and a collection's count.
func valueSize(v cty.Value) float64 {
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull() || !v.IsKnown():
		return 1
	case v.Type() == cty.String:
		return float64(len(v.AsString())) + 1
	case v.Type().IsPrimitiveType():
		return 8
	case v.CanIterateElements():
		keyed := v.Type().IsMapType() || v.Type().IsObjectType()
		n := 1.0
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			n += valueSize(e)
			if keyed {
				n += valueSize(k)
			}
		}
		return n
	}
	return 1
}

// boundScope resolves names to the size bounds of their values: the
// variables, and the iteration variables of enclosing for expressions.
type boundScope struct {
	vars   map[string]float64 // var.<name>
	all    float64            // var as a whole
	locals map[string]float64
}

func newBoundScope(values map[string]cty.Value) *boundScope {
	s := &boundScope{vars: map[string]float64{}, all: 1}
	for name, v := range values {
		s.vars[name] = valueSize(v)
		s.all += s.vars[name]
	}
	return s
}

func (s *boundScope) with(names []string, size float64) *boundScope {
	inner := &boundScope{vars: s.vars, all: s.all, locals: map[string]float64{}}
	for k, v := range s.locals {
		inner.locals[k] = v
	}
	for _, n := range names {
		if n != "" {
			inner.locals[n] = size
		}
	}
	return inner
}

func (s *boundScope) traversal(t hcl.Traversal) float64 {
	root := t.RootName()
	if size, ok := s.locals[root]; ok {
		return size
	}
	if root == "var" && len(t) > 1 {
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			return s.vars[a.Name] + 1
		}
		return s.all
	}
	return 1 // anything else fails to evaluate
}

// exprBound is an upper bound of valueSize of e's result. Every branch
// over-estimates, never under-, so a bound within the limit proves the
// evaluation stays within it.
func exprBound(e hcl.Expression, s *boundScope) float64 {
	switch x := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return valueSize(x.Val)
	case *hclsyntax.ScopeTraversalExpr:
		return s.traversal(x.Traversal)
	case *hclsyntax.RelativeTraversalExpr:
		return exprBound(x.Source, s)
	case *hclsyntax.ParenthesesExpr:
		return exprBound(x.Expression, s)
	case *hclsyntax.TemplateWrapExpr:
		return exprBound(x.Wrapped, s)
	case *hclsyntax.TemplateJoinExpr:
		return exprBound(x.Tuple, s)
	case *hclsyntax.TemplateExpr:
		n := 1.0
		for _, p := range x.Parts {
			n += exprBound(p, s)
		}
		return n
	case *hclsyntax.TupleConsExpr:
		n := 1.0
		for _, item := range x.Exprs {
			n += exprBound(item, s)
		}
		return n
	case *hclsyntax.ObjectConsExpr:
		n := 1.0
		for _, item := range x.Items {
			n += exprBound(item.KeyExpr, s) + exprBound(item.ValueExpr, s)
		}
		return n
	case *hclsyntax.ObjectConsKeyExpr:
		// A bare word is the key's literal name, not a reference.
		if t, ok := x.Wrapped.(*hclsyntax.ScopeTraversalExpr); ok && !x.ForceNonLiteral && len(t.Traversal) == 1 {
			return float64(len(t.Traversal.RootName())) + 1
		}
		return exprBound(x.Wrapped, s)
	case *hclsyntax.ConditionalExpr:
		return max(exprBound(x.TrueResult, s), exprBound(x.FalseResult, s)) + exprBound(x.Condition, s)
	case *hclsyntax.IndexExpr:
		return exprBound(x.Collection, s) + exprBound(x.Key, s)
	case *hclsyntax.SplatExpr:
		return 2 * exprBound(x.Source, s)
	case *hclsyntax.BinaryOpExpr, *hclsyntax.UnaryOpExpr:
		return 8 // numbers and bools
	case *hclsyntax.ForExpr:
		// The body runs once per element, each iteration variable at most
		// the whole collection.
		coll := exprBound(x.CollExpr, s)
		inner := s.with([]string{x.KeyVar, x.ValVar}, coll)
		body := exprBound(x.ValExpr, inner) + 1
		if x.KeyExpr != nil {
			body += exprBound(x.KeyExpr, inner)
		}
		return coll * body
	case *hclsyntax.FunctionCallExpr:
		return callBound(x, s)
	}
	return MaxValueSize + 1 // an expression this bound does not know: refuse
}

// callBound bounds the functions of evalContext; an unknown function
// fails when called, so its arguments bound it.
func callBound(c *hclsyntax.FunctionCallExpr, s *boundScope) float64 {
	args := make([]float64, len(c.Args))
	sum := 1.0
	for i, a := range c.Args {
		args[i] = exprBound(a, s)
		sum += args[i]
	}
	arg := func(i int) float64 {
		if i < len(args) {
			return args[i]
		}
		return 1
	}
	switch c.Name {
	case "upper", "lower":
		return 2 * sum // a case mapping grows UTF-8 by at most half
	case "join":
		// Every element gets a separator: elements <= the lists' size.
		return sum + arg(0)*sum
	case "split":
		return 2*sum + 1
	case "replace":
		// Each match (or each character, for "") gets the replacement.
		return arg(0) + (arg(0)+1)*arg(2)
	}
	// concat, merge, coalesce, min, max, trimspace: no more than the
	// arguments together.
	return sum
}

// growthDiag refuses e when its result could exceed MaxValueSize.
func growthDiag(e hcl.Expression, s *boundScope) *hcl.Diagnostic {
	b := exprBound(e, s)
	if b <= MaxValueSize {
		return nil
	}
	size := "more than 1 TiB"
	if b < math.Ldexp(1, 40) {
		size = fmt.Sprintf("up to %d MiB", int64(b)>>20)
	}
	return invalidValueDiag("expression size",
		fmt.Sprintf("This expression could produce %s (functions, templates and for expressions multiply what they read); a descriptor value is limited to %d MiB. Write the value more directly, or pass it as a smaller variable.",
			size, MaxValueSize>>20), e.Range())
}
