package devstack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Health of one component, as `dev status` shows it.
type Health struct {
	Component string
	OK        bool
	Address   string
	Detail    string // why it is not healthy, or a short fact when it is
}

// Status checks each component against the same readiness conditions `up`
// waits for.
func Status(ctx context.Context, st *State) []Health {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	check := func(name, addr string, f func() error) Health {
		if err := f(); err != nil {
			return Health{Component: name, Address: addr, Detail: firstLine(err.Error())}
		}
		return Health{Component: name, OK: true, Address: addr}
	}
	procUp := func(name string) error {
		if p, ok := st.Procs[name]; !ok || !p.Alive() {
			return fmt.Errorf("process %d not running", st.Procs[name].PID)
		}
		return nil
	}
	var hs []Health
	hs = append(hs, check("docker", "unix://"+dockerSock, func() error { return DockerPing(ctx) }))
	hs = append(hs, check("consul", st.ConsulAddr(), func() error {
		if err := procUp("consul"); err != nil {
			return err
		}
		c, err := st.ConsulClient()
		if err != nil {
			return err
		}
		return consulReady(c)
	}))
	hs = append(hs, check("vault", st.VaultAddr(), func() error {
		if err := procUp("vault"); err != nil {
			return err
		}
		vc, err := st.VaultClient()
		if err != nil {
			return err
		}
		return vaultReady(ctx, vc)
	}))
	nomadOK := false
	hs = append(hs, check("nomad", st.NomadAddr(), func() error {
		if err := procUp("nomad"); err != nil {
			return err
		}
		nc, err := st.NomadClient()
		if err != nil {
			return err
		}
		_, err = nomadReady(nc, nativeDrivers)
		nomadOK = err == nil
		return err
	}))
	jobCheck := func(job, url string) func() error {
		return func() error {
			if !nomadOK {
				return fmt.Errorf("nomad is down")
			}
			nc, err := st.NomadClient()
			if err != nil {
				return err
			}
			if err := JobRunning(nc, PlatformNamespace, job); err != nil {
				return err
			}
			return httpOK(ctx, url)
		}
	}
	hs = append(hs, check("traefik", fmt.Sprintf("public %s, internal %s", st.PublicURL(), st.InternalURL()),
		jobCheck("traefik", st.InternalURL()+"/traefik-ready")))
	hs = append(hs, check("nomad-autoscaler", st.AutoscalerURL(),
		jobCheck("nomad-autoscaler", st.AutoscalerURL()+"/v1/health")))
	return hs
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// Env returns the variables a shell needs to use the stack with stackctl
// and the agents' own CLIs, in a fixed order: the deployer's
// least-privilege tokens, or with admin the bootstrap (management) tokens.
func Env(st *State, admin bool) ([][2]string, error) {
	creds, err := st.Deployer()
	if admin {
		creds, err = st.Admin()
	}
	if err != nil {
		return nil, err
	}
	return [][2]string{
		{"NOMAD_ADDR", st.NomadAddr()},
		{"NOMAD_TOKEN", creds.Nomad},
		{"CONSUL_HTTP_ADDR", st.ConsulAddr()},
		{"CONSUL_HTTP_TOKEN", creds.Consul},
		{"VAULT_ADDR", st.VaultAddr()},
		{"VAULT_TOKEN", creds.Vault},
	}, nil
}

// Unhealthy names the components whose Status is not OK.
func Unhealthy(ctx context.Context, st *State) []string {
	var down []string
	for _, h := range Status(ctx, st) {
		if !h.OK {
			down = append(down, h.Component)
		}
	}
	return down
}

// LogComponents are the names `dev logs` accepts.
var LogComponents = []string{"consul", "vault", "nomad", "dockerd", "traefik", "nomad-autoscaler"}

// LogFiles returns the log files of a component: the agent's own log, or
// for the platform jobs the task's stdout/stderr in Nomad's allocation
// directories.
func LogFiles(st *State, component string) ([]string, error) {
	switch component {
	case "consul", "vault", "nomad", "dockerd":
		return []string{st.logPath(component)}, nil
	case "traefik", "nomad-autoscaler":
		task := component
		if component == "nomad-autoscaler" {
			task = "autoscaler"
		}
		var files []string
		for _, stream := range []string{"stdout", "stderr"} {
			m, err := filepath.Glob(filepath.Join(st.nomadDataDir(), "alloc", "*", "alloc", "logs", task+"."+stream+".*"))
			if err != nil {
				return nil, err
			}
			files = append(files, m...)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("no logs for %s yet (is the job running? see `stackctl dev status`)", component)
		}
		return files, nil
	}
	return nil, fmt.Errorf("unknown component %q (one of %s)", component, strings.Join(LogComponents, ", "))
}

// CopyLog writes the last n lines of path to w (all when n <= 0), then,
// with follow, keeps copying what is appended until ctx ends.
func CopyLog(ctx context.Context, w io.Writer, path string, n int, follow bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if n > 0 {
		var lines []string
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if len(lines) > n {
				lines = lines[1:]
			}
		}
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	} else if _, err := io.Copy(w, f); err != nil {
		return err
	}
	for follow {
		if _, err := io.Copy(w, f); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}
