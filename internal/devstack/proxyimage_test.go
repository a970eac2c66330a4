package devstack

import (
	"slices"
	"testing"
)

func TestParseLdd(t *testing.T) {
	out := []byte(`	linux-vdso.so.1 (0x00007ffd1b5f2000)
	libresolv.so.2 => /lib/x86_64-linux-gnu/libresolv.so.2 (0x00007f0c1a2e0000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c1a0ff000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f0c1a300000)
`)
	got, err := parseLdd(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libresolv.so.2", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if !slices.Equal(got, want) {
		t.Fatalf("parseLdd = %q, want %q", got, want)
	}
	if _, err := parseLdd([]byte("\tlibfoo.so.1 => not found\n")); err == nil {
		t.Fatal("a library ldd did not find must fail the build, not make an image that cannot start")
	}
}

func TestProxyImageTagFollowsPinnedConsul(t *testing.T) {
	if got := ProxyImageTag(); got != "stackctl-consul-proxy:1.14.11" {
		t.Fatalf("ProxyImageTag = %q; spec.DefaultSettings' sidecar image must change with it", got)
	}
}
