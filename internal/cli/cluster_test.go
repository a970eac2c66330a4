package cli

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/stackctl/stackctl/internal/cluster"
	"github.com/stackctl/stackctl/internal/cluster/clustertest"
	"github.com/stackctl/stackctl/internal/compile"
)

// clusterCmd sets up and inspects a script's in-memory cluster:
//
//	cluster fail OP [NAME] STATUS [MESSAGE...]   the call fails with STATUS (OP: an Operation ID)
//	cluster race OP NAME                          a concurrent deploy registers NAME first
//	cluster down nomad|consul|vault               the component does not answer
//	cluster seal | cluster notoken                Vault is sealed / there is no token
//	cluster rollout SERVICE healthy|crash|stuck|unplaced|panic|oom [after=N]
//	                                              after=N: the deployment runs for N reads first
//	cluster scaling ID N [by=autoscaler|stackctl|cli] [after=K]
//	                                              a scaling deployment of the count, running for K reads
//	cluster lock KEY                              another deploy holds KEY
//	cluster job ID [ns=NS] [stack=S] [unmanaged] [stopped] [count=N] [nogroups]
//	cluster count ID N                            the autoscaler moved the count
//	cluster policy NAME FILE | cluster role MOUNT/NAME FILE(json)
//	cluster intentions NAME [stack=S] [ns=NS] [unmanaged] SOURCE...
//	cluster secret MOUNT/PATH KEY=VALUE...
//	cluster log SERVICE TASK STREAM TEXT...        every instance's task writes TEXT and a newline (alloc_io_test.go)
//	cluster timeline SERVICE start|stop...         what happens while its allocations are watched
//	cluster show jobs|intentions|policies|roles|locks|secrets | cluster show meta ID
func clusterCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: cluster VERB ARGS...")
	}
	fake, err := clustertest.Open(ts.Getenv(fakeClusterEnv))
	ts.Check(err)
	verb, args := args[0], args[1:]
	switch verb {
	case "show":
		fake.Edit(func(s *clustertest.State) { show(ts, s, args) })
		return
	case "scaling":
		scaling(ts, fake, args)
		ts.Check(fake.Save())
		return
	}
	if verb == "log" || verb == "timeline" {
		allocIOCmd(ts, fake, verb, args)
		return
	}
	fake.Edit(func(s *clustertest.State) {
		switch verb {
		case "fail":
			s.Faults = append(s.Faults, parseFault(ts, args))
		case "race":
			s.Faults = append(s.Faults, &clustertest.Fault{Op: knownOp(ts, args[0]), Name: args[1], Race: true})
		case "down":
			s.Down[args[0]] = true
		case "seal":
			s.Sealed = true
		case "notoken":
			s.NoToken = true
		case "rollout":
			s.Rollouts[args[0]] = args[1]
			delete(s.Slow, args[0])
			for _, a := range args[2:] {
				if n, ok := strings.CutPrefix(a, "after="); ok {
					s.Slow[args[0]], _ = strconv.Atoi(n)
				}
			}
		case "lock":
			s.Locks[args[0]] = "another-host pid 4242"
		case "job":
			addJob(ts, fake, args)
		case "count":
			setCount(ts, s, args)
		case "policy":
			s.Policies[args[0]] = ts.ReadFile(args[1])
		case "role":
			var r map[string]any
			ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[1])), &r))
			s.Roles[args[0]] = r
		case "intentions":
			addIntentions(ts, fake, args)
		case "secret":
			data := map[string]any{}
			for _, kv := range args[1:] {
				k, v, _ := strings.Cut(kv, "=")
				data[k] = v
			}
			s.Secrets[args[0]] = &clustertest.Secret{Versions: []map[string]any{data}}
		default:
			ts.Fatalf("cluster: unknown verb %q", verb)
		}
	})
	ts.Check(fake.Save())
}

func knownOp(ts *testscript.TestScript, id string) string {
	for _, op := range cluster.Operations {
		if op.ID == id {
			return id
		}
	}
	ts.Fatalf("cluster: no operation %q", id)
	return ""
}

func parseFault(ts *testscript.TestScript, args []string) *clustertest.Fault {
	f := &clustertest.Fault{Op: knownOp(ts, args[0])}
	rest := args[1:]
	if len(rest) > 0 {
		if _, err := strconv.Atoi(rest[0]); err != nil {
			f.Name, rest = rest[0], rest[1:]
		}
	}
	if len(rest) == 0 {
		ts.Fatalf("cluster fail: no status")
	}
	f.Status, _ = strconv.Atoi(rest[0])
	f.Message = strings.Join(rest[1:], " ")
	return f
}

// addJob registers a job directly, as a person or another stack would.
func addJob(ts *testscript.TestScript, fake *clustertest.Cluster, args []string) {
	id := args[0]
	ns, stack, count := "default", "", 1
	managed, stopped, groups := true, false, true
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "ns":
			ns = v
		case "stack":
			stack = v
		case "unmanaged":
			managed = false
		case "stopped":
			stopped = true
		case "nogroups":
			groups = false
		case "count":
			count, _ = strconv.Atoi(v)
		default:
			ts.Fatalf("cluster job: unknown option %q", a)
		}
	}
	job := &nomad.Job{ID: &id, Name: &id, Namespace: &ns, Type: ptrTo("service"), Meta: map[string]string{}}
	if managed {
		job.Meta[compile.MetaManagedBy] = compile.ManagedBy
		job.Meta[compile.MetaStack] = stack
	}
	if groups {
		job.TaskGroups = []*nomad.TaskGroup{{Name: &id, Count: &count}}
	}
	s := fake.Register(job)
	if stopped {
		s.Versions[len(s.Versions)-1].Stop = ptrTo(true)
	}
}

// scaling starts a scaling deployment, as the autoscaler's scaling
// request (by=autoscaler, the default) or another scaler's would.
func scaling(ts *testscript.TestScript, fake *clustertest.Cluster, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: cluster scaling ID N [by=...] [after=K]")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	by, reads := clustertest.ByAutoscaler, 3
	for _, a := range args[2:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "by":
			by = v
		case "after":
			reads, err = strconv.Atoi(v)
			ts.Check(err)
		default:
			ts.Fatalf("cluster scaling: unknown option %q", a)
		}
	}
	ts.Check(fake.ScaleWithDeployment("default", args[0], n, by, reads))
}

func setCount(ts *testscript.TestScript, s *clustertest.State, args []string) {
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	for _, j := range s.Jobs {
		l := j.Versions[len(j.Versions)-1]
		if *l.ID == args[0] {
			for _, g := range l.TaskGroups {
				g.Count = &n
			}
			return
		}
	}
	ts.Fatalf("cluster count: no job %s", args[0])
}

func addIntentions(ts *testscript.TestScript, fake *clustertest.Cluster, args []string) {
	e := &consul.ServiceIntentionsConfigEntry{Kind: consul.ServiceIntentions, Name: args[0], Meta: map[string]string{
		compile.MetaManagedBy: compile.ManagedBy, compile.MetaStack: "shop", compile.MetaNamespace: "default"}}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "stack":
			e.Meta[compile.MetaStack] = v
		case "ns":
			e.Meta[compile.MetaNamespace] = v
		case "unmanaged":
			e.Meta = nil
		default:
			e.Sources = append(e.Sources, &consul.SourceIntention{Name: a, Action: consul.IntentionActionAllow, Type: consul.IntentionSourceConsul})
		}
	}
	fake.PutIntentions(e)
}

// show prints part of the state, sorted, for stdout checks.
func show(ts *testscript.TestScript, s *clustertest.State, args []string) {
	w := ts.Stdout()
	var lines []string
	switch args[0] {
	case "jobs":
		for k, j := range s.Jobs {
			l := j.Versions[len(j.Versions)-1]
			count := -1
			if len(l.TaskGroups) > 0 && l.TaskGroups[0].Count != nil {
				count = *l.TaskGroups[0].Count
			}
			lines = append(lines, fmt.Sprintf("%s v%d stop=%v stable=%v count=%d stack=%s", k, deref(l.Version), deref(l.Stop), deref(l.Stable), count, l.Meta[compile.MetaStack]))
		}
	case "intentions":
		for _, e := range s.Intentions {
			var src []string
			for _, x := range e.Sources {
				src = append(src, x.Name)
			}
			lines = append(lines, fmt.Sprintf("%s: allow %s (stack=%s ns=%s)", e.Name, strings.Join(src, ", "), e.Meta[compile.MetaStack], e.Meta[compile.MetaNamespace]))
		}
	case "policies":
		for name, text := range s.Policies {
			first, _, _ := strings.Cut(text, "\n")
			lines = append(lines, name+": "+first)
		}
	case "roles":
		for name, r := range s.Roles {
			b, _ := json.Marshal(r)
			lines = append(lines, name+": "+string(b))
		}
	case "locks":
		for k := range s.Locks {
			lines = append(lines, k)
		}
	case "meta":
		j, ok := s.Jobs["default/"+args[1]]
		if !ok {
			ts.Fatalf("cluster show meta: no job %s", args[1])
		}
		for k, v := range j.Versions[len(j.Versions)-1].Meta {
			lines = append(lines, k+"="+v)
		}
	case "secrets":
		for k, sec := range s.Secrets {
			keys := slices.Sorted(maps.Keys(sec.Versions[len(sec.Versions)-1]))
			lines = append(lines, fmt.Sprintf("%s v%d keys=%s", k, len(sec.Versions), strings.Join(keys, ",")))
		}
	default:
		ts.Fatalf("cluster show: unknown kind %q", args[0])
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptrTo[T any](v T) *T { return &v }
