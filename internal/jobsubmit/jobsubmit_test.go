package jobsubmit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

// fakeNomad records the last request and answers like Nomad's register
// and revert endpoints.
func fakeNomad(t *testing.T) (*nomad.Client, *http.Request, *map[string]any) {
	var got http.Request
	body := map[string]any{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = *r
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		_, _ = io.WriteString(w, `{"EvalID":"e1","JobModifyIndex":7}`)
	}))
	t.Cleanup(srv.Close)
	c, err := nomad.NewClient(&nomad.Config{Address: srv.URL, SecretID: "nomad-token"})
	if err != nil {
		t.Fatal(err)
	}
	return c, &got, &body
}

func TestRegisterCarriesTheConsulToken(t *testing.T) {
	c, req, body := fakeNomad(t)
	id, ns := "web", "shop"
	resp, err := Register(c, &nomad.Job{ID: &id, Namespace: &ns}, "consul-secret",
		Options{EnforceIndex: true, ModifyIndex: 42, PreserveCounts: true}, &nomad.WriteOptions{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if resp.EvalID != "e1" || resp.JobModifyIndex != 7 {
		t.Errorf("response: %+v", resp)
	}
	if req.Method != http.MethodPut || req.URL.Path != "/v1/jobs" || req.URL.Query().Get("namespace") != ns {
		t.Errorf("request: %s %s", req.Method, req.URL)
	}
	if req.Header.Get("X-Nomad-Token") != "nomad-token" {
		t.Errorf("Nomad token header %q", req.Header.Get("X-Nomad-Token"))
	}
	job, _ := (*body)["Job"].(map[string]any)
	if job["ConsulToken"] != "consul-secret" || job["ID"] != id {
		t.Errorf("job in the request: %v", job)
	}
	if (*body)["EnforceIndex"] != true || (*body)["JobModifyIndex"] != float64(42) || (*body)["PreserveCounts"] != true {
		t.Errorf("options in the request: %v", *body)
	}
}

func TestRegisterWithoutToken(t *testing.T) {
	c, _, body := fakeNomad(t)
	id := "web"
	if _, err := Register(c, &nomad.Job{ID: &id}, "", Options{}, nil); err != nil {
		t.Fatal(err)
	}
	job, _ := (*body)["Job"].(map[string]any)
	if _, ok := job["ConsulToken"]; ok {
		t.Errorf("an empty token was sent: %v", job)
	}
	if _, ok := (*body)["EnforceIndex"]; ok {
		t.Errorf("EnforceIndex sent although not asked: %v", *body)
	}
}

func TestRevertCarriesTheConsulToken(t *testing.T) {
	c, req, body := fakeNomad(t)
	prior := uint64(3)
	if _, err := Revert(c, "a/b", 2, &prior, "consul-secret", nil); err != nil {
		t.Fatal(err)
	}
	if req.URL.EscapedPath() != "/v1/job/a%2Fb/revert" {
		t.Errorf("path %s", req.URL.EscapedPath())
	}
	want := map[string]any{"JobID": "a/b", "JobVersion": float64(2), "EnforcePriorVersion": float64(3), "ConsulToken": "consul-secret"}
	for k, v := range want {
		if (*body)[k] != v {
			t.Errorf("%s = %v, want %v", k, (*body)[k], v)
		}
	}
}
