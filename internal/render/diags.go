package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// DiagnosticsText writes diagnostics for people, compiler style: a
// "file:line:col: severity: summary" line editors can jump to, the source
// line with the range underlined, then the detail (how to fix it).
func DiagnosticsText(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, width uint, color bool) error {
	bw := bufio.NewWriter(w)
	lines := map[string][][]byte{} // split each file once, not once per diagnostic
	for i, d := range diags {
		if i > 0 {
			bw.WriteByte('\n')
		}
		writeDiagnostic(bw, d, files, lines, width, color)
	}
	return bw.Flush()
}

const (
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

func writeDiagnostic(w *bufio.Writer, d *hcl.Diagnostic, files map[string]*hcl.File, lines map[string][][]byte, width uint, color bool) {
	sev, col := "error", ansiRed
	if d.Severity == hcl.DiagWarning {
		sev, col = "warning", ansiYellow
	}
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	if r := d.Subject; r != nil {
		fmt.Fprintf(w, "%s: ", paint(ansiBold, fmt.Sprintf("%s:%d:%d", escapeControl(r.Filename), r.Start.Line, r.Start.Column)))
	}
	fmt.Fprintf(w, "%s: %s\n", paint(col, sev), paint(ansiBold, escapeControl(d.Summary)))
	if r := d.Subject; r != nil && !hideSnippet(d) {
		if f := files[r.Filename]; f != nil && f.Bytes != nil {
			if _, ok := lines[r.Filename]; !ok {
				lines[r.Filename] = bytes.Split(f.Bytes, []byte("\n"))
			}
			writeSnippet(w, lines[r.Filename], *r, paint(col, "^"))
		}
	}
	if d.Detail != "" {
		for _, line := range wrap(d.Detail, width) {
			fmt.Fprintf(w, "  %s\n", escapeControl(line))
		}
	}
}

// snippetHider is implemented by a diagnostic's Extra when its source line
// must not be printed (spec.NoSnippet: the line holds a sensitive value).
type snippetHider interface{ HideSnippet() bool }

func hideSnippet(d *hcl.Diagnostic) bool {
	h, ok := hcl.DiagnosticExtra[snippetHider](d)
	return ok && h.HideSnippet()
}

// escapeControl makes text from a descriptor safe for a terminal: control
// characters (an ESC would start a terminal escape sequence) and the
// bidirectional overrides that make source display differently from what
// it is are written as \x.. or \u.... escapes; tabs become four spaces.
func escapeControl(s string) string {
	clean := true
	for _, r := range s {
		if r == '\t' || needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case needsEscape(r) && r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case needsEscape(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return (unicode.IsControl(r) && r != '\t') || unicode.Is(unicode.Bidi_Control, r)
}

// writeSnippet prints the first line of the range with carets under it.
func writeSnippet(w *bufio.Writer, lines [][]byte, r hcl.Range, caret string) {
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := []rune(strings.TrimRight(string(lines[r.Start.Line-1]), "\r"))
	num := fmt.Sprintf("%d", r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "  %s |\n  %s | %s\n", pad, num, escapeControl(string(line)))
	// Columns count characters; the carets go under their escaped form.
	start := min(max(r.Start.Column-1, 0), len(line))
	end := len(line)
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		end = min(r.End.Column-1, len(line))
	}
	n := utf8.RuneCountInString(escapeControl(string(line[start:max(end, start)])))
	fmt.Fprintf(w, "  %s | %s%s\n", pad, strings.Repeat(" ", utf8.RuneCountInString(escapeControl(string(line[:start])))), strings.Repeat(caret, max(n, 1)))
}

func wrap(text string, width uint) []string {
	if width == 0 {
		return strings.Split(text, "\n")
	}
	var out []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && uint(len(line)+1+len(word)) > width-2 {
				out = append(out, line)
				line = word
				continue
			}
			if line != "" {
				line += " "
			}
			line += word
		}
		out = append(out, line)
	}
	return out
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

// SortDiagnostics orders diagnostics by file and position (those without a
// location first), so output follows the source rather than check order.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}
