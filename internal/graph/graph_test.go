package graph

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stackctl/stackctl/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadJobs(t *testing.T) *spec.Stack {
	t.Helper()
	st, diags := spec.NewParser(spec.OSFS{}).Load([]string{filepath.Join("..", "..", "jobs")}, spec.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return st
}

// fakeCluster is a cluster where orders is down to 0 healthy, kv is not
// running, the intention web -> api is missing and billing (not in the
// stack) may call kv: every kind of drift --live must show.
type fakeCluster struct{}

func (fakeCluster) Instances(s string) (Instances, bool) {
	switch s {
	case "kv":
		return Instances{}, false
	case "orders":
		return Instances{Running: 1, Desired: 1, Healthy: 0}, true
	}
	return Instances{Running: 2, Desired: 2, Healthy: 2}, true
}

func (fakeCluster) AllowedSources(dst string) []string {
	return map[string][]string{
		"web":    {"traefik"},
		"api":    {"traefik"},
		"orders": {"traefik", "api"},
		"kv":     {"api", "orders", "billing"},
	}[dst]
}

func TestBuild(t *testing.T) {
	g := Build(loadJobs(t))
	var got []string
	for _, n := range g.Nodes {
		got = append(got, n.ID+"="+string(n.Exposure))
	}
	want := "entrypoint_public=,entrypoint_internal=,api=public,kv=mesh only,orders=internal,web=public"
	if strings.Join(got, ",") != want {
		t.Errorf("nodes %s, want %s", strings.Join(got, ","), want)
	}
	var edges []string
	for _, e := range g.Edges {
		edges = append(edges, e.From+"->"+e.To)
	}
	want = "entrypoint_internal->orders,entrypoint_public->api,entrypoint_public->web,api->kv,api->orders,orders->kv,web->api"
	if strings.Join(edges, ",") != want {
		t.Errorf("edges %s, want %s", strings.Join(edges, ","), want)
	}
}

func TestObserve(t *testing.T) {
	g := Build(loadJobs(t))
	g.Observe(fakeCluster{})
	states := map[string]EdgeState{}
	for _, e := range g.Edges {
		states[e.From+"->"+e.To] = e.State
	}
	for edge, want := range map[string]EdgeState{
		"web->api": Denied, "api->kv": Allowed, "api->orders": Allowed, "orders->kv": Allowed,
		"entrypoint_public->web": Allowed, "external_billing->kv": Undeclared,
	} {
		if got, ok := states[edge]; !ok || got != want {
			t.Errorf("%s: state %v (present %v), want %v", edge, got, ok, want)
		}
	}
	if n := g.Node("kv"); n == nil || !n.Absent {
		t.Error("kv should be absent")
	}
	if n := g.Node("orders"); n == nil || n.Live == nil || n.Live.Healthy != 0 {
		t.Error("orders should be observed with 0 healthy")
	}
}

// TestGolden keeps the DOT and Mermaid text of the example, static and
// live, byte for byte; writing twice gives the same bytes.
func TestGolden(t *testing.T) {
	for _, live := range []bool{false, true} {
		g := Build(loadJobs(t))
		name := "shop"
		if live {
			g.Observe(fakeCluster{})
			name = "shop-live"
		}
		for ext, write := range map[string]func(*bytes.Buffer, *Graph) error{
			".dot": func(b *bytes.Buffer, g *Graph) error { return DOT(b, g) },
			".mmd": func(b *bytes.Buffer, g *Graph) error { return Mermaid(b, g) },
		} {
			var a, b bytes.Buffer
			if err := write(&a, g); err != nil {
				t.Fatal(err)
			}
			if err := write(&b, g); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("%s%s: not deterministic", name, ext)
			}
			golden(t, filepath.Join("testdata", name+ext), a.Bytes())
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update, then review the diff):\n%s", path, got)
	}
}

// svgGroup is a <g class="node|edge"> of the SVG: titled with the node ID
// or "from->to", holding the label's text.
type svgGroup struct {
	Class string   `xml:"class,attr"`
	Title string   `xml:"title"`
	Texts []string `xml:"text"`
}

// svgGroups parses the SVG with encoding/xml and returns its groups.
func svgGroups(t *testing.T, b []byte) []svgGroup {
	t.Helper()
	var out []svgGroup
	dec := xml.NewDecoder(bytes.NewReader(b))
	sawSVG := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "svg" {
			sawSVG = true
		}
		if se.Name.Local == "g" {
			var g svgGroup
			if err := dec.DecodeElement(&g, &se); err != nil {
				t.Fatalf("SVG group does not parse: %v", err)
			}
			out = append(out, g)
		}
	}
	if !sawSVG {
		t.Fatal("no <svg> element")
	}
	return out
}

// TestSVG parses the SVG and finds every node and every edge of the
// graph in it, for the static and the live picture.
func TestSVG(t *testing.T) {
	for _, live := range []bool{false, true} {
		g := Build(loadJobs(t))
		if live {
			g.Observe(fakeCluster{})
		}
		var out bytes.Buffer
		if err := SVG(&out, g); err != nil {
			t.Fatal(err)
		}
		nodes, edges := map[string]string{}, map[string]bool{}
		for _, grp := range svgGroups(t, out.Bytes()) {
			switch grp.Class {
			case "node":
				nodes[grp.Title] = strings.Join(grp.Texts, " ")
			case "edge":
				edges[grp.Title] = true
			}
		}
		for _, n := range g.Nodes {
			text, ok := nodes[n.ID]
			if !ok {
				t.Errorf("live=%v: node %s missing from the SVG (has %v)", live, n.ID, keys(nodes))
				continue
			}
			if !strings.Contains(text, n.Name) {
				t.Errorf("live=%v: node %s labelled %q", live, n.ID, text)
			}
		}
		for _, e := range g.Edges {
			if !edges[e.From+"->"+e.To] {
				t.Errorf("live=%v: edge %s->%s missing from the SVG", live, e.From, e.To)
			}
		}
		if len(nodes) != len(g.Nodes) || len(edges) != len(g.Edges) {
			t.Errorf("live=%v: SVG has %d nodes and %d edges, the graph %d and %d", live, len(nodes), len(edges), len(g.Nodes), len(g.Edges))
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestExamplePicture keeps the example system's picture in the docs true
// to the code and to jobs/: `make graph-docs` redraws it.
func TestExamplePicture(t *testing.T) {
	g := Build(loadJobs(t))
	base := filepath.Join("..", "..", "docs", "images", "example-system")
	var dot, mmd, svg bytes.Buffer
	if err := DOT(&dot, g); err != nil {
		t.Fatal(err)
	}
	if err := Mermaid(&mmd, g); err != nil {
		t.Fatal(err)
	}
	if err := SVG(&svg, g); err != nil {
		t.Fatal(err)
	}
	for ext, got := range map[string][]byte{".dot": dot.Bytes(), ".mmd": mmd.Bytes(), ".svg": svg.Bytes()} {
		want, err := os.ReadFile(base + ext)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s%s is stale: run make graph-docs", base, ext)
		}
	}
	md, err := os.ReadFile(filepath.Join("..", "..", "docs", "graph.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, append(append([]byte("```mermaid\n"), mmd.Bytes()...), []byte("```\n<!-- END example-system.mmd")...)) {
		t.Error("the Mermaid block in docs/graph.md is stale: run make graph-docs")
	}
}

// TestSVGCycle lays out a stack whose calls form a cycle, with a service
// nobody calls and one reached only on the internal entrypoint: every node
// and arrow is drawn, at finite coordinates.
func TestSVGCycle(t *testing.T) {
	svc := func(name string, ups ...string) *spec.Service {
		s := &spec.Service{Name: name, Replicas: 1}
		for _, u := range ups {
			s.Upstreams = append(s.Upstreams, &spec.Upstream{Service: u})
		}
		return s
	}
	e := svc("e", "a")
	e.Exposes = []*spec.Expose{{Entrypoint: spec.EntrypointInternal, Host: "e.example.com"}}
	st := &spec.Stack{Settings: spec.Settings{Name: "loop"}, Services: []*spec.Service{
		svc("a", "b"), svc("b", "c"), svc("c", "a"), svc("d"), e,
	}}
	g := Build(st)
	var out bytes.Buffer
	if err := SVG(&out, g); err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("SVG_OUT"); p != "" {
		_ = os.WriteFile(p, out.Bytes(), 0o644)
	}
	if bytes.Contains(out.Bytes(), []byte("NaN")) || bytes.Contains(out.Bytes(), []byte("Inf")) {
		t.Fatalf("non-finite coordinates:\n%s", out.String())
	}
	nodes, edges := 0, 0
	for _, grp := range svgGroups(t, out.Bytes()) {
		switch grp.Class {
		case "node":
			nodes++
		case "edge":
			edges++
		}
	}
	if nodes != len(g.Nodes) || edges != len(g.Edges) || edges != 5 {
		t.Errorf("SVG has %d nodes and %d edges, the graph %d and %d", nodes, edges, len(g.Nodes), len(g.Edges))
	}
}
