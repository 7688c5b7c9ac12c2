//! Type statistics on snapshots, for Python: `Snapshot.typestats`,
//! `Snapshot.growth`, `Snapshot.by_type` (their methods in `api.rs` call
//! these), the `Growth` answer, and the HTML tables IPython and Jupyter
//! show for a snapshot. The counting is [`crate::stats`]'s.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::graph::Heap;
use crate::stats::{self, By, Scope};

fn parse_by(by: &str) -> PyResult<By> {
    by.parse().map_err(|e: stats::UnknownBy| PyValueError::new_err(e.to_string()))
}

fn scope(tracked_only: bool) -> Scope {
    if tracked_only {
        Scope::TRACKED
    } else {
        Scope::ALL
    }
}

/// `[(key, count, total shallow size)]`, sorted as [`stats::typestats`] sorts.
pub(crate) fn typestats(heap: &Heap, by: &str, tracked_only: bool) -> PyResult<Vec<(String, u64, u64)>> {
    Ok(stats::typestats(heap, parse_by(by)?, scope(tracked_only)).into_iter().map(|g| (g.key, g.count, g.size)).collect())
}

/// Addresses of the objects whose type `name` names.
pub(crate) fn by_type(heap: &Heap, name: &str, tracked_only: bool) -> Vec<u64> {
    stats::by_type(heap, name, scope(tracked_only)).into_iter().map(|ix| heap.node(ix).addr()).collect()
}

/// One row of a growth table: key, count, count increase, size, size increase.
type Row = (String, u64, i64, u64, i64);

/// What grew from an older snapshot to a newer one of the same process.
#[pyclass(module = "refgraph", frozen)]
pub struct Growth {
    /// `[(type, count, +count, bytes, +bytes)]`, largest count increase first.
    #[pyo3(get)]
    types: Vec<Row>,
    /// The same by module (see `Snapshot.typestats(by="module")`).
    #[pyo3(get)]
    modules: Vec<Row>,
    /// `[(address, type)]` of the objects the older snapshot did not have,
    /// matched on address and type (an address reused by an object of
    /// another type is a new object).
    #[pyo3(get)]
    new: Vec<(u64, String)>,
}

fn rows(older: &Heap, newer: &Heap, by: By, scope: Scope) -> Vec<Row> {
    stats::growth(older, newer, by, scope).into_iter().map(|g| (g.key, g.count, g.count_delta, g.size, g.size_delta)).collect()
}

pub(crate) fn growth(older: &Heap, newer: &Heap, tracked_only: bool) -> Growth {
    let sc = scope(tracked_only);
    let new = stats::new_objects(older, newer, sc)
        .into_iter()
        .map(|ix| (newer.node(ix).addr(), newer.node(ix).type_name().to_string()))
        .collect();
    Growth { types: rows(older, newer, By::Type, sc), modules: rows(older, newer, By::Module, sc), new }
}

const SHOWN: usize = 10;

fn text_table(title: &str, rows: &[Row]) -> String {
    let mut s = format!("{title}:\n");
    for (key, count, dc, size, ds) in rows.iter().take(SHOWN) {
        s.push_str(&format!("  {key:<40} {count:>9} {dc:>+9} {size:>12} {ds:>+12}\n"));
    }
    if rows.len() > SHOWN {
        s.push_str(&format!("  ... {} more\n", rows.len() - SHOWN));
    }
    s
}

fn html_table(title: &str, head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut s = format!("<table><caption style=\"text-align:left\"><b>{}</b></caption><tr>", escape(title));
    for h in head {
        s.push_str(&format!("<th>{}</th>", escape(h)));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let align = if i == 0 { "left" } else { "right" };
            s.push_str(&format!("<td style=\"text-align:{align}\">{}</td>", escape(c)));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// Escapes text for HTML.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn growth_rows(rows: &[Row]) -> impl Iterator<Item = Vec<String>> + '_ {
    rows.iter().take(SHOWN).map(|(k, c, dc, s, ds)| vec![k.clone(), c.to_string(), format!("{dc:+}"), s.to_string(), format!("{ds:+}")])
}

#[pymethods]
impl Growth {
    fn __repr__(&self) -> String {
        format!("<refgraph.Growth {} types grew, {} modules grew, {} new objects>", self.types.len(), self.modules.len(), self.new.len())
    }

    fn __str__(&self) -> String {
        format!("{} new objects\n{}{}", self.new.len(), text_table("types", &self.types), text_table("modules", &self.modules))
    }

    /// HTML for notebooks: the new objects and the two tables.
    fn _repr_html_(&self) -> String {
        let head = ["key", "objects", "+objects", "bytes", "+bytes"];
        format!(
            "<div><p>{} new objects (matched on address and type)</p>{}{}</div>",
            self.new.len(),
            html_table("types that grew", &head, growth_rows(&self.types)),
            html_table("modules that grew", &head, growth_rows(&self.modules))
        )
    }

    /// IPython's pretty form: the new objects and the two tables as text.
    fn _repr_pretty_(&self, p: &Bound<'_, PyAny>, cycle: bool) -> PyResult<()> {
        let text = if cycle { "<refgraph.Growth ...>".to_string() } else { self.__str__() };
        p.call_method1("text", (text.trim_end(),))?;
        Ok(())
    }
}

/// The HTML IPython shows for a snapshot: its size and most common types.
pub(crate) fn snapshot_html(heap: &Heap) -> String {
    let top = stats::typestats(heap, By::Type, Scope::ALL);
    let rows = top.iter().take(SHOWN).map(|g| vec![g.key.clone(), g.count.to_string(), g.size.to_string()]);
    format!(
        "<div><p><b>refgraph.Snapshot</b>: {} objects, {} references, {} roots; Python {}</p>{}</div>",
        heap.node_count(),
        heap.edge_count(),
        heap.roots().len(),
        escape(heap.meta.python_version.split_whitespace().next().unwrap_or("?")),
        html_table("most common types", &["type", "objects", "bytes"], rows)
    )
}

/// The plain text IPython shows for a snapshot.
pub(crate) fn snapshot_text(heap: &Heap) -> String {
    let mut s =
        format!("refgraph.Snapshot: {} objects, {} references, {} roots\n", heap.node_count(), heap.edge_count(), heap.roots().len());
    for g in stats::typestats(heap, By::Type, Scope::ALL).iter().take(SHOWN) {
        s.push_str(&format!("  {:<40} {:>9} {:>12}\n", g.key, g.count, g.size));
    }
    s.trim_end().to_string()
}
