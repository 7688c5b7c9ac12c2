//! How answers read: the records of root-path steps (the Python `Step`, the
//! JSON of `refgraph path`), the text of `why`, and the [`View`]s that the
//! renderers draw. Both front ends use these, so the CLI and the Python API say
//! the same thing in the same words.

#![forbid(unsafe_code)]

use serde::Serialize;

use crate::graph::{Heap, NodeIx, NodeRef};
use crate::paths::{Neighbourhood, RootPath};
use crate::render::{Role, View, ViewEdge, ViewNode};

/// One step of a root path as users see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRecord {
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
    let label = display_label(n);
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
        let label = display_label(n);
        if !label.is_empty() {
            lines.push(label);
        }
        if let Some(extra) = opts.extra_info.as_mut().and_then(|f| f(ix)) {
            lines.push(extra);
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
        assert_eq!(json["paths"][0][1]["address"], 0x2000);
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
}
