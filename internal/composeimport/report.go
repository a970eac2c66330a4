package composeimport

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/stackctl/stackctl/internal/termtext"
)

// WriteReport says on w what an import wrote into dir and what to do next:
// the secrets to store (commands only, never values), then plan and
// deploy. Everything in it that came from the compose project is either
// a name the import made safe (DNS labels, variable names) or passed
// through printable and shellQuote, so a hostile project can neither
// move the terminal nor add a line to the commands the user pastes.
func (r *Result) WriteReport(w io.Writer, dir string, warnings int) {
	shown := strings.TrimSuffix(dir, "/")
	fmt.Fprintf(w, "Imported %d service(s) into %s/: %s (stack.hcl + one file each; stackctl validate passes).\n",
		len(r.Services), printable(shown), printable(strings.Join(r.Services, ", ")))
	if warnings > 0 {
		fmt.Fprintf(w, "%d warning(s) on stderr: what did not carry over and what to do instead.\n", warnings)
	}
	if len(r.Secrets) > 0 {
		fmt.Fprintf(w, "\nStore the secrets in Vault before deploying (each command reads the value from stdin):\n")
		for _, p := range r.Secrets {
			fmt.Fprintf(w, "  %s\n", p.Command(dir))
		}
	}
	q := shellQuote(dir)
	fmt.Fprintf(w, "\nThen: stackctl plan %s && stackctl deploy %s\n", q, q)
	fmt.Fprintf(w, "(where Envoy is not installed, as on the dev stack: stackctl deploy -var sidecar=builtin %s)\n", q)
}

// printable makes text from the compose project safe to print: control
// characters (a newline would start a new line of a command the user
// pastes, an ESC a terminal escape sequence), bidirectional overrides and
// other invisible characters and bytes that are not UTF-8 are written as
// \xNN or \uNNNN escapes.
func printable(s string) string { return termtext.Escape(s, visible) }

// visible: printed as it is (graphic characters and the plain space).
func visible(r rune) bool {
	return r == ' ' || (unicode.IsGraphic(r) && !unicode.Is(unicode.Bidi_Control, r) && !unicode.IsSpace(r))
}

// printableName reports a name that printable leaves as it is.
func printableName(s string) bool { return printable(s) == s }
