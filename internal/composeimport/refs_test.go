package composeimport

import "testing"

func TestRewriteRefs(t *testing.T) {
	hosts := map[string]string{"db": "db", "api": "api", "cache": "redis", "web": "web"}
	ports := map[string]int{"db": 5432, "api": 9001, "redis": 6379}
	for _, c := range []struct{ name, in, want string }{
		{"DATABASE_URL", "postgres://web:s3cret@db:5432/app?sslmode=disable", "postgres://web:s3cret@127.0.0.1:5432/app?sslmode=disable"},
		{"API_URL", "http://api:8080/v1", "http://127.0.0.1:9001/v1"},
		{"API_URL", "http://API/v1", "http://127.0.0.1:9001/v1"}, // host names are case-insensitive
		{"API_ADDR", "api:8080", "127.0.0.1:9001"},
		{"BROKERS", "db:5432,api:8080", "127.0.0.1:5432,127.0.0.1:9001"},
		{"CACHE_HOST", "cache", "127.0.0.1"}, // an alias, whole value of a *_HOST
		{"SERVICE_NAME", "web", "web"},       // a name, not an address
		{"CACHE", "cache", "cache"},          // not a host variable
		{"PATH_PREFIX", "/api/db", "/api/db"},
		{"DOCS", "see http://example.com/db:5432", "see http://example.com/db:5432"},
		{"DB_HOSTNAME", "db.internal", "db.internal"}, // another host
		{"API_URL", "http://api-v2:8080", "http://api-v2:8080"},
		{"JDBC", "jdbc:postgresql://db:5432/app", "jdbc:postgresql://127.0.0.1:5432/app"},
	} {
		refs := findRefs(c.name, c.in, hosts)
		got := rewrite(c.in, refs, func(t string) int { return ports[t] })
		if got != c.want {
			t.Errorf("%s=%s: got %s, want %s", c.name, c.in, got, c.want)
		}
	}
}

func TestSecretDetection(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        bool
	}{
		{"POSTGRES_PASSWORD", "x", true},
		{"DB_PASS", "x", true},
		{"STRIPE_API_KEY", "sk_1", true},
		{"JWT_SECRET", "x", true},
		{"GITHUB_TOKEN", "x", true},
		{"SENTRY_DSN", "https://k@o.ingest/1", true},
		{"DATABASE_URL", "postgres://u:p@db/x", true},
		{"DATABASE_URL", "postgres://u@db/x", false},
		{"KEYBOARD_LAYOUT", "us", false},
		{"BYPASS_CACHE", "1", false},
		{"POSTGRES_PASSWORD_FILE", "/run/secrets/pw", false},
		{"MYSQL_ALLOW_EMPTY_PASSWORD", "yes", false},
		{"POSTGRES_HOST_AUTH_METHOD", "trust", false},
		{"TOKEN_TTL", "3600", false},
		{"PWD", "/home/me", false},
		{"LOG_LEVEL", "debug", false},
	} {
		if got := secretValue(c.name, c.value); got != c.want {
			t.Errorf("%s=%s: secret %v, want %v", c.name, c.value, got, c.want)
		}
	}
}
