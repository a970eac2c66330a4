package composeimport

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/hcl/v2"
)

// The compose project may come from a pull request and be imported by
// someone else, on their machine, with their files and environment. So the
// files the project makes the import read (env_file, label_file, include,
// extends, a .env found beside the compose file, and the secret files the
// printed commands feed to stackctl) must lie inside the project
// directory after symlinks are resolved, and be regular files of a
// bounded size: /etc/shadow, ../../x, a symlink out of the project, a FIFO
// that never answers or /dev/zero are refused before they are opened.
// Files the user names on the command line (-f, --env-file) are their own
// choice and only have to be readable without hanging.

// maxReadFile bounds every file the import reads; compose and env files
// are a few KiB.
const maxReadFile = maxComposeFile

// projectRoot is the directory a compose project may read files from: the
// working directory docker compose uses, by default the first compose
// file's directory.
type projectRoot struct {
	dir  string // absolute, as given
	real string // with symlinks resolved
}

func newProjectRoot(dir string) *projectRoot {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		real = abs
	}
	return &projectRoot{dir: abs, real: real}
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// refusal is why the import will not read a path the project names.
type refusal struct {
	summary string
	reason  string // completes "<key> <path> ..."
	advice  string
}

// check decides whether the project may make the import read path (an
// absolute path), a file or, with wantDir, a directory. A path that does
// not exist is not refused for its type (nothing would be read; the
// compose library reports it missing), but one that lies outside the
// project is, whether or not it exists, so the answer does not tell
// what exists on the machine.
func (r *projectRoot) check(path string, wantDir bool) *refusal {
	path = filepath.Clean(path)
	outside := &refusal{summary: "File outside the project",
		reason: fmt.Sprintf("lies outside the project directory %s", strconv.Quote(r.dir)),
		advice: "The import reads only files inside the project directory, so that a compose file cannot make it read the files of whoever runs it. Move the file into the project directory (or copy the part it needs) and import again."}
	if !within(r.dir, path) && !within(r.real, path) {
		return outside
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if _, lerr := os.Lstat(path); lerr == nil {
			// A dangling symlink or one that cannot be followed: refused
			// rather than guessed at.
			return &refusal{summary: "File outside the project",
				reason: fmt.Sprintf("is a symlink that cannot be resolved inside the project directory %s", strconv.Quote(r.dir)),
				advice: "Replace the symlink with the file itself."}
		}
		return nil // missing: reported by the compose library
	}
	if !within(r.real, real) {
		outside.reason = fmt.Sprintf("is a symlink to %s, outside the project directory %s", strconv.Quote(real), strconv.Quote(r.dir))
		outside.advice = "The import follows no symlink out of the project directory, so that a compose file cannot make it read the files of whoever runs it. Replace the symlink with the file itself and import again."
		return outside
	}
	info, err := os.Stat(real)
	if err != nil {
		return nil
	}
	return typeRefusal(info, wantDir)
}

// typeRefusal refuses what is not a regular file (or not a directory,
// with wantDir) and files larger than maxReadFile: reading a FIFO blocks
// until something writes to it, a device may never end.
func typeRefusal(info fs.FileInfo, wantDir bool) *refusal {
	mode := info.Mode()
	switch {
	case wantDir && mode.IsDir():
		return nil
	case wantDir:
		return &refusal{summary: "Not a directory", reason: "is not a directory", advice: "Name a directory of the project."}
	case mode.IsRegular():
		if info.Size() > maxReadFile {
			return &refusal{summary: "File too large",
				reason: fmt.Sprintf("is larger than the %d MiB the import reads", maxReadFile>>20),
				advice: "Compose and env files are small text files; name the right file."}
		}
		return nil
	}
	return &refusal{summary: "Not a regular file", reason: "is " + fileKind(mode) + ", not a regular file",
		advice: "The import reads regular files only (reading a FIFO or a device could block or never end); replace it with a regular file."}
}

// fileKind names what a non-regular file is.
func fileKind(mode fs.FileMode) string {
	switch {
	case mode.IsDir():
		return "a directory"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "not a regular file (" + mode.Type().String() + ")"
}

// diag turns a refusal into an error at subject. what says which key
// named the path, with %s where the path goes ("The env_file %s of
// service \"web\"", else it follows); shown is the path as written.
func (f *refusal) diag(what, shown string, subject *hcl.Range) *hcl.Diagnostic {
	q := strconv.Quote(shown)
	if strings.Contains(what, "%s") {
		what = fmt.Sprintf(what, q)
	} else {
		what += " " + q
	}
	return errorDiag(f.summary, fmt.Sprintf("%s %s. %s", what, f.reason, f.advice), subject)
}

// readRegular reads a file that must be regular and at most maxReadFile
// bytes. It opens without blocking (a FIFO would otherwise wait for a
// writer) and checks the type of what it opened, so a file swapped after
// an earlier check is still refused.
func readRegular(path string) ([]byte, *refusal, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if r := typeRefusal(info, false); r != nil {
		return nil, r, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxReadFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxReadFile {
		return nil, typeRefusal(fakeSize{info, int64(len(b))}, false), nil
	}
	return b, nil, nil
}

// fakeSize reports a size learnt by reading (a file that grew).
type fakeSize struct {
	fs.FileInfo
	size int64
}

func (f fakeSize) Size() int64 { return f.size }
