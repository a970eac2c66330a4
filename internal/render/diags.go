package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
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
		fmt.Fprintf(w, "%s: ", paint(ansiBold, fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)))
	}
	fmt.Fprintf(w, "%s: %s\n", paint(col, sev), paint(ansiBold, d.Summary))
	if r := d.Subject; r != nil {
		if f := files[r.Filename]; f != nil && f.Bytes != nil {
			if _, ok := lines[r.Filename]; !ok {
				lines[r.Filename] = bytes.Split(f.Bytes, []byte("\n"))
			}
			writeSnippet(w, lines[r.Filename], *r, paint(col, "^"))
		}
	}
	if d.Detail != "" {
		for _, line := range wrap(d.Detail, width) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

// writeSnippet prints the first line of the range with carets under it.
func writeSnippet(w *bufio.Writer, lines [][]byte, r hcl.Range, caret string) {
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(string(lines[r.Start.Line-1]), "\r")
	num := fmt.Sprintf("%d", r.Start.Line)
	pad := strings.Repeat(" ", len(num))
	fmt.Fprintf(w, "  %s |\n  %s | %s\n", pad, num, expandTabs(line))
	start := r.Start.Column - 1
	n := 1
	if r.End.Line == r.Start.Line && r.End.Column > r.Start.Column {
		n = r.End.Column - r.Start.Column
	} else if rest := utf8.RuneCountInString(line) - start; rest > 0 {
		n = rest
	}
	if start < 0 {
		start = 0
	}
	fmt.Fprintf(w, "  %s | %s%s\n", pad, strings.Repeat(" ", visualWidth(line, start)), strings.Repeat(caret, max(n, 1)))
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// visualWidth is the printed width of the first n characters of s.
func visualWidth(s string, n int) int {
	w := 0
	for i, r := range []rune(s) {
		if i >= n {
			break
		}
		if r == '\t' {
			w += 4
		} else {
			w++
		}
	}
	return w
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
