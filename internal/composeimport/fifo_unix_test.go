//go:build unix

package composeimport

import (
	"path/filepath"
	"syscall"
	"testing"
)

// fifo makes named pipes in the project directory: reading one blocks
// until something writes to it.
func fifo(names ...string) func(t *testing.T, proj string) {
	return func(t *testing.T, proj string) {
		for _, n := range names {
			must(t, syscall.Mkfifo(filepath.Join(proj, n), 0o644))
		}
	}
}
