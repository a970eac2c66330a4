package spec

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func loadSource(t *testing.T, src string, opts LoadOptions) (*Stack, hcl.Diagnostics) {
	t.Helper()
	fsys := fstest.MapFS{"s.hcl": {Data: []byte(src)}, "secret.vars.hcl": {Data: []byte("db_password = [\"hunter2-from-file\"]\n")}}
	done := make(chan struct{})
	var st *Stack
	var diags hcl.Diagnostics
	go func() {
		defer close(done)
		st, diags = NewParser(fsys).Load([]string{"s.hcl"}, opts)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not return within 10 s")
	}
	return st, diags
}

// envService is a valid service whose env value is %s.
const envService = `service "web" {
  image = "web:1.0.0"
  port "http" {
    container_port = 8080
  }
  health {
    path = "/healthz"
  }
  env = {
    VALUE = %s
  }
}
`

const sensitiveStack = `
variable "db_password" {
  type      = string
  sensitive = true
}
` + envService

// TestSensitiveVariablesNeverReachTheJob: a value derived from a sensitive
// variable is refused at the expression that uses it, and the value is
// printed nowhere.
func TestSensitiveVariablesNeverReachTheJob(t *testing.T) {
	const secret = "hunter2-top-secret"
	for _, use := range []string{
		"var.db_password",
		`"prefix-${var.db_password}"`,
		`upper(var.db_password)`,
		`var.db_password == "" ? "none" : "set"`,
		`join(",", [var.db_password])`,
	} {
		st, diags := loadSource(t, fmt.Sprintf(sensitiveStack, use), LoadOptions{Vars: []VarArg{{Value: "db_password=" + secret}}})
		if st != nil || !diags.HasErrors() {
			t.Errorf("%s: accepted", use)
			continue
		}
		if !strings.Contains(diags.Error(), "Sensitive value") || !strings.Contains(diags.Error(), "var.db_password") {
			t.Errorf("%s: %s", use, diags.Error())
		}
		for _, d := range diags {
			if strings.Contains(d.Summary+d.Detail, secret) || strings.Contains(strings.ToUpper(d.Summary+d.Detail), strings.ToUpper(secret)) {
				t.Errorf("%s: the value is printed: %s", use, d.Detail)
			}
		}
	}
	// The same stack without the mark is fine: the check is the mark.
	plain := strings.Replace(fmt.Sprintf(sensitiveStack, "var.db_password"), "sensitive = true", "sensitive = false", 1)
	if _, diags := loadSource(t, plain, LoadOptions{Vars: []VarArg{{Value: "db_password=x"}}}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	// A bad value for a sensitive variable in a var file is reported
	// without the line that holds it.
	_, diags := loadSource(t, fmt.Sprintf(sensitiveStack, `"x"`), LoadOptions{Vars: []VarArg{{File: true, Value: "secret.vars.hcl"}}})
	if !diags.HasErrors() {
		t.Fatal("a list for a string variable was accepted")
	}
	for _, d := range diags {
		if _, ok := hcl.DiagnosticExtra[NoSnippet](d); d.Subject != nil && d.Subject.Filename == "secret.vars.hcl" && !ok {
			t.Errorf("diagnostic about the sensitive value keeps its snippet: %s", d.Summary)
		}
	}
}

const growthStack = `
variable "s" {
  default = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
}
` + envService

// TestGrowingExpressionsRefused: expressions that multiply what they read
// are refused at the expression, before they are evaluated (each of these
// would allocate far more than the limit).
func TestGrowingExpressionsRefused(t *testing.T) {
	for _, expr := range []string{
		`replace(replace(replace(var.s, "", var.s), "", replace(var.s, "", var.s)), "", replace(replace(var.s, "", var.s), "", replace(var.s, "", var.s)))`,
		`join(replace(var.s, "", var.s), split("", replace(var.s, "", var.s)))`,
		`join("", [for a in split("", replace(var.s, "", var.s)) : join("", [for b in split("", replace(var.s, "", var.s)) : var.s])])`,
		`join("", concat([for a in split("", replace(var.s, "", var.s)) : replace(var.s, "", var.s)]))`,
		`"%{ for x in split("", replace(var.s, "", var.s)) }${replace(var.s, "", var.s)}%{ endfor }"`,
		`upper(upper(upper(replace(replace(var.s, "", var.s), "", var.s))))`,
	} {
		st, diags := loadSource(t, fmt.Sprintf(growthStack, expr), LoadOptions{})
		if st != nil || !strings.Contains(diags.Error(), "Invalid expression size") {
			t.Errorf("%s: not refused: %v", expr, diags)
			continue
		}
		if d := diags[0]; d.Subject == nil || d.Subject.Start.Line != 14 {
			t.Errorf("%s: not reported at the expression: %v", expr, d.Subject)
		}
	}
	// Ordinary uses stay within the bound.
	for _, expr := range []string{`upper(var.s)`, `join(",", [for x in ["a", "b"] : "${x}-${var.s}"])`, `replace(var.s, "0", "zero")`} {
		if _, diags := loadSource(t, fmt.Sprintf(growthStack, expr), LoadOptions{}); diags.HasErrors() {
			t.Errorf("%s: %s", expr, diags.Error())
		}
	}
}

// TestExpandedArgumentsAndNumbersBounded: f(list...) passes a list's
// elements as arguments, and a number becomes as many characters as it has
// digits; the bound once counted neither (an expanded argument as one
// missing argument, a number as 8), so these were evaluated in full. Each
// is refused at the expression (or at the number) before evaluation.
func TestExpandedArgumentsAndNumbersBounded(t *testing.T) {
	const rep = `replace([var.s, "", var.s]...)` // 64 + 65*64 bytes
	for _, tc := range []struct {
		expr, summary string
		col           int
	}{
		// 17 MiB: replace's argument 2 was the missing third argument.
		{`replace([` + rep + `, "", ` + rep + `]...)`, "Invalid expression size", 13},
		{`replace(` + rep + `, "", [` + rep + `]...)`, "Invalid expression size", 13},
		{`join("", [for x in [1, 2, 3, 4] : replace([` + rep + `, "", var.s]...)])`, "Invalid expression size", 13},
		// Numbers of 300,000 or 200,000 digits (each a few milliseconds to
		// write out), or arithmetic on a string that could spell one.
		{`"${1e300000}"`, "Invalid number", 16},
		{`"${1e200000}${1e200000}${1e200000}${1e200000}${1e200000}${1e200000}"`, "Invalid number", 16},
		{`upper(1e300000)`, "Invalid number", 19},
		{`"${"1e300000" * 1}"`, "Invalid number", 16},
		{`"${max("1e300000", 1)}"`, "Invalid number", 16},
		{`"${1e300 * 1e300}"`, "Invalid number", 16},
		{`"${"1e${300000}" * 1}"`, "Invalid number", 16},
	} {
		st, diags := loadSource(t, fmt.Sprintf(growthStack, tc.expr), LoadOptions{})
		if st != nil || len(diags) != 1 {
			t.Errorf("%s: not refused: %v", tc.expr, diags)
			continue
		}
		d := diags[0]
		if d.Summary != tc.summary || d.Subject == nil || d.Subject.Filename != "s.hcl" || d.Subject.Start.Line != 14 || d.Subject.Start.Column != tc.col {
			t.Errorf("%s: %s at %v, want %s at s.hcl:14:%d", tc.expr, d.Summary, d.Subject, tc.summary, tc.col)
		}
		if !strings.Contains(d.Detail, "MiB") && !strings.Contains(d.Detail, "digits") && !strings.Contains(d.Detail, "Compute with numbers") {
			t.Errorf("%s: the detail says nothing of the limit: %s", tc.expr, d.Detail)
		}
	}
	// Expansion, arithmetic and numbers that stay within the bounds.
	for _, expr := range []string{
		`join("-", [[var.s], ["x"]]...)`, `replace([var.s, "0", "zero"]...)`, `join(",", concat([[var.s], ["a"]]...))`,
		`"${8080 + 1}"`, `"${1e300}"`, `"${2 / 3}"`, `"${max(1, 2, 3) * 1024}"`, `"${-1.5e-10}"`,
		`join(",", [for p in [8080, 8081] : p + 1])`,
	} {
		if _, diags := loadSource(t, fmt.Sprintf(growthStack, expr), LoadOptions{}); diags.HasErrors() {
			t.Errorf("%s: %s", expr, diags.Error())
		}
	}
}

// TestVariableValuesBounded: -var values, STACKCTL_VAR_ variables and a
// variable's description go through the same bounds as the descriptor's
// expressions (a -var value was evaluated as given).
func TestVariableValuesBounded(t *testing.T) {
	const decl = "variable \"l\" {\n  type = list(string)\n  default = []\n}\n" + envService
	src := fmt.Sprintf(decl, `"x"`)
	deep := strings.Repeat("[", 10*MaxDepth) + strings.Repeat("]", 10*MaxDepth)
	for _, tc := range []struct {
		opts          LoadOptions
		summary, file string
		col           int
	}{
		{LoadOptions{Vars: []VarArg{{Value: `l=["${1e300000}"]`}}}, "Invalid number", "-var l", 5},
		{LoadOptions{Vars: []VarArg{{Value: "l=" + deep}}}, "Nesting too deep", "-var l", MaxDepth + 1},
		{LoadOptions{Environ: []string{"STACKCTL_VAR_l=" + deep}}, "Nesting too deep", "environment variable STACKCTL_VAR_l", MaxDepth + 1},
		{LoadOptions{Vars: []VarArg{{Value: `l=[for a in ["a"] : [for b in [a] : [for c in [b] : c]]]`}}}, "For expressions nested too deep", "-var l", 35},
	} {
		_, diags := loadSource(t, src, tc.opts)
		if len(diags) != 1 {
			t.Errorf("%v: want one error, got %v", tc.opts, diags)
			continue
		}
		if d := diags[0]; d.Summary != tc.summary || d.Subject == nil || d.Subject.Filename != tc.file || d.Subject.Start.Line != 1 || d.Subject.Start.Column != tc.col {
			t.Errorf("%v: %s at %v, want %s at %s:1:%d", tc.opts, d.Summary, d.Subject, tc.summary, tc.file, tc.col)
		}
	}
	described := strings.Replace(src, "default = []", `description = "${1e300000}"`+"\n  default = []", 1)
	if _, diags := loadSource(t, described, LoadOptions{}); len(diags) != 1 || diags[0].Summary != "Invalid number" || diags[0].Subject.Start.Line != 3 {
		t.Errorf("description: %v", diags)
	}
}

// FuzzExprBound checks that exprBound is an upper bound: whatever
// expression evaluates, its result is no larger than the bound said.
func FuzzExprBound(f *testing.F) {
	for _, s := range []string{
		`replace(var.s, "", var.s)`, `join("-", split("", var.s))`, `[for a in split("", var.s) : "${a}${a}"]`,
		`{for k, v in {a = var.s} : k => upper(v)}`, `concat([var.s], split(",", "a,b"))`, `var.s == "" ? [] : [var.s]`,
		`merge({a = var.s}, {b = 1})`, `[var.s, var.s][0]`, `[for a in ["x"] : [for b in [a, var.s] : b]]`,
		// Expanded arguments, and numbers written out as text (a single
		// "${x}" is x itself, so text around it): the bound once missed
		// these, and most evaluated to more than it said.
		`replace(["abcdefgh", "", "abcdefgh"]...)`, `replace("abcdefgh", ["", "abcdefgh"]...)`,
		`join(["-", [var.s, var.s, var.s, var.s]]...)`, `concat([[var.s], [var.s]]...)`,
		`"x${1e300}"`, `"x${-1e-30}"`, `"x${2 / 3}"`, `"x${1e150 * 1e150}"`, `"x${"1e300" * 1}"`,
		`"x${max("1e300", 1)}"`, `upper(1e300)`, `[for x in [1e300] : "x${x}"]`, `{for x in [1e100] : x => x}`,
	} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, src, s string) {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "f.hcl", hcl.InitialPos)
		if diags.HasErrors() || forNesting(expr) != nil {
			return // loads refuse for expressions nested deeper
		}
		ev := evalContext(map[string]cty.Value{"s": cty.StringVal(s)})
		bound := exprBound(expr, ev.bounds)
		if bound > 1<<16 {
			return // too large to evaluate quickly; refused in real loads
		}
		val, diags := expr.Value(ev.ctx)
		if diags.HasErrors() || !val.IsWhollyKnown() {
			return
		}
		if got := valueSize(val); got > bound {
			t.Fatalf("%s evaluated to size %v, above its bound %v", src, got, bound)
		}
	})
}

// TestNumberTextBound: a number's text (what "${x}" makes of it) is never
// longer than numInfo says, whatever its magnitude and fraction.
func TestNumberTextBound(t *testing.T) {
	var nums []cty.Value
	for e := -MaxNumberDigits; e <= MaxNumberDigits; e += 7 {
		for _, m := range []string{"1", "-9.99999", "1.2345678901234567890123456789", "7"} {
			nums = append(nums, cty.MustParseNumberVal(fmt.Sprintf("%se%d", m, e)))
		}
		third := cty.MustParseNumberVal(fmt.Sprintf("1e%d", e)).Divide(cty.NumberIntVal(3))
		nums = append(nums, third, third.Negate(), cty.NumberIntVal(int64(e)), cty.NumberFloatVal(float64(e)/7))
	}
	for _, n := range nums {
		text := n.AsBigFloat().Text('f', -1)
		if got, bound := float64(len(text)+1), valueSize(n); got > bound {
			t.Errorf("%s: %d characters, bound %v", text, len(text), bound)
		}
	}
}
