package rollout

import (
	"unicode"

	"github.com/stackctl/stackctl/internal/termtext"
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
	return termtext.Escape(string(text), keep)
}

// keep: a tab, or a character that shows as itself.
func keep(r rune) bool { return r == '\t' || unicode.IsGraphic(r) }
