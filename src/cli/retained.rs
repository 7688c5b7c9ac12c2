//! `refgraph top --by retained`: the objects keeping the most memory alive,
//! each with its root paths (the dominator-tree ranking of
//! [`refgraph::retained`]). Called by `top`; the tree is computed here, on
//! first use, never at capture.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use refgraph::dominators::Dominators;
use refgraph::graph::Heap;
use refgraph::paths::PathOptions;
use refgraph::report;
use refgraph::retained::{human_bytes, top_retainers};

/// Root paths shown per row: enough to show each kind of retainer of a
/// stale namespace (an atexit callback, the fork-handler lists).
const PATHS_PER_ROW: usize = 4;

/// Prints the `limit` rows of the ranking (all if 0) with their root paths.
pub(crate) fn print_top(heap: &Heap, name: &str, limit: usize) -> Result<i32> {
    let t = Instant::now();
    let dom = Dominators::compute(heap);
    let secs = t.elapsed().as_secs_f64();
    let rows = top_retainers(heap, &dom, if limit == 0 { usize::MAX } else { limit });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{name}: {} objects; the objects keeping the most memory alive (dominator tree: {secs:.2} s, {} passes)",
        heap.node_count(),
        dom.passes
    )?;
    writeln!(out, "{:>10} {:>10} {:>6}  object", "retained", "total", "count")?;
    for (i, r) in rows.iter().enumerate() {
        let mut head =
            format!("{:>10} {:>10} {:>6}  {}", human_bytes(r.retained), human_bytes(r.total), r.count, report::node_text(heap, r.node));
        if let Some(w) = r.wrapper {
            head.push_str(&format!("  (inside {})", report::node_text(heap, w)));
        }
        writeln!(out, "{head}")?;
        let found = refgraph::paths::root_paths(heap, r.node, PathOptions { limit: PATHS_PER_ROW, max_depth: None }, |_| true);
        for p in &found {
            writeln!(out, "{:>30}{}", "", one_line_path(heap, p))?;
        }
        if i + 1 < rows.len() {
            writeln!(out)?;
        }
    }
    Ok(0)
}

/// `atexit callback: function logging.shutdown -> __globals__ -> dict`, compactly.
pub(crate) fn one_line_path(heap: &Heap, p: &refgraph::paths::RootPath) -> String {
    let mut s = report::root_text(heap, p.root()).unwrap_or_default();
    for (i, step) in p.steps.iter().enumerate() {
        let n = heap.node(step.node);
        let named = matches!(n.type_name(), "function" | "module" | "type" | "builtin_function_or_method");
        let what =
            if named && !n.label().is_empty() { format!("{} {}", n.short_type_name(), n.label()) } else { n.short_type_name().to_string() };
        match step.edge.map(|l| heap.edge_label_text(l)).filter(|e| !e.is_empty()) {
            _ if i == 0 => s.push_str(&format!(": {what}")),
            Some(edge) => s.push_str(&format!(" {edge} -> {what}")),
            None => s.push_str(&format!(" -> {what}")),
        }
    }
    s
}
