package graph

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"
)

// SVG is laid out here, not by Graphviz: go-graphviz (Graphviz compiled to
// WebAssembly) instantiates its module in the init of every process that
// links it, which cost each stackctl command ~0.1 s (about 1 s with a cold
// cache in $TMPDIR) and 9.5 MB of binary (docs/graph.md has the numbers).
// A stack is a small layered graph, so a compact Sugiyama-style layout
// does: break cycles, assign layers left to right, insert waypoints on
// long arrows, order each layer by barycenters to reduce crossings, then
// place and draw. Like Graphviz's SVG, every node and arrow is a
// <g class="node|edge"> titled with its ID or "from->to".

const (
	fontSize    = 11.0
	charWidth   = 6.6 // Helvetica at 11 px, averaged and rounded up
	lineHeight  = 14.0
	padX, padY  = 12.0, 8.0
	nodeGap     = 22.0 // between nodes of a layer
	minLayerGap = 70.0 // between layers, widened for arrow labels
	margin      = 16.0
	titleHeight = 28.0
)

type lnode struct {
	id      string
	node    *Node // nil for a waypoint
	lines   []string
	layer   int
	pos     float64 // order within the layer, as a sortable key
	w, h    float64
	x, y    float64 // centre
	in, out []*lnode
}

type ledge struct {
	edge     *Edge
	points   []*lnode // from the source to the target, waypoints between
	reversed bool     // drawn against the layering (a cycle)
	labelAt  *lnode   // the waypoint holding the label; nil: at the end
	y0, y1   float64  // where the arrow leaves its first box and enters its last
}

type layout struct {
	nodes  map[string]*lnode
	layers [][]*lnode
	edges  []*ledge
	width  float64
	height float64
}

func textWidth(s string) float64 { return float64(len([]rune(s))) * charWidth }

// newLayout lays the graph out; the result depends on nothing but g.
func newLayout(g *Graph) *layout {
	l := &layout{nodes: map[string]*lnode{}}
	var order []*lnode
	for _, n := range g.Nodes {
		ln := &lnode{id: n.ID, node: n, lines: n.lines()}
		for _, s := range ln.lines {
			ln.w = math.Max(ln.w, textWidth(s))
		}
		ln.w += 2 * padX
		if n.Kind == Entrypoint {
			ln.w += 10 // the arrow tip
		}
		ln.h = float64(len(ln.lines))*lineHeight + 2*padY
		l.nodes[n.ID] = ln
		order = append(order, ln)
	}
	l.assignLayers(g, order)
	l.orderLayers()
	l.place(g)
	return l
}

// assignLayers puts entrypoints in layer 0 and every other node one layer
// right of its furthest caller, after reversing the arrows that close a
// cycle (found by a depth-first search in node order).
func (l *layout) assignLayers(g *Graph, order []*lnode) {
	succ := map[string][]string{}
	for _, e := range g.Edges {
		succ[e.From] = append(succ[e.From], e.To)
	}
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	back := map[[2]string]bool{}
	var visit func(id string)
	visit = func(id string) {
		state[id] = 1
		for _, s := range succ[id] {
			switch state[s] {
			case 0:
				visit(s)
			case 1:
				back[[2]string{id, s}] = true
			}
		}
		state[id] = 2
	}
	for _, n := range order {
		if state[n.id] == 0 {
			visit(n.id)
		}
	}
	pred := map[string][]string{}
	for _, e := range g.Edges {
		from, to := e.From, e.To
		if back[[2]string{from, to}] {
			from, to = to, from
		}
		if from != to {
			pred[to] = append(pred[to], from)
		}
	}
	hasEdge := false
	for _, n := range order {
		if n.node.Kind == Entrypoint {
			hasEdge = true
		}
	}
	layer := map[string]int{}
	var depth func(id string, seen map[string]bool) int
	depth = func(id string, seen map[string]bool) int {
		if v, ok := layer[id]; ok {
			return v
		}
		if seen[id] {
			return 0
		}
		seen[id] = true
		d := 0
		if hasEdge && l.nodes[id].node.Kind != Entrypoint {
			d = 1
		}
		for _, p := range pred[id] {
			d = max(d, depth(p, seen)+1)
		}
		layer[id] = d
		return d
	}
	maxLayer := 0
	for _, n := range order {
		n.layer = depth(n.id, map[string]bool{})
		maxLayer = max(maxLayer, n.layer)
	}
	l.layers = make([][]*lnode, maxLayer+1)
	for _, n := range order {
		l.layers[n.layer] = append(l.layers[n.layer], n)
	}

	// Arrows spanning several layers pass through waypoints, one per layer,
	// so that they are routed around the nodes between.
	for i, e := range g.Edges {
		src, dst := l.nodes[e.From], l.nodes[e.To]
		le := &ledge{edge: e}
		a, b := src, dst
		if a.layer > b.layer || (a.layer == b.layer && back[[2]string{e.From, e.To}]) {
			a, b, le.reversed = dst, src, true
		}
		pts := []*lnode{a}
		for k := a.layer + 1; k < b.layer; k++ {
			wp := &lnode{id: fmt.Sprintf("wp%d_%d", i, k), layer: k, h: 4}
			if k == a.layer+1 && e.label() != "" {
				// The label sits on the first waypoint, which makes room
				// for it in the layer.
				wp.w, wp.h = textWidth(e.label())*0.9+12, 18
				le.labelAt = wp
			}
			l.layers[k] = append(l.layers[k], wp)
			pts = append(pts, wp)
		}
		pts = append(pts, b)
		for j := 0; j+1 < len(pts); j++ {
			pts[j].out = append(pts[j].out, pts[j+1])
			pts[j+1].in = append(pts[j+1].in, pts[j])
		}
		le.points = pts
		l.edges = append(l.edges, le)
	}
	for _, ly := range l.layers {
		for i, n := range ly {
			n.pos = float64(i)
		}
	}
}

// orderLayers reduces crossings: alternating sweeps sort each layer by
// the mean position of its neighbours in the layer before (or after);
// the order with the fewest crossings seen wins.
func (l *layout) orderLayers() {
	best, bestCross := l.snapshot(), l.crossings()
	for iter := 0; iter < 8 && bestCross > 0; iter++ {
		for k := 1; k < len(l.layers); k++ {
			sortByBarycenter(l.layers[k], func(n *lnode) []*lnode { return n.in })
		}
		for k := len(l.layers) - 2; k >= 0; k-- {
			sortByBarycenter(l.layers[k], func(n *lnode) []*lnode { return n.out })
		}
		if c := l.crossings(); c < bestCross {
			best, bestCross = l.snapshot(), c
		}
	}
	for k, ly := range best {
		l.layers[k] = ly
		for i, n := range ly {
			n.pos = float64(i)
		}
	}
}

// sortByBarycenter orders a layer by the mean position of each node's
// neighbours (nb), keeping the current order for ties and loners.
func sortByBarycenter(ly []*lnode, nb func(*lnode) []*lnode) {
	key := map[*lnode]float64{}
	for _, n := range ly {
		key[n] = meanOf(nb(n), n.pos, func(m *lnode) float64 { return m.pos })
	}
	sort.SliceStable(ly, func(i, j int) bool {
		if key[ly[i]] != key[ly[j]] {
			return key[ly[i]] < key[ly[j]]
		}
		return ly[i].pos < ly[j].pos
	})
	for i, n := range ly {
		n.pos = float64(i)
	}
}

// meanOf is the mean of f over ns, or def when ns is empty.
func meanOf(ns []*lnode, def float64, f func(*lnode) float64) float64 {
	if len(ns) == 0 {
		return def
	}
	sum := 0.0
	for _, m := range ns {
		sum += f(m)
	}
	return sum / float64(len(ns))
}

func (l *layout) snapshot() [][]*lnode {
	out := make([][]*lnode, len(l.layers))
	for k, ly := range l.layers {
		out[k] = append([]*lnode(nil), ly...)
	}
	return out
}

// crossings counts pairs of segments between adjacent layers that cross.
func (l *layout) crossings() int {
	n := 0
	for k := 0; k+1 < len(l.layers); k++ {
		var segs [][2]float64
		for _, a := range l.layers[k] {
			for _, b := range a.out {
				segs = append(segs, [2]float64{a.pos, b.pos})
			}
		}
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				if (segs[i][0]-segs[j][0])*(segs[i][1]-segs[j][1]) < 0 {
					n++
				}
			}
		}
	}
	return n
}

// place computes coordinates: layers left to right, each wide enough for
// its widest node, gaps wide enough for the arrow labels that end in the
// next layer; within a layer nodes move towards their neighbours without
// overlapping or changing order.
func (l *layout) place(g *Graph) {
	labelW := make([]float64, len(l.layers))
	for _, e := range l.edges {
		if t := e.edge.label(); t != "" && e.labelAt == nil {
			end := e.points[len(e.points)-1].layer
			labelW[end] = math.Max(labelW[end], textWidth(t)*0.9+24)
		}
	}
	// Layers left to right; a gap is wide enough for the labels of the
	// arrows that end right after it.
	x := margin
	for k, ly := range l.layers {
		if k > 0 {
			x += math.Max(minLayerGap, labelW[k])
		}
		w := 0.0
		for _, n := range ly {
			w = math.Max(w, n.w)
		}
		for _, n := range ly {
			n.x = x + w/2
		}
		x += w
	}
	l.width = x + margin

	// Stack each layer, then let the layers settle towards each other in
	// alternating sweeps; a few rounds are enough for stacks of this size.
	top := margin + titleHeight
	for _, ly := range l.layers {
		y := top
		for _, n := range ly {
			n.y = y + n.h/2
			y += n.h + nodeGap
		}
	}
	for iter := 0; iter < 6; iter++ {
		for k := 1; k < len(l.layers); k++ {
			l.relax(l.layers[k], func(n *lnode) []*lnode { return n.in }, top)
		}
		for k := len(l.layers) - 2; k >= 0; k-- {
			l.relax(l.layers[k], func(n *lnode) []*lnode { return n.out }, top)
		}
	}
	minTop, bottom := math.Inf(1), 0.0
	for _, ly := range l.layers {
		for _, n := range ly {
			minTop = math.Min(minTop, n.y-n.h/2)
		}
	}
	for _, ly := range l.layers {
		for _, n := range ly {
			n.y += top - minTop
			bottom = math.Max(bottom, n.y+n.h/2)
		}
	}
	l.ports()
	l.height = bottom + margin
	if g.hasEntrypoints() {
		l.height += 8 // the edge box's padding
	}
}

// relax moves a layer's nodes towards the mean height of their
// neighbours, removes overlaps keeping the order, then shifts the layer
// so that on average the nodes sit where they want to.
func (l *layout) relax(ly []*lnode, nb func(*lnode) []*lnode, top float64) {
	want := make([]float64, len(ly))
	for i, n := range ly {
		want[i] = meanOf(nb(n), n.y, func(m *lnode) float64 { return m.y })
	}
	shift := 0.0
	for i, n := range ly {
		n.y = want[i]
		if i > 0 {
			n.y = math.Max(n.y, ly[i-1].y+ly[i-1].h/2+nodeGap+n.h/2)
		}
		shift += n.y - want[i]
	}
	if len(ly) > 0 {
		shift /= float64(len(ly))
		if first := ly[0]; first.y-shift-first.h/2 < top {
			shift = first.y - first.h/2 - top
		}
		for _, n := range ly {
			n.y -= shift
		}
	}
}

// ports spreads the arrows that leave or enter the same side of a box
// over its height, in the order of the other ends, so that they neither
// share an arrowhead nor cross at the box.
func (l *layout) ports() {
	type end struct {
		e     *ledge
		other float64 // the y of the neighbouring point
		first bool    // the arrow's first box (else its last)
	}
	at := map[*lnode][]end{}
	for _, e := range l.edges {
		n := len(e.points)
		e.y0, e.y1 = e.points[0].y, e.points[n-1].y
		at[e.points[0]] = append(at[e.points[0]], end{e, e.points[1].y, true})
		at[e.points[n-1]] = append(at[e.points[n-1]], end{e, e.points[n-2].y, false})
	}
	for box, ends := range at {
		for _, first := range []bool{true, false} {
			var side []end
			for _, x := range ends {
				if x.first == first {
					side = append(side, x)
				}
			}
			if len(side) < 2 {
				continue
			}
			sort.SliceStable(side, func(i, j int) bool {
				if side[i].other != side[j].other {
					return side[i].other < side[j].other
				}
				return side[i].e.edge.From+side[i].e.edge.To < side[j].e.edge.From+side[j].e.edge.To
			})
			step := math.Min(10, (box.h-12)/float64(len(side)-1))
			for i, x := range side {
				y := box.y + (float64(i)-float64(len(side)-1)/2)*step
				if first {
					x.e.y0 = y
				} else {
					x.e.y1 = y
				}
			}
		}
	}
}

// hasEntrypoints reports whether the edge box is drawn.
func (g *Graph) hasEntrypoints() bool {
	for _, n := range g.Nodes {
		if n.Kind == Entrypoint {
			return true
		}
	}
	return false
}

// SVG writes the graph as a self-contained SVG picture.
func SVG(w io.Writer, g *Graph) error {
	l := newLayout(g)
	bw := bufio.NewWriter(w)
	f := func(v float64) string { return fmt.Sprintf("%.1f", v) }
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	fmt.Fprintf(bw, "<!-- Stack %s drawn by stackctl graph. -->\n", html.EscapeString(g.Stack))
	fmt.Fprintf(bw, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%s\" height=\"%s\" viewBox=\"0 0 %s %s\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"%g\">\n",
		f(l.width), f(l.height), f(l.width), f(l.height), fontSize)
	fmt.Fprintf(bw, "<title>stack %s</title>\n", html.EscapeString(g.Stack))
	fmt.Fprintf(bw, "<defs>\n")
	colors := []string{stateColor[Declared], entrypointStyle.stroke, stateColor[Allowed], stateColor[Denied], stateColor[Undeclared]}
	for _, c := range colors {
		fmt.Fprintf(bw, "  <marker id=\"arrow-%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,1 L9,5 L0,9 z\" fill=\"%s\"/></marker>\n", c[1:], c)
	}
	fmt.Fprintf(bw, "</defs>\n")
	fmt.Fprintf(bw, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n")
	fmt.Fprintf(bw, "<text x=\"%s\" y=\"%s\" text-anchor=\"middle\" font-size=\"13\" fill=\"#0f172a\">stack %s</text>\n", f(l.width/2), f(margin+12), html.EscapeString(g.Stack))

	// The edge: a dashed box around the entrypoints.
	var eps []*lnode
	for _, n := range l.layers[0] {
		if n.node != nil && n.node.Kind == Entrypoint {
			eps = append(eps, n)
		}
	}
	if len(eps) > 0 {
		x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, n := range eps {
			x0, y0 = math.Min(x0, n.x-n.w/2), math.Min(y0, n.y-n.h/2)
			x1, y1 = math.Max(x1, n.x+n.w/2), math.Max(y1, n.y+n.h/2)
		}
		fmt.Fprintf(bw, "<g class=\"cluster\"><title>edge</title><rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"8\" fill=\"none\" stroke=\"#94a3b8\" stroke-dasharray=\"5,3\"/><text x=\"%s\" y=\"%s\" text-anchor=\"middle\" fill=\"#475569\">edge (Traefik)</text></g>\n",
			f(x0-8), f(y0-22), f(x1-x0+16), f(y1-y0+30), f((x0+x1)/2), f(y0-9))
	}

	for _, e := range l.edges {
		writeEdge(bw, e, f)
	}
	for _, ly := range l.layers {
		for _, n := range ly {
			if n.node != nil {
				writeNode(bw, n, f)
			}
		}
	}
	fmt.Fprintf(bw, "</svg>\n")
	return bw.Flush()
}

// writeNode draws a box (an arrow-tipped one for an entrypoint) with its
// label lines centred, the name in bold.
func writeNode(w *bufio.Writer, n *lnode, f func(float64) string) {
	st := n.node.style()
	fmt.Fprintf(w, "<g class=\"node\" id=\"node-%s\"><title>%s</title>\n", html.EscapeString(n.id), html.EscapeString(n.id))
	x0, y0 := n.x-n.w/2, n.y-n.h/2
	if n.node.Kind == Entrypoint {
		tip := 10.0
		fmt.Fprintf(w, "  <polygon points=\"%s,%s %s,%s %s,%s %s,%s %s,%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.3\"/>\n",
			f(x0), f(y0), f(x0+n.w-tip), f(y0), f(x0+n.w), f(n.y), f(x0+n.w-tip), f(y0+n.h), f(x0), f(y0+n.h), st.fill, st.stroke)
	} else {
		fmt.Fprintf(w, "  <rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"9\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.3\"/>\n",
			f(x0), f(y0), f(n.w), f(n.h), st.fill, st.stroke)
	}
	cx := n.x
	if n.node.Kind == Entrypoint {
		cx -= 5
	}
	for i, line := range n.lines {
		y := y0 + padY + float64(i)*lineHeight + lineHeight*0.78
		weight := ""
		if i == 0 && n.node.Kind == Service {
			weight = " font-weight=\"bold\""
		}
		fmt.Fprintf(w, "  <text x=\"%s\" y=\"%s\" text-anchor=\"middle\" fill=\"#0f172a\"%s>%s</text>\n", f(cx), f(y), weight, html.EscapeString(line))
	}
	fmt.Fprintf(w, "</g>\n")
}

// writeEdge draws an arrow as cubic curves through its waypoints, leaving
// and entering the boxes horizontally, with its label above its end.
func writeEdge(w *bufio.Writer, e *ledge, f func(float64) string) {
	pts := e.points
	type pt struct{ x, y float64 }
	var p []pt
	for i, n := range pts {
		switch {
		case n.node == nil:
			p = append(p, pt{n.x, n.y})
		case i == 0:
			p = append(p, pt{n.x + n.w/2, e.y0})
		default:
			p = append(p, pt{n.x - n.w/2, e.y1})
		}
	}
	var d strings.Builder
	fmt.Fprintf(&d, "M%s,%s", f(p[0].x), f(p[0].y))
	for i := 1; i < len(p); i++ {
		mx := (p[i-1].x + p[i].x) / 2
		fmt.Fprintf(&d, " C%s,%s %s,%s %s,%s", f(mx), f(p[i-1].y), f(mx), f(p[i].y), f(p[i].x), f(p[i].y))
	}
	color := stateColor[e.edge.State]
	if e.edge.Route && e.edge.State == Declared {
		color = entrypointStyle.stroke
	}
	dash := ""
	switch e.edge.State {
	case Denied:
		dash = " stroke-dasharray=\"6,4\""
	case Undeclared:
		dash = " stroke-dasharray=\"2,3\""
	}
	marker := "marker-end"
	if e.reversed {
		marker = "marker-start"
	}
	fmt.Fprintf(w, "<g class=\"edge\"><title>%s</title>\n", html.EscapeString(e.edge.From+"->"+e.edge.To))
	fmt.Fprintf(w, "  <path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.3\"%s %s=\"url(#arrow-%s)\"/>\n", d.String(), color, dash, marker, color[1:])
	if t := e.edge.label(); t != "" {
		end := p[len(p)-1]
		anchor, x, y := "end", end.x-8, end.y-5
		switch {
		case e.labelAt != nil:
			anchor, x, y = "middle", e.labelAt.x, e.labelAt.y-5
		case e.reversed:
			anchor, x, y = "start", p[0].x+8, p[0].y-5
		}
		fmt.Fprintf(w, "  <text x=\"%s\" y=\"%s\" text-anchor=\"%s\" font-size=\"9.5\" fill=\"#334155\">%s</text>\n", f(x), f(y), anchor, html.EscapeString(t))
	}
	fmt.Fprintf(w, "</g>\n")
}
