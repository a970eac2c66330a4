package spec

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// lexerDepth is checkNesting's measure computed over hclsyntax's own
// tokens: slow (a second lexing of every file) but exact about what is
// code, a string or a comment. It returns the depth after each counted
// token, by the token's byte offset.
func lexerDepth(src []byte) map[int]int {
	toks, _ := hclsyntax.LexConfig(src, "f.hcl", hcl.InitialPos)
	s := newDepthScan(src, 1<<30)
	s.trace = map[int]int{}
	prevEnds := false
	for i, t := range toks {
		off := t.Range.Start.Byte
		ends := false
		switch t.Type {
		case hclsyntax.TokenComment, hclsyntax.TokenNewline:
			continue
		case hclsyntax.TokenOBrack:
			if prevEnds {
				s.operator(off)
			}
			s.open('[', off)
		case hclsyntax.TokenOBrace:
			s.open('{', off)
		case hclsyntax.TokenOParen:
			s.open('(', off)
		case hclsyntax.TokenOQuote:
			s.open(frameQuote, off)
		case hclsyntax.TokenOHeredoc:
			s.open(frameHeredoc, off)
		case hclsyntax.TokenTemplateInterp:
			s.open(frameInterp, off)
		case hclsyntax.TokenTemplateControl:
			s.open(frameControl, off)
			dir := byte('?')
			if i+1 < len(toks) && toks[i+1].Type == hclsyntax.TokenIdent {
				dir = directiveKeyword(toks[i+1].Bytes)
			}
			s.frames[len(s.frames)-1].dir = dir
		case hclsyntax.TokenCBrack:
			s.close('[')
			ends = true
		case hclsyntax.TokenCBrace:
			s.close('{')
			ends = true
		case hclsyntax.TokenCParen:
			s.close('(')
			ends = true
		case hclsyntax.TokenCQuote:
			s.close(frameQuote)
			ends = true
		case hclsyntax.TokenCHeredoc:
			s.close(frameHeredoc)
			ends = true
		case hclsyntax.TokenTemplateSeqEnd:
			s.endSequence(off)
		case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenPlus, hclsyntax.TokenSlash,
			hclsyntax.TokenPercent, hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual, hclsyntax.TokenLessThan,
			hclsyntax.TokenLessThanEq, hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq,
			hclsyntax.TokenAnd, hclsyntax.TokenOr, hclsyntax.TokenQuestion:
			s.operator(off)
		case hclsyntax.TokenStar:
			s.operator(off)
			ends = true
		case hclsyntax.TokenComma:
			s.reset("{[(")
		case hclsyntax.TokenEqual:
			s.reset("{")
		case hclsyntax.TokenIdent, hclsyntax.TokenNumberLit:
			ends = true
		}
		prevEnds = ends
	}
	return s.trace
}

// astDepth is the depth of the syntax tree hclsyntax built.
type astDepth struct{ depth, max int }

func (w *astDepth) Enter(hclsyntax.Node) hcl.Diagnostics {
	w.depth++
	w.max = max(w.max, w.depth)
	return nil
}

func (w *astDepth) Exit(hclsyntax.Node) hcl.Diagnostics {
	w.depth--
	return nil
}

// nestingSeeds are small samples of every construct that makes the parser
// recurse, and of the lexer's modes the scan must follow.
var nestingSeeds = []string{
	"x = !!!!!true\n",
	"x = - - -1\n",
	"x = 1 + 2 * 3 - 4 / 5 % 6 == 7 != 8 < 9 <= 10 > 11 >= 12 && true || false\n",
	"x = a ? b : c ? d : e ? f : g\n",
	"x = a ? b ? c : d : e\n",
	"x = \"${\"${\"${1}\"}\"}\"\n",
	"x = \"%{if a}%{if b}%{for c in d}x%{endfor}%{endif}%{else}y%{endif}\"\n",
	"x = <<EOT\n${<<-EOF\n  ${1}\n  EOF\n}\nEOT\n",
	"x = <<EOT\nnot the end: EOT\n  EOT\n",
	"x = var.s[var.a][var.b][*][0].c.*.d\n",
	"x = f(a, !b, [c, -d], {e = !f, g = h ? i : j})\n",
	"x = {for k, v in m : k => !v... if !k}\n",
	"x = [for v in l : -v if !v]\n",
	"# [[[[ \"\nx = 1 // ((( \n/* {{{ \" */ y = 2\n",
	"x = \"a\\\"b ${c} $${d} %%{e} $ % \\\\\"\n",
	"x = \"${~ a ~}\"\ny = \"%{~ if a ~}b%{~ endif ~}\"\n",
	"x = a-b-c - d\n",
	"x = 1e-5 - 2e+3\n",
	"service \"a\" {\n  env = {\n    A = !x\n    B = -y\n  }\n  args = [\n    -1,\n    -2,\n  ]\n}\n",
	"x = /* unterminated [[[",
	"x = <<EOT\r\n[\r\nEOT\r\n",
	"x = \"\n[[[\n\"\n",
	"x = ~} ] ) } {\n",
	"x = a.é-b-c\n",
	"{\xc5\"!0",
	"x = <<-EOT\n\t%{ for x in y }\n\t${x}\n\t%{ endfor }\n\tEOT\n",
}

// FuzzNesting checks the two things checkNesting promises: it never counts
// less than a count over the HCL lexer's tokens would (so nothing the parser
// sees as code escapes it), and what it lets through parses into a tree
// whose depth does not grow with the input.
func FuzzNesting(f *testing.F) {
	for _, s := range nestingSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !utf8.Valid(src) {
			if d := checkNesting("f.hcl", src); d == nil || d.Summary != "Invalid character encoding" {
				t.Fatalf("invalid UTF-8 accepted: %q", src)
			}
			return
		}
		fast := newDepthScan(src, 1<<30)
		fast.trace = map[int]int{}
		fast.run()
		if fast.badHeredoc >= 0 {
			return
		}
		for off, want := range lexerDepth(src) {
			got, ok := fast.trace[off]
			if !ok {
				t.Fatalf("offset %d: the lexer counts a level there (depth %d), the scan nothing\n%q", off, want, src)
			}
			if got < want {
				t.Fatalf("offset %d: depth %d, the lexer's tokens give %d\n%q", off, got, want, src)
			}
		}
		if checkNesting("f.hcl", src) != nil {
			return
		}
		f, _ := hclsyntax.ParseConfig(src, "f.hcl", hcl.InitialPos)
		if body, ok := f.Body.(*hclsyntax.Body); ok {
			w := &astDepth{}
			hclsyntax.Walk(body, w)
			if limit := 4*MaxDepth + 8; w.max > limit {
				t.Fatalf("accepted input parses %d levels deep (more than %d)\n%q", w.max, limit, src)
			}
		}
		hclwrite.ParseConfig(src, "f.hcl", hcl.InitialPos)
	})
}

// deepInputs are, for each construct that makes the parser recurse without
// a limit, an attribute value ten times deeper than MaxDepth, and the
// position (line 2 of deepFile unless it spans lines) of the token that goes past the limit. The
// value starts at column v, two levels deep (the service and env blocks).
const v = 15

var deepInputs = []struct {
	name, value string
	line, col   int
}{
	{"not", strings.Repeat("!", 10*MaxDepth) + "true", 2, v + MaxDepth - 2},
	{"negate", strings.Repeat("-", 10*MaxDepth) + "1", 2, v + MaxDepth - 2},
	{"binary chain", "1" + strings.Repeat(" + 1", 10*MaxDepth), 2, v + 2 + 4*(MaxDepth-2)},
	{"and chain", "true" + strings.Repeat(" && true", 10*MaxDepth), 2, v + 5 + 8*(MaxDepth-2)},
	{"conditional chain", strings.Repeat("true ? 1 : ", 10*MaxDepth) + "2", 2, v + 5 + 11*(MaxDepth-2)},
	// An index is a level of the chain, and its bracket one more inside it.
	{"index chain", "var.s" + strings.Repeat("[var.s]", 10*MaxDepth), 2, v + 5 + 7*(MaxDepth-3)},
	// [*]: the index, its bracket and the splat's star.
	{"splat chain", "var.s" + strings.Repeat("[*]", 10*MaxDepth), 2, v + 5 + 3*(MaxDepth-4) + 1},
	// A string and a ${ sequence per level.
	{"templates", strings.Repeat(`"${`, 10*MaxDepth) + "1" + strings.Repeat(`}"`, 10*MaxDepth), 2, v + 3*(MaxDepth/2-1)},
	// The string, then an if's body per level.
	{"directives", `"` + strings.Repeat("%{if true}", 10*MaxDepth) + strings.Repeat("%{endif}", 10*MaxDepth) + `"`, 2, v + 1 + 10*(MaxDepth-3)},
	// A heredoc per line, each in the ${ of the one before.
	{"heredocs", strings.Repeat("<<EOT\n${", 10*MaxDepth) + "1" + strings.Repeat("}\nEOT\n", 10*MaxDepth), MaxDepth/2 + 1, 3},
	{"brackets", strings.Repeat("[", 10*MaxDepth) + strings.Repeat("]", 10*MaxDepth), 2, v + MaxDepth - 2},
}

// deepFile puts value in a service's env, on line 2.
func deepFile(value string) string {
	return "service \"web\" {\n  env = { X = " + value + " }\n}\n"
}

// TestDeepNestingRefused: every construct is refused before the parser sees
// it, at the token that goes past the limit, quickly (each of these at a few
// hundred KiB overflowed the parser's stack: a fatal error).
func TestDeepNestingRefused(t *testing.T) {
	for _, tc := range deepInputs {
		src := []byte(deepFile(tc.value))
		start := time.Now()
		d := checkNesting("web.hcl", src)
		if d == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if d.Summary != "Nesting too deep" || !strings.Contains(d.Detail, "32 levels") {
			t.Errorf("%s: %s: %s", tc.name, d.Summary, d.Detail)
		}
		if r := d.Subject; r.Filename != "web.hcl" || r.Start.Line != tc.line || r.Start.Column != tc.col {
			t.Errorf("%s: reported at %s:%d:%d, want web.hcl:%d:%d", tc.name, r.Filename, r.Start.Line, r.Start.Column, tc.line, tc.col)
		}
		if time.Since(start) > 100*time.Millisecond {
			t.Errorf("%s: took %v", tc.name, time.Since(start))
		}
	}
}
