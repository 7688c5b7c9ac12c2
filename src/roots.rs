//! Roots: what keeps objects alive in the end. The types ([`Root`],
//! [`RootKind`]) are part of the model in [`crate::graph`]; this module owns
//! the computations on them.
//!
//! Three kinds come from capture: the modules of `sys.modules`, the frames of
//! every thread, and named holders in C state (issue-level detail lives in the
//! collectors). The fourth is computed here from the graph alone: an object
//! whose compensated reference count exceeds the references the heap shows to
//! it is *held from outside the heap* (an atexit array, a C extension static,
//! the C stack of an embedding program). The surplus is the number of such
//! references. Immortal objects (3.12+) and untracked objects are never held
//! from outside: their counts say nothing about who keeps them.

#![forbid(unsafe_code)]

use crate::graph::{Heap, NodeIx, Root, RootKind};

/// References to `ix` that the heap does not show, or 0.
pub fn surplus(heap: &Heap, ix: NodeIx) -> u64 {
    let n = heap.node(ix);
    let flags = n.flags();
    if !flags.tracked() || flags.immortal() || flags.synthetic() {
        return 0;
    }
    n.refcount().saturating_sub(n.in_degree() as u64)
}

/// Adds a held-from-outside root for every node with a surplus, unless a
/// collector already named that holder; a `Named` root gets the surplus.
/// Keeps the root list sorted by node, which lookups rely on.
///
/// [`HeapBuilder::finish`](crate::graph::HeapBuilder::finish) does not do this:
/// the builder's caller runs it once after `finish()` when the heap comes from
/// a capture (the snapshot reader runs it on every heap it reads).
pub fn add_held_from_outside(heap: &mut Heap) {
    let mut roots = std::mem::take(&mut heap.roots);
    roots.sort_by_key(|r| r.node);
    for r in &mut roots {
        if let RootKind::Named { surplus, .. } = &mut r.kind {
            *surplus = crate::roots::surplus(heap, r.node).min(u64::from(u32::MAX)) as u32;
        }
    }
    let named: Vec<NodeIx> =
        roots.iter().filter(|r| matches!(r.kind, RootKind::Named { .. } | RootKind::HeldFromOutside { .. })).map(|r| r.node).collect();
    for i in 0..heap.node_count() {
        let ix = NodeIx::new(i);
        let s = surplus(heap, ix);
        if s > 0 && named.binary_search(&ix).is_err() {
            roots.push(Root { node: ix, kind: RootKind::HeldFromOutside { surplus: s.min(u64::from(u32::MAX)) as u32 } });
        }
    }
    heap.set_roots(roots);
}

/// Counts of roots by kind, for summaries.
pub fn root_counts(heap: &Heap) -> Vec<(&'static str, usize)> {
    count_by_kind(heap.roots())
}

/// Counts of `roots` by kind, in the order kinds first appear.
pub fn count_by_kind(roots: &[Root]) -> Vec<(&'static str, usize)> {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for r in roots {
        match counts.iter_mut().find(|(t, _)| *t == r.kind.tag()) {
            Some((_, c)) => *c += 1,
            None => counts.push((r.kind.tag(), 1)),
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags};

    fn node(addr: u64, ty: &str, refcount: u64, flags: u8) -> NodeData {
        NodeData { addr, type_name: ty.into(), refcount, flags: NodeFlags(flags), ..Default::default() }
    }

    #[test]
    fn surplus_reference_makes_a_held_from_outside_root() {
        let mut b = HeapBuilder::new();
        let list = b.add_node(&node(1, "list", 1, NodeFlags::TRACKED));
        let f = b.add_node(&node(2, "function", 2, NodeFlags::TRACKED));
        b.add_edge(list, f, EdgeLabel::UNKNOWN);
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        // The list has one reference and no referrer: held from outside.
        assert_eq!(h.roots_of(list).map(|r| r.kind.clone()).collect::<Vec<_>>(), vec![RootKind::HeldFromOutside { surplus: 1 }]);
        // The function has two references, one from the list.
        assert_eq!(h.roots_of(f).next().unwrap().kind, RootKind::HeldFromOutside { surplus: 1 });
    }

    #[test]
    fn immortal_and_untracked_objects_are_never_held_from_outside() {
        let mut b = HeapBuilder::new();
        b.add_node(&node(1, "str", 5, 0));
        b.add_node(&node(2, "tuple", 1 << 30, NodeFlags::TRACKED | NodeFlags::IMMORTAL));
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        assert!(h.roots().is_empty());
    }

    #[test]
    fn a_named_holder_replaces_the_generic_label() {
        let mut b = HeapBuilder::new();
        let f = b.add_node(&node(1, "function", 1, NodeFlags::TRACKED));
        b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let kinds: Vec<_> = h.roots_of(f).map(|r| r.kind.to_string()).collect();
        assert_eq!(kinds, vec!["atexit callback #1 (1 ref)"]);
    }
}
