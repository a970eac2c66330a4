package cluster

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	consul "github.com/hashicorp/consul/api"
)

// TestLiveCatalog: the catalog read asks Consul for every instance of the
// service and hands over each one's service ID and meta, which plan reads
// the owner from; a 403 names service read.
func TestLiveCatalog(t *testing.T) {
	forbid := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if forbid {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "Permission denied")
			return
		}
		if r.URL.Path != "/v1/catalog/service/web" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `[{"Node": "n1", "ServiceID": "_nomad-task-1f2e3d4c-0000-4000-8000-000000000001-group-web-web-8080",
			"ServiceName": "web", "ServiceMeta": {"external-source": "nomad", "managed-by": "stackctl", "stackctl-stack": "billing", "stackctl-namespace": "payments"}}]`)
	}))
	defer srv.Close()
	c, err := consul.NewClient(&consul.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cl := FromClients(nil, c, nil, "")
	got, err := cl.Consul.Catalog(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ServiceMeta["stackctl-stack"] != "billing" || got[0].Node != "n1" ||
		got[0].ServiceID != "_nomad-task-1f2e3d4c-0000-4000-8000-000000000001-group-web-web-8080" {
		t.Errorf("got %+v", got)
	}
	forbid = true
	_, err = cl.Consul.Catalog(context.Background(), "web")
	want := `Consul refused to read catalog instances of web (403 Permission denied): the token needs service "web" { policy = "read" } and node_prefix "" { policy = "read" }; policies/consul/deployer.hcl grants it to the deployer`
	if !IsForbidden(err) || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
