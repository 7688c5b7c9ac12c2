//! Retained-size answers built on [`crate::dominators`]: the objects that keep
//! the most memory alive (`refgraph top --by retained`, the HTML report,
//! `find_leaks`), and sizes written for people.
//!
//! The ranking is the one Eclipse MAT and Chrome DevTools open with: the
//! children of the dominator tree's super-root (roots, and objects several
//! independent roots hold), largest retained size first, so nothing is
//! counted twice. A top-level object that only wraps one big thing (a module
//! whose namespace is nearly all it keeps, a cell, a one-item tuple) is shown
//! as that thing, with the wrapper named beside it. Runs of look-alikes (a
//! thousand stale `logging` namespaces) are folded into one entry with a
//! count, since a leak is most often many copies of one thing.

#![forbid(unsafe_code)]

use rustc_hash::FxHashMap;

use crate::dominators::{Dominators, Idom};
use crate::graph::{Heap, NodeIx};

/// A wrapper whose largest dominated child keeps at least this share of
/// its retained size is shown as that child.
const WRAPPER_SHARE: f64 = 0.9;

/// One row of the ranking: an object, or a run of look-alikes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRetainer {
    /// The representative (the largest of the group).
    pub node: NodeIx,
    /// The top-level object it was reached from, when it is a wrapper's content.
    pub wrapper: Option<NodeIx>,
    /// How many top-level objects of the same type and label the row stands for.
    pub count: usize,
    /// Retained size of the representative.
    pub retained: u64,
    /// Retained size of the whole group.
    pub total: u64,
}

/// The `limit` rows of objects keeping the most memory alive.
pub fn top_retainers(heap: &Heap, dom: &Dominators, limit: usize) -> Vec<TopRetainer> {
    let top = dom.top_level();
    // Only the first few hundred top-level objects can make the table; a
    // wrapper's content is looked up for them alone, in one pass.
    let head: Vec<NodeIx> = top.iter().copied().take(limit.saturating_mul(50).max(200)).collect();
    let content = largest_children(heap, dom, &head);
    let mut rows: Vec<TopRetainer> = Vec::new();
    let mut by_key: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    for &t in &top {
        let (node, wrapper) = match content.get(&t) {
            Some(&c) if is_wrapper(heap, t) => (c, Some(t)),
            _ => (t, None),
        };
        let retained = dom.retained_size(t).unwrap_or(0);
        let n = heap.node(node);
        let key = (n.type_name(), n.label());
        match by_key.get(&key) {
            Some(&i) => {
                rows[i].count += 1;
                rows[i].total += retained;
            }
            None if rows.len() < limit => {
                by_key.insert(key, rows.len());
                rows.push(TopRetainer { node, wrapper, count: 1, retained, total: retained });
            }
            None => {}
        }
    }
    rows.sort_by(|a, b| b.total.cmp(&a.total).then(b.retained.cmp(&a.retained)));
    rows
}

/// Kinds of objects that only hold something else: a root module holds its
/// namespace, a cell its content, a bound method its function.
fn is_wrapper(heap: &Heap, ix: NodeIx) -> bool {
    let n = heap.node(ix);
    matches!(n.type_name(), "module" | "cell" | "method" | "tuple" | "list" | "staticmethod" | "classmethod")
}

/// For each of `parents`, its dominated child that keeps at least
/// [`WRAPPER_SHARE`] of what the parent keeps, if one does.
fn largest_children(heap: &Heap, dom: &Dominators, parents: &[NodeIx]) -> FxHashMap<NodeIx, NodeIx> {
    let wanted: FxHashMap<NodeIx, u64> =
        parents.iter().filter(|&&p| is_wrapper(heap, p)).map(|&p| (p, dom.retained_size(p).unwrap_or(0))).collect();
    let mut best: FxHashMap<NodeIx, NodeIx> = FxHashMap::default();
    if wanted.is_empty() {
        return best;
    }
    for i in 0..heap.node_count() {
        let v = NodeIx::new(i);
        if let Some(Idom::Node(p)) = dom.immediate_dominator(v) {
            if let Some(&total) = wanted.get(&p) {
                let r = dom.retained_size(v).unwrap_or(0);
                if r as f64 >= WRAPPER_SHARE * total as f64 {
                    best.insert(p, v);
                }
            }
        }
    }
    best
}

/// `1.2 MB`, `340 kB`, `56 B`: decimal units, three significant digits.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    match u {
        0 => format!("{n} B"),
        _ if v >= 100.0 => format!("{v:.0} {}", UNITS[u]),
        _ if v >= 10.0 => format!("{v:.1} {}", UNITS[u]),
        _ => format!("{v:.2} {}", UNITS[u]),
    }
}

/// `retains 1.21 MB` for a reached node, nothing for an unreached one.
pub fn retained_note(dom: &Dominators, ix: NodeIx) -> Option<String> {
    dom.retained_size(ix).map(|r| format!("retains {}", human_bytes(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags, Root, RootKind};

    fn node(b: &mut HeapBuilder, addr: u64, ty: &str, label: &str, size: u64) -> NodeIx {
        b.add_node(&NodeData { addr, type_name: ty.into(), size, label: label.into(), flags: NodeFlags(NodeFlags::TRACKED), refcount: 1 })
    }

    #[test]
    fn copies_held_by_two_roots_each_come_first_as_one_row() {
        let mut b = HeapBuilder::new();
        let mut roots = Vec::new();
        for i in 0..3u64 {
            // Each copy: a namespace held by a callback and a list of handlers.
            let ns = node(&mut b, 0x1000 + i * 0x100, "dict", "logging namespace", 1000);
            let big = node(&mut b, 0x1010 + i * 0x100, "list", "len=9", 5000);
            let f = node(&mut b, 0x1020 + i * 0x100, "function", "logging.shutdown", 100);
            let l = node(&mut b, 0x1030 + i * 0x100, "list", "len=1", 60);
            b.add_edge(ns, big, EdgeLabel::UNKNOWN);
            b.add_edge(f, ns, EdgeLabel::UNKNOWN);
            b.add_edge(l, ns, EdgeLabel::UNKNOWN);
            roots.extend([f, l]);
        }
        let m = node(&mut b, 0x9000, "module", "os", 50);
        let ns = node(&mut b, 0x9010, "dict", "os namespace", 2000);
        b.add_edge(m, ns, EdgeLabel::UNKNOWN);
        roots.push(m);
        for r in roots {
            b.add_root(Root { node: r, kind: RootKind::HeldFromOutside { surplus: 1 } });
        }
        let h = b.finish().unwrap();
        let d = Dominators::compute(&h);
        let top = top_retainers(&h, &d, 5);
        assert_eq!(h.node(top[0].node).label(), "logging namespace");
        assert_eq!((top[0].count, top[0].retained, top[0].total), (3, 6000, 18000));
        // The module is shown as its namespace, the wrapper named.
        assert_eq!(h.node(top[1].node).label(), "os namespace");
        assert_eq!(top[1].wrapper, Some(m));
        assert_eq!(top[1].retained, 2050);
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_bytes(56), "56 B");
        assert_eq!(human_bytes(1_205_368), "1.21 MB");
        assert_eq!(human_bytes(340_000), "340 kB");
        assert_eq!(human_bytes(12_500), "12.5 kB");
    }
}
