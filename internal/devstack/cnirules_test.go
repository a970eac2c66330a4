package devstack

import (
	"reflect"
	"testing"
)

// A node's NAT table as `iptables -S` prints it, with one stale allocation
// (dead) before a live one (live) and Docker's rules around them.
const natRules = `-P PREROUTING ACCEPT
-N CNI-1111111111111111aaaaaaaa
-N CNI-2222222222222222bbbbbbbb
-N CNI-DN-1111111111111111aaaaa
-N CNI-DN-2222222222222222bbbbb
-N CNI-HOSTPORT-DNAT
-N DOCKER
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A POSTROUTING -s 172.26.64.2/32 -m comment --comment "name: \"nomad\" id: \"dead\"" -j CNI-1111111111111111aaaaaaaa
-A POSTROUTING -s 172.26.64.3/32 -m comment --comment "name: \"nomad\" id: \"live\"" -j CNI-2222222222222222bbbbbbbb
-A CNI-1111111111111111aaaaaaaa -d 172.26.64.0/20 -m comment --comment "name: \"nomad\" id: \"dead\"" -j ACCEPT
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"nomad\" id: \"dead\"" -m multiport --dports 22465 -j CNI-DN-1111111111111111aaaaa
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"other\" id: \"x\"" -m multiport --dports 30000 -j DOCKER
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"nomad\" id: \"live\"" -m multiport --dports 22465 -j CNI-DN-2222222222222222bbbbb
-A CNI-DN-1111111111111111aaaaa -p tcp -m tcp --dport 22465 -j DNAT --to-destination 172.26.64.2:22465
`

func TestCNIRuleNumbers(t *testing.T) {
	got := cniRuleNumbers(natRules)
	want := map[string][]int{
		"POSTROUTING":                  {2, 3},
		"CNI-1111111111111111aaaaaaaa": {1},
		"CNI-HOSTPORT-DNAT":            {1, 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cniRuleNumbers = %v, want %v", got, want)
	}
}

func TestOrphanCNIChains(t *testing.T) {
	// Every chain is referenced in the full table; once the rules jumping
	// to dead's chains are gone, only those two are orphans.
	if got := orphanCNIChains(natRules); len(got) != 0 {
		t.Errorf("orphans in the full table: %v", got)
	}
	without := `-N CNI-1111111111111111aaaaaaaa
-N CNI-DN-1111111111111111aaaaa
-N CNI-DN-2222222222222222bbbbb
-N CNI-HOSTPORT-DNAT
-A CNI-HOSTPORT-DNAT -p tcp -m multiport --dports 22465 -j CNI-DN-2222222222222222bbbbb
`
	want := []string{"CNI-1111111111111111aaaaaaaa", "CNI-DN-1111111111111111aaaaa"}
	if got := orphanCNIChains(without); !reflect.DeepEqual(got, want) {
		t.Errorf("orphanCNIChains = %v, want %v", got, want)
	}
}
