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

use crate::graph::{EdgeKind, EdgeLabel, Heap, NodeIx, Root, RootKind};

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
    let known = call_held_namespaces(heap);
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
            let surplus = s.min(u64::from(u32::MAX)) as u32;
            let kind = match known.iter().find(|(n, _)| *n == ix) {
                Some((_, holder)) => RootKind::Named { holder: holder.clone(), surplus },
                None => RootKind::HeldFromOutside { surplus },
            };
            roots.push(Root { node: ix, kind });
        }
    }
    heap.set_roots(roots);
}

/// The module whose running shell holds IPython's user namespace.
const IPYTHON_SHELL_MODULE: &str = "IPython.core.interactiveshell";

/// Whether [`add_held_from_outside`] may name a holder from the heap's edges
/// (an IPython shell's namespace) among these roots: readers that keep no
/// edges cannot, and must read the whole heap.
pub fn names_holders_from_edges(roots: &[Root]) -> bool {
    roots.iter().any(|r| matches!(&r.kind, RootKind::Module { name } if name == IPYTHON_SHELL_MODULE))
}

/// Namespaces that a running call holds (its arguments are on no heap
/// object), whose holder the heap itself names. IPython runs each cell as
/// `exec(code, user_ns, user_ns)`: the namespace is the running shell's
/// (`InteractiveShell._instance`), found by following the heap's own labelled
/// edges from `sys.modules`, so no Python code runs to find it.
fn call_held_namespaces(heap: &Heap) -> Vec<(NodeIx, String)> {
    let module = |name: &str| {
        heap.roots().iter().find_map(|r| match &r.kind {
            RootKind::Module { name: n } if n == name => Some(r.node),
            _ => None,
        })
    };
    let Some(shell_module) = module(IPYTHON_SHELL_MODULE) else { return Vec::new() };
    let ns = member(heap, shell_module, "InteractiveShell")
        .and_then(|class| member(heap, class, "_instance"))
        .and_then(|shell| member(heap, shell, "_user_ns").or_else(|| member(heap, shell, "user_ns")));
    let Some(ns) = ns.filter(|&n| heap.node(n).type_name() == "dict") else { return Vec::new() };
    let is_main = module("__main__").and_then(|m| dict_of(heap, m)) == Some(ns);
    let holder = match is_main {
        true => "IPython user namespace (get_ipython().user_ns, sys.modules['__main__'].__dict__)",
        false => "IPython user namespace (get_ipython().user_ns)",
    };
    vec![(ns, holder.to_string())]
}

/// What `from` holds under the attribute or key `name`: an edge labelled
/// `.name` or `['name']`, from the object or from its `__dict__`.
fn member(heap: &Heap, from: NodeIx, name: &str) -> Option<NodeIx> {
    let direct = |at: NodeIx| heap.out_edges(at).find(|e| names(heap, e.label, name)).map(|e| e.to);
    direct(from).or_else(|| direct(dict_of(heap, from)?))
}

fn dict_of(heap: &Heap, ix: NodeIx) -> Option<NodeIx> {
    heap.out_edges(ix).find(|e| matches!(e.label.kind(), EdgeKind::Named(_)) && heap.edge_label_text(e.label) == "__dict__").map(|e| e.to)
}

/// Whether `label` is the attribute or str key `name`.
fn names(heap: &Heap, label: EdgeLabel, name: &str) -> bool {
    match label.kind() {
        EdgeKind::DictValue(k) | EdgeKind::Attr(k) if k.index() < heap.node_count() => {
            let key = heap.node(k);
            key.type_name() == "str" && key.label() == name
        }
        _ => false,
    }
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

    /// The heap of an IPython session: the shell's user namespace is held by
    /// `exec`'s arguments, which no heap object shows.
    #[test]
    fn ipythons_user_namespace_is_named_from_the_heap() {
        let mut b = HeapBuilder::new();
        let str_node = |b: &mut HeapBuilder, addr, text: &str| {
            b.add_node(&NodeData { addr, type_name: "str".into(), label: text.into(), ..Default::default() })
        };
        let t = NodeFlags::TRACKED;
        let module = b.add_node(&node(1, "module", 1, t));
        let module_dict = b.add_node(&node(2, "dict", 1, t));
        let class = b.add_node(&node(3, "type", 1, t));
        let class_dict = b.add_node(&node(4, "dict", 1, t));
        let shell = b.add_node(&node(5, "IPython.terminal.interactiveshell.TerminalInteractiveShell", 1, t));
        let ns = b.add_node(&node(6, "dict", 3, t));
        let main = b.add_node(&node(7, "module", 1, t));
        let (k_class, k_instance, k_ns) =
            (str_node(&mut b, 10, "InteractiveShell"), str_node(&mut b, 11, "_instance"), str_node(&mut b, 12, "_user_ns"));
        let dict = b.edge_name("__dict__");
        b.add_edge(module, module_dict, dict);
        b.add_edge(module_dict, class, EdgeLabel::new(EdgeKind::DictValue(k_class)));
        b.add_edge(class, class_dict, dict);
        b.add_edge(class_dict, shell, EdgeLabel::new(EdgeKind::DictValue(k_instance)));
        b.add_edge(shell, ns, EdgeLabel::new(EdgeKind::Attr(k_ns)));
        b.add_edge(main, ns, dict);
        b.add_root(Root { node: module, kind: RootKind::Module { name: "IPython.core.interactiveshell".into() } });
        b.add_root(Root { node: main, kind: RootKind::Module { name: "__main__".into() } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let kinds: Vec<_> = h.roots_of(ns).map(|r| r.kind.to_string()).collect();
        assert_eq!(kinds, vec!["IPython user namespace (get_ipython().user_ns, sys.modules['__main__'].__dict__) (1 ref)"]);
        // A reader without edges (`refgraph summary`'s) is told to load the heap.
        assert!(names_holders_from_edges(h.roots()));
        // Without IPython loaded, the same surplus is only a clue.
        let mut b = HeapBuilder::new();
        let ns = b.add_node(&node(6, "dict", 1, t));
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        assert_eq!(h.roots_of(ns).next().unwrap().kind, RootKind::HeldFromOutside { surplus: 1 });
        assert!(!names_holders_from_edges(h.roots()));
    }
}
