//! The heap graph: one node per Python object, one labelled edge per reference.
//!
//! [`Heap`] is the model every query sees. It is a compressed sparse row (CSR)
//! graph with `u32` node indices and both directions materialised, because the
//! questions refgraph answers ("who holds this?") walk references backwards,
//! and heaps reach millions of nodes and tens of millions of edges. Node data is
//! stored column by column so a 6 M-node heap costs tens of megabytes, not
//! hundreds. [`HeapBuilder`] is the only way to make one; capture, the snapshot
//! reader and the tests all go through it.
//!
//! The petgraph `visit` traits are implemented for `&Heap`, so petgraph's
//! algorithms (and ours in [`crate::paths`], written against those traits) run
//! on it directly; `petgraph::visit::Reversed(&heap)` walks referrers.
//!
//! The model's plain data lives beside it: [`Root`] and [`RootKind`] (why a
//! node is a root) and [`Meta`] (facts about the capture). The model imports
//! nothing from the rest of the crate.

#![forbid(unsafe_code)]

mod meta;
mod root;

use std::fmt;
use std::hash::BuildHasher;

use fixedbitset::FixedBitSet;
use petgraph::visit::{GraphBase, IntoNeighbors, IntoNeighborsDirected, NodeCount, NodeIndexable, Visitable};
use petgraph::Direction;
use rustc_hash::FxHashMap;

pub use meta::Meta;
pub use root::{Root, RootKind};

/// Index of a node in a [`Heap`].
pub type NodeIx = petgraph::graph::NodeIndex<u32>;

/// Index of an edge in a [`Heap`]'s forward (referrer -> referent) order.
pub type EdgeIx = u32;

/// Per-node flags.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeFlags(pub u8);

impl NodeFlags {
    /// The garbage collector tracks the object (it was walked with `tp_traverse`).
    pub const TRACKED: u8 = 1;
    /// Immortal object (CPython 3.12+): its reference count means nothing.
    pub const IMMORTAL: u8 = 2;
    /// Not a Python object but a holder refgraph made visible, such as the
    /// interpreter frame of a running function on 3.11+.
    pub const SYNTHETIC: u8 = 4;

    pub fn tracked(self) -> bool {
        self.0 & Self::TRACKED != 0
    }
    pub fn immortal(self) -> bool {
        self.0 & Self::IMMORTAL != 0
    }
    pub fn synthetic(self) -> bool {
        self.0 & Self::SYNTHETIC != 0
    }
}

impl fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.tracked() {
            parts.push("tracked");
        }
        if self.immortal() {
            parts.push("immortal");
        }
        if self.synthetic() {
            parts.push("synthetic");
        }
        write!(f, "NodeFlags({})", parts.join("|"))
    }
}

/// How a referrer holds a referent, packed into 32 bits (3-bit tag, 29-bit payload)
/// so the edge arrays stay at 8 bytes per edge.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EdgeLabel(u32);

/// The unpacked form of an [`EdgeLabel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// `tp_traverse` reported the reference; the structure says nothing more.
    Unknown,
    /// Item `i` of a sequence: `[i]`.
    Index(u32),
    /// The key object of a dict entry (its value edge is [`EdgeKind::DictValue`]).
    DictKey,
    /// The value stored under a key: `['key']`. The payload is the key's node.
    DictValue(NodeIx),
    /// An attribute whose name is a str node: `.name`.
    Attr(NodeIx),
    /// A fixed name from the heap's edge-name table (`__globals__`, `f_locals['x']`, ...).
    Named(u32),
}

impl EdgeLabel {
    const TAG_SHIFT: u32 = 29;
    const PAYLOAD: u32 = (1 << Self::TAG_SHIFT) - 1;
    /// Largest payload a label can carry (index, node or name id).
    pub const MAX_PAYLOAD: u32 = Self::PAYLOAD;

    pub const UNKNOWN: EdgeLabel = EdgeLabel(0);

    pub fn new(kind: EdgeKind) -> EdgeLabel {
        let (tag, payload) = match kind {
            EdgeKind::Unknown => (0, 0),
            EdgeKind::Index(i) => (1, i.min(Self::PAYLOAD)),
            EdgeKind::DictKey => (2, 0),
            EdgeKind::DictValue(k) => (3, k.index() as u32),
            EdgeKind::Attr(k) => (4, k.index() as u32),
            EdgeKind::Named(n) => (5, n),
        };
        debug_assert!(payload <= Self::PAYLOAD);
        EdgeLabel(tag << Self::TAG_SHIFT | (payload & Self::PAYLOAD))
    }

    pub fn kind(self) -> EdgeKind {
        let payload = self.0 & Self::PAYLOAD;
        match self.0 >> Self::TAG_SHIFT {
            1 => EdgeKind::Index(payload),
            2 => EdgeKind::DictKey,
            3 => EdgeKind::DictValue(NodeIx::new(payload as usize)),
            4 => EdgeKind::Attr(NodeIx::new(payload as usize)),
            5 => EdgeKind::Named(payload),
            _ => EdgeKind::Unknown,
        }
    }

    /// The raw 32-bit form, as stored in snapshot files.
    pub fn to_bits(self) -> u32 {
        self.0
    }

    /// Rebuilds a label from its raw form; `None` for a tag no version wrote.
    pub fn from_bits(bits: u32) -> Option<EdgeLabel> {
        (bits >> Self::TAG_SHIFT <= 5).then_some(EdgeLabel(bits))
    }

    /// The node this label names (the key of a dict value, the name of an attribute).
    pub fn referenced_node(self) -> Option<NodeIx> {
        match self.kind() {
            EdgeKind::DictValue(n) | EdgeKind::Attr(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Debug for EdgeLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind().fmt(f)
    }
}

/// Everything known about one object, as capture or a test describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeData {
    pub addr: u64,
    /// Qualified type name (`dict`, `logging.Logger`, `function`).
    pub type_name: String,
    /// Shallow size in bytes, from the type's layout (never `__sizeof__`).
    pub size: u64,
    /// Reference count with refgraph's own references already subtracted.
    pub refcount: u64,
    pub flags: NodeFlags,
    /// Safe short label (`logging namespace, 108 items`, `'text'`, `len=3`).
    pub label: String,
}

/// A compact append-only pool of strings addressed by `u32` id; id 0 is "".
#[derive(Clone, Debug)]
pub struct StrPool {
    bytes: String,
    ends: Vec<u32>,
}

impl Default for StrPool {
    fn default() -> Self {
        StrPool { bytes: String::new(), ends: vec![0] }
    }
}

impl StrPool {
    pub fn push(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return 0;
        }
        self.bytes.push_str(s);
        self.ends.push(self.bytes.len() as u32);
        (self.ends.len() - 2 + 1) as u32
    }

    pub fn get(&self, id: u32) -> &str {
        let i = id as usize;
        if i == 0 || i >= self.ends.len() {
            return "";
        }
        &self.bytes[self.ends[i - 1] as usize..self.ends[i] as usize]
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.len() <= 1
    }

    /// The raw parts, for the snapshot writer.
    pub fn parts(&self) -> (&str, &[u32]) {
        (&self.bytes, &self.ends)
    }

    /// Rebuilds a pool from raw parts; `None` if the offsets are inconsistent.
    pub fn from_parts(bytes: String, ends: Vec<u32>) -> Option<StrPool> {
        if ends.first() != Some(&0) {
            return None;
        }
        let mut prev = 0u32;
        for &e in &ends {
            if e < prev || e as usize > bytes.len() || !bytes.is_char_boundary(e as usize) {
                return None;
            }
            prev = e;
        }
        Some(StrPool { bytes, ends })
    }
}

/// Node columns. Kept in separate vectors: queries touch one or two at a time.
#[derive(Clone, Debug, Default)]
pub struct NodeColumns {
    pub addr: Vec<u64>,
    pub type_id: Vec<u32>,
    pub size: Vec<u32>,
    pub refcount: Vec<u32>,
    pub flags: Vec<u8>,
    pub label: Vec<u32>,
}

/// `$e` for each node column `$v` in turn, as an array: the columns hold
/// different types, so no closure can serve them all.
macro_rules! each_column {
    ($c:expr, |$v:ident| $e:expr) => {
        [
            {
                let $v = &mut $c.addr;
                $e
            },
            {
                let $v = &mut $c.type_id;
                $e
            },
            {
                let $v = &mut $c.size;
                $e
            },
            {
                let $v = &mut $c.refcount;
                $e
            },
            {
                let $v = &mut $c.flags;
                $e
            },
            {
                let $v = &mut $c.label;
                $e
            },
        ]
    };
}

impl NodeColumns {
    pub fn len(&self) -> usize {
        self.addr.len()
    }
    pub fn is_empty(&self) -> bool {
        self.addr.is_empty()
    }

    /// Room for `n` more nodes, exactly: a capture reserves for the count
    /// it expects, and doubling past it would map memory nobody uses.
    fn reserve(&mut self, n: usize) {
        each_column!(self, |v| v.reserve_exact(n));
    }

    fn spare(&mut self, rows: usize) -> [(usize, usize); 6] {
        each_column!(self, |v| spare_rows(v, rows))
    }

    fn shrink_to_fit(&mut self) {
        each_column!(self, |v| v.shrink_to_fit());
    }
}

/// An edge index in compressed-row form: node `i`'s edges are
/// `to[start[i]..start[i + 1]]`, labelled by `label[..]` alike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Csr {
    pub start: Vec<u32>,
    pub to: Vec<u32>,
    pub label: Vec<EdgeLabel>,
}

/// A captured heap. See the module docs.
#[derive(Clone, Debug)]
pub struct Heap {
    pub meta: Meta,
    pub(crate) nodes: NodeColumns,
    pub(crate) types: Vec<String>,
    pub(crate) labels: StrPool,
    pub(crate) edge_names: Vec<String>,
    pub(crate) out_start: Vec<u32>,
    pub(crate) out_to: Vec<u32>,
    pub(crate) out_label: Vec<EdgeLabel>,
    in_start: Vec<u32>,
    /// For each incoming slot, the forward edge index (gives the label, and
    /// the source by [`row_of`]: a referrer is looked up, not stored, which
    /// saves 4 bytes an edge for a binary search per referrer visited).
    in_edge: Vec<EdgeIx>,
    pub(crate) roots: Vec<Root>,
    /// Nodes are in strictly increasing address order (every capture's
    /// are): addresses are found by binary search, with no index at all.
    ascending: bool,
    /// Address -> index for heaps in any other order, built on first use: a
    /// heap read from a file may never be asked for an address.
    by_addr: std::sync::OnceLock<FxHashMap<u64, u32>>,
}

/// The unused capacity of `v` as `(address, bytes)`: where its next pushes
/// will be written (for [`crate::alloc::Prefault`]).
pub fn spare_capacity<T>(v: &Vec<T>) -> (usize, usize) {
    let size = std::mem::size_of::<T>();
    (v.as_ptr() as usize + v.len() * size, (v.capacity() - v.len()) * size)
}

/// Where the next `rows` pushes to `v` will be written, as far as its
/// capacity goes.
fn spare_rows<T>(v: &Vec<T>, rows: usize) -> (usize, usize) {
    let (at, bytes) = spare_capacity(v);
    (at, bytes.min(rows * std::mem::size_of::<T>()))
}

fn strictly_ascending(addrs: &[u64]) -> bool {
    addrs.windows(2).all(|w| w[0] < w[1])
}

/// A borrowed view of one node.
#[derive(Clone, Copy)]
pub struct NodeRef<'h> {
    heap: &'h Heap,
    pub ix: NodeIx,
}

impl<'h> NodeRef<'h> {
    fn i(&self) -> usize {
        self.ix.index()
    }
    pub fn addr(&self) -> u64 {
        self.heap.nodes.addr[self.i()]
    }
    pub fn type_name(&self) -> &'h str {
        &self.heap.types[self.heap.nodes.type_id[self.i()] as usize]
    }
    /// The type name without its module (`Logger` for `logging.Logger`).
    pub fn short_type_name(&self) -> &'h str {
        let t = self.type_name();
        t.rsplit('.').next().unwrap_or(t)
    }
    pub fn size(&self) -> u64 {
        u64::from(self.heap.nodes.size[self.i()])
    }
    /// Compensated reference count: real references only, refgraph's own subtracted.
    pub fn refcount(&self) -> u64 {
        u64::from(self.heap.nodes.refcount[self.i()])
    }
    pub fn flags(&self) -> NodeFlags {
        NodeFlags(self.heap.nodes.flags[self.i()])
    }
    pub fn label(&self) -> &'h str {
        self.heap.labels.get(self.heap.nodes.label[self.i()])
    }
    pub fn in_degree(&self) -> usize {
        self.heap.in_range(self.ix).len()
    }
    pub fn out_degree(&self) -> usize {
        self.heap.out_range(self.ix).len()
    }
    /// The module a node belongs to, as far as its type or label says
    /// (`logging` for `logging.Logger`, a function `logging.shutdown`, a
    /// `logging namespace` dict, or the module object `logging`).
    pub fn module(&self) -> Option<&'h str> {
        let label = self.label();
        match self.type_name() {
            "module" => Some(label),
            "function" | "builtin_function_or_method" | "type" => label.rsplit_once('.').map(|(m, _)| m),
            "dict" => label.split_once(" namespace").map(|(m, _)| m),
            t => t.rsplit_once('.').map(|(m, _)| m),
        }
    }
}

impl fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:#x} {:?}", self.type_name(), self.addr(), self.label())
    }
}

/// One reference: `from` holds `to`, described by `label`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeRef {
    pub ix: EdgeIx,
    pub from: NodeIx,
    pub to: NodeIx,
    pub label: EdgeLabel,
}

impl Heap {
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn edge_count(&self) -> usize {
        self.out_to.len()
    }
    pub fn node(&self, ix: NodeIx) -> NodeRef<'_> {
        NodeRef { heap: self, ix }
    }
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeRef<'_>> + '_ {
        (0..self.node_count()).map(move |i| self.node(NodeIx::new(i)))
    }
    /// The node at an object's address.
    pub fn find_addr(&self, addr: u64) -> Option<NodeIx> {
        if self.ascending {
            return self.nodes.addr.binary_search(&addr).ok().map(NodeIx::new);
        }
        let index = self.by_addr.get_or_init(|| {
            let mut m = FxHashMap::default();
            m.reserve(self.nodes.len());
            for (i, &a) in self.nodes.addr.iter().enumerate() {
                m.entry(a).or_insert(i as u32);
            }
            m
        });
        index.get(&addr).map(|&i| NodeIx::new(i as usize))
    }
    pub fn roots(&self) -> &[Root] {
        &self.roots
    }
    /// Root entries of a node (a node can be a root for several reasons).
    pub fn roots_of(&self, ix: NodeIx) -> impl Iterator<Item = &Root> + '_ {
        let lo = self.roots.partition_point(|r| r.node < ix);
        self.roots[lo..].iter().take_while(move |r| r.node == ix)
    }
    pub fn is_root(&self, ix: NodeIx) -> bool {
        self.roots_of(ix).next().is_some()
    }
    pub fn type_names(&self) -> &[String] {
        &self.types
    }
    pub fn edge_names(&self) -> &[String] {
        &self.edge_names
    }
    pub fn columns(&self) -> &NodeColumns {
        &self.nodes
    }
    pub fn labels(&self) -> &StrPool {
        &self.labels
    }

    fn out_range(&self, ix: NodeIx) -> std::ops::Range<usize> {
        let i = ix.index();
        self.out_start[i] as usize..self.out_start[i + 1] as usize
    }
    fn in_range(&self, ix: NodeIx) -> std::ops::Range<usize> {
        let i = ix.index();
        self.in_start[i] as usize..self.in_start[i + 1] as usize
    }

    fn edge(&self, e: usize, from: NodeIx) -> EdgeRef {
        EdgeRef { ix: e as EdgeIx, from, to: NodeIx::new(self.out_to[e] as usize), label: self.out_label[e] }
    }

    /// References held by `ix` (its referents), in capture order.
    pub fn out_edges(&self, ix: NodeIx) -> impl ExactSizeIterator<Item = EdgeRef> + '_ {
        self.out_range(ix).map(move |e| self.edge(e, ix))
    }

    /// References to `ix` (its referrers).
    pub fn in_edges(&self, ix: NodeIx) -> impl ExactSizeIterator<Item = EdgeRef> + '_ {
        self.in_range(ix).map(move |slot| {
            let e = self.in_edge[slot];
            self.edge(e as usize, NodeIx::new(row_of(&self.out_start, e)))
        })
    }

    /// The first edge from `from` to `to`, if any.
    pub fn edge_between(&self, from: NodeIx, to: NodeIx) -> Option<EdgeRef> {
        self.out_edges(from).find(|e| e.to == to)
    }

    /// Human-readable form of an edge label: `['name']`, `.attr`, `[3]`, `__globals__`.
    pub fn edge_label_text(&self, label: EdgeLabel) -> String {
        match label.kind() {
            EdgeKind::Unknown => String::new(),
            EdgeKind::Index(i) => format!("[{i}]"),
            EdgeKind::DictKey => "(key)".to_string(),
            EdgeKind::DictValue(k) => format!("[{}]", self.key_text(k)),
            EdgeKind::Attr(k) => format!(".{}", self.node_or_missing(k).map_or("?", |n| n.label())),
            EdgeKind::Named(n) => self.edge_names.get(n as usize).cloned().unwrap_or_default(),
        }
    }

    fn node_or_missing(&self, ix: NodeIx) -> Option<NodeRef<'_>> {
        (ix.index() < self.node_count()).then(|| self.node(ix))
    }

    fn key_text(&self, k: NodeIx) -> String {
        match self.node_or_missing(k) {
            Some(n) if n.type_name() == "str" => format!("'{}'", n.label()),
            Some(n) if matches!(n.type_name(), "int" | "float" | "bool" | "NoneType") => n.label().to_string(),
            Some(n) => format!("<{} {:#x}>", n.type_name(), n.addr()),
            None => "?".to_string(),
        }
    }

    /// Human-readable label of a root entry, including the surplus count of
    /// held-from-outside roots.
    pub fn root_text(&self, root: &Root) -> String {
        root.kind.to_string()
    }
}

/// Builds a [`Heap`]. Two ways to add edges:
/// - [`HeapBuilder::push_edges`]: all referents of one node at once, nodes in
///   increasing index order. Capture uses it: no sorting, no extra copy.
/// - [`HeapBuilder::add_edge`]: one edge, any order; sorted in `finish`.
#[derive(Default)]
pub struct HeapBuilder {
    nodes: NodeColumns,
    types: Vec<String>,
    type_ids: FxHashMap<String, u32>,
    labels: StrPool,
    /// Hash of a label's text -> the first label with that hash. Labels
    /// repeat massively (the same function and code names in every copy of
    /// a reloaded module, the same strings in many places: 73 MB of text
    /// on the 1000-call seed heap is 1.5 MB without repeats), so each text
    /// is kept once.
    label_ids: FxHashMap<u64, u32>,
    edge_names: Vec<String>,
    edge_name_ids: FxHashMap<String, u32>,
    /// Address -> index. Either complete, or empty while every node so far
    /// was appended in increasing address order (then a binary search
    /// finds addresses).
    by_addr: FxHashMap<u64, u32>,
    /// CSR rows for nodes `0..out_start.len()-1`, filled by `push_edges`.
    out_start: Vec<u32>,
    out_to: Vec<u32>,
    out_label: Vec<EdgeLabel>,
    loose: Vec<(u32, u32, EdgeLabel)>,
    /// The incoming index, when [`HeapBuilder::set_edges`] was given one.
    incoming: Option<Incoming>,
    roots: Vec<Root>,
    meta: Meta,
}

/// A built heap's columns as they are, for a writer: see
/// [`HeapBuilder::into_parts`].
pub struct BuiltParts {
    pub meta: Meta,
    pub nodes: NodeColumns,
    pub types: Vec<String>,
    pub labels: StrPool,
    pub edge_names: Vec<String>,
    pub csr: Csr,
    /// Sorted by node; no held-from-outside roots (they need the incoming
    /// index, and readers compute them).
    pub roots: Vec<Root>,
}

/// Errors from assembling a heap.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("edges pushed for node {0} after node {1}: push_edges needs increasing node order")]
    OutOfOrder(u32, u32),
    #[error("edge refers to node {0}, but the heap has {1} nodes")]
    NoSuchNode(u32, usize),
    #[error("two nodes at address {0:#x}")]
    DuplicateAddress(u64),
    #[error("node at address {0:#x} comes after address {1:#x}: nodes must be in increasing address order")]
    NotAscending(u64, u64),
    #[error("no node at address {0:#x}")]
    NoSuchAddress(u64),
    #[error("edge index does not fit: {0}")]
    BadEdges(&'static str),
    #[error("heap too large: {0}")]
    TooLarge(&'static str),
}

impl HeapBuilder {
    pub fn new() -> Self {
        let mut b = HeapBuilder::default();
        b.out_start.push(0);
        b
    }

    /// Reserves room for about `nodes` nodes and `edges` edges.
    pub fn with_capacity(nodes: usize, edges: usize) -> Self {
        let mut b = Self::new();
        b.reserve(nodes, edges);
        b
    }

    /// Reserves room for `nodes` more nodes and `edges` more edges.
    pub fn reserve(&mut self, nodes: usize, edges: usize) {
        self.nodes.reserve(nodes);
        self.out_start.reserve(nodes + 1);
        self.out_to.reserve(edges);
        self.out_label.reserve(edges);
    }

    /// Where the next `rows` appended nodes will be written, in each node
    /// column, as `(address, bytes)`, as far as the reservation goes.
    pub fn node_spare(&mut self, rows: usize) -> [(usize, usize); 6] {
        self.nodes.spare(rows)
    }

    pub fn set_meta(&mut self, meta: Meta) {
        self.meta = meta;
    }

    pub fn meta_mut(&mut self) -> &mut Meta {
        &mut self.meta
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out_to.len() + self.loose.len()
    }

    /// Interns a type name.
    pub fn type_id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.type_ids.get(name) {
            return id;
        }
        let id = self.types.len() as u32;
        self.types.push(name.to_string());
        self.type_ids.insert(name.to_string(), id);
        id
    }

    /// Interns an edge name for [`EdgeKind::Named`].
    pub fn edge_name(&mut self, name: &str) -> EdgeLabel {
        if let Some(&id) = self.edge_name_ids.get(name) {
            return EdgeLabel::new(EdgeKind::Named(id));
        }
        let id = self.edge_names.len() as u32;
        self.edge_names.push(name.to_string());
        self.edge_name_ids.insert(name.to_string(), id);
        EdgeLabel::new(EdgeKind::Named(id))
    }

    /// The node at `addr`, if one was added.
    pub fn find_addr(&self, addr: u64) -> Option<NodeIx> {
        if self.by_addr.len() < self.nodes.len() {
            return self.nodes.addr.binary_search(&addr).ok().map(NodeIx::new);
        }
        self.by_addr.get(&addr).map(|&i| NodeIx::new(i as usize))
    }

    /// Adds a node, or returns the existing one at the same address.
    pub fn add_node(&mut self, data: &NodeData) -> NodeIx {
        let type_id = self.type_id(&data.type_name);
        self.add_node_raw(data.addr, type_id, data.size, data.refcount, data.flags, &data.label)
    }

    /// Like [`HeapBuilder::add_node`] with an interned type. (The capture
    /// uses [`HeapBuilder::append_node`], which needs no address index.)
    pub fn add_node_raw(&mut self, addr: u64, type_id: u32, size: u64, refcount: u64, flags: NodeFlags, label: &str) -> NodeIx {
        if self.by_addr.len() < self.nodes.len() {
            self.by_addr = self.nodes.addr.iter().enumerate().map(|(i, &a)| (a, i as u32)).collect();
        }
        let next = self.nodes.len() as u32;
        let ix = *self.by_addr.entry(addr).or_insert(next);
        if ix == next {
            self.push_node(addr, type_id, size, refcount, flags, label);
        }
        NodeIx::new(ix as usize)
    }

    /// Adds a node above every address added so far, with no address
    /// index: the capture's path, which meets its objects in address order.
    pub fn append_node(
        &mut self,
        addr: u64,
        type_id: u32,
        size: u64,
        refcount: u64,
        flags: NodeFlags,
        label: &str,
    ) -> Result<NodeIx, BuildError> {
        if let Some(&last) = self.nodes.addr.last() {
            if addr <= last {
                return Err(BuildError::NotAscending(addr, last));
            }
        }
        if !self.by_addr.is_empty() {
            self.by_addr.insert(addr, self.nodes.len() as u32);
        }
        Ok(self.push_node(addr, type_id, size, refcount, flags, label))
    }

    /// The id of `text` in the label pool (added if new), for a node kept
    /// elsewhere (a capture streamed to a file).
    pub fn intern_label(&mut self, text: &str) -> u32 {
        self.label_id(text)
    }

    /// The id of `text` in the label pool, added if it is new. On the rare
    /// hash collision the text is simply stored again.
    fn label_id(&mut self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        let hash = rustc_hash::FxBuildHasher.hash_one(text);
        match self.label_ids.get(&hash) {
            Some(&id) if self.labels.get(id) == text => id,
            Some(_) => self.labels.push(text),
            None => {
                let id = self.labels.push(text);
                self.label_ids.insert(hash, id);
                id
            }
        }
    }

    fn push_node(&mut self, addr: u64, type_id: u32, size: u64, refcount: u64, flags: NodeFlags, label: &str) -> NodeIx {
        let label = self.label_id(label);
        let n = &mut self.nodes;
        n.addr.push(addr);
        n.type_id.push(type_id);
        n.size.push(size.min(u64::from(u32::MAX)) as u32);
        n.refcount.push(refcount.min(u64::from(u32::MAX)) as u32);
        n.flags.push(flags.0);
        n.label.push(label);
        NodeIx::new(n.addr.len() - 1)
    }

    /// Changes the data of a node already added (capture learns labels late).
    pub fn set_label(&mut self, ix: NodeIx, label: &str) {
        self.nodes.label[ix.index()] = self.label_id(label);
    }

    pub fn set_refcount(&mut self, ix: NodeIx, refcount: u64) {
        self.nodes.refcount[ix.index()] = refcount.min(u64::from(u32::MAX)) as u32;
    }

    pub fn refcount(&self, ix: NodeIx) -> u64 {
        u64::from(self.nodes.refcount[ix.index()])
    }

    pub fn label(&self, ix: NodeIx) -> &str {
        self.labels.get(self.nodes.label[ix.index()])
    }

    pub fn flags(&self, ix: NodeIx) -> NodeFlags {
        NodeFlags(self.nodes.flags[ix.index()])
    }

    /// Appends all referents of `from`. Calls must come in increasing `from` order.
    pub fn push_edges(&mut self, from: NodeIx, edges: impl IntoIterator<Item = (NodeIx, EdgeLabel)>) -> Result<(), BuildError> {
        let from = from.index();
        let rows = self.out_start.len() - 1;
        if from < rows {
            return Err(BuildError::OutOfOrder(from as u32, rows as u32 - 1));
        }
        let end = self.out_to.len() as u32;
        self.out_start.resize(from + 1, end);
        for (to, label) in edges {
            self.out_to.push(to.index() as u32);
            self.out_label.push(label);
        }
        if self.out_to.len() > u32::MAX as usize {
            return Err(BuildError::TooLarge("more than 4 G edges"));
        }
        self.out_start.push(self.out_to.len() as u32);
        Ok(())
    }

    /// Sets every edge at once, from an index built elsewhere (the
    /// capture builds it, and its incoming side, on a second core). Only for
    /// a builder that has no edges yet, and `csr` must cover its nodes.
    pub fn set_edges(&mut self, csr: Csr, incoming: Option<Incoming>) -> Result<(), BuildError> {
        if self.edge_count() != 0 {
            return Err(BuildError::BadEdges("the builder has edges already"));
        }
        csr.check(self.nodes.len())?;
        if incoming.as_ref().is_some_and(|inc| !inc.fits(self.nodes.len(), csr.to.len())) {
            return Err(BuildError::BadEdges("the incoming index does not match the edges"));
        }
        self.out_start = csr.start;
        self.out_to = csr.to;
        self.out_label = csr.label;
        self.incoming = incoming;
        Ok(())
    }

    /// Adds one edge, in any order.
    pub fn add_edge(&mut self, from: NodeIx, to: NodeIx, label: EdgeLabel) {
        self.loose.push((from.index() as u32, to.index() as u32, label));
    }

    pub fn add_root(&mut self, root: Root) {
        self.roots.push(root);
    }

    /// Completes the out-edges (each node's range closed, loose edges
    /// merged) and returns the node count. An incoming index built during
    /// the capture misses the loose edges, so it is dropped then.
    fn close_edges(&mut self) -> Result<usize, BuildError> {
        let n = self.nodes.len();
        if n > EdgeLabel::MAX_PAYLOAD as usize {
            return Err(BuildError::TooLarge("more than 512 M nodes"));
        }
        let end = self.out_to.len() as u32;
        self.out_start.resize(n + 1, end);
        if !self.loose.is_empty() {
            self.incoming = None;
            self.merge_loose();
        }
        Ok(n)
    }

    /// Assembles the heap: merges loose edges, builds the reverse index and
    /// sorts the roots by node. It does not add held-from-outside roots: for a
    /// captured heap, the caller runs [`crate::roots::add_held_from_outside`]
    /// once on the result.
    pub fn finish(mut self) -> Result<Heap, BuildError> {
        let n = self.close_edges()?;
        if let Some(&bad) = self.out_to.iter().find(|&&t| t as usize >= n) {
            return Err(BuildError::NoSuchNode(bad, n));
        }
        let (in_start, in_edge) = match self.incoming.take() {
            Some(inc) if inc.fits(n, self.out_to.len()) => (inc.start, inc.edge),
            _ => reverse_csr(n, &self.out_to),
        };
        // A capture reserves for the nodes it expects, a little more.
        self.nodes.shrink_to_fit();
        let ascending = strictly_ascending(&self.nodes.addr);
        let by_addr = std::sync::OnceLock::new();
        if !ascending && self.by_addr.len() == n {
            let _ = by_addr.set(self.by_addr);
        }
        // Lookups need the roots sorted by node; stable, so a node's roots keep the order they were added in.
        self.roots.sort_by_key(|r| r.node);
        Ok(Heap {
            meta: self.meta,
            nodes: self.nodes,
            types: self.types,
            labels: self.labels,
            edge_names: self.edge_names,
            out_start: self.out_start,
            out_to: self.out_to,
            out_label: self.out_label,
            in_start,
            in_edge,
            roots: self.roots,
            ascending,
            by_addr,
        })
    }

    /// What was built, without the incoming index or the address lookup
    /// that [`HeapBuilder::finish`] adds: for writing a snapshot straight
    /// from a capture (a reader rebuilds both), at a fraction of the memory.
    pub fn into_parts(mut self) -> Result<BuiltParts, BuildError> {
        let n = self.close_edges()?;
        let csr = Csr { start: self.out_start, to: self.out_to, label: self.out_label };
        csr.check(n)?;
        if let Some(&bad) = csr.to.iter().find(|&&t| t as usize >= n) {
            return Err(BuildError::NoSuchNode(bad, n));
        }
        self.roots.sort_by_key(|r| r.node);
        Ok(BuiltParts {
            meta: self.meta,
            nodes: self.nodes,
            types: self.types,
            labels: self.labels,
            edge_names: self.edge_names,
            csr,
            roots: self.roots,
        })
    }

    fn merge_loose(&mut self) {
        let n = self.nodes.len();
        let mut all: Vec<(u32, u32, EdgeLabel)> = Vec::with_capacity(self.edge_count());
        for from in 0..n {
            for e in self.out_start[from] as usize..self.out_start[from + 1] as usize {
                all.push((from as u32, self.out_to[e], self.out_label[e]));
            }
        }
        all.append(&mut self.loose);
        // Stable: keeps each node's edges in the order they were added.
        all.sort_by_key(|&(from, _, _)| from);
        self.out_to = all.iter().map(|e| e.1).collect();
        self.out_label = all.iter().map(|e| e.2).collect();
        self.out_start = vec![0; n + 1];
        for &(from, _, _) in &all {
            if (from as usize) < n {
                self.out_start[from as usize + 1] += 1;
            }
        }
        for i in 0..n {
            self.out_start[i + 1] += self.out_start[i];
        }
    }
}

impl Heap {
    /// Reassembles a heap from stored columns (the snapshot reader).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        meta: Meta,
        nodes: NodeColumns,
        types: Vec<String>,
        labels: StrPool,
        edge_names: Vec<String>,
        csr: Csr,
        incoming: Option<Incoming>,
        roots: Vec<Root>,
    ) -> Result<Heap, BuildError> {
        let n = nodes.len();
        csr.check(n)?;
        let Incoming { start: in_start, edge: in_edge } = match incoming {
            Some(inc) if inc.fits(n, csr.to.len()) => inc,
            _ => csr.incoming(n),
        };
        let ascending = strictly_ascending(&nodes.addr);
        Ok(Heap {
            meta,
            nodes,
            types,
            labels,
            edge_names,
            out_start: csr.start,
            out_to: csr.to,
            out_label: csr.label,
            in_start,
            in_edge,
            roots,
            ascending,
            by_addr: std::sync::OnceLock::new(),
        })
    }

    /// Adds edges to a finished heap, each after its source's own edges, and
    /// rebuilds the incoming index: O(nodes + edges), for the few edges a
    /// capture can only place once every count is known (a frame's stack
    /// references, `capture::stack`).
    pub fn insert_edges(&mut self, mut extra: Vec<(NodeIx, NodeIx, EdgeLabel)>) {
        if extra.is_empty() {
            return;
        }
        // Stable: a node's new edges keep their order.
        extra.sort_by_key(|e| e.0.index());
        let n = self.node_count();
        let m = self.out_to.len() + extra.len();
        let (mut to, mut label) = (Vec::with_capacity(m), Vec::with_capacity(m));
        let mut start = self.out_start.clone();
        let mut copied = 0usize;
        let mut added = 0u32;
        let mut row = 0usize;
        for &(from, target, l) in &extra {
            let r = from.index();
            if r >= n {
                continue;
            }
            // Rows up to and including `r` keep their edges, shifted by what was added before them.
            let end = self.out_start[r + 1] as usize;
            to.extend_from_slice(&self.out_to[copied..end]);
            label.extend_from_slice(&self.out_label[copied..end]);
            copied = end;
            for s in &mut start[row + 1..=r] {
                *s += added;
            }
            row = r;
            to.push(target.index() as u32);
            label.push(l);
            added += 1;
        }
        to.extend_from_slice(&self.out_to[copied..]);
        label.extend_from_slice(&self.out_label[copied..]);
        for s in &mut start[row + 1..] {
            *s += added;
        }
        let (in_start, in_edge) = reverse_csr(n, &to);
        self.out_start = start;
        self.out_to = to;
        self.out_label = label;
        self.in_start = in_start;
        self.in_edge = in_edge;
    }

    pub(crate) fn out_csr(&self) -> (&[u32], &[u32], &[EdgeLabel]) {
        (&self.out_start, &self.out_to, &self.out_label)
    }

    pub(crate) fn set_roots(&mut self, mut roots: Vec<Root>) {
        roots.sort_by_key(|r| r.node);
        self.roots = roots;
    }
}

/// The incoming side of a [`Csr`]: node `i` is referred to by the forward
/// edges `edge[start[i]..start[i + 1]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Incoming {
    start: Vec<u32>,
    edge: Vec<EdgeIx>,
}

impl Incoming {
    /// Is this the incoming side of `m` edges over `n` nodes?
    fn fits(&self, n: usize, m: usize) -> bool {
        self.start.len() == n + 1 && self.edge.len() == m
    }
}

/// The node whose row of `out_start` holds edge `e`: the last row starting
/// at or before it (rows before it that start there too are empty).
fn row_of(out_start: &[u32], e: EdgeIx) -> usize {
    out_start.partition_point(|&s| s <= e) - 1
}

impl Csr {
    /// Do these rows cover `n` nodes, in order, with a label per edge?
    pub fn check(&self, n: usize) -> Result<(), BuildError> {
        if self.start.len() != n + 1 || self.to.len() != self.label.len() {
            return Err(BuildError::BadEdges("row or label count differs from the nodes"));
        }
        if self.start.windows(2).any(|w| w[0] > w[1]) || self.start.last() != Some(&(self.to.len() as u32)) {
            return Err(BuildError::BadEdges("row starts out of order"));
        }
        Ok(())
    }

    /// The incoming index of these edges over `n` nodes.
    pub fn incoming(&self, n: usize) -> Incoming {
        let (start, edge) = reverse_csr(n, &self.to);
        Incoming { start, edge }
    }
}

/// Builds the incoming index with a counting sort: O(nodes + edges), no
/// hashing. Each target's referrers come in forward-edge order, which is
/// source order.
fn reverse_csr(n: usize, out_to: &[u32]) -> (Vec<u32>, Vec<EdgeIx>) {
    // Counted one place further up than the starts, so that after the sums
    // `start[t + 1]` is where `t`'s next referrer goes; placing them all
    // moves it on to `t + 1`'s start, leaving the starts behind, with no
    // second array of fill positions.
    let mut start = vec![0u32; n + 2];
    for &t in out_to {
        start[t as usize + 2] += 1;
    }
    for i in 2..n + 2 {
        start[i] += start[i - 1];
    }
    let mut edge = vec![0 as EdgeIx; out_to.len()];
    for (e, &t) in out_to.iter().enumerate() {
        let fill = &mut start[t as usize + 1];
        edge[*fill as usize] = e as EdgeIx;
        *fill += 1;
    }
    start.truncate(n + 1);
    (start, edge)
}

// ---- petgraph integration -------------------------------------------------

impl GraphBase for Heap {
    type NodeId = NodeIx;
    type EdgeId = EdgeIx;
}

/// Neighbours of a node in one direction.
pub struct Neighbors<'h> {
    /// Referents, or the edges of referrers.
    iter: std::slice::Iter<'h, u32>,
    /// For referrers: the rows the edges are found in.
    rows: Option<&'h [u32]>,
}

impl Iterator for Neighbors<'_> {
    type Item = NodeIx;
    fn next(&mut self) -> Option<NodeIx> {
        let &i = self.iter.next()?;
        Some(NodeIx::new(match self.rows {
            None => i as usize,
            Some(out_start) => row_of(out_start, i),
        }))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<'h> IntoNeighbors for &'h Heap {
    type Neighbors = Neighbors<'h>;
    fn neighbors(self, n: NodeIx) -> Neighbors<'h> {
        Neighbors { iter: self.out_to[self.out_range(n)].iter(), rows: None }
    }
}

impl<'h> IntoNeighborsDirected for &'h Heap {
    type NeighborsDirected = Neighbors<'h>;
    fn neighbors_directed(self, n: NodeIx, d: Direction) -> Neighbors<'h> {
        match d {
            Direction::Outgoing => self.neighbors(n),
            Direction::Incoming => Neighbors { iter: self.in_edge[self.in_range(n)].iter(), rows: Some(&self.out_start) },
        }
    }
}

impl Visitable for &Heap {
    type Map = FixedBitSet;
    fn visit_map(&self) -> FixedBitSet {
        FixedBitSet::with_capacity(self.node_count())
    }
    fn reset_map(&self, map: &mut FixedBitSet) {
        map.clear();
        map.grow(self.node_count());
    }
}

impl NodeIndexable for &Heap {
    fn node_bound(&self) -> usize {
        self.node_count()
    }
    fn to_index(&self, a: NodeIx) -> usize {
        a.index()
    }
    fn from_index(&self, i: usize) -> NodeIx {
        NodeIx::new(i)
    }
}

impl NodeCount for &Heap {
    fn node_count(&self) -> usize {
        Heap::node_count(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(addr: u64, ty: &str, refcount: u64) -> NodeData {
        NodeData { addr, type_name: ty.into(), refcount, flags: NodeFlags(NodeFlags::TRACKED), ..Default::default() }
    }

    #[test]
    fn appended_nodes_are_found_by_address_without_an_index() {
        let mut b = HeapBuilder::new();
        let t = b.type_id("dict");
        let flags = NodeFlags(NodeFlags::TRACKED);
        for addr in [0x100u64, 0x200, 0x300] {
            b.append_node(addr, t, 0, 1, flags, "").unwrap();
        }
        assert_eq!(b.append_node(0x200, t, 0, 1, flags, ""), Err(BuildError::NotAscending(0x200, 0x300)));
        assert_eq!(b.find_addr(0x200), Some(NodeIx::new(1)));
        assert_eq!(b.find_addr(0x250), None);
        // Adding by address after appending still deduplicates.
        assert_eq!(b.add_node(&obj(0x100, "dict", 1)), NodeIx::new(0));
        assert_eq!(b.add_node(&obj(0x050, "dict", 1)), NodeIx::new(3));
        assert_eq!(b.find_addr(0x050), Some(NodeIx::new(3)));
        let csr = Csr { start: vec![0, 1, 1, 2, 2], to: vec![2, 0], label: vec![EdgeLabel::UNKNOWN; 2] };
        let incoming = csr.incoming(4);
        b.set_edges(csr.clone(), Some(incoming)).unwrap();
        assert!(b.set_edges(csr, None).is_err(), "edges are set once");
        let heap = b.finish().unwrap();
        assert_eq!(heap.in_edges(NodeIx::new(2)).map(|e| e.from.index()).collect::<Vec<_>>(), vec![0]);
        assert_eq!(heap.in_edges(NodeIx::new(0)).map(|e| e.from.index()).collect::<Vec<_>>(), vec![2]);
        // Not in address order any more: found through the lazy index.
        assert_eq!(heap.find_addr(0x050), Some(NodeIx::new(3)));
        assert_eq!(heap.find_addr(0x300), Some(NodeIx::new(2)));
    }

    #[test]
    fn set_edges_refuses_an_index_that_does_not_fit() {
        let mut b = HeapBuilder::new();
        let t = b.type_id("list");
        b.append_node(0x10, t, 0, 0, NodeFlags::default(), "").unwrap();
        let short = Csr { start: vec![0], to: vec![], label: vec![] };
        assert!(matches!(b.set_edges(short, None), Err(BuildError::BadEdges(_))));
        let unordered = Csr { start: vec![1, 0], to: vec![0], label: vec![EdgeLabel::UNKNOWN] };
        assert!(matches!(b.set_edges(unordered, None), Err(BuildError::BadEdges(_))));
    }

    #[test]
    fn referrers_are_found_past_empty_rows_and_repeated_edges() {
        let mut b = HeapBuilder::new();
        let n: Vec<NodeIx> = (0..6u64).map(|i| b.add_node(&obj(0x10 * (i + 1), "list", 1))).collect();
        // Nodes 0, 2 and 4 hold nothing; 1 holds 0 twice.
        for (from, to) in [(1, 0), (1, 0), (3, 0), (3, 4), (5, 1), (5, 5)] {
            b.add_edge(n[from], n[to], EdgeLabel::UNKNOWN);
        }
        let h = b.finish().unwrap();
        let referrers = |i: usize| h.in_edges(n[i]).map(|e| (e.from.index(), e.to.index())).collect::<Vec<_>>();
        assert_eq!(referrers(0), vec![(1, 0), (1, 0), (3, 0)]);
        assert_eq!(referrers(1), vec![(5, 1)]);
        assert_eq!(referrers(2), vec![]);
        assert_eq!(referrers(4), vec![(3, 4)]);
        assert_eq!(referrers(5), vec![(5, 5)]);
        for (i, &node) in n.iter().enumerate() {
            let via_petgraph: Vec<usize> = (&h).neighbors_directed(node, Direction::Incoming).map(|x| x.index()).collect();
            assert_eq!(via_petgraph, referrers(i).iter().map(|&(f, _)| f).collect::<Vec<_>>());
        }
    }

    #[test]
    fn each_label_text_is_kept_once() {
        let mut b = HeapBuilder::new();
        let t = b.type_id("function");
        let flags = NodeFlags(NodeFlags::TRACKED);
        for (i, label) in ["logging.shutdown", "logging.getLogger", "logging.shutdown", "", "logging.shutdown"].iter().enumerate() {
            b.append_node(0x100 * (i as u64 + 1), t, 0, 1, flags, label).unwrap();
        }
        b.set_label(NodeIx::new(3), "logging.getLogger");
        let h = b.finish().unwrap();
        let labels: Vec<&str> = (0..5).map(|i| h.node(NodeIx::new(i)).label()).collect();
        assert_eq!(labels, ["logging.shutdown", "logging.getLogger", "logging.shutdown", "logging.getLogger", "logging.shutdown"]);
        // "" and the two distinct texts.
        assert_eq!(h.labels().len(), 3);
    }

    #[test]
    fn edge_labels_round_trip_through_bits() {
        for kind in [
            EdgeKind::Unknown,
            EdgeKind::Index(7),
            EdgeKind::DictKey,
            EdgeKind::DictValue(NodeIx::new(123_456)),
            EdgeKind::Attr(NodeIx::new(9)),
            EdgeKind::Named(42),
        ] {
            let l = EdgeLabel::new(kind);
            assert_eq!(EdgeLabel::from_bits(l.to_bits()).unwrap().kind(), kind);
        }
        assert!(EdgeLabel::from_bits(7 << 29).is_none());
    }

    #[test]
    fn loose_and_pushed_edges_give_the_same_reverse_index() {
        let mut b = HeapBuilder::new();
        let a = b.add_node(&obj(0x10, "list", 1));
        let c = b.add_node(&obj(0x20, "dict", 2));
        let d = b.add_node(&obj(0x30, "str", 2));
        b.push_edges(a, [(c, EdgeLabel::new(EdgeKind::Index(0))), (d, EdgeLabel::new(EdgeKind::Index(1)))]).unwrap();
        b.add_edge(c, d, EdgeLabel::UNKNOWN);
        let h = b.finish().unwrap();
        assert_eq!(h.edge_count(), 3);
        let referrers: Vec<_> = h.in_edges(d).map(|e| e.from).collect();
        assert_eq!(referrers, vec![a, c]);
        assert_eq!(h.edge_label_text(h.edge_between(a, d).unwrap().label), "[1]");
        assert_eq!(h.find_addr(0x20), Some(c));
    }

    #[test]
    fn push_edges_rejects_going_backwards() {
        let mut b = HeapBuilder::new();
        let a = b.add_node(&obj(1, "list", 1));
        let c = b.add_node(&obj(2, "list", 1));
        b.push_edges(c, []).unwrap();
        assert_eq!(b.push_edges(a, []), Err(BuildError::OutOfOrder(0, 1)));
    }

    #[test]
    fn dict_value_labels_quote_str_keys() {
        let mut b = HeapBuilder::new();
        let d = b.add_node(&obj(1, "dict", 1));
        let k = b.add_node(&NodeData { addr: 2, type_name: "str".into(), label: "name".into(), ..Default::default() });
        let v = b.add_node(&obj(3, "list", 1));
        b.push_edges(d, [(k, EdgeLabel::new(EdgeKind::DictKey)), (v, EdgeLabel::new(EdgeKind::DictValue(k)))]).unwrap();
        let h = b.finish().unwrap();
        let e = h.edge_between(d, v).unwrap();
        assert_eq!(h.edge_label_text(e.label), "['name']");
    }
}
