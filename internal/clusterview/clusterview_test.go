package clusterview

import (
	"testing"

	consul "github.com/hashicorp/consul/api"
)

func intentions(name string, sources ...string) *consul.ServiceIntentionsConfigEntry {
	e := &consul.ServiceIntentionsConfigEntry{Name: name}
	for i := 0; i < len(sources); i += 2 {
		e.Sources = append(e.Sources, &consul.SourceIntention{Name: sources[i], Action: consul.IntentionAction(sources[i+1])})
	}
	return e
}

// TestAllowsPrecedence follows Consul's order: exact destination before
// the wildcard one, and within each an exact source before "*".
func TestAllowsPrecedence(t *testing.T) {
	defaultDeny := intentions("*", "*", "deny")
	cases := []struct {
		name      string
		src       string
		own, wild *consul.ServiceIntentionsConfigEntry
		want      bool
	}{
		{"declared caller", "web", intentions("api", "web", "allow"), defaultDeny, true},
		{"other caller, default deny", "orders", intentions("api", "web", "allow"), defaultDeny, false},
		{"no entry at all", "web", nil, nil, false},
		{"explicit deny beats wildcard allow", "web", intentions("api", "web", "deny", "*", "allow"), nil, false},
		{"wildcard source in the own entry", "orders", intentions("api", "*", "allow"), defaultDeny, true},
		{"own entry's wildcard before the wildcard entry's exact source", "orders", intentions("api", "*", "deny"), intentions("*", "orders", "allow"), false},
		{"wildcard destination allows a source", "orders", nil, intentions("*", "orders", "allow"), true},
		{"own exact beats everything", "orders", intentions("api", "orders", "allow"), intentions("*", "orders", "deny"), true},
	}
	for _, c := range cases {
		if got := allows(c.src, c.own, c.wild); got != c.want {
			t.Errorf("%s: allows(%s) = %v, want %v", c.name, c.src, got, c.want)
		}
	}
	l7 := &consul.ServiceIntentionsConfigEntry{Sources: []*consul.SourceIntention{{Name: "web", Permissions: []*consul.IntentionPermission{{Action: "allow"}}}}}
	if !allows("web", l7, defaultDeny) {
		t.Error("a source with L7 permissions counts as allowed")
	}
}
