//! Roots: what keeps objects alive in the end.
//!
//! Three kinds come from capture: the modules of `sys.modules`, the frames of
//! every thread, and named holders in C state (issue-level detail lives in the
//! collectors). The fourth is computed here from the graph alone: an object
//! whose compensated reference count exceeds the references the heap shows to
//! it is *held from outside the heap* (an atexit array, a C extension static,
//! the C stack of an embedding program). The surplus is the number of such
//! references. Immortal objects (3.12+) and untracked objects are never held
//! from outside: their counts say nothing about who keeps them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::graph::{Heap, NodeIx};

/// Why a node is a root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RootKind {
    /// A module object in `sys.modules` under `name`.
    Module { name: String },
    /// A running frame (or its interpreter frame record on 3.11+) of a thread.
    Frame { thread: u64, depth: u32, function: String },
    /// A holder in C state that refgraph could name: `atexit callback #1`,
    /// `register_at_fork(before)`, `signal handler SIGUSR1`, ...
    Named { holder: String, surplus: u32 },
    /// More references than the heap shows; `surplus` of them come from outside.
    HeldFromOutside { surplus: u32 },
}

impl RootKind {
    /// How much a path from this root explains, best first: a module or a
    /// named holder is an answer, a surplus reference is only a clue.
    pub fn rank(&self) -> u8 {
        match self {
            RootKind::Module { .. } => 0,
            RootKind::Named { .. } => 1,
            RootKind::Frame { .. } => 2,
            RootKind::HeldFromOutside { .. } => 3,
        }
    }

    /// Short machine-friendly name of the kind.
    pub fn tag(&self) -> &'static str {
        match self {
            RootKind::Module { .. } => "module",
            RootKind::Frame { .. } => "frame",
            RootKind::Named { .. } => "named",
            RootKind::HeldFromOutside { .. } => "held_from_outside",
        }
    }
}

impl fmt::Display for RootKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootKind::Module { name } => write!(f, "sys.modules['{name}']"),
            RootKind::Frame { thread, depth, function } => {
                write!(f, "frame {depth} of thread {thread:#x}: {function}")
            }
            RootKind::Named { holder, surplus: 0 } => f.write_str(holder),
            RootKind::Named { holder, surplus } => write!(f, "{holder} ({})", refs(*surplus)),
            RootKind::HeldFromOutside { surplus } => {
                write!(f, "held from outside the heap ({})", refs(*surplus))
            }
        }
    }
}

fn refs(n: u32) -> String {
    if n == 1 {
        "1 ref".to_string()
    } else {
        format!("{n} refs")
    }
}

/// A root: a node and why it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Root {
    pub node: NodeIx,
    pub kind: RootKind,
}

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
pub(crate) fn add_held_from_outside(heap: &mut Heap) {
    let mut roots = std::mem::take(&mut heap.roots);
    roots.sort_by_key(|r| r.node);
    for r in &mut roots {
        if let RootKind::Named { surplus, .. } = &mut r.kind {
            *surplus = crate::roots::surplus(heap, r.node).min(u64::from(u32::MAX)) as u32;
        }
    }
    let named: Vec<NodeIx> = roots
        .iter()
        .filter(|r| matches!(r.kind, RootKind::Named { .. } | RootKind::HeldFromOutside { .. }))
        .map(|r| r.node)
        .collect();
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
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for r in heap.roots() {
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
        let h = b.finish().unwrap();
        // The list has one reference and no referrer: held from outside.
        assert_eq!(
            h.roots_of(list).map(|r| r.kind.clone()).collect::<Vec<_>>(),
            vec![RootKind::HeldFromOutside { surplus: 1 }]
        );
        // The function has two references, one from the list.
        assert_eq!(h.roots_of(f).next().unwrap().kind, RootKind::HeldFromOutside { surplus: 1 });
    }

    #[test]
    fn immortal_and_untracked_objects_are_never_held_from_outside() {
        let mut b = HeapBuilder::new();
        b.add_node(&node(1, "str", 5, 0));
        b.add_node(&node(2, "tuple", 1 << 30, NodeFlags::TRACKED | NodeFlags::IMMORTAL));
        let h = b.finish().unwrap();
        assert!(h.roots().is_empty());
    }

    #[test]
    fn a_named_holder_replaces_the_generic_label() {
        let mut b = HeapBuilder::new();
        let f = b.add_node(&node(1, "function", 1, NodeFlags::TRACKED));
        b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
        let h = b.finish().unwrap();
        let kinds: Vec<_> = h.roots_of(f).map(|r| r.kind.to_string()).collect();
        assert_eq!(kinds, vec!["atexit callback #1 (1 ref)"]);
    }
}
