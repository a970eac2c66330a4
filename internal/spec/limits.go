package spec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits guard the parser against inputs that would exhaust it, sized from
// what a real stack needs: 10,000 services in one file each (plus stack.hcl
// and variable files) must load, and a service descriptor is about 1 KiB
// (3 KiB for a large one), so files and bytes leave twice that room. The
// HCL parser recurses per nesting level and deep nesting overflows its
// stack (hashicorp/hcl#809), so depth is measured on the raw bytes first.
const (
	MaxFileSize  = 1 << 20  // bytes per file
	MaxTotalSize = 64 << 20 // bytes per load (sizes are checked before reading)
	MaxFiles     = 20000
	MaxDepth     = 32 // nesting levels and chained operators (checkNesting)
)

// checkNesting returns an error diagnostic when src would make the HCL
// parser, or the code that walks and evaluates what it builds, recurse
// more than MaxDepth levels deep. hclsyntax recurses once per bracket,
// block, string, heredoc, template sequence and if/for directive, once per
// unary operator (!!!!x, ----1) and per conditional (a ? b : c ? d : ...),
// and a chain of binary operators or indexes (1+1+1, x[a][b]) builds a tree
// as deep as the chain is long, which evaluation then recurses through.
// None of these has a limit in the library, and a few hundred KiB of any
// of them overflow the goroutine stack: a fatal error, not a panic that
// could be recovered.
//
// The measure: an opener adds a level until its closer; an operator (or
// an index) adds one until the expression it belongs to ends, at a comma
// or at the "=" of the next attribute or object item. The scan follows the
// HCL lexer's modes (code, quoted strings with escapes, heredocs and their
// closing markers, comments, template sequences) so that nothing the
// parser sees as code is skipped; where it is unsure it counts more, never
// less (FuzzNesting compares it with a count over the lexer's tokens).
// A heredoc marker with non-ASCII letters is refused: deciding whether the
// lexer takes it as one would need its Unicode tables. So is text that is
// not UTF-8: those tables take some invalid sequences as letters, swallowing
// the ASCII byte after a lead byte ("\xc5\"" is a name to the lexer, not the
// start of a string), which no scan could follow without them.
func checkNesting(filename string, src []byte) *hcl.Diagnostic {
	if !utf8.Valid(src) {
		return invalidUTF8Diag(filename, src)
	}
	s := newDepthScan(src, MaxDepth)
	s.run()
	switch {
	case s.badHeredoc >= 0:
		return heredocMarkerDiag(filename, src, s.badHeredoc)
	case s.at >= 0:
		return nestingDiag(filename, src, s.at, s.atOperator)
	}
	return nil
}

// CheckNesting is checkNesting for readers outside this package that parse
// descriptor bytes themselves (fmt's hclwrite): nil, or the one error.
func CheckNesting(filename string, src []byte) hcl.Diagnostics {
	if d := checkNesting(filename, src); d != nil {
		return hcl.Diagnostics{d}
	}
	return nil
}

// depthScan measures nesting for checkNesting. Two stacks: the lexer's
// modes, kept exactly as hclsyntax's scanner keeps them (brace levels at
// which a "}" ends a template sequence, open heredocs), and the frames the
// measure counts, which may disagree on malformed input (a closer that does
// not match its frame closes nothing: more depth, never less).
type depthScan struct {
	src   []byte
	limit int

	depth  int
	frames []depthFrame

	at         int  // offset where depth first exceeded limit, or -1
	atOperator bool // ... and whether an operator took it there
	badHeredoc int  // offset of a heredoc introducer with a non-ASCII marker, or -1

	// trace, when not nil, records the depth after each counted event at
	// the event's offset (tests compare it with the lexer's tokens).
	trace map[int]int
}

// Frame kinds: the file itself, the three brackets, a quoted string, a
// heredoc, ${ and %{ sequences, and the body of an if or for directive.
const (
	frameTop       = 0
	frameQuote     = '"'
	frameHeredoc   = '<'
	frameInterp    = '$'
	frameControl   = '%'
	frameDirective = 'd'
)

type depthFrame struct {
	kind byte
	base int  // depth inside the frame before any operator
	dir  byte // control: the directive's keyword (directiveKeyword); directive: 'i' or 'f' (or '?')
}

// lexMode is one entry of the lexer's mode stack.
type lexMode struct {
	kind      byte   // 'c' code, '"' quoted template, '<' heredoc template
	marker    []byte // heredoc: the closing marker
	lineStart bool   // heredoc: at the start of a content line
}

func newDepthScan(src []byte, limit int) *depthScan {
	return &depthScan{src: src, limit: limit, at: -1, badHeredoc: -1, frames: []depthFrame{{kind: frameTop}}}
}

func (s *depthScan) record(off int, operator bool) {
	if s.depth > s.limit && s.at < 0 {
		s.at, s.atOperator = off, operator
	}
	if s.trace != nil {
		s.trace[off] = s.depth
	}
}

func (s *depthScan) open(kind byte, off int) {
	s.depth++
	s.frames = append(s.frames, depthFrame{kind: kind, base: s.depth})
	s.record(off, false)
}

func (s *depthScan) operator(off int) {
	s.depth++
	s.record(off, true)
}

// close ends the innermost frame when it is of the given kind.
func (s *depthScan) close(kind byte) bool {
	top := s.frames[len(s.frames)-1]
	if top.kind != kind || len(s.frames) == 1 {
		return false
	}
	s.depth = top.base - 1
	s.frames = s.frames[:len(s.frames)-1]
	return true
}

// endSequence closes a ${ or %{ sequence; an if or for directive then
// opens the body that lasts until its endif or endfor.
func (s *depthScan) endSequence(off int) {
	top := s.frames[len(s.frames)-1]
	if top.kind != frameInterp && top.kind != frameControl {
		return
	}
	s.close(top.kind)
	switch top.dir {
	case 'i', 'f', '?':
		s.open(frameDirective, off)
		s.frames[len(s.frames)-1].dir = top.dir
	case 'I', 'F':
		if in := s.frames[len(s.frames)-1]; in.kind == frameDirective && in.dir == top.dir+('a'-'A') {
			s.close(frameDirective)
		}
	}
}

// reset ends the current expression's chain of operators.
func (s *depthScan) reset(kinds string) {
	top := s.frames[len(s.frames)-1]
	if top.kind == frameTop || strings.IndexByte(kinds, top.kind) >= 0 {
		s.depth = top.base
	}
}

// directiveKeyword reads the keyword after %{ (and its optional ~): 'i'
// for if, 'f' for for, 'I' for endif, 'F' for endfor, 0 for else, and '?'
// for anything else (a comment or a newline first, say), which counts as
// opening a body that nothing closes.
func directiveKeyword(rest []byte) byte {
	i := 0
	if i < len(rest) && rest[i] == '~' {
		i++
	}
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	j := i
	for j < len(rest) && (isLetter(rest[j]) || rest[j] == '_' || isDigit(rest[j])) {
		j++
	}
	switch string(rest[i:j]) {
	case "if":
		return 'i'
	case "for":
		return 'f'
	case "endif":
		return 'I'
	case "endfor":
		return 'F'
	case "else":
		return 0
	}
	return '?'
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func (s *depthScan) run() {
	src := s.src
	modes := []lexMode{{kind: 'c'}}
	braces := 0
	var retBraces []int // brace levels at which "}" ends a template sequence
	prevEnds := false   // the last code token can end an operand: "[" after it indexes
	noCommentEnd := 0   // from here on no "*/" follows
	next := func(i int) byte {
		if i+1 < len(src) {
			return src[i+1]
		}
		return 0
	}
	// sequence handles "$" or "%" in a template: ${ and %{ open a sequence
	// in code mode, $${ and %%{ are literal; it returns the next offset.
	sequence := func(i int) int {
		c := src[i]
		switch {
		case next(i) == '{':
			kind := byte(frameInterp)
			if c == '%' {
				kind = frameControl
			}
			s.open(kind, i)
			if kind == frameControl {
				s.frames[len(s.frames)-1].dir = directiveKeyword(src[i+2:])
			}
			braces++
			retBraces = append(retBraces, braces)
			modes = append(modes, lexMode{kind: 'c'})
			prevEnds = false
			i += 2
			if i < len(src) && src[i] == '~' {
				i++
			}
			return i
		case next(i) == c && i+2 < len(src) && src[i+2] == '{':
			return i + 3
		}
		return i + 1
	}
	for i := 0; i < len(src) && s.at < 0 && s.badHeredoc < 0; {
		m := &modes[len(modes)-1]
		c := src[i]
		switch m.kind {
		case '"':
			switch c {
			case '"':
				s.close(frameQuote)
				modes = modes[:len(modes)-1]
				prevEnds = true
				i++
			case '\\':
				i += 2
			case '$', '%':
				i = sequence(i)
			default:
				i++
			}
			continue
		case '<':
			if m.lineStart {
				// A line that is only the marker (and spaces) ends the
				// heredoc; the newline after it belongs to the code.
				m.lineStart = false
				if eol := bytes.IndexByte(src[i:], '\n'); eol >= 0 && bytes.Equal(bytes.TrimSpace(src[i:i+eol+1]), m.marker) {
					s.close(frameHeredoc)
					modes = modes[:len(modes)-1]
					prevEnds = true
					i += eol
					continue
				}
			}
			switch c {
			case '\n':
				m.lineStart = true
				i++
			case '$', '%':
				i = sequence(i)
			default:
				i++
			}
			continue
		}
		// Code.
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
			continue
		case c == '#' || (c == '/' && next(i) == '/'):
			if eol := bytes.IndexByte(src[i:], '\n'); eol >= 0 {
				i += eol + 1
			} else {
				i = len(src)
			}
			continue
		case c == '/' && next(i) == '*' && i >= noCommentEnd:
			// An unterminated /* is no comment to the lexer: "/" and "*".
			// (Once there is no */ left, none is searched for again.)
			if end := bytes.Index(src[i+2:], []byte("*/")); end >= 0 {
				i += 2 + end + 2
				continue
			}
			noCommentEnd = len(src)
		case isDigit(c):
			// A number, with any letters and dots run into it ("1e5");
			// a "-" after it is counted even where the lexer takes it as
			// the exponent's sign.
			for i < len(src) && (isDigit(src[i]) || isLetter(src[i]) || src[i] == '_' || src[i] == '.') {
				i++
			}
			prevEnds = true
			continue
		case isLetter(c) || c == '_':
			// An identifier may hold dashes ("a-b" is one name), unless
			// it follows a non-ASCII character: the lexer may take that as
			// part of the name, or not, so dashes then count.
			dashes := i == 0 || src[i-1] < utf8.RuneSelf
			for i < len(src) && (isLetter(src[i]) || isDigit(src[i]) || src[i] == '_' || (dashes && src[i] == '-')) {
				i++
			}
			prevEnds = true
			continue
		case c >= utf8.RuneSelf:
			i++
			prevEnds = true
			continue
		}
		switch c {
		case '"':
			s.open(frameQuote, i)
			modes = append(modes, lexMode{kind: '"'})
			i++
		case '<':
			if next(i) == '<' {
				if end, marker, ok := s.heredocIntro(i); ok {
					s.open(frameHeredoc, i)
					modes = append(modes, lexMode{kind: '<', marker: marker, lineStart: true})
					i = end
					break
				}
				if s.badHeredoc >= 0 {
					break
				}
			}
			s.operator(i)
			i++
			if i < len(src) && src[i] == '=' {
				i++
			}
		case '{':
			braces++
			s.open('{', i)
			i++
		case '}', '~':
			start := i
			if c == '~' {
				if next(i) != '}' {
					i++
					break
				}
				i++
			}
			if n := len(retBraces); n > 0 && retBraces[n-1] == braces {
				braces--
				retBraces = retBraces[:n-1]
				modes = modes[:len(modes)-1]
				s.endSequence(start)
			} else {
				// "~}" here is a sequence end the parser will reject;
				// either way the lexer's brace level drops.
				braces--
				if c == '}' {
					s.close('{')
				}
			}
			i++
			prevEnds = true
			continue
		case '[':
			if prevEnds {
				s.operator(i) // an index: one more level of the chain
			}
			s.open('[', i)
			i++
		case '(':
			s.open('(', i)
			i++
		case ']':
			s.close('[')
			i++
			prevEnds = true
			continue
		case ')':
			s.close('(')
			i++
			prevEnds = true
			continue
		case ',':
			s.reset("{[(")
			i++
		case '=':
			switch next(i) {
			case '=':
				s.operator(i)
				i += 2
			case '>':
				i += 2
			default:
				s.reset("{") // the next attribute or object item
				i++
			}
		case '!', '>', '&', '|':
			s.operator(i)
			i++
			if i < len(src) && (src[i] == '=' && (c == '!' || c == '>') || src[i] == c && (c == '&' || c == '|')) {
				i++
			}
		case '-', '+', '/', '%', '?':
			s.operator(i)
			i++
		case '*':
			s.operator(i)
			i++
			prevEnds = true // a splat, x[*] or x.*, may be indexed
			continue
		default:
			i++
		}
		prevEnds = false
	}
}

// heredocIntro recognises <<MARKER or <<-MARKER and its newline at off, as
// the lexer does for ASCII markers; a non-ASCII marker sets badHeredoc.
func (s *depthScan) heredocIntro(off int) (end int, marker []byte, ok bool) {
	src := s.src
	j := off + 2
	if j < len(src) && src[j] == '-' {
		j++
	}
	k := j
	if k < len(src) && (isLetter(src[k]) || src[k] == '_') {
		for k < len(src) && (isLetter(src[k]) || isDigit(src[k]) || src[k] == '_' || src[k] == '-') {
			k++
		}
	}
	if k < len(src) && src[k] >= utf8.RuneSelf {
		s.badHeredoc = off
		return 0, nil, false
	}
	if k == j {
		return 0, nil, false
	}
	switch {
	case k < len(src) && src[k] == '\n':
		return k + 1, src[j:k], true
	case k+1 < len(src) && src[k] == '\r' && src[k+1] == '\n':
		return k + 2, src[j:k], true
	}
	return 0, nil, false
}

// MaxForNesting bounds nested for expressions (and template for
// directives): each level multiplies the work, so a few nested loops over
// long lists would keep evaluation busy for hours.
const MaxForNesting = 2

// forDepth walks a parsed body and reports the first for expression nested
// deeper than MaxForNesting.
type forDepth struct {
	depth int
	diag  *hcl.Diagnostic
}

func (w *forDepth) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if f, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth++
		if w.depth > MaxForNesting && w.diag == nil {
			r := f.Range()
			w.diag = &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "For expressions nested too deep",
				Detail:   fmt.Sprintf("At most %d for expressions may nest; each level multiplies the work. Flatten the expression.", MaxForNesting),
				Subject:  &r,
			}
		}
	}
	return nil
}

func (w *forDepth) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth--
	}
	return nil
}

func checkForNesting(f *hcl.File) *hcl.Diagnostic {
	body, ok := f.Body.(*hclsyntax.Body)
	// Without the keyword there is no for expression to find; most files
	// have none, and the walk costs a tenth of a load.
	if !ok || !bytes.Contains(f.Bytes, []byte("for")) {
		return nil
	}
	return forNesting(body)
}

// forNesting is checkForNesting for any syntax node (a -var value's
// expression).
func forNesting(n hclsyntax.Node) *hcl.Diagnostic {
	w := &forDepth{}
	hclsyntax.Walk(n, w)
	return w.diag
}
