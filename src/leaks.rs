//! Leak detection from a series of captures taken between equal batches of
//! calls (`find_leaks`, `assert_no_leaks`, the pytest plugin), and the text
//! that explains a leak.
//!
//! A group of objects (by type, and by module) leaks when its count grows by
//! at least one object per call in *every* batch. Requiring growth in each
//! batch, after warm-up calls, is what keeps the interpreter's own caches
//! out: a type cache, an interned name or a lazily imported module is made
//! once and does not come back in the next batch. Objects of refgraph's own
//! types are never counted. For each leaking group the report names a
//! representative: the new object of that group (absent from the first
//! capture) keeping the most memory alive in the last one, with its root
//! paths and retained size; a group none of whose new objects any root
//! reaches is dropped.

#![forbid(unsafe_code)]

use crate::dominators::Dominators;
use crate::graph::{Heap, NodeIx};
use crate::paths::{PathOptions, RootPath};
use crate::report;
use crate::retained::human_bytes;
use crate::stats::{self, By, Names, Scope};

/// Root paths kept per representative: one per kind of retainer, mostly.
const PATHS_PER_GROUP: usize = 4;

/// One growing group.
#[derive(Clone, Debug)]
pub struct LeakGroup {
    /// `type` or `module`.
    pub by: &'static str,
    pub key: String,
    /// Growth from the first capture to the last.
    pub count_delta: i64,
    pub size_delta: i64,
    /// Objects per call, over all measured calls.
    pub per_call: f64,
    /// A new object of the group in the last capture, keeping the most alive.
    pub example: Option<NodeIx>,
    pub retained: Option<u64>,
    pub paths: Vec<RootPath>,
}

/// What grew while a function was called again and again.
#[derive(Clone, Debug)]
pub struct LeakReport {
    /// Calls measured (warm-up calls excluded).
    pub calls: u64,
    pub warmup: u64,
    /// Objects and bytes in the first and last captures.
    pub objects: (usize, usize),
    pub bytes: (u64, u64),
    pub groups: Vec<LeakGroup>,
}

impl LeakReport {
    pub fn leaks(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// Analyses captures taken before the first batch and after each batch of
/// `calls_per_batch` calls. `heaps` has at least two captures; the last one
/// is the one representatives, paths and retained sizes come from.
pub fn find_leaks(heaps: &[&Heap], dom: &Dominators, calls_per_batch: u64, warmup: u64) -> LeakReport {
    let (first, last) = (heaps[0], heaps[heaps.len() - 1]);
    let calls = calls_per_batch * (heaps.len() as u64 - 1);
    let mut groups = Vec::new();
    for (by, name) in [(By::Type, "type"), (By::Module, "module")] {
        for g in stats::growth(first, last, by, Scope::ALL) {
            if own_type(&g.key) || !grew_in_each_batch(heaps, by, &g.key, calls_per_batch) {
                continue;
            }
            groups.push(LeakGroup {
                by: name,
                key: g.key,
                count_delta: g.count_delta,
                size_delta: g.size_delta,
                per_call: g.count_delta as f64 / calls.max(1) as f64,
                example: None,
                retained: None,
                paths: Vec::new(),
            });
        }
    }
    // Modules say more than types ("logging grew"), so they come first;
    // within each, the largest growth in bytes.
    groups.sort_by(|a, b| (a.by == "type").cmp(&(b.by == "type")).then(b.size_delta.cmp(&a.size_delta)).then(a.key.cmp(&b.key)));
    add_examples(first, last, dom, &mut groups);
    // New objects no root reaches are no leak: garbage, or strs that 3.9
    // and 3.10 intern without a reference the heap shows.
    groups.retain(|g| g.retained.is_some());
    let bytes = |h: &Heap| h.columns().size.iter().map(|&s| u64::from(s)).sum();
    LeakReport { calls, warmup, objects: (first.node_count(), last.node_count()), bytes: (bytes(first), bytes(last)), groups }
}

/// refgraph's own objects (its snapshots, its report) are the observer's.
fn own_type(key: &str) -> bool {
    key == "refgraph" || key.starts_with("refgraph.")
}

fn grew_in_each_batch(heaps: &[&Heap], by: By, key: &str, calls_per_batch: u64) -> bool {
    heaps.windows(2).all(|w| count_of(w[1], by, key) >= count_of(w[0], by, key) + calls_per_batch)
}

fn count_of(heap: &Heap, by: By, key: &str) -> u64 {
    stats::typestats(heap, by, Scope::ALL).into_iter().find(|g| g.key == key).map_or(0, |g| g.count)
}

/// Picks each group's representative among the objects new in `last`.
fn add_examples(first: &Heap, last: &Heap, dom: &Dominators, groups: &mut [LeakGroup]) {
    if groups.is_empty() {
        return;
    }
    let names = Names::new(last);
    let fresh = stats::new_objects(first, last, Scope::ALL);
    for g in groups.iter_mut() {
        let key_of = |ix: NodeIx| -> Option<&str> {
            let n = last.node(ix);
            match g.by {
                "type" => Some(n.type_name()),
                _ => names.module_of(n),
            }
        };
        let best =
            fresh.iter().copied().filter(|&ix| key_of(ix) == Some(g.key.as_str())).max_by_key(|&ix| dom.retained_size(ix).unwrap_or(0));
        if let Some(ix) = best {
            g.example = Some(ix);
            g.retained = dom.retained_size(ix);
            g.paths = crate::paths::root_paths(last, ix, PathOptions { limit: PATHS_PER_GROUP, max_depth: None }, |_| true);
        }
    }
}

/// A root path on one line, with the retained size of its root object:
/// `atexit callback: function logging.shutdown (retains 2.1 kB) __globals__ -> dict`.
pub fn path_line(heap: &Heap, dom: &Dominators, p: &RootPath) -> String {
    let mut s = report::root_text(heap, p.root()).unwrap_or_default();
    for (i, step) in p.steps.iter().enumerate() {
        let n = heap.node(step.node);
        let named = matches!(n.type_name(), "function" | "module" | "type" | "builtin_function_or_method");
        let mut what =
            if named && !n.label().is_empty() { format!("{} {}", n.short_type_name(), n.label()) } else { n.short_type_name().to_string() };
        if i == 0 {
            if let Some(r) = dom.retained_size(step.node) {
                what.push_str(&format!(" (retains {})", human_bytes(r)));
            }
            s.push_str(&format!(": {what}"));
            continue;
        }
        match step.edge.map(|l| heap.edge_label_text(l)).filter(|e| !e.is_empty()) {
            Some(edge) => s.push_str(&format!(" {edge} -> {what}")),
            None => s.push_str(&format!(" -> {what}")),
        }
    }
    s
}

/// The explanation of a report, as a test failure prints it: at most
/// `max_groups` groups (0: all), `paths` root paths under each.
pub fn report_text(heap: &Heap, dom: &Dominators, r: &LeakReport, max_groups: usize, paths: usize) -> String {
    let mut out = String::new();
    let delta = r.objects.1 as i64 - r.objects.0 as i64;
    let bytes = r.bytes.1 as i64 - r.bytes.0 as i64;
    if !r.leaks() {
        out.push_str(&format!(
            "no leak: no type or module grew in every batch over {} calls ({} warm-up); heap {delta:+} objects, {} bytes\n",
            r.calls,
            r.warmup,
            signed_bytes(bytes)
        ));
        return out;
    }
    out.push_str(&format!(
        "leak: {} group(s) grew in every batch over {} calls (after {} warm-up); heap {delta:+} objects, {}\n",
        r.groups.len(),
        r.calls,
        r.warmup,
        signed_bytes(bytes)
    ));
    let shown = if max_groups == 0 { r.groups.len() } else { max_groups.min(r.groups.len()) };
    for g in &r.groups[..shown] {
        out.push_str(&format!(
            "\n{} {}: {:+} objects ({:.1} per call), {}\n",
            g.by,
            g.key,
            g.count_delta,
            g.per_call,
            signed_bytes(g.size_delta)
        ));
        if let Some(ix) = g.example {
            let retained = g.retained.map_or("no root reaches it".to_string(), |b| format!("retains {}", human_bytes(b)));
            out.push_str(&format!("  e.g. {} ({retained})\n", report::node_text(heap, ix)));
            for p in g.paths.iter().take(paths) {
                out.push_str(&format!("    held by {}\n", path_line(heap, dom, p)));
            }
        }
    }
    if shown < r.groups.len() {
        out.push_str(&format!("\n... and {} more growing group(s)\n", r.groups.len() - shown));
    }
    out
}

/// `+1.2 MB`, `-56 B`.
pub fn signed_bytes(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "+" };
    format!("{sign}{}", human_bytes(n.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags, Root, RootKind};

    /// A tracked object with one reference.
    fn object(b: &mut HeapBuilder, addr: u64, type_name: &str, size: u64, label: &str) -> NodeIx {
        let flags = NodeFlags(NodeFlags::TRACKED);
        b.add_node(&NodeData { addr, type_name: type_name.into(), size, refcount: 1, flags, label: label.into() })
    }

    /// A heap where a held-from-outside list holds `copies` namespaces, and
    /// `noise` extra strs (a cache filled once).
    fn heap(copies: u64, noise: u64) -> Heap {
        let mut b = HeapBuilder::new();
        let list = object(&mut b, 0x10, "list", 56, "len");
        b.add_root(Root { node: list, kind: RootKind::HeldFromOutside { surplus: 1 } });
        for i in 0..copies {
            let ns = object(&mut b, 0x1000 + 0x100 * i, "dict", 1000, "logging namespace, 3 items");
            b.add_edge(list, ns, EdgeLabel::UNKNOWN);
        }
        for i in 0..noise {
            let s = object(&mut b, 0x100000 + 0x40 * i, "str", 50, "x");
            b.add_edge(list, s, EdgeLabel::UNKNOWN);
        }
        b.finish().unwrap()
    }

    #[test]
    fn a_group_growing_in_every_batch_is_a_leak_with_its_holder() {
        // Warm-up filled a cache of 20 strs before the first batch only.
        let heaps = [heap(2, 0), heap(5, 20), heap(8, 20)];
        let refs: Vec<&Heap> = heaps.iter().collect();
        let dom = Dominators::compute(&heaps[2]);
        let r = find_leaks(&refs, &dom, 3, 1);
        let keys: Vec<(&str, &str)> = r.groups.iter().map(|g| (g.by, g.key.as_str())).collect();
        assert_eq!(keys, vec![("module", "logging"), ("type", "dict")]);
        let g = &r.groups[1];
        assert_eq!((g.count_delta, g.per_call, g.retained), (6, 1.0, Some(1000)));
        let text = report_text(&heaps[2], &dom, &r, 0, 4);
        assert!(text.contains("type dict: +6 objects (1.0 per call)"), "{text}");
        assert!(text.contains("held by held from outside the heap (1 ref): list (retains"), "{text}");
    }

    #[test]
    fn growth_in_one_batch_only_is_a_cache_not_a_leak() {
        let heaps = [heap(2, 0), heap(2, 20), heap(2, 20)];
        let refs: Vec<&Heap> = heaps.iter().collect();
        let dom = Dominators::compute(&heaps[2]);
        let r = find_leaks(&refs, &dom, 3, 1);
        assert!(!r.leaks());
        assert!(report_text(&heaps[2], &dom, &r, 0, 4).starts_with("no leak"));
    }
}
