//go:build integration

package integration

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/stackctl/stackctl/internal/devstack"
)

// testHostileDeployer acts as a deployer holding only the tokens `stackctl
// dev env` hands out and tries, against the real agents, to run code on
// the node or outside its namespace. Every attempt must be refused; each
// case names what refused it and checks that refusal's own words.
func testHostileDeployer(t *testing.T) {
	dep, err := stack.State.Deployer()
	if err != nil {
		t.Fatal(err)
	}
	cfg := nomad.DefaultConfig()
	cfg.Address = stack.State.NomadAddr()
	cfg.SecretID = dep.Nomad
	nc, err := nomad.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// Refused when the job is submitted.
	for _, tc := range []struct {
		name, namespace, driver string
		config                  map[string]any
		refusedBy, want         string
	}{
		{"a raw_exec task (root on the node)", "default", "raw_exec", map[string]any{"command": "/usr/bin/id"},
			"Nomad: the namespace's enabled_task_drivers", `"raw_exec"`},
		{"an exec task (a chroot of the node's files)", "default", "exec", map[string]any{"command": "/usr/bin/id"},
			"Nomad: the namespace's enabled_task_drivers", `"exec"`},
		{"a job in the platform namespace", devstack.PlatformNamespace, "docker", map[string]any{"image": "stackctl-demo:1.0.0"},
			"Nomad ACL: the deployer policy covers its namespace only", "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := hostileJob("hostile-submit", tc.namespace, tc.driver, tc.config)
			_, _, err := nc.Jobs().RegisterOpts(job, &nomad.RegisterOptions{}, &nomad.WriteOptions{Namespace: tc.namespace})
			if err == nil {
				nc.Jobs().Deregister(*job.ID, true, &nomad.WriteOptions{Namespace: tc.namespace})
				t.Fatalf("the deployer registered %s; want a refusal by %s", tc.name, tc.refusedBy)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refusal %q does not name %s (expected from %s)", err, tc.want, tc.refusedBy)
			}
			t.Logf("refused by %s: %v", tc.refusedBy, err)
		})
	}

	// Nomad accepts these jobs (its docker driver has no switch for most of
	// them) and the container is refused when the task starts.
	pauseOf := victimPause(t, nc)
	for _, tc := range []struct {
		name      string
		config    map[string]any
		bridge    bool
		refusedBy string
		want      string
	}{
		{"a docker task on the host's network", map[string]any{"network_mode": "host"}, false,
			"the engine's authorization plugin", `network_mode "host" is refused`},
		{"a docker task in the host's PID namespace", map[string]any{"pid_mode": "host"}, false,
			"the engine's authorization plugin", `pid_mode "host" is refused`},
		{"a docker task in the host's IPC namespace", map[string]any{"ipc_mode": "host"}, false,
			"the engine's authorization plugin", `ipc_mode "host" is refused`},
		{"a docker task in the host's UTS namespace", map[string]any{"uts_mode": "host"}, false,
			"the engine's authorization plugin", `uts_mode "host" is refused`},
		{"a docker task joining another allocation's network", map[string]any{"network_mode": "container:" + pauseOf}, false,
			"the engine's authorization plugin", "joins a container of another allocation"},
		{"a docker task with a device of the host", map[string]any{"devices": []map[string]any{{"host_path": "/dev/mem"}}}, false,
			"the engine's authorization plugin", "host devices are refused"},
		{"a docker task without seccomp", map[string]any{"security_opt": []string{"seccomp=unconfined"}}, false,
			"the engine's authorization plugin", "seccomp=unconfined"},
		{"a privileged docker task", map[string]any{"privileged": true}, true,
			"Nomad's docker plugin (allow_privileged = false)", "privileged"},
		{"a docker task mounting the host's root", map[string]any{"volumes": []string{"/:/host"}}, true,
			"Nomad's docker plugin (volumes disabled)", "volumes are not enabled"},
		{"a docker task mounting the Docker socket", map[string]any{"mount": []map[string]any{{"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock"}}}, true,
			"Nomad's docker plugin (volumes disabled)", "not enabled"},
		{"a docker task with a local volume bound to the host's root", map[string]any{"mount": []map[string]any{{"type": "volume", "source": "hostroot", "target": "/host",
			"volume_options": []map[string]any{{"driver_config": []map[string]any{{"name": "local", "options": []map[string]any{{"type": "none", "o": "bind", "device": "/"}}}}}}}}}, true,
			"Nomad's docker plugin or the engine's authorization plugin", "volume"},
		{"a docker task adding CAP_SYS_ADMIN", map[string]any{"cap_add": []string{"SYS_ADMIN"}}, true,
			"Nomad's docker plugin (allow_caps)", "SYS_ADMIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			config := map[string]any{"image": "stackctl-demo:1.0.0", "force_pull": false}
			for k, v := range tc.config {
				config[k] = v
			}
			id := "hostile-" + fmt.Sprint(time.Now().UnixNano()%1e9)
			job := hostileJob(id, "default", "docker", config)
			if tc.bridge {
				job.TaskGroups[0].Networks = []*nomad.NetworkResource{{Mode: "bridge"}}
			}
			if _, _, err := nc.Jobs().RegisterOpts(job, &nomad.RegisterOptions{}, nil); err != nil {
				if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
					t.Logf("refused at submission by Nomad: %v", err)
					return
				}
				t.Fatalf("register: %v", err)
			}
			t.Cleanup(func() { stack.Nomad.Jobs().Deregister(id, true, nil) })
			msg := taskFailure(t, nc, id)
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
				t.Fatalf("the task failed with %q; want a refusal by %s naming %q", msg, tc.refusedBy, tc.want)
			}
			t.Logf("refused by %s: %s", tc.refusedBy, msg)
		})
	}
}

// hostileJob is a batch job of one task that would print who it is.
func hostileJob(id, namespace, driver string, config map[string]any) *nomad.Job {
	job := nomad.NewBatchJob(id, id, "global", 50)
	job.Namespace = &namespace
	job.Datacenters = []string{"*"}
	zero, fail := 0, "fail"
	tg := nomad.NewTaskGroup("g", 1)
	tg.RestartPolicy = &nomad.RestartPolicy{Attempts: &zero, Mode: &fail}
	tg.ReschedulePolicy = &nomad.ReschedulePolicy{Attempts: &zero, Unlimited: new(bool)}
	task := nomad.NewTask("t", driver)
	task.Config = config
	task.Resources = &nomad.Resources{CPU: ptrTo(20), MemoryMB: ptrTo(16)}
	tg.AddTask(task)
	job.AddTaskGroup(tg)
	return job
}

func ptrTo[T any](v T) *T { return &v }

// taskFailure waits for the job's allocation to fail and returns the
// task's failure messages, or fails the test when the task ran instead.
func taskFailure(t *testing.T, nc *nomad.Client, id string) string {
	t.Helper()
	var msg string
	eventually(t, 90*time.Second, "job "+id+"'s task refused", func() error {
		allocs, _, err := nc.Jobs().Allocations(id, true, nil)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			for _, ts := range a.TaskStates {
				var msgs []string
				started := false
				for _, e := range ts.Events {
					if e.Type == "Started" {
						started = true
					}
					for _, m := range []string{e.DriverError, e.DisplayMessage, e.SetupError, e.ValidationError} {
						if m != "" {
							msgs = append(msgs, m)
						}
					}
				}
				if started {
					t.Fatalf("the task of %s started: %v", id, msgs)
				}
				if ts.Failed || a.ClientStatus == "failed" {
					msg = strings.Join(msgs, " | ")
					return nil
				}
			}
		}
		return fmt.Errorf("no failed allocation yet")
	})
	return msg
}

// victimPause runs another allocation in bridge mode (the victim whose
// network namespace a hostile task would join) and returns its pause
// container's ID; the job is purged when the phase ends.
func victimPause(t *testing.T, nc *nomad.Client) string {
	t.Helper()
	const id = "hostile-victim"
	job := hostileJob(id, "default", "docker", map[string]any{"image": "stackctl-demo:1.0.0", "force_pull": false})
	job.Type = ptrTo("service")
	job.TaskGroups[0].Networks = []*nomad.NetworkResource{{Mode: "bridge"}}
	job.TaskGroups[0].RestartPolicy = nil
	job.TaskGroups[0].ReschedulePolicy = nil
	if _, _, err := nc.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register the victim: %v", err)
	}
	t.Cleanup(func() { stack.Nomad.Jobs().Deregister(id, true, nil) })
	var pause string
	eventually(t, 90*time.Second, "the victim's pause container", func() error {
		allocs, _, err := nc.Jobs().Allocations(id, false, nil)
		if err != nil {
			return err
		}
		for _, a := range allocs {
			if a.ClientStatus != "running" {
				continue
			}
			b, err := exec.Command("docker", "ps", "-q", "--filter", "label="+devstack.AllocLabel+"="+a.ID,
				"--filter", "ancestor="+devstack.PauseImage.Tag).Output()
			if err != nil {
				return err
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				pause = f[0]
				return nil
			}
		}
		return fmt.Errorf("no running allocation with a pause container yet")
	})
	return pause
}
