package termtext

import (
	"testing"
	"unicode"
)

func TestEscape(t *testing.T) {
	graphic := func(r rune) bool { return unicode.IsGraphic(r) }
	for in, want := range map[string]string{
		"plain text, café":       "plain text, café",
		"\x1b]0;title\x07":       `\x1b]0;title\x07`,
		"a\nb\tc":                `a\x0ab\x09c`,
		"\u202eevil":             `\u202eevil`,
		"bad \xff byte":          `bad \xff byte`,
		"\u200bzero width":       `\u200bzero width`,
		`already \x1b escaped`:   `already \x1b escaped`,
		"\x7f delete \u0085 nel": `\x7f delete \u0085 nel`,
	} {
		got := Escape(in, graphic)
		if got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if again := Escape(got, graphic); again != got {
			t.Errorf("Escape is not idempotent on %q: %q", got, again)
		}
	}
}
