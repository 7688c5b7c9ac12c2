//! How answers read: the records of root-path steps (the Python `Step`, the
//! JSON of `refgraph path`), the text of `why`, the summary and stale-module
//! reports, and the [`View`]s that the renderers draw. Both front ends use
//! these, so the CLI and the Python API say the same thing in the same words.
//!
//! Every JSON document the CLI prints is a [`JsonDoc`]: a top-level object
//! with `"schema": 1` and the command's name, addresses as hex strings as
//! in the text output. `docs/json.md` describes each document; a change that
//! breaks a reader there bumps [`JSON_SCHEMA`].

#![forbid(unsafe_code)]

use serde::Serialize;

use crate::graph::{Heap, NodeIx, NodeRef};
use crate::paths::{Neighbourhood, RootPath};
use crate::render::{Role, View, ViewEdge, ViewNode};

/// The version of the JSON documents (`docs/json.md`).
pub const JSON_SCHEMA: u32 = 1;

/// A JSON document as the CLI prints it: `{"schema": 1, "command": ..., ...}`.
#[derive(Serialize)]
pub struct JsonDoc<T: Serialize> {
    pub schema: u32,
    pub command: &'static str,
    #[serde(flatten)]
    pub body: T,
}

impl<T: Serialize> JsonDoc<T> {
    pub fn new(command: &'static str, body: T) -> JsonDoc<T> {
        JsonDoc { schema: JSON_SCHEMA, command, body }
    }
}

/// `0x7f3a…`: an address as the text output writes it.
pub fn hex(addr: u64) -> String {
    format!("{addr:#x}")
}

/// Serializes an address as a hex string (JSON numbers lose precision
/// beyond 2^53 in many readers, and the text output uses hex).
pub fn serialize_hex<S: serde::Serializer>(addr: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(*addr))
}

fn serialize_hex_list<S: serde::Serializer>(addrs: &[u64], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(addrs.iter().map(|&a| hex(a)))
}

/// One step of a root path as users see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRecord {
    #[serde(serialize_with = "serialize_hex")]
    pub address: u64,
    #[serde(rename = "type")]
    pub type_name: String,
    pub label: String,
    /// Label of the reference from the previous step; `None` on the first.
    pub edge: Option<String>,
    /// What kind of root the first step is; `None` after it.
    pub root: Option<String>,
}

/// The answer for one target: its own record and its root paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathsReport {
    pub target: StepRecord,
    pub paths: Vec<Vec<StepRecord>>,
    /// Set when filters hid every path that exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The root description of a node: its first root entry, as text.
pub fn root_text(heap: &Heap, ix: NodeIx) -> Option<String> {
    heap.roots_of(ix).next().map(|r| heap.root_text(r))
}

fn record(heap: &Heap, ix: NodeIx, edge: Option<String>, root: Option<String>) -> StepRecord {
    let n = heap.node(ix);
    StepRecord { address: n.addr(), type_name: n.type_name().to_string(), label: n.label().to_string(), edge, root }
}

/// The record of a target on its own (its root entry if it is one).
pub fn target_record(heap: &Heap, ix: NodeIx) -> StepRecord {
    record(heap, ix, None, root_text(heap, ix))
}

/// The records of a path, root first.
pub fn path_records(heap: &Heap, path: &RootPath) -> Vec<StepRecord> {
    path.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let edge = s.edge.map(|l| heap.edge_label_text(l));
            let root = if i == 0 { root_text(heap, s.node) } else { None };
            record(heap, s.node, edge, root)
        })
        .collect()
}

/// The note said when filters hid every path that exists.
pub const ALL_PATHS_FILTERED: &str = "the filters hide every path from a root";

pub fn paths_report(heap: &Heap, target: NodeIx, paths: &[RootPath], filtered: bool) -> PathsReport {
    PathsReport {
        target: target_record(heap, target),
        paths: paths.iter().map(|p| path_records(heap, p)).collect(),
        note: (paths.is_empty() && filtered).then(|| ALL_PATHS_FILTERED.to_string()),
    }
}

/// [`display_label`], except that a str of a snapshot taken without strings
/// shows its length unquoted (`len=12`), not as if it were the text.
pub fn shown_label(heap: &Heap, n: NodeRef<'_>) -> String {
    if heap.meta.redacted_strings && n.type_name() == "str" && n.label().starts_with("len=") {
        return n.label().to_string();
    }
    display_label(n)
}

/// `'text'` for str, the label as is for everything else.
pub fn display_label(n: NodeRef<'_>) -> String {
    let label = n.label();
    if n.type_name() == "str" {
        format!("'{label}'")
    } else {
        label.to_string()
    }
}

/// `dict 0x7f3a… logging namespace, 108 items`.
pub fn node_text(heap: &Heap, ix: NodeIx) -> String {
    let n = heap.node(ix);
    let label = shown_label(heap, n);
    if label.is_empty() {
        format!("{} {:#x}", n.type_name(), n.addr())
    } else {
        format!("{} {:#x} {}", n.type_name(), n.addr(), label)
    }
}

/// The text of `why`: one line per step, one block per root path.
pub fn why_text(heap: &Heap, target: NodeIx, paths: &[RootPath], filtered: bool) -> String {
    why_text_with(heap, target, paths, filtered, &|_| None)
}

/// [`why_text`] with a note after each object (`retains 1.2 MB`) where `note` gives one.
pub fn why_text_with(heap: &Heap, target: NodeIx, paths: &[RootPath], filtered: bool, note: &dyn Fn(NodeIx) -> Option<String>) -> String {
    let text = |ix: NodeIx| match note(ix) {
        Some(n) => format!("{} ({n})", node_text(heap, ix)),
        None => node_text(heap, ix),
    };
    let mut out = String::new();
    let head = text(target);
    match paths.len() {
        0 if filtered => out.push_str(&format!("{head}: {ALL_PATHS_FILTERED}.\n")),
        0 => out.push_str(&format!("{head}: no root retains it (garbage, or held only by objects refgraph cannot see).\n")),
        1 => out.push_str(&format!("{head} is retained by 1 root:\n")),
        k => out.push_str(&format!("{head} is retained by {k} roots:\n")),
    }
    for (i, p) in paths.iter().enumerate() {
        let root = root_text(heap, p.root()).unwrap_or_default();
        out.push_str(&format!("\n[{}] {root}\n", i + 1));
        for s in &p.steps {
            match s.edge {
                None => out.push_str(&format!("    {}\n", text(s.node))),
                Some(l) => {
                    let edge = heap.edge_label_text(l);
                    let edge = if edge.is_empty() { "(reference)".to_string() } else { edge };
                    out.push_str(&format!("    {edge} -> {}\n", text(s.node)));
                }
            }
        }
    }
    out
}

/// How boxes are written (objgraph's `refcounts`, `shortnames`, `extra_info`).
pub struct ViewOptions<'a> {
    pub refcounts: bool,
    pub shortnames: bool,
    pub max_depth: u32,
    pub extra_info: Option<&'a mut dyn FnMut(NodeIx) -> Option<String>>,
    /// Adds `retains 1.21 MB` under each box, after `extra_info`'s line.
    pub retained: Option<&'a crate::dominators::Dominators>,
    pub highlight: Option<&'a mut dyn FnMut(NodeIx) -> bool>,
    pub caption: Option<String>,
}

impl Default for ViewOptions<'_> {
    fn default() -> Self {
        ViewOptions {
            refcounts: false,
            shortnames: true,
            max_depth: crate::paths::GraphOptions::DEFAULT_MAX_DEPTH,
            extra_info: None,
            retained: None,
            highlight: None,
            caption: None,
        }
    }
}

/// Turns a neighbourhood into a drawing: targets red, roots green and named,
/// a "N more referrers" box where `too_many` cut.
pub fn view(heap: &Heap, nb: &Neighbourhood, targets: &[NodeIx], mut opts: ViewOptions<'_>) -> View {
    let mut index = rustc_hash::FxHashMap::default();
    let mut v = View { max_depth: opts.max_depth, caption: opts.caption.take(), ..Default::default() };
    for &(ix, depth) in &nb.nodes {
        let n = heap.node(ix);
        let mut lines = vec![type_line(n, &opts)];
        let label = shown_label(heap, n);
        if !label.is_empty() {
            lines.push(label);
        }
        if let Some(extra) = opts.extra_info.as_mut().and_then(|f| f(ix)) {
            lines.push(extra);
        }
        if let Some(note) = opts.retained.and_then(|d| crate::retained::retained_note(d, ix)) {
            lines.push(note);
        }
        let role = if targets.contains(&ix) {
            Role::Target
        } else if let Some(root) = root_text(heap, ix) {
            Role::Root(root)
        } else if opts.highlight.as_mut().is_some_and(|f| f(ix)) {
            Role::Highlight
        } else {
            Role::Plain
        };
        index.insert(ix, v.nodes.len());
        v.nodes.push(ViewNode { id: format!("o{:x}", n.addr()), lines, depth, role });
    }
    for &(from, to, label) in &nb.edges {
        if let (Some(&a), Some(&b)) = (index.get(&from), index.get(&to)) {
            v.edges.push(ViewEdge { from: a, to: b, label: heap.edge_label_text(label) });
        }
    }
    for &(ix, count) in &nb.cut {
        let Some(&at) = index.get(&ix) else { continue };
        let depth = v.nodes[at].depth + 1;
        let id = format!("too_many_{}", v.nodes[at].id);
        v.nodes.push(ViewNode { id, lines: vec![format!("{count} more")], depth, role: Role::TooMany(count) });
        let more = v.nodes.len() - 1;
        v.edges.push(ViewEdge { from: more, to: at, label: String::new() });
    }
    v
}

fn type_line(n: NodeRef<'_>, opts: &ViewOptions<'_>) -> String {
    let ty = if opts.shortnames { n.short_type_name() } else { n.type_name() };
    if opts.refcounts && !n.flags().synthetic() {
        if n.flags().immortal() {
            format!("{ty} [immortal]")
        } else {
            format!("{ty} [{}]", n.refcount())
        }
    } else {
        ty.to_string()
    }
}

// ---- summary -----------------------------------------------------------

/// Objects and bytes of one type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeRow {
    #[serde(rename = "type")]
    pub type_name: String,
    pub objects: usize,
    pub bytes: u64,
}

/// Roots of one kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindRow {
    pub kind: &'static str,
    pub roots: usize,
}

/// A group of roots: one named holder (numbers dropped: `atexit callback`
/// stands for `#1`…`#150`) or one type of object held from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RootGroup {
    /// The holder's name, or the type's.
    pub name: String,
    pub roots: usize,
    /// References from outside the heap, summed.
    pub references: u64,
    /// Shallow size of the root objects, summed.
    pub bytes: u64,
    /// The root with the most references from outside (then the largest).
    pub example: StepRecord,
}

/// Who holds a heap's roots: counts by kind, named holders, and the objects
/// held from outside the heap grouped by type; biggest groups first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RootsSummary {
    pub total: usize,
    pub by_kind: Vec<KindRow>,
    pub named_holders: Vec<RootGroup>,
    pub held_from_outside_by_type: Vec<RootGroup>,
}

/// Everything `refgraph summary` says about a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SummaryReport {
    pub snapshot: String,
    pub objects: usize,
    pub references: usize,
    pub collector: String,
    pub python: String,
    pub pid: u32,
    pub capture_seconds: f64,
    pub notes: Vec<String>,
    pub roots: RootsSummary,
    /// Types by object count, at most the number asked for.
    pub types: Vec<TypeRow>,
}

/// `atexit callback` for `atexit callback #150`: one group for numbered holders.
fn holder_family(holder: &str) -> &str {
    match holder.rsplit_once(" #") {
        Some((family, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => family,
        _ => holder,
    }
}

/// What a summary reads of a heap: a whole [`Heap`], or the
/// [`Summary`](crate::snapshot::Summary) that `refgraph summary` reads
/// without the edge indexes. Both give the same report.
pub trait SummarySource {
    fn meta(&self) -> &crate::graph::Meta;
    fn node_count(&self) -> usize;
    fn edge_count(&self) -> usize;
    /// Every root, sorted by node.
    fn roots(&self) -> &[crate::graph::Root];
    fn type_names(&self) -> &[String];
    /// Each node's type id and shallow size.
    fn type_ids(&self) -> &[u32];
    fn sizes(&self) -> &[u32];
    /// The record of a root's node (its first root entry said).
    fn root_record(&self, ix: NodeIx) -> StepRecord;
}

impl SummarySource for Heap {
    fn meta(&self) -> &crate::graph::Meta {
        &self.meta
    }
    fn node_count(&self) -> usize {
        Heap::node_count(self)
    }
    fn edge_count(&self) -> usize {
        Heap::edge_count(self)
    }
    fn roots(&self) -> &[crate::graph::Root] {
        Heap::roots(self)
    }
    fn type_names(&self) -> &[String] {
        Heap::type_names(self)
    }
    fn type_ids(&self) -> &[u32] {
        &self.columns().type_id
    }
    fn sizes(&self) -> &[u32] {
        &self.columns().size
    }
    fn root_record(&self, ix: NodeIx) -> StepRecord {
        target_record(self, ix)
    }
}

impl SummarySource for crate::snapshot::Summary {
    fn meta(&self) -> &crate::graph::Meta {
        &self.meta
    }
    fn node_count(&self) -> usize {
        self.node_count
    }
    fn edge_count(&self) -> usize {
        self.edge_count
    }
    fn roots(&self) -> &[crate::graph::Root] {
        &self.roots
    }
    fn type_names(&self) -> &[String] {
        &self.types
    }
    fn type_ids(&self) -> &[u32] {
        &self.type_id
    }
    fn sizes(&self) -> &[u32] {
        &self.size
    }
    fn root_record(&self, ix: NodeIx) -> StepRecord {
        let (address, label) = self.root_node(ix).unwrap_or((0, ""));
        let first = self.roots.get(self.roots.partition_point(|r| r.node < ix)).filter(|r| r.node == ix);
        StepRecord {
            address,
            type_name: self.types[self.type_id[ix.index()] as usize].clone(),
            label: label.to_string(),
            edge: None,
            root: first.map(|r| r.kind.to_string()),
        }
    }
}

/// Groups roots by name: counts, references and bytes, the biggest example.
fn group_roots<'h, S: SummarySource>(heap: &'h S, roots: impl Iterator<Item = (&'h str, NodeIx, u64)>, top: usize) -> Vec<RootGroup> {
    let size = |ix: NodeIx| u64::from(heap.sizes()[ix.index()]);
    let mut groups: rustc_hash::FxHashMap<&str, (usize, u64, u64, NodeIx, u64)> = Default::default();
    for (name, ix, surplus) in roots {
        let g = groups.entry(name).or_insert((0, 0, 0, ix, surplus));
        g.0 += 1;
        g.1 += surplus;
        g.2 += size(ix);
        if (surplus, size(ix)) > (g.4, size(g.3)) {
            (g.3, g.4) = (ix, surplus);
        }
    }
    let mut out: Vec<RootGroup> = groups
        .into_iter()
        .map(|(name, (roots, references, bytes, ex, _))| RootGroup {
            name: name.to_string(),
            roots,
            references,
            bytes,
            example: heap.root_record(ex),
        })
        .collect();
    out.sort_by(|a, b| b.roots.cmp(&a.roots).then(b.bytes.cmp(&a.bytes)).then(a.name.cmp(&b.name)));
    out.truncate(top);
    out
}

/// Who holds the roots of `heap`, at most `top` groups of each sort.
pub fn roots_summary(heap: &impl SummarySource, top: usize) -> RootsSummary {
    use crate::graph::RootKind;
    let roots = heap.roots();
    let by_kind = crate::roots::count_by_kind(roots).into_iter().map(|(kind, roots)| KindRow { kind, roots }).collect();
    let named = roots.iter().filter_map(|r| match &r.kind {
        RootKind::Named { holder, surplus } => Some((holder_family(holder), r.node, u64::from(*surplus))),
        _ => None,
    });
    let type_name = |ix: NodeIx| heap.type_names()[heap.type_ids()[ix.index()] as usize].as_str();
    let outside = roots.iter().filter_map(|r| match r.kind {
        RootKind::HeldFromOutside { surplus } => Some((type_name(r.node), r.node, u64::from(surplus))),
        _ => None,
    });
    RootsSummary {
        total: roots.len(),
        by_kind,
        named_holders: group_roots(heap, named, top),
        held_from_outside_by_type: group_roots(heap, outside, top),
    }
}

/// Object counts and bytes by type, most objects first.
pub fn type_rows(heap: &impl SummarySource, top: usize) -> Vec<TypeRow> {
    // Counted by type id, one array slot per type: no hashing per object.
    let mut by_type: Vec<(usize, u64)> = vec![(0, 0); heap.type_names().len()];
    for (&t, &size) in heap.type_ids().iter().zip(heap.sizes()) {
        if let Some(row) = by_type.get_mut(t as usize) {
            row.0 += 1;
            row.1 += u64::from(size);
        }
    }
    let mut rows: Vec<TypeRow> = by_type
        .into_iter()
        .zip(heap.type_names())
        .filter(|((n, _), _)| *n > 0)
        .map(|((objects, bytes), name)| TypeRow { type_name: name.clone(), objects, bytes })
        .collect();
    rows.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.type_name.cmp(&b.type_name)));
    rows.truncate(top);
    rows
}

pub fn summary_report(heap: &impl SummarySource, snapshot: &str, top_types: usize, top_roots: usize) -> SummaryReport {
    let m = heap.meta();
    SummaryReport {
        snapshot: snapshot.to_string(),
        objects: heap.node_count(),
        references: heap.edge_count(),
        collector: m.collector.clone(),
        python: m.python_version.split_whitespace().next().unwrap_or("?").to_string(),
        pid: m.pid,
        capture_seconds: m.capture_seconds,
        notes: m.notes.clone(),
        roots: roots_summary(heap, top_roots),
        types: type_rows(heap, top_types),
    }
}

fn root_group_lines(out: &mut String, title: &str, groups: &[RootGroup], what: &str) {
    if groups.is_empty() {
        return;
    }
    out.push_str(&format!("{title}\n{:>8} {:>8} {:>12}  {what}\n", "roots", "refs", "bytes"));
    for g in groups {
        let ex = &g.example;
        let label = if ex.label.is_empty() { String::new() } else { format!(" {}", ex.label) };
        out.push_str(&format!(
            "{:>8} {:>8} {:>12}  {}  (e.g. {} {}{label})\n",
            g.roots,
            g.references,
            g.bytes,
            g.name,
            ex.type_name,
            hex(ex.address)
        ));
    }
}

/// The text of `refgraph summary`.
pub fn summary_text(r: &SummaryReport) -> String {
    let mut out = format!(
        "{}: {} objects, {} references, {} roots\ncaptured by the {} collector from Python {} (pid {}) in {:.3} s\n",
        r.snapshot, r.objects, r.references, r.roots.total, r.collector, r.python, r.pid, r.capture_seconds
    );
    for note in &r.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    let kinds: Vec<String> = r.roots.by_kind.iter().map(|k| format!("{} {}", k.roots, k.kind)).collect();
    out.push_str(&format!("roots: {}\n", kinds.join(", ")));
    root_group_lines(&mut out, "\nnamed holders in C state, most roots first:", &r.roots.named_holders, "holder");
    root_group_lines(
        &mut out,
        "\nheld from outside the heap (more references than the heap shows), by type, most roots first:",
        &r.roots.held_from_outside_by_type,
        "type",
    );
    out.push_str(&format!("\n{:>10} {:>12}  type\n", "objects", "bytes"));
    for t in &r.types {
        out.push_str(&format!("{:>10} {:>12}  {}\n", t.objects, t.bytes, t.type_name));
    }
    out
}

// ---- stale modules -----------------------------------------------------

/// One module name's stale copies, as `refgraph modules` reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleGroupRecord {
    pub module: String,
    pub copies: usize,
    /// Copies a root holds without going through a stale copy of another module.
    pub direct_copies: usize,
    pub modules: usize,
    pub namespaces: usize,
    pub shallow_size: u64,
    /// `null` until retained sizes are computed.
    pub retained_size: Option<u64>,
    pub reachable_from_sys_modules: usize,
    /// The stale copy of another module through which this one is held
    /// (`null`: a root holds it directly).
    pub held_via: Option<String>,
    /// Every stale module object and namespace dict.
    #[serde(serialize_with = "serialize_hex_list")]
    pub addresses: Vec<u64>,
    /// The root paths of the copy nearest to a root; `null` if none is retained.
    pub example: Option<PathsReport>,
}

/// The answer of `refgraph modules`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModulesReport {
    pub snapshot: String,
    pub stale_copies: usize,
    pub groups: Vec<ModuleGroupRecord>,
    /// refgraph's own modules and namespaces with stale copies, left out of
    /// `groups` (see [`crate::modules::OBSERVER_MODULES`]).
    pub observers_left_out: Vec<String>,
}

/// The report of stale module groups: the first `detailed` groups with
/// copies that a root holds directly get the root paths (at most `paths` each) of their
/// nearest copy; the others say which copy they are held through.
pub fn modules_report(heap: &Heap, snapshot: &str, groups: &[crate::modules::ModuleGroup], detailed: usize, paths: usize) -> ModulesReport {
    let opts = crate::paths::PathOptions { limit: paths, max_depth: None };
    let mut direct = 0;
    let records = groups
        .iter()
        .map(|g| {
            let show = g.direct_copies > 0 && direct < detailed;
            direct += usize::from(g.direct_copies > 0);
            (g, show)
        })
        .map(|(g, show)| ModuleGroupRecord {
            module: g.name.clone(),
            copies: g.copies,
            direct_copies: g.direct_copies,
            modules: g.modules.len(),
            namespaces: g.namespaces.len(),
            shallow_size: g.shallow_size,
            retained_size: g.retained_size,
            reachable_from_sys_modules: g.reachable_from_sys_modules,
            held_via: g.held_via.clone(),
            addresses: g.members().map(|m| heap.node(m).addr()).collect(),
            example: g.nearest.filter(|_| show).map(|n| paths_report(heap, n, &crate::paths::root_paths(heap, n, opts, |_| true), false)),
        })
        .collect();
    ModulesReport {
        snapshot: snapshot.to_string(),
        stale_copies: groups.iter().map(|g| g.copies).sum(),
        groups: records,
        observers_left_out: crate::modules::observer_copies(heap).into_iter().map(str::to_string).collect(),
    }
}

/// `1.2 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn step_text(s: &StepRecord) -> String {
    let label = if s.type_name == "str" && !s.label.is_empty() { format!("'{}'", s.label) } else { s.label.clone() };
    if label.is_empty() {
        format!("{} {}", s.type_name, hex(s.address))
    } else {
        format!("{} {} {label}", s.type_name, hex(s.address))
    }
}

/// The text of `refgraph modules`: a table, then the nearest copy's root
/// paths for the detailed groups.
pub fn modules_text(r: &ModulesReport) -> String {
    let observers = if r.observers_left_out.is_empty() {
        String::new()
    } else {
        format!("(left out as refgraph's own, from the capture that took this snapshot: {})\n", r.observers_left_out.join(", "))
    };
    if r.groups.is_empty() {
        return format!("{}: no stale module copies: every module object and namespace is the one in sys.modules\n{observers}", r.snapshot);
    }
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = format!(
        "{}: {} of {} (module objects and namespaces that are not the ones in sys.modules)\n",
        r.snapshot,
        plural(r.stale_copies, "stale copy", "stale copies"),
        plural(r.groups.len(), "module", "modules")
    );
    out.push_str(&format!("{:>7} {:>8} {:>11} {:>10} {:>10}  module\n", "copies", "modules", "namespaces", "shallow", "retained"));
    // Copies that leak only because another module's copy does, one line per
    // (module they are held via, count): the table stays one screen.
    let mut via: Vec<((&str, usize), Vec<&str>)> = Vec::new();
    let mut single: Vec<&str> = Vec::new();
    for g in &r.groups {
        // A lone copy held directly that nothing leaks through: often the
        // interpreter's saved namespace of a C module; one line for all.
        if g.copies == 1 && g.direct_copies == 1 && !r.groups.iter().any(|o| o.held_via.as_deref() == Some(&g.module)) {
            single.push(&g.module);
            continue;
        }
        if let (Some(v), 0) = (&g.held_via, g.direct_copies) {
            match via.iter_mut().find(|(k, _)| *k == (v.as_str(), g.copies)) {
                Some((_, names)) => names.push(&g.module),
                None => via.push(((v.as_str(), g.copies), vec![&g.module])),
            }
            continue;
        }
        let retained = g.retained_size.map_or("-".to_string(), human_bytes);
        let mut note = match (&g.held_via, g.direct_copies) {
            (Some(via), d) if d < g.copies => format!(" ({d} held directly, {} via {via})", g.copies - d),
            (None, d) if d < g.copies => format!(" ({d} held directly)"),
            _ => String::new(),
        };
        if g.reachable_from_sys_modules > 0 {
            note.push_str(&format!(" ({} objects still reachable from sys.modules)", g.reachable_from_sys_modules));
        }
        out.push_str(&format!(
            "{:>7} {:>8} {:>11} {:>10} {:>10}  {}{note}\n",
            g.copies,
            g.modules,
            g.namespaces,
            human_bytes(g.shallow_size),
            retained,
            g.module
        ));
    }
    if !single.is_empty() {
        single.sort_unstable();
        let shown: Vec<&str> = single.iter().take(10).copied().collect();
        let more = if single.len() > shown.len() { format!(" and {} more", single.len() - shown.len()) } else { String::new() };
        out.push_str(&format!("{:>7}  each, held directly: {}{more}\n", 1, shown.join(", ")));
    }
    for ((v, copies), mut names) in via {
        // Submodules of the module they are held via first (logging.handlers for logging).
        names.sort_by_key(|n| (!n.starts_with(&format!("{v}.")), *n));
        let shown: Vec<&str> = names.iter().take(8).copied().collect();
        let more = if names.len() > shown.len() { format!(" and {} more", names.len() - shown.len()) } else { String::new() };
        out.push_str(&format!("{copies:>7}  each, held via {v}: {}{more}\n", shown.join(", ")));
    }
    out.push_str(&observers);
    for g in r.groups.iter() {
        let Some(ex) = &g.example else { continue };
        let copies = if g.copies == 1 { "1 stale copy".to_string() } else { format!("{} stale copies", g.copies) };
        out.push_str(&format!("\n{}: {copies}; the nearest, {}, is held by:\n", g.module, step_text(&ex.target)));
        for (i, p) in ex.paths.iter().enumerate() {
            let root = p.first().and_then(|s| s.root.clone()).unwrap_or_default();
            out.push_str(&format!("  [{}] {root}\n", i + 1));
            for s in p {
                match &s.edge {
                    None => out.push_str(&format!("      {}\n", step_text(s))),
                    Some(e) => out.push_str(&format!("      {} -> {}\n", if e.is_empty() { "(reference)" } else { e }, step_text(s))),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{HeapBuilder, NodeData, NodeFlags, Root, RootKind};
    use crate::paths::{chains_neighbourhood, root_paths, PathOptions};
    use crate::roots::add_held_from_outside;

    fn seed_like() -> (Heap, NodeIx) {
        let mut b = HeapBuilder::new();
        let f = b.add_node(&NodeData {
            addr: 0x1000,
            type_name: "function".into(),
            refcount: 2,
            flags: NodeFlags(NodeFlags::TRACKED),
            label: "logging.shutdown".into(),
            ..Default::default()
        });
        let d = b.add_node(&NodeData {
            addr: 0x2000,
            type_name: "dict".into(),
            refcount: 1,
            flags: NodeFlags(NodeFlags::TRACKED),
            label: "logging namespace, 108 items".into(),
            ..Default::default()
        });
        let g = b.edge_name("__globals__");
        b.add_edge(f, d, g);
        b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
        // The function is also held by the namespace itself, as in logging.
        b.add_edge(d, f, g);
        let mut h = b.finish().unwrap();
        add_held_from_outside(&mut h);
        (h, d)
    }

    #[test]
    fn path_records_name_root_edge_and_target() {
        let (h, d) = seed_like();
        let paths = root_paths(&h, d, PathOptions::default(), |_| true);
        let recs = path_records(&h, &paths[0]);
        assert_eq!(recs[0].label, "logging.shutdown");
        assert_eq!(recs[0].root.as_deref(), Some("atexit callback #1 (1 ref)"));
        assert_eq!(recs[0].edge, None);
        assert_eq!(recs[1].edge.as_deref(), Some("__globals__"));
        assert_eq!(recs[1].root, None);
        let json = serde_json::to_value(paths_report(&h, d, &paths, false)).unwrap();
        assert_eq!(json["paths"][0][1]["type"], "dict");
        assert_eq!(json["paths"][0][1]["address"], "0x2000");
    }

    #[test]
    fn why_text_has_one_line_per_step() {
        let (h, d) = seed_like();
        let paths = root_paths(&h, d, PathOptions::default(), |_| true);
        let text = why_text(&h, d, &paths, false);
        assert!(text.contains("retained by 1 root"), "{text}");
        assert!(text.contains("[1] atexit callback #1 (1 ref)"), "{text}");
        assert!(text.contains("__globals__ -> dict 0x2000 logging namespace, 108 items"), "{text}");
        assert!(why_text(&h, d, &[], true).contains("filters hide every path"));
    }

    #[test]
    fn views_colour_targets_and_roots_and_show_refcounts() {
        let (h, d) = seed_like();
        let paths = root_paths(&h, d, PathOptions::default(), |_| true);
        let nb = chains_neighbourhood(&paths);
        let v = view(&h, &nb, &[d], ViewOptions { refcounts: true, ..Default::default() });
        let target = v.nodes.iter().find(|n| n.role == Role::Target).unwrap();
        assert_eq!(target.lines, vec!["dict [1]", "logging namespace, 108 items"]);
        assert!(v.nodes.iter().any(|n| n.role == Role::Root("atexit callback #1 (1 ref)".into())));
        assert_eq!(v.edges.len(), 1);
        assert_eq!(v.edges[0].label, "__globals__");
    }
    #[test]
    fn views_say_what_each_box_retains_after_the_callers_line() {
        let (h, d) = seed_like();
        let paths = root_paths(&h, d, PathOptions::default(), |_| true);
        let nb = chains_neighbourhood(&paths);
        let dom = crate::dominators::Dominators::compute(&h);
        let mut extra = |_| Some("mine".to_string());
        let v = view(&h, &nb, &[d], ViewOptions { extra_info: Some(&mut extra), retained: Some(&dom), ..Default::default() });
        for n in &v.nodes {
            let ix = h.find_addr(u64::from_str_radix(&n.id[1..], 16).unwrap()).unwrap();
            let note = format!("retains {}", crate::retained::human_bytes(dom.retained_size(ix).unwrap()));
            assert_eq!(n.lines[n.lines.len() - 2..], ["mine".to_string(), note], "{:?}", n.lines);
        }
    }

    #[test]
    fn summary_groups_numbered_holders_and_outside_roots_by_type() {
        assert_eq!(holder_family("atexit callback #150"), "atexit callback");
        assert_eq!(holder_family("os.register_at_fork(before)"), "os.register_at_fork(before)");
        let (h, _) = seed_like();
        let r = roots_summary(&h, 10);
        assert_eq!(r.total, h.roots().len());
        assert_eq!(r.named_holders.len(), 1);
        assert_eq!((r.named_holders[0].name.as_str(), r.named_holders[0].roots), ("atexit callback", 1));
        assert_eq!(r.named_holders[0].example.label, "logging.shutdown");
        let json = serde_json::to_value(JsonDoc::new("summary", summary_report(&h, "x.rgs", 5, 5))).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["roots"]["named_holders"][0]["example"]["address"], "0x1000");
        assert!(summary_text(&summary_report(&h, "x.rgs", 5, 5)).contains("atexit callback  (e.g. function 0x1000 logging.shutdown)"));
    }
}
