package composeimport

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	yaml "go.yaml.in/yaml/v4"
)

// Whatever a compose service sets that a descriptor cannot say is reported
// with its line and what to do instead, never dropped silently. The check
// walks the service's keys as the compose library serialises them, so a
// key this file does not know still gets the generic warning.

// handledKeys are mapped by the converter (or only steer it).
var handledKeys = map[string]bool{
	"name": true, "image": true, "build": true, "command": true, "entrypoint": true,
	"environment": true, "env_file": true, "ports": true, "expose": true, "healthcheck": true,
	"depends_on": true, "links": true, "secrets": true, "profiles": true, "scale": true,
	"container_name": true, "hostname": true, "cpus": true, "mem_limit": true, "mem_reservation": true,
	"extends": true, "networks": true, "labels": true, "deploy": true, "volumes": true, "restart": true,
}

// instead says, per compose key, why it has no equivalent and what to do.
var instead = map[string]string{
	"privileged":        "Nomad's Docker driver runs privileged containers only where the client allows them, and a descriptor cannot ask for it. Find what needs the privilege and grant that alone, or run it as a Nomad job of its own.",
	"network_mode":      "A stackctl service runs in its own network namespace with a Connect sidecar; host or shared networking would bypass the mesh. Reach other services through upstreams.",
	"cap_add":           "Added Linux capabilities are not expressible in a descriptor (the Nomad client's allow_caps decides). Drop the need, or run it as a Nomad job of its own.",
	"cap_drop":          "Dropped capabilities are not expressible in a descriptor; Nomad's Docker driver already drops all but a default set.",
	"devices":           "Host devices are not expressible in a descriptor; run such a workload as a Nomad job of its own.",
	"user":              "The descriptor runs the image's own user; set USER in the Dockerfile.",
	"working_dir":       "Set WORKDIR in the Dockerfile.",
	"stop_grace_period": "Nomad's kill_timeout is not a descriptor field yet; the service gets Nomad's default (5s) to stop.",
	"stop_signal":       "Set STOPSIGNAL in the Dockerfile.",
	"logging":           "Nomad collects stdout and stderr itself (nomad alloc logs); log drivers are a client setting.",
	"configs":           "Bake the file into the image, or pass its content as env or a secret.",
	"extra_hosts":       "Services reach each other through upstreams on 127.0.0.1; other hosts resolve through the cluster's DNS.",
	"dns":               "Name resolution is the Nomad client's.",
	"dns_search":        "Name resolution is the Nomad client's.",
	"tmpfs":             "The task's local/ and secrets/ directories are Nomad's scratch space.",
	"ulimits":           "ulimits are not expressible in a descriptor.",
	"sysctls":           "sysctls are not expressible in a descriptor.",
	"security_opt":      "Security options are not expressible in a descriptor.",
	"pid":               "A stackctl service has its own PID namespace.",
	"ipc":               "A stackctl service has its own IPC namespace.",
	"init":              "Bake an init (tini) into the image.",
	"read_only":         "A read-only root filesystem is not expressible in a descriptor.",
	"shm_size":          "shm_size is not expressible in a descriptor.",
	"external_links":    "Reach services outside the stack by their address in env.",
	"volumes_from":      "Tasks do not share volumes; bake the files into the image.",
	"platform":          "Nomad pulls the image for the client's platform.",
	"pull_policy":       "Nomad pulls images tagged latest or without a tag on every start, others once.",
	"tty":               "Services run without a terminal.",
	"stdin_open":        "Services run without standard input.",
	"develop":           "compose watch has no equivalent; redeploy with stackctl deploy.",
}

// unsupported reports the keys of a service that were not imported.
func (c *converter) unsupported(name string, s types.ServiceConfig) {
	loc := c.p.loc
	raw, err := json.Marshal(s)
	if err != nil {
		return
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) != nil {
		return
	}
	for _, k := range sortedKeys(keys) {
		if handledKeys[k] || emptyJSON(keys[k]) {
			continue
		}
		detail := instead[k]
		if detail == "" {
			detail = "It has no equivalent in a stackctl descriptor."
		}
		c.warn(loc.service(name, key(k)), "Not imported: "+k, fmt.Sprintf("%q sets %s, which is not imported. %s", name, k, detail))
	}

	for _, v := range s.Volumes {
		at := loc.service(name, key("volumes"), item(volumeItem(v.Target)))
		switch v.Type {
		case types.VolumeTypeBind:
			c.warn(at, "Bind mount not imported",
				fmt.Sprintf("%q mounts the host path %s at %s. A Nomad allocation gets no files from the machine that deploys it: bake them into the image (COPY in the Dockerfile), or pass small configuration as env.", name, c.shownPath(v.Source), v.Target))
		case types.VolumeTypeVolume:
			c.warn(at, "Named volume not imported",
				fmt.Sprintf("%q keeps data in the volume %q at %s. A descriptor has no volumes: the data would live only as long as the allocation. Use a managed database, or a Nomad host or CSI volume in a job of its own.", name, v.Source, v.Target))
		default:
			c.warn(at, "Volume not imported",
				fmt.Sprintf("%q mounts a %s volume at %s, which a descriptor cannot say.", name, v.Type, v.Target))
		}
	}

	switch r := s.Restart; {
	case r == "no" || strings.HasPrefix(r, "on-failure"):
		c.warn(loc.service(name, key("restart")), "Restart policy not imported",
			fmt.Sprintf("%q restarts %q; a stackctl service runs until it is stopped, and Nomad restarts it whatever its exit status (the restart block sets how often). A one-shot task is a Nomad batch job, not a service.", name, r))
	}

	var other []string
	for k := range s.Labels {
		if !strings.HasPrefix(k, "traefik.") {
			other = append(other, k)
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		c.warn(loc.service(name, key("labels")), "Labels not imported",
			fmt.Sprintf("%q's labels %s are not imported; descriptors set no container labels (traefik.* labels become expose blocks).", name, strings.Join(other, ", ")))
	}

	if dp := s.Deploy; dp != nil {
		at := func(k string) *hcl.Range { return loc.service(name, key("deploy"), key(k)) }
		if dp.Mode == "global" {
			c.warn(at("mode"), "Global mode not imported", fmt.Sprintf("%q runs one instance per node (mode: global); a stackctl service runs replicas, placed by Nomad.", name))
		}
		if len(dp.Placement.Constraints) > 0 || len(dp.Placement.Preferences) > 0 || dp.Placement.MaxReplicas > 0 {
			c.warn(at("placement"), "Placement not imported", fmt.Sprintf("%q's placement has no descriptor equivalent; Nomad places the allocations.", name))
		}
		if dp.UpdateConfig != nil {
			c.warn(at("update_config"), "Update settings not imported", fmt.Sprintf("%q's update_config is not imported; set the descriptor's update block (max_parallel, canary).", name))
		}
		if dp.RollbackConfig != nil {
			c.warn(at("rollback_config"), "Rollback settings not imported", fmt.Sprintf("%q's rollback_config is not imported; the update block's auto_revert rolls back a failed release.", name))
		}
		if dp.RestartPolicy != nil {
			c.warn(at("restart_policy"), "Restart policy not imported", fmt.Sprintf("%q's restart_policy is not imported; set the descriptor's restart block (attempts, delay, interval).", name))
		}
		if dp.EndpointMode != "" {
			c.warn(at("endpoint_mode"), "Endpoint mode not imported", fmt.Sprintf("%q's endpoint_mode is not imported; the mesh balances calls.", name))
		}
	}
}

// volumeItem matches a volumes entry by its mount target.
func volumeItem(target string) func(*yaml.Node) bool {
	return func(n *yaml.Node) bool {
		if n.Kind == yaml.ScalarNode {
			parts := strings.Split(n.Value, ":")
			return len(parts) >= 2 && parts[1] == target || len(parts) == 1 && parts[0] == target
		}
		_, t := key("target")(n)
		return t != nil && t.Value == target
	}
}

// emptyJSON is true for values the serialiser writes although unset.
func emptyJSON(b json.RawMessage) bool {
	switch strings.TrimSpace(string(b)) {
	case "null", "{}", "[]", `""`, "false", "0":
		return true
	}
	return false
}

// topLevel reports project-level definitions a stack has no place for.
func (c *converter) topLevel() {
	loc := c.p.loc
	for _, n := range sortedKeys(c.p.Networks) {
		if n == "default" {
			continue
		}
		c.warn(loc.top(key("networks"), key(n)), "Network not imported",
			fmt.Sprintf("The network %q is not imported: every stackctl service sits in the mesh, reaches only the services it declares as upstreams, and intentions deny all other calls, which is what separate networks were for.", n))
	}
	for _, n := range sortedKeys(c.p.Configs) {
		c.warn(loc.top(key("configs"), key(n)), "Config not imported", fmt.Sprintf("The config %q is not imported. %s", n, instead["configs"]))
	}
	for _, n := range sortedKeys(c.p.Models) {
		c.warn(loc.top(key("models"), key(n)), "Model not imported", fmt.Sprintf("The model %q is not imported; descriptors run containers only.", n))
	}
	for _, n := range sortedKeys(c.p.Jobs) {
		c.warn(loc.top(key("jobs"), key(n)), "Job not imported", fmt.Sprintf("The job %q is not imported; one-shot tasks are Nomad batch jobs, not stackctl services.", n))
	}
}

// shownPath prints a host path relative to the project directory.
func (c *converter) shownPath(p string) string {
	if rel, ok := c.relPath(p); ok {
		return rel
	}
	return p
}
