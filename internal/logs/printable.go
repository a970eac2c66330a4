package logs

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable makes a log line safe to show on a terminal: a task's output
// could otherwise move the cursor, rewrite the screen or the window title
// with escape sequences. Control characters (but tab), other invisible
// characters and bytes that are not UTF-8 become \xNN or \uNNNN; the rest
// is kept as it is, backslashes included.
func Printable(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&out, `\x%02x`, b[0])
		case r == '\t' || unicode.IsGraphic(r):
			out.Write(b[:size])
		case r < 0x80:
			fmt.Fprintf(&out, `\x%02x`, r)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
		b = b[size:]
	}
	return out.String()
}
