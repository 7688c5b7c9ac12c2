//! pyo3 glue for retained sizes: `Snapshot.retained_size`,
//! `Snapshot.immediate_dominator`, `Snapshot.dominators`,
//! `Snapshot.top_retainers` and `refgraph.retained_size`. The dominator tree
//! ([`crate::dominators`]) is computed once per snapshot, on first use,
//! with the GIL released.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::api::{address_of, find, fresh, observers_for, Snapshot};
use crate::dominators::{Dominators, Idom};
use crate::graph::Heap;

impl Snapshot {
    /// The dominator tree of this snapshot, computed on first use.
    pub(super) fn dominator_tree(&self, py: Python<'_>) -> Arc<Dominators> {
        if let Some(d) = self.dominators.get() {
            return Arc::clone(d);
        }
        let heap = Arc::clone(&self.heap);
        let d = py.detach(move || Arc::new(Dominators::compute(&heap)));
        Arc::clone(self.dominators.get_or_init(|| d))
    }
}

/// The dominator tree of a heap captured in this call, with the GIL
/// released (call it after pinning any objects used afterwards: other
/// threads run meanwhile).
pub(super) fn retained_tree(py: Python<'_>, heap: &Heap) -> Dominators {
    py.detach(|| Dominators::compute(heap))
}

/// One row of [`crate::retained::top_retainers`] as a dict.
fn row<'py>(py: Python<'py>, heap: &Heap, r: &crate::retained::TopRetainer) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let n = heap.node(r.node);
    d.set_item("address", n.addr())?;
    d.set_item("type", n.type_name())?;
    d.set_item("label", n.label())?;
    d.set_item("retained", r.retained)?;
    d.set_item("count", r.count)?;
    d.set_item("total", r.total)?;
    d.set_item("inside", r.wrapper.map(|w| heap.node(w).addr()))?;
    Ok(d)
}

#[pymethods]
impl Snapshot {
    /// The bytes that would be freed if the object died: the shallow sizes
    /// of everything it alone keeps alive, its own included (dominator
    /// tree from a virtual root over all roots; weak references don't
    /// retain). `None` if no root reaches the object.
    fn retained_size(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(self.dominator_tree(py).retained_size(ix))
    }

    /// The address of the object every root path to `obj` passes through
    /// last; `None` when there is none (a root, an object held by several
    /// independent roots, or one no root reaches).
    fn immediate_dominator(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(match self.dominator_tree(py).immediate_dominator(ix) {
            Some(Idom::Node(d)) => Some(self.heap.node(d).addr()),
            _ => None,
        })
    }

    /// The addresses of every object that dominates `obj`, nearest first.
    fn dominators(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(self.dominator_tree(py).dominators(ix).map(|d| self.heap.node(d).addr()).collect())
    }

    /// The objects keeping the most memory alive, as dicts (`address`,
    /// `type`, `label`, `retained`, and `count`/`total` for a run of
    /// look-alikes folded into one row; `inside` names a wrapper shown as
    /// its content).
    #[pyo3(signature = (limit = 10))]
    fn top_retainers<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let dom = self.dominator_tree(py);
        let rows = crate::retained::top_retainers(&self.heap, &dom, limit);
        rows.iter().map(|r| row(py, &self.heap, r)).collect()
    }

    /// `(seconds, passes, bytes kept, peak bytes)` of computing the
    /// dominator tree afresh (for scripts/bench-retained).
    fn _dominator_cost(&self, py: Python<'_>) -> (f64, u32, usize, usize) {
        let heap = Arc::clone(&self.heap);
        py.detach(move || {
            let t = std::time::Instant::now();
            let d = Dominators::compute(&heap);
            (t.elapsed().as_secs_f64(), d.passes, d.bytes(), d.peak_bytes)
        })
    }

    /// The retained size by definition, with no dominator tree: what the
    /// roots stop reaching when the object is removed. One heap walk per
    /// call; for checking `retained_size`.
    fn _retained_size_by_removal(&self, obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(crate::dominators::retained_by_removal(&self.heap, ix))
    }
}

/// The bytes that would be freed if `obj` died, measured on a fresh capture
/// of this interpreter (see `Snapshot.retained_size`).
#[pyfunction]
pub fn retained_size(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    let heap = fresh(py, &observers_for(&[Some(obj)], None, Vec::new()))?;
    let ix = find(&heap, address_of(obj))?;
    Ok(retained_tree(py, &heap).retained_size(ix))
}
