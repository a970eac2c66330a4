package render

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"golang.org/x/text/unicode/norm"
)

// hclText writes HCL straight to bytes in the canonical layout of
// hclwrite.Format: two-space indents, one space around "=", the "=" of
// consecutive one-line attributes aligned, ", " between list elements.
// Building an hclwrite token tree and formatting it cost 70% of `render -o`
// (issue 10), mostly in grapheme counting; the generated artifacts need
// none of its generality. TestHCLTextMatchesHCLWrite keeps the two
// byte-identical on arbitrary bodies.
type hclText struct {
	buf   []byte
	depth int
	// run holds the current run of one-line attributes, written when the
	// run ends because their "=" align on the widest name.
	run  []runAttr
	vals []byte // the run's values, back to back
}

type runAttr struct {
	name  string
	width int // printed width of name
	end   int // the value is vals[end of the previous one:end]
}

// bytes ends the text and returns it.
func (t *hclText) bytes() []byte {
	t.flush()
	return t.buf
}

func (t *hclText) indent() {
	for i := 0; i < t.depth; i++ {
		t.buf = append(t.buf, ' ', ' ')
	}
}

// flush writes the pending run of attributes, aligned.
func (t *hclText) flush() {
	if len(t.run) == 0 {
		return
	}
	widest := 0
	for _, a := range t.run {
		widest = max(widest, a.width)
	}
	start := 0
	for _, a := range t.run {
		t.indent()
		t.buf = append(t.buf, a.name...)
		for i := a.width; i < widest; i++ {
			t.buf = append(t.buf, ' ')
		}
		t.buf = append(t.buf, " = "...)
		t.buf = append(t.buf, t.vals[start:a.end]...)
		t.buf = append(t.buf, '\n')
		start = a.end
	}
	t.run, t.vals = t.run[:0], t.vals[:0]
}

// endAttr closes the attribute whose value was just appended to vals.
// name is written as given: an identifier or a quoted key.
func (t *hclText) endAttr(name string) {
	t.run = append(t.run, runAttr{name: name, width: printedWidth(name), end: len(t.vals)})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// printedWidth counts grapheme clusters, as hclwrite does when it aligns;
// names are almost always ASCII, where that is the length.
func printedWidth(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n, _ := textseg.TokenCount([]byte(s), textseg.ScanGraphemeClusters)
	return n
}

// attrName is how a key is written on the left of "=": bare when it is an
// identifier, quoted otherwise.
func attrName(key string) string {
	if isASCIIIdent(key) || (!isASCII(key) && hclsyntax.ValidIdentifier(key)) {
		return key
	}
	return string(appendQuoted(nil, key))
}

// isASCIIIdent is hclsyntax.ValidIdentifier for ASCII keys, the usual
// case (env names, meta keys): (letter | '_') (letter | digit | '_' |
// '-')*. ValidIdentifier runs the whole HCL scanner on the key, which was
// 5% of `render -o`.
func isASCIIIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

func (t *hclText) str(name, v string) {
	t.vals = appendQuoted(t.vals, v)
	t.endAttr(name)
}

func (t *hclText) num(name string, v int64) {
	t.vals = strconv.AppendInt(t.vals, v, 10)
	t.endAttr(name)
}

func (t *hclText) boolean(name string, v bool) {
	t.vals = strconv.AppendBool(t.vals, v)
	t.endAttr(name)
}

// list writes a list of strings on one line.
func (t *hclText) list(name string, v []string) {
	t.vals = appendList(t.vals, v)
	t.endAttr(name)
}

// value writes a generic value (driver config, scaling policy) as
// hclwrite.TokensForValue would; anything else becomes null.
func (t *hclText) value(name string, v any) {
	switch x := v.(type) {
	case string:
		t.vals = appendQuoted(t.vals, x)
	case bool:
		t.vals = strconv.AppendBool(t.vals, x)
	case int:
		t.vals = strconv.AppendInt(t.vals, int64(x), 10)
	case int64:
		t.vals = strconv.AppendInt(t.vals, x, 10)
	case float64:
		t.vals = strconv.AppendFloat(t.vals, x, 'f', -1, 64)
	case []string:
		t.vals = appendList(t.vals, x)
	default:
		t.vals = append(t.vals, "null"...)
	}
	t.endAttr(name)
}

// heredoc writes s (which ends in a newline) as <<EOT ... EOT, its template
// sequences escaped so the value arrives verbatim. It aligns with its
// neighbours like a one-line attribute.
func (t *hclText) heredoc(name, s string) {
	t.vals = append(t.vals, "<<EOT\n"...)
	t.vals = appendTemplateEscaped(t.vals, s)
	t.vals = append(t.vals, "EOT"...)
	t.endAttr(name)
}

// longList writes a list one element per line.
func (t *hclText) longList(name string, v []string) {
	t.open(name + " = [")
	for _, s := range v {
		t.indent()
		t.buf = appendQuoted(t.buf, s)
		t.buf = append(t.buf, ",\n"...)
	}
	t.close("]")
}

// block opens `typ "label" ... {`.
func (t *hclText) block(typ string, labels ...string) {
	t.flush()
	t.indent()
	t.buf = append(t.buf, typ...)
	for _, l := range labels {
		t.buf = append(t.buf, ' ')
		t.buf = appendQuoted(t.buf, l)
	}
	t.buf = append(t.buf, " {\n"...)
	t.depth++
}

// open writes a line that opens a bracket (e.g. `Meta = {`, `{`) and
// indents what follows.
func (t *hclText) open(line string) {
	t.flush()
	t.indent()
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
	t.depth++
}

// close dedents and writes the closing line, e.g. "}" or "},".
func (t *hclText) close(line string) {
	t.flush()
	t.depth--
	t.indent()
	t.buf = append(t.buf, line...)
	t.buf = append(t.buf, '\n')
}

func (t *hclText) end() { t.close("}") }

// blank writes an empty line, which also ends a run of aligned attributes.
func (t *hclText) blank() {
	t.flush()
	t.buf = append(t.buf, '\n')
}

func appendList(b []byte, v []string) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendQuoted(b, s)
	}
	return append(b, ']')
}

// appendQuoted writes s as an HCL quoted string exactly as
// hclwrite.TokensForValue(cty.StringVal(s)) spells it: in Unicode NFC (as
// cty stores strings), with the escapes HCL reads back, "${" and "%{"
// doubled so they stay literal, and characters that are not printable as
// \u escapes (invalid UTF-8 becomes U+FFFD).
func appendQuoted(b []byte, s string) []byte {
	if !isASCII(s) {
		s = norm.NFC.String(s)
	}
	b = append(b, '"')
	for i, r := range s {
		switch r {
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '$', '%':
			b = append(b, byte(r))
			if i+1 < len(s) && s[i+1] == '{' {
				b = append(b, byte(r))
			}
		default:
			switch {
			case r < utf8.RuneSelf && r >= 0x20 && r != 0x7f:
				b = append(b, byte(r))
			case unicode.IsPrint(r):
				b = utf8.AppendRune(b, r)
			case r < 0x10000:
				b = append(b, `\u`...)
				b = appendHex(b, uint32(r), 4)
			default:
				b = append(b, `\U`...)
				b = appendHex(b, uint32(r), 8)
			}
		}
	}
	return append(b, '"')
}

func appendHex(b []byte, v uint32, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[(v>>(4*i))&0xf])
	}
	return b
}

// appendTemplateEscaped doubles the template introducers of a heredoc's
// content.
func appendTemplateEscaped(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, "$%")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i+1]...)
		if i+1 < len(s) && s[i+1] == '{' {
			b = append(b, s[i])
		}
		s = s[i+1:]
	}
}
