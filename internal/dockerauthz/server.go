package dockerauthz

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Name is the plugin's name: the engine is started with
// --authorization-plugin=Name and finds the plugin at SocketPath.
const Name = "stackctl-authz"

// SocketPath is where the engine looks for a plugin named Name.
const SocketPath = "/run/docker/plugins/" + Name + ".sock"

// Serve answers the engine on the unix socket at socket until ctx ends.
// dockerSock is the engine's own API, where the labels of the container an
// exec or a shared namespace names are read. Refusals are logged to logw
// with the request's method and path only: request bodies hold the tasks'
// environment, secrets included, and are never written anywhere.
func Serve(ctx context.Context, socket, dockerSock string, logw io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return err
	}
	_ = os.Remove(socket)
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		l.Close()
		return err
	}
	logger := log.New(logw, "", log.LstdFlags)
	labels := engineLabels(dockerSock)
	mux := http.NewServeMux()
	mux.HandleFunc("/Plugin.Activate", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string][]string{"Implements": {"authz"}})
	})
	mux.HandleFunc("/AuthZPlugin.AuthZReq", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&req); err != nil {
			reply(w, deny("unreadable request from the engine: %v", err))
			return
		}
		d := Decide(req, labels)
		if !d.Allow {
			logger.Printf("refused %s %s: %s", req.Method, req.URI, d.Msg)
		}
		reply(w, d)
	})
	mux.HandleFunc("/AuthZPlugin.AuthZRes", func(w http.ResponseWriter, r *http.Request) {
		reply(w, allow())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	logger.Printf("%s: listening on %s", Name, socket)
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		return err
	}
	_ = os.Remove(socket)
	return nil
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1+json")
	_ = json.NewEncoder(w).Encode(v)
}

// engineLabels reads a container's labels from the engine's API. The
// engine asks the plugin about this GET too and the plugin allows every
// GET, so there is no deadlock.
func engineLabels(dockerSock string) Labels {
	c := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerSock)
		}},
	}
	return func(container string) (map[string]string, error) {
		resp, err := c.Get("http://docker/containers/" + url.PathEscape(container) + "/json")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("container %q: engine answered %s", container, resp.Status)
		}
		var v struct {
			Config struct{ Labels map[string]string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			return nil, err
		}
		if v.Config.Labels == nil {
			v.Config.Labels = map[string]string{}
		}
		return v.Config.Labels, nil
	}
}
