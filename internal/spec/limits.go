package spec

import (
	"bytes"
	"fmt"

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
	MaxDepth     = 32 // nested {, [ and (
)

// checkNesting returns an error diagnostic when src nests brackets deeper
// than MaxDepth. Strings, heredocs and comments are not tracked precisely:
// the scan may over-count brackets inside strings, which only makes it
// stricter on inputs no real descriptor has.
func checkNesting(filename string, src []byte) *hcl.Diagnostic {
	depth, line, col := 0, 1, 0
	inString, inComment, inLineComment := false, false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		col++
		if c == '\n' {
			line++
			col = 0
			inLineComment = false
			continue
		}
		switch {
		case inLineComment:
			continue
		case inComment:
			if c == '*' && i+1 < len(src) && src[i+1] == '/' {
				inComment = false
				i++
				col++
			}
			continue
		case inString:
			if c == '\\' {
				i++
				col++
			} else if c == '"' {
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '#':
			inLineComment = true
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				inLineComment = true
			} else if i+1 < len(src) && src[i+1] == '*' {
				inComment = true
			}
		case '{', '[', '(':
			depth++
			if depth > MaxDepth {
				pos := hcl.Pos{Line: line, Column: col, Byte: i}
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Nesting too deep",
					Detail: fmt.Sprintf("Brackets and blocks nest more than %d levels deep here. "+
						"A descriptor never needs this; flatten the expression.", MaxDepth),
					Subject: &hcl.Range{Filename: filename, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: i + 1}},
				}
			}
		case '}', ']', ')':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
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
	w := &forDepth{}
	hclsyntax.Walk(body, w)
	return w.diag
}
