//! The native half of refgraph's objgraph API (`refgraph._objgraph` is the
//! Python half): each function runs one capture and asks the core
//! ([`crate::stats`], [`crate::paths`]) the question objgraph answers with a
//! Python loop over `gc.get_objects()`.
//!
//! Functions that hand back live objects (`by_type`, `at_addrs`,
//! `get_leaking_objects`, `find_ref_chain`) take a strong reference to every
//! object they return before any Python code can run, with automatic
//! collection still paused from the capture: every captured object is alive
//! until then, and the references keep them so. Only objects the garbage
//! collector tracks are returned (as objgraph does); they are the objects
//! the capture read from the collector's own lists.

use std::collections::HashSet;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::capture::Observers;
use crate::graph::{Heap, NodeIx};
use crate::paths::bfs_to_goals;
use crate::stats::{self, By, Scope};

use super::api::{call_bool, fresh, ignore_list, observers_for};

/// Keeps automatic collection off from before a capture until the objects
/// it returns are referenced: a collection in between could free an
/// unreachable cycle the capture saw.
struct Paused<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> Paused<'py> {
    fn new(py: Python<'py>) -> PyResult<Paused<'py>> {
        let gc = py.import("gc")?;
        let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
        gc.call_method0("disable")?;
        Ok(Paused { gc, was_enabled })
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self.gc.call_method0("enable");
        }
    }
}

/// The Python objects of `nodes`, each with a new strong reference.
///
/// # Safety
/// `heap` was captured in this call, with the GIL held since and automatic
/// collection paused, and no Python code has run since: every node that is
/// not synthetic is a live object.
unsafe fn objects_of<'py>(py: Python<'py>, heap: &Heap, nodes: impl Iterator<Item = NodeIx>) -> Vec<Bound<'py, PyAny>> {
    let ptrs: Vec<*mut ffi::PyObject> =
        nodes.filter(|&n| !heap.node(n).flags().synthetic()).map(|n| heap.node(n).addr() as usize as *mut ffi::PyObject).collect();
    for &p in &ptrs {
        // SAFETY: the caller's contract: `p` is live and the GIL is held.
        // All references are taken before anything can allocate.
        unsafe { ffi::Py_INCREF(p) };
    }
    // SAFETY: each pointer carries the reference taken above, now owned by the Bound.
    ptrs.into_iter().map(|p| unsafe { Bound::from_owned_ptr(py, p) }).collect()
}

fn observers(frames: usize, args: &[Option<&Bound<'_, PyAny>>], container: Option<&Bound<'_, PyAny>>) -> Observers {
    let mut obs = observers_for(args, container, Vec::new());
    obs.frames = frames;
    obs
}

/// `[(type name, count, total shallow size)]` of the objects the garbage
/// collector tracks, most common first. `frames`: how many of the newest
/// frames are refgraph's own (their references are not counted).
#[pyfunction]
#[pyo3(signature = (frames = 1, by = "type", tracked_only = true))]
pub fn _typestats(py: Python<'_>, frames: usize, by: &str, tracked_only: bool) -> PyResult<Vec<(String, u64, u64)>> {
    let by: By = by.parse().map_err(|e: stats::UnknownBy| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let heap = fresh(py, &observers(frames, &[], None))?;
    let scope = if tracked_only { Scope::TRACKED } else { Scope::ALL };
    Ok(stats::typestats(&heap, by, scope).into_iter().map(|g| (g.key, g.count, g.size)).collect())
}

/// `[(type name, count)]` of the objects the garbage collector tracks: one
/// pass over the collector's objects reading each one's type, with no graph
/// (what `typestats`, `count`, `most_common_types` and `growth` need).
/// Type names are those of a capture (`dict`, `logging.Logger`).
#[pyfunction]
pub fn _type_counts(py: Python<'_>) -> PyResult<Vec<(String, u64)>> {
    let _paused = Paused::new(py)?;
    let mut counts: rustc_hash::FxHashMap<usize, u64> = Default::default();
    for_each_tracked(py, |o| {
        // SAFETY: `o` is a live object the collector listed, the GIL is held.
        let tp = unsafe { ffi::Py_TYPE(o) } as usize;
        *counts.entry(tp).or_default() += 1;
    })?;
    // The types are alive: each has a live instance, and collection is
    // paused. Named through `type`'s own descriptors: no metaclass code runs.
    let ty = py.get_type::<pyo3::types::PyType>();
    let dict = ty.getattr("__dict__")?;
    let module_of = dict.get_item("__module__")?;
    let qualname_of = dict.get_item("__qualname__")?;
    let mut out = Vec::with_capacity(counts.len());
    for (tp, n) in counts {
        // SAFETY: `tp` is the type of a live object (see above); borrowed, and
        // the Bound takes its own reference.
        let t = unsafe { Bound::from_borrowed_ptr(py, tp as *mut ffi::PyObject) };
        let qual: String = qualname_of.call_method1("__get__", (&t,))?.extract().unwrap_or_default();
        let module: Option<String> = module_of.call_method1("__get__", (&t,)).ok().and_then(|m| m.extract().ok());
        let name = match module.as_deref() {
            None | Some("builtins") => qual,
            Some(m) => format!("{m}.{qual}"),
        };
        out.push((name, n));
    }
    Ok(out)
}

/// Calls `f` with every object the garbage collector tracks, reading the
/// collector's own lists (3.12+) or the list `gc.get_objects()` makes.
fn for_each_tracked(py: Python<'_>, mut f: impl FnMut(*mut ffi::PyObject)) -> PyResult<()> {
    #[cfg(Py_3_12)]
    {
        let _ = py;
        extern "C" {
            fn PyUnstable_GC_VisitObjects(
                callback: unsafe extern "C" fn(*mut ffi::PyObject, *mut std::ffi::c_void) -> std::ffi::c_int,
                arg: *mut std::ffi::c_void,
            );
        }
        unsafe extern "C" fn visit(o: *mut ffi::PyObject, arg: *mut std::ffi::c_void) -> std::ffi::c_int {
            // SAFETY: `arg` is the closure passed below, for the duration of the call.
            let f = unsafe { &mut *(arg as *mut &mut dyn FnMut(*mut ffi::PyObject)) };
            f(o);
            1
        }
        let mut dynf: &mut dyn FnMut(*mut ffi::PyObject) = &mut f;
        // SAFETY: the GIL is held; the callback only counts, running no Python code.
        unsafe { PyUnstable_GC_VisitObjects(visit, &mut dynf as *mut &mut dyn FnMut(*mut ffi::PyObject) as *mut std::ffi::c_void) };
        Ok(())
    }
    #[cfg(not(Py_3_12))]
    {
        let list = py.import("gc")?.call_method0("get_objects")?;
        let list = list.cast::<PyList>()?;
        for o in list.iter() {
            f(o.as_ptr());
        }
        Ok(())
    }
}

/// The tracked objects whose type `name` names (`MyClass` or `mymodule.MyClass`).
#[pyfunction]
#[pyo3(signature = (name, frames = 1))]
pub fn _by_type<'py>(py: Python<'py>, name: &str, frames: usize) -> PyResult<Bound<'py, PyList>> {
    let _paused = Paused::new(py)?;
    let heap = fresh(py, &observers(frames, &[], None))?;
    let found = stats::by_type(&heap, name, Scope::TRACKED);
    // SAFETY: captured just now, collection paused, no Python code run since.
    let objs = unsafe { objects_of(py, &heap, found.into_iter()) };
    PyList::new(py, objs)
}

/// The tracked objects at the given addresses, in heap order; addresses of
/// no tracked object are skipped.
#[pyfunction]
#[pyo3(signature = (addrs, frames = 1))]
pub fn _at_addrs<'py>(py: Python<'py>, addrs: &Bound<'py, PyAny>, frames: usize) -> PyResult<Bound<'py, PyList>> {
    // Read before the capture: iterating may run the caller's code.
    let wanted: HashSet<u64> =
        addrs.try_iter()?.filter_map(|a| a.and_then(|a| a.extract::<i128>()).ok()).filter_map(|a| u64::try_from(a).ok()).collect();
    let _paused = Paused::new(py)?;
    let heap = fresh(py, &observers(frames, &[Some(addrs)], None))?;
    let mut found: Vec<NodeIx> = wanted.iter().filter_map(|&a| heap.find_addr(a)).filter(|&ix| heap.node(ix).flags().tracked()).collect();
    found.sort();
    // SAFETY: captured just now, collection paused, no Python code run since.
    let objs = unsafe { objects_of(py, &heap, found.into_iter()) };
    PyList::new(py, objs)
}

/// objgraph's `get_leaking_objects`: the tracked objects no other object
/// refers to. `objects`, if given, is left out of the referrers (it is the
/// caller's list), and the answer is the part of it that is leaking.
#[pyfunction]
#[pyo3(signature = (objects = None, frames = 1))]
pub fn _leaking<'py>(py: Python<'py>, objects: Option<&Bound<'py, PyAny>>, frames: usize) -> PyResult<Bound<'py, PyList>> {
    let _paused = Paused::new(py)?;
    let heap = fresh(py, &observers(frames, &[objects], objects))?;
    let found = stats::unreferenced(&heap);
    // SAFETY: captured just now, collection paused, no Python code run since.
    let objs = unsafe { objects_of(py, &heap, found.into_iter()) };
    PyList::new(py, objs)
}

/// objgraph's `find_ref_chain`: the shortest chain of references from `obj`
/// to an object `predicate` accepts, `[obj]` if none within `max_depth`.
#[pyfunction]
#[pyo3(signature = (obj, predicate, max_depth = 20, extra_ignore = None, frames = 1))]
pub fn find_ref_chain<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    predicate: &Bound<'py, PyAny>,
    max_depth: u32,
    extra_ignore: Option<&Bound<'py, PyAny>>,
    frames: usize,
) -> PyResult<Bound<'py, PyList>> {
    let ignore = ignore_list(extra_ignore)?;
    let mut obs = observers_for(&[Some(obj), Some(predicate), extra_ignore], None, ignore.clone());
    obs.frames = frames;
    let paused = Paused::new(py)?;
    let heap = fresh(py, &obs)?;
    let target = heap.find_addr(obj.as_ptr() as usize as u64);
    let Some(target) = target else { return PyList::new(py, [obj]) };
    let reach = crate::paths::within(&heap, &[target], crate::paths::Direction::Referents, max_depth);
    // SAFETY: captured just now, collection paused, no Python code run since.
    let pinned = unsafe { objects_of(py, &heap, reach.iter().copied()) };
    drop(paused);
    let index: rustc_hash::FxHashMap<NodeIx, usize> =
        reach.iter().filter(|&&n| !heap.node(n).flags().synthetic()).enumerate().map(|(i, &n)| (n, i)).collect();
    let ignored: HashSet<u64> = ignore.iter().map(|&a| a as u64).collect();
    let mut err = None;
    let found = bfs_to_goals(
        &heap,
        target,
        |n| index.get(&n).is_some_and(|&i| call_bool(predicate, &pinned[i], &mut err)),
        |n| index.contains_key(&n) && !ignored.contains(&heap.node(n).addr()),
        1,
        Some(max_depth),
    );
    if let Some(e) = err {
        return Err(e);
    }
    let chain: Vec<Bound<'py, PyAny>> = match found.into_iter().next() {
        // Goal first, `obj` last: objgraph lists `obj` first.
        Some(nodes) => nodes.iter().rev().filter_map(|n| index.get(n).map(|&i| pinned[i].clone())).collect(),
        None => vec![obj.clone()],
    };
    PyList::new(py, chain)
}

/// `(type name, count before, count now, [addresses of new objects])`.
pub(crate) type NewIdsRow = (String, u64, u64, Vec<u64>);

/// Rows of `get_new_ids` between two captures: `(type name, count before,
/// count now, [addresses of new objects])`, for every tracked type of
/// either; new objects are matched on (address, type).
pub(crate) fn new_ids_rows(older: &Heap, newer: &Heap) -> Vec<NewIdsRow> {
    let old = stats::typestats(older, By::Type, Scope::TRACKED);
    let now = stats::typestats(newer, By::Type, Scope::TRACKED);
    let mut rows: rustc_hash::FxHashMap<String, (u64, u64, Vec<u64>)> = Default::default();
    for g in old {
        rows.entry(g.key).or_default().0 = g.count;
    }
    for g in now {
        rows.entry(g.key).or_default().1 = g.count;
    }
    for ix in stats::new_objects(older, newer, Scope::TRACKED) {
        let n = newer.node(ix);
        rows.entry(n.type_name().to_string()).or_default().2.push(n.addr());
    }
    rows.into_iter().map(|(k, (a, b, c))| (k, a, b, c)).collect()
}
