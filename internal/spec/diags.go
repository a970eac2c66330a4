package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
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

func rangePtr(r hcl.Range) *hcl.Range { return &r }

func duplicateDiag(what, name string, first, dup hcl.Range) *hcl.Diagnostic {
	return errorDiag(
		fmt.Sprintf("Duplicate %s", what),
		fmt.Sprintf("A %s named %q was already defined at %s. Each %s needs a unique name.",
			what, name, Pos(first), what),
		rangePtr(dup))
}

func invalidValueDiag(what, detail string, subject hcl.Range) *hcl.Diagnostic {
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

// Diag and Range are short names for the hcl types used throughout.
type (
	Diag  = hcl.Diagnostic
	Range = hcl.Range
)

// Pos formats where a range starts as file:line:col.
func Pos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
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
