package outdir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirHandle is an open directory whose files are read and written with
// *at system calls on single names: no path is walked, and O_NOFOLLOW
// keeps a symlink planted in the directory from redirecting a read or a
// write (a rename replaces the link itself).
type dirHandle struct {
	f  *os.File // nil when fd was opened with openat (openChild)
	fd int
}

// openDir opens a directory by path (WriteFile's case).
func openDir(name string) (*dirHandle, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return &dirHandle{f: f, fd: int(f.Fd())}, nil
}

// openRootDir opens a directory below root, which guarantees it lies
// inside it.
func openRootDir(root *os.Root, name string) (*dirHandle, error) {
	f, err := root.OpenFile(name, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return &dirHandle{f: f, fd: int(f.Fd())}, nil
}

// openChild opens the directory name directly inside d, creating it when
// it does not exist, with one openat: the common case of a service's
// directory below the output root. name must be a single component, and
// O_NOFOLLOW refuses a symlink, so it cannot lead out of d. It returns
// ok false when that is not how name can be opened (a longer path, a
// symlink to a directory): the caller then goes through the Root, which
// costs an openat per component and an os.File.
func (d *dirHandle) openChild(name string) (h *dirHandle, ok bool) {
	if name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return nil, false
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, name, flags, 0)
	if err == unix.ENOENT {
		if err = unix.Mkdirat(d.fd, name, 0o755); err == nil || err == unix.EEXIST {
			fd, err = unix.Openat(d.fd, name, flags, 0)
		}
	}
	if err != nil {
		return nil, false
	}
	return &dirHandle{fd: fd}, true
}

func (d *dirHandle) close() {
	if d.f != nil {
		d.f.Close()
		return
	}
	unix.Close(d.fd)
}

// holds reports whether name is a regular file holding exactly want. A
// FIFO or device is opened without blocking and never read.
func (d *dirHandle) holds(name string, want []byte) bool {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != int64(len(want)) {
		return false
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	if cap(*bp) < len(want) {
		*bp = make([]byte, len(want))
	}
	got := (*bp)[:len(want)]
	n := 0
	for n < len(got) {
		m, err := unix.Read(fd, got[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m == 0 {
			break
		}
		n += m
	}
	return bytes.Equal(got[:n], want)
}

// fileState is what a name in a directory holds.
type fileState struct {
	absent  bool
	regular bool
	same    bool   // holds exactly the bytes compared with
	sum     string // checksum of its bytes, when asked for and not same
	err     error  // it could not be read
}

// inspect says what name is: absent, not a regular file (a symlink is
// never followed, a FIFO never blocks), or a regular file holding want
// (same); with withSum, the checksum of a regular file's bytes too unless
// they are want.
func (d *dirHandle) inspect(name string, want []byte, withSum bool) fileState {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT:
		return fileState{absent: true}
	case err == unix.ELOOP:
		return fileState{}
	case err != nil:
		return fileState{regular: true, err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileState{regular: true, err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fileState{}
	}
	h := sha256.New()
	if want != nil && st.Size == int64(len(want)) {
		bp := readBufs.Get().(*[]byte)
		defer readBufs.Put(bp)
		if cap(*bp) < len(want) {
			*bp = make([]byte, len(want))
		}
		got := (*bp)[:len(want)]
		n, err := readFull(fd, got)
		if err != nil {
			return fileState{regular: true, err: err}
		}
		if n == len(got) && bytes.Equal(got, want) {
			return fileState{regular: true, same: true}
		}
		if !withSum {
			return fileState{regular: true}
		}
		h.Write(got[:n])
	} else if !withSum {
		return fileState{regular: true}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := readFull(fd, buf)
		h.Write(buf[:n])
		if err != nil {
			return fileState{regular: true, err: err}
		}
		if n < len(buf) {
			break
		}
	}
	return fileState{regular: true, sum: hex.EncodeToString(h.Sum(nil))}
}

// readFull reads until b is full or the file ends.
func readFull(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Read(fd, b[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

// errNotPlain: a component of a path is a symlink or not a directory.
var errNotPlain = errors.New("not a plain directory")

// openPlain opens the directory dir below d one component at a time,
// never following a symlink and creating nothing: the walk a manifest
// entry is allowed. It fails with fs.ErrNotExist when a component is
// missing and errNotPlain when one is a symlink or not a directory.
func (d *dirHandle) openPlain(dir string) (*dirHandle, error) {
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, ".", flags, 0)
	if err != nil {
		return nil, err
	}
	if dir != "." {
		for _, c := range strings.Split(dir, "/") {
			next, err := unix.Openat(fd, c, flags, 0)
			unix.Close(fd)
			switch {
			case err == unix.ENOENT:
				return nil, fs.ErrNotExist
			case err == unix.ELOOP || err == unix.ENOTDIR:
				return nil, errNotPlain
			case err != nil:
				return nil, err
			}
			fd = next
		}
	}
	return &dirHandle{fd: fd}, nil
}

// remove unlinks the file name.
func (d *dirHandle) remove(name string) error {
	err := unix.Unlinkat(d.fd, name, 0)
	if err == unix.ENOENT {
		return fs.ErrNotExist
	}
	return err
}

// readBufs recycles the buffers existing files are read into for the
// comparison: 4,000 of them would otherwise be garbage.
var readBufs = sync.Pool{New: func() any { return new([]byte) }}

var (
	pid    = strconv.Itoa(os.Getpid())
	tmpSeq atomic.Int64 // unique temporary names within the process
)

// write replaces name with data atomically: a temporary file in the same
// directory (created exclusively, never through a link), then a rename.
// perm is set with fchmod, so the umask does not narrow it.
func (d *dirHandle) write(name string, data []byte, perm fs.FileMode) error {
	var tmp string
	var fd int
	for {
		tmp = "." + name + ".tmp-" + pid + "-" + strconv.FormatInt(tmpSeq.Add(1), 10)
		var err error
		fd, err = unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) {
			return err
		}
	}
	err := writeAll(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, uint32(perm.Perm()))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(d.fd, tmp, d.fd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(d.fd, tmp, 0)
	}
	return err
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}
