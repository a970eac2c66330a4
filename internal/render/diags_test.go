package render_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/stackctl/stackctl/internal/render"
)

// TestDiagnosticsEscapeControlCharacters: a descriptor's escape sequences
// reach the terminal as visible text, with the carets still under the
// range; the JSON form stays valid JSON.
func TestDiagnosticsEscapeControlCharacters(t *testing.T) {
	src := "image = \"\x1b[2J\x1b]0;pwned\x07\"  bad = 1\n"
	file := &hcl.File{Bytes: []byte(src)}
	start := strings.Index(src, "bad") // byte offset; all ASCII before it but the escapes
	col := len([]rune(src[:start])) + 1
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported argument \x1b[31m",
		Detail:   "An argument named \"bad\u202e\" is not expected here.",
		Subject: &hcl.Range{Filename: "f.hcl",
			Start: hcl.Pos{Line: 1, Column: col, Byte: start},
			End:   hcl.Pos{Line: 1, Column: col + 3, Byte: start + 3}},
	}
	var out bytes.Buffer
	if err := render.DiagnosticsText(&out, hcl.Diagnostics{d}, map[string]*hcl.File{"f.hcl": file}, 0, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, bad := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(text, bad) {
			t.Errorf("output holds a raw %q:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, `\x1b[2J\x1b]0;pwned\x07`) || !strings.Contains(text, `\u202e`) {
		t.Errorf("escapes not shown:\n%s", text)
	}
	lines := strings.Split(text, "\n")
	var snippet, carets string
	for i, l := range lines {
		if strings.HasPrefix(l, "  1 | ") {
			snippet, carets = l, lines[i+1]
		}
	}
	at := strings.Index(carets, "^")
	if at < 0 || !strings.HasPrefix(snippet[at:], "bad") || strings.Count(carets, "^") != 3 {
		t.Errorf("carets not under the range:\n%s\n%s", snippet, carets)
	}

	out.Reset()
	if err := render.DiagnosticsJSON(&out, hcl.Diagnostics{d}, nil); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || bytes.Contains(out.Bytes(), []byte("\x1b")) {
		t.Errorf("JSON invalid or holding raw escapes (%v):\n%s", err, out.Bytes())
	}
}
