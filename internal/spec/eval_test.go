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

// FuzzExprBound checks that exprBound is an upper bound: whatever
// expression evaluates, its result is no larger than the bound said.
func FuzzExprBound(f *testing.F) {
	for _, s := range []string{
		`replace(var.s, "", var.s)`, `join("-", split("", var.s))`, `[for a in split("", var.s) : "${a}${a}"]`,
		`{for k, v in {a = var.s} : k => upper(v)}`, `concat([var.s], split(",", "a,b"))`, `var.s == "" ? [] : [var.s]`,
		`merge({a = var.s}, {b = 1})`, `[var.s, var.s][0]`, `[for a in ["x"] : [for b in [a, var.s] : b]]`,
	} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, src, s string) {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "f.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			return
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
