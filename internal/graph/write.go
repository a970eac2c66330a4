package graph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// style is how a node or an arrow looks; DOT and Mermaid share it so the
// two pictures agree.
type style struct{ fill, stroke string }

var (
	exposureStyle = map[Exposure]style{
		Public:   {"#dbeafe", "#1d4ed8"},
		Internal: {"#fef3c7", "#b45309"},
		MeshOnly: {"#f1f5f9", "#475569"},
	}
	entrypointStyle = style{"#e0e7ff", "#4338ca"}
	externalStyle   = style{"#fee2e2", "#b91c1c"}
	stateColor      = map[EdgeState]string{Declared: "#475569", Allowed: "#15803d", Denied: "#dc2626", Undeclared: "#ea580c"}
	stateNote       = map[EdgeState]string{Denied: "denied by intentions", Undeclared: "allowed, not declared"}
)

// style colours a node by kind and exposure; --live outlines a service red
// when it has fewer healthy instances than desired or does not run.
func (n *Node) style() style {
	switch n.Kind {
	case Entrypoint:
		return entrypointStyle
	case External:
		return externalStyle
	}
	if n.Absent || (n.Live != nil && n.Live.Healthy < n.Live.Desired) {
		return style{exposureStyle[n.Exposure].fill, "#dc2626"}
	}
	return exposureStyle[n.Exposure]
}

// lines is the node's label, one element per line.
func (n *Node) lines() []string {
	switch n.Kind {
	case Entrypoint:
		switch n.Name {
		case "internal":
			return []string{"internal", "(loopback)"}
		case "traefik":
			return []string{"traefik", "(no expose block)"}
		}
		return []string{n.Name}
	case External:
		return []string{n.Name, "(not in the stack)"}
	}
	out := []string{n.Name, fmt.Sprintf("%s · %s", n.Exposure, n.Count)}
	switch {
	case n.Absent:
		out = append(out, "not running")
	case n.Live != nil:
		out = append(out, fmt.Sprintf("%d/%d healthy", n.Live.Healthy, n.Live.Desired))
	}
	return out
}

// label is an arrow's text: the route, and with --live what is wrong.
func (e *Edge) label() string {
	parts := []string{}
	if e.Label != "" {
		parts = append(parts, e.Label)
	}
	if note := stateNote[e.State]; note != "" {
		parts = append(parts, note)
	}
	return strings.Join(parts, " · ")
}

// split separates the edge's nodes, drawn in a box, from the others.
func (g *Graph) split() (edge, rest []*Node) {
	for _, n := range g.Nodes {
		if n.Kind == Entrypoint {
			edge = append(edge, n)
		} else {
			rest = append(rest, n)
		}
	}
	return edge, rest
}

// DOT writes the graph in Graphviz's language: left to right, the edge's
// entrypoints in a dashed cluster, services coloured by exposure.
func DOT(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "// Stack %q: services, the calls between them and the routes into the stack.\n", g.Stack)
	fmt.Fprintf(bw, "// Drawn by stackctl graph from the descriptors")
	if g.Live {
		fmt.Fprintf(bw, " and the cluster (--live)")
	}
	fmt.Fprintf(bw, ".\ndigraph %s {\n", dotID(g.Stack))
	fmt.Fprintf(bw, "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.35, ranksep=0.8, label=%s, labelloc=t];\n", dotID("stack "+g.Stack))
	fmt.Fprintf(bw, "  node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded,filled\", penwidth=1.3];\n")
	fmt.Fprintf(bw, "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#475569\", fontcolor=\"#334155\"];\n")

	edge, rest := g.split()
	if len(edge) > 0 {
		fmt.Fprintf(bw, "\n  subgraph cluster_edge {\n")
		fmt.Fprintf(bw, "    label=\"edge (Traefik)\"; style=\"dashed,rounded\"; color=\"#94a3b8\"; fontcolor=\"#475569\";\n")
		for _, n := range edge {
			st := n.style()
			fmt.Fprintf(bw, "    %s [label=%s, shape=cds, margin=\"0.2,0.06\", fillcolor=%q, color=%q];\n", dotID(n.ID), dotID(strings.Join(n.lines(), "\n")), st.fill, st.stroke)
		}
		fmt.Fprintf(bw, "  }\n")
	}
	fmt.Fprintln(bw)
	for _, n := range rest {
		st := n.style()
		fmt.Fprintf(bw, "  %s [label=%s, fillcolor=%q, color=%q];\n", dotID(n.ID), dotID(strings.Join(n.lines(), "\n")), st.fill, st.stroke)
	}
	fmt.Fprintln(bw)
	for _, e := range g.Edges {
		attrs := []string{}
		if l := e.label(); l != "" {
			attrs = append(attrs, "label="+dotID(l))
		}
		if e.State != Declared {
			attrs = append(attrs, fmt.Sprintf("color=%q", stateColor[e.State]))
		}
		switch e.State {
		case Denied:
			attrs = append(attrs, "style=dashed")
		case Undeclared:
			attrs = append(attrs, "style=dotted")
		}
		if e.Route && e.State == Declared {
			attrs = append(attrs, fmt.Sprintf("color=%q", entrypointStyle.stroke))
		}
		a := ""
		if len(attrs) > 0 {
			a = " [" + strings.Join(attrs, ", ") + "]"
		}
		fmt.Fprintf(bw, "  %s -> %s%s;\n", dotID(e.From), dotID(e.To), a)
	}
	fmt.Fprintf(bw, "}\n")
	return bw.Flush()
}

// dotID quotes a DOT identifier or label; "\n" becomes a line break.
func dotID(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Mermaid writes the graph as a Mermaid flowchart, which GitHub, GitLab
// and most wikis render from a ```mermaid block.
func Mermaid(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%%%% Stack %q drawn by stackctl graph from the descriptors", g.Stack)
	if g.Live {
		fmt.Fprintf(bw, " and the cluster (--live)")
	}
	fmt.Fprintf(bw, ".\nflowchart LR\n")
	edge, rest := g.split()
	if len(edge) > 0 {
		fmt.Fprintf(bw, "  subgraph edge [\"edge (Traefik)\"]\n")
		for _, n := range edge {
			fmt.Fprintf(bw, "    %s>%s]\n", mermaidID(n.ID), mermaidText(strings.Join(n.lines(), "<br/>")))
		}
		fmt.Fprintf(bw, "  end\n")
	}
	for _, n := range rest {
		fmt.Fprintf(bw, "  %s[%s]\n", mermaidID(n.ID), mermaidText(strings.Join(n.lines(), "<br/>")))
	}
	var linkStyles []string
	for i, e := range g.Edges {
		arrow := "-->"
		switch e.State {
		case Denied, Undeclared:
			arrow = "-.->"
		}
		if l := e.label(); l != "" {
			fmt.Fprintf(bw, "  %s %s|%s| %s\n", mermaidID(e.From), arrow, mermaidText(l), mermaidID(e.To))
		} else {
			fmt.Fprintf(bw, "  %s %s %s\n", mermaidID(e.From), arrow, mermaidID(e.To))
		}
		if e.State != Declared {
			linkStyles = append(linkStyles, fmt.Sprintf("  linkStyle %d stroke:%s", i, stateColor[e.State]))
		}
	}
	classes := map[string][]string{}
	for _, n := range g.Nodes {
		cls := "mesh"
		switch {
		case n.Kind == Entrypoint:
			cls = "entrypoint"
		case n.Kind == External:
			cls = "external"
		case n.Absent || (n.Live != nil && n.Live.Healthy < n.Live.Desired):
			cls = "unhealthy"
		case n.Exposure == Public:
			cls = "public"
		case n.Exposure == Internal:
			cls = "internal"
		}
		classes[cls] = append(classes[cls], mermaidID(n.ID))
	}
	defs := []struct {
		name string
		st   style
	}{
		{"public", exposureStyle[Public]}, {"internal", exposureStyle[Internal]}, {"mesh", exposureStyle[MeshOnly]},
		{"entrypoint", entrypointStyle}, {"external", externalStyle}, {"unhealthy", style{"#fee2e2", "#dc2626"}},
	}
	for _, d := range defs {
		if len(classes[d.name]) == 0 {
			continue
		}
		fmt.Fprintf(bw, "  classDef %s fill:%s,stroke:%s,color:#0f172a\n", d.name, d.st.fill, d.st.stroke)
		fmt.Fprintf(bw, "  class %s %s\n", strings.Join(classes[d.name], ","), d.name)
	}
	for _, l := range linkStyles {
		fmt.Fprintln(bw, l)
	}
	return bw.Flush()
}

// mermaidID makes a node ID Mermaid accepts (service names hold dashes,
// which Mermaid reads as arrows in some positions).
func mermaidID(id string) string {
	return "n_" + strings.ReplaceAll(id, "-", "_")
}

// mermaidText quotes a label; Mermaid takes entity codes for the
// characters that end a label.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "|", "#124;", "[", "#91;", "]", "#93;")
	return `"` + r.Replace(s) + `"`
}
