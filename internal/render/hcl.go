package render

import (
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Small helpers over hclwrite that skip unset values, so the writers below
// read like the HCL they produce.

func setStr(b *hclwrite.Body, name string, v *string) {
	if v != nil && *v != "" {
		b.SetAttributeValue(name, cty.StringVal(*v))
	}
}

func setString(b *hclwrite.Body, name, v string) {
	if v != "" {
		b.SetAttributeValue(name, cty.StringVal(v))
	}
}

func setInt(b *hclwrite.Body, name string, v *int) {
	if v != nil {
		b.SetAttributeValue(name, cty.NumberIntVal(int64(*v)))
	}
}

func setBool(b *hclwrite.Body, name string, v *bool) {
	if v != nil {
		b.SetAttributeValue(name, cty.BoolVal(*v))
	}
}

func setDuration(b *hclwrite.Body, name string, v *time.Duration) {
	if v != nil {
		b.SetAttributeValue(name, cty.StringVal(Duration(*v)))
	}
}

func setList(b *hclwrite.Body, name string, v []string) {
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
		b.SetAttributeValue(name, cty.ListVal(vals))
		return
	}
	// Long lists (tags, args) read and diff better one element per line.
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
	b.SetAttributeRaw(name, toks)
}

// setMapBlock writes a map as a block of attributes in key order (Nomad's
// env and meta blocks).
func setMapBlock(b *hclwrite.Body, name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	blk := b.AppendNewBlock(name, nil).Body()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if hclsyntax.ValidIdentifier(k) {
			blk.SetAttributeValue(k, cty.StringVal(m[k]))
		} else {
			blk.SetAttributeRaw(k, hclwrite.TokensForValue(cty.StringVal(m[k])))
		}
	}
}

// setHeredoc writes a multi-line string as a heredoc, escaping HCL's
// template sequences so the value arrives verbatim.
func setHeredoc(b *hclwrite.Body, name, s string) {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\nEOT\n") || strings.HasPrefix(s, "EOT\n") {
		b.SetAttributeValue(name, cty.StringVal(s))
		return
	}
	esc := strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
	b.SetAttributeRaw(name, hclwrite.Tokens{
		{Type: hclsyntax.TokenOHeredoc, Bytes: []byte("<<EOT\n")},
		{Type: hclsyntax.TokenStringLit, Bytes: []byte(esc)},
		{Type: hclsyntax.TokenCHeredoc, Bytes: []byte("EOT")},
	})
}

// Duration formats d the way people write it: "30m", "1h30m", "10s".
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// anyValue converts the generic values found in driver configs and scaling
// policies to cty.
func anyValue(v any) cty.Value {
	switch x := v.(type) {
	case string:
		return cty.StringVal(x)
	case bool:
		return cty.BoolVal(x)
	case int:
		return cty.NumberIntVal(int64(x))
	case int64:
		return cty.NumberIntVal(x)
	case float64:
		return cty.NumberFloatVal(x)
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		vals := make([]cty.Value, len(x))
		for i, s := range x {
			vals[i] = cty.StringVal(s)
		}
		return cty.ListVal(vals)
	}
	return cty.NullVal(cty.DynamicPseudoType)
}

// setAnyMap writes a generic map as attributes in key order, with nested
// []any-of-map values as (labelled) blocks the way Nomad's parser reads
// them back.
func setAnyMap(b *hclwrite.Body, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Attributes first, then blocks, as people write them.
	for _, k := range keys {
		if _, isBlock := m[k].([]any); !isBlock {
			b.SetAttributeValue(k, anyValue(m[k]))
		}
	}
	for _, k := range keys {
		list, ok := m[k].([]any)
		if !ok {
			continue
		}
		for _, item := range list {
			labelled, ok := item.(map[string]any)
			if !ok {
				continue
			}
			appendLabelledBlocks(b, k, labelled)
		}
	}
}

// appendLabelledBlocks writes {label: [ {body} ]} as `typ "label" { body }`.
func appendLabelledBlocks(b *hclwrite.Body, typ string, labelled map[string]any) {
	labels := make([]string, 0, len(labelled))
	for l := range labelled {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		bodies, _ := labelled[l].([]any)
		for _, body := range bodies {
			inner, ok := body.(map[string]any)
			if !ok {
				continue
			}
			setAnyMap(b.AppendNewBlock(typ, []string{l}).Body(), inner)
		}
	}
}
