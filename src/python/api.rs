//! The Python API: `Snapshot`, `Step`, and the objgraph-compatible functions.
//!
//! This layer converts and delegates. It decides which of the caller's
//! objects are observers (its frame, the arguments it passed, the `objs`
//! list), runs a capture, asks the core, and turns answers into Python
//! objects. Python callables the user passes (`filter`, `highlight`,
//! `predicate`, `extra_info`) run only after the capture is complete, on
//! objects pinned for the duration so that whatever they do cannot free an
//! object refgraph is about to hand them.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::filter::{Filter, Subject};
use crate::graph::{Heap, NodeIx};
use crate::paths::{self, Decision, Direction, Neighbourhood, PathOptions, RootPath};
use crate::render::{self, Engine};
use crate::report::{self, StepRecord, ViewOptions};

use super::capture::{capture, capture_parts, CaptureError};
use super::known_types;
use super::retained::retained_tree;
use crate::capture::Observers;

impl From<CaptureError> for PyErr {
    fn from(e: CaptureError) -> PyErr {
        match e {
            CaptureError::Python(e) => e,
            other => PyOSError::new_err(other.to_string()),
        }
    }
}

/// One step of a root path: the object, and the reference leading to it.
#[pyclass(module = "refgraph", frozen)]
#[derive(Clone)]
pub struct Step {
    /// The object's address (`id()`).
    #[pyo3(get)]
    address: u64,
    /// Its qualified type name.
    #[pyo3(get, name = "type")]
    type_name: String,
    /// Its short safe label (`len=3`, `logging namespace, 108 items`).
    #[pyo3(get)]
    label: String,
    /// The reference leading to it (`['key']`, `__dict__`), `None` on a root.
    #[pyo3(get)]
    edge: Option<String>,
    /// The root's name, on the first step of a path.
    #[pyo3(get)]
    root: Option<String>,
}

impl From<StepRecord> for Step {
    fn from(r: StepRecord) -> Step {
        Step { address: r.address, type_name: r.type_name, label: r.label, edge: r.edge, root: r.root }
    }
}

impl Step {
    /// The step as `why` prints it.
    fn line(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.root {
            s.push_str(&format!("{r}: "));
        }
        if let Some(e) = &self.edge {
            s.push_str(&format!("{e} -> "));
        }
        s.push_str(&format!("{} {:#x}", self.type_name, self.address));
        if !self.label.is_empty() {
            s.push_str(&format!(" {}", self.label));
        }
        s
    }
}

#[pymethods]
impl Step {
    /// The same keys as the JSON of `refgraph path`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("address", self.address)?;
        d.set_item("type", &self.type_name)?;
        d.set_item("label", &self.label)?;
        d.set_item("edge", &self.edge)?;
        d.set_item("root", &self.root)?;
        Ok(d)
    }

    /// One line for IPython: `['x'] -> list 0x7f... len=3`, or the root's name.
    fn _repr_pretty_(&self, p: &Bound<'_, PyAny>, _cycle: bool) -> PyResult<()> {
        p.call_method1("text", (self.line(),))?;
        Ok(())
    }

    /// HTML for notebooks: the step as `why` prints it.
    fn _repr_html_(&self) -> String {
        format!("<code>{}</code>", super::stats::escape(&self.line()))
    }

    /// The step as `why` prints it (used by the `Paths` display).
    fn _line(&self) -> String {
        self.line()
    }

    fn __repr__(&self) -> String {
        let mut s = format!("<Step {} {:#x}", self.type_name, self.address);
        if !self.label.is_empty() {
            s.push_str(&format!(" {:?}", self.label));
        }
        if let Some(e) = &self.edge {
            s.push_str(&format!(" via {e}"));
        }
        if let Some(r) = &self.root {
            s.push_str(&format!(" root={r:?}"));
        }
        s.push('>');
        s
    }
}

/// A filter from `.rgf` text or a file: decides what drawings and root-path
/// searches show, without running Python code.
#[pyclass(module = "refgraph", name = "Filter", frozen)]
pub struct PyFilter {
    inner: Filter,
}

#[pymethods]
impl PyFilter {
    /// Parses filter text (one directive per line, see filters/README.md).
    #[new]
    #[pyo3(signature = (text = ""))]
    fn new(text: &str) -> PyResult<PyFilter> {
        let inner = crate::filter::parse_str(text, "<string>").map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyFilter { inner })
    }

    /// Reads a filter file and the files it includes.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<PyFilter> {
        let inner = crate::filter::parse_file(&path).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyFilter { inner })
    }

    /// This filter's rules followed by `other`'s (later rules win).
    fn __add__(&self, other: &PyFilter) -> PyFilter {
        let mut inner = self.inner.clone();
        inner.extend(other.inner.clone());
        PyFilter { inner }
    }

    fn __len__(&self) -> usize {
        self.inner.rules.len()
    }

    fn __repr__(&self) -> String {
        format!("<refgraph.Filter {} rules>", self.inner.rules.len())
    }
}

/// A `filter=` argument: a `refgraph.Filter`, or a Python callable that gets
/// live objects (objgraph's way; only where the objects are live).
enum FilterArg<'a, 'py> {
    None,
    Rules(&'a Filter),
    Callable(&'a Bound<'py, PyAny>),
}

fn filter_arg<'a, 'py>(f: Option<&'a Bound<'py, PyAny>>, holder: &'a mut Option<PyRef<'py, PyFilter>>) -> FilterArg<'a, 'py> {
    match f {
        None => FilterArg::None,
        Some(f) if f.is_none() => FilterArg::None,
        Some(f) => match f.cast::<PyFilter>() {
            Ok(pf) => {
                *holder = Some(pf.borrow());
                match holder {
                    Some(h) => FilterArg::Rules(&h.inner),
                    None => FilterArg::None,
                }
            }
            Err(_) => FilterArg::Callable(f),
        },
    }
}

fn subject(heap: &Heap, node: NodeIx, edge: Option<crate::graph::EdgeLabel>, depth: u32) -> Subject<'_> {
    Subject { heap, node, edge, depth }
}

/// A captured heap. Queries on it never walk the live heap again.
#[pyclass(module = "refgraph", frozen)]
pub struct Snapshot {
    pub(super) heap: Arc<Heap>,
    /// The dominator tree, computed on first use (see `super::retained`).
    pub(super) dominators: std::sync::OnceLock<Arc<crate::dominators::Dominators>>,
}

impl Snapshot {
    pub(super) fn new(heap: Heap) -> Snapshot {
        Snapshot { heap: Arc::new(heap), dominators: std::sync::OnceLock::new() }
    }
}

/// An address: ints are addresses, anything else is the object itself.
pub(super) fn address_of(obj: &Bound<'_, PyAny>) -> u64 {
    if obj.is_exact_instance_of::<pyo3::types::PyInt>() {
        if let Ok(a) = obj.extract::<u64>() {
            return a;
        }
    }
    obj.as_ptr() as usize as u64
}

pub(super) fn find(heap: &Heap, addr: u64) -> PyResult<NodeIx> {
    heap.find_addr(addr).ok_or_else(|| PyValueError::new_err(format!("no object at {addr:#x} in this snapshot")))
}

pub(super) fn steps(heap: &Heap, paths: &[RootPath]) -> Vec<Vec<Step>> {
    paths.iter().map(|p| report::path_records(heap, p).into_iter().map(Step::from).collect()).collect()
}

#[pymethods]
impl Snapshot {
    /// The shortest chain from each distinct root that retains the object.
    /// `filter` is a `refgraph.Filter`: hidden objects are no way to a root.
    #[pyo3(signature = (obj, limit = 10, filter = None))]
    fn root_paths(&self, py: Python<'_>, obj: &Bound<'_, PyAny>, limit: usize, filter: Option<PyRef<'_, PyFilter>>) -> PyResult<Py<PyAny>> {
        let target = find(&self.heap, address_of(obj))?;
        paths_answer(py, &self.heap, target, limit, filter.as_ref().map(|f| &f.inner))
    }

    /// The root paths as text, one line per step.
    /// `retained=True` says what each object on the paths retains.
    #[pyo3(signature = (obj, limit = 10, filter = None, retained = false))]
    fn why(
        &self,
        py: Python<'_>,
        obj: &Bound<'_, PyAny>,
        limit: usize,
        filter: Option<PyRef<'_, PyFilter>>,
        retained: bool,
    ) -> PyResult<Py<PyAny>> {
        let target = find(&self.heap, address_of(obj))?;
        let dom = retained.then(|| self.dominator_tree(py));
        why_answer(py, &self.heap, target, limit, filter.as_ref().map(|f| &f.inner), dom.as_deref())
    }

    /// Writes the snapshot to a `.rgs` file.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let heap = Arc::clone(&self.heap);
        py.detach(move || crate::snapshot::write_snapshot(&heap, &path)).map_err(|e| PyOSError::new_err(e.to_string()))
    }

    /// Addresses of the objects a selector matches (`dict~^logging namespace`).
    fn select(&self, selector: &str) -> PyResult<Vec<u64>> {
        let sel = crate::select::Selector::parse(selector).map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(sel.select(&self.heap).into_iter().map(|ix| self.heap.node(ix).addr()).collect())
    }

    /// The record of one object.
    fn node(&self, obj: &Bound<'_, PyAny>) -> PyResult<Step> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(report::target_record(&self.heap, ix).into())
    }

    /// The reference count of an object with refgraph's own references
    /// subtracted (`None` for an immortal object).
    fn refcount(&self, obj: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let n = self.heap.node(find(&self.heap, address_of(obj))?);
        Ok((!n.flags().immortal()).then(|| n.refcount()))
    }

    /// The bytes the object takes itself, as `sys.getsizeof` reports them
    /// for built-in types, measured from its layout without calling
    /// `__sizeof__`.
    fn size(&self, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.heap.node(find(&self.heap, address_of(obj))?).size())
    }

    /// `(address, description)` of every root.
    fn roots(&self) -> Vec<(u64, String)> {
        self.heap.roots().iter().map(|r| (self.heap.node(r.node).addr(), self.heap.root_text(r))).collect()
    }

    /// The addresses of the objects that refer to the object.
    fn referrers(&self, obj: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, String)>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(self.heap.in_edges(ix).map(|e| (self.heap.node(e.from).addr(), self.heap.edge_label_text(e.label))).collect())
    }

    /// The addresses of the objects the object refers to.
    fn referents(&self, obj: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, String)>> {
        let ix = find(&self.heap, address_of(obj))?;
        Ok(self.heap.out_edges(ix).map(|e| (self.heap.node(e.to).addr(), self.heap.edge_label_text(e.label))).collect())
    }

    /// Capture facts as JSON text (collector, Python version, notes, ...).
    #[getter]
    fn meta(&self) -> String {
        serde_json::to_string(&self.heap.meta).unwrap_or_default()
    }

    /// How many references the snapshot holds.
    #[getter]
    fn edge_count(&self) -> usize {
        self.heap.edge_count()
    }

    fn __len__(&self) -> usize {
        self.heap.node_count()
    }

    fn __contains__(&self, obj: &Bound<'_, PyAny>) -> bool {
        self.heap.find_addr(address_of(obj)).is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "<refgraph.Snapshot {} objects, {} references, {} roots>",
            self.heap.node_count(),
            self.heap.edge_count(),
            self.heap.roots().len()
        )
    }

    /// Counts and total shallow sizes by `by`: `"type"`, `"module"` (the
    /// seed's `showMemoryByModule`: namespace dicts by their `__name__`,
    /// class dicts by their `__module__`),
    /// `"qualname"` (functions, methods, classes) or `"size"` (types, most
    /// bytes first). `[(key, count, bytes)]`, most common first.
    #[pyo3(signature = (by = "type", tracked_only = false))]
    fn typestats(&self, by: &str, tracked_only: bool) -> PyResult<Vec<(String, u64, u64)>> {
        super::stats::typestats(&self.heap, by, tracked_only)
    }

    /// What grew since `older` (a snapshot of the same process): types and
    /// modules whose counts or sizes grew, and the objects that are new.
    #[pyo3(signature = (older, tracked_only = false))]
    fn growth(&self, older: PyRef<'_, Snapshot>, tracked_only: bool) -> super::stats::Growth {
        super::stats::growth(&older.heap, &self.heap, tracked_only)
    }

    /// Addresses of the objects whose type `name` names (`Logger` or `logging.Logger`).
    #[pyo3(signature = (name, tracked_only = false))]
    fn by_type(&self, name: &str, tracked_only: bool) -> Vec<u64> {
        super::stats::by_type(&self.heap, name, tracked_only)
    }

    /// `get_new_ids` rows against an older snapshot: `(type, before, now, [new addresses])`.
    #[pyo3(signature = (older = None))]
    fn _new_ids(&self, older: Option<PyRef<'_, Snapshot>>) -> PyResult<Vec<super::objgraph::NewIdsRow>> {
        let empty;
        let older: &Heap = match &older {
            Some(o) => &o.heap,
            None => {
                empty = crate::graph::HeapBuilder::new().finish().map_err(|e| PyValueError::new_err(e.to_string()))?;
                &empty
            }
        };
        Ok(super::objgraph::new_ids_rows(older, &self.heap))
    }

    /// HTML for notebooks: the sizes and the most common types.
    fn _repr_html_(&self) -> String {
        super::stats::snapshot_html(&self.heap)
    }

    /// IPython's pretty form: the sizes and the most common types.
    fn _repr_pretty_(&self, p: &Bound<'_, PyAny>, _cycle: bool) -> PyResult<()> {
        p.call_method1("text", (super::stats::snapshot_text(&self.heap),))?;
        Ok(())
    }

    /// Draws the referrers of the objects (no Python callables: the objects
    /// of a snapshot may be gone). `retained=True` says under each box what
    /// the object retains.
    #[pyo3(signature = (objs, max_depth = None, too_many = None, filename = None, refcounts = false, shortnames = true, output = None, chains = false, filter = None, retained = false))]
    #[allow(clippy::too_many_arguments)]
    fn show_backrefs(
        &self,
        py: Python<'_>,
        objs: &Bound<'_, PyAny>,
        max_depth: Option<u32>,
        too_many: Option<usize>,
        filename: Option<PathBuf>,
        refcounts: bool,
        shortnames: bool,
        output: Option<&Bound<'_, PyAny>>,
        chains: bool,
        filter: Option<PyRef<'_, PyFilter>>,
        retained: bool,
    ) -> PyResult<Option<Py<PyAny>>> {
        let to = Target::new(py, filename, output)?;
        let targets = targets_in(&self.heap, objs)?;
        let f = filter.as_ref().map(|f| &f.inner);
        let opts = crate::filter::graph_options(Direction::Referrers, max_depth, too_many, f);
        let max_depth = opts.max_depth;
        let nb = if chains {
            let ps: Vec<RootPath> =
                targets.iter().flat_map(|&t| crate::filter::root_paths(&self.heap, t, PathOptions::default(), f).paths).collect();
            paths::chains_neighbourhood(&ps)
        } else {
            paths::neighbourhood(&self.heap, &targets, opts, |n, e, d| {
                f.map_or(Decision::Keep, |f| f.decide(&subject(&self.heap, n, Some(e), d)))
            })
        };
        let dom = retained.then(|| self.dominator_tree(py));
        let vo = ViewOptions { refcounts, shortnames, max_depth, retained: dom.as_deref(), ..Default::default() };
        draw(py, &self.heap, &nb, &targets, vo, to, Vec::new())
    }
}

/// Targets given as one object, or a list/tuple of objects or addresses.
fn targets_in(heap: &Heap, objs: &Bound<'_, PyAny>) -> PyResult<Vec<NodeIx>> {
    sequence_items(objs).iter().map(|o| find(heap, address_of(o))).collect()
}

/// The items of a list or tuple, or the object itself.
fn sequence_items<'py>(objs: &Bound<'py, PyAny>) -> Vec<Bound<'py, PyAny>> {
    if let Ok(l) = objs.cast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = objs.cast::<PyTuple>() {
        t.iter().collect()
    } else {
        vec![objs.clone()]
    }
}

fn is_sequence(objs: &Bound<'_, PyAny>) -> bool {
    objs.cast::<PyList>().is_ok() || objs.cast::<PyTuple>().is_ok()
}

/// Strong references to snapshot objects while Python callables run.
struct Pinned {
    objs: Vec<*mut ffi::PyObject>,
}

impl Pinned {
    /// Pins the nodes that are Python objects.
    ///
    /// # Safety
    /// Only right after a capture of `heap` in the same call, with the GIL
    /// held since, before any Python code has run: every captured object is
    /// still alive then.
    unsafe fn new(heap: &Heap, nodes: impl Iterator<Item = NodeIx>) -> Pinned {
        let objs: Vec<*mut ffi::PyObject> =
            nodes.filter(|&n| !heap.node(n).flags().synthetic()).map(|n| heap.node(n).addr() as usize as *mut ffi::PyObject).collect();
        for &o in &objs {
            // SAFETY: the caller's contract: `o` is a live object, and the GIL is held.
            unsafe { ffi::Py_INCREF(o) };
        }
        Pinned { objs }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        for &o in &self.objs {
            // SAFETY: dropped under the GIL (every user of Pinned holds
            // `Python<'_>`), releasing the reference `new` took.
            unsafe { ffi::Py_DECREF(o) };
        }
    }
}

/// The live object of a pinned node, or `None` for a frame record.
pub(super) fn live<'py>(py: Python<'py>, heap: &Heap, ix: NodeIx) -> Option<Bound<'py, PyAny>> {
    let n = heap.node(ix);
    if n.flags().synthetic() {
        return None;
    }
    // SAFETY: pinned by the caller, so the pointer is a live object.
    Some(unsafe { Bound::from_borrowed_ptr(py, n.addr() as usize as *mut ffi::PyObject) })
}

/// Calls a user predicate, remembering the first exception it raises.
pub(super) fn call_bool(f: &Bound<'_, PyAny>, obj: &Bound<'_, PyAny>, err: &mut Option<PyErr>) -> bool {
    if err.is_some() {
        return false;
    }
    match f.call1((obj,)).and_then(|r| r.is_truthy()) {
        Ok(b) => b,
        Err(e) => {
            *err = Some(e);
            false
        }
    }
}

pub(super) fn observers_for(args: &[Option<&Bound<'_, PyAny>>], container: Option<&Bound<'_, PyAny>>, ignore: Vec<usize>) -> Observers {
    let mut obs = Observers { frames: 1, ignore, ..Default::default() };
    for a in args.iter().flatten() {
        if !a.is_none() {
            obs.args.push(a.as_ptr() as usize);
        }
    }
    if let Some(c) = container.filter(|c| is_sequence(c)) {
        obs.containers.push(c.as_ptr() as usize);
    }
    obs
}

pub(super) fn ignore_list(extra_ignore: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<usize>> {
    match extra_ignore {
        None => Ok(Vec::new()),
        Some(x) => x.try_iter()?.map(|i| i?.extract::<usize>()).collect(),
    }
}

pub(super) fn fresh(py: Python<'_>, obs: &Observers) -> PyResult<Heap> {
    Ok(capture(py, known_types(py)?, obs)?)
}

/// Captures the heap of this interpreter now. With `path`, writes it to
/// that file instead (atomically) and returns None: the capture is then
/// written as it is built, without the indexes a query needs, for a much
/// smaller peak of memory (see the README's "Memory"). With `strings=False`
/// a str's label is its length, not its text (dict keys and attribute names
/// are kept).
#[pyfunction]
#[pyo3(signature = (path = None, strings = true))]
pub fn snapshot(py: Python<'_>, path: Option<&Bound<'_, PyAny>>, strings: bool) -> PyResult<Option<Snapshot>> {
    let mut obs = Observers { frames: 1, redact_strings: !strings, ..Default::default() };
    match path {
        None => Ok(Some(Snapshot::new(fresh(py, &obs)?))),
        Some(arg) => {
            let path: PathBuf = arg.extract()?;
            // The caller's stack holds the path: one reference the heap does not.
            obs.args.push(address_of(arg) as usize);
            stream_to(py, &obs, path)?;
            Ok(None)
        }
    }
}

/// Captures and writes to `path` without keeping the heap; returns the
/// node count, edge count and capture time.
fn stream_to(py: Python<'_>, obs: &Observers, path: PathBuf) -> PyResult<(usize, usize, f64)> {
    // The spill file goes beside the snapshot: the same disk.
    let folder = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let streamed = capture_parts(py, known_types(py)?, obs, &folder)?;
    let counts = (streamed.node_count(), streamed.edge_count(), streamed.parts.meta.capture_seconds);
    py.detach(move || streamed.write(&path)).map_err(|e| PyOSError::new_err(e.to_string()))?;
    Ok(counts)
}

/// Captures the heap, leaving out the newest `frames` frames (refgraph's
/// own Python wrappers) and the objects of `own` (their state).
#[pyfunction]
#[pyo3(signature = (frames = 1, own = None))]
pub fn _snapshot(py: Python<'_>, frames: usize, own: Option<&Bound<'_, PyAny>>) -> PyResult<Snapshot> {
    let mut obs = Observers { frames, ..Default::default() };
    if let Some(own) = own {
        obs.containers.push(own.as_ptr() as usize);
        for o in own.try_iter()? {
            obs.containers.push(o?.as_ptr() as usize);
        }
    }
    Ok(Snapshot::new(fresh(py, &obs)?))
}

/// Reads a snapshot file written by `Snapshot.save` or `refgraph run`.
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Snapshot> {
    let heap = py.detach(|| crate::snapshot::read_snapshot(&path)).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(Snapshot::new(heap))
}

/// The shortest chain from each distinct root that keeps `obj` alive.
#[pyfunction]
#[pyo3(signature = (obj, limit = 10, filter = None))]
pub fn root_paths(py: Python<'_>, obj: &Bound<'_, PyAny>, limit: usize, filter: Option<PyRef<'_, PyFilter>>) -> PyResult<Py<PyAny>> {
    let heap = fresh(py, &observers_for(&[Some(obj)], None, Vec::new()))?;
    let target = find(&heap, obj.as_ptr() as usize as u64)?;
    paths_answer(py, &heap, target, limit, filter.as_ref().map(|f| &f.inner))
}

/// `root_paths`' answer: the shortest chain from each distinct root to
/// `target`, as a `Paths` list of `Step` lists.
fn paths_answer(py: Python<'_>, heap: &Heap, target: NodeIx, limit: usize, filter: Option<&Filter>) -> PyResult<Py<PyAny>> {
    let found = crate::filter::root_paths(heap, target, PathOptions { limit, max_depth: None }, filter);
    displayed(py, "Paths", steps(heap, &found.paths))
}

/// `why`'s answer: the root paths of `target` as text, saying what each
/// object on them retains when `dom` is given.
fn why_answer(
    py: Python<'_>,
    heap: &Heap,
    target: NodeIx,
    limit: usize,
    filter: Option<&Filter>,
    dom: Option<&crate::dominators::Dominators>,
) -> PyResult<Py<PyAny>> {
    let found = crate::filter::root_paths(heap, target, PathOptions { limit, max_depth: None }, filter);
    let note = |ix| dom.and_then(|d| crate::retained::retained_note(d, ix));
    displayed(py, "Why", report::why_text_with(heap, target, &found.paths, found.all_hidden, &note))
}

/// `refgraph._display`, handed over when the package is imported, so that
/// answering imports nothing (an import calls the user's `__import__` hook).
static DISPLAY: pyo3::sync::PyOnceLock<Py<PyModule>> = pyo3::sync::PyOnceLock::new();

/// Called once by `refgraph/__init__.py` with its `_display` module.
#[pyfunction]
pub fn _register_display(py: Python<'_>, module: Bound<'_, PyModule>) {
    let _ = DISPLAY.set(py, module.unbind());
}

/// The display module: the one registered, or imported where the extension
/// is used without its package.
pub(super) fn display_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    match DISPLAY.get(py) {
        Some(m) => Ok(m.bind(py).clone()),
        None => py.import("refgraph._display"),
    }
}

/// `refgraph._display.<class>(value)`: the answer with its notebook display
/// (classes with no Python `__init__`: making one runs no Python code).
fn displayed<'py>(py: Python<'py>, class: &str, value: impl IntoPyObject<'py>) -> PyResult<Py<PyAny>> {
    Ok(display_module(py)?.getattr(class)?.call1((value,))?.unbind())
}

/// Why `obj` is alive, as text: one block per root, one line per step.
#[pyfunction]
/// `retained=True` says what each object on the paths retains.
#[pyo3(signature = (obj, limit = 10, filter = None, retained = false))]
pub fn why(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    limit: usize,
    filter: Option<PyRef<'_, PyFilter>>,
    retained: bool,
) -> PyResult<Py<PyAny>> {
    let heap = fresh(py, &observers_for(&[Some(obj)], None, Vec::new()))?;
    let target = find(&heap, obj.as_ptr() as usize as u64)?;
    let dom = retained.then(|| retained_tree(py, &heap));
    why_answer(py, &heap, target, limit, filter.as_ref().map(|f| &f.inner), dom.as_ref())
}

/// objgraph's `find_backref_chain`: a list of objects from a root (or an
/// object `predicate` accepts) to `obj`; `[obj]` if none within `max_depth`.
/// A running function's interpreter frame (3.11+) is no Python object and is
/// left out of the list.
#[pyfunction]
#[pyo3(signature = (obj, predicate = None, max_depth = 20, extra_ignore = None))]
pub fn find_backref_chain<'py>(
    py: Python<'py>,
    obj: &Bound<'py, PyAny>,
    predicate: Option<&Bound<'py, PyAny>>,
    max_depth: u32,
    extra_ignore: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let ignore = ignore_list(extra_ignore)?;
    let obs = observers_for(&[Some(obj), predicate, extra_ignore], None, ignore);
    let heap = fresh(py, &obs)?;
    let target = find(&heap, obj.as_ptr() as usize as u64)?;
    let reach = paths::within(&heap, &[target], Direction::Referrers, max_depth);
    // SAFETY: `heap` was captured in this call and no Python code has run since.
    let _pins = unsafe { Pinned::new(&heap, reach.iter().copied()) };
    let mut err = None;
    let path = match predicate {
        None => {
            // The nearest root that is an object: a thread's frame record
            // (3.11+) is no object a list can hold.
            let opts = paths::PathOptions { limit: 16, max_depth: Some(max_depth) };
            let found = paths::root_paths(&heap, target, opts, |_| true);
            let nearest = found.iter().position(|p| live(py, &heap, p.root()).is_some()).or((!found.is_empty()).then_some(0));
            match nearest {
                Some(i) => found.into_iter().nth(i).expect("a found path"),
                None => paths::RootPath { steps: vec![paths::Step { node: target, edge: None }] },
            }
        }
        Some(p) => {
            paths::backref_chain(&heap, target, |n| live(py, &heap, n).is_some_and(|o| call_bool(p, &o, &mut err)), |_| true, max_depth)
        }
    };
    if let Some(e) = err {
        return Err(e);
    }
    let objs: Vec<Bound<'py, PyAny>> = path.steps.iter().filter_map(|s| live(py, &heap, s.node)).collect();
    PyList::new(py, objs)
}

/// The options objgraph's `show_backrefs` and `show_refs` share.
struct ShowArgs<'a, 'py> {
    objs: &'a Bound<'py, PyAny>,
    /// `None`: the Filter's max-depth, else objgraph's default 3.
    max_depth: Option<u32>,
    extra_ignore: Option<&'a Bound<'py, PyAny>>,
    filter: Option<&'a Bound<'py, PyAny>>,
    too_many: Option<usize>,
    highlight: Option<&'a Bound<'py, PyAny>>,
    filename: Option<PathBuf>,
    extra_info: Option<&'a Bound<'py, PyAny>>,
    refcounts: bool,
    shortnames: bool,
    output: Option<&'a Bound<'py, PyAny>>,
    extra_node_attrs: Option<&'a Bound<'py, PyAny>>,
    /// Say under each box what the object retains (refgraph's own).
    retained: bool,
}

fn show_graph(py: Python<'_>, a: ShowArgs<'_, '_>, direction: Direction) -> PyResult<Option<Py<PyAny>>> {
    let to = Target::new(py, a.filename.clone(), a.output)?;
    let ignore = ignore_list(a.extra_ignore)?;
    let obs = observers_for(
        &[Some(a.objs), a.extra_ignore, a.filter, a.highlight, a.extra_info, a.output, a.extra_node_attrs],
        Some(a.objs),
        ignore,
    );
    let heap = fresh(py, &obs)?;
    let targets: Vec<NodeIx> = sequence_items(a.objs).iter().map(|o| find(&heap, o.as_ptr() as usize as u64)).collect::<PyResult<_>>()?;
    let mut holder = None;
    let filter = filter_arg(a.filter, &mut holder);
    let rules = match &filter {
        FilterArg::Rules(f) => Some(*f),
        _ => None,
    };
    let callable = match &filter {
        FilterArg::Callable(c) => Some(*c),
        _ => None,
    };
    let opts = crate::filter::graph_options(direction, a.max_depth, a.too_many, rules);
    let max_depth = opts.max_depth;
    let needs_objects = callable.is_some() || a.highlight.is_some() || a.extra_info.is_some() || a.extra_node_attrs.is_some();
    let _pins = needs_objects.then(|| {
        let reach = paths::within(&heap, &targets, direction, max_depth);
        // SAFETY: `heap` was captured in this call and no Python code has run since.
        unsafe { Pinned::new(&heap, reach.into_iter()) }
    });
    // Computed with the objects the callables see pinned: other threads may run meanwhile.
    let dom = a.retained.then(|| retained_tree(py, &heap));
    let mut err: Option<PyErr> = None;
    let nb = paths::neighbourhood(&heap, &targets, opts, |n, e, d| {
        if let Some(f) = rules {
            return f.decide(&subject(&heap, n, Some(e), d));
        }
        match (callable, live(py, &heap, n)) {
            (Some(f), Some(o)) if !call_bool(f, &o, &mut err) => Decision::Hide,
            _ => Decision::Keep,
        }
    });
    if let Some(e) = err.take() {
        return Err(e);
    }
    let mut extra = |n: NodeIx| -> Option<String> {
        let f = a.extra_info?;
        let o = live(py, &heap, n)?;
        f.call1((o,)).ok().and_then(|r| r.str().ok()).map(|s| s.to_string()).filter(|s| !s.is_empty())
    };
    let mut highlight = |n: NodeIx| -> bool {
        match (a.highlight, live(py, &heap, n)) {
            (Some(h), Some(o)) => h.call1((o,)).and_then(|r| r.is_truthy()).unwrap_or(false),
            _ => false,
        }
    };
    let vo = ViewOptions {
        refcounts: a.refcounts,
        shortnames: a.shortnames,
        max_depth,
        extra_info: a.extra_info.is_some().then_some(&mut extra as &mut dyn FnMut(NodeIx) -> Option<String>),
        retained: dom.as_ref(),
        highlight: a.highlight.is_some().then_some(&mut highlight as &mut dyn FnMut(NodeIx) -> bool),
        caption: None,
    };
    let nodes: Vec<NodeIx> = nb.nodes.iter().map(|&(n, _)| n).collect();
    let attrs = node_attrs(py, &heap, &nodes, a.extra_node_attrs)?;
    draw(py, &heap, &nb, &targets, vo, to, attrs)
}

/// Extra DOT attributes per drawn node, from objgraph's `extra_node_attrs`
/// callable (called after the capture, on pinned objects).
type NodeAttrs = Vec<(NodeIx, Vec<(String, String)>)>;

/// Calls `extra_node_attrs(obj)` for each drawn object; `None` values are
/// left out, as objgraph does.
fn node_attrs(py: Python<'_>, heap: &Heap, nodes: &[NodeIx], f: Option<&Bound<'_, PyAny>>) -> PyResult<NodeAttrs> {
    let Some(f) = f.filter(|f| !f.is_none()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for &n in nodes {
        let Some(o) = live(py, heap, n) else { continue };
        let d = f.call1((o,))?;
        let d = d.cast::<PyDict>().map_err(|_| PyTypeError::new_err("extra_node_attrs must return a dict"))?;
        let mut attrs = Vec::new();
        for (k, v) in d.iter() {
            if !v.is_none() {
                attrs.push((k.str()?.to_string(), v.str()?.to_string()));
            }
        }
        attrs.sort();
        out.push((n, attrs));
    }
    Ok(out)
}

/// Where a drawing goes, decided before the capture (deciding runs Python code).
pub(super) struct Target {
    filename: Option<PathBuf>,
    output: Option<Py<PyAny>>,
    /// In IPython or Jupyter with neither: return an object that displays inline.
    inline: bool,
}

impl Target {
    pub(super) fn new(py: Python<'_>, filename: Option<PathBuf>, output: Option<&Bound<'_, PyAny>>) -> PyResult<Target> {
        let output = output.filter(|o| !o.is_none());
        if filename.is_some() && output.is_some() {
            return Err(PyValueError::new_err("Cannot specify both output and filename."));
        }
        let inline = filename.is_none() && output.is_none() && display_module(py)?.call_method0("inline_wanted")?.is_truthy()?;
        Ok(Target { filename, output: output.map(|o| o.clone().unbind()), inline })
    }
}

/// Writes a view as objgraph does: DOT to `output`; else the DOT text to a
/// `.dot` file ("Graph written to X.dot (N nodes)"), then the image the
/// file name asks for ("Image generated as F"), or an SVG in the temporary
/// directory when no name is given. In IPython/Jupyter with no file name,
/// returns a `refgraph.Graph` that displays inline, drawn by the built-in
/// layout. N counts objects, as objgraph does ("N more" boxes are not).
#[allow(clippy::too_many_arguments)]
fn draw(
    py: Python<'_>,
    heap: &Heap,
    nb: &Neighbourhood,
    targets: &[NodeIx],
    vo: ViewOptions<'_>,
    to: Target,
    attrs: NodeAttrs,
) -> PyResult<Option<Py<PyAny>>> {
    let view = report::view(heap, nb, targets, vo);
    let objects = view.nodes.iter().filter(|n| !matches!(n.role, render::Role::TooMany(_))).count();
    let extra = extra_by_index(heap, &view, attrs);
    let is_dot = to.filename.as_ref().is_some_and(|f| matches!(render::Format::from_path(f), Ok(render::Format::Dot)));
    if to.output.is_none() && !is_dot {
        // Refused before any file exists, so none is left behind, and
        // before the DOT text, which a refused picture does not need.
        render::check_size(&view).map_err(render_error)?;
    }
    let dot = render::to_dot_with_attrs(&view, &extra);
    if let Some(out) = &to.output {
        out.bind(py).call_method1("write", (dot,))?;
        return Ok(None);
    }
    if to.inline {
        let (svg, _) = render::render_with_attrs(&view, render::Format::Svg, Engine::BuiltIn, &extra).map_err(render_error)?;
        let svg = String::from_utf8_lossy(&svg).into_owned();
        let graph = display_module(py)?.getattr("Graph")?.call1((svg, dot, objects))?;
        return Ok(Some(graph.unbind()));
    }
    let say = |msg: String| -> PyResult<()> {
        py.import("sys")?.getattr("stdout")?.call_method1("write", (msg + "\n",))?;
        Ok(())
    };
    let dot_path = match (&to.filename, is_dot) {
        (Some(f), true) => f.clone(),
        _ => temp_path(py, ".dot")?,
    };
    crate::atomic::write_drawing(&dot_path, |w| std::io::Write::write_all(w, dot.as_bytes()))
        .map_err(|e| PyOSError::new_err(format!("cannot write {}: {e}", dot_path.display())))?;
    say(format!("Graph written to {} ({objects} nodes)", dot_path.display()))?;
    if is_dot {
        return Ok(None);
    }
    let image = match to.filename {
        Some(f) => f,
        None => dot_path.with_extension("svg"),
    };
    render::render_to_file_with_attrs(&view, &image, Engine::Auto, &extra).map_err(render_error)?;
    say(format!("Image generated as {}", image.display()))?;
    Ok(None)
}

/// `extra_node_attrs` by view index; the id map is only made when there are any.
fn extra_by_index(heap: &Heap, view: &render::View, attrs: NodeAttrs) -> Vec<(usize, Vec<(String, String)>)> {
    if attrs.is_empty() {
        return Vec::new();
    }
    let by_id: rustc_hash::FxHashMap<&str, usize> = view.nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    attrs.into_iter().filter_map(|(n, a)| by_id.get(format!("o{:x}", heap.node(n).addr()).as_str()).map(|&i| (i, a))).collect()
}

/// A new empty file in the temporary directory, kept (its name is printed).
fn temp_path(py: Python<'_>, suffix: &str) -> PyResult<PathBuf> {
    // Python's idea of the temporary directory: objgraph's doctests set tempfile.tempdir.
    let dir: PathBuf = py.import("tempfile")?.call_method0("gettempdir")?.extract()?;
    tempfile::Builder::new()
        .prefix("refgraph-")
        .suffix(suffix)
        .tempfile_in(dir)
        .and_then(|f| f.keep().map_err(|e| e.error))
        .map(|(_, p)| p)
        .map_err(|e| PyOSError::new_err(format!("cannot create a temporary file: {e}")))
}

/// A drawing too big to read is the caller's request, not the file system's fault.
fn render_error(e: render::RenderError) -> PyErr {
    match e {
        render::RenderError::TooBig { .. } => PyValueError::new_err(e.to_string()),
        e => PyOSError::new_err(e.to_string()),
    }
}

/// `show_backrefs` and `show_refs` have objgraph's signature (and refgraph's
/// `retained=True`: what each object retains, under its box) and differ only
/// in the direction they grow.
macro_rules! objgraph_show {
    ($(#[$doc:meta])* $name:ident, $direction:expr) => {
        $(#[$doc])*
        #[pyfunction]
        #[pyo3(signature = (objs, max_depth = None, extra_ignore = None, filter = None, too_many = None, highlight = None, filename = None, extra_info = None, refcounts = false, shortnames = true, output = None, extra_node_attrs = None, retained = false))]
        #[allow(clippy::too_many_arguments)]
        pub fn $name(
            py: Python<'_>,
            objs: &Bound<'_, PyAny>,
            max_depth: Option<u32>,
            extra_ignore: Option<&Bound<'_, PyAny>>,
            filter: Option<&Bound<'_, PyAny>>,
            too_many: Option<usize>,
            highlight: Option<&Bound<'_, PyAny>>,
            filename: Option<PathBuf>,
            extra_info: Option<&Bound<'_, PyAny>>,
            refcounts: bool,
            shortnames: bool,
            output: Option<&Bound<'_, PyAny>>,
            extra_node_attrs: Option<&Bound<'_, PyAny>>,
            retained: bool,
        ) -> PyResult<Option<Py<PyAny>>> {
            let extra_node_attrs = extra_node_attrs.filter(|x| !x.is_none());
            let a = ShowArgs { objs, max_depth, extra_ignore, filter, too_many, highlight, filename, extra_info, refcounts, shortnames, output, extra_node_attrs, retained };
            show_graph(py, a, $direction)
        }
    };
}

objgraph_show!(
    /// objgraph's `show_backrefs`: draws what refers to `objs`, up to `max_depth`.
    show_backrefs,
    Direction::Referrers
);
objgraph_show!(
    /// objgraph's `show_refs`: draws what `objs` refer to, up to `max_depth`.
    show_refs,
    Direction::Referents
);

/// objgraph's `show_chain`: draws chains as returned by `find_backref_chain`
/// (`backrefs=True`: the last object of each chain is the target) or
/// `find_ref_chain` (`backrefs=False`: the first is).
#[pyfunction]
#[pyo3(signature = (*chains, filename = None, refcounts = false, shortnames = true, output = None, highlight = None, extra_info = None, backrefs = true, extra_node_attrs = None, retained = false))]
#[allow(clippy::too_many_arguments)]
pub fn show_chain(
    py: Python<'_>,
    chains: &Bound<'_, PyTuple>,
    filename: Option<PathBuf>,
    refcounts: bool,
    shortnames: bool,
    output: Option<&Bound<'_, PyAny>>,
    highlight: Option<&Bound<'_, PyAny>>,
    extra_info: Option<&Bound<'_, PyAny>>,
    backrefs: bool,
    extra_node_attrs: Option<&Bound<'_, PyAny>>,
    retained: bool,
) -> PyResult<Option<Py<PyAny>>> {
    let to = Target::new(py, filename, output)?;
    let extra_node_attrs = extra_node_attrs.filter(|x| !x.is_none());
    let mut obs = observers_for(&[output, highlight, extra_info, extra_node_attrs], None, Vec::new());
    // Each chain list is the caller's; the objects in it are not.
    obs.containers.push(chains.as_ptr() as usize);
    for c in chains.iter() {
        if is_sequence(&c) {
            obs.containers.push(c.as_ptr() as usize);
        }
    }
    let heap = fresh(py, &obs)?;
    let mut ps = Vec::new();
    let mut targets = Vec::new();
    for c in chains.iter() {
        let nodes: Vec<NodeIx> = sequence_items(&c).iter().map(|o| find(&heap, o.as_ptr() as usize as u64)).collect::<PyResult<_>>()?;
        let (Some(&first), Some(&last)) = (nodes.first(), nodes.last()) else { continue };
        targets.push(if backrefs { last } else { first });
        let steps = nodes
            .iter()
            .enumerate()
            .map(|(i, &n)| paths::Step { node: n, edge: (i > 0).then(|| heap.edge_between(nodes[i - 1], n).map(|e| e.label)).flatten() })
            .collect();
        ps.push(RootPath { steps });
    }
    let nb = paths::chains_neighbourhood(&ps);
    let wants_objects = highlight.is_some() || extra_info.is_some() || extra_node_attrs.is_some();
    // SAFETY: `heap` was captured in this call and no Python code has run since.
    let _pins = wants_objects.then(|| unsafe { Pinned::new(&heap, nb.nodes.iter().map(|&(n, _)| n)) });
    let dom = retained.then(|| retained_tree(py, &heap));
    let mut extra = |n: NodeIx| -> Option<String> {
        let o = live(py, &heap, n)?;
        extra_info?.call1((o,)).ok().and_then(|r| r.str().ok()).map(|s| s.to_string())
    };
    let mut hl = |n: NodeIx| -> bool {
        match (highlight, live(py, &heap, n)) {
            (Some(h), Some(o)) => h.call1((o,)).and_then(|r| r.is_truthy()).unwrap_or(false),
            _ => false,
        }
    };
    let vo = ViewOptions {
        refcounts,
        shortnames,
        max_depth: nb.nodes.iter().map(|&(_, d)| d).max().unwrap_or(0),
        extra_info: extra_info.is_some().then_some(&mut extra as &mut dyn FnMut(NodeIx) -> Option<String>),
        retained: dom.as_ref(),
        highlight: highlight.is_some().then_some(&mut hl as &mut dyn FnMut(NodeIx) -> bool),
        caption: None,
    };
    let nodes: Vec<NodeIx> = nb.nodes.iter().map(|&(n, _)| n).collect();
    let attrs = node_attrs(py, &heap, &nodes, extra_node_attrs)?;
    draw(py, &heap, &nb, &targets, vo, to, attrs)
}

/// Captures the heap and writes it to `path` (used by `refgraph run`).
#[pyfunction]
#[pyo3(signature = (path, observer_frames = 1, strings = true))]
pub fn dump(py: Python<'_>, path: PathBuf, observer_frames: usize, strings: bool) -> PyResult<(usize, usize, f64)> {
    let obs = Observers { frames: observer_frames, redact_strings: !strings, ..Default::default() };
    stream_to(py, &obs, path)
}

/// Test hook: replaces an interpreter-state offset (`None` restores them all),
/// so tests can watch the layout checks fail and the labels fall back.
#[pyfunction]
#[pyo3(signature = (field = None, offset = 0))]
pub fn _override_layout(field: Option<&str>, offset: usize) -> PyResult<()> {
    crate::cpython::override_offset(field.map(|f| (f, offset))).map_err(PyValueError::new_err)
}
