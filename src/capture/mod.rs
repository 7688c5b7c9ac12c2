//! The capture: every object a heap's collector tracks, and everything they
//! refer to, walked into a [`Heap`] with labelled edges and named roots.
//!
//! It is written against [`HeapSource`] (the heap being read), so the same
//! code captures the running interpreter (`crate::cpython::live`) and the
//! heaps the tests build (`fake.rs`). Its parts: [`address`] numbers objects
//! in address order; `cores` runs what touches no object on the second
//! core; [`labels`] names nodes and edges; `frames` tells the caller's
//! frames from the roots; `holders` turns the runtime's named holders,
//! modules and frames into roots.
//!
//! Rules it lives by (refgraph runs inside production processes):
//! - It asks the source for structure only, never to run an object's code.
//! - It allocates nothing that ends up in the graph; an object the source
//!   made to list the heap is left out, and its references subtracted.
//! - Observer references (the caller's frames, the arguments it passed, the
//!   containers of targets) appear in no node or edge and are subtracted
//!   from reference counts exactly.

pub mod address;
mod cores;
mod frames;
mod holders;
pub mod labels;
pub mod source;
mod stack;
mod type_rules;

#[cfg(test)]
mod fake;

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::alloc::Prefault;
use crate::graph::{BuildError, BuiltParts, Csr, Heap, HeapBuilder, Meta, NodeFlags, NodeIx};
use crate::snapshot::spill::Spill;
use crate::snapshot::{EdgeEncoder, NodeEncoder};

use address::{EdgeRows, Numbering, Referents};
pub use cores::Spawn;
use cores::{on_second_core, prefetch, seconds_since, ToIndex};
use frames::Frame;
use labels::{EdgeBuffers, EdgeNames, Labeller};
use source::{Addr, HeapSource, RefCount, Shape};
use type_rules::TypeRules;

/// What the caller of refgraph holds while a capture runs.
#[derive(Clone, Debug, Default)]
pub struct Observers {
    /// How many of the capturing thread's newest frames belong to the
    /// caller (1: the frame that called refgraph directly).
    pub frames: usize,
    /// Arguments passed in: each holds one reference from the caller's stack.
    pub args: Vec<Addr>,
    /// Argument containers to leave out altogether (objgraph ignores `objs`).
    pub containers: Vec<Addr>,
    /// Addresses the caller asked to ignore (objgraph's `extra_ignore`).
    pub ignore: Vec<Addr>,
    /// `--no-strings`: a str's label is its length (`len=12`), not its text,
    /// unless it names something (a dict key or attribute name). Not an
    /// observer, but a wish of the same caller that travels the same way.
    pub redact_strings: bool,
}

/// Errors from a capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("capture failed: {0}")]
    Build(#[from] BuildError),
    #[error("capture failed: the edge index thread stopped unexpectedly")]
    Thread,
    #[error("capture failed: the temporary spill file: {0}")]
    Spill(#[from] std::io::Error),
}

impl From<address::ResolveError> for CaptureError {
    fn from(e: address::ResolveError) -> CaptureError {
        match e {
            address::ResolveError::Build(e) => CaptureError::Build(e),
            address::ResolveError::Spill(e) => CaptureError::Spill(e),
        }
    }
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

/// How many objects ahead of its reader an object's header is fetched.
const PREFETCH_AHEAD: usize = 8;

/// A type met during the capture: its interned id and what it is.
#[derive(Clone, Copy)]
struct TypeEntry {
    id: u32,
    shape: Shape,
    /// The hand-written part of the type's rule, for node labels.
    special: type_rules::Special,
}

/// Capture state shared by the walk and the node pass.
struct Walker<'a, S> {
    source: &'a S,
    builder: HeapBuilder,
    names: EdgeNames,
    rules: TypeRules,
    /// References held by observers, per referent.
    observer_refs: FxHashMap<Addr, u32>,
    /// Observer objects: never nodes, never edge ends.
    excluded: FxHashSet<Addr>,
    types: FxHashMap<Addr, TypeEntry>,
    /// References the source's object list holds on each listed object.
    list_refs: u64,
    /// Reused for every node label, and for dynamic edge names.
    label_buf: String,
    /// With `redact_strings`: the dict keys and attribute names met by the
    /// walk, whose str labels are kept (names are structure, not data).
    names_kept: Option<FxHashSet<Addr>>,
    name_buf: String,
    /// Every referent the walk meets (edge targets, and dict keys tagged
    /// as such), in chunks to hand to the core that builds the address set;
    /// that core keeps the edges' targets.
    members: Vec<u64>,
    full_chunks: Vec<Vec<u64>>,
    /// The walk's edge labels, row by row, resolved to node indices once
    /// every node is known.
    raw: EdgeRows,
    /// Where node rows go when the capture is streamed to a file (else to
    /// the builder's columns).
    encoder: Option<NodeEncoder>,
}

/// What the walk records references from: every tracked object and every
/// live frame, in address order.
struct Sources {
    addrs: Arc<Vec<Addr>>,
    /// The live frames among them that are not tracked objects, as
    /// `(address, position in the live frames)`, in address order: an
    /// untracked frame object (3.9/3.10) or an interpreter frame record
    /// (3.11+).
    frames: Vec<(Addr, u32)>,
}

impl Sources {
    /// Every tracked object and live frame, in address order; the object
    /// list becomes the source list (it is millions of addresses, and a
    /// second list would be memory to fault in). A frame whose object is
    /// tracked is walked as that object.
    fn new(excluded: &FxHashSet<Addr>, mut addrs: Vec<Addr>, live_frames: &[&Frame]) -> Sources {
        addrs.retain(|o| !excluded.contains(o));
        addrs.sort_unstable();
        let mut frames: Vec<(Addr, u32)> = live_frames
            .iter()
            .enumerate()
            .map(|(i, f)| (f.node_addr(), i as u32))
            .filter(|&(addr, _)| addrs.binary_search(&addr).is_err())
            .collect();
        frames.sort_unstable();
        frames.dedup_by_key(|f| f.0);
        let extra: Vec<Addr> = frames.iter().map(|f| f.0).collect();
        cores::merge_from_back(&mut addrs, &extra);
        Sources { addrs: Arc::new(addrs), frames }
    }

    /// Each source's address, with its position in the live frames if it
    /// is a frame rather than a tracked object.
    fn iter(&self) -> impl Iterator<Item = (Addr, Option<u32>)> + '_ {
        let mut frames = self.frames.iter().peekable();
        self.addrs.iter().map(move |&a| (a, frames.next_if(|f| f.0 == a).map(|f| f.1)))
    }
}

impl<'a, S: HeapSource> Walker<'a, S> {
    /// With `spill`, a streamed capture's walker: its edge labels and node
    /// rows go to the spill file as they come.
    fn new(source: &'a S, tracked: usize, spill: Option<&Arc<Spill>>) -> Walker<'a, S> {
        Walker {
            source,
            builder: HeapBuilder::new(),
            names: EdgeNames::default(),
            rules: TypeRules::default(),
            observer_refs: FxHashMap::default(),
            excluded: FxHashSet::default(),
            types: FxHashMap::default(),
            list_refs: 0,
            label_buf: String::new(),
            names_kept: None,
            name_buf: String::new(),
            members: Vec::with_capacity(MEMBER_CHUNK),
            full_chunks: Vec::new(),
            raw: match spill {
                None => EdgeRows::with_capacity(tracked, tracked * EDGES_RESERVED),
                Some(spill) => EdgeRows::spilled(spill),
            },
            encoder: spill.map(NodeEncoder::spilled),
        }
    }

    /// The entry of `o`'s type, made on first sight.
    ///
    /// # Safety
    /// `o` was reported by the source.
    unsafe fn type_entry(&mut self, o: Addr) -> (Addr, TypeEntry) {
        // SAFETY: the caller's contract; the type comes from the source.
        let ty = unsafe { self.source.type_of(o) };
        let (source, builder, names, rules) = (self.source, &mut self.builder, &mut self.names, &mut self.rules);
        let entry = self.types.entry(ty).or_insert_with(|| {
            // SAFETY: `ty` came from `type_of`.
            let (name, shape) = unsafe { (source.type_name(ty), source.shape(ty)) };
            // SAFETY: as above.
            let special = unsafe { rules.get(source, builder, names, ty, shape).special };
            TypeEntry { id: builder.type_id(&name), shape, special }
        });
        (ty, *entry)
    }

    /// Adds `o` as the next node with its compensated count and label.
    ///
    /// # Safety
    /// `o` was reported by the source.
    unsafe fn add_object(&mut self, o: Addr, tracked: bool) -> Result<NodeIx, BuildError> {
        let source = self.source;
        // SAFETY: `o` was reported by the source (this function's contract),
        // which is all each of these source methods asks.
        // One lookup in the table of types (10^5 of them on a hot-reload
        // heap, past the processor's nearer caches) per node, not two.
        let (ty, TypeEntry { id: type_id, shape, special }, raw, size) = unsafe {
            let (ty, entry) = self.type_entry(o);
            (ty, entry, source.refcount(o), source.shallow_size(o, ty, entry.shape.kind))
        };
        let mut flags = if tracked { NodeFlags::TRACKED } else { 0 };
        let refcount = match raw {
            RefCount::Immortal => {
                flags |= NodeFlags::IMMORTAL;
                u64::from(u32::MAX)
            }
            RefCount::Count(raw) => {
                let own = if tracked { self.list_refs } else { 0 };
                let obs = u64::from(self.observer_refs.get(&o).copied().unwrap_or(0));
                raw.saturating_sub(own + obs)
            }
        };
        let mut label = std::mem::take(&mut self.label_buf);
        label.clear();
        match &self.names_kept {
            // SAFETY: as above; the type entry describes `o`'s type.
            Some(kept) if !kept.contains(&o) && labels::is_str(shape) => unsafe { labels::str_length_label(source, o, &mut label) },
            // SAFETY: as above; the type entry describes `o`'s type, and
            // `special` is the rule of that type.
            _ => unsafe { labels::node_label(source, o, ty, shape, special, &mut label) },
        }
        let ix = self.append(o as u64, type_id, size, refcount, NodeFlags(flags), &label);
        self.label_buf = label;
        ix
    }

    /// Appends a node row: to the builder's columns, or encoded for the file.
    fn append(&mut self, addr: u64, type_id: u32, size: u64, refcount: u64, flags: NodeFlags, label: &str) -> Result<NodeIx, BuildError> {
        match &mut self.encoder {
            None => self.builder.append_node(addr, type_id, size, refcount, flags, label),
            Some(enc) => {
                let label = self.builder.intern_label(label);
                let ix = enc.push(addr, type_id, size, refcount, flags.0, label).map_err(|e| BuildError::NotAscending(e.0, e.1))?;
                Ok(NodeIx::new(ix))
            }
        }
    }

    fn member(&mut self, addr: u64) {
        push_member(&mut self.members, &mut self.full_chunks, addr);
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

    fn add_observer_ref(&mut self, referent: Addr) {
        if referent != 0 {
            *self.observer_refs.entry(referent).or_insert(0) += 1;
        }
    }

    /// Leaves `o` out of the graph and subtracts what it holds.
    ///
    /// # Safety
    /// `o` is 0 or was reported by the source.
    unsafe fn exclude(&mut self, o: Addr, scratch: &mut Vec<Addr>) {
        if o == 0 || !self.excluded.insert(o) {
            return;
        }
        scratch.clear();
        // Untracked objects traverse too: a running frame object is not
        // tracked on 3.9/3.10 until it outlives its call.
        // SAFETY: the caller's contract.
        unsafe { self.source.traverse(o, scratch) };
        for &r in scratch.iter() {
            self.add_observer_ref(r);
        }
    }

    /// Records the edges of one object, labelled from its structure.
    ///
    /// # Safety
    /// `o` was reported by the source.
    unsafe fn object_edges(&mut self, o: Addr, buf: &mut EdgeBuffers) {
        buf.clear();
        let source = self.source;
        // SAFETY: `o` was reported by the source (this function's contract).
        unsafe { source.traverse(o, &mut buf.referents) };
        if !buf.referents.is_empty() {
            // SAFETY: as above; the walk needs the type's shape only, not
            // its entry (a lookup in a table of every type, 10^5 of them).
            let (ty, info) = unsafe {
                let ty = source.type_of(o);
                (ty, source.shape(ty))
            };
            let mut l = Labeller {
                source,
                builder: &mut self.builder,
                names: &mut self.names,
                scratch: &mut self.name_buf,
                rules: &mut self.rules,
            };
            let (members, full, raw, kept) = (&mut self.members, &mut self.full_chunks, &mut self.raw, &mut self.names_kept);
            // A stand-in for the node of a dict key or attribute name until
            // nodes are numbered; it becomes a node even where the traversal
            // does not report it (the keys of str-keyed dicts).
            let mut key_node = |k: Addr| {
                if let Some(kept) = kept.as_mut() {
                    kept.insert(k);
                }
                push_member(members, full, address::tag_key(k as u64));
                raw.key()
            };
            // SAFETY: `o` was reported by the source, `ty` is its type and
            // `info` describes it.
            buf.rest = unsafe { labels::edge_labels(&mut l, o, ty, info, &buf.referents, &mut buf.described, &mut key_node) };
            buf.described_done();
            for j in 0..buf.referents.len() {
                let r = buf.referents[j];
                let label = buf.take_label(r);
                self.member(r as u64);
                self.raw.push(label);
            }
        }
        self.raw.end_row();
    }

    /// Records what a frame that is no object of the heap holds (3.11+).
    fn frame_record_edges(&mut self, f: &Frame) {
        let source = self.source;
        for &(r, field) in &f.data.refs {
            let mut l = Labeller {
                source,
                builder: &mut self.builder,
                names: &mut self.names,
                scratch: &mut self.name_buf,
                rules: &mut self.rules,
            };
            // SAFETY: the frame's references were reported by the source;
            // none of its fields names an attribute, so no key node is made.
            let label = unsafe { l.field_label(field, &mut |_| NodeIx::new(0)) };
            self.member(r as u64);
            self.raw.push(label);
        }
        self.raw.end_row();
    }
}

/// Adds a referent to the chunk being filled, and the chunk to the full
/// ones when it is full.
fn push_member(members: &mut Vec<u64>, full: &mut Vec<Vec<u64>>, addr: u64) {
    members.push(addr);
    if members.len() == MEMBER_CHUNK {
        full.push(std::mem::replace(members, Vec::with_capacity(MEMBER_CHUNK)));
    }
}

/// Captures the whole heap of `source`.
///
/// Three passes. The walk visits every source (tracked object or live
/// frame) in address order, recording its edges' labels and sending the
/// referents' addresses to the other core, which adds them to an
/// [`address::AddressSet`] and keeps each one's place in it. Numbering that set gives
/// each node its index (nodes are in address order). The last pass reads
/// each node's own data, again in address order, while the other core turns
/// the referents' places into node indices and builds the incoming index.
pub fn capture<S: HeapSource>(source: &mut S, obs: &Observers, spawn: Spawn) -> Result<Heap, CaptureError> {
    let Built { builder, mut phases, started, unsure, .. } = build(source, obs, spawn, None)?;
    let mut lap = Instant::now();
    let mut heap = builder.finish()?;
    unsure.attribute(&mut heap);
    crate::roots::add_held_from_outside(&mut heap);
    phases.insert(phases.len() - 3, ("index".to_string(), seconds_since(&mut lap)));
    heap.meta.phases = phases;
    heap.meta.capture_seconds = started.elapsed().as_secs_f64();
    Ok(heap)
}

/// Captures the whole heap of `source` for writing it to a file in
/// `folder`: the node rows and edges are encoded as they come and go to a
/// private, nameless spill file there (or, failing that, in the temporary
/// folder), so that what the capture holds in memory is its address set,
/// its sources and a few chunks, not the graph. No incoming index and no
/// address lookup are built (a reader rebuilds both).
pub fn capture_parts<S: HeapSource>(
    source: &mut S,
    obs: &Observers,
    spawn: Spawn,
    folder: &std::path::Path,
) -> Result<Streamed, CaptureError> {
    let spill = Spill::in_folder(folder)?;
    let Built { builder, phases, started, streamed, unsure } = build(source, obs, spawn, Some(&spill))?;
    let (nodes, edges) = streamed.ok_or(CaptureError::Thread)?;
    let mut parts = builder.into_parts()?;
    if !unsure.is_empty() {
        // Attributing them needs the incoming index a streamed capture does not build.
        parts.meta.notes.push("stack references of frames that called into C are not attributed in a streamed capture".into());
    }
    parts.meta.phases = phases;
    parts.meta.capture_seconds = started.elapsed().as_secs_f64();
    Ok(Streamed { parts, nodes, edges })
}

/// A capture ready to be written: its node rows and edges encoded (in a
/// spill file), the rest in parts (whose node columns and edges are empty).
pub struct Streamed {
    pub parts: BuiltParts,
    pub nodes: NodeEncoder,
    pub edges: EdgeEncoder,
}

impl Streamed {
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len() as usize
    }

    /// Writes the snapshot file, atomically (the spill file goes with `self`).
    pub fn write(self, path: &std::path::Path) -> Result<(), crate::snapshot::SnapshotError> {
        crate::snapshot::write_parts(self.parts, Some((self.nodes, self.edges)), path)
    }
}

/// A capture up to its finished builder.
struct Built {
    builder: HeapBuilder,
    /// The phases timed so far, the second core's last.
    phases: Vec<(String, f64)>,
    started: Instant,
    /// A streamed capture's node rows and edges (the builder has neither).
    streamed: Option<(NodeEncoder, EdgeEncoder)>,
    /// The frames' stack words, attributed once the heap is indexed.
    unsure: stack::Unsure,
}

/// The capture up to the finished builder. With `spill`, a streamed
/// capture: outgoing edges only, node rows and edges encoded as they come
/// into the spill file (a heap to write); without, both edge indexes in
/// memory (a heap to query).
fn build<S: HeapSource>(source: &mut S, obs: &Observers, spawn: Spawn, spill: Option<&Arc<Spill>>) -> Result<Built, CaptureError> {
    let started = Instant::now();
    let captured_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut phase = |name: &str| phases.push((name.to_string(), seconds_since(&mut lap)));
    let holders = source.holders();
    let frames = frames::frames_of(source.threads(), obs.frames);
    // Listed after the frames, so that nothing the frame reader allocated is in it.
    let mut objects = source.tracked();
    phase("frames and object list");
    let source: &S = source;
    let mut w = Walker::new(source, objects.addrs.len(), spill);
    if obs.redact_strings {
        w.names_kept = Some(FxHashSet::default());
    }
    let live_frames: Vec<&Frame> = frames.iter().filter(|f| !f.observer).collect();
    if let Some(list) = objects.list {
        w.list_refs = 1;
        w.excluded.insert(list);
    }
    // SAFETY: every address handed to the walker below was reported by the
    // source: its frames, its object list, the caller's arguments (objects
    // the caller holds), and what their traversals report.
    unsafe { exclude_observers(&mut w, &frames, obs) };
    // Two cores. This thread does all that reads the heap; the other works
    // on refgraph's own memory: during the walk it builds the address set,
    // and while this thread reads every node's own data it builds both edge
    // indexes.
    let (sources, (mut members, referents)) = std::thread::scope(|scope| -> Result<_, CaptureError> {
        let (to_index, addresses) = std::sync::mpsc::channel::<ToIndex>();
        // `to_index` is this closure's: if anything below panics, it is
        // dropped while unwinding and the other core stops waiting.
        // Of the label column, only what is nearly sure to be written:
        // faulting in the rest of the reservation could cost memory the
        // walk never uses.
        let (at, bytes) = w.raw.spare();
        let edge_columns = Prefault::new([(at, bytes / EDGES_RESERVED * EDGES_EXPECTED)]);
        let referents = match spill {
            None => Referents::with_capacity(objects.addrs.len() * EDGES_RESERVED),
            Some(spill) => Referents::spilled(spill),
        };
        // The node columns are reserved now, for as many nodes as the heap
        // is likely to have, so that the other core can fault them in while
        // the walk keeps this one busy: as far as the nodes the walk has met
        // so far, which the heap surely has.
        // (Streamed, the rows are encoded as they come: nothing to reserve.)
        let expected_nodes = objects.addrs.len() * NODES_PER_TRACKED;
        if w.encoder.is_none() {
            w.builder.reserve(expected_nodes, 0);
        }
        let node_columns = (Prefault::new(w.builder.node_spare(expected_nodes)), expected_nodes);
        let members = on_second_core(scope, spawn, move || cores::address_set(addresses, referents, edge_columns, node_columns));
        // Sorted into the sources; the listed order is not kept.
        let sources = Sources::new(&w.excluded, std::mem::take(&mut objects.addrs), &live_frames);
        let _ = to_index.send(ToIndex::Sources(sources.addrs.clone()));
        // SAFETY: the sources are the source's tracked objects and frames.
        unsafe { walk(&mut w, &sources, &live_frames, &to_index) };
        w.send_members(&to_index, true);
        drop(to_index);
        phase("walk");
        Ok((sources, members.join().ok_or(CaptureError::Thread)?))
    })?;
    phase("address set catching up");
    for &x in &w.excluded {
        members.remove(x as u64);
    }
    let numbering = members.number();
    phase("number");
    let raw = std::mem::take(&mut w.raw);
    if w.encoder.is_none() {
        w.builder.reserve(numbering.len(), 0);
    }
    // What the walk's core did not get to (all of it, if the node columns
    // had to grow and move).
    let node_columns = Prefault::new(w.builder.node_spare(numbering.len()));
    let mut streamed_edges = None;
    let second_core = std::thread::scope(|scope| -> Result<[(&str, f64); 3], CaptureError> {
        let edges = on_second_core(scope, spawn, || {
            let mut lap = Instant::now();
            // The node pass below writes these from their start; they are
            // faulted in first, so that it finds them ready.
            node_columns.run();
            let faulted = seconds_since(&mut lap);
            let row_sources = sources.addrs.iter().map(|&a| a as u64);
            let edges = match spill {
                None => Edges::Csr(raw.resolve(referents, &numbering, row_sources)?),
                Some(spill) => {
                    let mut out = EdgeEncoder::spilled(spill);
                    raw.resolve_into(referents, &numbering, row_sources, &mut out)?;
                    Edges::Encoded(out)
                }
            };
            let resolved = seconds_since(&mut lap);
            let incoming = match &edges {
                Edges::Csr(csr) => Some(csr.incoming(numbering.len())),
                Edges::Encoded(_) => None,
            };
            let reversed = seconds_since(&mut lap);
            let laps = [("node columns faulted in", faulted), ("edges resolved", resolved), ("incoming index", reversed)];
            Ok::<_, CaptureError>((edges, incoming, laps))
        });
        // SAFETY: every member of the numbering is a source or a referent
        // the source reported.
        let nodes = unsafe { node_pass(&mut w, &numbering, &sources, &live_frames) };
        let (edges, incoming, laps) = edges.join().ok_or(CaptureError::Thread)??;
        nodes?;
        match (edges, &mut w.encoder) {
            (Edges::Csr(csr), None) => w.builder.set_edges(csr, incoming)?,
            (Edges::Encoded(out), Some(enc)) => {
                enc.finish()?;
                if out.rows() != enc.len() {
                    return Err(BuildError::BadEdges("row or label count differs from the nodes").into());
                }
                streamed_edges = Some(out);
            }
            _ => return Err(CaptureError::Thread),
        }
        Ok(laps)
    })?;
    phase("nodes and edges");
    let find = |addr: u64| numbering.index_of(addr).map(|i| NodeIx::new(i as usize));
    holders::add_roots(&mut w.builder, &find, source.modules(), &holders, &live_frames);
    drop(objects);
    phase("release");
    let observer_refs: u64 = w.observer_refs.values().map(|&v| u64::from(v)).sum();
    let facts = source.facts();
    w.builder.set_meta(Meta {
        collector: facts.collector,
        python_version: facts.python_version,
        python: facts.python,
        pid: facts.pid,
        captured_at,
        capture_seconds: started.elapsed().as_secs_f64(),
        argv: if obs.redact_strings { Meta::redacted_argv(facts.argv) } else { facts.argv },
        redacted_strings: obs.redact_strings,
        observer_refs,
        observer_objects: w.excluded.len() as u64,
        notes: source.notes(),
        phases: Vec::new(),
    });
    let unsure = stack::Unsure::collect(&mut w.builder, &live_frames);
    // Not laps: they ran during "nodes and edges", on the other core.
    for (name, seconds) in second_core {
        phases.push((format!("second core: {name}"), seconds));
    }
    let streamed = match (w.encoder.take(), streamed_edges) {
        (Some(enc), Some(edges)) => Some((enc, edges)),
        _ => None,
    };
    Ok(Built { builder: w.builder, phases, started, streamed, unsure })
}

/// A capture's resolved edges: an index in memory, or encoded for the file.
enum Edges {
    Csr(Csr),
    Encoded(EdgeEncoder),
}

/// Records the edges of every source, in address order.
///
/// # Safety
/// The sources were reported by the walker's source.
unsafe fn walk<S: HeapSource>(w: &mut Walker<'_, S>, sources: &Sources, live_frames: &[&Frame], to_index: &Sender<ToIndex>) {
    let mut buf = EdgeBuffers::default();
    for (i, (addr, frame)) in sources.iter().enumerate() {
        if !w.full_chunks.is_empty() {
            w.send_members(to_index, false);
        }
        if let Some(&ahead) = sources.addrs.get(i + PREFETCH_AHEAD) {
            prefetch(ahead);
        }
        match frame.map(|f| live_frames[f as usize]) {
            // SAFETY: a tracked object, or a frame's object.
            None => unsafe { w.object_edges(addr, &mut buf) },
            Some(f) => match f.data.object {
                // SAFETY: as above.
                Some(o) => unsafe { w.object_edges(o, &mut buf) },
                None => w.frame_record_edges(f),
            },
        }
    }
}

/// Appends every node, in address order, with its own data.
///
/// # Safety
/// Every member of `numbering` was reported by the walker's source.
unsafe fn node_pass<S: HeapSource>(
    w: &mut Walker<'_, S>,
    numbering: &Numbering,
    sources: &Sources,
    live_frames: &[&Frame],
) -> Result<(), BuildError> {
    let mut sources = sources.iter().peekable();
    let mut ahead = numbering.iter().skip(PREFETCH_AHEAD);
    for addr in numbering.iter() {
        if let Some(a) = ahead.next() {
            prefetch(a as usize);
            // A str's text, and most objects' second field line, follow the header.
            prefetch(a as usize + 64);
        }
        let source = sources.next_if(|s| s.0 as u64 == addr);
        let addr = addr as Addr;
        // No source: an untracked leaf; a source without a frame: a tracked
        // object. SAFETY: the caller's contract.
        match source.map(|s| s.1.map(|f| live_frames[f as usize])) {
            None => unsafe { w.add_object(addr, false)? },
            Some(None) => unsafe { w.add_object(addr, true)? },
            Some(Some(f)) => match f.data.object {
                Some(o) => unsafe { w.add_object(o, false)? },
                None => add_frame_record(w, f)?,
            },
        };
    }
    Ok(())
}

/// A node for a running function's interpreter frame (3.11+), which is no
/// object of the heap but holds the function's locals.
fn add_frame_record<S: HeapSource>(w: &mut Walker<'_, S>, f: &Frame) -> Result<NodeIx, BuildError> {
    let ty = w.builder.type_id("frame");
    let flags = NodeFlags(NodeFlags::SYNTHETIC);
    w.append(f.data.addr as u64, ty, 0, 0, flags, &f.data.function)
}

/// Leaves out the caller's frames, the containers it passed and what it
/// asked to ignore, and counts what they hold.
///
/// # Safety
/// The frames were reported by the source; the observers' addresses are
/// objects the caller holds.
unsafe fn exclude_observers<S: HeapSource>(w: &mut Walker<'_, S>, frames: &[Frame], obs: &Observers) {
    let mut scratch = Vec::new();
    for f in frames.iter().filter(|f| f.observer) {
        match f.data.object {
            // SAFETY: the caller's contract, for this function and the next.
            Some(o) => unsafe { w.exclude(o, &mut scratch) },
            None => {
                for &(r, _) in &f.data.refs {
                    w.add_observer_ref(r);
                }
                if let Some(fo) = f.data.frame_object {
                    // SAFETY: the source reported the frame's object.
                    unsafe { w.exclude(fo, &mut scratch) };
                }
            }
        }
    }
    for &c in &obs.containers {
        // SAFETY: the caller holds the container, a live object of the heap.
        unsafe { w.exclude(c, &mut scratch) };
        // The caller's stack holds the container, not the heap.
        w.add_observer_ref(c);
    }
    for &a in &obs.args {
        w.add_observer_ref(a);
    }
    for &addr in &obs.ignore {
        w.excluded.insert(addr);
    }
}
