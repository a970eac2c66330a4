package composeimport

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/hcl/v2"
	yaml "go.yaml.in/yaml/v4"
)

// SecretPut is a `stackctl secrets put` command the user runs after the
// import: it says where the value is in the compose project, never what
// it is.
type SecretPut struct {
	Service, Env string
	FromFile     string   // the compose secret's file, fed on stdin
	Hint         string   // where the value comes from under compose
	Rewrite      string   // how the value must change for the mesh, "" if not
	Also         []string // other "service ENV" pairs reading the same Vault key
}

// Command is the shell command line, with the hint as a comment.
//
// The line is pasted into a shell, so every part that comes from the
// compose project is quoted (shellQuote) or is a name the import has
// checked (the service is a DNS label, the variable an identifier), and
// the comment after "#" has its control characters escaped: a newline in
// it would start a command of its own.
func (p *SecretPut) Command(stackDir string) string {
	cmd := fmt.Sprintf("stackctl secrets put --stack %s %s %s", shellQuote(stackDir), shellQuote(p.Service), shellQuote(p.Env))
	var notes []string
	if p.FromFile != "" {
		cmd += " < " + shellQuote(p.FromFile)
	} else {
		notes = append(notes, "stdin: "+p.Hint)
	}
	if p.Rewrite != "" {
		notes = append(notes, p.Rewrite)
	}
	if len(p.Also) > 0 {
		notes = append(notes, "also read by "+strings.Join(p.Also, ", "))
	}
	if len(notes) > 0 {
		cmd += "   # " + printable(strings.Join(notes, "; "))
	}
	return cmd
}

var safeShellRe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`)

// shellQuote quotes a word for a copy-pasted POSIX shell command line
// when needed: inside single quotes nothing is special but the single
// quote itself, which closes the quotes, is escaped and reopens them.
func shellQuote(s string) string {
	if safeShellRe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// environment maps environment variables, compose secrets and the
// services this one calls: values naming other services are rewritten to
// their upstream's local address, secret values become secret blocks.
func (c *converter) environment(name string, s types.ServiceConfig, d *descriptor) {
	loc := c.p.loc
	env := map[string]*string{}
	for k, v := range s.Environment {
		env[k] = v
	}
	// Compose secrets first: they may consume FOO_FILE variables, which
	// then must not be imported as plain env.
	for _, sr := range s.Secrets {
		c.composeSecret(name, sr, env, d)
	}

	// Who this service calls, and why.
	why := map[string][]string{}
	addWhy := func(target, reason string) {
		if !containsStr(why[target], reason) {
			why[target] = append(why[target], reason)
		}
	}
	for _, dep := range sortedKeys(s.DependsOn) {
		if c.reachable(name, dep, loc.service(name, key("depends_on"), entry(dep)), "depends on") {
			addWhy(dep, "depends_on")
		}
	}
	for _, l := range s.Links {
		target, _, _ := strings.Cut(l, ":")
		if c.reachable(name, target, loc.service(name, key("links"), entry(target)), "links to") {
			addWhy(target, "links")
		}
	}
	refs := map[string][]ref{}
	for _, k := range sortedKeys(c.refs[name]) {
		if _, ok := env[k]; !ok {
			continue // consumed by a compose secret
		}
		for _, r := range c.refs[name][k] {
			if c.reachable(name, r.target, loc.service(name, key("environment"), entry(k)), fmt.Sprintf("names in %s", k)) {
				refs[k] = append(refs[k], r)
				addWhy(r.target, k)
			}
		}
	}

	// One local port per upstream: the upstream's own port when free (so
	// an app that only takes a host name still finds it), else from 9001.
	used := map[int]bool{}
	for _, p := range d.Ports {
		used[p.Container] = true
	}
	targets := sortedKeys(why)
	sort.Slice(targets, func(i, j int) bool { return c.names[targets[i]] < c.names[targets[j]] })
	local := map[string]int{}
	for _, t := range targets {
		lp := c.ports[t][0].Container
		if lp < 1024 || used[lp] {
			for lp = 9001; used[lp]; lp++ {
			}
		}
		used[lp] = true
		local[t] = lp
		d.Upstreams = append(d.Upstreams, &upstream{Service: c.names[t], LocalPort: lp, Why: why[t]})
	}
	localPort := func(t string) int { return local[t] }

	// FOO_HOST=db with FOO_PORT=5432: the port follows the host.
	portFor := map[string]int{}
	for k, rs := range refs {
		for _, r := range rs {
			if !r.bare {
				continue
			}
			prefix := k[:strings.LastIndex(k, "_")]
			pv := prefix + "_PORT"
			if v, ok := env[pv]; ok && v != nil {
				if _, err := strconv.Atoi(*v); err == nil {
					portFor[pv] = local[r.target]
					continue
				}
			}
			if local[r.target] != c.ports[r.target][0].Container {
				c.warn(loc.service(name, key("environment"), entry(k)), "Host without a port",
					fmt.Sprintf("%s names %q alone; in the mesh %q is at 127.0.0.1:%d, not on its own port %d. Give the app the port too (e.g. %s=%d).",
						k, r.target, r.target, local[r.target], c.ports[r.target][0].Container, pv, local[r.target]))
			}
		}
	}

	for _, k := range sortedKeys(env) {
		v := env[k]
		at := loc.service(name, key("environment"), entry(k))
		secret := v != nil && secretValue(k, *v)
		if secret {
			c.red.add(*v) // masked wherever it is shown, even if not imported
		}
		switch {
		case v == nil:
			c.warn(at, "Variable without a value",
				fmt.Sprintf("%s is listed without a value and is not set where the import ran, so compose would not set it either; it is not written. Add it to the descriptor's env if %q needs it.", k, name))
			continue
		case !envNameRe.MatchString(k):
			c.warn(at, "Variable name not usable",
				fmt.Sprintf("%q is not a valid environment variable name for Nomad (letters, digits and underscores, not starting with a digit); it is not written. Rename it in the app.", k))
			continue
		case strings.HasPrefix(k, "NOMAD_") || strings.HasPrefix(k, "CONSUL_") || strings.HasPrefix(k, "VAULT_"):
			c.warn(at, "Variable name reserved",
				fmt.Sprintf("%s starts with a prefix Nomad, Consul or Vault set themselves; it is not written. Rename it in the app.", k))
			continue
		}
		for _, r := range refs[k] {
			c.refWarnings(name, k, r, at)
		}
		if secret {
			c.envSecret(name, k, *v, refs[k], localPort, d)
			continue
		}
		// Plain values keep their compose form as a comment, so that a
		// reviewer sees what changed.
		nv := rewrite(*v, refs[k], localPort)
		note := ""
		if p, ok := portFor[k]; ok {
			nv = strconv.Itoa(p)
		}
		if nv != *v {
			note = "compose: " + *v
		}
		d.Env = append(d.Env, &envVar{Name: k, Value: nv, Note: note})
	}

	// The upstream sets <NAME>_ADDR itself: a compose variable of that name
	// that now holds the same address is dropped, a different one keeps
	// its name and the upstream's variable gets another.
	for _, u := range d.Upstreams {
		def := strings.ToUpper(strings.ReplaceAll(u.Service, "-", "_")) + "_ADDR"
		for i, e := range d.Env {
			if e.Name != def {
				continue
			}
			if e.Value == "127.0.0.1:"+strconv.Itoa(u.LocalPort) {
				d.Env = append(d.Env[:i], d.Env[i+1:]...)
				for j, w := range u.Why {
					if w == def {
						u.Why[j] = def + ", which the upstream sets"
					}
				}
			} else {
				u.Env = strings.TrimSuffix(def, "_ADDR") + "_MESH_ADDR"
			}
			break
		}
		for _, sec := range d.Secrets {
			if sec.Env == def {
				u.Env = strings.TrimSuffix(def, "_ADDR") + "_MESH_ADDR"
			}
		}
	}
}

// reachable reports whether target is an imported service this one can
// call; it warns when the target is not imported.
func (c *converter) reachable(from, target string, at *hcl.Range, how string) bool {
	if target == from {
		return false
	}
	if _, ok := c.names[target]; ok {
		return true
	}
	switch {
	case c.skipped[target] == "the edge proxy":
		// Calls to the edge come back in through Traefik; nothing to declare.
	case c.skipped[target] != "":
		c.warn(at, "Call to a service not imported",
			fmt.Sprintf("%q %s %q, which is not imported (%s).", from, how, target, c.skipped[target]))
	case c.p.DisabledServices[target].Name != "":
		c.warn(at, "Call to a service of an inactive profile",
			fmt.Sprintf("%q %s %q, whose profiles (%s) are not active, so it is not imported and no upstream is declared. Import with --profile to include it.",
				from, how, target, strings.Join(c.p.DisabledServices[target].Profiles, ", ")))
	}
	return false
}

// refWarnings explains what changes about a mention of another service.
func (c *converter) refWarnings(name, k string, r ref, at *hcl.Range) {
	mesh := c.ports[r.target][0].Container
	if r.port != 0 && r.port != mesh {
		c.warn(at, "Call to a port other than the mesh port",
			fmt.Sprintf("%s names port %d of %q, but only its mesh port %d is reachable through the upstream; the value now points at the upstream.", k, r.port, r.target, mesh))
	}
	if r.scheme == "https" || r.scheme == "wss" || r.scheme == "rediss" || r.scheme == "amqps" {
		c.warn(at, "TLS to an upstream",
			fmt.Sprintf("%s calls %q over %s. The mesh encrypts calls between services already; the upstream passes the app's own TLS through, but the certificate will not match 127.0.0.1. Prefer the plain protocol.", k, r.target, r.scheme))
	}
}

// envSecret turns a secret-looking variable into a secret block. The
// value is compared in memory so that the same value used twice (the
// database password in the app and in the database) is stored once.
func (c *converter) envSecret(name, k, v string, refs []ref, localPort func(string) int, d *descriptor) {
	loc := c.p.loc
	sec := &secretRef{Env: k, Path: c.stack + "/" + vaultSegment(c.names[name]), Key: strings.ToLower(k)}
	if prev, ok := c.shared[v]; ok && v != "" {
		sec.Path, sec.Key = prev.Path, prev.Key
	} else {
		c.shared[v] = sec
	}
	d.Secrets = append(d.Secrets, sec)

	hint := fmt.Sprintf("the value compose gives %s (from env_file)", k)
	raw := loc.rawValue(name, key("environment"), entry(k))
	if m := wholeVarRe.FindStringSubmatch(raw); m != nil {
		hint = fmt.Sprintf("the value of ${%s} (environment or .env)", m[1])
	} else if at := loc.serviceIn(loc.files, name, []step{key("environment"), entry(k)}, 0); at != nil {
		hint = fmt.Sprintf("the value of %s at %s:%d", k, shellQuote(at.Filename), at.Start.Line)
		// Name the variables it is made of, never the literal text.
		var vars []string
		for _, m := range usedVarRe.FindAllStringSubmatch(raw, -1) {
			if !containsStr(vars, "${"+m[1]+"}") {
				vars = append(vars, "${"+m[1]+"}")
			}
		}
		if len(vars) > 0 {
			hint += " with " + strings.Join(vars, ", ") + " filled in"
		}
	}
	var rw []string
	for _, r := range refs {
		rw = append(rw, fmt.Sprintf("%s -> %s", v[r.start:r.end], rewrite(v[r.start:r.end], []ref{{start: 0, end: r.end - r.start, target: r.target, bare: r.bare}}, localPort)))
	}
	rewriteNote := ""
	if len(rw) > 0 {
		rewriteNote = "in the value, replace " + strings.Join(rw, ", ")
	}
	c.addPut(sec, &SecretPut{Service: d.Name, Env: k, Hint: hint, Rewrite: rewriteNote})
}

var (
	wholeVarRe = regexp.MustCompile(`^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}?$`)
	usedVarRe  = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// addPut records the command that fills a Vault key, once per key.
func (c *converter) addPut(sec *secretRef, p *SecretPut) {
	id := sec.Path + "#" + sec.Key
	if prev, ok := c.putAt[id]; ok {
		prev.Also = append(prev.Also, p.Service+" "+p.Env)
		return
	}
	c.putAt[id] = p
	c.puts = append(c.puts, p)
}

// composeSecret maps a compose secret (a file under /run/secrets) to an
// environment variable filled from Vault. The common FOO_FILE=/run/secrets/x
// convention becomes FOO itself.
func (c *converter) composeSecret(name string, sr types.ServiceSecretConfig, env map[string]*string, d *descriptor) {
	loc := c.p.loc
	target := sr.Target
	if target == "" {
		target = sr.Source
	}
	file := target
	if !path.IsAbs(file) {
		file = "/run/secrets/" + target
	}
	at := loc.service(name, key("secrets"), item(func(n *yaml.Node) bool {
		if n.Kind == yaml.ScalarNode {
			return n.Value == sr.Source
		}
		_, s := key("source")(n)
		return s != nil && s.Value == sr.Source
	}))
	envName := ""
	for _, k := range sortedKeys(env) {
		// The variable's name becomes the secret's: only an identifier.
		if v := env[k]; v != nil && strings.HasSuffix(k, "_FILE") && *v == file && envNameRe.MatchString(strings.TrimSuffix(k, "_FILE")) {
			envName = strings.TrimSuffix(k, "_FILE")
			delete(env, k)
			c.warn(at, "Secret file becomes a variable",
				fmt.Sprintf("%s pointed %q at the secret file %s; stackctl passes secrets as environment variables, so the descriptor sets %s from Vault instead (images such as postgres and mysql read either).", k, name, file, envName))
			break
		}
	}
	if envName == "" {
		envName = strings.ToUpper(vaultSegRe.ReplaceAllString(path.Base(target), "_"))
		envName = strings.NewReplacer("-", "_", ".", "_").Replace(envName)
		if envName == "" || (envName[0] >= '0' && envName[0] <= '9') {
			envName = "SECRET_" + envName
		}
		c.warn(at, "Secret file becomes a variable",
			fmt.Sprintf("Compose mounts secret %q as the file %s; stackctl passes secrets as environment variables, so %q gets %s instead. Make the app read the variable.", sr.Source, file, name, envName))
	}
	if _, clash := env[envName]; clash {
		c.warn(at, "Variable replaced by a secret",
			fmt.Sprintf("%q sets %s in its environment too; the secret's value from Vault replaces it.", name, envName))
		delete(env, envName)
	}
	sec := &secretRef{Env: envName, Path: c.stack + "/" + vaultSegment(sr.Source), Key: "value"}
	d.Secrets = append(d.Secrets, sec)
	put := &SecretPut{Service: d.Name, Env: envName}
	def := c.p.Secrets[sr.Source]
	defAt := func(k string) *hcl.Range {
		if r := loc.anyTop(key("secrets"), key(sr.Source), key(k)); r != nil {
			return r
		}
		return at
	}
	switch {
	case def.File != "" && !printableName(def.File):
		// Quoted, a newline would still split the command in two on the
		// screen; such a name is no accident.
		c.diags = append(c.diags, errorDiag("Secret file name not printable",
			fmt.Sprintf("The file of secret %q, %s, has a control or invisible character in its name, which the import will not put into a command line to paste. Rename the file.", sr.Source, printable(def.File)), defAt("file")))
		return
	case def.File != "":
		put.FromFile = def.File
		if rel, ok := c.relPath(def.File); ok {
			put.FromFile = rel
		}
	case def.Environment != "" && !envNameRe.MatchString(def.Environment):
		c.diags = append(c.diags, errorDiag("Secret variable name not usable",
			fmt.Sprintf("Secret %q takes its value from the environment variable %s, which is not a variable name a shell can set (letters, digits and underscores, not starting with a digit). Name a valid variable.", sr.Source, strconv.Quote(def.Environment)), defAt("environment")))
		return
	case def.Environment != "":
		put.Hint = fmt.Sprintf("the value of $%s (compose secret %q)", def.Environment, sr.Source)
	default:
		put.Hint = fmt.Sprintf("the value of the external secret %q", sr.Source)
	}
	c.addPut(sec, put)
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
