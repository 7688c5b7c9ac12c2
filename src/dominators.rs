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
//! Memory: 12 bytes per node, at the peak and kept (`u32` immediate
//! dominator, `u64` retained size per node): the two arrays that become
//! the result carry the walk, the iteration and the sums (see `Scratch`),
//! and nothing else of the graph's size is allocated. Computed on first use
//! by the front ends, never by a capture.

#![forbid(unsafe_code)]

use crate::graph::{Heap, NodeIx};

/// Marks a node no root reaches.
const UNREACHED: u32 = u32::MAX;
/// Marks a node whose immediate dominator is the virtual super-root.
const SUPER_ROOT: u32 = u32::MAX - 1;
/// The walk's mark for a node seen and finished (anything but [`UNREACHED`]).
const FINISHED: u32 = 0;

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
        let mut d = Dominators::from_edges(Edges { start, to }, &roots, &heap.columns().size);
        d.peak_bytes += roots.capacity() * 4;
        d
    }

    /// The dominator tree of the graph given by `edges` over `sizes.len()`
    /// nodes, from a super-root over `roots`.
    ///
    /// Two arrays carry the whole computation and become the result, so
    /// the peak is what is kept: `narrow` (a `u32` per node) and `wide` (a
    /// `u64` per node, used as two `u32` halves until it holds the sizes).
    /// See [`Scratch`] for what they hold at each step.
    pub fn from_edges(edges: Edges<'_>, roots: &[u32], sizes: &[u32]) -> Dominators {
        let n = sizes.len();
        let mut s = Scratch { narrow: vec![UNREACHED; n], wide: vec![0; n + 1], reached: 0 };
        s.postorder(edges, roots);
        s.number_positions();
        let passes = s.iterate(edges, roots);
        s.idom_by_node();
        let mut peak_bytes = s.narrow.capacity() * 4 + s.wide.capacity() * 8;
        let Scratch { narrow: idom, mut wide, reached } = s;
        let retained = match packing(&idom, sizes) {
            Some(shift) => {
                sum_sizes_in_place(&idom, sizes, &mut wide, shift);
                wide
            }
            None => {
                let r = sum_sizes_in_order(&idom, sizes, &wide, reached);
                peak_bytes += r.capacity() * 8;
                r
            }
        };
        Dominators { idom, retained, passes, peak_bytes }
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

/// The low half of a `wide` slot.
fn lo(x: u64) -> u32 {
    x as u32
}

/// The high half of a `wide` slot.
fn hi(x: u64) -> u32 {
    (x >> 32) as u32
}

fn set_lo(x: &mut u64, v: u32) {
    *x = (*x & !u64::from(u32::MAX)) | u64::from(v);
}

fn set_hi(x: &mut u64, v: u32) {
    *x = (*x & u64::from(u32::MAX)) | (u64::from(v) << 32);
}

/// The working arrays of [`Dominators::from_edges`]. Positions number the
/// reached nodes in reverse postorder from 1 (0 is the super-root).
///
/// | step | `narrow[node]` | `wide[k]` low half | `wide[k]` high half |
/// |---|---|---|---|
/// | walk | unseen, or next edge to follow | `k`-th node in postorder | `k`-th node on the walk's stack |
/// | iterate | position | same | immediate dominator of position `k` |
/// | sum | immediate dominator node | (retained sizes, see [`sum_sizes_in_place`]) | |
///
/// The walk's stack and the finished nodes are disjoint, so `n` slots
/// hold both; the position -> node map is the postorder read backwards.
struct Scratch {
    narrow: Vec<u32>,
    wide: Vec<u64>,
    /// How many nodes the roots reach.
    reached: usize,
}

impl Scratch {
    /// The node at `position` (1..=reached).
    fn node_at(&self, position: u32) -> u32 {
        lo(self.wide[self.reached - position as usize])
    }

    /// A depth-first walk from the roots, in order, with an explicit stack
    /// (chains run thousands of references deep: Python 2.7's atexit
    /// copies). Nodes with no referents finish at once, never stacked.
    fn postorder(&mut self, edges: Edges<'_>, roots: &[u32]) {
        let (state, wide) = (&mut self.narrow, &mut self.wide);
        let mut done = 0usize;
        let mut depth = 0usize;
        for &r in roots {
            if state[r as usize] != UNREACHED {
                continue;
            }
            visit(edges, r, state, wide, &mut depth, &mut done);
            while depth > 0 {
                let v = hi(wide[depth - 1]) as usize;
                let next = state[v];
                if next < edges.start[v + 1] {
                    state[v] = next + 1;
                    let w = edges.to[next as usize];
                    if state[w as usize] == UNREACHED {
                        visit(edges, w, state, wide, &mut depth, &mut done);
                    }
                } else {
                    // The cursor may have reached u32::MAX, which reads as unseen.
                    state[v] = FINISHED;
                    set_lo(&mut wide[done], v as u32);
                    done += 1;
                    depth -= 1;
                }
            }
        }
        self.reached = done;
    }

    /// `narrow[node]` := the node's position.
    fn number_positions(&mut self) {
        let m = self.reached;
        for k in 0..m {
            self.narrow[lo(self.wide[k]) as usize] = (m - k) as u32;
        }
    }

    /// Immediate dominators by position, iterated to a fixed point; returns
    /// the number of passes. Each node, in reverse postorder, meets itself
    /// into the running dominator of each of its referents.
    fn iterate(&mut self, edges: Edges<'_>, roots: &[u32]) -> u32 {
        let m = self.reached;
        for x in &mut self.wide[..=m] {
            set_hi(x, UNREACHED);
        }
        // The super-root's referents are the roots: their dominator is
        // final, and a final 0 is never met again.
        set_hi(&mut self.wide[0], 0);
        for &r in roots {
            let p = self.narrow[r as usize] as usize;
            set_hi(&mut self.wide[p], 0);
        }
        let mut passes = 0;
        loop {
            passes += 1;
            let mut changed = false;
            for i in 1..=m as u32 {
                let v = self.node_at(i);
                for &w in edges.of(v) {
                    let j = self.narrow[w as usize] as usize;
                    let cur = hi(self.wide[j]);
                    if j as u32 == i || cur == 0 {
                        continue;
                    }
                    let new = if cur == UNREACHED { i } else { intersect(&self.wide, i, cur) };
                    if new != cur {
                        set_hi(&mut self.wide[j], new);
                        changed = true;
                    }
                }
            }
            if !changed {
                return passes;
            }
        }
    }

    /// `narrow[node]` := the node's immediate dominator node (or
    /// [`SUPER_ROOT`]); unreached nodes keep [`UNREACHED`].
    fn idom_by_node(&mut self) {
        for i in 1..=self.reached as u32 {
            let v = self.node_at(i);
            let d = hi(self.wide[i as usize]);
            self.narrow[v as usize] = if d == 0 { SUPER_ROOT } else { self.node_at(d) };
        }
    }
}

/// Marks `w` seen in a walk: stacks it, or finishes it if it refers to nothing.
fn visit(edges: Edges<'_>, w: u32, state: &mut [u32], wide: &mut [u64], depth: &mut usize, done: &mut usize) {
    let first = edges.start[w as usize];
    if first == edges.start[w as usize + 1] {
        state[w as usize] = FINISHED;
        set_lo(&mut wide[*done], w);
        *done += 1;
    } else {
        state[w as usize] = first;
        set_hi(&mut wide[*depth], w);
        *depth += 1;
    }
}

/// The nearest common ancestor of two positions in the current tree
/// (immediate dominators in the high halves of `wide`).
fn intersect(wide: &[u64], mut a: u32, mut b: u32) -> u32 {
    while a != b {
        while a > b {
            a = hi(wide[a as usize]);
        }
        while b > a {
            b = hi(wide[b as usize]);
        }
    }
    a
}

/// Where [`sum_sizes_in_place`] can keep each node's count of children
/// still to add: the bit above the largest possible sum, if the count and
/// a done flag fit above it (always, short of petabytes of sizes).
fn packing(idom: &[u32], sizes: &[u32]) -> Option<u32> {
    let total: u64 = idom.iter().zip(sizes).filter(|(&d, _)| d != UNREACHED).map(|(_, &s)| u64::from(s)).sum();
    let sum_bits = 64 - total.leading_zeros();
    let count_bits = 64 - (idom.len() as u64).leading_zeros();
    (sum_bits + count_bits < 64).then_some(63 - count_bits)
}

/// Retained sizes into `wide`, by node, with no order array: each slot
/// holds `done flag | children still to add | sum so far` (the sum below
/// bit `shift`). A node whose children are all in hands its sum to its
/// dominator, which may then be complete in turn: a walk up the tree that
/// stops at a dominator still waiting for other children.
fn sum_sizes_in_place(idom: &[u32], sizes: &[u32], wide: &mut Vec<u64>, shift: u32) {
    const DONE: u64 = 1 << 63;
    let one = 1u64 << shift;
    let sum = one - 1;
    let n = idom.len();
    wide.truncate(n);
    for (w, (&d, &s)) in wide.iter_mut().zip(idom.iter().zip(sizes)) {
        *w = if d == UNREACHED { 0 } else { u64::from(s) };
    }
    for &d in idom {
        if d != UNREACHED && d != SUPER_ROOT {
            wide[d as usize] += one;
        }
    }
    for v in 0..n {
        if idom[v] == UNREACHED || wide[v] & !sum != 0 {
            continue;
        }
        let mut c = v;
        loop {
            wide[c] |= DONE;
            let d = idom[c];
            if d == SUPER_ROOT {
                break;
            }
            let d = d as usize;
            wide[d] = wide[d] - one + (wide[c] & sum);
            if wide[d] & !sum != 0 {
                break;
            }
            c = d;
        }
    }
    for w in wide.iter_mut() {
        *w &= sum;
    }
}

/// Retained sizes by node when they cannot share their slots with the
/// counts: children before parents, the reverse postorder read forwards
/// (the postorder in the low halves of `wide`).
fn sum_sizes_in_order(idom: &[u32], sizes: &[u32], wide: &[u64], reached: usize) -> Vec<u64> {
    let mut retained = vec![0u64; idom.len()];
    for &x in &wide[..reached] {
        let v = lo(x) as usize;
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
    fn sizes_too_large_to_share_their_slots_are_summed_in_order() {
        // 70,000 objects of 4 GB each: the sums need more bits than the
        // children's counts leave, so the sums take their own array.
        let n = 70_000u32;
        let mut rng = Lcg(3);
        let mut edges: Vec<(u32, u32)> = (1..n).map(|i| ((i - 1) / 2, i)).collect();
        edges.extend((0..n / 10).map(|_| (rng.below(n), rng.below(n))));
        let sizes = vec![u64::from(u32::MAX); n as usize];
        let h = heap(n as usize, &edges, &[0], &sizes);
        let d = Dominators::compute(&h);
        assert!(packing(&d.idom, &h.columns().size).is_none());
        assert!(d.peak_bytes >= n as usize * 20, "the fallback's own array is counted");
        for _ in 0..20 {
            let ix = NodeIx::new(rng.below(n) as usize);
            assert_eq!(d.retained_size(ix), retained_by_removal(&h, ix), "node {}", ix.index());
        }
        assert_eq!(d.retained_size(NodeIx::new(0)), Some(u64::from(n) * u64::from(u32::MAX)));
    }

    #[test]
    fn the_peak_is_what_is_kept() {
        let mut rng = Lcg(5);
        let h = random_heap(&mut rng, 5000, 15000, 20);
        let d = Dominators::compute(&h);
        assert!(packing(&d.idom, &h.columns().size).is_some());
        // The two result arrays (one spare slot) and the roots' list.
        assert_eq!(d.peak_bytes, d.bytes() + h.roots().len() * 4);
        assert!(d.bytes() <= 5001 * 12);
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
