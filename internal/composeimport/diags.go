package composeimport

import "github.com/hashicorp/hcl/v2"

// Diagnostics of an import are hcl.Diagnostics like the rest of stackctl:
// the CLI prints them with file:line:col and a snippet, whether they point
// into a compose file or into a generated descriptor.

func errorDiag(summary, detail string, subject *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}

func warningDiag(summary, detail string, subject *hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: detail, Subject: subject}
}
