package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestValidateRefusesNonLoopback(t *testing.T) {
	base := Options{URL: "http://127.0.0.1:8000/", Rate: 10, Clients: 1, Duration: time.Second}
	if err := base.Validate(); err != nil {
		t.Fatalf("loopback refused: %v", err)
	}
	for _, u := range []string{"http://192.0.2.1:8000/", "http://example.com/", "https://127.0.0.1/", "127.0.0.1:8000"} {
		o := base
		o.URL = u
		if err := o.Validate(); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, o := range []Options{
		{URL: base.URL, Rate: 0, Clients: 1, Duration: time.Second},
		{URL: base.URL, Rate: 10, Clients: 100, Duration: time.Second},
		{URL: base.URL, Rate: 10, Clients: 1, Duration: time.Hour},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// The report counts answers by kind and keeps to the rate.
func TestRunCountsFailures(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "shop.localhost" {
			http.Error(w, "wrong host", http.StatusNotFound)
			return
		}
		if n.Add(1)%5 == 0 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Options{URL: srv.URL + "/", Host: "shop.localhost", Rate: 200, Clients: 4, Duration: time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests < 100 || rep.Requests > 220 {
		t.Errorf("%d requests in 1s at 200/s", rep.Requests)
	}
	if rep.Failures["502"] == 0 || rep.Failed() != rep.Failures["502"] {
		t.Errorf("failures: %+v", rep)
	}
	if rep.OK+rep.Failed() != rep.Requests || rep.P99 < rep.P50 {
		t.Errorf("inconsistent report: %+v", rep)
	}
	if !strings.Contains(rep.String(), "502: ") {
		t.Errorf("report text: %s", rep)
	}
}

func TestRunNamesConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/"
	srv.Close()
	rep, err := Run(context.Background(), Options{URL: url, Rate: 50, Clients: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || rep.Failures["connection refused"] != rep.Requests {
		t.Errorf("want every request refused: %+v", rep)
	}
}
