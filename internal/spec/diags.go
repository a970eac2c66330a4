package spec

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"

	"github.com/stackctl/stackctl/internal/descriptor"
)

// All diagnostic constructors live here so messages stay consistent: a
// summary that names the problem, a detail that says how to fix it, and the
// narrowest range that shows where.

func errorDiag(summary, detail string, subject *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}

func warningDiag(summary, detail string, subject *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: subject}
}

// anyRange is a range hcl reported or one the model recorded
// (descriptor.Range); the constructors take either.
type anyRange interface {
	hcl.Range | descriptor.Range
}

func toHCL[R anyRange](r R) hcl.Range {
	if m, ok := any(r).(descriptor.Range); ok {
		return hclRange(m)
	}
	return any(r).(hcl.Range)
}

func rangePtr[R anyRange](r R) *hcl.Range {
	h := toHCL(r)
	return &h
}

func duplicateDiag[F, D anyRange](what, name string, first F, dup D) *hcl.Diagnostic {
	return errorDiag(
		fmt.Sprintf("Duplicate %s", what),
		fmt.Sprintf("A %s named %q was already defined at %s. Each %s needs a unique name.",
			what, name, Pos(first), what),
		rangePtr(dup))
}

func invalidValueDiag[R anyRange](what, detail string, subject R) *hcl.Diagnostic {
	return errorDiag("Invalid "+what, detail, rangePtr(subject))
}

// vaultPathDiag refuses a secret's path, saying where the stack's secrets
// live and what to write instead.
func vaultPathDiag[R anyRange](problem string, st descriptor.Settings, example string, subject R) *hcl.Diagnostic {
	return invalidValueDiag("Vault secret path",
		fmt.Sprintf("%s A stack reads only its own secrets: those of stack %q (its name in the stack block) live under %q in the KV v2 mount %q. Write e.g. path = %q.",
			problem, st.Name, st.Name+"/", st.VaultMount, example),
		subject)
}

// expressionSizeDiag refuses an expression whose result could reach bound.
func expressionSizeDiag(bound float64, subject hcl.Range) *hcl.Diagnostic {
	size := "more than 1 TiB"
	if bound < math.Ldexp(1, 40) {
		size = fmt.Sprintf("up to %d MiB", int64(bound)>>20)
	}
	return invalidValueDiag("expression size",
		fmt.Sprintf("This expression could produce %s (functions, templates and for expressions multiply what they read); a descriptor value is limited to %d MiB. Write the value more directly, or pass it as a smaller variable.",
			size, MaxValueSize>>20), subject)
}

// numberDiag refuses a number that could be too long to write out: a
// literal or a computed one, or arithmetic on a string that could spell any
// number (fromString).
func numberDiag(fromString bool, subject hcl.Range) *hcl.Diagnostic {
	if fromString {
		return invalidValueDiag("number",
			"This arithmetic reads a string built by a template or a function, which could spell a number of any length, and a number is written out digit by digit when it becomes text. Compute with numbers and variables instead.",
			subject)
	}
	return invalidValueDiag("number",
		fmt.Sprintf("This number could have more than %d digits before its point, or zeros after it, and a number is written out digit by digit when it becomes text. Numbers are limited to about 10^-%d to 10^%d; use a smaller one.",
			MaxNumberDigits, MaxNumberDigits, MaxNumberDigits),
		subject)
}

// nestingDiag refuses input that nests deeper than MaxDepth at byte off:
// through an operator (a chain) or an opening bracket, string or sequence.
func nestingDiag(filename string, src []byte, off int, operator bool) *hcl.Diagnostic {
	detail := fmt.Sprintf("Brackets, blocks, strings and template sequences nest more than %d levels deep here "+
		"(operators chained around them count too). A descriptor never needs this; flatten the expression.", MaxDepth)
	if operator {
		detail = fmt.Sprintf("Operators chain more than %d levels deep here, counting the brackets around them: "+
			"each !, -, ?, +, && ... or [index] in one expression adds a level. "+
			"A descriptor never needs this; write the value directly or simplify the expression.", MaxDepth)
	}
	return errorDiag("Nesting too deep", detail, byteRange(filename, src, off))
}

// heredocMarkerDiag refuses a heredoc marker that is not ASCII (checkNesting).
func heredocMarkerDiag(filename string, src []byte, off int) *hcl.Diagnostic {
	return errorDiag("Unsupported heredoc marker",
		"A heredoc marker must be made of ASCII letters, digits, '_' and '-'; write it as <<EOT ... EOT.",
		byteRange(filename, src, off))
}

// invalidUTF8Diag points at the first byte of src that is not UTF-8.
func invalidUTF8Diag(filename string, src []byte) *hcl.Diagnostic {
	off := 0
	for off < len(src) {
		r, n := utf8.DecodeRune(src[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	return errorDiag("Invalid character encoding",
		"Descriptor files must be UTF-8 text, and this byte is not part of a UTF-8 character. Save the file as UTF-8.",
		byteRange(filename, src, off))
}

// byteRange is the one-character range at byte offset off of src; columns
// count characters, as hcl's do.
func byteRange(filename string, src []byte, off int) *hcl.Range {
	lineStart := bytes.LastIndexByte(src[:off], '\n') + 1
	line := 1 + bytes.Count(src[:lineStart], []byte{'\n'})
	col := 1 + utf8.RuneCount(src[lineStart:off])
	return &hcl.Range{
		Filename: filename,
		Start:    hcl.Pos{Line: line, Column: col, Byte: off},
		End:      hcl.Pos{Line: line, Column: col + 1, Byte: off + 1},
	}
}

// suggest returns the candidate closest to given, or "" when none is close
// enough to be a likely misspelling.
func suggest(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// didYouMean formats a suggestion sentence, or "" when there is none.
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

func oneOf(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = fmt.Sprintf("%q", v)
	}
	sort.Strings(q)
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// Diag is the short name of the hcl type used throughout; Range is the
// model's (model.go).
type Diag = hcl.Diagnostic

// Pos formats where a range (hcl's or the model's) starts as file:line:col.
func Pos[R anyRange](r R) string {
	h := toHCL(r)
	return fmt.Sprintf("%s:%d:%d", h.Filename, h.Start.Line, h.Start.Column)
}

// NoSnippet marks a diagnostic whose source line must not be printed (it
// holds a sensitive variable's value); the writers in internal/render
// honour it through hcl.DiagnosticExtra.
type NoSnippet struct{}

// HideSnippet implements render's snippetHider.
func (NoSnippet) HideSnippet() bool { return true }

// hideSnippets keeps the position of diags but not their source lines.
func hideSnippets(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		d.Extra = NoSnippet{}
		d.Expression, d.EvalContext = nil, nil
	}
	return diags
}
