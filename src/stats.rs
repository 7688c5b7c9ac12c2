//! Type statistics over a captured heap: how many objects, and how many
//! bytes of shallow size, per type, per module, per qualified name; what grew
//! between two captures; which objects are new.
//!
//! These answer the first questions of a leak hunt (objgraph's
//! `typestats`/`show_growth`/`get_new_ids`, the seed's `showMemoryByType`
//! and `showMemoryByModule`) from one capture, as passes over the node
//! columns: no Python object is touched.
//!
//! "Module" is what the seed's `showMemoryByModule` groups by: it counts
//! dicts, each under the module it is the namespace of. A module's namespace
//! (its `__dict__`) counts under its `__name__`, a class's `__dict__` under
//! the class's `__module__`: any dict holding a str `__name__`, else a str
//! `__module__`, as the seed's `d.get("__name__") or d.get("__module__")`.
//! So a module's count is its namespaces: one per copy of the module, plus
//! one per class it defined. It is read from the graph as the capture
//! recorded it (the dict's label, the str values under those keys), never
//! by calling code. Other objects belong to no module and are left out of
//! that table.
//!
//! Why namespaces, not functions: a hot reload leaks whole modules, and
//! every module it drops is reloaded, so the stale copies of what the
//! culprit imported (`pickle`, `socket`) leak as many times as the culprit;
//! counting their functions ranks the module with the most functions first
//! (`pickle`), counting namespaces ranks the one with the most classes
//! (`logging`, `logging.handlers`), as the seed's table did. Which copy
//! holds which is `refgraph modules`' question.
//!
//! New objects are matched on (address, type): CPython reuses the address of
//! a freed object for the next one of the same size, so an address alone
//! would call a new object old. An object at an address the older heap had
//! with another type is new; one at an address the older heap had with the
//! same type is taken as the same object (a freed object replaced by one of
//! its own type at the same address cannot be told apart from the capture).

#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use rustc_hash::FxHashMap;

use crate::graph::{EdgeKind, Heap, NodeIx, NodeRef};

/// What the objects are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum By {
    /// The type's qualified name (`dict`, `logging.Logger`); sorted by count.
    Type,
    /// The module whose namespace a dict is: module namespaces by `__name__`,
    /// class dicts by `__module__` (the seed's `showMemoryByModule`); sorted by count.
    Module,
    /// The qualified name of a function, method or class (`logging.Logger.info`); sorted by count.
    Qualname,
    /// The type, sorted by total shallow size (the seed's `showMemoryByType`).
    Size,
}

impl By {
    /// Every grouping, in the order `--help` lists them.
    pub const ALL: [By; 4] = [By::Type, By::Module, By::Qualname, By::Size];

    pub fn name(self) -> &'static str {
        match self {
            By::Type => "type",
            By::Module => "module",
            By::Qualname => "qualname",
            By::Size => "size",
        }
    }
}

impl fmt::Display for By {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A grouping name that is not one of [`By::ALL`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown grouping {0:?}: expected one of type, module, qualname, size")]
pub struct UnknownBy(pub String);

impl FromStr for By {
    type Err = UnknownBy;
    fn from_str(s: &str) -> Result<By, UnknownBy> {
        By::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| UnknownBy(s.to_string()))
    }
}

/// Which nodes a statistic counts. Synthetic holders (frames refgraph made
/// visible) are never counted: they are not Python objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only objects the garbage collector tracks (what `gc.get_objects()`
    /// returns, and so what objgraph counts).
    pub tracked_only: bool,
}

impl Scope {
    pub const ALL: Scope = Scope { tracked_only: false };
    pub const TRACKED: Scope = Scope { tracked_only: true };

    pub fn counts(self, n: NodeRef<'_>) -> bool {
        let f = n.flags();
        !f.synthetic() && (!self.tracked_only || f.tracked())
    }
}

/// One row of a table: the objects sharing a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub key: String,
    pub count: u64,
    /// Total shallow size in bytes.
    pub size: u64,
}

/// The groups of `heap`'s objects by `by`, sorted: by count (most first),
/// or for [`By::Size`] by total size; ties by the other figure, then by key.
pub fn typestats(heap: &Heap, by: By, scope: Scope) -> Vec<Group> {
    let mut groups: Vec<Group> =
        group(heap, by, scope).into_iter().map(|(key, (count, size))| Group { key: key.to_string(), count, size }).collect();
    sort_groups(&mut groups, by);
    groups
}

fn sort_groups(groups: &mut [Group], by: By) {
    match by {
        By::Size => groups.sort_by(|a, b| b.size.cmp(&a.size).then(b.count.cmp(&a.count)).then(a.key.cmp(&b.key))),
        _ => groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.size.cmp(&a.size)).then(a.key.cmp(&b.key))),
    }
}

/// Count and size per key, unsorted.
fn group(heap: &Heap, by: By, scope: Scope) -> FxHashMap<&str, (u64, u64)> {
    match by {
        By::Type | By::Size => by_type_name(heap, scope),
        By::Module => {
            let names = Names::new(heap);
            group_by(heap, scope, |n| names.module_of(n))
        }
        By::Qualname => {
            let names = Names::new(heap);
            group_by(heap, scope, |n| names.qualname_of(n))
        }
    }
}

/// One pass over the type column, counting into a vector indexed by type id.
fn by_type_name(heap: &Heap, scope: Scope) -> FxHashMap<&str, (u64, u64)> {
    let cols = heap.columns();
    let types = heap.type_names();
    let mut acc = vec![(0u64, 0u64); types.len()];
    for (i, &t) in cols.type_id.iter().enumerate() {
        let synthetic = cols.flags[i] & crate::graph::NodeFlags::SYNTHETIC != 0;
        let untracked = scope.tracked_only && cols.flags[i] & crate::graph::NodeFlags::TRACKED == 0;
        if synthetic || untracked {
            continue;
        }
        let a = &mut acc[t as usize];
        a.0 += 1;
        a.1 += u64::from(cols.size[i]);
    }
    let mut out = FxHashMap::default();
    for (name, (count, size)) in types.iter().zip(acc) {
        if count > 0 {
            // Two type ids never share a name (the builder interns them),
            // but a heap read from a file is not trusted to.
            let e = out.entry(name.as_str()).or_insert((0, 0));
            e.0 += count;
            e.1 += size;
        }
    }
    out
}

fn group_by<'h>(heap: &'h Heap, scope: Scope, key: impl Fn(NodeRef<'h>) -> Option<&'h str>) -> FxHashMap<&'h str, (u64, u64)> {
    let mut out: FxHashMap<&str, (u64, u64)> = FxHashMap::default();
    for n in heap.nodes() {
        if !scope.counts(n) {
            continue;
        }
        if let Some(k) = key(n) {
            let e = out.entry(k).or_default();
            e.0 += 1;
            e.1 += n.size();
        }
    }
    out
}

/// Does `name` name type `type_name`? A name with a dot is compared whole
/// (`logging.Logger`, and `builtins.dict` for `dict`), one without to the
/// part after the last dot (`Logger`), as objgraph's `by_type` does.
pub fn type_matches(type_name: &str, name: &str) -> bool {
    if name.contains('.') {
        type_name == name || (!type_name.contains('.') && name.strip_prefix("builtins.") == Some(type_name))
    } else {
        type_name.rsplit('.').next() == Some(name)
    }
}

/// The objects whose type `name` names (see [`type_matches`]), in heap order.
pub fn by_type(heap: &Heap, name: &str, scope: Scope) -> Vec<NodeIx> {
    let wanted: Vec<bool> = heap.type_names().iter().map(|t| type_matches(t, name)).collect();
    let cols = heap.columns();
    cols.type_id
        .iter()
        .enumerate()
        .filter(|&(_, &t)| wanted[t as usize])
        .map(|(i, _)| NodeIx::new(i))
        .filter(|&ix| scope.counts(heap.node(ix)))
        .collect()
}

/// A group that grew from one capture to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Growth {
    pub key: String,
    /// Count and size in the newer capture.
    pub count: u64,
    pub size: u64,
    pub count_delta: i64,
    pub size_delta: i64,
}

/// The groups whose count or total size is larger in `newer` than in
/// `older`, largest count increase first (for [`By::Size`], largest size
/// increase first).
pub fn growth(older: &Heap, newer: &Heap, by: By, scope: Scope) -> Vec<Growth> {
    let old = group(older, by, scope);
    let mut out: Vec<Growth> = group(newer, by, scope)
        .into_iter()
        .filter_map(|(key, (count, size))| {
            let (c0, s0) = old.get(key).copied().unwrap_or_default();
            let g =
                Growth { key: key.to_string(), count, size, count_delta: count as i64 - c0 as i64, size_delta: size as i64 - s0 as i64 };
            (g.count_delta > 0 || g.size_delta > 0).then_some(g)
        })
        .collect();
    match by {
        By::Size => out.sort_by(|a, b| b.size_delta.cmp(&a.size_delta).then(b.count_delta.cmp(&a.count_delta)).then(a.key.cmp(&b.key))),
        _ => out.sort_by(|a, b| b.count_delta.cmp(&a.count_delta).then(b.size_delta.cmp(&a.size_delta)).then(a.key.cmp(&b.key))),
    }
    out
}

/// The objects of `newer` that `older` did not have, matched on (address,
/// type): see the module docs for why an address alone is not enough.
pub fn new_objects(older: &Heap, newer: &Heap, scope: Scope) -> Vec<NodeIx> {
    newer.nodes().filter(|&n| scope.counts(n) && !had(older, n)).map(|n| n.ix).collect()
}

fn had(older: &Heap, n: NodeRef<'_>) -> bool {
    older.find_addr(n.addr()).is_some_and(|o| older.node(o).type_name() == n.type_name())
}

/// objgraph's "leaking objects": the tracked objects no object refers to
/// (an object referring only to itself is referred to). Nothing in the
/// graph keeps them alive: whatever does is outside it (C code, a
/// reference-counting bug), which is what a held-from-outside root says
/// with a count; this is the narrower question of objects with no
/// referrer at all in the graph.
pub fn unreferenced(heap: &Heap) -> Vec<NodeIx> {
    heap.nodes().filter(|n| n.flags().tracked() && !n.flags().synthetic() && n.in_degree() == 0).map(|n| n.ix).collect()
}

/// Reads the names a node carries in the graph: its module and its
/// qualified name. Built once per heap (it looks up the few strings and
/// edge names it needs), then asked per node.
pub struct Names<'h> {
    heap: &'h Heap,
    /// Label ids of the texts `__module__` and `__name__`.
    module_key: Option<u32>,
    name_key: Option<u32>,
    str_type: Option<u32>,
    /// Named-edge id of `__mro__`.
    mro_edge: Option<u32>,
    /// Per type id: are that type's objects classes (`type` and metaclasses)?
    class_types: Vec<bool>,
}

impl<'h> Names<'h> {
    pub fn new(heap: &'h Heap) -> Names<'h> {
        let edge = |name: &str| heap.edge_names().iter().position(|e| e == name).map(|i| i as u32);
        let pool = heap.labels();
        let label = |text: &str| (1..pool.len() as u32).find(|&i| pool.get(i) == text);
        let mut names = Names {
            heap,
            module_key: label("__module__"),
            name_key: label("__name__"),
            str_type: heap.type_names().iter().position(|t| t == "str").map(|i| i as u32),
            mro_edge: edge("__mro__"),
            class_types: Vec::new(),
        };
        names.class_types = names.find_class_types();
        names
    }

    /// `type`, and every metaclass: a type whose first object has an
    /// `__mro__` edge (only classes have one).
    fn find_class_types(&self) -> Vec<bool> {
        let types = self.heap.type_names();
        let mut first: Vec<Option<NodeIx>> = vec![None; types.len()];
        for (i, &t) in self.heap.columns().type_id.iter().enumerate() {
            first[t as usize].get_or_insert(NodeIx::new(i));
        }
        types
            .iter()
            .zip(first)
            .map(|(name, node)| name == "type" || node.is_some_and(|n| self.named_target(n, self.mro_edge).is_some()))
            .collect()
    }

    fn is_class(&self, n: NodeRef<'_>) -> bool {
        self.class_types.get(self.heap.columns().type_id[n.ix.index()] as usize).copied().unwrap_or(false)
    }

    /// The module whose namespace `n` is (see the module docs), if `n` is a
    /// dict holding a str `__name__` or `__module__`.
    pub fn module_of(&self, n: NodeRef<'h>) -> Option<&'h str> {
        if n.type_name() != "dict" {
            return None;
        }
        n.module().or_else(|| self.dict_module_name(n.ix)).filter(|m| !m.is_empty())
    }

    /// The qualified name of a function, bound method, builtin or class
    /// (`logging.Logger.info`, `logging.Logger`).
    pub fn qualname_of(&self, n: NodeRef<'h>) -> Option<&'h str> {
        let qualified = matches!(n.type_name(), "function" | "method" | "builtin_function_or_method") || self.is_class(n);
        qualified.then(|| n.label()).filter(|l| !l.is_empty())
    }

    fn named_target(&self, n: NodeIx, name: Option<u32>) -> Option<NodeIx> {
        let name = name?;
        self.heap.out_edges(n).find(|e| e.label.kind() == EdgeKind::Named(name)).map(|e| e.to)
    }

    /// The str dict `d` holds under `__name__`, else under `__module__`
    /// (keys and values both exact strs), in one pass over its entries.
    fn dict_module_name(&self, d: NodeIx) -> Option<&'h str> {
        let heap = self.heap;
        let cols = heap.columns();
        let is_str = |ix: NodeIx| self.str_type.is_some_and(|s| cols.type_id[ix.index()] == s);
        let key_is = |k: NodeIx, key: Option<u32>| key.is_some_and(|key| cols.label[k.index()] == key);
        let mut module = None;
        for e in heap.out_edges(d) {
            let EdgeKind::DictValue(k) = e.label.kind() else { continue };
            if k.index() >= heap.node_count() || !is_str(k) || !is_str(e.to) {
                continue;
            }
            if key_is(k, self.name_key) && !heap.node(e.to).label().is_empty() {
                return Some(heap.node(e.to).label());
            }
            if key_is(k, self.module_key) {
                module = Some(heap.node(e.to).label());
            }
        }
        module
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags};

    /// A small heap builder for the tests: nodes at increasing addresses.
    struct Mk {
        b: HeapBuilder,
        next: u64,
    }

    impl Mk {
        fn new() -> Mk {
            Mk { b: HeapBuilder::new(), next: 0x1000 }
        }
        fn at(&mut self, addr: u64, ty: &str, size: u64, label: &str, tracked: bool) -> NodeIx {
            let flags = NodeFlags(if tracked { NodeFlags::TRACKED } else { 0 });
            self.b.add_node(&NodeData { addr, type_name: ty.into(), size, refcount: 1, flags, label: label.into() })
        }
        fn obj(&mut self, ty: &str, size: u64, label: &str) -> NodeIx {
            self.next += 0x10;
            let tracked = !matches!(ty, "str" | "int");
            self.at(self.next, ty, size, label, tracked)
        }
        fn named(&mut self, from: NodeIx, to: NodeIx, name: &str) {
            let l = self.b.edge_name(name);
            self.b.add_edge(from, to, l);
        }
        fn entry(&mut self, dict: NodeIx, key: NodeIx, value: NodeIx) {
            self.b.add_edge(dict, key, EdgeLabel::new(EdgeKind::DictKey));
            self.b.add_edge(dict, value, EdgeLabel::new(EdgeKind::DictValue(key)));
        }
    }

    /// A module `logging` with a namespace dict, a function `logging.shutdown`,
    /// a class `logging.Logger` (its dict has `__module__`), one Logger, and
    /// a function of `logging.handlers`.
    fn logging_heap() -> Heap {
        let mut m = Mk::new();
        let s_module = m.obj("str", 60, "__module__");
        let s_logging = m.obj("str", 56, "logging");
        let s_handlers = m.obj("str", 65, "logging.handlers");
        let s_name = m.obj("str", 57, "__name__");
        let module = m.obj("module", 72, "logging");
        let ns = m.obj("dict", 4000, "logging namespace, 108 items");
        m.named(module, ns, "__dict__");
        m.entry(ns, s_name, s_logging);
        let f = m.obj("function", 160, "logging.shutdown");
        m.named(f, s_logging, "__module__");
        let cls = m.obj("type", 1000, "logging.Logger");
        let cls_dict = m.obj("dict", 600, "len=20");
        m.named(cls, cls_dict, "__dict__");
        m.named(cls, cls, "__mro__");
        m.entry(cls_dict, s_module, s_logging);
        let method = m.obj("function", 160, "logging.handlers.RotatingFileHandler.emit");
        m.named(method, s_handlers, "__module__");
        m.obj("logging.Logger", 48, "");
        m.obj("dict", 200, "len=3");
        m.obj("dict", 200, "len=3");
        m.b.finish().unwrap()
    }

    fn find<'a>(groups: &'a [Group], key: &str) -> &'a Group {
        groups.iter().find(|g| g.key == key).unwrap_or_else(|| panic!("no group {key} in {groups:?}"))
    }

    #[test]
    fn by_type_counts_and_sizes_sorted_by_count() {
        let h = logging_heap();
        let t = typestats(&h, By::Type, Scope::ALL);
        assert_eq!(t[0], Group { key: "dict".into(), count: 4, size: 5000 });
        assert_eq!(t[1], Group { key: "str".into(), count: 4, size: 238 });
        assert_eq!(find(&t, "function").count, 2);
        let tracked = typestats(&h, By::Type, Scope::TRACKED);
        assert!(tracked.iter().all(|g| g.key != "str"), "strs are not tracked: {tracked:?}");
        let by_size = typestats(&h, By::Size, Scope::ALL);
        assert_eq!(by_size.iter().map(|g| g.key.as_str()).take(3).collect::<Vec<_>>(), ["dict", "type", "function"]);
    }

    #[test]
    fn modules_count_namespace_and_class_dicts_only() {
        let h = logging_heap();
        let t = typestats(&h, By::Module, Scope::ALL);
        // The namespace and Logger's class dict; not the module object, the
        // function or the class itself, as the seed's showMemoryByModule.
        assert_eq!(t, vec![Group { key: "logging".into(), count: 2, size: 4000 + 600 }]);
    }

    #[test]
    fn a_dicts_module_is_its_name_else_its_module_read_from_its_entries() {
        let mut m = Mk::new();
        let s_module = m.obj("str", 60, "__module__");
        let s_name = m.obj("str", 57, "__name__");
        let s_handlers = m.obj("str", 65, "logging.handlers");
        let s_other = m.obj("str", 54, "other");
        let s_empty = m.obj("str", 49, "");
        // A class dict: only `__module__`, and a label that names nothing.
        let cls_dict = m.obj("dict", 600, "len=12");
        m.entry(cls_dict, s_module, s_handlers);
        // `__name__` wins over `__module__`, whatever the entry order.
        let both = m.obj("dict", 300, "len=2");
        m.entry(both, s_module, s_other);
        m.entry(both, s_name, s_handlers);
        // An empty `__name__` falls back to `__module__`, as `or` does in the seed.
        let empty = m.obj("dict", 200, "len=2");
        m.entry(empty, s_name, s_empty);
        m.entry(empty, s_module, s_other);
        // A str under another key, or a non-str under `__name__`, names nothing.
        let plain = m.obj("dict", 100, "len=2");
        let not_str = m.obj("int", 28, "7");
        m.entry(plain, s_other, s_handlers);
        m.entry(plain, s_name, not_str);
        let h = m.b.finish().unwrap();
        let t = typestats(&h, By::Module, Scope::ALL);
        assert_eq!(
            t,
            vec![Group { key: "logging.handlers".into(), count: 2, size: 900 }, Group { key: "other".into(), count: 1, size: 200 }]
        );
    }

    #[test]
    fn qualnames_group_functions_and_classes() {
        let h = logging_heap();
        let t = typestats(&h, By::Qualname, Scope::ALL);
        let keys: Vec<&str> = t.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys.len(), 3);
        for k in ["logging.shutdown", "logging.Logger", "logging.handlers.RotatingFileHandler.emit"] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn type_names_match_short_or_qualified() {
        assert!(type_matches("logging.Logger", "Logger"));
        assert!(type_matches("logging.Logger", "logging.Logger"));
        assert!(!type_matches("logging.Logger", "other.Logger"));
        assert!(type_matches("dict", "dict"));
        assert!(!type_matches("dict", "OrderedDict"));
        assert!(type_matches("dict", "builtins.dict"));
        assert!(!type_matches("collections.OrderedDict", "builtins.OrderedDict"));
        let h = logging_heap();
        assert_eq!(by_type(&h, "Logger", Scope::TRACKED).len(), 1);
        assert_eq!(by_type(&h, "dict", Scope::ALL).len(), 4);
        assert_eq!(by_type(&h, "str", Scope::TRACKED).len(), 0);
    }

    #[test]
    fn growth_lists_what_grew_with_deltas_and_new_objects_match_on_address_and_type() {
        let mut a = Mk::new();
        a.at(0x10, "dict", 100, "", true);
        a.at(0x20, "list", 56, "", true);
        a.at(0x30, "list", 56, "", true);
        a.at(0x40, "function", 160, "m.f", true);
        let older = a.b.finish().unwrap();
        let mut b = Mk::new();
        b.at(0x10, "dict", 100, "", true);
        // 0x20 was freed; a dict took its place: new, though the address is old.
        b.at(0x20, "dict", 232, "", true);
        b.at(0x30, "list", 88, "", true);
        b.at(0x40, "function", 160, "m.f", true);
        b.at(0x50, "function", 160, "m.f", true);
        let newer = b.b.finish().unwrap();
        let g = growth(&older, &newer, By::Type, Scope::TRACKED);
        assert_eq!(
            g,
            vec![
                Growth { key: "dict".into(), count: 2, size: 332, count_delta: 1, size_delta: 232 },
                Growth { key: "function".into(), count: 2, size: 320, count_delta: 1, size_delta: 160 },
            ],
            "lists shrank in number: not growth"
        );
        let new: Vec<u64> = new_objects(&older, &newer, Scope::TRACKED).iter().map(|&ix| newer.node(ix).addr()).collect();
        assert_eq!(new, [0x20, 0x50]);
        assert!(growth(&newer, &newer, By::Module, Scope::ALL).is_empty());
    }

    #[test]
    fn size_growth_counts_even_when_the_count_is_flat() {
        let mut a = Mk::new();
        a.at(0x10, "list", 56, "", true);
        let older = a.b.finish().unwrap();
        let mut b = Mk::new();
        b.at(0x10, "list", 9000, "", true);
        let newer = b.b.finish().unwrap();
        let g = growth(&older, &newer, By::Size, Scope::ALL);
        assert_eq!(g, vec![Growth { key: "list".into(), count: 1, size: 9000, count_delta: 0, size_delta: 8944 }]);
        assert!(new_objects(&older, &newer, Scope::ALL).is_empty());
    }

    #[test]
    fn synthetic_holders_are_never_counted() {
        let mut m = Mk::new();
        m.b.add_node(&NodeData { addr: 0x10, type_name: "frame".into(), flags: NodeFlags(NodeFlags::SYNTHETIC), ..Default::default() });
        m.at(0x20, "frame", 400, "", true);
        let h = m.b.finish().unwrap();
        assert_eq!(typestats(&h, By::Type, Scope::ALL), vec![Group { key: "frame".into(), count: 1, size: 400 }]);
        assert_eq!(by_type(&h, "frame", Scope::ALL).len(), 1);
    }

    #[test]
    fn unreferenced_objects_are_tracked_ones_nothing_refers_to() {
        let mut m = Mk::new();
        let lone = m.at(0x10, "list", 56, "", true);
        let held = m.at(0x20, "list", 56, "", true);
        let selfish = m.at(0x30, "list", 56, "", true);
        m.at(0x40, "str", 50, "x", false);
        m.b.add_edge(lone, held, EdgeLabel::new(EdgeKind::Index(0)));
        m.b.add_edge(selfish, selfish, EdgeLabel::new(EdgeKind::Index(0)));
        let h = m.b.finish().unwrap();
        assert_eq!(unreferenced(&h), vec![lone], "untracked objects are not asked about");
    }

    #[test]
    fn groupings_parse_from_their_names() {
        for by in By::ALL {
            assert_eq!(by.name().parse::<By>(), Ok(by));
        }
        assert_eq!("retained".parse::<By>(), Err(UnknownBy("retained".into())));
    }
}
