//go:build !unix

package composeimport

import "testing"

// fifo: named pipes are a Unix matter.
func fifo(names ...string) func(t *testing.T, proj string) {
	return func(t *testing.T, proj string) { t.Skip("no named pipes on this system") }
}
