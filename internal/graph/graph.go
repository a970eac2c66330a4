// Package graph draws a stack as a picture: its services as nodes marked
// public, internal or mesh-only, the upstreams between them as arrows, and
// the edge (Traefik's entrypoints) with the routes into the stack. It is
// built from a validated spec.Stack, not from rendered files, so the
// picture shows what the descriptors declare.
//
// Build makes the model; Observe adds what a running cluster reports
// (instance counts, health, and which arrows the intentions allow), so a
// drift between descriptors and cluster shows; DOT, Mermaid and SVG write
// it. The SVG is laid out here (svg.go), so no Graphviz install is needed.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stackctl/stackctl/internal/spec"
)

// Exposure says from where a service can be reached.
type Exposure string

// Exposures, from the widest.
const (
	Public   Exposure = "public"    // through the public entrypoint
	Internal Exposure = "internal"  // through the internal entrypoint only (loopback on the edge)
	MeshOnly Exposure = "mesh only" // by its declared callers only
)

// Kind tells services from the edge's nodes.
type Kind int

// Node kinds.
const (
	Service    Kind = iota
	Entrypoint      // a Traefik entrypoint
	External        // a caller the cluster allows that the stack does not declare (--live)
)

// Node is a box in the picture.
type Node struct {
	ID       string // unique, usable as a DOT and Mermaid identifier
	Name     string
	Kind     Kind
	Exposure Exposure // services only
	Count    string   // "2 instances", or "1-4 autoscaled"
	Live     *Instances
	Absent   bool // --live: the cluster does not run it
}

// EdgeState is what the cluster says about an arrow; without --live every
// arrow is Declared.
type EdgeState int

// Edge states.
const (
	Declared   EdgeState = iota // in the descriptors; the cluster was not asked
	Allowed                     // declared, and the intentions allow it
	Denied                      // declared, but the intentions deny it: drift
	Undeclared                  // allowed by the intentions, not declared: drift
)

// Edge is an arrow: a call through the mesh, or a route from an entrypoint.
type Edge struct {
	From, To string // node IDs
	Route    bool   // from an entrypoint
	Label    string // routes: host and path
	State    EdgeState
}

// Graph is the picture's model, in a deterministic order: entrypoints,
// then services by name; edges by source and destination.
type Graph struct {
	Stack string
	Nodes []*Node
	Edges []*Edge
	Live  bool // Observe was called
}

// Node returns the node with id, or nil.
func (g *Graph) Node(id string) *Node {
	for _, n := range g.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// EntrypointID is the node ID of a Traefik entrypoint.
func EntrypointID(entrypoint string) string { return "entrypoint_" + entrypoint }

// Build makes the graph of a validated stack.
func Build(st *spec.Stack) *Graph {
	g := &Graph{Stack: st.Settings.Name}
	used := map[string]bool{}
	for _, s := range st.Services {
		for _, e := range s.Exposes {
			used[e.Entrypoint] = true
		}
	}
	for _, ep := range []string{spec.EntrypointPublic, spec.EntrypointInternal} {
		if used[ep] {
			g.Nodes = append(g.Nodes, &Node{ID: EntrypointID(ep), Name: ep, Kind: Entrypoint})
		}
	}
	for _, s := range st.Services {
		n := &Node{ID: s.Name, Name: s.Name, Kind: Service, Exposure: MeshOnly, Count: fmt.Sprintf("%d instances", s.Replicas)}
		switch {
		case s.Autoscale != nil:
			n.Count = fmt.Sprintf("%d-%d autoscaled", s.Autoscale.Min, s.Autoscale.Max)
		case s.Replicas == 1:
			n.Count = "1 instance"
		}
		for _, e := range s.Exposes {
			switch {
			case e.Entrypoint == spec.EntrypointPublic:
				n.Exposure = Public
			case e.Entrypoint == spec.EntrypointInternal && n.Exposure == MeshOnly:
				n.Exposure = Internal
			}
			g.Edges = append(g.Edges, &Edge{From: EntrypointID(e.Entrypoint), To: s.Name, Route: true, Label: e.Host + e.PathPrefix})
		}
		for _, u := range s.Upstreams {
			g.Edges = append(g.Edges, &Edge{From: s.Name, To: u.Service})
		}
		g.Nodes = append(g.Nodes, n)
	}
	g.sortEdges()
	return g
}

// sortEdges orders routes first, then by source and destination, so that
// every format lists the arrows the same way.
func (g *Graph) sortEdges() {
	sort.SliceStable(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.Route != b.Route {
			return a.Route
		}
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Label < b.Label
	})
}

// Instances is what runs of a service.
type Instances struct {
	Running, Desired, Healthy int
}

// Cluster is what `graph --live` reads from a running cluster: the
// allocations Nomad reports and the intentions Consul enforces. The CLI
// implements it over the cluster clients; tests use a fake.
type Cluster interface {
	// Instances reports a service's allocations; ok is false when the
	// cluster does not run the service.
	Instances(service string) (inst Instances, ok bool)
	// AllowedSources lists the services Consul's intentions allow to call
	// destination ("traefik" is the edge).
	AllowedSources(destination string) []string
}

// TraefikSource is the Consul service name of the edge in intentions.
const TraefikSource = "traefik"

// Observe annotates the graph with the cluster's view: counts and health
// on the services, and on every arrow whether the intentions allow it.
// Calls the intentions allow but the descriptors do not declare are added
// as Undeclared arrows.
func (g *Graph) Observe(c Cluster) {
	g.Live = true
	declared := map[[2]string]bool{}
	for _, e := range g.Edges {
		declared[[2]string{e.From, e.To}] = true
	}
	var services []*Node
	for _, n := range g.Nodes {
		if n.Kind == Service {
			services = append(services, n)
		}
	}
	for _, n := range services {
		if inst, ok := c.Instances(n.Name); ok {
			n.Live = &inst
		} else {
			n.Absent = true
		}
		allowed := map[string]bool{}
		sources := c.AllowedSources(n.Name)
		for _, src := range sources {
			allowed[src] = true
		}
		for _, e := range g.Edges {
			if e.To != n.ID {
				continue
			}
			src := e.From
			if e.Route {
				src = TraefikSource
			}
			if allowed[src] {
				e.State = Allowed
			} else {
				e.State = Denied
			}
		}
		for _, src := range sources {
			from := src
			if src == TraefikSource {
				if g.routed(n.ID) {
					continue
				}
				from = EntrypointID("edge")
				if g.Node(from) == nil {
					g.Nodes = append(g.Nodes, &Node{ID: from, Name: "traefik", Kind: Entrypoint})
				}
			} else if g.Node(src) == nil || g.Node(src).Kind != Service {
				from = "external_" + strings.NewReplacer("*", "any", "/", "_").Replace(src)
				if g.Node(from) == nil {
					g.Nodes = append(g.Nodes, &Node{ID: from, Name: src, Kind: External})
				}
			}
			if !declared[[2]string{from, n.ID}] {
				declared[[2]string{from, n.ID}] = true
				g.Edges = append(g.Edges, &Edge{From: from, To: n.ID, Route: src == TraefikSource, State: Undeclared})
			}
		}
	}
	g.sortEdges()
}

// routed reports whether some entrypoint routes to the node.
func (g *Graph) routed(id string) bool {
	for _, e := range g.Edges {
		if e.Route && e.To == id && e.State != Undeclared {
			return true
		}
	}
	return false
}
