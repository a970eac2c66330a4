//go:build integration

// Package kube validates `stackctl render --target kubernetes` against a
// real kube-apiserver: etcd and kube-apiserver (no nodes, no controllers)
// are started from the per-version agent cache, built from the Go module
// proxy by scripts/build-kube.sh when missing, the CRDs the output needs
// are installed, and every manifest of every example is server-side applied
// with dryRun=All and fieldValidation=Strict.
//
//	go test -tags integration ./integration/kube
//
// Everything runs on loopback ports chosen at start and is stopped (by the
// PIDs started here) and removed at the end.
package kube

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stackctl/stackctl/internal/devstack"
)

// Versions of the control plane the manifests are validated against; the
// k8s.io/api types stackctl renders with are of the same minor (v0.33).
const (
	etcdVersion = "v3.6.5"
	kubeVersion = "v1.33.5"
)

// server is the running API server.
var server *apiServer

type apiServer struct {
	URL    string
	Token  string
	client *http.Client

	mu       sync.Mutex
	warnings []string // Warning headers of every answer, in order
}

// takeWarnings returns and forgets the warnings the server sent so far.
func (a *apiServer) takeWarnings() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.warnings
	a.warnings = nil
	return w
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	cp, err := startControlPlane()
	if cp != nil {
		defer cp.stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration/kube: %v\n", err)
		if cp != nil {
			cp.dumpLogs(os.Stderr)
		}
		return 1
	}
	server = cp.api
	code := m.Run()
	if code != 0 {
		cp.dumpLogs(os.Stderr)
	}
	return code
}

type controlPlane struct {
	dir   string
	procs []*exec.Cmd
	logs  []string
	api   *apiServer
}

// binaries returns etcd and kube-apiserver from the cache, building them
// first when missing (a few minutes, logged under the cache's logs/).
func binaries(repo, cache string) (etcd, apiserver string, err error) {
	etcd = filepath.Join(cache, "agents", "etcd", etcdVersion, "etcd")
	apiserver = filepath.Join(cache, "agents", "kube-apiserver", kubeVersion, "kube-apiserver")
	if isExec(etcd) && isExec(apiserver) {
		return etcd, apiserver, nil
	}
	fmt.Fprintf(os.Stderr, "integration/kube: building etcd %s and kube-apiserver %s (scripts/build-kube.sh)\n", etcdVersion, kubeVersion)
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "build-kube.sh"), "etcd", "kube-apiserver")
	cmd.Env = append(os.Environ(), "STACKCTL_CACHE_DIR="+cache, "K8S_VERSION="+kubeVersion, "ETCD_VERSION="+etcdVersion)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("build-kube.sh: %w", err)
	}
	return etcd, apiserver, nil
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func startControlPlane() (*controlPlane, error) {
	repo, err := devstack.FindRepo()
	if err != nil {
		return nil, err
	}
	cache, err := devstack.CacheDir()
	if err != nil {
		return nil, err
	}
	etcdBin, apiBin, err := binaries(repo, cache)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stackctl-kube-")
	if err != nil {
		return nil, err
	}
	cp := &controlPlane{dir: dir}

	ports, err := freePorts(3)
	if err != nil {
		return cp, err
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := cp.start(etcdBin, "etcd",
		"--name=stackctl", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=stackctl="+peerURL,
		// A throwaway store: fsync only slows the test down.
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return cp, err
	}
	if err := waitHTTP(http.DefaultClient, clientURL+"/health", "", 60*time.Second); err != nil {
		return cp, fmt.Errorf("etcd not healthy: %w", err)
	}

	keyFile, err := writeServiceAccountKey(dir)
	if err != nil {
		return cp, err
	}
	token := randomToken()
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",stackctl-admin,stackctl-admin,system:masters\n"), 0o600); err != nil {
		return cp, err
	}
	if err := cp.start(apiBin, "kube-apiserver",
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir="+filepath.Join(dir, "pki"),
		"--token-auth-file="+tokens,
		"--authorization-mode=AlwaysAllow",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+keyFile,
		"--service-account-signing-key-file="+keyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--advertise-address=127.0.0.1",
		"--v=0",
	); err != nil {
		return cp, err
	}
	api := &apiServer{
		URL:   fmt.Sprintf("https://127.0.0.1:%d", ports[2]),
		Token: token,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			// The server's certificate is self-signed at start, for
			// 127.0.0.1; nothing here leaves loopback.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}},
	}
	if err := waitHTTP(api.client, api.URL+"/readyz", token, 120*time.Second); err != nil {
		return cp, fmt.Errorf("kube-apiserver not ready: %w", err)
	}
	cp.api = api
	return cp, nil
}

func (cp *controlPlane) start(bin, name string, args ...string) error {
	logPath := filepath.Join(cp.dir, name+".log")
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Own process group: a test binary killed by a timeout leaves no
	// orphans holding the ports of the next run for long.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	log.Close()
	cp.procs = append(cp.procs, cmd)
	cp.logs = append(cp.logs, logPath)
	return nil
}

// stop ends what this run started, newest first, by PID, then removes the
// data directory.
func (cp *controlPlane) stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	if os.Getenv("STACKCTL_KEEP_KUBE") == "" {
		_ = os.RemoveAll(cp.dir)
	} else {
		fmt.Fprintf(os.Stderr, "integration/kube: kept %s\n", cp.dir)
	}
}

func (cp *controlPlane) dumpLogs(w io.Writer) {
	for _, l := range cp.logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(w, "--- last lines of %s ---\n%s\n", filepath.Base(l), strings.Join(lines, "\n"))
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeServiceAccountKey(dir string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "sa.key")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return p, os.WriteFile(p, pemBytes, 0o600)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func waitHTTP(c *http.Client, url, token string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s: %s %s", url, resp.Status, bytes.TrimSpace(body))
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// do sends one request to the API server and decodes a JSON answer into
// out (when non-nil); an answer outside 2xx is an error carrying the
// server's Status message.
func (a *apiServer) do(method, path, contentType string, body []byte, out any) error {
	req, err := http.NewRequest(method, a.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if w := resp.Header.Values("Warning"); len(w) > 0 {
		a.mu.Lock()
		a.warnings = append(a.warnings, w...)
		a.mu.Unlock()
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var st struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &st) == nil && st.Message != "" {
			return &apiError{Code: resp.StatusCode, Message: st.Message}
		}
		return &apiError{Code: resp.StatusCode, Message: string(data)}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type apiError struct {
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Message) }
