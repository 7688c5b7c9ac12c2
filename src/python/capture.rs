//! The in-process capture: every object the garbage collector tracks, walked
//! with its own type's `tp_traverse` from Rust, into a [`Heap`].
//!
//! Rules this module lives by (refgraph runs inside production processes):
//! - It runs no Python code of any object: `tp_traverse` is C, labels come
//!   from structure (`labels.rs`), and automatic collections (which would run
//!   `__del__` and gc callbacks) are switched off for the duration.
//! - It allocates nothing that ends up in the graph. The only Python object it
//!   makes is the list from `gc.get_objects()`, which CPython leaves out of its
//!   own answer; its one reference per object is subtracted.
//! - Observer references — the caller's frame, the arguments it passed, the
//!   containers of targets (`objs` of `show_backrefs`) — appear in no node or
//!   edge and are subtracted from reference counts exactly.

use std::os::raw::{c_int, c_void};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::graph::{EdgeLabel, Heap, HeapBuilder, NodeFlags, NodeIx};
use crate::roots::{Root, RootKind};
use crate::snapshot::Meta;

use super::frames::{Frame, FrameReader};
use super::labels::{self, Names};
use super::types::KnownTypes;

/// What the caller of a refgraph function holds while it runs.
#[derive(Default)]
pub(crate) struct Observers {
    /// How many of the current thread's newest Python frames belong to the
    /// caller (1: the frame that called refgraph directly).
    pub frames: usize,
    /// Arguments passed in: each holds one reference from the caller's stack.
    pub args: Vec<*mut ffi::PyObject>,
    /// Argument containers to leave out altogether (objgraph ignores `objs`).
    pub containers: Vec<*mut ffi::PyObject>,
    /// Addresses the caller asked to ignore (objgraph's `extra_ignore`).
    pub ignore: Vec<usize>,
}

/// Capture state shared by the walk and the label readers.
pub(crate) struct Walker<'a> {
    pub types: &'a KnownTypes,
    pub builder: HeapBuilder,
    pub names: Names,
    pub frames: FrameReader,
    /// References held by observers, per referent.
    observer_refs: FxHashMap<usize, u32>,
    /// Observer objects: never nodes, never edge ends.
    excluded: FxHashSet<usize>,
    type_ids: FxHashMap<usize, u32>,
    /// References the object list itself holds on each listed object.
    list_refs: u64,
    /// Reused for every node label.
    label_buf: String,
    /// A small direct-mapped cache in front of the address index: types,
    /// common strings, builtins and module globals are referred to again
    /// and again, and this stays in the processor's cache where the index
    /// does not.
    recent: Vec<(usize, u32)>,
}

const RECENT_SLOTS: usize = 1 << 13;

unsafe extern "C" fn collect_referent(o: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
    if !o.is_null() {
        (*(arg as *mut Vec<usize>)).push(o as usize);
    }
    0
}

/// Appends the referents `tp_traverse` reports for `o`.
unsafe fn traverse(o: *mut ffi::PyObject, out: &mut Vec<usize>) {
    let tp = ffi::Py_TYPE(o);
    if let Some(trav) = (*tp).tp_traverse {
        trav(o, collect_referent, out as *mut Vec<usize> as *mut c_void);
    }
}

impl<'a> Walker<'a> {
    fn new(types: &'a KnownTypes, frames: FrameReader, capacity: usize) -> Walker<'a> {
        // Measured on the seed heap (3.11, 3.13): nodes are 1.9-2.2 x the
        // tracked objects and edges 6.0-6.2 x. A vector that must grow past
        // its reservation doubles, so reserve a little above, not below.
        let mut builder = HeapBuilder::with_capacity(capacity * 5 / 2, capacity * 7);
        let names = Names::intern(&mut builder);
        Walker {
            types,
            builder,
            names,
            frames,
            observer_refs: FxHashMap::default(),
            excluded: FxHashSet::default(),
            type_ids: FxHashMap::default(),
            list_refs: 0,
            label_buf: String::new(),
            recent: vec![(0, 0); RECENT_SLOTS],
        }
    }

    fn is_immortal(&self, raw: isize) -> bool {
        // 3.12+ on 64-bit: immortal objects have the low 32 bits negative.
        self.types.version >= (3, 12) && (raw as i32) < 0
    }

    unsafe fn type_id(&mut self, tp: *mut ffi::PyTypeObject) -> u32 {
        if let Some(&id) = self.type_ids.get(&(tp as usize)) {
            return id;
        }
        let id = self.builder.type_id(&labels::type_name(tp));
        self.type_ids.insert(tp as usize, id);
        id
    }

    /// Adds `o` as a node with its compensated count and label.
    unsafe fn add_object(&mut self, o: *mut ffi::PyObject, tracked: bool) -> NodeIx {
        let tp = ffi::Py_TYPE(o);
        let type_id = self.type_id(tp);
        let raw = ffi::Py_REFCNT(o) as isize;
        let immortal = self.is_immortal(raw);
        let mut flags = if tracked { NodeFlags::TRACKED } else { 0 };
        let refcount = if immortal {
            flags |= NodeFlags::IMMORTAL;
            u64::from(u32::MAX)
        } else {
            let own = if tracked { self.list_refs } else { 0 };
            let obs = u64::from(self.observer_refs.get(&(o as usize)).copied().unwrap_or(0));
            (raw.max(0) as u64).saturating_sub(own + obs)
        };
        let size = labels::shallow_size(o, tp, tracked, self.types);
        let mut label = std::mem::take(&mut self.label_buf);
        label.clear();
        self.write_node_label(o, tp, &mut label);
        let ix = self.builder.add_node_raw(o as usize as u64, type_id, size, refcount, NodeFlags(flags), &label);
        self.label_buf = label;
        ix
    }

    /// The node of `o`, adding it as an untracked leaf the first time.
    pub(crate) unsafe fn node_for(&mut self, o: *mut ffi::PyObject) -> NodeIx {
        let addr = o as usize;
        let slot = (addr >> 4) & (RECENT_SLOTS - 1);
        let (cached, ix) = self.recent[slot];
        if cached == addr {
            return NodeIx::new(ix as usize);
        }
        let ix = match self.builder.find_addr(addr as u64) {
            Some(ix) => ix,
            None => self.add_object(o, false),
        };
        self.recent[slot] = (addr, ix.index() as u32);
        ix
    }

    fn add_observer_ref(&mut self, referent: usize) {
        if referent != 0 {
            *self.observer_refs.entry(referent).or_insert(0) += 1;
        }
    }

    /// Leaves `o` out of the graph and subtracts what it holds.
    unsafe fn exclude(&mut self, o: *mut ffi::PyObject, scratch: &mut Vec<usize>) {
        if o.is_null() || !self.excluded.insert(o as usize) {
            return;
        }
        scratch.clear();
        // Untracked objects traverse too: a running frame object is not
        // tracked on 3.9/3.10 until it outlives its call.
        traverse(o, scratch);
        for &r in scratch.iter() {
            self.add_observer_ref(r);
        }
    }

    /// The edges of one tracked object, labelled from its structure.
    unsafe fn object_edges(&mut self, o: *mut ffi::PyObject, buf: &mut EdgeBuffers) {
        buf.clear();
        traverse(o, &mut buf.referents);
        if buf.referents.is_empty() {
            return;
        }
        self.edge_labels(o, ffi::Py_TYPE(o), &mut buf.described);
        buf.used.resize(buf.described.len(), false);
        for j in 0..buf.referents.len() {
            let r = buf.referents[j];
            if self.excluded.contains(&r) {
                continue;
            }
            let label = buf.take_label(r);
            let ix = self.node_for(r as *mut ffi::PyObject);
            buf.edges.push((ix, label));
        }
    }
}

/// Scratch space for one object's edges, reused across objects.
#[derive(Default)]
struct EdgeBuffers {
    referents: Vec<usize>,
    /// `(referent, label)` in the order the structure lists them.
    described: Vec<(usize, EdgeLabel)>,
    used: Vec<bool>,
    /// Where the next reported referent is expected in `described`.
    cursor: usize,
    /// `(referent, position)` sorted, built only when order does not help.
    sorted: Vec<(usize, u32)>,
    edges: Vec<(NodeIx, EdgeLabel)>,
}

impl EdgeBuffers {
    fn clear(&mut self) {
        self.referents.clear();
        self.described.clear();
        self.used.clear();
        self.sorted.clear();
        self.edges.clear();
        self.cursor = 0;
    }

    /// The label of the next reported reference to `r`. `tp_traverse` lists
    /// references mostly in the order the structure does (dict entries,
    /// sequence items), so a cursor finds nearly all of them at once; the
    /// rest are looked up in a sorted copy. A value stored twice is reported
    /// twice and gets both of its labels.
    fn take_label(&mut self, r: usize) -> EdgeLabel {
        const WINDOW: usize = 4;
        let end = (self.cursor + WINDOW).min(self.described.len());
        for i in self.cursor..end {
            if self.described[i].0 == r && !self.used[i] {
                self.used[i] = true;
                self.cursor = i + 1;
                return self.described[i].1;
            }
        }
        if self.sorted.is_empty() && !self.described.is_empty() {
            self.sorted = self.described.iter().enumerate().map(|(i, &(a, _))| (a, i as u32)).collect();
            self.sorted.sort_unstable();
        }
        let start = self.sorted.partition_point(|&(a, _)| a < r);
        for &(a, i) in &self.sorted[start..] {
            if a != r {
                break;
            }
            if !self.used[i as usize] {
                self.used[i as usize] = true;
                return self.described[i as usize].1;
            }
        }
        EdgeLabel::UNKNOWN
    }
}

/// Errors from a capture.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaptureError {
    #[error("capture failed: {0}")]
    Python(#[from] PyErr),
    #[error("capture failed: {0}")]
    Build(#[from] crate::graph::BuildError),
}

/// Switches automatic collection off for the life of the guard: a collection
/// during a capture would run `__del__` methods and gc callbacks.
struct GcPause<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<GcPause<'py>> {
        let gc = py.import("gc")?;
        let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
        gc.call_method0("disable")?;
        Ok(GcPause { gc, was_enabled })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self.gc.call_method0("enable");
        }
    }
}

/// Captures the whole heap of this interpreter.
pub(crate) fn capture(py: Python<'_>, types: &KnownTypes, obs: &Observers) -> Result<Heap, CaptureError> {
    let started = Instant::now();
    let captured_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut phase = |name: &str| {
        phases.push((name.to_string(), lap.elapsed().as_secs_f64()));
        lap = Instant::now();
    };
    let mut reader = FrameReader::new(types);
    let holders = super::holders::read(py, types, reader.layout());
    let pause = GcPause::new(py)?;
    let frames = unsafe { reader.all_thread_frames(obs.frames) };
    // Made before the object list so that nothing allocated later is in it.
    let objects = pause.gc.call_method0("get_objects")?;
    let list = objects.as_ptr();
    phase("frames and object list");
    let n = unsafe { ffi::PyList_GET_SIZE(list) } as usize;
    let mut w = Walker::new(types, reader, n);
    w.list_refs = 1;
    let mut scratch = Vec::new();
    unsafe {
        w.excluded.insert(list as usize);
        for f in frames.iter().filter(|f| f.observer) {
            observe_frame(&mut w, f, &mut scratch);
        }
        for &c in &obs.containers {
            w.exclude(c, &mut scratch);
            // The caller's stack holds the container, not the heap.
            w.add_observer_ref(c as usize);
        }
        for &a in &obs.args {
            w.add_observer_ref(a as usize);
        }
        for &addr in &obs.ignore {
            w.excluded.insert(addr);
        }
        let items: Vec<*mut ffi::PyObject> = (0..n)
            .map(|i| ffi::PyList_GET_ITEM(list, i as ffi::Py_ssize_t))
            .filter(|&o| !w.excluded.contains(&(o as usize)))
            .collect();
        // Pass 1: every tracked object gets its index, in list order, so that
        // pass 2 can append each one's edges straight into the CSR rows.
        let mut sources: Vec<NodeIx> = items.iter().map(|&o| w.add_object(o, true)).collect();
        let live_frames: Vec<&Frame> = frames.iter().filter(|f| !f.observer).collect();
        let mut frame_nodes = Vec::new();
        // Running frame objects (3.9/3.10) are not tracked, so not in the
        // list: they become sources here, after the tracked objects.
        let mut untracked_frames = Vec::new();
        for f in &live_frames {
            let ix = match f.object {
                Some(o) => match w.builder.find_addr(o as u64) {
                    Some(ix) => ix,
                    None => {
                        let ix = w.add_object(o as *mut ffi::PyObject, false);
                        untracked_frames.push(ix);
                        ix
                    }
                },
                None => add_frame_record(&mut w, f),
            };
            frame_nodes.push(ix);
        }
        phase("nodes");
        // Pass 2: edges.
        let mut buf = EdgeBuffers::default();
        for (&o, &ix) in items.iter().zip(&sources) {
            w.object_edges(o, &mut buf);
            w.builder.push_edges(ix, buf.edges.drain(..))?;
        }
        sources.clear();
        for (f, &ix) in live_frames.iter().zip(&frame_nodes) {
            if let Some(o) = f.object {
                if untracked_frames.contains(&ix) {
                    w.object_edges(o as *mut ffi::PyObject, &mut buf);
                    w.builder.push_edges(ix, buf.edges.drain(..))?;
                }
            } else {
                let mut out = Vec::with_capacity(f.refs.len());
                for (r, name) in &f.refs {
                    if !w.excluded.contains(r) {
                        let label = w.builder.edge_name(name);
                        out.push((w.node_for(*r as *mut ffi::PyObject), label));
                    }
                }
                w.builder.push_edges(ix, out)?;
            }
        }
        phase("edges");
        add_module_roots(&mut w);
        add_named_roots(&mut w, &holders.named);
        for (f, &ix) in live_frames.iter().zip(&frame_nodes) {
            w.builder.add_root(Root {
                node: ix,
                kind: RootKind::Frame { thread: f.thread, depth: f.depth, function: f.function.clone() },
            });
        }
    }
    drop(objects);
    drop(pause);
    phase("release");
    let observer_refs: u64 = w.observer_refs.values().map(|&v| u64::from(v)).sum();
    let meta = Meta {
        collector: "native".into(),
        python_version: super::python_version(py),
        python: types.version,
        pid: std::process::id(),
        captured_at,
        capture_seconds: started.elapsed().as_secs_f64(),
        argv: super::argv(py),
        observer_refs,
        observer_objects: w.excluded.len() as u64,
        notes: w.frames.notes.iter().chain(&holders.notes).cloned().collect(),
        phases: Vec::new(),
    };
    w.builder.set_meta(meta);
    let mut heap = w.builder.finish()?;
    phase("index");
    heap.meta.phases = phases;
    heap.meta.capture_seconds = started.elapsed().as_secs_f64();
    Ok(heap)
}

/// Subtracts what an observer frame holds and leaves it out of the graph.
unsafe fn observe_frame(w: &mut Walker<'_>, f: &Frame, scratch: &mut Vec<usize>) {
    match f.object {
        Some(o) => w.exclude(o as *mut ffi::PyObject, scratch),
        None => {
            for (r, _) in &f.refs {
                w.add_observer_ref(*r);
            }
            if let Some(fo) = f.frame_object {
                w.exclude(fo as *mut ffi::PyObject, scratch);
            }
        }
    }
}

/// A node for a running function's interpreter frame (3.11+), which is no
/// Python object but holds the function's locals.
unsafe fn add_frame_record(w: &mut Walker<'_>, f: &Frame) -> NodeIx {
    let ty = w.builder.type_id("frame");
    let flags = NodeFlags(NodeFlags::SYNTHETIC);
    w.builder.add_node_raw(f.addr as u64, ty, 0, 0, flags, &f.function)
}

/// Roots named after their C-level holder; one root per object, naming every
/// holder that has it ("atexit callback #1, atexit callback #3").
fn add_named_roots(w: &mut Walker<'_>, named: &[(usize, String)]) {
    let mut by_node: Vec<(NodeIx, Vec<&str>)> = Vec::new();
    for (addr, holder) in named {
        let Some(ix) = w.builder.find_addr(*addr as u64) else { continue };
        match by_node.iter_mut().find(|(n, _)| *n == ix) {
            Some((_, names)) => names.push(holder),
            None => by_node.push((ix, vec![holder])),
        }
    }
    for (ix, names) in by_node {
        w.builder.add_root(Root { node: ix, kind: RootKind::Named { holder: names.join(", "), surplus: 0 } });
    }
}

/// `sys.modules['name']` roots, read without calling Python.
unsafe fn add_module_roots(w: &mut Walker<'_>) {
    let modules = ffi::PyImport_GetModuleDict();
    if modules.is_null() {
        return;
    }
    let mut pos: ffi::Py_ssize_t = 0;
    let mut k: *mut ffi::PyObject = std::ptr::null_mut();
    let mut v: *mut ffi::PyObject = std::ptr::null_mut();
    while ffi::PyDict_Next(modules, &mut pos, &mut k, &mut v) != 0 {
        let Some(name) = labels::str_value(k) else { continue };
        if v == ffi::Py_None() {
            continue;
        }
        if let Some(ix) = w.builder.find_addr(v as usize as u64) {
            w.builder.add_root(Root { node: ix, kind: RootKind::Module { name } });
        }
    }
}
