package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/stackctl/stackctl/internal/stackgen"
)

// loadWithin runs Load under a deadline: reading a FIFO would block forever,
// and the test must fail fast instead of hanging.
func loadWithin(t *testing.T, paths []string, opts LoadOptions) (*Parser, hcl.Diagnostics) {
	t.Helper()
	p := NewParser(OSFS{})
	done := make(chan hcl.Diagnostics, 1)
	go func() {
		_, diags := p.Load(paths, opts)
		done <- diags
	}()
	select {
	case diags := <-done:
		return p, diags
	case <-time.After(5 * time.Second):
		t.Fatalf("Load(%v) did not return within 5 s (blocked on a read?)", paths)
		return nil, nil
	}
}

const validService = "service \"web\" {\n  image = \"web:1.0.0\"\n  port \"http\" {\n    container_port = 8080\n  }\n  health {\n    path = \"/healthz\"\n  }\n}\n"

// TestNonRegularInputsRefused: links leaving the directory, FIFOs and
// devices are refused by name, never opened, and nothing of what they
// point at is printed.
func TestNonRegularInputsRefused(t *testing.T) {
	outside := t.TempDir()
	token := filepath.Join(outside, "token")
	const secret = "s3cr3t-token-value"
	if err := os.WriteFile(token, []byte("service \"x\" { image = \""+secret+"\" oops }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"symlink out of the directory", func(p string) error { return os.Symlink(token, p) }, "is a symbolic link"},
		{"symlink to /dev/null", func(p string) error { return os.Symlink("/dev/null", p) }, "is a symbolic link"},
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "is a named pipe (FIFO)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "web.hcl"), []byte(validService), 0o644); err != nil {
				t.Fatal(err)
			}
			bad := filepath.Join(dir, "bad.hcl")
			if err := tc.make(bad); err != nil {
				t.Fatal(err)
			}
			// Found in a directory, named on the command line, and as a
			// variable file: each is refused.
			for _, args := range []struct {
				paths []string
				opts  LoadOptions
			}{
				{[]string{dir}, LoadOptions{}},
				{[]string{bad}, LoadOptions{}},
				{[]string{filepath.Join(dir, "web.hcl")}, LoadOptions{Vars: []VarArg{{File: true, Value: bad}}}},
			} {
				p, diags := loadWithin(t, args.paths, args.opts)
				if !diags.HasErrors() {
					t.Fatalf("%v %v: accepted", args.paths, args.opts.Vars)
				}
				text := diags.Error()
				if !strings.Contains(text, bad) || !strings.Contains(text, tc.want) {
					t.Errorf("%v %v: diagnostics do not name %s as %q: %s", args.paths, args.opts.Vars, bad, tc.want, text)
				}
				if strings.Contains(text, secret) {
					t.Errorf("diagnostics show the content behind the link: %s", text)
				}
				for name, f := range p.Files() {
					if strings.Contains(string(f.Bytes), secret) {
						t.Errorf("%s was read: its content could reach a snippet", name)
					}
				}
			}
		})
	}
	// A device named directly is refused too.
	if _, diags := loadWithin(t, []string{"/dev/null"}, LoadOptions{}); !diags.HasErrors() || !strings.Contains(diags.Error(), "is a device") {
		t.Errorf("/dev/null accepted or misdescribed: %v", diags)
	}
}

// TestLinkedDirectoryAllowed: the directory the user names may be a link;
// its regular files are read.
func TestLinkedDirectoryAllowed(t *testing.T) {
	real, base := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(real, "web.hcl"), []byte(validService), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "jobs")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, diags := loadWithin(t, []string{link}, LoadOptions{}); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
}

// TestTenThousandServiceFiles: the layout the README teaches (one file
// per service plus stack.hcl) is within the limits at 10,000 services;
// twice the file limit is not.
func TestTenThousandServiceFiles(t *testing.T) {
	fsys := fstest.MapFS{}
	for name, data := range stackgen.Files(10000) {
		fsys["stack/"+name] = &fstest.MapFile{Data: data}
	}
	files, diags := NewParser(fsys).DescriptorFiles([]string{"stack"})
	if diags.HasErrors() || len(files) != 10001 {
		t.Fatalf("%d files, %v", len(files), diags)
	}
	for i := len(files); i <= MaxFiles; i++ {
		fsys[fmt.Sprintf("stack/zz-%05d.hcl", i)] = &fstest.MapFile{}
	}
	if _, diags := NewParser(fsys).DescriptorFiles([]string{"stack"}); !diags.HasErrors() || !strings.Contains(diags.Error(), "the limit is") {
		t.Fatalf("%d files accepted", MaxFiles+1)
	}
}
