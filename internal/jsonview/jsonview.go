// Package jsonview is what stackctl prints for tools with --format json:
// one JSON object per line on stdout, each with "format_version", snake_case
// field names, every documented field present (null when unknown), lists
// in a stable order, and never a secret value. docs/cli.md ("JSON output")
// documents the conventions and every document's schema; a change that
// breaks a reader bumps FormatVersion.
//
// The documents are plain structs built from the use cases' results
// (status, deploy's plan); the commands only pick them and Write them.
package jsonview

import (
	"encoding/json"
	"io"
	"strings"
	"time"
)

// FormatVersion is the "format_version" of every document.
const FormatVersion = 1

// Header opens every document.
type Header struct {
	FormatVersion int `json:"format_version"`
}

func header() Header { return Header{FormatVersion: FormatVersion} }

// Write prints doc as one line of JSON. HTML characters stay as they are
// (Traefik rules hold "&&" and backquotes).
func Write(w io.Writer, doc any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// Time is an RFC 3339 time in UTC, null when zero.
func Time(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

// nanos converts Nomad's Unix nanoseconds.
func nanos(ns int64) *string {
	if ns == 0 {
		return nil
	}
	return Time(time.Unix(0, ns))
}

// list keeps an empty list a list ([]), never null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// lines splits a message into its non-empty lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
