package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON documents are checked against the schemas docs/cli.md points
// to: a field that is not documented, or a documented one that is
// missing, fails.
var schemaDir = filepath.Join("..", "..", "docs", "json")

var (
	schemasOnce sync.Once
	schemas     map[string]*jsonschema.Schema
	schemasErr  error
)

func loadSchemas() (map[string]*jsonschema.Schema, error) {
	schemasOnce.Do(func() {
		files, err := filepath.Glob(filepath.Join(schemaDir, "*.schema.json"))
		if err != nil || len(files) == 0 {
			schemasErr = fmt.Errorf("no schema in %s: %v", schemaDir, err)
			return
		}
		schemas = map[string]*jsonschema.Schema{}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		for _, f := range files {
			abs, _ := filepath.Abs(f)
			s, err := c.Compile(abs)
			if err != nil {
				schemasErr = err
				return
			}
			schemas[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = s
		}
	})
	return schemas, schemasErr
}

// validateDoc checks that out is exactly one line of JSON that the
// schema name accepts, and returns the document.
func validateDoc(name, out string) (any, error) {
	all, err := loadSchemas()
	if err != nil {
		return nil, err
	}
	s, ok := all[name]
	if !ok {
		return nil, fmt.Errorf("no schema %q", name)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		return nil, fmt.Errorf("want one line of JSON, got:\n%s", out)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		return nil, err
	}
	return doc, s.Validate(doc)
}

// jsonCmd checks the JSON document the last command printed on stdout:
//
//	json schema NAME   it is one line that docs/json/NAME.schema.json accepts
//	json PATH WANT     the value at PATH equals the JSON value WANT
//	json PATH          PATH exists (! json PATH: it does not)
//
// PATH is a chain of .key, [N] and [key=value] (the first element of a
// list whose key is value); PATH|len is the length of a list.
func jsonCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: json schema NAME | json PATH [WANT]")
	}
	out := ts.ReadFile("stdout")
	if args[0] == "schema" {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: json schema NAME")
		}
		if _, err := validateDoc(args[1], out); err != nil {
			ts.Fatalf("stdout does not match the %s schema: %v\n%s", args[1], err, out)
		}
		return
	}
	var doc any
	ts.Check(json.Unmarshal([]byte(out), &doc))
	v, err := jsonPath(doc, args[0])
	switch {
	case len(args) == 1 && neg:
		if err == nil {
			ts.Fatalf("%s exists: %s", args[0], compact(v))
		}
	case len(args) == 1:
		ts.Check(err)
	case len(args) == 2:
		ts.Check(err)
		var want any
		if err := json.Unmarshal([]byte(args[1]), &want); err != nil {
			ts.Fatalf("json: WANT %s is not JSON: %v", args[1], err)
		}
		if reflect.DeepEqual(v, want) == neg {
			ts.Fatalf("%s is %s, want %s%s", args[0], compact(v), map[bool]string{true: "not ", false: ""}[neg], args[1])
		}
	default:
		ts.Fatalf("usage: json PATH [WANT]")
	}
}

func compact(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

var pathPart = regexp.MustCompile(`^(?:\.([A-Za-z0-9_]+)|\[([0-9]+)\]|\[([A-Za-z0-9_]+)=([^\]]*)\])`)

// jsonPath resolves a PATH of jsonCmd in doc.
func jsonPath(doc any, path string) (any, error) {
	path, length := strings.CutSuffix(path, "|len")
	v, rest := doc, path
	for rest != "" {
		m := pathPart.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("bad path %q at %q", path, rest)
		}
		rest = rest[len(m[0]):]
		switch {
		case m[1] != "":
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an object before .%s", path, m[1])
			}
			if v, ok = obj[m[1]]; !ok {
				return nil, fmt.Errorf("%s: no field %q", path, m[1])
			}
		case m[2] != "":
			list, ok := v.([]any)
			i, _ := strconv.Atoi(m[2])
			if !ok || i >= len(list) {
				return nil, fmt.Errorf("%s: no element %d", path, i)
			}
			v = list[i]
		default:
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s: not a list before [%s=%s]", path, m[3], m[4])
			}
			var found any
			for _, e := range list {
				if obj, ok := e.(map[string]any); ok && fmt.Sprint(obj[m[3]]) == m[4] {
					found = e
					break
				}
			}
			if found == nil {
				return nil, fmt.Errorf("%s: no element with %s=%s", path, m[3], m[4])
			}
			v = found
		}
	}
	if length {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a list", path)
		}
		return float64(len(list)), nil
	}
	return v, nil
}

// TestSchemasAreStrict keeps the schemas useful: a document with a field
// they do not describe, or without one they require, is refused.
func TestSchemasAreStrict(t *testing.T) {
	all, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"status", "plan"} {
		if all[name] == nil {
			t.Fatalf("no %s schema", name)
		}
	}
	ok := `{"format_version":1,"namespace":"default","services":[]}`
	for doc, want := range map[string]bool{
		ok: true,
		`{"format_version":1,"namespace":"default","services":[],"extra":1}`: false,
		`{"format_version":1,"namespace":"default"}`:                         false,
		`{"format_version":2,"namespace":"default","services":[]}`:           false,
	} {
		_, err := validateDoc("status", doc+"\n")
		if (err == nil) != want {
			t.Errorf("%s: valid=%v, want %v (%v)", doc, err == nil, want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(schemaDir, "status.schema.json")); err != nil {
		t.Fatal(err)
	}
}
