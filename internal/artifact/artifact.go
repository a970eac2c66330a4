// Package artifact names the unit every generator returns: a file's path
// below the output directory and its bytes. The generators (render, kube)
// stay pure; the CLI writes what they return through internal/outdir.
package artifact

// File is one generated file.
type File struct {
	Path    string // slash-separated, relative to the output directory
	Content []byte
}
