// Package termtext escapes text from outside (a cluster, a compose
// project) before it reaches a terminal or a line a user pastes: a control
// character could move the cursor, set the window title or start a new
// command line, and a bidirectional override could reorder what is shown.
package termtext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character keep refuses, and every byte that
// is not UTF-8, written as \xNN (ASCII and bad bytes) or \uNNNN. What keep
// accepts is copied as it is, backslashes included, so a keep that accepts
// backslash and the hex digits makes Escape idempotent.
func Escape(s string, keep func(rune) bool) string {
	if clean(s, keep) {
		return s
	}
	var out strings.Builder
	out.Grow(len(s) + 16)
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&out, `\x%02x`, s[0])
		case keep(r):
			out.WriteString(s[:size])
		case r < 0x80:
			fmt.Fprintf(&out, `\x%02x`, r)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		s = s[size:]
	}
	return out.String()
}

// clean reports whether Escape would leave s as it is.
func clean(s string, keep func(rune) bool) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return false
			}
		}
		if !keep(r) {
			return false
		}
	}
	return true
}
