package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// hclwriteRef builds the same body through hclwrite and formats it the way
// the writers did before hclText (issue 10): the reference hclText must
// match byte for byte.
type hclwriteRef struct {
	f     *hclwrite.File
	stack []*hclwrite.Body
}

func (r *hclwriteRef) body() *hclwrite.Body { return r.stack[len(r.stack)-1] }

// ops reads data as a program of writes and applies it to both writers.
// Each op takes a byte; strings take a length byte and that many bytes.
func runOps(data []byte) (got, want []byte) {
	ref := &hclwriteRef{f: hclwrite.NewEmptyFile()}
	ref.stack = []*hclwrite.Body{ref.f.Body()}
	t := &hclText{}
	n := 0
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	str := func() string {
		l := min(int(next()%24), len(data))
		s := string(data[:l])
		data = data[l:]
		return s
	}
	names := []string{"a", "bb", "ccc_ddd", "e-f", "a_much_longer_name"}
	name := func() string {
		n++
		return fmt.Sprintf("%s%d", names[int(next())%len(names)], n)
	}
	for len(data) > 0 {
		switch next() % 10 {
		case 0:
			k, v := name(), str()
			ref.body().SetAttributeValue(k, cty.StringVal(v))
			t.str(k, v)
		case 1:
			k, v := name(), int64(next())*int64(next())
			ref.body().SetAttributeValue(k, cty.NumberIntVal(v))
			t.num(k, v)
		case 2:
			k, v := name(), next()%2 == 0
			ref.body().SetAttributeValue(k, cty.BoolVal(v))
			t.boolean(k, v)
		case 3, 4:
			k := name()
			var v []string
			for i := int(next() % 5); i > 0; i-- {
				v = append(v, str())
			}
			ref.setList(k, v)
			t.strings(k, v)
		case 5:
			// The template data stackctl writes is built from validated
			// ASCII names. hclwrite.Format re-lexes heredocs and mangles
			// control characters and invalid UTF-8 in them, which no real
			// input reaches, so the content here is printable ASCII.
			k, v := name(), printableLines(str())+"\n"
			ref.setHeredoc(k, v)
			t.text(k, v)
		case 6:
			typ := name()
			var labels []string
			for i := int(next() % 3); i > 0; i-- {
				labels = append(labels, str())
			}
			ref.stack = append(ref.stack, ref.body().AppendNewBlock(typ, labels).Body())
			t.block(typ, labels...)
		case 7:
			if len(ref.stack) > 1 {
				ref.stack = ref.stack[:len(ref.stack)-1]
				t.end()
			}
		case 8:
			ref.body().AppendNewline()
			t.blank()
		case 9:
			m := map[string]string{}
			for i := int(next() % 4); i > 0; i-- {
				m[name()] = str()
			}
			ref.setMapBlock("meta", m)
			t.mapBlock("meta", m)
		}
	}
	for len(ref.stack) > 1 {
		ref.stack = ref.stack[:len(ref.stack)-1]
		t.end()
	}
	return t.bytes(), hclwrite.Format(ref.f.Bytes())
}

func printableLines(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r >= ' ' && r < 0x7f {
			return r
		}
		return '?'
	}, s)
}

func (r *hclwriteRef) setList(name string, v []string) {
	if len(v) == 0 {
		return
	}
	total := 0
	for _, s := range v {
		total += len(s) + 4
	}
	if len(v) == 1 || total <= 60 {
		vals := make([]cty.Value, len(v))
		for i, s := range v {
			vals[i] = cty.StringVal(s)
		}
		r.body().SetAttributeValue(name, cty.ListVal(vals))
		return
	}
	toks := hclwrite.Tokens{
		{Type: hclsyntax.TokenOBrack, Bytes: []byte("[")},
		{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")},
	}
	for _, s := range v {
		toks = append(toks, hclwrite.TokensForValue(cty.StringVal(s))...)
		toks = append(toks,
			&hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")},
			&hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	}
	toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrack, Bytes: []byte("]")})
	r.body().SetAttributeRaw(name, toks)
}

func (r *hclwriteRef) setMapBlock(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	blk := r.body().AppendNewBlock(name, nil).Body()
	for _, k := range sortedKeys(m) {
		blk.SetAttributeValue(k, cty.StringVal(m[k]))
	}
}

func (r *hclwriteRef) setHeredoc(name, s string) {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\nEOT\n") || strings.HasPrefix(s, "EOT\n") {
		r.body().SetAttributeValue(name, cty.StringVal(s))
		return
	}
	esc := strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	r.body().SetAttributeRaw(name, hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<EOT\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(esc)},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte("EOT")},
	})
}

var hclTextSeeds = [][]byte{
	{6, 0, 2, 'x', 'y', 0, 1, 3, 'a', 'b', 'c', 1, 2, 3, 4, 8, 9, 3, 0, 1, 'k', 1, 1, 'v', 7},
	[]byte("\x06\x01\x05label\x00\x00\x04w\u00e9\x00\x00\x02${\x05\x02\x06line1\x03\x03\x02ab\x02cd\x02ef"),
	{3, 0, 4, 30, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 5, 'b', 'b', 'b', 'b', 'b', 5, 'c', 'c', 'c', 'c', 'c', 5, 'd', 'd', 'd', 'd', 'd', 0, 0, 3, '%', '{', 0x7f},
	{0, 2, 4, 0xff, 0xfe, '\t', '\n', 0, 1, 2, 0xe2, 0x80},
}

// TestHCLTextMatchesHCLWrite compares hclText with hclwrite on the seeds;
// FuzzHCLText explores further.
func TestHCLTextMatchesHCLWrite(t *testing.T) {
	for i, seed := range hclTextSeeds {
		got, want := runOps(seed)
		if !bytes.Equal(got, want) {
			t.Errorf("seed %d:\n--- hclText ---\n%s\n--- hclwrite ---\n%s", i, got, want)
		}
	}
}

func FuzzHCLText(f *testing.F) {
	for _, s := range hclTextSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := runOps(data)
		if !bytes.Equal(got, want) {
			t.Fatalf("--- hclText ---\n%s\n--- hclwrite ---\n%s", got, want)
		}
	})
}

// TestASCIIIdentMatchesHCL checks the fast identifier test against the HCL
// scanner on every ASCII string of up to two bytes and on common keys.
func TestASCIIIdentMatchesHCL(t *testing.T) {
	var keys []string
	for a := 0; a < 128; a++ {
		keys = append(keys, string(rune(a)))
		for b := 0; b < 128; b++ {
			keys = append(keys, string([]rune{rune(a), rune(b)}))
		}
	}
	keys = append(keys, "", "SERVICE_NAME", "log-level", "_x9", "9x", "a.b", "true", "null", "for", "a b", "x\n")
	for _, k := range keys {
		if got, want := isASCIIIdent(k), hclsyntax.ValidIdentifier(k); got != want {
			t.Errorf("isASCIIIdent(%q) = %v, hclsyntax.ValidIdentifier says %v", k, got, want)
		}
	}
}

func FuzzASCIIIdent(f *testing.F) {
	f.Add("SERVICE_NAME")
	f.Add("a-b_c")
	f.Fuzz(func(t *testing.T, k string) {
		if !isASCII(k) {
			return
		}
		if got, want := isASCIIIdent(k), hclsyntax.ValidIdentifier(k); got != want {
			t.Errorf("isASCIIIdent(%q) = %v, hclsyntax.ValidIdentifier says %v", k, got, want)
		}
	})
}
