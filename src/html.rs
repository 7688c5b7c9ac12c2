//! The HTML reports: `refgraph report FILE -o report.html` (what a heap
//! holds and what keeps it) and `find_leaks(...).to_html()` (what grew).
//! Each is one self-contained page: inline CSS, inline SVG drawn by the
//! built-in layout ([`crate::render`]), no script, nothing fetched, so it
//! opens anywhere, offline, and can be mailed as is.

#![forbid(unsafe_code)]

use std::fmt::Write;

use crate::dominators::Dominators;
use crate::graph::{Heap, NodeIx, RootKind};
use crate::leaks::{path_line, signed_bytes, LeakReport};
use crate::paths::{self, PathOptions, RootPath};
use crate::render::{self, Engine, Format};
use crate::report::{self, ViewOptions};
use crate::retained::{human_bytes, retained_note, top_retainers};
use crate::stats::{self, By, Scope};

/// Rows per table.
const ROWS: usize = 15;
/// Suspects whose root paths are listed and drawn.
const SUSPECTS: usize = 3;

const CSS: &str = r#"
:root{--ink:#1d2430;--muted:#5b6577;--line:#e3e7ee;--bg:#f6f7fa;--card:#fff;--accent:#c0392b;--ok:#1e8449;--bar:#e8a29a;--bar2:#9bb8d9}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#1d2430;color:#fff;padding:22px 36px}header h1{margin:0;font-size:22px;font-weight:600}header p{margin:4px 0 0;color:#b8c1d1}
main{max-width:1240px;margin:0 auto;padding:24px 36px 48px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-bottom:22px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px}.card b{display:block;font-size:22px}.card span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.alert b{color:var(--accent)}.card.good b{color:var(--ok)}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin-bottom:18px}
section h2{margin:0 0 10px;font-size:16px}section p.note{margin:-4px 0 10px;color:var(--muted);font-size:13px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}.grid2 section{margin-bottom:0}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{position:relative}.bar i{position:absolute;left:0;top:3px;bottom:3px;background:var(--bar);opacity:.45;border-radius:3px}.bar.blue i{background:var(--bar2)}.bar span{position:relative}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;color:#34495e;background:#f3f5f9;border-left:3px solid var(--bar);padding:4px 8px;margin:3px 0;border-radius:0 4px 4px 0;word-break:break-word}
.tag{display:inline-block;font-size:11px;padding:1px 7px;border-radius:9px;background:#eef1f6;color:var(--muted);margin-left:6px}
.tag.red{background:#fbe4e1;color:var(--accent)}
.svg{overflow:auto;border:1px solid var(--line);border-radius:6px;background:#fff;max-height:760px}.svg svg{display:block;margin:0 auto;max-width:100%;height:auto}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:10px}
"#;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, subtitle: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head>\n<body><header><h1>{t}</h1><p>{s}</p></header><main>\n{body}<footer>made by refgraph {v}: sizes are shallow sizes as sys.getsizeof reports them; retained sizes come from the dominator tree (weak references do not retain)</footer></main></body></html>\n",
        t = esc(title),
        s = esc(subtitle),
        v = env!("CARGO_PKG_VERSION"),
    )
}

fn card(value: &str, label: &str, class: &str) -> String {
    format!("<div class=\"card {class}\"><b>{}</b><span>{}</span></div>", esc(value), esc(label))
}

/// A table cell with a bar of `part / whole`.
fn bar_cell(text: &str, part: u64, whole: u64, class: &str) -> String {
    let pct = if whole == 0 { 0.0 } else { (part as f64 / whole as f64 * 100.0).min(100.0) };
    format!("<td class=\"n bar {class}\"><i style=\"width:{pct:.1}%\"></i><span>{}</span></td>", esc(text))
}

fn total_bytes(heap: &Heap) -> u64 {
    heap.columns().size.iter().map(|&s| u64::from(s)).sum()
}

fn capture_line(heap: &Heap) -> String {
    let m = &heap.meta;
    format!(
        "captured by the {} collector from Python {} (pid {}) in {:.2} s",
        m.collector,
        m.python_version.split_whitespace().next().unwrap_or("?"),
        m.pid,
        m.capture_seconds
    )
}

/// The report on one heap.
pub fn heap_report_html(heap: &Heap, dom: &Dominators, name: &str) -> String {
    let mut body = String::new();
    let stale = stale_namespaces(heap, dom);
    let stale_bytes = stale_bytes(heap, dom);
    let stale_count: usize = stale.iter().map(|s| s.count).sum();
    body.push_str("<div class=\"cards\">");
    body.push_str(&card(&heap.node_count().to_string(), "objects", ""));
    body.push_str(&card(&heap.edge_count().to_string(), "references", ""));
    body.push_str(&card(&heap.roots().len().to_string(), "roots", ""));
    body.push_str(&card(&human_bytes(total_bytes(heap)), "shallow bytes", ""));
    let class = if stale_count > 0 { "alert" } else { "good" };
    body.push_str(&card(&stale_count.to_string(), "stale module namespaces", class));
    body.push_str(&card(&human_bytes(stale_bytes), "kept by stale namespaces", class));
    body.push_str("</div>\n");
    let rows = top_retainers(heap, dom, ROWS);
    body.push_str(&retained_section(heap, dom, &rows));
    body.push_str(&stale_section(heap, &stale));
    body.push_str("<div class=\"grid2\">");
    body.push_str(&stats_section(heap, By::Size, "Types by total size"));
    body.push_str(&stats_section(heap, By::Module, "Modules by object count"));
    body.push_str("</div><br>\n");
    let suspects: Vec<NodeIx> = rows.iter().take(SUSPECTS).map(|r| r.node).collect();
    body.push_str(&suspects_section(heap, dom, &suspects, "Why the top suspects are alive"));
    page(&format!("refgraph report: {name}"), &capture_line(heap), &body)
}

/// The report of a leak hunt, drawn from the last snapshot.
pub fn leak_report_html(heap: &Heap, dom: &Dominators, r: &LeakReport) -> String {
    let mut body = String::new();
    body.push_str("<div class=\"cards\">");
    let (class, verdict) = if r.leaks() { ("alert", "leaking") } else { ("good", "no leak") };
    body.push_str(&card(verdict, "verdict", class));
    body.push_str(&card(&r.calls.to_string(), &format!("calls measured ({} warm-up)", r.warmup), ""));
    body.push_str(&card(&format!("{:+}", r.objects.1 as i64 - r.objects.0 as i64), "objects", class));
    body.push_str(&card(&signed_bytes(r.bytes.1 as i64 - r.bytes.0 as i64), "shallow bytes", class));
    body.push_str(&card(&r.groups.len().to_string(), "groups growing every batch", class));
    body.push_str("</div>\n");
    body.push_str("<section><h2>What grew</h2><p class=\"note\">Types and modules whose object count grew by at least one per call in every batch; the example is the new object keeping the most memory alive.</p>");
    if r.groups.is_empty() {
        body.push_str("<p>Nothing grew in every batch: no leak.</p>");
    } else {
        body.push_str("<table><tr><th>group</th><th>objects</th><th>per call</th><th>bytes</th><th>example</th><th>retained</th></tr>");
        let most = r.groups.iter().map(|g| g.count_delta.unsigned_abs()).max().unwrap_or(1);
        for g in &r.groups {
            let example = g.example.map_or(String::new(), |ix| report::node_text(heap, ix));
            let _ = write!(
                body,
                "<tr><td>{} <b>{}</b></td>{}<td class=\"n\">{:.1}</td><td class=\"n\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
                esc(g.by),
                esc(&g.key),
                bar_cell(&format!("{:+}", g.count_delta), g.count_delta.unsigned_abs(), most, ""),
                g.per_call,
                esc(&signed_bytes(g.size_delta)),
                esc(&example),
                g.retained.map_or("-".into(), human_bytes)
            );
        }
        body.push_str("</table>");
    }
    body.push_str("</section>\n");
    for g in r.groups.iter().filter(|g| !g.paths.is_empty()).take(6) {
        let _ = write!(body, "<section><h2>{} {}: why its example is alive</h2>", esc(g.by), esc(&g.key));
        body.push_str(&paths_html(heap, dom, &g.paths));
        body.push_str("</section>\n");
    }
    let mut examples: Vec<NodeIx> = Vec::new();
    for ix in r.groups.iter().filter_map(|g| g.example) {
        if !examples.contains(&ix) && examples.len() < 2 {
            examples.push(ix);
        }
    }
    if !examples.is_empty() {
        body.push_str(&svg_section(heap, dom, &examples, "Backrefs of the examples"));
    }
    page("refgraph leak report", &capture_line(heap), &body)
}

fn retained_section(heap: &Heap, dom: &Dominators, rows: &[crate::retained::TopRetainer]) -> String {
    let mut s = String::from(
        "<section><h2>What keeps the most memory alive</h2><p class=\"note\">Retained size: the bytes freed if the object died. Look-alike objects are folded into one row.</p>\
         <table><tr><th>retained</th><th>total</th><th>count</th><th>object</th></tr>",
    );
    let most = rows.iter().map(|r| r.total).max().unwrap_or(1);
    for r in rows {
        let inside = r.wrapper.map_or(String::new(), |w| format!("<span class=\"tag\">inside {}</span>", esc(&report::node_text(heap, w))));
        let root = if heap.is_root(r.node) { "<span class=\"tag\">root</span>" } else { "" };
        let _ = write!(
            s,
            "<tr><td class=\"n\">{}</td>{}<td class=\"n\">{}</td><td class=\"mono\">{}{root}{inside}</td></tr>",
            human_bytes(r.retained),
            bar_cell(&human_bytes(r.total), r.total, most, ""),
            r.count,
            esc(&report::node_text(heap, r.node))
        );
    }
    let _ = dom;
    s.push_str("</table></section>\n");
    s
}

fn stats_section(heap: &Heap, by: By, title: &str) -> String {
    let groups = stats::typestats(heap, by, Scope::ALL);
    let mut s = format!("<section><h2>{}</h2><table><tr><th>{}</th><th>objects</th><th>bytes</th></tr>", esc(title), by.name());
    let most = match by {
        By::Size => groups.iter().map(|g| g.size).max().unwrap_or(1),
        _ => groups.iter().map(|g| g.count).max().unwrap_or(1),
    };
    for g in groups.iter().take(ROWS) {
        let (count, size) = match by {
            By::Size => (format!("<td class=\"n\">{}</td>", g.count), bar_cell(&human_bytes(g.size), g.size, most, "blue")),
            _ => (bar_cell(&g.count.to_string(), g.count, most, "blue"), format!("<td class=\"n\">{}</td>", human_bytes(g.size))),
        };
        let _ = write!(s, "<tr><td class=\"mono\">{}</td>{count}{size}</tr>", esc(&g.key));
    }
    s.push_str("</table></section>");
    s
}

/// Module namespaces no module in `sys.modules` reaches, by name.
pub struct StaleNamespaces {
    pub name: String,
    pub count: usize,
    /// Retained size of all of them.
    pub retained: u64,
    pub example: NodeIx,
}

/// Namespace dicts (`logging namespace, …`) that no `sys.modules` root
/// reaches: copies of modules that were dropped from `sys.modules` and are
/// still alive. Largest total retained size first.
pub fn stale_namespaces(heap: &Heap, dom: &Dominators) -> Vec<StaleNamespaces> {
    let mut by_name: Vec<StaleNamespaces> = Vec::new();
    for ix in stale_namespace_nodes(heap) {
        let n = heap.node(ix);
        let Some((name, _)) = n.label().split_once(" namespace") else { continue };
        let retained = dom.retained_size(ix).unwrap_or(0);
        match by_name.iter_mut().find(|s| s.name == name) {
            Some(s) => {
                s.count += 1;
                s.retained += retained;
            }
            None => by_name.push(StaleNamespaces { name: name.to_string(), count: 1, retained, example: ix }),
        }
    }
    by_name.sort_by(|a, b| b.retained.cmp(&a.retained).then(a.name.cmp(&b.name)));
    by_name
}

/// Bytes the stale namespaces keep, each counted once: a namespace that
/// another stale one dominates (`logging.handlers` inside `logging`) is
/// already in that one's retained size.
pub fn stale_bytes(heap: &Heap, dom: &Dominators) -> u64 {
    let stale = stale_namespace_nodes(heap);
    let mut set = fixedbitset::FixedBitSet::with_capacity(heap.node_count());
    for &ix in &stale {
        set.insert(ix.index());
    }
    stale.iter().filter(|&&ix| !dom.dominators(ix).any(|d| set.contains(d.index()))).map(|&ix| dom.retained_size(ix).unwrap_or(0)).sum()
}

/// The namespace dicts no `sys.modules` root reaches.
fn stale_namespace_nodes(heap: &Heap) -> Vec<NodeIx> {
    let module_roots: Vec<NodeIx> = heap.roots().iter().filter(|r| matches!(r.kind, RootKind::Module { .. })).map(|r| r.node).collect();
    if module_roots.is_empty() {
        return Vec::new();
    }
    let mut seen = fixedbitset::FixedBitSet::with_capacity(heap.node_count());
    for ix in paths::within(heap, &module_roots, paths::Direction::Referents, u32::MAX) {
        seen.insert(ix.index());
    }
    heap.nodes()
        .filter(|n| n.type_name() == "dict" && !seen.contains(n.ix.index()) && n.label().contains(" namespace"))
        .map(|n| n.ix)
        .collect()
}

fn stale_section(heap: &Heap, stale: &[StaleNamespaces]) -> String {
    let mut s = String::from(
        "<section><h2>Stale modules</h2><p class=\"note\">Module namespaces that no module in sys.modules reaches: copies dropped from sys.modules that something still holds.</p>",
    );
    if stale.is_empty() {
        s.push_str("<p>None: every module namespace is reachable from sys.modules.</p></section>\n");
        return s;
    }
    s.push_str("<table><tr><th>module</th><th>copies</th><th>retained (all copies)</th><th>example</th></tr>");
    let most = stale.iter().map(|x| x.retained).max().unwrap_or(1);
    for x in stale.iter().take(ROWS) {
        let _ = write!(
            s,
            "<tr><td class=\"mono\"><b>{}</b><span class=\"tag red\">stale</span></td><td class=\"n\">{}</td>{}<td class=\"mono\">{}</td></tr>",
            esc(&x.name),
            x.count,
            bar_cell(&human_bytes(x.retained), x.retained, most, ""),
            esc(&report::node_text(heap, x.example))
        );
    }
    s.push_str("</table></section>\n");
    s
}

fn paths_html(heap: &Heap, dom: &Dominators, ps: &[RootPath]) -> String {
    let mut s = String::new();
    for p in ps {
        let _ = write!(s, "<div class=\"path\">{}</div>", esc(&path_line(heap, dom, p)));
    }
    s
}

fn suspects_section(heap: &Heap, dom: &Dominators, suspects: &[NodeIx], title: &str) -> String {
    let mut s = format!("<section><h2>{}</h2>", esc(title));
    let mut all = Vec::new();
    for &t in suspects {
        let ps = paths::root_paths(heap, t, PathOptions { limit: 4, max_depth: None }, |_| true);
        let retained = retained_note(dom, t).unwrap_or_default();
        let _ = write!(
            s,
            "<p><span class=\"mono\"><b>{}</b></span> <span class=\"tag\">{}</span></p>",
            esc(&report::node_text(heap, t)),
            esc(&retained)
        );
        s.push_str(&paths_html(heap, dom, &ps));
        all.extend(ps);
    }
    s.push_str("</section>\n");
    let drawn: Vec<NodeIx> = suspects.iter().copied().take(2).collect();
    s.push_str(&svg_section(heap, dom, &drawn, "Backrefs of the top suspects"));
    s
}

/// The root paths of `targets` drawn by the built-in layout, inline.
fn svg_section(heap: &Heap, dom: &Dominators, targets: &[NodeIx], title: &str) -> String {
    let ps: Vec<RootPath> =
        targets.iter().flat_map(|&t| paths::root_paths(heap, t, PathOptions { limit: 4, max_depth: None }, |_| true)).collect();
    let nb = paths::chains_neighbourhood(&ps);
    let depth = nb.nodes.iter().map(|&(_, d)| d).max().unwrap_or(0).max(1);
    let vo = ViewOptions { max_depth: depth, retained: Some(dom), ..Default::default() };
    let view = report::view(heap, &nb, targets, vo);
    let svg = match render::render(&view, Format::Svg, Engine::BuiltIn) {
        Ok((bytes, _)) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => format!("<p>cannot draw: {}</p>", esc(&e.to_string())),
    };
    // The XML prolog is not allowed inside HTML.
    let svg = svg.find("<svg").map_or(svg.clone(), |i| svg[i..].to_string());
    format!("<section><h2>{}</h2><p class=\"note\">Red: the objects; green: roots; each box says what it retains.</p><div class=\"svg\">{svg}</div></section>\n", esc(title))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{EdgeLabel, HeapBuilder, NodeData, NodeFlags, Root};

    #[test]
    fn the_report_is_one_page_with_the_stale_namespace_and_its_drawing() {
        let mut b = HeapBuilder::new();
        let flags = NodeFlags(NodeFlags::TRACKED);
        let mut add = |addr, ty: &str, label: &str, size| {
            b.add_node(&NodeData { addr, type_name: ty.into(), size, refcount: 1, flags, label: label.into() })
        };
        let m = add(0x10, "module", "os", 56);
        let os_ns = add(0x20, "dict", "os namespace, 1 items", 500);
        let f = add(0x30, "function", "logging.shutdown", 100);
        let ns = add(0x40, "dict", "logging namespace, 3 items", 4000);
        let handlers = add(0x50, "dict", "logging.handlers namespace, 2 items", 3000);
        b.add_edge(m, os_ns, EdgeLabel::UNKNOWN);
        b.add_edge(f, ns, EdgeLabel::UNKNOWN);
        b.add_edge(ns, handlers, EdgeLabel::UNKNOWN);
        b.add_root(Root { node: m, kind: RootKind::Module { name: "os".into() } });
        b.add_root(Root { node: f, kind: RootKind::Named { holder: "atexit callback #1".into(), surplus: 1 } });
        let h = b.finish().unwrap();
        let dom = Dominators::compute(&h);
        let page = heap_report_html(&h, &dom, "heap.rgs");
        assert!(page.starts_with("<!DOCTYPE html>") && page.contains("<svg") && page.contains("atexit callback #1"));
        assert!(!page.contains("src=") && !page.contains("href="), "nothing is fetched");
        let stale: Vec<(String, u64)> = stale_namespaces(&h, &dom).into_iter().map(|s| (s.name, s.retained)).collect();
        assert_eq!(stale, [("logging".to_string(), 7000), ("logging.handlers".to_string(), 3000)]);
        // logging.handlers is inside logging: counted once.
        assert_eq!(stale_bytes(&h, &dom), 7000);
    }
}
