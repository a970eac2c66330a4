package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// DiagnosticsText writes diagnostics for people: severity, summary,
// file:line:col, a source snippet and the detail, via HCL's own writer.
func DiagnosticsText(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	if len(diags) == 0 {
		return nil
	}
	return hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostics(diags)
}

// jsonDiagnostic is the machine form of one diagnostic; the field names
// follow `terraform validate -json`.
type jsonDiagnostic struct {
	Severity string     `json:"severity"`
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail,omitempty"`
	Range    *jsonRange `json:"range,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// ValidationJSON is the whole `validate --format json` document.
type ValidationJSON struct {
	Valid        bool             `json:"valid"`
	ErrorCount   int              `json:"error_count"`
	WarningCount int              `json:"warning_count"`
	Services     []string         `json:"services"`
	Diagnostics  []jsonDiagnostic `json:"diagnostics"`
}

// DiagnosticsJSON writes the validation result as one JSON document.
func DiagnosticsJSON(w io.Writer, diags hcl.Diagnostics, services []string) error {
	doc := ValidationJSON{Valid: !diags.HasErrors(), Services: services, Diagnostics: []jsonDiagnostic{}}
	if doc.Services == nil {
		doc.Services = []string{}
	}
	for _, d := range diags {
		jd := jsonDiagnostic{Summary: d.Summary, Detail: d.Detail}
		switch d.Severity {
		case hcl.DiagError:
			jd.Severity = "error"
			doc.ErrorCount++
		case hcl.DiagWarning:
			jd.Severity = "warning"
			doc.WarningCount++
		default:
			jd.Severity = fmt.Sprint(d.Severity)
		}
		if r := d.Subject; r != nil {
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
		}
		doc.Diagnostics = append(doc.Diagnostics, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
