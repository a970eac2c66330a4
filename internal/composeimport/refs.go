package composeimport

import (
	"regexp"
	"strconv"
	"strings"
)

// Under compose a service reaches another by its name on the project
// network ("db:5432", "http://api:8080/v1"). In the mesh it reaches an
// upstream on a local port instead, so such values are found and rewritten
// to 127.0.0.1:<local port>, keeping the scheme, user info and path.

// ref is one mention of another service in an environment value.
type ref struct {
	start, end int    // byte range of host[:port] in the value
	target     string // the compose service named
	port       int    // 0 when the value gives none
	scheme     string // "http", "postgres", ... ("" for host:port)
	bare       bool   // the whole value is the host name (FOO_HOST=db)
}

var (
	hostTokenRe = regexp.MustCompile(`[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?`)
	portAfterRe = regexp.MustCompile(`^:(\d{1,5})`)
	schemeRe    = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*)://[^/]*$`)
)

// hostVarSuffixes mark variables whose whole value is a host name.
var hostVarSuffixes = []string{"_HOST", "_HOSTNAME", "_SERVER", "_ADDR", "_ADDRESS"}

// findRefs returns the mentions of the hosts in value. hosts maps a
// lowercase host name (service name, alias, link alias, hostname) to its
// compose service. A mention counts only in an address position: the host
// of a URL, host:port, or the whole value of a FOO_HOST-like variable; so
// SERVICE_NAME=web or a path /api/web stay as they are.
func findRefs(name, value string, hosts map[string]string) []ref {
	var out []ref
	for _, m := range hostTokenRe.FindAllStringIndex(value, -1) {
		target, ok := hosts[strings.ToLower(value[m[0]:m[1]])]
		if !ok {
			continue
		}
		r := ref{start: m[0], end: m[1], target: target}
		if pm := portAfterRe.FindStringSubmatch(value[m[1]:]); pm != nil {
			r.port, _ = strconv.Atoi(pm[1])
			if r.port < 1 || r.port > 65535 {
				continue
			}
			r.end += len(pm[0])
		}
		before, after := value[:r.start], value[r.end:]
		if after != "" && !strings.ContainsRune("/?#,; \t\"'", rune(after[0])) {
			continue // user info ("web:pw@db") or part of a longer word
		}
		inURL := strings.Contains(before, "://")
		var last byte
		if before != "" {
			last = before[len(before)-1]
		}
		switch {
		case inURL && (strings.HasSuffix(before, "://") || last == '@' || last == ','):
			if sm := schemeRe.FindStringSubmatch(before); sm != nil {
				r.scheme = strings.ToLower(sm[1])
			}
		case r.port > 0 && (before == "" || strings.ContainsRune(",; \t=\"'", rune(last))):
		case before == "" && after == "" && r.port == 0 && hasAnySuffix(strings.ToUpper(name), hostVarSuffixes):
			r.bare = true
		default:
			continue
		}
		out = append(out, r)
	}
	return out
}

// rewrite replaces each mention with the upstream's local address.
func rewrite(value string, refs []ref, localPort func(target string) int) string {
	var b strings.Builder
	prev := 0
	for _, r := range refs {
		b.WriteString(value[prev:r.start])
		if r.bare {
			b.WriteString("127.0.0.1")
		} else {
			b.WriteString("127.0.0.1:" + strconv.Itoa(localPort(r.target)))
		}
		prev = r.end
	}
	b.WriteString(value[prev:])
	return b.String()
}

// schemePorts are the ports a URL without one means.
var schemePorts = map[string]int{
	"http": 80, "https": 443, "ws": 80, "wss": 443,
	"postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306,
	"redis": 6379, "rediss": 6379, "mongodb": 27017, "amqp": 5672, "amqps": 5671,
	"nats": 4222, "memcached": 11211,
}

// tcpSchemes speak their own protocol: the mesh carries them as tcp.
var tcpSchemes = map[string]bool{
	"postgres": true, "postgresql": true, "mysql": true, "mariadb": true, "redis": true, "rediss": true,
	"mongodb": true, "amqp": true, "amqps": true, "nats": true, "memcached": true, "tcp": true,
	"kafka": true, "ldap": true, "smtp": true, "grpc": true,
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}
