package composeimport

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Secret values are read from the compose project into memory and go no
// further: descriptors get `secret` blocks naming a Vault path, the user is
// told which `stackctl secrets put` commands to run (the value through
// stdin), and every message or source snippet shown is redacted.

// secretWords inside a variable name mark its value as secret.
var secretWords = []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "PRIVATE", "CREDENTIAL"}

// secretSegments are secret only as a whole _-separated part of the name
// (KEY, not KEYBOARD; PASS, not BYPASS).
var secretSegments = map[string]bool{"KEY": true, "KEYS": true, "PASS": true, "PWD": true, "SALT": true, "DSN": true}

// notSecretLast are final name parts that describe a secret without
// being one (DB_PASSWORD_FILE is a path, TOKEN_TTL a duration).
var notSecretLast = map[string]bool{
	"FILE": true, "PATH": true, "DIR": true, "TTL": true, "TIMEOUT": true, "LENGTH": true,
	"HEADER": true, "NAME": true, "ENABLED": true, "TYPE": true, "EXPIRY": true, "ALGORITHM": true, "METHOD": true, "MODE": true,
	// Addresses: a URL with a password in it is caught by its value.
	"URL": true, "URI": true, "HOST": true, "PORT": true, "ADDR": true, "ADDRESS": true, "ENDPOINT": true, "SERVER": true,
}

// notSecretNames look secret by the rules below but are not (PWD is the
// shell's working directory).
var notSecretNames = map[string]bool{"PWD": true, "OLDPWD": true}

// secretName reports whether a variable's name says it holds a secret.
func secretName(name string) bool {
	up := strings.ToUpper(name)
	if notSecretNames[up] {
		return false
	}
	parts := strings.FieldsFunc(up, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(parts) == 0 || notSecretLast[parts[len(parts)-1]] {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	for _, p := range parts {
		if secretSegments[p] {
			return true
		}
	}
	return false
}

// flagValues are switches, not secrets (MYSQL_ALLOW_EMPTY_PASSWORD=yes).
var flagValues = map[string]bool{"": true, "true": true, "false": true, "yes": true, "no": true, "0": true, "1": true, "on": true, "off": true}

// secretValue reports whether an environment variable must become a
// secret: its name says so and its value is not a switch, or its value is
// a URL with a password in it.
func secretValue(name, value string) bool {
	if secretName(name) && !flagValues[strings.ToLower(value)] {
		return true
	}
	return urlHasPassword(value)
}

var urlInValueRe = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s'"]+`)

// urlHasPassword finds URLs with credentials anywhere in a value
// (postgres://user:pw@db/app): such a value is a secret whatever its name.
func urlHasPassword(value string) bool {
	for _, m := range urlInValueRe.FindAllString(value, -1) {
		if u, err := url.Parse(m); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
	}
	return false
}

// redactor replaces secret values in text shown to the user.
type redactor struct {
	values []string
	repl   *strings.Replacer // built on first use after an add
}

// add remembers a secret value; very short values are not replaced in
// free text (they would mangle it) but their source lines are masked.
func (r *redactor) add(v string) {
	if len(v) >= 4 {
		r.values = append(r.values, v)
		r.repl = nil
	}
}

func (r *redactor) redact(s string) string {
	if len(r.values) == 0 {
		return s
	}
	if r.repl == nil {
		// Longest first, so a value containing another is replaced whole
		// (the replacer tries its pairs in order at each position). One
		// replacer for every line: redacting is linear in the text.
		vals := append([]string(nil), r.values...)
		sort.SliceStable(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
		var pairs []string
		for _, v := range vals {
			pairs = append(pairs, v, "<secret>")
		}
		r.repl = strings.NewReplacer(pairs...)
	}
	return r.repl.Replace(s)
}

// redactEnv hides the values of secret-named variables (from the
// environment and the .env files) in a message of the compose library.
func redactEnv(msg string, env map[string]string) string {
	r := &redactor{}
	for k, v := range env {
		if secretValue(k, v) {
			r.add(v)
		}
	}
	return r.redact(msg)
}
