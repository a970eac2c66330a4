package spec

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

var stackSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "name"},
		{Name: "region"},
		{Name: "datacenters"},
		{Name: "namespace"},
		{Name: "domain"},
		{Name: "registry"},
		{Name: "vault_mount"},
		{Name: "vault_jwt_auth_path"},
		{Name: "nomad_version"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "sidecar"}},
}

var sidecarSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "kind"},
		{Name: "image"},
		{Name: "consul_binary"}, // removed: refused with the way out
		{Name: "consul_http_addr"},
		{Name: "cpu"},
		{Name: "memory"},
	},
}

// DefaultSettings are used for whatever the stack block leaves out.
func DefaultSettings() Settings {
	return Settings{
		Name:             "default",
		Region:           "global",
		Datacenters:      []string{"dc1"},
		Namespace:        "default",
		VaultMount:       "secret",
		VaultJWTAuthPath: "jwt-nomad",
		NomadVersion:     Version{Major: 1, Minor: 6},
		Sidecar: Sidecar{
			Kind: SidecarEnvoy,
			// Built by `stackctl dev install` from the pinned Consul
			// (devstack.ProxyImageTag).
			Image: "stackctl-consul-proxy:1.14.11",
			// The gateway of Nomad's default bridge (172.26.64.0/20): the
			// node's own address as every allocation sees it, where a
			// client's Consul agent listens without facing the LAN.
			ConsulHTTPAddr: "172.26.64.1:8500",
			CPU:            100,
			Memory:         128,
		},
	}
}

var versionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)(\.\d+)?$`)

func decodeStack(b *hcl.Block, ev *evaluator) (Settings, hcl.Diagnostics) {
	s := DefaultSettings()
	if b == nil {
		return s, nil
	}
	s.DeclRange = at(b.DefRange)
	content, diags := b.Body.Content(stackSchema)
	d := &attrs{evaluator: ev, diags: diags}
	a := content.Attributes

	if d.str(a["name"], &s.Name) && !dnsLabelRe.MatchString(s.Name) {
		d.diags = append(d.diags, invalidValueDiag("stack name",
			"The stack name must be a DNS label: lowercase letters, digits and dashes, starting with a letter.", a["name"].Expr.Range()))
	}
	d.str(a["region"], &s.Region)
	if d.strList(a["datacenters"], &s.Datacenters) && len(s.Datacenters) == 0 {
		d.diags = append(d.diags, invalidValueDiag("datacenters", "List at least one Nomad datacenter, e.g. [\"dc1\"].", a["datacenters"].Expr.Range()))
	}
	d.str(a["namespace"], &s.Namespace)
	if d.str(a["domain"], &s.Domain) && !validHostname(s.Domain) {
		d.diags = append(d.diags, invalidValueDiag("domain",
			fmt.Sprintf("%q is not a valid DNS name (letters, digits, dashes and dots).", s.Domain), a["domain"].Expr.Range()))
	}
	d.str(a["registry"], &s.Registry)
	if d.str(a["vault_mount"], &s.VaultMount) && !vaultMountRe.MatchString(s.VaultMount) {
		d.diags = append(d.diags, invalidValueDiag("vault_mount",
			"The KV v2 mount is a path such as \"secret\" or \"kv/apps\", without leading or trailing slashes.", a["vault_mount"].Expr.Range()))
	}
	if d.str(a["vault_jwt_auth_path"], &s.VaultJWTAuthPath) && !vaultMountRe.MatchString(s.VaultJWTAuthPath) {
		d.diags = append(d.diags, invalidValueDiag("vault_jwt_auth_path",
			"The JWT auth mount is a path such as \"jwt-nomad\", without slashes at either end.", a["vault_jwt_auth_path"].Expr.Range()))
	}
	var ver string
	if d.str(a["nomad_version"], &ver) {
		m := versionRe.FindStringSubmatch(ver)
		if m == nil {
			d.diags = append(d.diags, invalidValueDiag("nomad_version",
				fmt.Sprintf("%q is not a version; write the target cluster's Nomad version as \"1.6\" or \"1.8.2\".", ver), a["nomad_version"].Expr.Range()))
		} else {
			s.NomadVersion.Major, _ = strconv.Atoi(m[1])
			s.NomadVersion.Minor, _ = strconv.Atoi(m[2])
			if !s.NomadVersion.AtLeast(1, 6) {
				d.diags = append(d.diags, invalidValueDiag("nomad_version",
					"stackctl supports Nomad 1.6 and later.", a["nomad_version"].Expr.Range()))
			}
		}
	}
	for i, sb := range content.Blocks {
		if i > 0 {
			d.diags = append(d.diags, errorDiag("Duplicate sidecar block", "Give the sidecar settings once.", rangePtr(sb.DefRange)))
			continue
		}
		sc, dd := sb.Body.Content(sidecarSchema)
		d.diags = append(d.diags, dd...)
		if d.str(sc.Attributes["kind"], &s.Sidecar.Kind) {
			if s.Sidecar.Kind != SidecarEnvoy && s.Sidecar.Kind != SidecarBuiltin {
				d.diags = append(d.diags, invalidValueDiag("sidecar kind",
					fmt.Sprintf("kind must be %s.%s", oneOf([]string{SidecarEnvoy, SidecarBuiltin}),
						didYouMean(s.Sidecar.Kind, []string{SidecarEnvoy, SidecarBuiltin})), sc.Attributes["kind"].Expr.Range()))
			}
		}
		d.str(sc.Attributes["image"], &s.Sidecar.Image)
		if a := sc.Attributes["consul_binary"]; a != nil {
			d.diags = append(d.diags, errorDiag("Unsupported argument: consul_binary",
				"The built-in proxy no longer runs as a process on the node (raw_exec): it runs in a container, "+
					"so that deployers can be refused every driver but docker. Remove consul_binary; "+
					"`image` names the image holding consul (default \""+DefaultSettings().Sidecar.Image+"\", built by `stackctl dev install`).",
				rangePtr(a.NameRange)))
		}
		d.str(sc.Attributes["consul_http_addr"], &s.Sidecar.ConsulHTTPAddr)
		d.integer(sc.Attributes["cpu"], &s.Sidecar.CPU, 10, 100000)
		d.integer(sc.Attributes["memory"], &s.Sidecar.Memory, 16, 1<<20)
	}
	return s, d.diags
}
