// Command genstack writes an N-service stack for the render benchmarks
// (bench/render.sh): DIR/stack.hcl and one DIR/<service>.hcl per service.
//
//	go run ./bench/genstack -n 1000 DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stackctl/stackctl/internal/stackgen"
)

func main() {
	n := flag.Int("n", 1000, "number of services")
	flag.Parse()
	if flag.NArg() != 1 || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: genstack -n N DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, content := range stackgen.Files(*n) {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
