//! A heap made by a test: objects with types, references, names and counts
//! held in plain Rust collections, behind [`HeapSource`]. It lets the whole
//! capture (walk, both cores, labels, observers, frames, roots, counts) run
//! under `cargo test` and be checked against what the test built.
//!
//! Reference counts are derived the way CPython keeps them: every reference
//! an object's structure holds counts one (dict keys included, although a
//! str-keyed dict's traversal does not report them), plus what the test says
//! is held from outside (C state, the caller's stack).

use std::collections::BTreeMap;

use super::source::{Addr, Facts, Field, FrameData, HeapSource, Kind, Names, RefCount, Shape, Str, Text, ThreadFrames, Tracked};

/// What an object is made of.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    Str(String),
    Int(i64),
    None,
    Dict(Vec<(Addr, Addr)>),
    List(Vec<Addr>),
    Tuple(Vec<Addr>),
    Module {
        dict: Addr,
    },
    Function {
        globals: Addr,
        module: Addr,
        qualname: Addr,
    },
    /// An instance of a class: its `__dict__` if made, attribute values kept
    /// without one (`(name str, value)`), and slots.
    Instance {
        dict: Option<Addr>,
        attrs: Vec<(Addr, Addr)>,
        slots: Vec<(&'static str, Addr)>,
    },
    Type,
    /// Anything else: what it refers to, unlabelled.
    Opaque(Vec<Addr>),
}

#[derive(Clone, Debug)]
struct Obj {
    ty: Addr,
    body: Body,
    tracked: bool,
    immortal: bool,
    /// References from outside the heap's objects (C state, a caller).
    outside: u64,
}

/// The test's heap. Addresses grow from a base, 64 bytes apart.
pub(crate) struct FakeHeap {
    objects: BTreeMap<Addr, Obj>,
    types: BTreeMap<Addr, (String, Shape)>,
    next: Addr,
    pub threads: Vec<ThreadFrames>,
    pub holders: Vec<(Addr, String)>,
    pub modules: Vec<(String, Addr)>,
    /// An object list the source makes (pre-3.12 style), holding one
    /// reference on each tracked object.
    pub list: Option<Addr>,
    pub type_type: Addr,
    /// C members of a type, `(offset, name)`: an `Opaque` object's referent
    /// `i` sits at offset `16 + 8 * i`.
    pub members: BTreeMap<Addr, Vec<(usize, &'static str)>>,
}

impl FakeHeap {
    pub fn new() -> FakeHeap {
        let mut h = FakeHeap {
            objects: BTreeMap::new(),
            types: BTreeMap::new(),
            next: 0x10_0000,
            threads: Vec::new(),
            holders: Vec::new(),
            modules: Vec::new(),
            list: None,
            type_type: 0,
            members: BTreeMap::new(),
        };
        h.type_type = h.new_type("type", Kind::Type, false);
        // `type` is its own type.
        h.objects.get_mut(&h.type_type).unwrap().ty = h.type_type;
        h
    }

    fn alloc(&mut self) -> Addr {
        let a = self.next;
        self.next += 64;
        a
    }

    /// A type object; its instances are described by `kind`.
    pub fn new_type(&mut self, name: &str, kind: Kind, heap_type: bool) -> Addr {
        let a = self.alloc();
        let ty = self.type_type;
        self.objects.insert(a, Obj { ty, body: Body::Type, tracked: true, immortal: false, outside: 1 });
        self.types.insert(a, (name.to_string(), Shape { kind, exact: true, heap_type, c_base: false }));
        a
    }

    /// The type with this name, made on first use.
    pub fn ty(&mut self, name: &str, kind: Kind) -> Addr {
        match self.types.iter().find(|(_, t)| t.0 == name) {
            Some((&a, _)) => a,
            None => self.new_type(name, kind, false),
        }
    }

    pub fn add(&mut self, ty: Addr, body: Body, tracked: bool) -> Addr {
        let a = self.alloc();
        self.objects.insert(a, Obj { ty, body, tracked, immortal: false, outside: 0 });
        a
    }

    pub fn str(&mut self, text: &str) -> Addr {
        let t = self.ty("str", Kind::Str);
        self.add(t, Body::Str(text.to_string()), false)
    }

    pub fn int(&mut self, v: i64) -> Addr {
        let t = self.ty("int", Kind::Int);
        self.add(t, Body::Int(v), false)
    }

    pub fn none(&mut self) -> Addr {
        let t = self.ty("NoneType", Kind::None);
        self.add(t, Body::None, false)
    }

    pub fn dict(&mut self, entries: Vec<(Addr, Addr)>) -> Addr {
        let t = self.ty("dict", Kind::Dict);
        self.add(t, Body::Dict(entries), true)
    }

    pub fn list(&mut self, items: Vec<Addr>) -> Addr {
        let t = self.ty("list", Kind::List);
        self.add(t, Body::List(items), true)
    }

    pub fn tuple(&mut self, items: Vec<Addr>) -> Addr {
        let t = self.ty("tuple", Kind::Tuple);
        self.add(t, Body::Tuple(items), true)
    }

    /// A module with a namespace whose first entries are `__name__` and
    /// `__doc__`, as CPython makes them; returns `(module, namespace)`.
    pub fn module(&mut self, name: &str, more: &[(&str, Addr)]) -> (Addr, Addr) {
        let (n, doc) = (self.str(name), self.none());
        let mut entries = vec![(self.str("__name__"), n), (self.str("__doc__"), doc)];
        entries.extend(more.iter().map(|&(k, v)| (self.str(k), v)));
        let ns = self.dict(entries);
        let t = self.ty("module", Kind::Module);
        (self.add(t, Body::Module { dict: ns }, true), ns)
    }

    pub fn function(&mut self, module: &str, qualname: &str, globals: Addr) -> Addr {
        let (m, q) = (self.str(module), self.str(qualname));
        let t = self.ty("function", Kind::Function);
        self.add(t, Body::Function { globals, module: m, qualname: q }, true)
    }

    /// References to `o` from outside the heap's objects.
    pub fn hold(&mut self, o: Addr, refs: u64) {
        self.objects.get_mut(&o).expect("no such object").outside += refs;
    }

    pub fn set_immortal(&mut self, o: Addr) {
        self.objects.get_mut(&o).expect("no such object").immortal = true;
    }

    /// Everything `o`'s structure holds, each reference once.
    fn holds(&self, o: &Obj) -> Vec<Addr> {
        let mut out = Vec::new();
        match &o.body {
            Body::Dict(e) => e.iter().for_each(|&(k, v)| out.extend([k, v])),
            Body::List(items) | Body::Tuple(items) | Body::Opaque(items) => out.extend(items),
            Body::Module { dict } => out.push(*dict),
            Body::Function { globals, module, qualname } => out.extend([*globals, *module, *qualname]),
            Body::Instance { dict, attrs, slots } => {
                out.extend(dict);
                out.extend(attrs.iter().map(|a| a.1));
                out.extend(slots.iter().map(|s| s.1));
            }
            Body::Str(_) | Body::Int(_) | Body::None | Body::Type => {}
        }
        if self.types.get(&o.ty).is_some_and(|t| t.1.heap_type) {
            out.push(o.ty);
        }
        out
    }

    /// CPython's count: references from objects, the type's from its
    /// instances, keys a traversal skips, and those from outside.
    fn count(&self, target: Addr) -> u64 {
        let from_objects = self.objects.values().flat_map(|o| self.holds(o)).filter(|&r| r == target).count() as u64;
        let listed = u64::from(self.list.is_some() && self.objects[&target].tracked);
        from_objects + self.objects[&target].outside + listed
    }

    fn obj(&self, o: Addr) -> &Obj {
        self.objects.get(&o).unwrap_or_else(|| panic!("the capture asked about {o:#x}, which the fake heap never reported"))
    }

    fn text(&self, o: Addr) -> Option<&str> {
        match &self.objects.get(&o)?.body {
            Body::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl HeapSource for FakeHeap {
    fn facts(&self) -> Facts {
        Facts { collector: "fake".into(), python_version: "fake".into(), python: (3, 99), pid: 1, argv: vec!["test".into()] }
    }

    fn tracked(&mut self) -> Tracked {
        let mut addrs: Vec<Addr> = self.objects.iter().filter(|(_, o)| o.tracked).map(|(&a, _)| a).collect();
        // Listed in no particular order, as a collector's lists are.
        addrs.reverse();
        Tracked { addrs, list: self.list }
    }

    fn threads(&mut self) -> Vec<ThreadFrames> {
        self.threads.clone()
    }

    fn holders(&mut self) -> Vec<(Addr, String)> {
        self.holders.clone()
    }

    fn modules(&self) -> Vec<(String, Addr)> {
        self.modules.clone()
    }

    fn notes(&self) -> Vec<String> {
        vec!["a fake heap".into()]
    }

    unsafe fn type_of(&self, o: Addr) -> Addr {
        self.obj(o).ty
    }

    unsafe fn shape(&self, ty: Addr) -> Shape {
        self.types[&ty].1
    }

    unsafe fn type_name(&self, ty: Addr) -> String {
        self.types[&ty].0.clone()
    }

    unsafe fn refcount(&self, o: Addr) -> RefCount {
        match self.obj(o).immortal {
            true => RefCount::Immortal,
            false => RefCount::Count(self.count(o)),
        }
    }

    unsafe fn traverse(&self, o: Addr, out: &mut Vec<Addr>) {
        let obj = self.obj(o);
        match &obj.body {
            // A traversal reports a str-keyed dict's values only, as CPython's does.
            Body::Dict(e) if e.iter().all(|&(k, _)| self.text(k).is_some()) => out.extend(e.iter().map(|e| e.1)),
            _ => out.extend(self.holds(obj)),
        }
    }

    unsafe fn shallow_size(&self, o: Addr, _ty: Addr, _kind: Kind) -> u64 {
        let obj = self.obj(o);
        let items = match &obj.body {
            Body::Str(s) => s.len() as u64,
            Body::Dict(e) => 16 * e.len() as u64,
            Body::List(i) | Body::Tuple(i) => 8 * i.len() as u64,
            _ => 0,
        };
        32 + items + if obj.tracked { 16 } else { 0 }
    }

    unsafe fn str_of(&self, o: Addr) -> Option<Str<'_>> {
        let text = self.text(o)?;
        let t = if text.is_ascii() { Text::Ascii(text.as_bytes()) } else { Text::Utf8(text.as_bytes()) };
        Some(Str { text: t, exact: true })
    }

    unsafe fn int_value(&self, o: Addr) -> Option<i64> {
        match self.obj(o).body {
            Body::Int(v) => Some(v),
            _ => None,
        }
    }

    unsafe fn float_value(&self, _o: Addr) -> f64 {
        0.0
    }

    unsafe fn len(&self, o: Addr) -> usize {
        match &self.obj(o).body {
            Body::Dict(e) => e.len(),
            Body::List(i) | Body::Tuple(i) => i.len(),
            _ => 0,
        }
    }

    unsafe fn dict_entries(&self, d: Addr, mut f: impl FnMut(Addr, Addr) -> bool) {
        if let Body::Dict(e) = &self.obj(d).body {
            for &(k, v) in e {
                if !f(k, v) {
                    break;
                }
            }
        }
    }

    unsafe fn items(&self, o: Addr) -> &[Addr] {
        match &self.obj(o).body {
            Body::List(i) | Body::Tuple(i) => i,
            _ => &[],
        }
    }

    unsafe fn fields(&self, o: Addr, _kind: Kind, mut f: impl FnMut(Addr, Field<'_>)) {
        match self.obj(o).body {
            Body::Module { dict } => f(dict, Field::Name("__dict__")),
            Body::Function { globals, module, qualname } => {
                f(globals, Field::Name("__globals__"));
                f(module, Field::Name("__module__"));
                f(qualname, Field::Name("__qualname__"));
            }
            _ => {}
        }
    }

    unsafe fn instance_fields(&self, o: Addr, _ty: Addr, mut f: impl FnMut(Addr, Field<'_>)) {
        if let Body::Instance { dict, attrs, slots } = &self.obj(o).body {
            if let Some(d) = dict {
                f(*d, Field::Name("__dict__"));
            }
            for &(name, value) in attrs {
                f(value, Field::Attr(name));
            }
            for &(name, value) in slots {
                f(value, Field::Slot(name));
            }
        }
    }

    unsafe fn type_members(&self, ty: Addr, f: &mut dyn FnMut(usize, &str)) {
        for &(offset, name) in self.members.get(&ty).into_iter().flatten() {
            f(offset, name);
        }
    }

    unsafe fn member(&self, o: Addr, offset: usize) -> Addr {
        match &self.obj(o).body {
            Body::Opaque(refs) => refs.get((offset - 16) / 8).copied().unwrap_or(0),
            _ => 0,
        }
    }

    unsafe fn names(&self, o: Addr, kind: Kind) -> Names<'_> {
        let text = |a: Addr| self.text(a).map(|s| Text::Ascii(s.as_bytes()));
        match (&self.obj(o).body, kind) {
            (&Body::Function { module, qualname, .. }, Kind::Function) => Names { module: text(module), name: text(qualname) },
            // SAFETY: a module's namespace is a dict of this heap.
            (&Body::Module { dict }, Kind::Module) => Names { module: None, name: unsafe { super::source::module_name(self, dict) } },
            _ => Names::default(),
        }
    }
}

/// A frame of the current thread or another, holding `locals` by name.
pub(crate) fn frame(depth: u32, addr: Addr, function: &str, locals: &[(Addr, Addr)]) -> FrameData {
    FrameData {
        depth,
        addr,
        object: None,
        frame_object: None,
        refs: locals.iter().map(|&(value, name)| (value, Field::Local(name))).collect(),
        function: function.to_string(),
        stack_unsure: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{capture, Observers, Spawn};
    use super::*;
    use crate::graph::{EdgeKind, Heap, NodeIx, RootKind};
    use crate::paths::{root_paths, PathOptions};

    fn capture_of(h: &mut FakeHeap, obs: &Observers) -> Heap {
        capture(h, obs, Spawn::default()).expect("capture")
    }

    fn node(heap: &Heap, addr: Addr) -> NodeIx {
        heap.find_addr(addr as u64).unwrap_or_else(|| panic!("{addr:#x} is no node"))
    }

    /// `(edge label, referent label)` of every edge out of `addr`.
    fn edges_out(heap: &Heap, addr: Addr) -> Vec<(String, String)> {
        heap.out_edges(node(heap, addr)).map(|e| (heap.edge_label_text(e.label), heap.node(e.to).label().to_string())).collect()
    }

    /// The seed's shape: a stale `logging` namespace that only
    /// `logging.shutdown` keeps, itself held by an atexit slot in C.
    fn seed() -> (FakeHeap, Addr, Addr) {
        let mut h = FakeHeap::new();
        let (sys, _) = h.module("sys", &[]);
        h.modules.push(("sys".into(), sys));
        let level = h.int(30);
        let (_, ns) = h.module("logging", &[("WARNING", level)]);
        let shutdown = h.function("logging", "shutdown", ns);
        h.hold(shutdown, 1);
        h.holders.push((shutdown, "atexit callback #1".into()));
        // The stale module object itself is gone; only its namespace lives.
        (h, ns, shutdown)
    }

    #[test]
    fn stale_logging_namespace_is_held_by_shutdown_through_an_atexit_slot() {
        let (mut h, ns, shutdown) = seed();
        let heap = capture_of(&mut h, &Observers::default());
        let d = node(&heap, ns);
        assert_eq!(heap.node(d).label(), "logging namespace, 3 items");
        assert_eq!(heap.node(node(&heap, shutdown)).label(), "logging.shutdown");
        let paths = root_paths(&heap, d, PathOptions::default(), |_| true);
        assert_eq!(paths.len(), 1, "one root retains the namespace");
        let root = heap.roots_of(paths[0].root()).next().unwrap();
        assert_eq!(root.kind, RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 });
        let edge = heap.edge_between(node(&heap, shutdown), d).expect("shutdown holds its globals");
        assert_eq!(heap.edge_label_text(edge.label), "__globals__");
    }

    #[test]
    fn every_edge_is_labelled_from_structure() {
        let mut h = FakeHeap::new();
        let (a, b) = (h.int(1), h.int(2));
        let key = h.str("key");
        let t = h.tuple(vec![a, b]);
        let l = h.list(vec![t, a]);
        let d = h.dict(vec![(key, l)]);
        let class = h.new_type("app.Thing", Kind::Other, true);
        let name = h.str("name");
        let v = h.str("value");
        let inst = h.add(class, Body::Instance { dict: Some(d), attrs: vec![(name, v)], slots: vec![("x", b)] }, true);
        h.hold(inst, 1);
        let heap = capture_of(&mut h, &Observers::default());
        assert_eq!(edges_out(&heap, t), vec![("[0]".into(), "1".into()), ("[1]".into(), "2".into())]);
        assert_eq!(edges_out(&heap, l), vec![("[0]".into(), "len=2".into()), ("[1]".into(), "1".into())]);
        assert_eq!(edges_out(&heap, d), vec![("['key']".into(), "len=2".into())], "a str key is named, not walked");
        let mut from_inst = edges_out(&heap, inst);
        from_inst.sort();
        assert_eq!(
            from_inst,
            vec![
                (".name".into(), "value".into()),
                (".x".into(), "2".into()),
                ("__class__".into(), "app.Thing".into()),
                ("__dict__".into(), "len=1".into()),
            ]
        );
        // The key a label names is a node, with its text.
        let label = heap.out_edges(node(&heap, d)).next().unwrap().label;
        let EdgeKind::DictValue(k) = label.kind() else { panic!("{label:?}") };
        assert_eq!(heap.node(k).label(), "key");
    }

    #[test]
    fn c_members_and_set_members_are_labelled() {
        let mut h = FakeHeap::new();
        let (a, b, c) = (h.list(vec![]), h.list(vec![]), h.list(vec![]));
        let ty = h.new_type("_collections._tuplegetter", Kind::Other, false);
        h.members.insert(ty, vec![(16, "__doc__"), (24, "other")]);
        // The third referent is no member: it stays unlabelled.
        let getter = h.add(ty, Body::Opaque(vec![a, b, c]), true);
        let set_ty = h.ty("set", Kind::Set);
        let set = h.add(set_ty, Body::Opaque(vec![a, c]), true);
        h.hold(getter, 1);
        h.hold(set, 1);
        let heap = capture_of(&mut h, &Observers::default());
        let labels = |o| edges_out(&heap, o).into_iter().map(|e| e.0).collect::<Vec<_>>();
        assert_eq!(labels(getter), vec!["__doc__", "other", ""]);
        assert_eq!(labels(set), vec!["{}", "{}"]);
    }

    #[test]
    fn unsure_stack_words_are_edges_only_where_they_explain_a_surplus() {
        let mut h = FakeHeap::new();
        // Held only by the thread's stack: a surplus of one.
        let on_stack = h.dict(vec![]);
        h.hold(on_stack, 1);
        // Held by a list: no surplus; a stale word names it.
        let held = h.list(vec![]);
        let holder = h.list(vec![held]);
        h.hold(holder, 1);
        let mut f = frame(0, 0x9000_0000, "worker", &[]);
        // Twice on the stack (one stale), an unknown word, the held list.
        f.stack_unsure = vec![(on_stack, 0), (on_stack, 1), (0x7777_0000, 2), (held, 3)];
        h.threads.push(ThreadFrames { thread: 7, current: false, frames: vec![f] });
        let heap = capture_of(&mut h, &Observers::default());
        let frame_edges = edges_out(&heap, 0x9000_0000);
        assert_eq!(frame_edges, vec![("stack[0]".to_string(), "len=0".to_string())]);
        let d = node(&heap, on_stack);
        assert!(heap.roots_of(d).next().is_none(), "no longer held from outside");
        let paths = root_paths(&heap, d, PathOptions::default(), |_| true);
        assert_eq!(heap.node(paths[0].root()).addr(), 0x9000_0000);
        assert_eq!(heap.edge_count(), 2);
    }

    #[test]
    fn counts_leave_out_the_object_list_and_what_observers_hold() {
        let mut h = FakeHeap::new();
        let target = h.list(vec![]);
        let other = h.list(vec![target]);
        h.hold(other, 1);
        // The caller holds `target` as an argument, and `objs` holds it too.
        let objs = h.list(vec![target]);
        h.hold(target, 1);
        h.hold(objs, 1);
        h.list = Some(h.add(h.type_type, Body::Opaque(vec![]), false));
        let obs = Observers { frames: 0, args: vec![target], containers: vec![objs], ignore: vec![], ..Default::default() };
        let heap = capture_of(&mut h, &obs);
        assert!(heap.find_addr(objs as u64).is_none(), "the container is no node");
        assert!(heap.find_addr(h.list.unwrap() as u64).is_none(), "the object list is no node");
        let t = heap.node(node(&heap, target));
        assert_eq!(t.refcount(), 1, "only `other` holds it for real");
        assert!(heap.roots_of(node(&heap, target)).next().is_none(), "nothing from outside holds it");
        assert_eq!(heap.node(node(&heap, other)).refcount(), 1);
        assert_eq!(heap.meta.observer_objects, 2);
    }

    #[test]
    fn surplus_references_make_held_from_outside_roots_but_not_for_immortals() {
        let mut h = FakeHeap::new();
        let held = h.list(vec![]);
        h.hold(held, 2);
        let immortal = h.list(vec![]);
        h.hold(immortal, 5);
        h.set_immortal(immortal);
        let heap = capture_of(&mut h, &Observers::default());
        let kinds: Vec<_> = heap.roots_of(node(&heap, held)).map(|r| r.kind.clone()).collect();
        assert_eq!(kinds, vec![RootKind::HeldFromOutside { surplus: 2 }]);
        assert!(heap.roots_of(node(&heap, immortal)).next().is_none());
        assert!(heap.node(node(&heap, immortal)).flags().immortal());
    }

    #[test]
    fn the_callers_frames_are_left_out_and_other_threads_frames_are_roots() {
        let mut h = FakeHeap::new();
        let payload = h.list(vec![]);
        let name = h.str("payload");
        let mine = h.list(vec![]);
        let mine_name = h.str("mine");
        // Frames hold references that count, as CPython's do.
        h.hold(payload, 1);
        h.hold(mine, 1);
        h.threads = vec![
            ThreadFrames { thread: 7, current: true, frames: vec![frame(0, 0x9000_0000, "caller", &[(mine, mine_name)])] },
            ThreadFrames { thread: 8, current: false, frames: vec![frame(0, 0x9000_1000, "worker", &[(payload, name)])] },
        ];
        let heap = capture_of(&mut h, &Observers { frames: 1, ..Default::default() });
        assert!(heap.find_addr(0x9000_0000).is_none(), "the caller's frame is no node");
        let m = node(&heap, mine);
        assert_eq!(heap.node(m).refcount(), 0, "the caller's reference is subtracted");
        assert!(heap.roots_of(m).next().is_none());
        let p = node(&heap, payload);
        let paths = root_paths(&heap, p, PathOptions::default(), |_| true);
        let root = heap.roots_of(paths[0].root()).next().unwrap();
        assert_eq!(root.kind, RootKind::Frame { thread: 8, depth: 0, function: "worker".into() });
        let edge = heap.edge_between(paths[0].root(), p).unwrap();
        assert_eq!(heap.edge_label_text(edge.label), "f_locals['payload']");
        assert!(heap.roots_of(p).next().is_none(), "a frame's reference is no surplus");
    }

    #[test]
    fn a_capture_without_a_second_thread_is_the_same_capture() {
        let (mut h, ..) = seed();
        let two = capture_of(&mut h, &Observers::default());
        let one = capture(&mut h, &Observers::default(), Spawn { stack_size: Some(usize::MAX) }).expect("inline capture");
        let dump = |heap: &Heap| {
            let nodes: Vec<_> = heap.nodes().map(|n| (n.addr(), n.type_name().to_string(), n.label().to_string(), n.refcount())).collect();
            let edges: Vec<_> = (0..heap.node_count())
                .flat_map(|i| heap.out_edges(NodeIx::new(i)).map(move |e| (i, e.to.index(), e.label)).collect::<Vec<_>>())
                .collect();
            (nodes, edges, heap.roots().to_vec())
        };
        assert_eq!(dump(&one), dump(&two));
        assert!(two.node_count() > 10);
    }

    #[test]
    fn untracked_leaves_become_nodes_and_only_tracked_objects_say_so() {
        let (mut h, ns, _) = seed();
        let heap = capture_of(&mut h, &Observers::default());
        assert!(heap.node(node(&heap, ns)).flags().tracked());
        let thirty = heap.nodes().find(|n| n.label() == "30").expect("the int is a node");
        assert!(!thirty.flags().tracked());
        assert_eq!(thirty.type_name(), "int");
        assert_eq!(heap.meta.collector, "fake");
        assert!(heap.meta.phases.iter().any(|(p, _)| p == "walk"));
    }

    /// Writes `h` captured both ways and reads both files back: the same
    /// nodes, edges, labels and roots as the heap captured in memory.
    fn streamed_equals_captured(h: &mut FakeHeap) {
        let heap = capture_of(h, &Observers::default());
        let dir = tempfile::tempdir().unwrap();
        let parts = super::super::capture_parts(h, &Observers::default(), Spawn::default(), dir.path()).expect("capture");
        let (streamed, whole) = (dir.path().join("streamed.rgs"), dir.path().join("whole.rgs"));
        assert!(parts.parts.nodes.is_empty() && parts.parts.csr.to.is_empty());
        assert_eq!((parts.node_count(), parts.edge_count()), (heap.node_count(), heap.edge_count()));
        parts.write(&streamed).unwrap();
        crate::snapshot::write_snapshot(&heap, &whole).unwrap();
        let (a, b) = (crate::snapshot::read_snapshot(&streamed).unwrap(), crate::snapshot::read_snapshot(&whole).unwrap());
        let dump = |heap: &Heap| {
            let nodes: Vec<_> = heap
                .nodes()
                .map(|n| (n.addr(), n.type_name().to_string(), n.label().to_string(), n.refcount(), n.size(), n.flags()))
                .collect();
            let edges: Vec<_> = (0..heap.node_count())
                .flat_map(|i| heap.out_edges(NodeIx::new(i)).map(move |e| (i, e.to.index(), e.label)).collect::<Vec<_>>())
                .collect();
            (nodes, edges, heap.roots().to_vec(), heap.meta.collector.clone(), heap.meta.notes.clone())
        };
        assert_eq!(dump(&a), dump(&b));
        assert_eq!(dump(&a), dump(&heap));
        // Only the two snapshots: the spill file never had a name.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // A folder that does not exist: an error, and no file.
        let missing = dir.path().join("no/such/heap.rgs");
        let parts = super::super::capture_parts(h, &Observers::default(), Spawn::default(), &missing).unwrap();
        assert!(parts.write(&missing).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_streamed_capture_reads_back_as_the_captured_heap() {
        let (mut h, ..) = seed();
        streamed_equals_captured(&mut h);
    }

    #[test]
    fn a_streamed_capture_spilled_in_many_chunks_reads_back_as_the_captured_heap() {
        // Past the chunks a streamed capture keeps in memory (in tests: 256
        // edges, 1 KiB of a node column): lists of ints and dicts whose str
        // keys label their values, so that rows, keys and nodes all
        // straddle chunks.
        let (mut h, ..) = seed();
        let mut lists = Vec::new();
        for l in 0..8 {
            let mut items = Vec::new();
            for i in 0..300 {
                items.push(h.int(l * 100_000 + i));
            }
            for i in 0..40 {
                let (k, v) = (h.str(&format!("key{i}")), h.int(i));
                let (k2, v2) = (h.str("shared"), h.str(&format!("text {l} {i}")));
                items.push(h.dict(vec![(k, v), (k2, v2)]));
            }
            lists.push(h.list(items));
        }
        let all = h.list(lists);
        h.hold(all, 1);
        streamed_equals_captured(&mut h);
    }

    #[test]
    fn without_strings_a_str_is_its_length_but_keys_keep_their_names() {
        let mut h = FakeHeap::new();
        let key = h.str("password");
        let secret = h.str("hunter2-\u{e9}t\u{e9}");
        let lone = h.str("s3cr3t token");
        let d = h.dict(vec![(key, secret)]);
        let keep = h.list(vec![d, lone]);
        h.hold(keep, 1);
        let heap = capture_of(&mut h, &Observers { redact_strings: true, ..Default::default() });
        assert!(heap.meta.redacted_strings);
        assert_eq!(heap.node(node(&heap, secret)).label(), "len=11");
        assert_eq!(heap.node(node(&heap, lone)).label(), "len=12");
        assert_eq!(heap.node(node(&heap, key)).label(), "password", "a dict key is a name");
        let e = heap.out_edges(node(&heap, d)).find(|e| e.to == node(&heap, secret)).unwrap();
        assert_eq!(heap.edge_label_text(e.label), "['password']");
        assert!(heap.nodes().all(|n| !n.label().contains("hunter2") && !n.label().contains("s3cr3t")));
        let plain = capture_of(&mut h, &Observers::default());
        assert!(!plain.meta.redacted_strings);
        assert!(plain.nodes().any(|n| n.label() == "s3cr3t token"));
    }
}
