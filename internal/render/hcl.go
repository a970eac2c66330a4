package render

import (
	"sort"
	"strings"
	"time"
)

// Small helpers over hclText that skip unset values, so the writers in
// job.go read like the HCL they produce.

func (t *hclText) strPtr(name string, v *string) {
	if v != nil && *v != "" {
		t.str(name, *v)
	}
}

func (t *hclText) strSet(name, v string) {
	if v != "" {
		t.str(name, v)
	}
}

func (t *hclText) intPtr(name string, v *int) {
	if v != nil {
		t.num(name, int64(*v))
	}
}

func (t *hclText) boolPtr(name string, v *bool) {
	if v != nil {
		t.boolean(name, *v)
	}
}

func (t *hclText) durationPtr(name string, v *time.Duration) {
	if v != nil {
		t.str(name, Duration(*v))
	}
}

// strings writes a list on one line when it is short, one element per line
// otherwise: long lists (tags, args) read and diff better that way.
func (t *hclText) strings(name string, v []string) {
	if len(v) == 0 {
		return
	}
	total := 0
	for _, s := range v {
		total += len(s) + 4
	}
	if len(v) == 1 || total <= 60 {
		t.list(name, v)
		return
	}
	t.longList(name, v)
}

// mapBlock writes a map as a block of attributes in key order (Nomad's
// env and meta blocks).
func (t *hclText) mapBlock(name string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	t.block(name)
	for _, k := range sortedKeys(m) {
		t.str(attrName(k), m[k])
	}
	t.end()
}

// text writes a multi-line string as a heredoc when it can be one.
func (t *hclText) text(name, s string) {
	if !strings.HasSuffix(s, "\n") || strings.Contains(s, "\nEOT\n") || strings.HasPrefix(s, "EOT\n") {
		t.str(name, s)
		return
	}
	t.heredoc(name, s)
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// anyMap writes a generic map as attributes in key order, with nested
// []any-of-map values as (labelled) blocks the way Nomad's parser reads
// them back.
func (t *hclText) anyMap(m map[string]any) {
	keys := sortedKeys(m)
	// Attributes first, then blocks, as people write them.
	for _, k := range keys {
		if _, isBlock := m[k].([]any); !isBlock {
			t.value(attrName(k), m[k])
		}
	}
	for _, k := range keys {
		list, ok := m[k].([]any)
		if !ok {
			continue
		}
		for _, item := range list {
			if labelled, ok := item.(map[string]any); ok {
				t.labelledBlocks(k, labelled)
			}
		}
	}
}

// labelledBlocks writes {label: [ {body} ]} as `typ "label" { body }`.
func (t *hclText) labelledBlocks(typ string, labelled map[string]any) {
	for _, l := range sortedKeys(labelled) {
		bodies, _ := labelled[l].([]any)
		for _, body := range bodies {
			inner, ok := body.(map[string]any)
			if !ok {
				continue
			}
			t.block(typ, l)
			t.anyMap(inner)
			t.end()
		}
	}
}
