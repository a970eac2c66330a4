package devstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The Connect sidecar runs in a container, not as a raw_exec process: a
// deployer's namespace may then use the docker driver only, and a sidecar
// is confined like the application beside it (its own root filesystem, no
// host paths, Docker's default capabilities). Where Envoy cannot be had,
// the container holds the pinned Consul binary, whose built-in proxy
// (`consul connect proxy`) is the entrypoint. The source-built Consul
// links glibc, so the image carries the shared libraries `ldd` names, at
// the paths the binary looks for them, and nothing else: no shell, no
// package manager.

// ProxyImageTag is the image of the built-in proxy: the sidecar image the
// descriptor language defaults to (spec.DefaultSettings) for the pinned
// Consul.
func ProxyImageTag() string {
	a, _ := AgentByName("consul")
	return "stackctl-consul-proxy:" + strings.TrimPrefix(a.Version, "v")
}

const proxyDockerfile = "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/bin/consul\"]\n"

// BuildProxyImage builds ProxyImageTag from the consul binary at consulBin,
// unless an image built from the same bytes exists.
func BuildProxyImage(ctx context.Context, consulBin string, out io.Writer) error {
	ctxDir, err := os.MkdirTemp("", "stackctl-proxy-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ctxDir)
	libs, err := sharedLibs(ctx, consulBin)
	if err != nil {
		return err
	}
	files := map[string]string{"/bin/consul": consulBin}
	for _, l := range libs {
		files[l] = l
	}
	h := sha256.New()
	io.WriteString(h, proxyDockerfile)
	for _, dst := range sortedKeys(files) {
		if err := copyInto(filepath.Join(ctxDir, "rootfs", dst), files[dst], h); err != nil {
			return err
		}
		io.WriteString(h, dst)
	}
	return buildLabelled(ctx, ctxDir, ProxyImageTag(), []byte(proxyDockerfile), hex.EncodeToString(h.Sum(nil)), out)
}

// copyInto copies src (following symlinks: the image has no need for the
// links themselves) to dst, executable, and feeds its bytes to h.
func copyInto(dst, src string, h io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.MultiWriter(o, h), in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

// sharedLibs lists the absolute paths of the shared libraries (and the
// dynamic loader) bin needs, from ldd's output. A static binary needs none.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	b, err := exec.CommandContext(ctx, "ldd", bin).CombinedOutput()
	if err != nil {
		if bytes.Contains(b, []byte("not a dynamic executable")) {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v: %s", bin, err, strings.TrimSpace(string(b)))
	}
	return parseLdd(b)
}

// parseLdd reads ldd's lines: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)",
// "/lib64/ld-linux-x86-64.so.2 (0x...)", and "linux-vdso.so.1 (0x...)"
// (in the kernel: nothing to copy). A library ldd could not find fails.
func parseLdd(b []byte) ([]string, error) {
	var libs []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if name, path, ok := strings.Cut(line, "=>"); ok {
			path = strings.TrimSpace(path)
			if strings.HasPrefix(path, "not found") {
				return nil, fmt.Errorf("ldd: shared library %s not found", strings.TrimSpace(name))
			}
			if f := strings.Fields(path); len(f) > 0 && strings.HasPrefix(f[0], "/") {
				libs = append(libs, f[0])
			}
			continue
		}
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "/") {
			libs = append(libs, f[0])
		}
	}
	return libs, sc.Err()
}
