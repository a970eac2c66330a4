package render

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestIndentJSON: indentJSON matches json.Indent on the encoder's output.
func TestIndentJSON(t *testing.T) {
	for _, v := range []any{
		map[string]any{}, []any{}, map[string]any{"a": []any{}, "b": map[string]any{}, "c": nil},
		[]any{"x,y", "q\"uo{te}", `back\slash`, 1.5, true, []any{[]any{}}, map[string]any{"k:": "v]"}},
		"plain", 3, nil,
	} {
		checkIndent(t, v)
	}
}

func FuzzIndentJSON(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":"c,d"},[]],"e":{}}`))
	f.Add([]byte(`["\"\\",{"":null}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		checkIndent(t, v)
	})
}

func checkIndent(t *testing.T, v any) {
	t.Helper()
	var compact, want bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	enc = json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if got := indentJSON(nil, compact.Bytes()); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("indentJSON(%s):\n%s\nwant\n%s", compact.Bytes(), got, want.Bytes())
	}
}
