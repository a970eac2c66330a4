package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxBurn bounds /burn so a typo cannot pin a CPU for minutes.
const maxBurn = 60 * time.Second

// lookupEnv is os.LookupEnv; tests pass a map.
type lookupEnv func(string) (string, bool)

func newHandler(env lookupEnv, client *http.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if v, _ := env("FAIL_HEALTH"); v == "1" {
			http.Error(w, "unhealthy (FAIL_HEALTH=1)", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		svc, _ := env("SERVICE_NAME")
		alloc, _ := env("NOMAD_ALLOC_ID")
		host, _ := os.Hostname()
		writeJSON(w, map[string]string{"service": svc, "alloc": alloc, "host": host})
	})
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := env(r.PathValue("name"))
		if !ok {
			http.Error(w, "not set", http.StatusNotFound)
			return
		}
		// Only a digest: the value itself (often a secret) never leaves.
		sum := sha256.Sum256([]byte(v))
		fmt.Fprintln(w, hex.EncodeToString(sum[:]))
	})
	mux.HandleFunc("GET /call/{target...}", func(w http.ResponseWriter, r *http.Request) {
		name, path, _ := strings.Cut(r.PathValue("target"), "/")
		// Every answer names the variable, never its value: a caller may
		// try any name, and the value of the wrong one can be a secret.
		if !upstreamVariable(name) {
			http.Error(w, "variable "+name+" is not an upstream address variable (NAME_ADDR or NOMAD_UPSTREAM_ADDR_*)", http.StatusBadRequest)
			return
		}
		addr, ok := env(name)
		if !ok || addr == "" {
			http.Error(w, "upstream variable "+name+" not set", http.StatusNotFound)
			return
		}
		if !hostPort(addr) {
			http.Error(w, "upstream variable "+name+" does not hold a host:port address", http.StatusBadGateway)
			return
		}
		u := &url.URL{Scheme: "http", Host: addr, Path: "/" + path, RawQuery: r.URL.RawQuery}
		req, err := http.NewRequestWithContext(r.Context(), "GET", u.String(), nil)
		if err != nil {
			http.Error(w, "upstream "+name+": cannot build the request", http.StatusBadGateway)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "upstream "+name+": "+whyUnreachable(err), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	// The probe answers only in a workload started for the boundary tests
	// (PROBE=1): it opens a TCP connection to any address and says how that
	// ended, which is what a hostile workload would try.
	mux.HandleFunc("GET /dial", func(w http.ResponseWriter, r *http.Request) {
		if v, _ := env("PROBE"); v != "1" {
			http.Error(w, "probing is off (PROBE=1 turns it on)", http.StatusForbidden)
			return
		}
		addr := r.URL.Query().Get("addr")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			http.Error(w, "addr must be host:port: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, dial(r.Context(), addr))
	})
	mux.HandleFunc("GET /http", func(w http.ResponseWriter, r *http.Request) {
		if v, _ := env("PROBE"); v != "1" {
			http.Error(w, "probing is off (PROBE=1 turns it on)", http.StatusForbidden)
			return
		}
		q := r.URL.Query()
		writeJSON(w, fetch(r.Context(), client, q.Get("method"), q.Get("url"), q.Get("body")))
	})
	mux.HandleFunc("GET /burn", func(w http.ResponseWriter, r *http.Request) {
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 {
			http.Error(w, "ms must be a non-negative integer", http.StatusBadRequest)
			return
		}
		d := min(time.Duration(ms)*time.Millisecond, maxBurn)
		n := burn(d)
		writeJSON(w, map[string]any{"burned_ms": d.Milliseconds(), "iterations": n})
	})
	return mux
}

// upstreamVariable says whether /call may read name: the variables that
// hold upstream addresses (NOMAD_UPSTREAM_ADDR_<name>, or the NAME_ADDR
// env entries the examples and compose imports set), not any secret.
func upstreamVariable(name string) bool {
	return strings.HasPrefix(name, "NOMAD_UPSTREAM_ADDR_") || (strings.HasSuffix(name, "_ADDR") && len(name) > len("_ADDR"))
}

// hostPort says whether addr is a plain host:port (a DNS name or an IP
// address, and a port number): nothing else is sent a request.
func hostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// whyUnreachable says why a call failed in words that hold neither the
// address nor the URL (the errors of net/http quote both).
func whyUnreachable(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "the request was cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "no answer in time"
	}
	return "the request failed"
}

// dialResult is what a probe saw: connected, and the first bytes the
// other side sent to a plain HTTP request, or the error that ended it.
type dialResult struct {
	Addr      string `json:"addr"`
	Connected bool   `json:"connected"`
	Answer    string `json:"answer,omitempty"`
	Error     string `json:"error,omitempty"`
}

func dial(ctx context.Context, addr string) dialResult {
	res := dialResult{Addr: addr}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer conn.Close()
	res.Connected = true
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: probe\r\n\r\n"); err != nil {
		res.Error = err.Error()
		return res
	}
	b := make([]byte, 64)
	n, err := io.ReadAtLeast(conn, b, 1)
	res.Answer = string(b[:n])
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// fetchResult is the answer to one probe request, or why there was none.
type fetchResult struct {
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

// fetch sends one request without any credential and keeps the first
// 512 bytes of the answer.
func fetch(ctx context.Context, client *http.Client, method, url, body string) fetchResult {
	if method == "" {
		method = "GET"
	}
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return fetchResult{Error: err.Error()}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetchResult{Error: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fetchResult{Status: resp.StatusCode, Body: string(b)}
}

// burn keeps one CPU busy for d and returns how many loop rounds it did.
func burn(d time.Duration) uint64 {
	var n uint64
	x := uint64(1)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		n++
	}
	if x == 0 { // keep the loop from being optimised away
		n++
	}
	return n
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
