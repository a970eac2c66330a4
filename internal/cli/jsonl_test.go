package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// jsonlCmd checks a file of JSON lines (deploy --format json):
//
//	jsonl FILE [KEY=VALUE...]
//
// Every line must be one JSON object with "format_version": 1, a "type"
// and a "time". With KEY=VALUEs, some object must have each key with that
// value (compared as printed; VALUE ~TEXT: a string containing TEXT; a
// dotted key reaches into objects, and a list matches when one of its
// elements does).
func jsonlCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: jsonl FILE [KEY=VALUE...]")
	}
	lines := strings.Split(strings.TrimRight(ts.ReadFile(args[0]), "\n"), "\n")
	matched := len(args) == 1
	for i, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			ts.Fatalf("%s:%d: not a JSON object: %v\n%s", args[0], i+1, err, line)
		}
		if v, ok := obj["format_version"].(float64); !ok || v != 1 {
			ts.Fatalf("%s:%d: format_version is %v, want 1", args[0], i+1, obj["format_version"])
		}
		if typ, ok := obj["type"].(string); !ok || typ == "" {
			ts.Fatalf("%s:%d: no type", args[0], i+1)
		}
		if _, ok := obj["time"].(string); !ok {
			ts.Fatalf("%s:%d: no time", args[0], i+1)
		}
		if !matched && matchesAll(obj, args[1:]) {
			matched = true
		}
	}
	if !matched {
		ts.Fatalf("no object in %s has %s", args[0], strings.Join(args[1:], " "))
	}
}

func matchesAll(obj map[string]any, pairs []string) bool {
	for _, p := range pairs {
		k, want, _ := strings.Cut(p, "=")
		if !matches(lookup(obj, k), want) {
			return false
		}
	}
	return true
}

// lookup follows a dotted key; through a list it collects the value in
// each element.
func lookup(v any, dotted string) any {
	part, rest, more := strings.Cut(dotted, ".")
	switch t := v.(type) {
	case map[string]any:
		if !more {
			return t[part]
		}
		return lookup(t[part], rest)
	case []any:
		var out []any
		for _, x := range t {
			if y := lookup(x, dotted); y != nil {
				out = append(out, y)
			}
		}
		return out
	}
	return nil
}

func matches(v any, want string) bool {
	switch t := v.(type) {
	case nil:
		return false
	case []any:
		for _, x := range t {
			if matches(x, want) {
				return true
			}
		}
		return false
	case string:
		if sub, ok := strings.CutPrefix(want, "~"); ok {
			return strings.Contains(t, sub)
		}
		return t == want
	}
	return fmt.Sprint(v) == want
}
