package spec

import (
	"fmt"
	"sort"
	"strings"

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
