//! The built-in layered layout (Sugiyama style), pure geometry: boxes of
//! given sizes and labelled arrows in, positions and arrow paths out. It
//! knows nothing of SVG or of heaps; `svg` measures text and draws.
//!
//! Steps, one file each: `rank` breaks cycles and puts every box on a rank
//! so arrows point down (referrers above referents, as objgraph draws);
//! here (`build`), box ranks become every other layer, the layers between
//! them hold the labels, and every arrow is cut into one-layer steps through
//! bend points. A label is a bend point as wide as its text (Graphviz's
//! trick), so labels never overlap each other or a box. `order` sorts each
//! layer to reduce crossings; `place` gives x and y; `route` turns each
//! arrow's chain into curves with an arrowhead.
//!
//! Arrows that would need more bend points than a budget linear in the
//! graph's size run in lanes instead (`lanes`), so the layered graph has
//! O(V + E) nodes and steps whatever the arrows' lengths.
//!
//! Cost, with V boxes and E arrows. The layered graph has N = O(V + E)
//! nodes: the boxes, at most 2,000 + V bend points in full chains, and two
//! per arrow in a lane (see `lanes`), in L <= 2V + 1 layers. Ranking is
//! O(V + E) plus at most 64 linear balancing passes; ordering at most 24
//! sweeps (fewer once four bring no gain, or once they only swap between
//! two orders), each O(N log N) for sorting and crossing counting;
//! placement 19 linear passes; routing O(E log E) for the ports and O(N)
//! path points; writing the SVG O(V + E + N) bytes, straight runs written
//! as one `V` each, into the file as they are made. So O((V + E) log(V + E))
//! time with fixed iteration caps, and O(V + E) memory and SVG size.
//!
//! The graph, its layers and its arrows' chains are flat arrays: a long
//! chain has thousands of layers of one or two nodes, and per-layer or
//! per-node vectors (allocations, page faults) once cost more than the
//! sweeps. Measured (scripts/bench-layout): a fan-in chain of 3,000 boxes
//! and 6,000 arrows, the worst shape, lays out and writes in about the time
//! of a capture of the process it is drawn from (15 ms). [`super::MAX_BOXES`]
//! keeps V to drawings that can still be read.
//!
//! Everything is deterministic: no hashing, ties broken by input order.

mod lanes;
mod order;
mod place;
mod rank;
mod route;

pub(crate) use route::Route;

/// A point (SVG coordinates: y grows downwards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pt {
    pub x: f64,
    pub y: f64,
}

impl Pt {
    pub fn new(x: f64, y: f64) -> Pt {
        Pt { x, y }
    }
}

/// Width and height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Size {
    pub w: f64,
    pub h: f64,
}

/// A placed box, by its top-left corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// One arrow to lay out, `from` holds `to`, with the size of its label.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EdgeIn {
    pub from: usize,
    pub to: usize,
    pub label: Option<Size>,
}

/// The finished drawing's geometry, in input order.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub boxes: Vec<Rect>,
    pub edges: Vec<Route>,
    pub width: f64,
    pub height: f64,
}

/// Room around the drawing.
const MARGIN: f64 = 12.0;
/// Space between a label and the line it belongs to.
const LABEL_GAP: f64 = 5.0;

/// What a node of the layered graph stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// One of the caller's boxes.
    Box,
    /// A bend point of an arrow crossing a layer.
    Bend,
    /// A bend point that carries its arrow's label.
    Label,
}

/// A node of the layered graph: a box or a point of an arrow, with how far
/// it reaches left and right of its x and how tall it is.
#[derive(Clone, Copy, Debug)]
struct LNode {
    kind: Kind,
    layer: usize,
    /// For the two bend points of an arrow drawn in a lane: the lane. They
    /// go to the right end of their layers, in lane order.
    lane: Option<usize>,
    left: f64,
    right: f64,
    height: f64,
}

/// The graph the layout works on: every arrow a chain of one-layer steps.
/// Its steps and chains are flat arrays, built once: a long chain makes
/// tens of thousands of layered nodes, and a small vector for each was more
/// of the layout's time than the sweeps that read them.
struct Layered {
    nodes: Vec<LNode>,
    /// Steps to the layer above / below, with a weight: how much the
    /// placement should try to keep the step vertical.
    up: Adjacency,
    down: Adjacency,
    layer_count: usize,
    /// Per input edge: its chain from upper to lower end (empty for a
    /// self-loop).
    chains: Chains,
    /// Per input edge: whether it runs against its arrow.
    reversed: Vec<bool>,
    /// Per input edge: its lane, if it runs in one (see `lanes`).
    lanes: Vec<Option<usize>>,
}

/// One side's steps of every node, in the order they were made, in one
/// flat array (compressed rows).
struct Adjacency {
    start: Vec<u32>,
    steps: Vec<(u32, f32)>,
}

impl Adjacency {
    /// The steps `(from, to, weight)` grouped by `from`, each group in
    /// input order (a counting sort, so no comparison decides it).
    fn group(node_count: usize, steps: &[(u32, u32, f32)]) -> Adjacency {
        let mut start = vec![0u32; node_count + 1];
        for &(from, _, _) in steps {
            start[from as usize + 1] += 1;
        }
        for i in 0..node_count {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut grouped = vec![(0, 0.0); steps.len()];
        for &(from, to, weight) in steps {
            let at = &mut next[from as usize];
            grouped[*at as usize] = (to, weight);
            *at += 1;
        }
        Adjacency { start, steps: grouped }
    }

    /// The steps of node `v`: its neighbours on this side and their weights.
    fn of(&self, v: usize) -> impl DoubleEndedIterator<Item = (usize, f64)> + ExactSizeIterator + '_ {
        self.steps[self.start[v] as usize..self.start[v + 1] as usize].iter().map(|&(w, wt)| (w as usize, f64::from(wt)))
    }
}

/// Every layer's nodes, left to right, all layers in one array (layer `l`
/// is `nodes[start[l]..start[l + 1]]`): a long chain has thousands of
/// layers of one or two nodes.
#[derive(Clone, Debug, PartialEq)]
struct Layers {
    start: Vec<usize>,
    nodes: Vec<usize>,
}

impl Layers {
    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn range(&self, l: usize) -> std::ops::Range<usize> {
        self.start[l]..self.start[l + 1]
    }

    fn get(&self, l: usize) -> &[usize] {
        &self.nodes[self.range(l)]
    }

    fn get_mut(&mut self, l: usize) -> &mut [usize] {
        let r = self.range(l);
        &mut self.nodes[r]
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = &[usize]> + ExactSizeIterator + '_ {
        (0..self.len()).map(|l| self.get(l))
    }
}

/// Every arrow's chain of layered nodes in one array.
struct Chains {
    start: Vec<usize>,
    nodes: Vec<usize>,
}

impl Chains {
    fn with_capacity(edges: usize, nodes: usize) -> Chains {
        let mut start = Vec::with_capacity(edges + 1);
        start.push(0);
        Chains { start, nodes: Vec::with_capacity(nodes) }
    }

    /// Ends the chain being pushed.
    fn close(&mut self) {
        self.start.push(self.nodes.len());
    }

    fn len(&self) -> usize {
        self.start.len() - 1
    }

    fn of(&self, e: usize) -> &[usize] {
        &self.nodes[self.start[e]..self.start[e + 1]]
    }
}

/// The layered graph while [`build`] makes it: steps are collected in a
/// list and grouped per node only once all are known.
struct Builder {
    nodes: Vec<LNode>,
    steps: Vec<(u32, u32, f32)>,
    chains: Chains,
}

impl Builder {
    /// Adds the bend points of an arrow from `upper` down to `lower`,
    /// its label on the middle one of the label layers it crosses.
    fn chain(&mut self, upper: usize, lower: usize, label: Option<Size>) {
        let (top, bottom) = (self.nodes[upper].layer, self.nodes[lower].layer);
        let steps = (bottom - top) / 2;
        let label_layer = top + 1 + 2 * (steps.saturating_sub(1) / 2);
        let mut last = upper;
        self.chains.nodes.push(upper);
        for layer in top + 1..bottom {
            let node = self.add(bend_point(layer, label.filter(|_| layer == label_layer), None));
            self.step(last, node);
            self.chains.nodes.push(node);
            last = node;
        }
        self.step(last, lower);
        self.chains.nodes.push(lower);
        self.chains.close();
    }

    /// Adds the two bend points of an arrow drawn in lane `lane`: one just
    /// below `upper` with the label, one just above `lower`. Nothing joins
    /// them in the layered graph; `route` draws the lane between them.
    fn lane_chain(&mut self, upper: usize, lower: usize, label: Option<Size>, lane: usize) {
        let (top, bottom) = (self.nodes[upper].layer, self.nodes[lower].layer);
        let first = self.add(bend_point(top + 1, label, Some(lane)));
        let last = self.add(bend_point(bottom - 1, None, Some(lane)));
        self.step(upper, first);
        self.step(last, lower);
        self.chains.nodes.extend([upper, first, last, lower]);
        self.chains.close();
    }

    fn step(&mut self, a: usize, b: usize) {
        // Long arrows should run straight; a box may sit between them.
        let is_box = |n: usize| matches!(self.nodes[n].kind, Kind::Box);
        let weight = if is_box(a) || is_box(b) { 1.0 } else { 8.0 };
        self.steps.push((a as u32, b as u32, weight));
    }

    fn add(&mut self, node: LNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn finish(self, layer_count: usize, reversed: Vec<bool>, lanes: Vec<Option<usize>>) -> Layered {
        let n = self.nodes.len();
        let down = Adjacency::group(n, &self.steps);
        let flipped: Vec<(u32, u32, f32)> = self.steps.iter().map(|&(a, b, w)| (b, a, w)).collect();
        let up = Adjacency::group(n, &flipped);
        Layered { nodes: self.nodes, up, down, layer_count, chains: self.chains, reversed, lanes }
    }
}

impl Layered {
    /// How many lanes there are.
    fn lane_count(&self) -> usize {
        self.lanes.iter().flatten().max().map_or(0, |k| k + 1)
    }
}

/// A bend point on `layer`, as wide as its label if it carries one.
fn bend_point(layer: usize, label: Option<Size>, lane: Option<usize>) -> LNode {
    match label {
        Some(s) => LNode { kind: Kind::Label, layer, lane, left: 1.0, right: 1.0 + LABEL_GAP + s.w, height: s.h },
        None => LNode { kind: Kind::Bend, layer, lane, left: 1.0, right: 1.0, height: 0.0 },
    }
}

/// Lays out `boxes` and `edges`. Indices out of range must have been
/// dropped by the caller.
pub(crate) fn layout(boxes: &[Size], edges: &[EdgeIn]) -> Layout {
    let loops = route::self_loops(boxes.len(), edges);
    let layered = build(boxes, edges, &loops);
    let layers = order::order(&layered);
    let xs = place::x_coords(&layered, &layers);
    let ys = place::layer_tops(&layered, &layers, &xs);
    route::finish(&layered, &xs, &ys, boxes, edges, &loops)
}

/// Ranks the boxes and cuts every arrow into steps through bend points.
fn build(boxes: &[Size], edges: &[EdgeIn], loops: &route::Loops) -> Layered {
    let links: Vec<(usize, usize)> = edges.iter().filter(|e| e.from != e.to).map(|e| (e.from, e.to)).collect();
    let flipped = rank::reversed(boxes.len(), &links);
    let oriented: Vec<(usize, usize)> = links.iter().zip(&flipped).map(|(&(a, b), &f)| if f { (b, a) } else { (a, b) }).collect();
    let ranks = rank::ranks(boxes.len(), &oriented);
    let spans: Vec<(usize, usize)> = oriented.iter().map(|&(a, b)| (2 * ranks[a], 2 * ranks[b])).collect();
    let planned = lanes::plan(&spans, boxes.len());
    // Sized exactly: on a big drawing, growing them copied megabytes into
    // fresh pages, each a page fault.
    let bends: usize = spans.iter().zip(&planned).map(|(&(top, bottom), lane)| if lane.is_some() { 2 } else { bottom - top - 1 }).sum();
    let mut nodes = Vec::with_capacity(boxes.len() + bends);
    nodes.extend(boxes.iter().enumerate().map(|(i, s)| LNode {
        kind: Kind::Box,
        layer: 2 * ranks[i],
        lane: None,
        left: s.w / 2.0,
        right: s.w / 2.0 + loops.reach(i),
        height: s.h,
    }));
    let steps = Vec::with_capacity(bends + spans.len());
    let mut g = Builder { nodes, steps, chains: Chains::with_capacity(edges.len(), bends + 2 * spans.len()) };
    let mut reversed = Vec::with_capacity(edges.len());
    let mut lanes = Vec::with_capacity(edges.len());
    let mut next_link = 0;
    for e in edges {
        if e.from == e.to {
            g.chains.close();
            reversed.push(false);
            lanes.push(None);
            continue;
        }
        let (upper, lower) = oriented[next_link];
        let lane = planned[next_link];
        reversed.push(flipped[next_link]);
        lanes.push(lane);
        next_link += 1;
        match lane {
            Some(k) => g.lane_chain(upper, lower, e.label, k),
            None => g.chain(upper, lower, e.label),
        }
    }
    let layer_count = ranks.iter().max().map_or(0, |r| 2 * r + 1);
    g.finish(layer_count, reversed, lanes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sz() -> Size {
        Size { w: 80.0, h: 30.0 }
    }

    fn edge(from: usize, to: usize) -> EdgeIn {
        EdgeIn { from, to, label: Some(Size { w: 40.0, h: 14.0 }) }
    }

    fn finite(l: &Layout) -> bool {
        let r = l.boxes.iter().all(|b| [b.x, b.y, b.w, b.h].iter().all(|v| v.is_finite()));
        let e = l.edges.iter().all(|e| e.points().iter().all(|p| p.x.is_finite() && p.y.is_finite()));
        r && e && l.width.is_finite() && l.height.is_finite()
    }

    fn overlap(a: &Rect, b: &Rect) -> bool {
        a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
    }

    #[test]
    fn referrers_sit_above_what_they_hold() {
        let l = layout(&[sz(), sz(), sz()], &[edge(0, 1), edge(1, 2)]);
        assert!(l.boxes[0].y < l.boxes[1].y && l.boxes[1].y < l.boxes[2].y);
        assert!(finite(&l));
    }

    #[test]
    fn cycles_loops_and_parallel_edges_are_laid_out() {
        let edges = [edge(0, 1), edge(1, 2), edge(2, 0), edge(1, 1), edge(1, 1), edge(0, 1), edge(1, 0)];
        let l = layout(&[sz(), sz(), sz()], &edges);
        assert_eq!(l.edges.len(), edges.len());
        assert!(finite(&l));
        for (i, a) in l.boxes.iter().enumerate() {
            for b in &l.boxes[i + 1..] {
                assert!(!overlap(a, b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_hundred_referrers_fan_in_without_overlap() {
        let boxes = vec![sz(); 101];
        let edges: Vec<EdgeIn> = (1..101).map(|i| edge(i, 0)).collect();
        let l = layout(&boxes, &edges);
        assert!(finite(&l));
        assert!(l.boxes[1..].iter().all(|b| b.y + b.h < l.boxes[0].y));
        let mut row: Vec<&Rect> = l.boxes[1..].iter().collect();
        row.sort_by(|a, b| a.x.total_cmp(&b.x));
        assert!(row.windows(2).all(|p| p[0].x + p[0].w <= p[1].x));
    }

    /// Box 0 holds every box of the chain 1 -> 2 -> ... -> n.
    fn fan_out_over_a_chain(n: usize) -> (Vec<Size>, Vec<EdgeIn>) {
        let mut edges: Vec<EdgeIn> = (1..=n).map(|i| edge(0, i)).collect();
        edges.extend((1..n).map(|i| edge(i, i + 1)));
        (vec![sz(); n + 1], edges)
    }

    #[test]
    fn a_fan_out_over_a_long_chain_has_linearly_many_bend_points() {
        let (boxes, edges) = fan_out_over_a_chain(3000);
        let loops = route::self_loops(boxes.len(), &edges);
        let g = build(&boxes, &edges, &loops);
        // A chain per arrow would be 3000² = 9 million bend points.
        let size = boxes.len() + edges.len();
        assert!(g.nodes.len() <= boxes.len() + 10_000 + 6 * size, "{} layered nodes", g.nodes.len());
        assert!(g.lane_count() > 0);
    }

    #[test]
    fn arrows_in_lanes_run_right_of_every_box() {
        let (boxes, edges) = fan_out_over_a_chain(600);
        let l = layout(&boxes, &edges);
        assert!(finite(&l));
        assert_eq!(l.edges.len(), edges.len());
        let right = l.boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max);
        assert!(l.width > right);
        // The longest arrow (to the bottom of the chain) is one of the lanes.
        let longest = &l.edges[599];
        assert!(longest.points().iter().any(|p| p.x > right), "{longest:?}");
        // Still top to bottom: the chain runs down the page.
        assert!(l.boxes.windows(2).skip(1).all(|p| p[0].y < p[1].y));
    }

    #[test]
    fn empty_and_single_graphs_have_a_size() {
        let l = layout(&[], &[]);
        assert!(finite(&l) && l.boxes.is_empty());
        let l = layout(&[sz()], &[]);
        assert!(finite(&l) && l.width >= 80.0);
    }
}
