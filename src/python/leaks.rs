//! pyo3 glue for leak reports: the `LeakReport` class that
//! `refgraph.find_leaks` (python/refgraph/_leaks.py) returns, built from the
//! snapshots it took by [`crate::leaks::find_leaks`].

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::api::Snapshot;
use crate::dominators::Dominators;
use crate::graph::Heap;
use crate::leaks::{report_text, LeakReport};

/// What grew while a function was called again and again: growing types
/// and modules, each with a representative object, its root paths and
/// retained size.
#[pyclass(module = "refgraph", name = "LeakReport", frozen)]
pub struct PyLeakReport {
    heap: Arc<Heap>,
    dom: Arc<Dominators>,
    report: LeakReport,
}

#[pymethods]
impl PyLeakReport {
    /// True when some type or module grew in every batch of calls.
    #[getter]
    fn leaks(&self) -> bool {
        self.report.leaks()
    }

    #[getter]
    fn calls(&self) -> u64 {
        self.report.calls
    }

    /// The explanation: at most `max_groups` groups (0: all), `paths` root paths each.
    #[pyo3(signature = (max_groups = 0, paths = 4))]
    fn text(&self, max_groups: usize, paths: usize) -> String {
        report_text(&self.heap, &self.dom, &self.report, max_groups, paths)
    }

    fn __str__(&self) -> String {
        self.text(12, 4)
    }

    fn __repr__(&self) -> String {
        format!("<refgraph.LeakReport {} growing group(s) over {} calls>", self.report.groups.len(), self.report.calls)
    }

    fn __bool__(&self) -> bool {
        self.report.leaks()
    }

    /// The growing groups as dicts: `by` (type or module), `key`,
    /// `count_delta`, `size_delta`, `per_call`, `example` (address),
    /// `retained`, `paths` (one text line per root path).
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.report
            .groups
            .iter()
            .map(|g| {
                let d = PyDict::new(py);
                d.set_item("by", g.by)?;
                d.set_item("key", &g.key)?;
                d.set_item("count_delta", g.count_delta)?;
                d.set_item("size_delta", g.size_delta)?;
                d.set_item("per_call", g.per_call)?;
                d.set_item("example", g.example.map(|ix| self.heap.node(ix).addr()))?;
                d.set_item("retained", g.retained)?;
                let paths: Vec<String> = g.paths.iter().map(|p| crate::leaks::path_line(&self.heap, &self.dom, p)).collect();
                d.set_item("paths", paths)?;
                Ok(d)
            })
            .collect()
    }

    /// The report as one self-contained HTML page (inline CSS and SVG).
    fn to_html(&self, py: Python<'_>) -> String {
        let (heap, dom) = (Arc::clone(&self.heap), Arc::clone(&self.dom));
        let report = self.report.clone();
        py.detach(move || crate::html::leak_report_html(&heap, &dom, &report))
    }
}

/// Builds a leak report from snapshots taken before and after each batch of
/// `calls_per_batch` calls.
#[pyfunction]
pub fn _leak_report(py: Python<'_>, snapshots: Vec<PyRef<'_, Snapshot>>, calls_per_batch: u64, warmup: u64) -> PyResult<PyLeakReport> {
    if snapshots.len() < 2 {
        return Err(pyo3::exceptions::PyValueError::new_err("a leak report needs at least two snapshots"));
    }
    let newest = &snapshots[snapshots.len() - 1];
    let (last, dom) = (Arc::clone(&newest.heap), newest.dominator_tree(py));
    let heaps: Vec<Arc<Heap>> = snapshots.iter().map(|s| Arc::clone(&s.heap)).collect();
    let d = Arc::clone(&dom);
    let report = py.detach(move || {
        let refs: Vec<&Heap> = heaps.iter().map(|h| h.as_ref()).collect();
        crate::leaks::find_leaks(&refs, &d, calls_per_batch, warmup)
    });
    Ok(PyLeakReport { heap: last, dom, report })
}
