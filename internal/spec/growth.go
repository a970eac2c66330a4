package spec

import (
	"math"
	"math/big"
	"strconv"
	"strings"

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
//
// Numbers count by the length of their text: cty writes a number out in
// full when it becomes a string ("${1e9}" is ten characters, "${1e-99999999}"
// a hundred million, and writing it out takes time quadratic in that), so a
// number is as large as its digits, and one beyond MaxNumberDigits is
// refused wherever it could appear.
const MaxValueSize = 1 << 20

// MaxNumberDigits bounds the digits of a number before its decimal point,
// or the zeros after it: about 10^±400, beyond any float64, and cheap to
// write out (1e-400 takes a third of a millisecond).
const MaxNumberDigits = 400

// refused is a bound that growthDiag always refuses.
const refused = MaxValueSize + 1

// valueSize is the size measure of a value: string bytes plus one per
// value, so it bounds both a string's length and a collection's count.
func valueSize(v cty.Value) float64 {
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull() || !v.IsKnown():
		return 1
	case v.Type() == cty.String:
		return float64(len(v.AsString())) + 1
	case v.Type() == cty.Number:
		return numOf(v.AsBigFloat()).text()
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

// numInfo bounds the numbers a value could be or turn into (a string
// becomes a number in arithmetic, min and max): the magnitude of their
// binary exponent (big.Float's MantExp) and whether one may have a
// fractional part. Strings matter because "1e99999999" is eleven bytes.
type numInfo struct {
	exp  float64 // |binary exponent| at most this; +Inf: unknown
	frac bool
}

var unknownNum = numInfo{exp: math.Inf(1), frac: true}

func (a numInfo) or(b numInfo) numInfo { return numInfo{max(a.exp, b.exp), a.frac || b.frac} }

// text bounds the length of a number's text plus one, as valueSize counts:
// the digits before the point, or the zeros after it, then a fraction of
// at most 156 significant digits (cty's numbers have 512 bits), the sign
// and the point.
func (a numInfo) text() float64 {
	digits := math.Ceil((a.exp+1)*math.Log10(2)) + 1
	if digits > MaxNumberDigits {
		return refused
	}
	if a.frac {
		return digits + 160
	}
	return digits + 2
}

func numOf(f *big.Float) numInfo {
	if f.IsInf() {
		return numInfo{exp: 8} // "+Inf"
	}
	return numInfo{exp: math.Abs(float64(f.MantExp(nil))), frac: !f.IsInt()}
}

// strNum bounds the number a string converts to (big.ParseFloat, base 10):
// at most as many decimal digits as the string has, times ten to its
// exponent. A string that does not start like a number fails at once.
func strNum(str string) numInfo {
	if str == "" || !strings.ContainsRune("+-.0123456789", rune(str[0])) {
		return numInfo{}
	}
	digits := float64(len(str))
	if i := strings.LastIndexAny(str, "eEpP"); i >= 0 {
		if x, err := strconv.ParseInt(str[i+1:], 10, 64); err == nil {
			digits += math.Abs(float64(x)) // a binary exponent counts as decimal: more, never less
		}
	}
	return numInfo{exp: math.Ceil((digits + 1) * math.Log2(10)), frac: true}
}

// valueNum is numInfo over every number and string in v, map keys too.
func valueNum(v cty.Value) numInfo {
	v, _ = v.UnmarkDeep()
	switch {
	case v.IsNull() || !v.IsKnown():
		return numInfo{}
	case v.Type() == cty.String:
		return strNum(v.AsString())
	case v.Type() == cty.Number:
		return numOf(v.AsBigFloat())
	case v.CanIterateElements():
		keyed := v.Type().IsMapType() || v.Type().IsObjectType()
		n := numInfo{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			n = n.or(valueNum(e))
			if keyed {
				n = n.or(valueNum(k))
			}
		}
		return n
	}
	return numInfo{}
}

// boundScope resolves names to the size bounds of their values: the
// variables, and the iteration variables of enclosing for expressions.
type boundScope struct {
	vars    map[string]float64 // var.<name>
	varNums map[string]numInfo
	all     float64 // var as a whole
	allNum  numInfo
	locals  map[string]localBound
}

type localBound struct {
	size float64
	num  numInfo
}

func newBoundScope(values map[string]cty.Value) *boundScope {
	s := &boundScope{vars: map[string]float64{}, varNums: map[string]numInfo{}, all: 1}
	for name, v := range values {
		s.vars[name] = valueSize(v)
		s.all += s.vars[name]
		s.varNums[name] = valueNum(v)
		s.allNum = s.allNum.or(s.varNums[name])
	}
	return s
}

func (s *boundScope) with(names []string, bounds ...localBound) *boundScope {
	inner := &boundScope{vars: s.vars, varNums: s.varNums, all: s.all, allNum: s.allNum, locals: map[string]localBound{}}
	for k, v := range s.locals {
		inner.locals[k] = v
	}
	for i, n := range names {
		if n != "" {
			inner.locals[n] = bounds[i]
		}
	}
	return inner
}

func (s *boundScope) traversal(t hcl.Traversal) float64 {
	root := t.RootName()
	if l, ok := s.locals[root]; ok {
		return l.size
	}
	if root == "var" && len(t) > 1 {
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			return s.vars[a.Name] + 1
		}
		return s.all
	}
	return 1 // anything else fails to evaluate
}

func (s *boundScope) traversalNum(t hcl.Traversal) numInfo {
	root := t.RootName()
	if l, ok := s.locals[root]; ok {
		return l.num
	}
	if root == "var" && len(t) > 1 {
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			return s.varNums[a.Name]
		}
		return s.allNum
	}
	return numInfo{}
}

// exprBound is an upper bound of valueSize of e's result. Every branch
// over-estimates, never under-, so a bound within the limit proves the
// evaluation stays within it. It is also at least the bounds of the
// operands an expression evaluates, so it bounds the work too: a for
// expression's body counts what each iteration computes, even what it
// only compares.
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
	case *hclsyntax.BinaryOpExpr:
		operands := exprBound(x.LHS, s) + exprBound(x.RHS, s)
		if x.Op.Type == cty.Number {
			return exprNum(x, s).text() + operands
		}
		return 8 + operands // a bool
	case *hclsyntax.UnaryOpExpr:
		if x.Op == hclsyntax.OpNegate {
			return exprNum(x, s).text() + exprBound(x.Val, s)
		}
		return 8 + exprBound(x.Val, s)
	case *hclsyntax.ForExpr:
		// The body runs once per element, each iteration variable at most
		// the whole collection.
		coll := exprBound(x.CollExpr, s)
		inner := s.forScope(x, coll)
		body := exprBound(x.ValExpr, inner) + 1
		if x.KeyExpr != nil {
			body += exprBound(x.KeyExpr, inner)
		}
		if x.CondExpr != nil {
			body += exprBound(x.CondExpr, inner)
		}
		return coll * body
	case *hclsyntax.FunctionCallExpr:
		return callBound(x, s)
	}
	return MaxValueSize + 1 // an expression this bound does not know: refuse
}

// forScope binds a for expression's iteration variables: each at most the
// whole collection; the key of a list is an index, a number below its
// length.
func (s *boundScope) forScope(x *hclsyntax.ForExpr, coll float64) *boundScope {
	num := exprNum(x.CollExpr, s)
	key := localBound{size: coll, num: num.or(numInfo{exp: math.Ceil(math.Log2(coll + 1))})}
	return s.with([]string{x.KeyVar, x.ValVar}, key, localBound{size: coll, num: num})
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
	// f(list...) passes the list's elements as the arguments from the
	// last one on: as many as it has, each at most the whole list.
	arg := func(i int) float64 {
		switch {
		case c.ExpandFinal && i >= len(args)-1:
			return args[len(args)-1]
		case i < len(args):
			return args[i]
		}
		return 1 // a missing argument fails the call
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
		return sum + arg(0) + (arg(0)+1)*arg(2)
	case "min", "max":
		// A number, from numbers or from strings that parse as one.
		return exprNum(c, s).text() + sum
	}
	// concat, merge, coalesce, trimspace: no more than the arguments
	// together.
	return sum
}

// exprNum bounds the numbers e's result could be or turn into (numInfo),
// for arithmetic, min and max, whose results are as long as their text.
// A string computed by a template or a string function could spell any
// number, so it is unknown: arithmetic on it is refused.
func exprNum(e hcl.Expression, s *boundScope) numInfo {
	switch x := e.(type) {
	case *hclsyntax.LiteralValueExpr:
		return valueNum(x.Val)
	case *hclsyntax.ScopeTraversalExpr:
		return s.traversalNum(x.Traversal)
	case *hclsyntax.RelativeTraversalExpr:
		return exprNum(x.Source, s)
	case *hclsyntax.ParenthesesExpr:
		return exprNum(x.Expression, s)
	case *hclsyntax.TemplateWrapExpr:
		// "${x}" is x's text, which reads back as x.
		return exprNum(x.Wrapped, s)
	case *hclsyntax.TemplateExpr:
		var lit strings.Builder
		for _, p := range x.Parts {
			l, ok := p.(*hclsyntax.LiteralValueExpr)
			if !ok || l.Val.Type() != cty.String || l.Val.IsNull() {
				return unknownNum
			}
			lit.WriteString(l.Val.AsString())
		}
		return strNum(lit.String())
	case *hclsyntax.TupleConsExpr:
		n := numInfo{}
		for _, item := range x.Exprs {
			n = n.or(exprNum(item, s))
		}
		return n
	case *hclsyntax.ObjectConsExpr:
		n := numInfo{}
		for _, item := range x.Items {
			n = n.or(exprNum(item.KeyExpr, s)).or(exprNum(item.ValueExpr, s))
		}
		return n
	case *hclsyntax.ObjectConsKeyExpr:
		if t, ok := x.Wrapped.(*hclsyntax.ScopeTraversalExpr); ok && !x.ForceNonLiteral && len(t.Traversal) == 1 {
			return strNum(t.Traversal.RootName())
		}
		return exprNum(x.Wrapped, s)
	case *hclsyntax.ConditionalExpr:
		return exprNum(x.TrueResult, s).or(exprNum(x.FalseResult, s))
	case *hclsyntax.IndexExpr:
		return exprNum(x.Collection, s)
	case *hclsyntax.SplatExpr:
		return exprNum(x.Source, s)
	case *hclsyntax.ForExpr:
		inner := s.forScope(x, exprBound(x.CollExpr, s))
		n := exprNum(x.ValExpr, inner)
		if x.KeyExpr != nil {
			n = n.or(exprNum(x.KeyExpr, inner))
		}
		return n
	case *hclsyntax.UnaryOpExpr:
		if x.Op == hclsyntax.OpNegate {
			return exprNum(x.Val, s)
		}
		return numInfo{}
	case *hclsyntax.BinaryOpExpr:
		if x.Op.Type != cty.Number {
			return numInfo{} // a bool
		}
		a, b := exprNum(x.LHS, s), exprNum(x.RHS, s)
		switch x.Op {
		case hclsyntax.OpMultiply:
			return numInfo{exp: a.exp + b.exp + 1, frac: a.frac || b.frac}
		case hclsyntax.OpDivide:
			return numInfo{exp: a.exp + b.exp + 1, frac: true}
		}
		// Sums, differences and remainders: at most twice the larger
		// operand, and where fractions cancel, down to its last bit of
		// 512 (cty's precision). Integers stay at least 1 unless 0.
		if !a.frac && !b.frac {
			return numInfo{exp: max(a.exp, b.exp) + 2}
		}
		return numInfo{exp: max(a.exp, b.exp) + 514, frac: true}
	case *hclsyntax.FunctionCallExpr:
		switch x.Name {
		case "min", "max", "coalesce", "concat", "merge":
			// One of the arguments, or all of their elements.
			n := numInfo{}
			for _, a := range x.Args {
				n = n.or(exprNum(a, s))
			}
			return n
		}
	}
	return unknownNum
}

// growthDiag refuses e when its result could exceed MaxValueSize, at the
// number that is too long when one is.
func growthDiag(e hcl.Expression, s *boundScope) *hcl.Diagnostic {
	b := exprBound(e, s)
	if b <= MaxValueSize {
		return nil
	}
	if d := numberCulprit(e, s); d != nil {
		return d
	}
	return expressionSizeDiag(b, e.Range())
}

// numberCulprit finds the number literal, arithmetic or min/max call whose
// result could be too long to write out, to point at it: the first one,
// and in it the innermost; nil when the bound refused e for other reasons.
// It does not follow the iteration variables of for expressions (they
// count as small here).
func numberCulprit(e hcl.Expression, s *boundScope) *hcl.Diagnostic {
	node, ok := e.(hclsyntax.Node)
	if !ok {
		return nil
	}
	var found []*hcl.Diagnostic // in the order VisitAll enters them: parents first
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		var num numInfo
		switch x := n.(type) {
		case *hclsyntax.LiteralValueExpr:
			if x.Val.Type() != cty.Number {
				return nil
			}
			num = valueNum(x.Val)
		case *hclsyntax.BinaryOpExpr:
			if x.Op.Type != cty.Number {
				return nil
			}
			num = exprNum(x, s)
		case *hclsyntax.UnaryOpExpr:
			if x.Op != hclsyntax.OpNegate {
				return nil
			}
			num = exprNum(x, s)
		case *hclsyntax.FunctionCallExpr:
			if x.Name != "min" && x.Name != "max" {
				return nil
			}
			num = exprNum(x, s)
		default:
			return nil
		}
		if num.text() > MaxValueSize {
			found = append(found, numberDiag(math.IsInf(num.exp, 1), n.Range()))
		}
		return nil
	})
	if len(found) == 0 {
		return nil
	}
	first, innermost := found[0].Subject, found[0]
	for _, d := range found[1:] {
		if first.ContainsOffset(d.Subject.Start.Byte) {
			innermost = d
		}
	}
	return innermost
}
