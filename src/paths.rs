//! Queries that walk references: root paths and backref/ref neighbourhoods.
//!
//! The search algorithms are written against petgraph's small `visit` traits,
//! so one breadth-first search serves the referrer direction
//! (`Reversed(&heap)`) and the referent direction (`&heap`) alike. A `pass`
//! predicate decides which nodes a search may go through; that is where
//! filters plug in.

#![forbid(unsafe_code)]

use std::collections::VecDeque;

use petgraph::visit::{IntoNeighbors, NodeIndexable, Reversed};

use crate::graph::{EdgeLabel, Heap, NodeIx};

/// One step of a root path: a node and the label of the reference that leads
/// to it from the previous step (`None` on the root).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub node: NodeIx,
    pub edge: Option<EdgeLabel>,
}

/// A shortest chain from a root to the target, root first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootPath {
    pub steps: Vec<Step>,
}

impl RootPath {
    pub fn root(&self) -> NodeIx {
        self.steps[0].node
    }
    pub fn target(&self) -> NodeIx {
        self.steps[self.steps.len() - 1].node
    }
    pub fn len(&self) -> usize {
        self.steps.len()
    }
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Options for [`root_paths`].
#[derive(Clone, Copy, Debug)]
pub struct PathOptions {
    /// At most this many paths (one per distinct root, nearest roots first).
    pub limit: usize,
    /// Give up beyond this many references from the target (`None`: no limit;
    /// the 2.7 seed heap has chains of thousands of steps).
    pub max_depth: Option<u32>,
}

impl PathOptions {
    /// How many paths a search returns unless told otherwise (the CLI's
    /// `--limit`, the Python API's `limit=`).
    pub const DEFAULT_LIMIT: usize = 10;
}

impl Default for PathOptions {
    fn default() -> Self {
        PathOptions { limit: Self::DEFAULT_LIMIT, max_depth: None }
    }
}

/// Breadth-first search from `start` that stops at every node `is_goal`
/// accepts and does not go past it. Returns, for each goal in order of
/// distance, the nodes from that goal back to `start` (in a search over
/// referrers: root first, target last). Nodes `pass` rejects are
/// neither entered nor reported (the start node always is).
pub fn bfs_to_goals<G>(
    graph: G,
    start: G::NodeId,
    mut is_goal: impl FnMut(G::NodeId) -> bool,
    mut pass: impl FnMut(G::NodeId) -> bool,
    limit: usize,
    max_depth: Option<u32>,
) -> Vec<Vec<G::NodeId>>
where
    G: IntoNeighbors + NodeIndexable,
{
    const NONE: u32 = u32::MAX;
    let bound = graph.node_bound();
    // Predecessor per node; `NONE` = unvisited. The start is its own parent.
    let mut parent = vec![NONE; bound];
    let mut depth_of = vec![0u32; 0];
    let track_depth = max_depth.is_some();
    if track_depth {
        depth_of = vec![0u32; bound];
    }
    let s = graph.to_index(start);
    parent[s] = s as u32;
    let mut queue = VecDeque::from([start]);
    let mut found = Vec::new();
    while let Some(n) = queue.pop_front() {
        if found.len() >= limit {
            break;
        }
        let ni = graph.to_index(n);
        if is_goal(n) {
            found.push(chain(&graph, &parent, ni));
            if ni != s {
                continue;
            }
        }
        let d = if track_depth { depth_of[ni] } else { 0 };
        if max_depth.is_some_and(|m| d >= m) {
            continue;
        }
        for m in graph.neighbors(n) {
            let mi = graph.to_index(m);
            if parent[mi] != NONE || !pass(m) {
                continue;
            }
            parent[mi] = ni as u32;
            if track_depth {
                depth_of[mi] = d + 1;
            }
            queue.push_back(m);
        }
    }
    found
}

fn chain<G: NodeIndexable>(graph: &G, parent: &[u32], mut i: usize) -> Vec<G::NodeId> {
    let mut out = vec![graph.from_index(i)];
    while parent[i] as usize != i {
        i = parent[i] as usize;
        out.push(graph.from_index(i));
    }
    out
}

/// The shortest chain from each distinct root that retains `target`, nearest
/// first; among equally near roots, true roots (modules, named C holders,
/// frames) come before objects merely held from outside, so the answer does
/// not depend on node numbering. A search does not go through a root: a
/// root reached through another root adds nothing.
pub fn root_paths(heap: &Heap, target: NodeIx, opts: PathOptions, pass: impl FnMut(NodeIx) -> bool) -> Vec<RootPath> {
    // A few more than asked for, so that roots as near as the last one
    // asked for are there to rank.
    let found = bfs_to_goals(Reversed(heap), target, |n| heap.is_root(n), pass, opts.limit.saturating_mul(4).max(16), opts.max_depth);
    let mut paths: Vec<RootPath> = found.into_iter().map(|nodes| path_from_nodes(heap, &nodes)).collect();
    let rank = |p: &RootPath| {
        let root = p.steps.first().map(|s| s.node);
        let kind = root.and_then(|r| heap.roots_of(r).map(|r| r.kind.rank()).min());
        (p.steps.len(), kind.unwrap_or(u8::MAX))
    };
    paths.sort_by_cached_key(rank);
    paths.truncate(opts.limit);
    paths
}

/// Turns a node chain from a root to the target into a [`RootPath`],
/// attaching the label of each reference.
fn path_from_nodes(heap: &Heap, root_to_target: &[NodeIx]) -> RootPath {
    let mut steps = Vec::with_capacity(root_to_target.len());
    let mut prev: Option<NodeIx> = None;
    for &n in root_to_target {
        let edge = prev.and_then(|p| heap.edge_between(p, n)).map(|e| e.label);
        steps.push(Step { node: n, edge });
        prev = Some(n);
    }
    RootPath { steps }
}

/// The first chain from an accepted node down to `target` (objgraph's
/// `find_backref_chain`): `[target]` alone when none is found within
/// `max_depth`.
pub fn backref_chain(
    heap: &Heap,
    target: NodeIx,
    is_goal: impl FnMut(NodeIx) -> bool,
    pass: impl FnMut(NodeIx) -> bool,
    max_depth: u32,
) -> RootPath {
    let found = bfs_to_goals(Reversed(heap), target, is_goal, pass, 1, Some(max_depth));
    match found.first() {
        Some(nodes) => path_from_nodes(heap, nodes),
        None => RootPath { steps: vec![Step { node: target, edge: None }] },
    }
}

/// Which way a neighbourhood grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Towards referrers (`show_backrefs`).
    Referrers,
    /// Towards referents (`show_refs`).
    Referents,
}

/// Options for [`neighbourhood`] (objgraph's `show_backrefs` arguments).
#[derive(Clone, Copy, Debug)]
pub struct GraphOptions {
    pub direction: Direction,
    pub max_depth: u32,
    /// At most this many neighbours drawn per node; the rest become one
    /// "N more" box.
    pub too_many: usize,
    /// Do not expand past roots (objgraph's `show_backrefs` stops at modules).
    pub stop_at_roots: bool,
}

impl GraphOptions {
    /// objgraph's default `max_depth` for `show_backrefs` and `show_refs`.
    pub const DEFAULT_MAX_DEPTH: u32 = 3;
    /// objgraph's default `too_many`.
    pub const DEFAULT_TOO_MANY: usize = 10;
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            direction: Direction::Referrers,
            max_depth: Self::DEFAULT_MAX_DEPTH,
            too_many: Self::DEFAULT_TOO_MANY,
            stop_at_roots: true,
        }
    }
}

/// The part of the heap around some targets, ready to be drawn.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Neighbourhood {
    /// Nodes with their distance from the nearest target, in discovery order.
    pub nodes: Vec<(NodeIx, u32)>,
    /// Edges as `(holder, held, label)`.
    pub edges: Vec<(NodeIx, NodeIx, EdgeLabel)>,
    /// Nodes whose neighbours were cut by `too_many`, with how many were left out.
    pub cut: Vec<(NodeIx, u64)>,
}

/// What a filter says about a node met on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Draw it and keep going.
    Keep,
    /// Leave it (and what lies beyond it through it) out.
    Hide,
    /// Draw it but go no further.
    Stop,
}

/// Breadth-first neighbourhood of `targets`, like objgraph's `_show_graph`:
/// each node's neighbours up to `too_many` (after the filter), to `max_depth`.
pub fn neighbourhood(
    heap: &Heap,
    targets: &[NodeIx],
    opts: GraphOptions,
    mut decide: impl FnMut(NodeIx, EdgeLabel, u32) -> Decision,
) -> Neighbourhood {
    let mut depth: rustc_hash::FxHashMap<NodeIx, u32> = Default::default();
    let mut out = Neighbourhood::default();
    let mut queue = VecDeque::new();
    for &t in targets {
        if depth.insert(t, 0).is_none() {
            out.nodes.push((t, 0));
            queue.push_back(t);
        }
    }
    let mut stopped: rustc_hash::FxHashSet<NodeIx> = Default::default();
    while let Some(n) = queue.pop_front() {
        let d = depth[&n];
        if d >= opts.max_depth || stopped.contains(&n) || (opts.stop_at_roots && d > 0 && heap.is_root(n)) {
            continue;
        }
        let mut drawn = 0usize;
        let mut skipped = 0u64;
        let mut visit = |m: NodeIx, label: EdgeLabel, out: &mut Neighbourhood| {
            if !depth.contains_key(&m) {
                match decide(m, label, d + 1) {
                    Decision::Hide => return,
                    Decision::Stop => {
                        stopped.insert(m);
                    }
                    Decision::Keep => {}
                }
            }
            if drawn >= opts.too_many {
                skipped += 1;
                return;
            }
            drawn += 1;
            match opts.direction {
                Direction::Referrers => out.edges.push((m, n, label)),
                Direction::Referents => out.edges.push((n, m, label)),
            }
            if let std::collections::hash_map::Entry::Vacant(v) = depth.entry(m) {
                v.insert(d + 1);
                out.nodes.push((m, d + 1));
                queue.push_back(m);
            }
        };
        match opts.direction {
            Direction::Referrers => {
                for e in heap.in_edges(n) {
                    visit(e.from, e.label, &mut out);
                }
            }
            Direction::Referents => {
                for e in heap.out_edges(n) {
                    visit(e.to, e.label, &mut out);
                }
            }
        }
        if skipped > 0 {
            out.cut.push((n, skipped));
        }
    }
    out
}

/// The union of some root paths as a neighbourhood (objgraph's `show_chain`):
/// what a reader needs to see why the targets are alive, and nothing else.
pub fn chains_neighbourhood(paths: &[RootPath]) -> Neighbourhood {
    let mut out = Neighbourhood::default();
    let mut seen: rustc_hash::FxHashMap<NodeIx, u32> = Default::default();
    let mut edges: rustc_hash::FxHashSet<(NodeIx, NodeIx)> = Default::default();
    for p in paths {
        let n = p.steps.len() as u32;
        for (i, s) in p.steps.iter().enumerate() {
            // Depth counts from the target, as in a backref drawing.
            let d = n - 1 - i as u32;
            match seen.get_mut(&s.node) {
                Some(old) => *old = (*old).min(d),
                None => {
                    seen.insert(s.node, d);
                    out.nodes.push((s.node, d));
                }
            }
            if i > 0 {
                let from = p.steps[i - 1].node;
                if edges.insert((from, s.node)) {
                    out.edges.push((from, s.node, s.edge.unwrap_or(EdgeLabel::UNKNOWN)));
                }
            }
        }
    }
    for (node, d) in &mut out.nodes {
        *d = seen[node];
    }
    out
}

/// Every node within `max_depth` references of the targets in one direction,
/// targets included: the most a depth-limited search can touch.
pub fn within(heap: &Heap, targets: &[NodeIx], direction: Direction, max_depth: u32) -> Vec<NodeIx> {
    let mut seen = fixedbitset::FixedBitSet::with_capacity(heap.node_count());
    let mut frontier: Vec<NodeIx> = Vec::new();
    for &t in targets {
        if !seen.put(t.index()) {
            frontier.push(t);
        }
    }
    let mut all = frontier.clone();
    for _ in 0..max_depth {
        let mut next = Vec::new();
        for &n in &frontier {
            let step = |m: NodeIx, seen: &mut fixedbitset::FixedBitSet, next: &mut Vec<NodeIx>| {
                if !seen.put(m.index()) {
                    next.push(m);
                }
            };
            match direction {
                Direction::Referrers => heap.in_edges(n).for_each(|e| step(e.from, &mut seen, &mut next)),
                Direction::Referents => heap.out_edges(n).for_each(|e| step(e.to, &mut seen, &mut next)),
            }
        }
        if next.is_empty() {
            break;
        }
        all.extend_from_slice(&next);
        frontier = next;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeKind, HeapBuilder, NodeData, NodeFlags, Root, RootKind};
    use crate::roots::add_held_from_outside;

    fn tracked(addr: u64, ty: &str, refcount: u64) -> NodeData {
        NodeData { addr, type_name: ty.into(), refcount, flags: NodeFlags(NodeFlags::TRACKED), ..Default::default() }
    }

    /// module -> dict -> list -> target, and an outside-held function -> target.
    fn two_retainers() -> (Heap, NodeIx) {
        let mut b = HeapBuilder::new();
        let m = b.add_node(&tracked(1, "module", 1));
        let d = b.add_node(&tracked(2, "dict", 1));
        let l = b.add_node(&tracked(3, "list", 1));
        let t = b.add_node(&tracked(4, "dict", 2));
        let f = b.add_node(&tracked(5, "function", 1));
        let dict_label = b.edge_name("__dict__");
        let globals = b.edge_name("__globals__");
        b.add_edge(m, d, dict_label);
        b.add_edge(d, l, EdgeLabel::new(EdgeKind::Index(0)));
        b.add_edge(l, t, EdgeLabel::new(EdgeKind::Index(3)));
        b.add_edge(f, t, globals);
        // sys.modules holds the module from outside our captured objects here.
        b.add_root(Root { node: m, kind: RootKind::Module { name: "app".into() } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        (h, t)
    }

    #[test]
    fn each_distinct_root_gives_one_shortest_path() {
        let (h, t) = two_retainers();
        let paths = root_paths(&h, t, PathOptions::default(), |_| true);
        assert_eq!(paths.len(), 2);
        // The function is one step away, the module three.
        assert_eq!(h.node(paths[0].root()).type_name(), "function");
        assert_eq!(h.edge_label_text(paths[0].steps[1].edge.unwrap()), "__globals__");
        assert_eq!(paths[1].len(), 4);
        assert_eq!(h.edge_label_text(paths[1].steps[3].edge.unwrap()), "[3]");
        assert!(paths.iter().all(|p| p.target() == t && p.steps[0].edge.is_none()));
    }

    #[test]
    fn a_pass_filter_hides_the_paths_through_a_node() {
        let (h, t) = two_retainers();
        let list = h.find_addr(3).unwrap();
        let paths = root_paths(&h, t, PathOptions::default(), |n| n != list);
        assert_eq!(paths.len(), 1);
        assert_eq!(h.node(paths[0].root()).type_name(), "function");
    }

    #[test]
    fn search_does_not_pass_through_roots() {
        // root A -> root B -> target: only B's path, not A's through B.
        let mut b = HeapBuilder::new();
        let a = b.add_node(&tracked(1, "module", 0));
        let r = b.add_node(&tracked(2, "module", 1));
        let t = b.add_node(&tracked(3, "list", 1));
        b.add_edge(a, r, EdgeLabel::UNKNOWN);
        b.add_edge(r, t, EdgeLabel::UNKNOWN);
        b.add_root(Root { node: a, kind: RootKind::Module { name: "a".into() } });
        b.add_root(Root { node: r, kind: RootKind::Module { name: "b".into() } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let paths = root_paths(&h, t, PathOptions::default(), |_| true);
        assert_eq!(paths.iter().map(|p| p.root()).collect::<Vec<_>>(), vec![r]);
    }

    #[test]
    fn cycles_terminate_and_a_target_that_is_a_root_is_its_own_path() {
        let mut b = HeapBuilder::new();
        let x = b.add_node(&tracked(1, "list", 2));
        let y = b.add_node(&tracked(2, "list", 1));
        b.add_edge(x, y, EdgeLabel::UNKNOWN);
        b.add_edge(y, x, EdgeLabel::UNKNOWN);
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        // x has 2 references, one from y: held from outside by one.
        let p = root_paths(&h, y, PathOptions::default(), |_| true);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].steps.iter().map(|s| s.node).collect::<Vec<_>>(), vec![x, y]);
        let own = root_paths(&h, x, PathOptions::default(), |_| true);
        assert_eq!(own[0].steps.len(), 1);
    }

    #[test]
    fn long_chains_are_found_whole() {
        let mut b = HeapBuilder::new();
        let n = 5000;
        let ids: Vec<_> = (0..n).map(|i| b.add_node(&tracked(16 * (i + 1), "function", 1))).collect();
        for w in ids.windows(2) {
            b.add_edge(w[0], w[1], EdgeLabel::UNKNOWN);
        }
        b.add_root(Root { node: ids[0], kind: RootKind::Module { name: "sys".into() } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let p = root_paths(&h, ids[n as usize - 1], PathOptions::default(), |_| true);
        assert_eq!(p[0].len(), n as usize);
        let capped = root_paths(&h, ids[n as usize - 1], PathOptions { limit: 10, max_depth: Some(100) }, |_| true);
        assert!(capped.is_empty());
    }

    #[test]
    fn neighbourhood_cuts_fan_in_at_too_many() {
        let mut b = HeapBuilder::new();
        let t = b.add_node(&tracked(1, "dict", 30));
        for i in 0..30 {
            let f = b.add_node(&tracked(100 + i, "function", 1));
            b.add_edge(f, t, EdgeLabel::UNKNOWN);
        }
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let opts = GraphOptions { too_many: 10, ..Default::default() };
        let nb = neighbourhood(&h, &[t], opts, |_, _, _| Decision::Keep);
        assert_eq!(nb.edges.len(), 10);
        assert_eq!(nb.cut, vec![(t, 20)]);
        let hidden = neighbourhood(&h, &[t], opts, |n, _, _| if h.node(n).addr() < 120 { Decision::Hide } else { Decision::Keep });
        assert_eq!(hidden.edges.len(), 10);
        assert!(hidden.cut.is_empty());
    }

    #[test]
    fn chains_merge_shared_steps() {
        let (h, t) = two_retainers();
        let paths = root_paths(&h, t, PathOptions::default(), |_| true);
        let nb = chains_neighbourhood(&paths);
        assert_eq!(nb.nodes.len(), 5);
        assert_eq!(nb.edges.len(), 4);
        assert!(nb.nodes.contains(&(t, 0)));
    }
}
