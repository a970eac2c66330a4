package rollout

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes text from the cluster safe to show on a terminal: a
// task's output, a health check's output, an event message, a node name
// could otherwise move the cursor, rewrite the screen or the window title
// with escape sequences, or reorder what is shown (U+202E). Control
// characters (C0 but tab, DEL, C1), format and other invisible characters
// (bidirectional overrides, zero-width characters), and bytes that are not
// UTF-8 become \xNN or \uNNNN; the rest is kept as it is, backslashes
// included, so applying it twice changes nothing. It is the one escaping
// for every text output of cluster strings (logs.Printable is this same
// function; it lives here because rollout, which words failures, is below
// logs in the import graph). Sentences stackctl words around cluster text
// use it wherever they go; JSON fields that hold the cluster's own strings
// keep them exact (JSON's escaping makes them safe).
func Printable[T ~string | ~[]byte](text T) string {
	s := string(text)
	if isPrintable(s) {
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

// keep: a tab, or a character that shows as itself.
func keep(r rune) bool { return r == '\t' || unicode.IsGraphic(r) }

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			// Decode the rest rune by rune.
			for _, r := range s[i:] {
				if r == utf8.RuneError || !keep(r) {
					return false
				}
			}
			return true
		} else if c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}
