// Package dockerauthz is the Docker engine's authorization plugin of a
// stackctl node: it refuses the container settings that would let a
// workload out of its allocation. Nomad 1.6's docker driver has switches
// for privileged mode, host volumes and capabilities, but none for host
// networking, host PID/IPC/UTS/user namespaces, joining another
// container's namespaces or devices; a job submitter may ask for all of
// them. The engine asks this plugin about every API request, and the
// plugin refuses a container create (or an exec) for a Nomad allocation
// unless everything it asks for is confined to that allocation.
//
// Containers that Nomad did not create (no allocation label) are the
// operator's: whoever reaches the engine's socket is root on the node
// anyway, so the plugin does not pretend to limit them.
package dockerauthz

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// AllocLabel is the label Nomad's docker driver sets on every container it
// creates, after the job's own labels, so a job cannot remove or change it.
const AllocLabel = "com.hashicorp.nomad.alloc_id"

// defaultCaps are the capabilities Docker gives a container by default:
// adding one of them back is harmless, any other is refused.
var defaultCaps = []string{
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

var allocIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Labels finds the labels of an existing container by ID or name.
type Labels func(container string) (map[string]string, error)

// Request is what the engine sends for one API call (the fields used).
type Request struct {
	Method string `json:"RequestMethod"`
	URI    string `json:"RequestURI"`
	Body   []byte `json:"RequestBody"`
}

// Decision is the plugin's answer: Msg says why a request was refused.
type Decision struct {
	Allow bool   `json:"Allow"`
	Msg   string `json:"Msg,omitempty"`
}

var (
	createRe = regexp.MustCompile(`^(/v[0-9.]+)?/containers/create$`)
	execRe   = regexp.MustCompile(`^(/v[0-9.]+)?/containers/([^/]+)/exec$`)
	updateRe = regexp.MustCompile(`^(/v[0-9.]+)?/containers/([^/]+)/update$`)
)

// Decide answers one request. Only requests that create or change what a
// Nomad container may do are inspected; everything else is allowed.
func Decide(r Request, labels Labels) Decision {
	if r.Method != "POST" {
		return allow()
	}
	p, _, _ := strings.Cut(r.URI, "?")
	switch {
	case createRe.MatchString(p):
		return decideCreate(r.Body, labels)
	case execRe.MatchString(p):
		return decideExec(execRe.FindStringSubmatch(p)[2], r.Body, labels)
	case updateRe.MatchString(p):
		// Resource updates of a Nomad container are Nomad's own business
		// through its API, never a deployer's through the engine.
		l, err := labels(updateRe.FindStringSubmatch(p)[2])
		if err != nil {
			return deny("cannot read the container's labels: %v", err)
		}
		if _, ok := l[AllocLabel]; ok {
			return deny("containers of Nomad allocations are not updated through the engine")
		}
	}
	return allow()
}

func allow() Decision { return Decision{Allow: true} }

func deny(format string, a ...any) Decision {
	return Decision{Msg: "stackctl-authz: " + fmt.Sprintf(format, a...)}
}

// createBody is the part of a container create request the policy reads.
type createBody struct {
	Labels     map[string]string
	HostConfig struct {
		NetworkMode  string
		PidMode      string
		IpcMode      string
		UTSMode      string
		UsernsMode   string
		CgroupnsMode string
		Privileged   bool
		CapAdd       []string
		Binds        []string
		Mounts       []struct {
			Type   string
			Source string
		}
		Devices        []json.RawMessage
		DeviceRequests []json.RawMessage
		SecurityOpt    []string
		VolumesFrom    []string
		Runtime        string
		VolumeDriver   string
	}
}

func decideCreate(body []byte, labels Labels) Decision {
	if len(body) == 0 {
		// The engine leaves out bodies over its size limit or of another
		// content type: what cannot be read is not allowed.
		return deny("container create without a readable JSON body")
	}
	var c createBody
	if err := json.Unmarshal(body, &c); err != nil {
		return deny("container create body: %v", err)
	}
	alloc, ok := c.Labels[AllocLabel]
	if !ok {
		return allow()
	}
	if !allocIDRe.MatchString(alloc) {
		return deny("label %s=%q is not an allocation ID", AllocLabel, alloc)
	}
	h := c.HostConfig
	sameAlloc := func(mode, what string) *Decision {
		target, ok := strings.CutPrefix(mode, "container:")
		if !ok {
			return nil
		}
		l, err := labels(target)
		if err != nil {
			d := deny("%s %q: cannot read that container's labels: %v", what, mode, err)
			return &d
		}
		if l[AllocLabel] != alloc {
			d := deny("%s %q joins a container of another allocation; a task may share namespaces only within its own allocation", what, mode)
			return &d
		}
		ok2 := allow()
		return &ok2
	}
	switch {
	case h.Privileged:
		return deny("privileged containers are refused for Nomad allocations (docker plugin allow_privileged = false)")
	case h.NetworkMode == "host":
		return deny(`network_mode "host" is refused: a task would share the node's network namespace and reach every port of the node`)
	}
	if d := sameAlloc(h.NetworkMode, "network_mode"); d != nil {
		if !d.Allow {
			return *d
		}
	} else if !slices.Contains([]string{"", "default", "bridge", "none"}, h.NetworkMode) {
		return deny("network_mode %q is refused: only Nomad's own networking (bridge mode) or Docker's default bridge", h.NetworkMode)
	}
	for _, ns := range []struct{ what, mode string }{
		{"pid_mode", h.PidMode}, {"ipc_mode", h.IpcMode}, {"uts_mode", h.UTSMode},
		{"userns_mode", h.UsernsMode}, {"cgroupns_mode", h.CgroupnsMode},
	} {
		if ns.mode == "host" {
			return deny("%s \"host\" is refused: a task would share the node's namespace", ns.what)
		}
		if d := sameAlloc(ns.mode, ns.what); d != nil && !d.Allow {
			return *d
		}
	}
	for _, cap := range h.CapAdd {
		name := strings.TrimPrefix(strings.ToUpper(cap), "CAP_")
		if !slices.Contains(defaultCaps, name) {
			return deny("capability %s is refused: only Docker's default capabilities may be added", cap)
		}
	}
	if len(h.Devices) > 0 || len(h.DeviceRequests) > 0 {
		return deny("host devices are refused for Nomad allocations")
	}
	for _, o := range h.SecurityOpt {
		if o != "no-new-privileges" && o != "no-new-privileges:true" && o != "no-new-privileges=true" {
			return deny("security_opt %q is refused: the default seccomp and AppArmor profiles stay on", o)
		}
	}
	if len(h.VolumesFrom) > 0 {
		return deny("volumes_from is refused: a task sees only its own allocation's directories")
	}
	if h.VolumeDriver != "" {
		return deny("volume_driver %q is refused", h.VolumeDriver)
	}
	if h.Runtime != "" && h.Runtime != "runc" {
		return deny("runtime %q is refused", h.Runtime)
	}
	for _, b := range h.Binds {
		src, _, _ := strings.Cut(b, ":")
		if !inAllocDir(src, alloc) {
			return deny("bind mount of %q is refused: a task may mount only its own allocation's directories (docker plugin volumes disabled)", src)
		}
	}
	for _, m := range h.Mounts {
		switch m.Type {
		case "tmpfs":
		case "bind", "":
			if !inAllocDir(m.Source, alloc) {
				return deny("bind mount of %q is refused: a task may mount only its own allocation's directories", m.Source)
			}
		default:
			return deny("mount of type %q is refused: only the allocation's directories and tmpfs", m.Type)
		}
	}
	return allow()
}

// inAllocDir reports whether src is a clean absolute path inside the
// directory Nomad keeps for allocation alloc (<data_dir>/alloc/<alloc>/...).
// Only Nomad writes these binds (host volumes are off in its docker plugin);
// this is the second lock on the same door.
func inAllocDir(src, alloc string) bool {
	if !path.IsAbs(src) || path.Clean(src) != src {
		return false
	}
	return strings.Contains(src+"/", "/alloc/"+alloc+"/")
}

type execBody struct {
	Privileged bool
}

func decideExec(container string, body []byte, labels Labels) Decision {
	l, err := labels(container)
	if err != nil {
		return deny("cannot read the container's labels: %v", err)
	}
	if _, ok := l[AllocLabel]; !ok {
		return allow()
	}
	if len(body) == 0 {
		return deny("exec without a readable JSON body")
	}
	var e execBody
	if err := json.Unmarshal(body, &e); err != nil {
		return deny("exec body: %v", err)
	}
	if e.Privileged {
		return deny("privileged exec into a Nomad allocation is refused")
	}
	return allow()
}
