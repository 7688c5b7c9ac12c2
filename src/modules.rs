//! Stale module copies: module objects and module namespaces (their
//! `__dict__`s) that are not the ones `sys.modules` holds, grouped by module
//! name. This is the seed's whole investigation in one query: a hot-reload
//! platform that deletes modules from `sys.modules` leaves one such copy of
//! `logging` per request, kept alive by whatever the copy registered (atexit,
//! fork handlers).
//!
//! "Current" means: the object of a `sys.modules` root, or the dict its
//! `__dict__` edge leads to. Everything else of type `module`, and every dict
//! labelled `NAME namespace, N items` by the collectors, is a stale copy. A
//! stale copy may still be reachable from `sys.modules` (on Python 2.7,
//! `sys.exitfunc` chains every old `atexit` copy); that is counted, not hidden.
//!
//! refgraph's own observers are left out, by name: `refgraph attach` runs
//! its bootstrap in a namespace `__refgraph_attach__` (and the pure
//! collector in one named `refgraph_collector`) that no `sys.modules` entry
//! holds, and loads `refgraph._native` outside `sys.modules` (pyo3 keeps
//! the module alive for good once loaded). They are the snapshot's taker,
//! not the program's leak; [`observer_copies`] says which were left out.
//! Pure queries on a [`Heap`]; nothing here reads a live process.

#![forbid(unsafe_code)]

use std::collections::VecDeque;

use fixedbitset::FixedBitSet;
use rustc_hash::FxHashMap;

use crate::graph::{Heap, NodeIx, RootKind};

/// The stale copies of one module name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleGroup {
    /// The module's `__name__` (`logging.handlers`).
    pub name: String,
    /// Stale module objects, in node order.
    pub modules: Vec<NodeIx>,
    /// Stale namespace dicts, in node order.
    pub namespaces: Vec<NodeIx>,
    /// Copies: stale modules, plus namespaces whose module object is gone or current.
    pub copies: usize,
    /// Total shallow size of the modules and namespaces, in bytes.
    pub shallow_size: u64,
    /// Bytes freed if every copy died; `None` until [`set_retained`] fills it.
    pub retained_size: Option<u64>,
    /// Members still reachable from a `sys.modules` module (through anything).
    pub reachable_from_sys_modules: usize,
    /// The member nearest to a root (fewest references away): the one whose
    /// root path is worth showing. `None` when no root retains any member.
    pub nearest: Option<NodeIx>,
    /// Copies a root holds without going through a stale copy of another
    /// module: the leaks of their own. The others leak because another does.
    pub direct_copies: usize,
    /// For the copies that are not held directly: the first stale copy of
    /// another module on the shortest root path of the nearest one
    /// (`logging` for `logging.handlers`). `None` when all are direct.
    pub held_via: Option<String>,
}

impl ModuleGroup {
    /// Every member: modules first, then namespaces.
    pub fn members(&self) -> impl Iterator<Item = NodeIx> + '_ {
        self.modules.iter().chain(&self.namespaces).copied()
    }
}

/// `logging` for a dict labelled `logging namespace, 108 items` (the label
/// both collectors give a module's namespace), else `None`.
pub fn namespace_name(label: &str) -> Option<&str> {
    let (name, rest) = label.rsplit_once(" namespace, ")?;
    let items = rest.strip_suffix(" items")?;
    (!name.is_empty() && items.bytes().all(|b| b.is_ascii_digit())).then_some(name)
}

/// The module names refgraph's own capture leaves in a process it snapshots
/// (see the module docs): never the program's modules.
pub const OBSERVER_MODULES: [&str; 3] = ["__refgraph_attach__", "refgraph_collector", "refgraph._native"];

fn is_observer(name: &str) -> bool {
    OBSERVER_MODULES.contains(&name)
}

/// The names of [`OBSERVER_MODULES`] that have a stale copy in `heap`, which
/// [`stale_modules`] leaves out, in [`OBSERVER_MODULES`] order.
pub fn observer_copies(heap: &Heap) -> Vec<&'static str> {
    let cur = current(heap);
    let mut found = [false; OBSERVER_MODULES.len()];
    for n in heap.nodes().filter(|n| !cur.contains(n.ix.index())) {
        if let Some(i) = module_name(heap, n.ix).and_then(|name| OBSERVER_MODULES.iter().position(|&o| o == name)) {
            found[i] = true;
        }
    }
    OBSERVER_MODULES.iter().zip(found).filter(|&(_, f)| f).map(|(&name, _)| name).collect()
}

/// The module name of a module object or namespace dict, else `None`.
fn module_name(heap: &Heap, ix: NodeIx) -> Option<&str> {
    let n = heap.node(ix);
    match n.type_name() {
        "module" if !n.label().is_empty() => Some(n.label()),
        "module" => Some("(unnamed)"),
        "dict" => namespace_name(n.label()),
        _ => None,
    }
}

/// Whether the edge from a module to `to` is its `__dict__`.
fn namespace_of(heap: &Heap, module: NodeIx) -> Option<NodeIx> {
    heap.out_edges(module).find(|e| heap.edge_label_text(e.label) == "__dict__" && heap.node(e.to).type_name() == "dict").map(|e| e.to)
}

/// The `sys.modules` objects and their namespaces.
fn current(heap: &Heap) -> FixedBitSet {
    let mut cur = FixedBitSet::with_capacity(heap.node_count());
    for r in heap.roots().iter().filter(|r| matches!(r.kind, RootKind::Module { .. })) {
        cur.insert(r.node.index());
        if let Some(d) = namespace_of(heap, r.node) {
            cur.insert(d.index());
        }
    }
    cur
}

/// References from the nearest root to each node (`u32::MAX`: no root
/// reaches it), by one breadth-first search from every root at once.
fn distance_from_roots(heap: &Heap, roots: impl Iterator<Item = NodeIx>) -> Vec<u32> {
    let mut dist = vec![u32::MAX; heap.node_count()];
    let mut queue = VecDeque::new();
    for r in roots {
        if dist[r.index()] == u32::MAX {
            dist[r.index()] = 0;
            queue.push_back(r);
        }
    }
    while let Some(n) = queue.pop_front() {
        let d = dist[n.index()] + 1;
        for e in heap.out_edges(n) {
            if dist[e.to.index()] == u32::MAX {
                dist[e.to.index()] = d;
                queue.push_back(e.to);
            }
        }
    }
    dist
}

/// The stale module copies of a heap, grouped by module name, most copies
/// first (then largest, then by name); refgraph's own observers left out.
pub fn stale_modules(heap: &Heap) -> Vec<ModuleGroup> {
    let cur = current(heap);
    let mut groups: FxHashMap<&str, ModuleGroup> = FxHashMap::default();
    for n in heap.nodes() {
        if cur.contains(n.ix.index()) {
            continue;
        }
        let Some(name) = module_name(heap, n.ix).filter(|name| !is_observer(name)) else { continue };
        let g = groups.entry(name).or_insert_with(|| ModuleGroup {
            name: name.to_string(),
            modules: Vec::new(),
            namespaces: Vec::new(),
            copies: 0,
            shallow_size: 0,
            retained_size: None,
            reachable_from_sys_modules: 0,
            nearest: None,
            direct_copies: 0,
            held_via: None,
        });
        g.shallow_size += n.size();
        if n.type_name() == "module" {
            g.modules.push(n.ix);
        } else {
            g.namespaces.push(n.ix);
        }
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let from_modules = distance_from_roots(heap, module_roots(heap));
    let from_any = distance_from_roots(heap, heap.roots().iter().map(|r| r.node));
    let mut out: Vec<ModuleGroup> = groups.into_values().collect();
    let stale = FixedBitSet::from_iter(out.iter().flat_map(|g| g.members()).map(|m| m.index()));
    let direct = direct_reach(heap, &stale);
    for g in &mut out {
        let owned = FixedBitSet::from_iter(g.modules.iter().filter_map(|&m| namespace_of(heap, m)).map(|d| d.index()));
        let is_copy = |m: &NodeIx| !owned.contains(m.index());
        g.copies = g.members().filter(is_copy).count();
        // A copy is its module and that module's namespace: held directly if either is.
        g.direct_copies = g.modules.iter().filter(|&&m| direct_member(heap, &direct, m)).count()
            + g.namespaces.iter().filter(|d| is_copy(d) && direct.contains(d.index())).count();
        g.reachable_from_sys_modules = g.members().filter(|m| from_modules[m.index()] != u32::MAX).count();
        let nearest_of = |g: &ModuleGroup, only_indirect: bool| {
            g.members()
                .filter(|m| from_any[m.index()] != u32::MAX && !(only_indirect && direct_member(heap, &direct, *m)))
                .min_by_key(|m| (from_any[m.index()], m.index()))
        };
        g.nearest = nearest_of(g, false);
        g.held_via = nearest_of(g, true).and_then(|n| held_via(heap, n, &stale, &g.name));
    }
    // The origins first: the copies held directly, weighed with the copies
    // of other modules held through them (logging with its 18 passengers
    // before a C module's single saved namespace); then the rest.
    let mut through: FxHashMap<String, usize> = FxHashMap::default();
    for g in &out {
        if let Some(v) = &g.held_via {
            *through.entry(v.clone()).or_insert(0) += g.copies - g.direct_copies;
        }
    }
    let weight = |g: &ModuleGroup| if g.direct_copies == 0 { 0 } else { g.copies + through.get(&g.name).copied().unwrap_or(0) };
    out.sort_by(|a, b| {
        (weight(b), b.direct_copies, b.copies, b.shallow_size, &a.name).cmp(&(
            weight(a),
            a.direct_copies,
            a.copies,
            a.shallow_size,
            &b.name,
        ))
    });
    out
}

/// Nodes a root reaches without passing through a stale copy: a stale node
/// is reached but not gone through, except from a module to its own namespace.
fn direct_reach(heap: &Heap, stale: &FixedBitSet) -> FixedBitSet {
    let mut seen = FixedBitSet::with_capacity(heap.node_count());
    let mut queue: VecDeque<NodeIx> = VecDeque::new();
    for r in heap.roots() {
        if !seen.put(r.node.index()) {
            queue.push_back(r.node);
        }
    }
    while let Some(n) = queue.pop_front() {
        let next: Vec<NodeIx> =
            if stale.contains(n.index()) { namespace_of(heap, n).into_iter().collect() } else { heap.out_edges(n).map(|e| e.to).collect() };
        for m in next {
            if !seen.put(m.index()) {
                queue.push_back(m);
            }
        }
    }
    seen
}

/// Whether a stale module or namespace is held directly (for a module: or its namespace).
fn direct_member(heap: &Heap, direct: &FixedBitSet, m: NodeIx) -> bool {
    direct.contains(m.index())
        || (heap.node(m).type_name() == "module" && namespace_of(heap, m).is_some_and(|d| direct.contains(d.index())))
}

/// The first stale copy of another module on `target`'s shortest root path.
fn held_via(heap: &Heap, target: NodeIx, stale: &FixedBitSet, own: &str) -> Option<String> {
    let path = crate::paths::root_paths(heap, target, crate::paths::PathOptions { limit: 1, max_depth: None }, |_| true);
    let steps = &path.first()?.steps;
    steps[..steps.len() - 1]
        .iter()
        .filter(|s| stale.contains(s.node.index()))
        .filter_map(|s| module_name(heap, s.node))
        .find(|&name| name != own)
        .map(str::to_string)
}

fn module_roots(heap: &Heap) -> impl Iterator<Item = NodeIx> + '_ {
    heap.roots().iter().filter(|r| matches!(r.kind, RootKind::Module { .. })).map(|r| r.node)
}

/// Fills each group's retained size from a per-node retained size (the
/// dominator tree's). Members that dominate other members would be counted
/// twice, so only members whose retained size is not inside another
/// member's count: the caller passes `dominated_by_member(ix)` to say so.
pub fn set_retained(groups: &mut [ModuleGroup], retained: impl Fn(NodeIx) -> u64, dominated_by_member: impl Fn(NodeIx) -> bool) {
    for g in groups {
        g.retained_size = Some(g.members().filter(|&m| !dominated_by_member(m)).map(&retained).sum());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags, Root};
    use crate::roots::add_held_from_outside;

    fn node(b: &mut HeapBuilder, addr: u64, ty: &str, label: &str, refcount: u64, size: u64) -> NodeIx {
        b.add_node(&NodeData { addr, type_name: ty.into(), refcount, size, flags: NodeFlags(NodeFlags::TRACKED), label: label.into() })
    }

    /// The seed after `calls` requests: the current `logging` in
    /// `sys.modules`, and one stale copy per call (module, namespace,
    /// `shutdown` held by an atexit callback), the handlers module hanging
    /// off each stale namespace.
    fn seed_heap(calls: u64) -> Heap {
        let mut b = HeapBuilder::new();
        let dict = b.edge_name("__dict__");
        let globals = b.edge_name("__globals__");
        let handlers = b.edge_name("handlers");
        let m = node(&mut b, 0x100, "module", "logging", 1, 72);
        let d = node(&mut b, 0x200, "dict", "logging namespace, 108 items", 1, 4696);
        b.add_edge(m, d, dict);
        b.add_root(Root { node: m, kind: RootKind::Module { name: "logging".into() } });
        for i in 0..calls {
            let base = 0x10_000 * (i + 1);
            let sm = node(&mut b, base, "module", "logging", 1, 72);
            let sd = node(&mut b, base + 0x100, "dict", "logging namespace, 108 items", 2, 4696);
            let f = node(&mut b, base + 0x200, "function", "logging.shutdown", 2, 160);
            let hm = node(&mut b, base + 0x300, "module", "logging.handlers", 1, 72);
            let hd = node(&mut b, base + 0x400, "dict", "logging.handlers namespace, 43 items", 1, 2272);
            b.add_edge(sm, sd, dict);
            b.add_edge(f, sd, globals);
            b.add_edge(sd, f, EdgeLabel::UNKNOWN);
            b.add_edge(sd, hm, handlers);
            b.add_edge(hm, hd, dict);
            b.add_edge(hd, sm, EdgeLabel::UNKNOWN);
            b.add_root(Root { node: f, kind: RootKind::Named { holder: format!("atexit callback #{}", i + 1), surplus: 1 } });
        }
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        h
    }

    #[test]
    fn namespace_labels_give_the_module_name() {
        assert_eq!(namespace_name("logging namespace, 108 items"), Some("logging"));
        assert_eq!(namespace_name("logging.handlers namespace, 0 items"), Some("logging.handlers"));
        assert_eq!(namespace_name("len=3"), None);
        assert_eq!(namespace_name("x namespace, many items"), None);
    }

    #[test]
    fn stale_logging_copies_are_counted_and_the_current_one_is_not() {
        let h = seed_heap(3);
        let groups = stale_modules(&h);
        let names: Vec<_> = groups.iter().map(|g| (g.name.as_str(), g.copies, g.modules.len(), g.namespaces.len())).collect();
        assert_eq!(names, vec![("logging", 3, 3, 3), ("logging.handlers", 3, 3, 3)]);
        let logging = &groups[0];
        assert_eq!(logging.shallow_size, 3 * (72 + 4696));
        assert!(!logging.members().any(|m| h.node(m).addr() == 0x100 || h.node(m).addr() == 0x200));
        assert_eq!(logging.reachable_from_sys_modules, 0);
        assert_eq!(logging.retained_size, None);
        assert_eq!((logging.direct_copies, logging.held_via.as_deref()), (3, None));
        assert_eq!((groups[1].direct_copies, groups[1].held_via.as_deref()), (0, Some("logging")));
    }

    #[test]
    fn the_nearest_member_is_one_reference_from_an_atexit_callback() {
        let h = seed_heap(2);
        let groups = stale_modules(&h);
        let nearest = groups[0].nearest.unwrap();
        assert_eq!(h.node(nearest).label(), "logging namespace, 108 items");
        let paths = crate::paths::root_paths(&h, nearest, crate::paths::PathOptions { limit: 1, max_depth: None }, |_| true);
        assert_eq!(h.root_text(h.roots_of(paths[0].root()).next().unwrap()), "atexit callback #1 (1 ref)");
        assert_eq!(paths[0].len(), 2);
    }

    #[test]
    fn a_namespace_without_its_module_is_a_copy_of_its_own() {
        let mut b = HeapBuilder::new();
        let list = node(&mut b, 0x10, "list", "len=1", 1, 64);
        let d = node(&mut b, 0x20, "dict", "plugin namespace, 5 items", 1, 400);
        b.add_edge(list, d, EdgeLabel::UNKNOWN);
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let groups = stale_modules(&h);
        assert_eq!(groups.len(), 1);
        assert_eq!((groups[0].name.as_str(), groups[0].copies, groups[0].modules.len()), ("plugin", 1, 0));
        assert_eq!(groups[0].nearest, Some(d));
    }

    #[test]
    fn copies_reachable_from_sys_modules_are_still_stale_but_counted() {
        // Python 2.7: sys -> ['exitfunc'] -> function -> __globals__ -> old atexit namespace.
        let mut b = HeapBuilder::new();
        let dict = b.edge_name("__dict__");
        let globals = b.edge_name("__globals__");
        let sys = node(&mut b, 0x10, "module", "sys", 1, 56);
        let sys_ns = node(&mut b, 0x20, "dict", "sys namespace, 60 items", 1, 4000);
        let f = node(&mut b, 0x30, "function", "atexit._run_exitfuncs", 1, 120);
        let old = node(&mut b, 0x40, "dict", "atexit namespace, 9 items", 1, 1000);
        b.add_edge(sys, sys_ns, dict);
        b.add_edge(sys_ns, f, EdgeLabel::UNKNOWN);
        b.add_edge(f, old, globals);
        b.add_root(Root { node: sys, kind: RootKind::Module { name: "sys".into() } });
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let groups = stale_modules(&h);
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!((groups[0].name.as_str(), groups[0].reachable_from_sys_modules), ("atexit", 1));
    }

    #[test]
    fn refgraphs_own_attach_namespaces_and_extension_are_left_out_and_said() {
        let mut b = HeapBuilder::new();
        let dict = b.edge_name("__dict__");
        let ext = node(&mut b, 0x10, "module", "refgraph._native", 1, 72);
        let ext_ns = node(&mut b, 0x20, "dict", "refgraph._native namespace, 40 items", 1, 2000);
        b.add_edge(ext, ext_ns, dict);
        node(&mut b, 0x30, "dict", "__refgraph_attach__ namespace, 30 items", 1, 1000);
        node(&mut b, 0x40, "dict", "refgraph_collector namespace, 50 items", 1, 1000);
        // A program's own refgraph package, dropped by a hot reload, is the program's.
        node(&mut b, 0x50, "module", "refgraph", 1, 72);
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        let names: Vec<String> = stale_modules(&h).into_iter().map(|g| g.name).collect();
        assert_eq!(names, ["refgraph"]);
        assert_eq!(observer_copies(&h), OBSERVER_MODULES);
        assert!(observer_copies(&seed_heap(2)).is_empty());
    }

    #[test]
    fn retained_sizes_skip_members_inside_another_member() {
        let h = seed_heap(2);
        let mut groups = stale_modules(&h);
        set_retained(&mut groups, |_| 100, |m| h.node(m).type_name() == "dict");
        assert_eq!(groups[0].retained_size, Some(200));
    }
}
