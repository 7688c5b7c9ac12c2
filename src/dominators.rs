//! Dominator tree and retained sizes: what each object alone keeps alive.
//!
//! Node `d` dominates `v` when every chain of references from a root to `v`
//! passes through `d`; if `d` died, everything it dominates would be freed,
//! so its *retained size* is the total shallow size of its dominator
//! subtree. The tree hangs from a virtual super-root whose children are all
//! the heap's roots; an object held by two independent roots is dominated by
//! the super-root alone. Weak references are no edges of the heap at all
//! (`tp_traverse` and `gc.get_referents` do not report a weakref's referent),
//! so they never retain. Nodes no root reaches (garbage awaiting collection,
//! or held by something the capture could not see) have no dominator and no
//! retained size.
//!
//! The algorithm is Cooper, Harvey and Kennedy's iterative one ("A Simple,
//! Fast Dominance Algorithm", 2001) in reverse postorder, written so that it
//! only walks references forwards: each node, in reverse postorder, meets
//! itself into the running dominator of each of its referents. The heap's
//! forward edges are contiguous, while finding a referrer costs a binary
//! search per edge (see [`crate::graph`]), so this is several times cheaper
//! than the textbook "intersect over predecessors" and needs no predecessor
//! array. Heap graphs converge in a few passes.
//!
//! Memory: three `u32` arrays while the tree is computed (12 bytes per node),
//! 16 at the peak while sizes are summed, and 12 kept (`u32` immediate
//! dominator, `u64` retained size per node). Computed on first use by the
//! front ends, never by a capture.

#![forbid(unsafe_code)]

use crate::graph::{Heap, NodeIx};

/// Marks a node no root reaches.
const UNREACHED: u32 = u32::MAX;
/// Marks a node whose immediate dominator is the virtual super-root.
const SUPER_ROOT: u32 = u32::MAX - 1;

/// Who immediately dominates a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idom {
    /// No single object: the node is a root, or roots reach it independently.
    SuperRoot,
    /// Every chain from a root to the node passes through this object.
    Node(NodeIx),
}

/// The dominator tree of a heap, with each node's retained size.
#[derive(Clone, Debug, Default)]
pub struct Dominators {
    /// Immediate dominator per node, or [`SUPER_ROOT`] / [`UNREACHED`].
    idom: Vec<u32>,
    /// Retained size per node (0 for unreached nodes).
    retained: Vec<u64>,
    /// Passes the iteration took until nothing changed (for benchmarks).
    pub passes: u32,
    /// The most heap bytes the computation held at once, beyond the graph
    /// (for benchmarks).
    pub peak_bytes: usize,
}

/// Forward edges as compressed rows: node `i`'s referents are `to[start[i]..start[i + 1]]`.
#[derive(Clone, Copy)]
pub struct Edges<'a> {
    pub start: &'a [u32],
    pub to: &'a [u32],
}

impl<'a> Edges<'a> {
    fn of(&self, v: u32) -> &'a [u32] {
        let v = v as usize;
        &self.to[self.start[v] as usize..self.start[v + 1] as usize]
    }
}

impl Dominators {
    /// The dominator tree of `heap` from a super-root over all its roots.
    pub fn compute(heap: &Heap) -> Dominators {
        let (start, to, _) = heap.out_csr();
        let roots: Vec<u32> = heap.roots().iter().map(|r| r.node.index() as u32).collect();
        Dominators::from_edges(Edges { start, to }, &roots, &heap.columns().size)
    }

    /// The dominator tree of the graph given by `edges` over `sizes.len()`
    /// nodes, from a super-root over `roots`.
    pub fn from_edges(edges: Edges<'_>, roots: &[u32], sizes: &[u32]) -> Dominators {
        let n = sizes.len();
        let (order, mut rank, walk_bytes) = reverse_postorder(edges, roots, n);
        let (idom, passes) = iterate(edges, &order, &rank, roots);
        let iterate_bytes = (order.capacity() + rank.capacity() + idom.capacity()) * 4;
        drop_into_node_space(&order, &idom, &mut rank);
        drop(idom);
        let retained = sum_sizes(&order, &rank, sizes);
        let sum_bytes = (order.capacity() + rank.capacity()) * 4 + retained.capacity() * 8;
        let peak_bytes = walk_bytes.max(iterate_bytes).max(sum_bytes);
        Dominators { idom: rank, retained, passes, peak_bytes }
    }

    /// Number of nodes covered.
    pub fn len(&self) -> usize {
        self.idom.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idom.is_empty()
    }

    /// Does any root reach the node?
    pub fn reachable(&self, ix: NodeIx) -> bool {
        self.idom.get(ix.index()).is_some_and(|&d| d != UNREACHED)
    }

    /// The node's immediate dominator; `None` if no root reaches it.
    pub fn immediate_dominator(&self, ix: NodeIx) -> Option<Idom> {
        match *self.idom.get(ix.index())? {
            UNREACHED => None,
            SUPER_ROOT => Some(Idom::SuperRoot),
            d => Some(Idom::Node(NodeIx::new(d as usize))),
        }
    }

    /// The objects that dominate the node, nearest first, up to (not
    /// including) the super-root. Empty for a root or an unreached node.
    pub fn dominators(&self, ix: NodeIx) -> impl Iterator<Item = NodeIx> + '_ {
        let mut at = ix;
        std::iter::from_fn(move || match self.immediate_dominator(at) {
            Some(Idom::Node(d)) => {
                at = d;
                Some(d)
            }
            _ => None,
        })
    }

    /// Bytes freed if the node died: the shallow sizes of its dominator
    /// subtree, its own included; `None` if no root reaches it.
    pub fn retained_size(&self, ix: NodeIx) -> Option<u64> {
        self.reachable(ix).then(|| self.retained[ix.index()])
    }

    /// The nodes the super-root immediately dominates (roots, and objects
    /// held by several independent roots), largest retained size first.
    pub fn top_level(&self) -> Vec<NodeIx> {
        let mut top: Vec<NodeIx> = (0..self.idom.len()).filter(|&i| self.idom[i] == SUPER_ROOT).map(NodeIx::new).collect();
        top.sort_by(|a, b| self.retained[b.index()].cmp(&self.retained[a.index()]).then(a.cmp(b)));
        top
    }

    /// Heap bytes this structure keeps.
    pub fn bytes(&self) -> usize {
        self.idom.capacity() * 4 + self.retained.capacity() * 8
    }
}

/// Nodes in reverse postorder of a depth-first walk from the super-root
/// (which comes first, as `u32::MAX`), and each node's position in that
/// order ([`UNREACHED`] for nodes no root reaches); and the most bytes the
/// walk held.
fn reverse_postorder(edges: Edges<'_>, roots: &[u32], n: usize) -> (Vec<u32>, Vec<u32>, usize) {
    // While walking, `rank` marks nodes seen; positions are filled at the end.
    const SEEN: u32 = u32::MAX - 1;
    let mut rank = vec![UNREACHED; n];
    let mut post: Vec<u32> = Vec::new();
    // (node, next edge to follow): an explicit stack, as chains run
    // thousands of references deep (Python 2.7's atexit copies).
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for &r in roots {
        if rank[r as usize] != UNREACHED {
            continue;
        }
        rank[r as usize] = SEEN;
        stack.push((r, edges.start[r as usize]));
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            if next < edges.start[v as usize + 1] {
                top.1 += 1;
                let w = edges.to[next as usize];
                if rank[w as usize] == UNREACHED {
                    rank[w as usize] = SEEN;
                    stack.push((w, edges.start[w as usize]));
                }
            } else {
                post.push(v);
                stack.pop();
            }
        }
    }
    let bytes = rank.capacity() * 4 + post.capacity() * 4 + stack.capacity() * 8;
    post.push(u32::MAX);
    post.reverse();
    post.shrink_to_fit();
    for (i, &v) in post.iter().enumerate().skip(1) {
        rank[v as usize] = i as u32;
    }
    (post, rank, bytes)
}

/// Immediate dominators by position in `order` (position 0 is the
/// super-root), iterated to a fixed point; and the number of passes.
fn iterate(edges: Edges<'_>, order: &[u32], rank: &[u32], roots: &[u32]) -> (Vec<u32>, u32) {
    let mut idom = vec![UNREACHED; order.len()];
    // The super-root's referents are the roots: their dominator is final,
    // and a final 0 is never met again.
    idom[0] = 0;
    for &r in roots {
        idom[rank[r as usize] as usize] = 0;
    }
    let mut passes = 0;
    loop {
        passes += 1;
        let mut changed = false;
        for (i, &v) in order.iter().enumerate().skip(1) {
            let i = i as u32;
            for &w in edges.of(v) {
                let j = rank[w as usize] as usize;
                let cur = idom[j];
                if j as u32 == i || cur == 0 {
                    continue;
                }
                let new = if cur == UNREACHED { i } else { intersect(&idom, i, cur) };
                if new != cur {
                    idom[j] = new;
                    changed = true;
                }
            }
        }
        if !changed {
            return (idom, passes);
        }
    }
}

/// The nearest common ancestor of two positions in the current tree.
fn intersect(idom: &[u32], mut a: u32, mut b: u32) -> u32 {
    while a != b {
        while a > b {
            a = idom[a as usize];
        }
        while b > a {
            b = idom[b as usize];
        }
    }
    a
}

/// Rewrites `rank` (node -> position) into node -> immediate dominator node.
fn drop_into_node_space(order: &[u32], idom: &[u32], rank: &mut [u32]) {
    for (i, &v) in order.iter().enumerate().skip(1) {
        let d = idom[i];
        rank[v as usize] = if d == 0 { SUPER_ROOT } else { order[d as usize] };
    }
}

/// Retained sizes: each node's size added to itself, then each node's
/// total to its dominator's, children before parents (reverse order).
fn sum_sizes(order: &[u32], idom: &[u32], sizes: &[u32]) -> Vec<u64> {
    let mut retained = vec![0u64; sizes.len()];
    for &v in order.iter().skip(1).rev() {
        let v = v as usize;
        retained[v] += u64::from(sizes[v]);
        let d = idom[v];
        if d != SUPER_ROOT {
            retained[d as usize] += retained[v];
        }
    }
    retained
}

/// The retained size of `ix` by definition, with no dominator tree: the
/// total size of what roots reach, less what they reach once `ix` is gone.
/// One walk of the heap per call; the tests check the tree against it.
pub fn retained_by_removal(heap: &Heap, ix: NodeIx) -> Option<u64> {
    let (start, to, _) = heap.out_csr();
    let edges = Edges { start, to };
    let roots: Vec<u32> = heap.roots().iter().map(|r| r.node.index() as u32).collect();
    let sizes = &heap.columns().size;
    let all = reached(edges, &roots, None);
    if !all[ix.index()] {
        return None;
    }
    let without = reached(edges, &roots, Some(ix.index() as u32));
    let total = |seen: &[bool]| -> u64 { seen.iter().zip(sizes).filter(|(&s, _)| s).map(|(_, &size)| u64::from(size)).sum() };
    Some(total(&all) - total(&without))
}

/// Which nodes `from` reaches without passing through `removed`.
fn reached(edges: Edges<'_>, from: &[u32], removed: Option<u32>) -> Vec<bool> {
    let mut seen = vec![false; edges.start.len() - 1];
    let mut stack: Vec<u32> = Vec::new();
    for &r in from.iter().filter(|&&r| Some(r) != removed) {
        if !std::mem::replace(&mut seen[r as usize], true) {
            stack.push(r);
        }
    }
    while let Some(v) = stack.pop() {
        for &w in edges.of(v) {
            if Some(w) != removed && !std::mem::replace(&mut seen[w as usize], true) {
                stack.push(w);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags, Root, RootKind};

    /// A small deterministic generator (no dependency for one test).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u32) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((self.0 >> 33) % u64::from(n)) as u32
        }
    }

    fn heap(n: usize, edges: &[(u32, u32)], roots: &[u32], sizes: &[u64]) -> Heap {
        let mut b = HeapBuilder::new();
        for (i, &size) in sizes.iter().enumerate().take(n) {
            b.add_node(&NodeData {
                addr: 16 * (i as u64 + 1),
                type_name: "dict".into(),
                size,
                flags: NodeFlags(NodeFlags::TRACKED),
                ..Default::default()
            });
        }
        for &(f, t) in edges {
            b.add_edge(NodeIx::new(f as usize), NodeIx::new(t as usize), EdgeLabel::UNKNOWN);
        }
        for &r in roots {
            b.add_root(Root { node: NodeIx::new(r as usize), kind: RootKind::HeldFromOutside { surplus: 1 } });
        }
        b.finish().unwrap()
    }

    fn random_heap(rng: &mut Lcg, n: u32, m: u32, roots: u32) -> Heap {
        let edges: Vec<(u32, u32)> = (0..m).map(|_| (rng.below(n), rng.below(n))).collect();
        let roots: Vec<u32> = (0..roots).map(|_| rng.below(n)).collect();
        let sizes: Vec<u64> = (0..n).map(|_| u64::from(16 + rng.below(1000))).collect();
        heap(n as usize, &edges, &roots, &sizes)
    }

    #[test]
    fn retained_sizes_equal_what_removing_the_node_frees_on_random_graphs() {
        let mut rng = Lcg(7);
        for round in 0..300 {
            let n = 2 + rng.below(60);
            let m = rng.below(n * 3);
            let roots = 1 + rng.below(4);
            let h = random_heap(&mut rng, n, m, roots);
            let d = Dominators::compute(&h);
            for i in 0..n as usize {
                let ix = NodeIx::new(i);
                assert_eq!(d.retained_size(ix), retained_by_removal(&h, ix), "round {round}, node {i}");
            }
        }
    }

    #[test]
    fn immediate_dominators_agree_with_petgraph_on_random_graphs() {
        let mut rng = Lcg(11);
        for _ in 0..100 {
            let n = 2 + rng.below(200);
            let m = rng.below(n * 4);
            let edges: Vec<(u32, u32)> = (0..m).map(|_| (rng.below(n), rng.below(n))).collect();
            let roots: Vec<u32> = (0..1 + rng.below(3)).map(|_| rng.below(n)).collect();
            let h = heap(n as usize, &edges, &roots, &vec![8; n as usize]);
            // The same graph with the super-root as node `n`, for petgraph.
            let mut g = petgraph::graph::DiGraph::<(), ()>::new();
            let nodes: Vec<_> = (0..=n).map(|_| g.add_node(())).collect();
            for &(f, t) in &edges {
                g.add_edge(nodes[f as usize], nodes[t as usize], ());
            }
            for &r in &roots {
                g.add_edge(nodes[n as usize], nodes[r as usize], ());
            }
            let theirs = petgraph::algo::dominators::simple_fast(&g, nodes[n as usize]);
            let ours = Dominators::compute(&h);
            for (i, &node) in nodes.iter().enumerate().take(n as usize) {
                let expected = theirs.immediate_dominator(node).map(|d| match d.index() {
                    s if s == n as usize => Idom::SuperRoot,
                    s => Idom::Node(NodeIx::new(s)),
                });
                assert_eq!(ours.immediate_dominator(NodeIx::new(i)), expected, "node {i}");
            }
        }
    }

    #[test]
    fn an_object_held_by_two_roots_is_retained_by_neither() {
        // 0 and 1 are roots; both hold 2 (a namespace), which holds 3 and 4; 1 alone holds 5.
        let h = heap(6, &[(0, 2), (1, 2), (2, 3), (3, 4), (1, 5)], &[0, 1], &[10, 20, 100, 30, 40, 50]);
        let d = Dominators::compute(&h);
        let ix = NodeIx::new;
        assert_eq!(d.immediate_dominator(ix(2)), Some(Idom::SuperRoot));
        assert_eq!(d.retained_size(ix(2)), Some(170));
        assert_eq!(d.retained_size(ix(1)), Some(70));
        assert_eq!(d.dominators(ix(4)).collect::<Vec<_>>(), vec![ix(3), ix(2)]);
        assert_eq!(d.top_level(), vec![ix(2), ix(1), ix(0)]);
    }

    #[test]
    fn cycles_are_credited_to_what_holds_them() {
        // Root 0 holds a cycle 1 <-> 2 (a class and its dict), 2 holds 3.
        let h = heap(5, &[(0, 1), (1, 2), (2, 1), (2, 3)], &[0], &[1, 10, 100, 1000, 7]);
        let d = Dominators::compute(&h);
        assert_eq!(d.retained_size(NodeIx::new(0)), Some(1111));
        assert_eq!(d.retained_size(NodeIx::new(1)), Some(1110));
        assert_eq!(d.retained_size(NodeIx::new(4)), None, "no root reaches node 4");
        assert_eq!(d.immediate_dominator(NodeIx::new(4)), None);
    }

    #[test]
    fn deep_chains_need_no_recursion() {
        let n = 200_000u32;
        let edges: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        let h = heap(n as usize, &edges, &[0], &vec![1; n as usize]);
        let d = Dominators::compute(&h);
        assert_eq!(d.retained_size(NodeIx::new(0)), Some(u64::from(n)));
        assert_eq!(d.dominators(NodeIx::new(n as usize - 1)).count(), n as usize - 1);
    }
}
