package composeimport

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/stackctl/stackctl/internal/render"
)

// descriptor is one service as it will be written: the subset of the
// descriptor language an import can fill, in the order the file shows it.
type descriptor struct {
	Name     string // the stackctl service name (a DNS label)
	Compose  string // the compose service it came from
	Image    string // a literal image, or "" when ImageVar is set
	ImageVar string // a variable in stack.hcl holding a placeholder image
	Command  string
	Args     []string
	Replicas *int

	Ports     []*port
	Resources *resources
	Health    *health
	Env       []*envVar
	Secrets   []*secretRef
	Upstreams []*upstream
	Exposes   []*expose
	Notes     []string // comment lines at the top: what the import changed or could not carry
}

type port struct {
	Name      string
	Container int
	Protocol  string // "http" or "tcp"
}

type resources struct{ CPU, Memory, MemoryMax int }

type health struct {
	Path              string
	Port              string // "" for the mesh port
	Interval, Timeout time.Duration
}

type envVar struct {
	Name, Value string
	Note        string // a trailing comment, e.g. the compose value it replaces
}

type secretRef struct{ Env, Path, Key string }

type upstream struct {
	Service   string
	LocalPort int
	Env       string // "" for the default <NAME>_ADDR
	Why       []string
}

type expose struct {
	Entrypoint   string
	Host         string
	PathPrefix   string
	StripPrefix  bool
	TLS          bool
	CertResolver string
	Router       string
}

// stackFile is stack.hcl: the stack block and the variables the
// descriptors use.
type stackFile struct {
	Name    string
	Domain  string
	Sources []string // compose files, for the header comment
	Images  []imageVar
}

type imageVar struct {
	Name, Default, Description string
}

// writeDescriptor renders one service with hclwrite; the bytes are
// already in `stackctl fmt` style (hclwrite.Format is applied last).
func writeDescriptor(d *descriptor) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	comment(root, fmt.Sprintf("Imported from compose service %q by stackctl import compose.", d.Compose))
	for _, n := range d.Notes {
		comment(root, n)
	}
	svc := root.AppendNewBlock("service", []string{d.Name}).Body()
	if d.ImageVar != "" {
		svc.SetAttributeTraversal("image", hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: d.ImageVar}})
	} else {
		svc.SetAttributeValue("image", cty.StringVal(d.Image))
	}
	if d.Command != "" {
		svc.SetAttributeValue("command", cty.StringVal(d.Command))
	}
	if len(d.Args) > 0 {
		svc.SetAttributeValue("args", stringList(d.Args))
	}
	if d.Replicas != nil {
		svc.SetAttributeValue("replicas", cty.NumberIntVal(int64(*d.Replicas)))
	}
	for _, p := range d.Ports {
		svc.AppendNewline()
		b := svc.AppendNewBlock("port", []string{p.Name}).Body()
		b.SetAttributeValue("container_port", cty.NumberIntVal(int64(p.Container)))
		if p.Protocol != "http" {
			b.SetAttributeValue("protocol", cty.StringVal(p.Protocol))
		}
	}
	if r := d.Resources; r != nil {
		svc.AppendNewline()
		b := svc.AppendNewBlock("resources", nil).Body()
		setInt(b, "cpu", r.CPU)
		setInt(b, "memory", r.Memory)
		setInt(b, "memory_max", r.MemoryMax)
	}
	if h := d.Health; h != nil {
		svc.AppendNewline()
		b := svc.AppendNewBlock("health", nil).Body()
		b.SetAttributeValue("path", cty.StringVal(h.Path))
		if h.Port != "" {
			b.SetAttributeValue("port", cty.StringVal(h.Port))
		}
		if h.Interval > 0 {
			b.SetAttributeValue("interval", cty.StringVal(render.Duration(h.Interval)))
		}
		if h.Timeout > 0 {
			b.SetAttributeValue("timeout", cty.StringVal(render.Duration(h.Timeout)))
		}
	}
	if len(d.Env) > 0 {
		svc.AppendNewline()
		svc.SetAttributeRaw("env", envTokens(d.Env))
	}
	secrets := append([]*secretRef(nil), d.Secrets...)
	sort.Slice(secrets, func(i, j int) bool { return secrets[i].Env < secrets[j].Env })
	for _, s := range secrets {
		svc.AppendNewline()
		b := svc.AppendNewBlock("secret", []string{s.Env}).Body()
		b.SetAttributeValue("path", cty.StringVal(s.Path))
		b.SetAttributeValue("key", cty.StringVal(s.Key))
	}
	for _, u := range d.Upstreams {
		svc.AppendNewline()
		if len(u.Why) > 0 {
			comment(svc, "From "+strings.Join(u.Why, ", ")+".")
		}
		b := svc.AppendNewBlock("upstream", []string{u.Service}).Body()
		b.SetAttributeValue("local_port", cty.NumberIntVal(int64(u.LocalPort)))
		if u.Env != "" {
			b.SetAttributeValue("env", cty.StringVal(u.Env))
		}
	}
	for _, e := range d.Exposes {
		svc.AppendNewline()
		b := svc.AppendNewBlock("expose", []string{e.Entrypoint}).Body()
		if e.Host != "" {
			b.SetAttributeValue("host", cty.StringVal(e.Host))
		}
		if e.PathPrefix != "" {
			b.SetAttributeValue("path_prefix", cty.StringVal(e.PathPrefix))
		}
		if e.StripPrefix {
			b.SetAttributeValue("strip_prefix", cty.True)
		}
		if e.TLS {
			b.SetAttributeValue("tls", cty.True)
		}
		if e.CertResolver != "" {
			b.SetAttributeValue("cert_resolver", cty.StringVal(e.CertResolver))
		}
		if e.Router != "" {
			b.SetAttributeValue("router", cty.StringVal(e.Router))
		}
	}
	return hclwrite.Format(f.Bytes())
}

// writeStack renders stack.hcl. The sidecar is a variable, as in jobs/:
// Envoy by default, `-var sidecar=builtin` where Envoy is not installed
// (the dev stack).
func writeStack(s *stackFile) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	comment(root, fmt.Sprintf("Imported from %s by stackctl import compose.", strings.Join(s.Sources, ", ")))
	st := root.AppendNewBlock("stack", nil).Body()
	st.SetAttributeValue("name", cty.StringVal(s.Name))
	st.SetAttributeValue("domain", cty.StringVal(s.Domain))
	st.AppendNewline()
	sc := st.AppendNewBlock("sidecar", nil).Body()
	sc.SetAttributeTraversal("kind", hcl.Traversal{hcl.TraverseRoot{Name: "var"}, hcl.TraverseAttr{Name: "sidecar"}})

	root.AppendNewline()
	variable(root, "sidecar", "envoy", "Connect sidecar: envoy, or builtin (Consul's built-in proxy) where Envoy is not installed, as on the dev stack.")
	for _, iv := range s.Images {
		root.AppendNewline()
		variable(root, iv.Name, iv.Default, iv.Description)
	}
	return hclwrite.Format(f.Bytes())
}

// variable declares a string variable with a default, so the stack
// validates as written and a flag can override it.
func variable(root *hclwrite.Body, name, def, desc string) {
	b := root.AppendNewBlock("variable", []string{name}).Body()
	b.SetAttributeRaw("type", hclwrite.Tokens{{Type: hclsyntax.TokenIdent, Bytes: []byte("string")}})
	b.SetAttributeValue("default", cty.StringVal(def))
	b.SetAttributeValue("description", cty.StringVal(desc))
}

// envTokens writes env as an object with one key per line in name order,
// each with its note as a trailing comment. Keys that are not identifiers
// are quoted.
func envTokens(env []*envVar) hclwrite.Tokens {
	sorted := append([]*envVar(nil), env...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	toks := hclwrite.Tokens{
		{Type: hclsyntax.TokenOBrace, Bytes: []byte("{")},
		{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")},
	}
	for _, e := range sorted {
		if hclsyntax.ValidIdentifier(e.Name) {
			toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenIdent, Bytes: []byte(e.Name)})
		} else {
			toks = append(toks, hclwrite.TokensForValue(cty.StringVal(e.Name))...)
		}
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenEqual, Bytes: []byte("=")})
		toks = append(toks, hclwrite.TokensForValue(cty.StringVal(e.Value))...)
		if e.Note != "" {
			toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + oneLine(e.Note) + "\n")})
		} else {
			toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
		}
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrace, Bytes: []byte("}")})
}

func comment(b *hclwrite.Body, text string) {
	b.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + oneLine(text) + "\n")}})
}

// oneLine keeps a comment on its line whatever the text holds, and
// keeps control characters out of the file (it may well be read with cat).
func oneLine(s string) string {
	return printable(strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s))
}

func stringList(v []string) cty.Value {
	vals := make([]cty.Value, len(v))
	for i, s := range v {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

// setInt writes a positive number; zero means unset.
func setInt(b *hclwrite.Body, name string, v int) {
	if v > 0 {
		b.SetAttributeValue(name, cty.NumberIntVal(int64(v)))
	}
}
