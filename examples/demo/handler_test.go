package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func fakeEnv(m map[string]string) lookupEnv {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthz(t *testing.T) {
	if code, _ := get(t, newHandler(fakeEnv(nil), nil), "/healthz"); code != 200 {
		t.Errorf("healthy: got %d, want 200", code)
	}
	h := newHandler(fakeEnv(map[string]string{"FAIL_HEALTH": "1"}), nil)
	if code, _ := get(t, h, "/healthz"); code != 500 {
		t.Errorf("FAIL_HEALTH=1: got %d, want 500", code)
	}
}

func TestIndex(t *testing.T) {
	h := newHandler(fakeEnv(map[string]string{"SERVICE_NAME": "api", "NOMAD_ALLOC_ID": "a1"}), nil)
	code, body := get(t, h, "/")
	if code != 200 {
		t.Fatalf("got %d", code)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got["service"] != "api" || got["alloc"] != "a1" || got["host"] == "" {
		t.Errorf("got %v", got)
	}
	if code, _ := get(t, h, "/nope"); code != 404 {
		t.Errorf("unknown path: got %d, want 404", code)
	}
}

func TestEnvDigest(t *testing.T) {
	h := newHandler(fakeEnv(map[string]string{"DB_PASSWORD": "hunter2"}), nil)
	code, body := get(t, h, "/env/DB_PASSWORD")
	sum := sha256.Sum256([]byte("hunter2"))
	if code != 200 || strings.TrimSpace(body) != hex.EncodeToString(sum[:]) {
		t.Errorf("got %d %q", code, body)
	}
	if strings.Contains(body, "hunter2") {
		t.Error("value leaked")
	}
	if code, _ := get(t, h, "/env/MISSING"); code != 404 {
		t.Errorf("unset: got %d, want 404", code)
	}
}

func TestCallRelaysUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(418)
		io.WriteString(w, "upstream saw "+r.URL.Path+"?"+r.URL.RawQuery)
	}))
	defer up.Close()
	addr := strings.TrimPrefix(up.URL, "http://")
	h := newHandler(fakeEnv(map[string]string{"API_ADDR": addr}), up.Client())

	code, body := get(t, h, "/call/API_ADDR/v1/items?x=1")
	if code != 418 || body != "upstream saw /v1/items?x=1" {
		t.Errorf("got %d %q", code, body)
	}
	code, body = get(t, h, "/call/API_ADDR")
	if code != 418 || body != "upstream saw /?" {
		t.Errorf("no path: got %d %q", code, body)
	}
	if code, _ := get(t, h, "/call/NOPE_ADDR/x"); code != 404 {
		t.Errorf("unset variable: got %d, want 404", code)
	}
}

func TestCallUpstreamDown(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(up.URL, "http://")
	up.Close()
	h := newHandler(fakeEnv(map[string]string{"API_ADDR": addr}), &http.Client{Timeout: 2 * time.Second})
	if code, _ := get(t, h, "/call/API_ADDR/"); code != 502 {
		t.Errorf("got %d, want 502", code)
	}
}

func TestBurn(t *testing.T) {
	h := newHandler(fakeEnv(nil), nil)
	start := time.Now()
	code, body := get(t, h, "/burn?ms=50")
	if code != 200 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("got %d %q after %s", code, body, time.Since(start))
	}
	for _, bad := range []string{"/burn", "/burn?ms=-1", "/burn?ms=x"} {
		if code, _ := get(t, h, bad); code != 400 {
			t.Errorf("%s: got %d, want 400", bad, code)
		}
	}
}

func TestDialOnlyWhenProbing(t *testing.T) {
	if code, _ := get(t, newHandler(fakeEnv(nil), nil), "/dial?addr=127.0.0.1:1"); code != 403 {
		t.Errorf("without PROBE=1: got %d, want 403", code)
	}
	h := newHandler(fakeEnv(map[string]string{"PROBE": "1"}), nil)
	if code, _ := get(t, h, "/dial?addr=nonsense"); code != 400 {
		t.Errorf("bad addr: got %d, want 400", code)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }))
	defer srv.Close()
	code, body := get(t, h, "/dial?addr="+strings.TrimPrefix(srv.URL, "http://"))
	var r dialResult
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || !r.Connected || !strings.HasPrefix(r.Answer, "HTTP/1.0 200") {
		t.Errorf("open port: %d %s", code, body)
	}
	// A closed port: refused, not connected.
	l := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(l.URL, "http://")
	l.Close()
	_, body = get(t, h, "/dial?addr="+addr)
	if json.Unmarshal([]byte(body), &r) != nil || r.Connected || !strings.Contains(r.Error, "refused") {
		t.Errorf("closed port: %s", body)
	}
}

func TestHTTPProbe(t *testing.T) {
	if code, _ := get(t, newHandler(fakeEnv(nil), nil), "/http?url=http://127.0.0.1:1/"); code != 403 {
		t.Errorf("without PROBE=1: got %d, want 403", code)
	}
	var gotMethod, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotMethod, gotBody = r.Method, string(b)
		http.Error(w, "denied", http.StatusForbidden)
	}))
	defer srv.Close()
	h := newHandler(fakeEnv(map[string]string{"PROBE": "1"}), srv.Client())
	code, body := get(t, h, "/http?method=PUT&url="+srv.URL+"/v1/x&body=hello")
	var r fetchResult
	if code != 200 || json.Unmarshal([]byte(body), &r) != nil || r.Status != 403 || !strings.Contains(r.Body, "denied") {
		t.Errorf("probe answer: %d %s", code, body)
	}
	if gotMethod != "PUT" || gotBody != "hello" {
		t.Errorf("server saw %s %q", gotMethod, gotBody)
	}
}

// TestCallNeverEchoesTheAddress: /call reads an address from the
// environment; whatever goes wrong, the answer and the log name the
// variable, never its value (which may be a secret a caller guessed the
// name of).
func TestCallNeverEchoesTheAddress(t *testing.T) {
	var logged strings.Builder
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	closed := httptest.NewServer(http.NotFoundHandler())
	downAddr := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	env := map[string]string{
		"DB_PASSWORD":   "s3cr3t-hunter2",              // a secret, not an address
		"TOKEN_ADDR":    "tok%zzsecret:99",             // not host:port either
		"API_ADDR":      downAddr,                      // nobody listens
		"NOWHERE_ADDR":  "no-such-host.invalid:8080",   // not resolvable
		"WEIRD_ADDR":    "user:pa55@host.invalid:8080", // credentials are no address
		"USERPASS_ADDR": "admin:1234",                  // shaped like one; still never echoed
	}
	h := newHandler(fakeEnv(env), &http.Client{Timeout: 2 * time.Second})
	for name, value := range env {
		code, body := get(t, h, "/call/"+name+"/x")
		if code == 200 || code == 404 {
			t.Errorf("/call/%s: got %d, want an error", name, code)
		}
		for _, part := range []string{value, strings.Split(value, ":")[0]} {
			if strings.Contains(body, part) || strings.Contains(logged.String(), part) {
				t.Errorf("/call/%s: %d %q (log %q) shows the value %q", name, code, body, logged.String(), part)
			}
		}
		if !strings.Contains(body, name) {
			t.Errorf("/call/%s: %q does not name the variable", name, body)
		}
	}
}
