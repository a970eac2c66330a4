package apimodel_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/apimodel"
	"github.com/stackctl/stackctl/internal/compile"
	"github.com/stackctl/stackctl/internal/spec"
	"github.com/stackctl/stackctl/internal/testkit"
)

// TestTypesMirrorTheAPI walks compile's types beside the API types they
// stand for: every field must exist there under the same name, with no
// JSON renaming on either side, and be of the same shape (pointer or not,
// slice, map, the same basic type; a named string type of the API's takes
// a plain string).
func TestTypesMirrorTheAPI(t *testing.T) {
	mirrors(t, "Job", reflect.TypeFor[compile.Job](), reflect.TypeFor[nomad.Job]())
	mirrors(t, "ServiceIntentionsConfigEntry", reflect.TypeFor[compile.ServiceIntentionsConfigEntry](), reflect.TypeFor[consul.ServiceIntentionsConfigEntry]())
}

func mirrors(t *testing.T, path string, ours, api reflect.Type) {
	t.Helper()
	switch {
	case ours.Kind() != api.Kind():
		t.Errorf("%s: %s here, %s in the API", path, ours, api)
	case ours.Kind() == reflect.Pointer || ours.Kind() == reflect.Slice:
		mirrors(t, path, ours.Elem(), api.Elem())
	case ours.Kind() == reflect.Map:
		mirrors(t, path+"[key]", ours.Key(), api.Key())
		mirrors(t, path+"[]", ours.Elem(), api.Elem())
	case ours.Kind() == reflect.Struct:
		for i := range ours.NumField() {
			f := ours.Field(i)
			af, ok := api.FieldByName(f.Name)
			if !ok {
				t.Errorf("%s.%s: no such field in %s", path, f.Name, api)
				continue
			}
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
				t.Errorf("%s.%s: renamed to %q in JSON", path, f.Name, name)
			}
			if name, _, _ := strings.Cut(af.Tag.Get("json"), ","); name != "" && name != f.Name {
				t.Errorf("%s.%s: the API names it %q in JSON", path, f.Name, name)
			}
			mirrors(t, path+"."+f.Name, f.Type, af.Type)
		}
	case ours.Kind() == reflect.Interface:
		// map[string]any: checked by value in TestConversionKeepsEverything.
	case ours != api && !(ours.Kind() == reflect.String && ours.PkgPath() == ""):
		t.Errorf("%s: %s here, %s in the API", path, ours, api)
	}
}

// TestIntentionConstants: the values compile writes are consul/api's.
func TestIntentionConstants(t *testing.T) {
	if compile.IntentionsKind != consul.ServiceIntentions ||
		compile.IntentionAllow != string(consul.IntentionActionAllow) ||
		compile.IntentionSourceConsul != string(consul.IntentionSourceConsul) {
		t.Errorf("compile writes %q/%q/%q, consul/api says %q/%q/%q",
			compile.IntentionsKind, compile.IntentionAllow, compile.IntentionSourceConsul,
			consul.ServiceIntentions, consul.IntentionActionAllow, consul.IntentionSourceConsul)
	}
}

// The stacks converted: the examples the render goldens pin, and a
// service that differs from all of them (no health check, so no checks
// and task_states health; args holding a runtime interpolation; a memory
// autoscaling target).
var stacks = append(slices.Clip(testkit.Examples), testkit.Example{Name: "extra", Paths: []string{"extra.hcl"}})

const extraStack = `
service "batch" {
  image   = "batch:1"
  command = "/bin/batch"
  args    = ["--queue", "$${NOMAD_ALLOC_ID}"]
  port "http" { container_port = 8080 }
  autoscale {
    min            = 1
    max            = 4
    memory_percent = 60
  }
}
`

func compiled(t *testing.T) map[string]*compile.Bundle {
	t.Helper()
	out := map[string]*compile.Bundle{}
	for _, s := range stacks {
		var p *spec.Parser
		if s.Name == "extra" {
			p = spec.NewParser(fstest.MapFS{"extra.hcl": {Data: []byte(extraStack)}})
		} else {
			p = spec.NewParser(spec.OSFS{})
		}
		st, diags := p.Load(s.Paths, spec.LoadOptions{Vars: s.Vars})
		if diags.HasErrors() {
			t.Fatalf("%s: %s", s.Name, diags.Error())
		}
		out[s.Name] = compile.Compile(st)
	}
	return out
}

// TestConversionKeepsEverything converts every job and intentions entry of
// the stacks and wants every value compile set in the API value too, as
// JSON: the same keys, the same numbers (durations in nanoseconds), the
// same driver config and scaling policy. Every field of compile's types
// must be set somewhere in these stacks, so none goes untested.
func TestConversionKeepsEverything(t *testing.T) {
	set := map[string]bool{}
	for name, b := range compiled(t) {
		for _, s := range b.Services {
			for _, p := range kept(toJSON(t, s.Job), toJSON(t, apimodel.Job(s.Job)), "Job") {
				t.Errorf("%s/%s: %s", name, s.Name, p)
			}
			fieldsSet(reflect.ValueOf(s.Job), set)

			e := apimodel.Intentions(s.Intentions)
			if (e == nil) != (s.Intentions == nil) {
				t.Fatalf("%s/%s: intentions %v converted to %v", name, s.Name, s.Intentions, e)
			}
			if e != nil {
				for _, p := range kept(toJSON(t, s.Intentions), toJSON(t, e), "Intentions") {
					t.Errorf("%s/%s: %s", name, s.Name, p)
				}
				fieldsSet(reflect.ValueOf(s.Intentions), set)
			}
		}
	}
	all := map[string]bool{}
	fields(reflect.TypeFor[compile.Job](), all)
	fields(reflect.TypeFor[compile.ServiceIntentionsConfigEntry](), all)
	var unset []string
	for p := range all {
		if !set[p] {
			unset = append(unset, p)
		}
	}
	sort.Strings(unset)
	if len(unset) > 0 {
		t.Errorf("no stack sets %s: add one that does, so the conversion of every field is tested", strings.Join(unset, ", "))
	}
}

// TestJobIsACopy: plan changes the converted job; the bundle must not
// change with it, however deep the change.
func TestJobIsACopy(t *testing.T) {
	for name, b := range compiled(t) {
		for _, s := range b.Services {
			before := toJSON(t, s.Job)
			scribble(reflect.ValueOf(apimodel.Job(s.Job)))
			if after := toJSON(t, s.Job); !reflect.DeepEqual(before, after) {
				t.Errorf("%s/%s: changing the converted job changed the compiled one: %s", name, s.Name, strings.Join(kept(before, after, "Job"), "; "))
			}
		}
	}
	if apimodel.Job(nil) != nil || apimodel.Intentions(nil) != nil {
		t.Error("nil did not convert to nil")
	}
}

// scribble changes every value reachable from v in place: strings,
// numbers and booleans, the elements of slices and the values of maps.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			scribble(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			switch e.Kind() {
			case reflect.Interface:
				if inner := e.Elem(); inner.Kind() == reflect.Map || inner.Kind() == reflect.Slice {
					scribble(inner)
					continue
				}
			}
			v.SetMapIndex(k, reflect.ValueOf("scribbled").Convert(v.Type().Elem()))
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "!")
		}
	case reflect.Int, reflect.Int64:
		if v.CanSet() {
			v.SetInt(v.Int() + 1)
		}
	case reflect.Bool:
		if v.CanSet() {
			v.SetBool(!v.Bool())
		}
	}
}

// TestKeptFindsLosses: the comparison TestConversionKeepsEverything relies
// on reports a value that is missing or changed.
func TestKeptFindsLosses(t *testing.T) {
	ours := map[string]any{"A": json.Number("1"), "B": []any{map[string]any{"C": "x"}}, "D": nil}
	for _, tc := range []struct {
		api  map[string]any
		want string
	}{
		{map[string]any{"A": json.Number("1"), "B": []any{map[string]any{"C": "x", "E": nil}}, "D": nil, "F": "g"}, ""},
		{map[string]any{"B": []any{map[string]any{"C": "x"}}, "D": nil}, "X.A: lost"},
		{map[string]any{"A": json.Number("2"), "B": []any{map[string]any{"C": "x"}}, "D": nil}, "X.A: 1 became 2"},
		{map[string]any{"A": json.Number("1"), "B": []any{map[string]any{"C": "y"}}, "D": nil}, `X.B[0].C: "x" became "y"`},
		{map[string]any{"A": json.Number("1"), "B": []any{}, "D": nil}, "X.B: 1 elements became 0"},
		{map[string]any{"A": json.Number("1"), "B": []any{map[string]any{"C": "x"}}, "D": "set"}, `X.D: <nil> became "set"`},
	} {
		got := strings.Join(kept(ours, tc.api, "X"), "; ")
		if got != tc.want {
			t.Errorf("kept(%v) = %q, want %q", tc.api, got, tc.want)
		}
	}
}

// toJSON is v as generic JSON, numbers as written.
func toJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// kept lists where api does not hold what ours does: objects may have
// more keys in api (the API's other fields), everything else must be
// equal.
func kept(ours, api any, path string) []string {
	switch o := ours.(type) {
	case map[string]any:
		a, ok := api.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: object became %v", path, api)}
		}
		var out []string
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range o {
				if !yield(k) {
					return
				}
			}
		}) {
			v, ok := a[k]
			if !ok {
				out = append(out, path+"."+k+": lost")
				continue
			}
			out = append(out, kept(o[k], v, path+"."+k)...)
		}
		return out
	case []any:
		a, ok := api.([]any)
		if !ok || len(a) != len(o) {
			return []string{fmt.Sprintf("%s: %d elements became %d", path, len(o), len(a))}
		}
		var out []string
		for i := range o {
			out = append(out, kept(o[i], a[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !reflect.DeepEqual(ours, api) {
			return []string{fmt.Sprintf("%s: %s became %s", path, show(ours), show(api))}
		}
		return nil
	}
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

// fields collects the fields of a struct type and the struct types it
// holds, as Type.Field.
func fields(t reflect.Type, into map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || into[t.Name()] {
		return
	}
	into[t.Name()] = true // visited; not a field
	for i := range t.NumField() {
		f := t.Field(i)
		into[t.Name()+"."+f.Name] = true
		fields(f.Type, into)
	}
}

// fieldsSet collects the fields that hold a value (non-zero) in v, as
// Type.Field.
func fieldsSet(v reflect.Value, into map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fieldsSet(v.Elem(), into)
		}
	case reflect.Slice:
		for i := range v.Len() {
			fieldsSet(v.Index(i), into)
		}
	case reflect.Struct:
		into[v.Type().Name()] = true
		for i := range v.NumField() {
			if f := v.Field(i); !f.IsZero() {
				into[v.Type().Name()+"."+v.Type().Field(i).Name] = true
				fieldsSet(f, into)
			}
		}
	}
}
