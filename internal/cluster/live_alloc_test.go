package cluster

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	nomad "github.com/hashicorp/nomad/api"
)

// TestLiveAllocRefusals: a token without read-logs meets a 403 on the log
// request itself; one without alloc-exec meets it only in the close frame
// of the exec websocket, as Nomad sends it (code 1008, Nomad's text).
// Both must read as a 403 that names the capability.
func TestLiveAllocRefusals(t *testing.T) {
	upgrader := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/client/allocation/"):
			c, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "Permission denied"))
			c.Close()
		default: // node lookups (the deployer may not read nodes) and logs
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "Permission denied")
		}
	}))
	defer srv.Close()
	n, err := nomad.NewClient(&nomad.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cl := FromClients(n, nil, nil, "")
	alloc := &nomad.AllocationListStub{ID: "1f2e3d4c-0000-4000-8000-000000000001", NodeID: "n1", Namespace: "default", JobID: "api"}
	ctx := context.Background()

	_, err = cl.Nomad.Logs(ctx, alloc, LogRequest{Task: "api", Stream: "stderr", Origin: "start"})
	if !IsForbidden(err) || !strings.Contains(err.Error(), `Nomad refused to read logs of allocation 1f2e3d4c (task api) in namespace default`) ||
		!strings.Contains(err.Error(), `capabilities = ["read-logs"]`) {
		t.Errorf("logs: %v", err)
	}
	_, err = cl.Nomad.Exec(ctx, alloc, ExecRequest{Task: "api", Command: []string{"true"}, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	if !IsForbidden(err) || !strings.Contains(err.Error(), `Nomad refused to execute commands in allocation 1f2e3d4c (task api)`) ||
		!strings.Contains(err.Error(), `capabilities = ["alloc-exec"]`) {
		t.Errorf("exec: %v", err)
	}
}

func TestExecRefusalOnlyForACLTexts(t *testing.T) {
	for text, forbidden := range map[string]bool{
		"Permission denied":                        true,
		"ACL token not found":                      true,
		"task \"api\" not running":                 false,
		"failed to exec: Permission denied, maybe": false,
	} {
		if got := IsForbidden(execRefusal(&textError{text})); got != forbidden {
			t.Errorf("%q: forbidden=%v, want %v", text, got, forbidden)
		}
	}
}

type textError struct{ s string }

func (e *textError) Error() string { return e.s }
