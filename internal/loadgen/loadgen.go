// Package loadgen drives a bounded HTTP load at a fixed rate and counts
// every answer: the zero-downtime benchmark (bench/zero-downtime.sh) and
// the integration tests use it to prove that a rollout, a scale-in or a
// secret rotation loses no request.
//
// It refuses targets that are not on this machine's loopback: load and
// failure tests stay on the machine they run on.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options describe one run.
type Options struct {
	URL      string        // http://127.0.0.1:PORT/path
	Host     string        // Host header (Traefik routes on it)
	Rate     int           // requests per second, all clients together
	Clients  int           // concurrent clients (connections)
	Duration time.Duration // how long to send
	Timeout  time.Duration // per request
	// KeepAlive reuses connections, as browsers and most clients do;
	// without it every request opens a new connection.
	KeepAlive bool
}

// Validate checks the bounds and that the target is on loopback.
func (o Options) Validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("url %q: want http://127.0.0.1:PORT/PATH", o.URL)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: the target must be a loopback address (127.0.0.0/8 or ::1)", o.URL)
	}
	switch {
	case o.Rate < 1 || o.Rate > 5000:
		return fmt.Errorf("rate %d: want 1 to 5000 requests per second", o.Rate)
	case o.Clients < 1 || o.Clients > 64:
		return fmt.Errorf("clients %d: want 1 to 64", o.Clients)
	case o.Duration <= 0 || o.Duration > 30*time.Minute:
		return fmt.Errorf("duration %s: want more than 0 and at most 30m", o.Duration)
	}
	return nil
}

// Report is what a run saw.
type Report struct {
	Requests int            `json:"requests"`
	OK       int            `json:"ok"`       // 2xx
	Failures map[string]int `json:"failures"` // by status ("502") or error kind
	P50, P99 time.Duration  `json:"-"`
	P50ms    float64        `json:"p50_ms"`
	P99ms    float64        `json:"p99_ms"`
	// FirstFailure and LastFailure bound the window in which requests
	// failed (zero when none did), relative to the start.
	FirstFailure, LastFailure time.Duration `json:"-"`
}

// Failed counts the requests that did not get a 2xx answer.
func (r Report) Failed() int { return r.Requests - r.OK }

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d ok, %d failed, p50 %.1f ms, p99 %.1f ms", r.Requests, r.OK, r.Failed(), r.P50ms, r.P99ms)
	if len(r.Failures) > 0 {
		keys := make([]string, 0, len(r.Failures))
		for k := range r.Failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s: %d", k, r.Failures[k]))
		}
		fmt.Fprintf(&b, " (%s; between %.1fs and %.1fs)", strings.Join(parts, ", "), r.FirstFailure.Seconds(), r.LastFailure.Seconds())
	}
	return b.String()
}

// Run sends requests until the duration ends or ctx is cancelled.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		DisableKeepAlives:   !o.KeepAlive,
		MaxIdleConnsPerHost: o.Clients,
		DialContext:         (&net.Dialer{Timeout: o.Timeout}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.Timeout}

	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
	// One tick per request, shared by the clients: the rate holds however
	// many clients are busy.
	ticks := make(chan struct{})
	go func() {
		defer close(ticks)
		interval := time.Second / time.Duration(o.Rate)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case ticks <- struct{}{}:
				default: // every client is busy: the request is skipped, not queued
				}
			}
		}
	}()

	var mu sync.Mutex
	rep := Report{Failures: map[string]int{}}
	var latencies []time.Duration
	var wg sync.WaitGroup
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				sent := time.Now()
				kind := do(ctx, client, o)
				if kind == "canceled" { // the run ended while it was in flight
					continue
				}
				d := time.Since(sent)
				mu.Lock()
				rep.Requests++
				latencies = append(latencies, d)
				if kind == "" {
					rep.OK++
				} else {
					rep.Failures[kind]++
					at := sent.Sub(start)
					if rep.FirstFailure == 0 || at < rep.FirstFailure {
						rep.FirstFailure = at
					}
					rep.LastFailure = max(rep.LastFailure, at)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	rep.P50, rep.P99 = percentile(latencies, 50), percentile(latencies, 99)
	rep.P50ms, rep.P99ms = ms(rep.P50), ms(rep.P99)
	return rep, nil
}

// do sends one request; it returns "" for a 2xx answer, else the status
// code or the kind of error.
func do(ctx context.Context, client *http.Client, o Options) string {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), "GET", o.URL, nil)
	if err != nil {
		return "bad request"
	}
	req.Host = o.Host
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return "canceled"
		}
		return errorKind(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Sprint(resp.StatusCode)
	}
	return ""
}

func errorKind(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "EOF", "timeout", "deadline exceeded"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return "error"
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
