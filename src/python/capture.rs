//! The in-process capture: every object the garbage collector tracks, walked
//! with its own type's `tp_traverse` from Rust, into a [`Heap`].
//!
//! Rules this module lives by (refgraph runs inside production processes):
//! - It runs no Python code of any object: `tp_traverse` is C, labels come
//!   from structure (`labels.rs`), and automatic collections (which would run
//!   `__del__` and gc callbacks) are switched off for the duration.
//! - It allocates nothing that ends up in the graph. On 3.12+ it makes no
//!   Python object at all (`PyUnstable_GC_VisitObjects` lists the tracked
//!   objects); before, the only one is the list from `gc.get_objects()`,
//!   which CPython leaves out of its own answer; its one reference per
//!   object is subtracted.
//! - Observer references — the caller's frame, the arguments it passed, the
//!   containers of targets (`objs` of `show_backrefs`) — appear in no node or
//!   edge and are subtracted from reference counts exactly.

use std::os::raw::{c_int, c_void};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::ffi;
use pyo3::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::address::{self, AddressSet, EdgeRows, Numbering, Referents};
use crate::alloc::Prefault;
use crate::graph::{BuildError, EdgeLabel, Heap, HeapBuilder, NodeFlags, NodeIx};
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
    /// Every referent the walk meets (edge targets, and dict keys tagged
    /// as such), in chunks to hand to the core that builds the address set;
    /// that core keeps the edges' targets.
    members: Vec<u64>,
    full_chunks: Vec<Vec<u64>>,
    /// The walk's edge labels, row by row, resolved to node indices once
    /// every node is known.
    raw: EdgeRows,
}

/// What the walk records references from: every gc-tracked object and
/// every live frame, in address order.
struct Sources {
    addrs: Vec<usize>,
    /// The live frames among them that are not tracked objects, as
    /// `(address, position in the live frames)`, in address order: an
    /// untracked frame object (3.9/3.10) or an interpreter frame record
    /// (3.11+).
    frames: Vec<(usize, u32)>,
}

impl Sources {
    /// Every tracked object and live frame, in address order; the object
    /// list becomes the source list (it is millions of addresses, and a
    /// second list would be memory to fault in). A frame whose object is
    /// tracked is walked as that object.
    fn new(excluded: &FxHashSet<usize>, mut addrs: Vec<usize>, live_frames: &[&Frame]) -> Sources {
        addrs.retain(|o| !excluded.contains(o));
        addrs.sort_unstable();
        let mut frames: Vec<(usize, u32)> = live_frames
            .iter()
            .enumerate()
            .map(|(i, f)| (f.object.unwrap_or(f.addr), i as u32))
            .filter(|&(addr, _)| addrs.binary_search(&addr).is_err())
            .collect();
        frames.sort_unstable();
        frames.dedup_by_key(|f| f.0);
        let extra: Vec<usize> = frames.iter().map(|f| f.0).collect();
        merge_from_back(&mut addrs, &extra);
        Sources { addrs, frames }
    }

    /// Each source's address, with its position in the live frames if it
    /// is a frame rather than a tracked object.
    fn iter(&self) -> impl Iterator<Item = (usize, Option<u32>)> + '_ {
        let mut frames = self.frames.iter().peekable();
        self.addrs.iter().map(move |&a| (a, frames.next_if(|f| f.0 == a).map(|f| f.1)))
    }
}

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
    fn new(types: &'a KnownTypes, frames: FrameReader, tracked: usize) -> Walker<'a> {
        let mut builder = HeapBuilder::new();
        let names = Names::intern(&mut builder);
        let raw = EdgeRows::with_capacity(tracked, tracked * EDGES_RESERVED);
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
            members: Vec::with_capacity(MEMBER_CHUNK),
            full_chunks: Vec::new(),
            raw,
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

    /// Adds `o` as the next node with its compensated count and label.
    unsafe fn add_object(&mut self, o: *mut ffi::PyObject, tracked: bool) -> Result<NodeIx, BuildError> {
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
        let ix = self.builder.append_node(o as usize as u64, type_id, size, refcount, NodeFlags(flags), &label);
        self.label_buf = label;
        ix
    }

    /// A stand-in for the node of `o` in a `DictValue` or `Attr` label,
    /// until nodes are numbered; `o` becomes a node even where
    /// `tp_traverse` does not report it (the keys of str-keyed dicts).
    pub(crate) fn key_node(&mut self, o: *mut ffi::PyObject) -> NodeIx {
        self.member(address::tag_key(o as usize as u64));
        self.raw.key()
    }

    fn member(&mut self, addr: u64) {
        self.members.push(addr);
        if self.members.len() == MEMBER_CHUNK {
            let chunk = std::mem::replace(&mut self.members, Vec::with_capacity(MEMBER_CHUNK));
            self.full_chunks.push(chunk);
        }
    }

    /// Hands the full chunks of addresses over (with `all`, the last,
    /// partial one too). The sender belongs to the caller, so that however
    /// the caller ends, the receiving core stops waiting.
    fn send_members(&mut self, to_index: &Sender<ToIndex>, all: bool) {
        if all && !self.members.is_empty() {
            self.full_chunks.push(std::mem::take(&mut self.members));
        }
        for chunk in self.full_chunks.drain(..) {
            // The receiver lives until the sender is dropped.
            let _ = to_index.send(ToIndex::Addresses(chunk));
        }
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

    /// Records the edges of one object, labelled from its structure.
    unsafe fn object_edges(&mut self, o: *mut ffi::PyObject, buf: &mut EdgeBuffers) {
        buf.clear();
        traverse(o, &mut buf.referents);
        if !buf.referents.is_empty() {
            self.edge_labels(o, ffi::Py_TYPE(o), &mut buf.described);
            buf.used.resize(buf.described.len(), false);
            for j in 0..buf.referents.len() {
                let r = buf.referents[j];
                let label = buf.take_label(r);
                self.member(r as u64);
                self.raw.push(label);
            }
        }
        self.raw.end_row();
    }

    /// Records what a 3.11+ interpreter frame holds.
    fn frame_record_edges(&mut self, f: &Frame) {
        for (r, name) in &f.refs {
            let label = self.builder.edge_name(name);
            self.member(*r as u64);
            self.raw.push(label);
        }
        self.raw.end_row();
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
}

impl EdgeBuffers {
    fn clear(&mut self) {
        self.referents.clear();
        self.described.clear();
        self.used.clear();
        self.sorted.clear();
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
    #[error("capture failed: the edge index thread stopped unexpectedly")]
    Thread,
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
///
/// Three passes. The walk visits every source (tracked object or live
/// frame) in address order, recording its edges' labels and sending the
/// referents' addresses to the other core, which adds them to an
/// [`AddressSet`] and keeps each one's place in it. Numbering that set gives
/// each node its index (nodes are in address order). The last pass reads
/// each node's own data, again in address order, while the other core turns
/// the referents' places into node indices and builds the incoming index.
pub(crate) fn capture(py: Python<'_>, types: &KnownTypes, obs: &Observers) -> Result<Heap, CaptureError> {
    let started = Instant::now();
    let captured_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut phase = |name: &str| phases.push((name.to_string(), seconds_since(&mut lap)));
    let mut reader = FrameReader::new(types);
    let holders = super::holders::read(py, types, reader.layout());
    let pause = GcPause::new(py)?;
    let frames = unsafe { reader.all_thread_frames(obs.frames) };
    // Listed after the frames so that nothing allocated later is in it.
    let mut objects = tracked_objects(&pause.gc)?;
    phase("frames and object list");
    let mut w = Walker::new(types, reader, objects.addrs.len());
    let live_frames: Vec<&Frame> = frames.iter().filter(|f| !f.observer).collect();
    let second_core = unsafe {
        if let Some(list) = &objects.list {
            w.list_refs = 1;
            w.excluded.insert(list.as_ptr() as usize);
        }
        exclude_observers(&mut w, &frames, obs);
        // Two cores. This thread does all that touches Python objects (it
        // holds the GIL); the other works on refgraph's own memory: during
        // the walk it builds the address set, and while this thread reads
        // every node's own data it builds both edge indexes.
        let (sources, (mut members, referents)) = std::thread::scope(|scope| -> Result<_, CaptureError> {
            let (to_index, addresses) = std::sync::mpsc::channel::<ToIndex>();
            // `to_index` is this closure's: if anything below panics, it is
            // dropped while unwinding and the other core stops waiting.
            // Of the label column, only what is nearly sure to be written:
            // faulting in the rest of the reservation could cost memory the
            // walk never uses.
            let (at, bytes) = w.raw.spare();
            let edge_columns = Prefault::new([(at, bytes / EDGES_RESERVED * EDGES_EXPECTED)]);
            let referents = Referents::with_capacity(objects.addrs.len() * EDGES_RESERVED);
            // The node columns are reserved now, for as many nodes as the
            // heap is likely to have, so that the other core can fault them
            // in while the walk keeps this one busy: as far as the nodes
            // the walk has met so far, which the heap surely has.
            let expected_nodes = objects.addrs.len() * NODES_PER_TRACKED;
            w.builder.reserve(expected_nodes, 0);
            let node_columns = (Prefault::new(w.builder.node_spare(expected_nodes)), expected_nodes);
            let members = on_second_core(scope, move || address_set(addresses, referents, edge_columns, node_columns));
            // Sorted into the sources; the listed order is not kept.
            let sources = Arc::new(Sources::new(&w.excluded, std::mem::take(&mut objects.addrs), &live_frames));
            let _ = to_index.send(ToIndex::Sources(sources.clone()));
            walk(&mut w, &sources, &live_frames, &to_index);
            w.send_members(&to_index, true);
            drop(to_index);
            phase("walk");
            Ok((sources, members.join()?))
        })?;
        phase("address set catching up");
        for &x in &w.excluded {
            members.remove(x as u64);
        }
        let numbering = members.number();
        phase("number");
        let raw = std::mem::take(&mut w.raw);
        w.builder.reserve(numbering.len(), 0);
        // What the walk's core did not get to (all of it, if the node
        // columns had to grow and move).
        let node_columns = Prefault::new(w.builder.node_spare(numbering.len()));
        let second_core = std::thread::scope(|scope| -> Result<[(&str, f64); 3], CaptureError> {
            let edges = on_second_core(scope, || {
                let mut lap = Instant::now();
                // The node pass below writes these from their start; they
                // are faulted in first, so that it finds them ready.
                node_columns.run();
                let faulted = seconds_since(&mut lap);
                let csr = raw.resolve(referents, &numbering, sources.addrs.iter().map(|&a| a as u64))?;
                let resolved = seconds_since(&mut lap);
                let incoming = csr.incoming(numbering.len());
                let reversed = seconds_since(&mut lap);
                let laps = [("node columns faulted in", faulted), ("edges resolved", resolved), ("incoming index", reversed)];
                Ok::<_, BuildError>((csr, incoming, laps))
            });
            let nodes = node_pass(&mut w, &numbering, &sources, &live_frames);
            let (csr, incoming, laps) = edges.join()??;
            nodes?;
            w.builder.set_edges(csr, Some(incoming))?;
            Ok(laps)
        })?;
        phase("nodes and edges");
        add_module_roots(&mut w);
        add_named_roots(&mut w, &holders.named);
        for f in &live_frames {
            if let Some(ix) = w.builder.find_addr(f.object.unwrap_or(f.addr) as u64) {
                let kind = RootKind::Frame { thread: f.thread, depth: f.depth, function: f.function.clone() };
                w.builder.add_root(Root { node: ix, kind });
            }
        }
        second_core
    };
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
    // Not laps: they ran during "nodes and edges", on the other core.
    for (name, seconds) in second_core {
        phases.push((format!("second core: {name}"), seconds));
    }
    heap.meta.phases = phases;
    heap.meta.capture_seconds = started.elapsed().as_secs_f64();
    Ok(heap)
}

/// Seconds since `lap`, which starts the next lap.
fn seconds_since(lap: &mut Instant) -> f64 {
    std::mem::replace(lap, Instant::now()).elapsed().as_secs_f64()
}

/// References per tracked object the walk's edge columns are reserved for,
/// and how many of them it nearly surely writes. Measured on the seed heap
/// (3.11, 3.13): 6.0-6.7. A vector that must grow past its reservation
/// doubles, so the reservation is a little above, not below.
const EDGES_RESERVED: usize = 7;
const EDGES_EXPECTED: usize = 6;

/// Nodes per tracked object the node columns are first reserved for: the
/// object and about one untracked leaf (str, int) it alone points to.
/// Measured on the seed heap: 2.2 (in the process), 3.3 (under `refgraph
/// run`); past the reservation the columns grow, exactly, after the walk.
const NODES_PER_TRACKED: usize = 2;

/// Addresses sent to the address set at a time: large enough that sending
/// costs nothing, small enough to stay in the processor's cache, and under
/// the C allocator's direct-mapping threshold (128 KiB), so that the chunks
/// the other core frees are reused instead of every one being a fresh
/// mapping to fault in (measured: 0.3 s of page faults at 1000 calls).
const MEMBER_CHUNK: usize = 1 << 12;

/// How many objects ahead of its reader an object's header is fetched into
/// the cache: the walk and the node pass go through memory in address order,
/// but tracked objects are spread thinly enough that the hardware does not
/// see a stream.
const PREFETCH_AHEAD: usize = 8;

fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// What the walking core sends the one that builds the address set.
enum ToIndex {
    /// Every source, once, before the walk.
    Sources(Arc<Sources>),
    /// Referents met by the walk.
    Addresses(Vec<u64>),
}

/// The set of every source and every referent the walk sends, and each
/// referent's code in it. Whenever nothing is waiting, this core faults in
/// the memory the walk writes next (its label column, which would otherwise
/// stall the walk at each new page), then that of the node columns, as far
/// as the nodes met so far.
fn address_set(
    addresses: Receiver<ToIndex>,
    mut referents: Referents,
    mut edge_columns: Prefault,
    (mut node_columns, expected_nodes): (Prefault, usize),
) -> (AddressSet, Referents) {
    let mut set = AddressSet::new();
    loop {
        let message = match addresses.try_recv() {
            Ok(message) => message,
            Err(TryRecvError::Empty) => {
                let met = set.len() as f64 / expected_nodes.max(1) as f64;
                if edge_columns.step() || node_columns.step_to(met) {
                    continue;
                }
                match addresses.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match message {
            ToIndex::Sources(sources) => sources.addrs.iter().for_each(|&a| {
                // Objects are 8-byte aligned; an address that is not
                // cannot be one, and nothing is recorded from it.
                let _ = set.insert(a as u64);
            }),
            ToIndex::Addresses(chunk) => set.insert_referents(&chunk, &mut referents),
        }
    }
    (set, referents)
}

/// Records the edges of every source, in address order.
unsafe fn walk(w: &mut Walker<'_>, sources: &Sources, live_frames: &[&Frame], to_index: &Sender<ToIndex>) {
    let mut buf = EdgeBuffers::default();
    for (i, (addr, frame)) in sources.iter().enumerate() {
        if !w.full_chunks.is_empty() {
            w.send_members(to_index, false);
        }
        if let Some(&ahead) = sources.addrs.get(i + PREFETCH_AHEAD) {
            prefetch(ahead);
        }
        match frame.map(|f| live_frames[f as usize]) {
            None => w.object_edges(addr as *mut ffi::PyObject, &mut buf),
            Some(f) => match f.object {
                Some(o) => w.object_edges(o as *mut ffi::PyObject, &mut buf),
                None => w.frame_record_edges(f),
            },
        }
    }
}

/// Work handed to another core, or done here when no thread can be had
/// (a capture must not fail, let alone panic, for want of a thread).
enum Helper<'scope, T> {
    Thread(std::thread::ScopedJoinHandle<'scope, Option<T>>),
    Here(Box<dyn FnOnce() -> T + Send + 'scope>),
    Lost,
}

type Work<'scope, T> = std::sync::Mutex<Option<Box<dyn FnOnce() -> T + Send + 'scope>>>;

fn take_work<'scope, T>(slot: &Work<'scope, T>) -> Option<Box<dyn FnOnce() -> T + Send + 'scope>> {
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
}

fn on_second_core<'scope, 'env, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Helper<'scope, T> {
    // Kept here as well, so that the work survives a failed spawn.
    let slot: std::sync::Arc<Work<'scope, T>> = std::sync::Arc::new(std::sync::Mutex::new(Some(Box::new(f))));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("refgraph-index".into())
        .spawn_scoped(scope, move || take_work(&theirs).map(|f| f()));
    match spawned {
        Ok(h) => Helper::Thread(h),
        Err(_) => take_work(&slot).map_or(Helper::Lost, Helper::Here),
    }
}

impl<T> Helper<'_, T> {
    fn join(self) -> Result<T, CaptureError> {
        match self {
            Helper::Thread(h) => h.join().ok().flatten().ok_or(CaptureError::Thread),
            Helper::Here(f) => Ok(f()),
            Helper::Lost => Err(CaptureError::Thread),
        }
    }
}

/// Appends every node, in address order, with its own data.
unsafe fn node_pass(w: &mut Walker<'_>, numbering: &Numbering, sources: &Sources, live_frames: &[&Frame]) -> Result<(), BuildError> {
    let mut sources = sources.iter().peekable();
    let mut ahead = numbering.iter().skip(PREFETCH_AHEAD);
    for addr in numbering.iter() {
        if let Some(a) = ahead.next() {
            prefetch(a as usize);
            // A str's text, and most objects' second field line, follow the header.
            prefetch(a as usize + 64);
        }
        let source = sources.next_if(|s| s.0 as u64 == addr);
        // No source: an untracked leaf; a source without a frame: a tracked
        // object.
        match source.map(|s| s.1.map(|f| live_frames[f as usize])) {
            None => w.add_object(addr as *mut ffi::PyObject, false)?,
            Some(None) => w.add_object(addr as *mut ffi::PyObject, true)?,
            Some(Some(f)) => match f.object {
                Some(o) => w.add_object(o as *mut ffi::PyObject, false)?,
                None => add_frame_record(w, f)?,
            },
        };
    }
    Ok(())
}

/// Every object the collector tracks.
struct TrackedObjects<'py> {
    addrs: Vec<usize>,
    /// Before 3.12, the list `gc.get_objects()` made: it holds a reference
    /// on each object and is itself left out of the graph.
    list: Option<Bound<'py, PyAny>>,
}

#[cfg(Py_3_12)]
extern "C" {
    fn PyUnstable_GC_VisitObjects(callback: unsafe extern "C" fn(*mut ffi::PyObject, *mut c_void) -> c_int, arg: *mut c_void);
}

#[cfg(Py_3_12)]
fn tracked_objects<'py>(_gc: &Bound<'py, PyModule>) -> PyResult<TrackedObjects<'py>> {
    unsafe extern "C" fn note(o: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
        (*(arg as *mut Vec<usize>)).push(o as usize);
        1
    }
    let mut addrs: Vec<usize> = Vec::new();
    // C only: it pauses automatic collection itself and calls `note` for
    // each object, holding a reference only for the call.
    unsafe { PyUnstable_GC_VisitObjects(note, &mut addrs as *mut Vec<usize> as *mut c_void) };
    Ok(TrackedObjects { addrs, list: None })
}

#[cfg(not(Py_3_12))]
fn tracked_objects<'py>(gc: &Bound<'py, PyModule>) -> PyResult<TrackedObjects<'py>> {
    let list = gc.call_method0("get_objects")?;
    let p = list.as_ptr();
    let n = unsafe { ffi::PyList_GET_SIZE(p) }.max(0);
    let addrs = (0..n).map(|i| unsafe { ffi::PyList_GET_ITEM(p, i) } as usize).collect();
    Ok(TrackedObjects { addrs, list: Some(list) })
}

/// Leaves out the caller's frames, the containers it passed and what it
/// asked to ignore, and counts what they hold.
unsafe fn exclude_observers(w: &mut Walker<'_>, frames: &[Frame], obs: &Observers) {
    let mut scratch = Vec::new();
    for f in frames.iter().filter(|f| f.observer) {
        observe_frame(w, f, &mut scratch);
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
}

/// Merges `extra` into `sorted`, both in address order, in one pass from
/// the back (a thread pool's hundreds of frames must not each shift
/// millions of entries).
fn merge_from_back(sorted: &mut Vec<usize>, extra: &[usize]) {
    let (mut i, mut j) = (sorted.len(), extra.len());
    sorted.resize(i + j, 0);
    while j > 0 {
        let out = i + j - 1;
        if i > 0 && sorted[i - 1] > extra[j - 1] {
            sorted[out] = sorted[i - 1];
            i -= 1;
        } else {
            sorted[out] = extra[j - 1];
            j -= 1;
        }
    }
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
fn add_frame_record(w: &mut Walker<'_>, f: &Frame) -> Result<NodeIx, BuildError> {
    let ty = w.builder.type_id("frame");
    let flags = NodeFlags(NodeFlags::SYNTHETIC);
    w.builder.append_node(f.addr as u64, ty, 0, 0, flags, &f.function)
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
