package dockerauthz

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	allocA = "0b4d8e5c-1f2a-4c3b-9d7e-6a5b4c3d2e1f"
	allocB = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
)

// containers are the engine's existing containers, by ID.
var containers = map[string]map[string]string{
	"pause-a":  {AllocLabel: allocA},
	"pause-b":  {AllocLabel: allocB},
	"operator": {"com.docker.compose.project": "x"},
}

func lookup(id string) (map[string]string, error) {
	if l, ok := containers[id]; ok {
		return l, nil
	}
	return nil, errors.New("no such container")
}

// create builds a container create request for allocation alloc ("" for
// none) with the given HostConfig fields.
func create(t *testing.T, alloc string, host map[string]any) Request {
	t.Helper()
	labels := map[string]string{"com.hashicorp.nomad.task_name": "web"}
	if alloc != "" {
		labels[AllocLabel] = alloc
	}
	b, err := json.Marshal(map[string]any{"Image": "app:1", "Env": []string{"DB_PASSWORD=hunter2"}, "Labels": labels, "HostConfig": host})
	if err != nil {
		t.Fatal(err)
	}
	return Request{Method: "POST", URI: "/v1.41/containers/create?name=web-" + alloc, Body: b}
}

func TestDecideCreate(t *testing.T) {
	allocDir := "/var/lib/nomad/alloc/" + allocA
	for _, tc := range []struct {
		name  string
		alloc string
		host  map[string]any
		deny  string // "" allows; else a word the refusal must hold
	}{
		{"what Nomad asks for a bridge-mode task", allocA, map[string]any{
			"NetworkMode": "container:pause-a", "IpcMode": "container:pause-a",
			"Binds": []string{allocDir + "/alloc:/alloc", allocDir + "/web/local:/local", allocDir + "/web/secrets:/secrets"},
		}, ""},
		{"the pause container", allocA, map[string]any{"NetworkMode": "none"}, ""},
		{"an operator's container is not ours to limit", "", map[string]any{"NetworkMode": "host", "Privileged": true}, ""},
		{"host network", allocA, map[string]any{"NetworkMode": "host"}, `network_mode "host"`},
		{"another allocation's network", allocA, map[string]any{"NetworkMode": "container:pause-b"}, "another allocation"},
		{"an operator container's network", allocA, map[string]any{"NetworkMode": "container:operator"}, "another allocation"},
		{"an unknown container's network", allocA, map[string]any{"NetworkMode": "container:nope"}, "cannot read"},
		{"a user-defined network", allocA, map[string]any{"NetworkMode": "compose_default"}, "compose_default"},
		{"privileged", allocA, map[string]any{"Privileged": true}, "privileged"},
		{"host pid", allocA, map[string]any{"PidMode": "host"}, "pid_mode"},
		{"host ipc", allocA, map[string]any{"IpcMode": "host"}, "ipc_mode"},
		{"host uts", allocA, map[string]any{"UTSMode": "host"}, "uts_mode"},
		{"host userns", allocA, map[string]any{"UsernsMode": "host"}, "userns_mode"},
		{"another allocation's pid namespace", allocA, map[string]any{"PidMode": "container:pause-b"}, "pid_mode"},
		{"SYS_ADMIN", allocA, map[string]any{"CapAdd": []string{"SYS_ADMIN"}}, "SYS_ADMIN"},
		{"CAP_NET_ADMIN", allocA, map[string]any{"CapAdd": []string{"CAP_NET_ADMIN"}}, "NET_ADMIN"},
		{"ALL", allocA, map[string]any{"CapAdd": []string{"ALL"}}, "ALL"},
		{"a default capability", allocA, map[string]any{"CapAdd": []string{"net_bind_service"}}, ""},
		{"the docker socket", allocA, map[string]any{"Binds": []string{"/var/run/docker.sock:/var/run/docker.sock"}}, "docker.sock"},
		{"the root filesystem", allocA, map[string]any{"Binds": []string{"/:/host"}}, `"/"`},
		{"another allocation's directory", allocA, map[string]any{"Binds": []string{"/var/lib/nomad/alloc/" + allocB + "/alloc:/alloc"}}, allocB},
		{"a way out of the allocation's directory", allocA, map[string]any{"Binds": []string{allocDir + "/../" + allocB + ":/x"}}, "refused"},
		{"a named volume", allocA, map[string]any{"Binds": []string{"data:/data"}}, "data"},
		{"a bind mount", allocA, map[string]any{"Mounts": []map[string]any{{"Type": "bind", "Source": "/etc", "Target": "/x"}}}, "/etc"},
		{"a volume mount (the local driver binds any host path)", allocA, map[string]any{"Mounts": []map[string]any{{"Type": "volume", "Source": "v", "Target": "/x"}}}, "volume"},
		{"a tmpfs mount", allocA, map[string]any{"Mounts": []map[string]any{{"Type": "tmpfs", "Target": "/tmp"}}}, ""},
		{"a device", allocA, map[string]any{"Devices": []map[string]any{{"PathOnHost": "/dev/sda"}}}, "devices"},
		{"seccomp off", allocA, map[string]any{"SecurityOpt": []string{"seccomp=unconfined"}}, "seccomp"},
		{"no-new-privileges", allocA, map[string]any{"SecurityOpt": []string{"no-new-privileges"}}, ""},
		{"volumes_from", allocA, map[string]any{"VolumesFrom": []string{"pause-b"}}, "volumes_from"},
		{"another runtime", allocA, map[string]any{"Runtime": "sysbox"}, "runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(create(t, tc.alloc, tc.host), lookup)
			if tc.deny == "" {
				if !d.Allow {
					t.Fatalf("refused: %s", d.Msg)
				}
				return
			}
			if d.Allow {
				t.Fatalf("allowed; want a refusal naming %q", tc.deny)
			}
			if !strings.Contains(d.Msg, tc.deny) || !strings.HasPrefix(d.Msg, "stackctl-authz: ") {
				t.Fatalf("refusal %q does not name %q", d.Msg, tc.deny)
			}
			if strings.Contains(d.Msg, "hunter2") {
				t.Fatalf("refusal quotes the environment: %q", d.Msg)
			}
		})
	}
}

func TestDecideFailsClosed(t *testing.T) {
	for name, r := range map[string]Request{
		"no body":       {Method: "POST", URI: "/v1.41/containers/create"},
		"not JSON":      {Method: "POST", URI: "/containers/create", Body: []byte("{")},
		"bad alloc ID":  create(t, "../../x", nil),
		"exec, no body": {Method: "POST", URI: "/v1.41/containers/pause-a/exec"},
		"exec, unknown": {Method: "POST", URI: "/v1.41/containers/nope/exec", Body: []byte(`{}`)},
	} {
		if d := Decide(r, lookup); d.Allow {
			t.Errorf("%s: allowed", name)
		}
	}
}

func TestDecideExecAndUpdate(t *testing.T) {
	exec := func(id, body string) Decision {
		return Decide(Request{Method: "POST", URI: "/v1.41/containers/" + id + "/exec", Body: []byte(body)}, lookup)
	}
	if d := exec("pause-a", `{"Cmd":["sh"]}`); !d.Allow {
		t.Errorf("plain exec into an allocation (stackctl exec) refused: %s", d.Msg)
	}
	if d := exec("pause-a", `{"Cmd":["sh"],"Privileged":true}`); d.Allow {
		t.Error("privileged exec into an allocation allowed")
	}
	if d := exec("operator", `{"Privileged":true}`); !d.Allow {
		t.Errorf("operator's exec refused: %s", d.Msg)
	}
	if d := Decide(Request{Method: "POST", URI: "/v1.41/containers/pause-a/update", Body: []byte(`{"Memory":0}`)}, lookup); d.Allow {
		t.Error("update of an allocation's container through the engine allowed")
	}
	if d := Decide(Request{Method: "GET", URI: "/v1.41/containers/json"}, lookup); !d.Allow {
		t.Errorf("a read refused: %s", d.Msg)
	}
}

// FuzzDecide: whatever the engine sends, Decide answers without panicking,
// and a create for an allocation that it allows asks for nothing of the
// host.
func FuzzDecide(f *testing.F) {
	f.Add("POST", "/v1.41/containers/create", []byte(`{"Labels":{"com.hashicorp.nomad.alloc_id":"`+allocA+`"},"HostConfig":{"NetworkMode":"host"}}`))
	f.Add("POST", "/containers/create?name=x", []byte(`{"Labels":{"com.hashicorp.nomad.alloc_id":"`+allocA+`"},"HostConfig":{"Binds":["/var/lib/nomad/alloc/`+allocA+`/alloc:/alloc"]}}`))
	f.Add("POST", "/v1.41/containers/pause-a/exec", []byte(`{"Privileged":true}`))
	f.Add("GET", "/v1.41/info", []byte(nil))
	f.Fuzz(func(t *testing.T, method, uri string, body []byte) {
		d := Decide(Request{Method: method, URI: uri, Body: body}, lookup)
		if !d.Allow || method != "POST" || !createRe.MatchString(strings.SplitN(uri, "?", 2)[0]) {
			return
		}
		var c createBody
		if json.Unmarshal(body, &c) != nil {
			t.Fatalf("allowed a create whose body does not decode: %q", body)
		}
		if _, nomad := c.Labels[AllocLabel]; !nomad {
			return
		}
		h := c.HostConfig
		if h.Privileged || h.NetworkMode == "host" || h.PidMode == "host" || h.IpcMode == "host" || h.UTSMode == "host" || h.UsernsMode == "host" {
			t.Fatalf("allowed a Nomad container the host: %+v", h)
		}
		for _, b := range h.Binds {
			if src, _, _ := strings.Cut(b, ":"); !strings.Contains(src, "/alloc/"+c.Labels[AllocLabel]+"/") {
				t.Fatalf("allowed a bind of %q", src)
			}
		}
	})
}
