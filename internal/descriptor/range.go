package descriptor

// Range is where a value was written: the same fields as hcl.Range, which
// the model does not use because package hcl brings go-cty (and with it
// math/big and math/rand) into everything that imports it. spec converts
// between the two where it decodes and where it reports.
type Range struct {
	Filename   string
	Start, End Pos
}

// Pos is a position in a file, as hcl.Pos: 1-based line and column
// (grapheme clusters), 0-based byte offset.
type Pos struct {
	Line, Column, Byte int
}
