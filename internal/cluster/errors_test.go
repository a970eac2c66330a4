package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	vault "github.com/hashicorp/vault/api"
)

// TestLiveErrorsClassified points the official clients at a server that
// answers every request with status: the guard must read it from the API
// packages' typed errors.
func TestLiveErrorsClassified(t *testing.T) {
	for _, status := range []int{403, 404, 500} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			if strings.HasPrefix(r.URL.Path, "/v1/sys") || strings.HasPrefix(r.URL.Path, "/v1/auth") {
				w.Write([]byte(`{"errors":["permission denied"]}`)) // Vault's form
				return
			}
			w.Write([]byte("Permission denied"))
		}))
		n, _ := nomad.NewClient(&nomad.Config{Address: srv.URL})
		c, _ := consul.NewClient(&consul.Config{Address: srv.URL})
		vc := vault.DefaultConfig()
		vc.Address = srv.URL
		vc.MaxRetries = 0 // Vault retries 5xx answers by default
		v, _ := vault.NewClient(vc)
		v.SetToken("t")
		cl := FromClients(n, c, v, "")
		ctx := context.Background()
		_, nerr := cl.Nomad.Job(ctx, "default", "api")
		_, cerr := cl.Consul.Intentions(ctx, "api")
		verr := cl.Vault.WriteRole(ctx, "jwt-nomad", "stackctl-api", map[string]any{"a": 1})
		for name, err := range map[string]error{"nomad": nerr, "consul": cerr, "vault": verr} {
			if got := Status(err); got != status {
				t.Errorf("%s %d: classified as %d (%v)", name, status, got, err)
			}
		}
		if status == 403 {
			want := `Consul refused to read intentions for api (403 Permission denied): the token needs service "api" { intentions = "read" }; policies/consul/deployer.hcl grants it to the deployer`
			if cerr.Error() != want {
				t.Errorf("got  %s\nwant %s", cerr, want)
			}
			if !IsForbidden(nerr) || !strings.Contains(nerr.Error(), `namespace "default" { capabilities = ["read-job"] }`) {
				t.Errorf("nomad: %v", nerr)
			}
			if !strings.Contains(verr.Error(), `Vault refused to write JWT role auth/jwt-nomad/role/stackctl-api (403 permission denied)`) {
				t.Errorf("vault: %v", verr)
			}
		}
		srv.Close()
	}
	// No answer at all: the cause, and where.
	n, _ := nomad.NewClient(&nomad.Config{Address: "http://127.0.0.1:1"})
	_, err := FromClients(n, nil, nil, "").Nomad.Job(context.Background(), "default", "api")
	if Status(err) != 0 || !strings.Contains(err.Error(), "read Nomad job api in namespace default at http://127.0.0.1:1: connect: connection refused") {
		t.Errorf("unreachable: %v", err)
	}
}

// A refusal of a request that carried no token says which variable is
// empty: against a cluster with ACLs that, not a policy, is the cause.
func TestRefusalWithoutTokenNamesTheVariable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		w.Write([]byte("Permission denied"))
	}))
	defer srv.Close()
	for _, kv := range [][2]string{{"NOMAD_TOKEN", ""}, {"CONSUL_HTTP_TOKEN", ""}, {"CONSUL_HTTP_TOKEN_FILE", ""}, {"VAULT_TOKEN", "v"},
		{"NOMAD_ADDR", srv.URL}, {"CONSUL_HTTP_ADDR", srv.URL}, {"VAULT_ADDR", srv.URL}} {
		t.Setenv(kv[0], kv[1])
	}
	cl, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	_, nerr := cl.Nomad.Job(context.Background(), "default", "api")
	_, cerr := cl.Consul.Intentions(context.Background(), "api")
	for name, err := range map[string]error{"NOMAD_TOKEN": nerr, "CONSUL_HTTP_TOKEN": cerr} {
		if !IsForbidden(err) || !strings.Contains(err.Error(), "no token was given: set "+name) {
			t.Errorf("%s empty: %v", name, err)
		}
	}
	// With tokens, the refusal names the permission only.
	t.Setenv("NOMAD_TOKEN", "n")
	cl, _ = Dial()
	if _, err := cl.Nomad.Job(context.Background(), "default", "api"); strings.Contains(err.Error(), "no token") {
		t.Errorf("a token was given: %v", err)
	}
}
