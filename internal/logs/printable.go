package logs

import "github.com/stackctl/stackctl/internal/rollout"

// Printable makes a log line, or any text from the cluster, safe to show
// on a terminal: control characters (but tab), bidirectional overrides and
// other invisible characters, and bytes that are not UTF-8 become \xNN or
// \uNNNN escapes (rollout.Printable, the one implementation every text
// writer of cluster strings uses).
func Printable[T ~string | ~[]byte](text T) string { return rollout.Printable(text) }
