package cli

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// readHidden reads one line from r without echo when r is a terminal,
// after writing prompt to w; ok is false when r is not a terminal (a pipe
// or a file: read it as it is).
func readHidden(r io.Reader, w io.Writer, prompt string) (value string, ok bool, err error) {
	f, isFile := r.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return "", false, nil
	}
	fmt.Fprint(w, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(w)
	return string(b), true, err
}
