package kube

import (
	"bytes"
	"encoding/json"

	"sigs.k8s.io/yaml"
)

// documents marshals objects to one multi-document YAML stream. Going
// through JSON into generic maps sorts every key, and lets the fields the
// typed structs always emit but a manifest never carries go:
// "creationTimestamp: null", "status" and an empty "spec: {}".
func documents(objs []any) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		doc, err := Marshal(o)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(doc)
	}
	return buf.Bytes(), nil
}

// Marshal returns one object as YAML with sorted keys and without the
// empty server-side fields.
func Marshal(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	// Status belongs to the server; an empty spec (Namespace) says nothing.
	delete(m, "status")
	if sp, ok := m["spec"].(map[string]any); ok && len(sp) == 0 {
		delete(m, "spec")
	}
	prune(m)
	return yaml.Marshal(m)
}

// prune drops creationTimestamp: null at every level (object and pod
// template metadata).
func prune(v any) {
	switch t := v.(type) {
	case map[string]any:
		if ts, ok := t["creationTimestamp"]; ok && ts == nil {
			delete(t, "creationTimestamp")
		}
		for _, c := range t {
			prune(c)
		}
	case []any:
		for _, c := range t {
			prune(c)
		}
	}
}
