//! The in-process capture, from Python. A capture makes no Python-level call
//! and imports nothing: what it needs from the interpreter it reads from its
//! state ([`crate::cpython::live`]: the collector's object lists, the signal
//! handler table, `sys.modules` through the C API), or took once when
//! refgraph was imported ([`at_import`]: the address of `sys.__dict__`, the
//! managed-dict probe, where the signal handler table is). Then it hands the
//! interpreter to the core's [`capture`](crate::capture::capture) as a
//! [`LiveHeap`](crate::cpython::live::LiveHeap).
//!
//! Why no collection can start while it runs: it holds the GIL throughout
//! (no other thread runs Python or allocates), and it allocates no Python
//! object and runs no Python code. Before 3.12 a collection starts only when
//! a GC object is allocated (`_PyObject_GC_Alloc`/`_PyObject_GC_Link`); from
//! 3.12 only at an eval-breaker check, i.e. while bytecode runs. On 3.10+
//! automatic collection is also switched off for the duration with
//! `PyGC_Disable()` (a C function that sets the flag `gc.disable()` sets); on
//! 3.9, which has no such C function, the reasoning above is what holds.
//!
//! A pending signal (Ctrl-C) stays pending: no Python code runs during the
//! capture to run its handler, so the handler runs, and its exception is
//! raised, in the caller right after the capture returns.

use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::capture::source::Facts;
use crate::capture::{self, Observers, Spawn};
use crate::cpython::check::ManagedProbe;
use crate::cpython::live::{self, KnownTypes, LiveHeap, Public};
use crate::cpython::signals;
use crate::graph::Heap;

use super::types::loaded;

/// Errors from a capture, as Python sees them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaptureError {
    #[error("capture failed: {0}")]
    Python(#[from] PyErr),
    #[error(transparent)]
    Core(#[from] capture::CaptureError),
}

/// What was read through Python-level APIs once, when refgraph was imported
/// (nothing imported, no user code called).
#[derive(Debug)]
struct AtImport {
    /// `id(sys.__dict__)`, which never changes.
    sysdict: Option<usize>,
    /// 3.11+: `sys.__spec__` and its `name`, to check the managed-dict layout on.
    managed_probe: Option<ManagedProbe>,
    /// The signal handler table and its length, or why it was not found.
    signal_table: Result<(usize, usize), String>,
}

static AT_IMPORT: OnceLock<AtImport> = OnceLock::new();

/// Reads, once, what a capture cannot read from interpreter state alone.
pub(crate) fn at_import(py: Python<'_>, types: &KnownTypes) {
    let sys = loaded(py, "sys");
    let sysdict = sys.as_ref().and_then(|s| s.getattr("__dict__").ok()).map(|d| d.as_ptr() as usize);
    let managed_probe = (types.version >= (3, 11)).then(|| managed_probe(sys.as_ref()?)).flatten();
    let signal_table = signal_table(py);
    let _ = AT_IMPORT.set(AtImport { sysdict, managed_probe, signal_table });
}

/// An attribute kept without a dict (`sys.__spec__.name`, an instance of a
/// plain class that every interpreter has).
fn managed_probe(sys: &Bound<'_, PyAny>) -> Option<ManagedProbe> {
    let spec = sys.getattr("__spec__").ok()?;
    let name = spec.getattr("name").ok()?;
    Some(ManagedProbe { obj: spec.as_ptr() as usize, name: "name", value: name.as_ptr() as usize })
}

/// Finds the signal handler table from what `_signal.getsignal(n)` (a C
/// function of a module the interpreter loaded at startup) returns for
/// every signal now.
fn signal_table(py: Python<'_>) -> Result<(usize, usize), String> {
    let m = loaded(py, "_signal").ok_or("the _signal module is not loaded")?;
    let nsig: usize = m.getattr("NSIG").and_then(|n| n.extract()).map_err(|e| e.to_string())?;
    let getsignal = m.getattr("getsignal").map_err(|e| e.to_string())?;
    let mut expected = vec![0usize; nsig];
    for (n, e) in expected.iter_mut().enumerate().skip(1) {
        let h = getsignal.call1((n,)).map_err(|e| e.to_string())?;
        *e = if h.is_none() { 0 } else { h.as_ptr() as usize };
    }
    let runtime = crate::cpython::find_runtime().ok_or("_PyRuntime is not exported")?;
    let ranges = signals::writable_ranges_of(runtime).map_err(|e| e.to_string())?;
    let table = signals::find_table(&ranges, &expected).map_err(|e| e.to_string())?;
    Ok((table, nsig))
}

/// Switches automatic collection off for the life of the guard (3.10+,
/// `PyGC_Disable`: C, no Python code; see the module doc for 3.9).
struct GcPause {
    #[cfg_attr(not(Py_3_10), allow(dead_code))]
    was_enabled: bool,
}

impl GcPause {
    fn new(_py: Python<'_>) -> GcPause {
        #[cfg(Py_3_10)]
        // SAFETY: the GIL is held; PyGC_Disable only sets the collector's flag.
        let was_enabled = unsafe { ffi::PyGC_Disable() } != 0;
        #[cfg(not(Py_3_10))]
        let was_enabled = false;
        GcPause { was_enabled }
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        #[cfg(Py_3_10)]
        if self.was_enabled {
            // SAFETY: dropped by `capture`, which holds the GIL.
            unsafe { ffi::PyGC_Enable() };
        }
    }
}

/// Whether automatic collection is on, where the C API can say (3.10+).
fn gc_enabled(_py: Python<'_>) -> Option<bool> {
    #[cfg(Py_3_10)]
    // SAFETY: the GIL is held; a read of the collector's flag.
    return Some(unsafe { ffi::PyGC_IsEnabled() } != 0);
    #[cfg(not(Py_3_10))]
    None
}

/// Captures the whole heap of this interpreter.
pub(crate) fn capture(py: Python<'_>, types: &KnownTypes, obs: &Observers) -> Result<Heap, CaptureError> {
    capture_with(py, types, |source| capture::capture(source, obs, Spawn::default()))
}

/// Captures the whole heap of this interpreter for writing it to a file
/// (no incoming index: see [`capture::capture_parts`]).
pub(crate) fn capture_parts(
    py: Python<'_>,
    types: &KnownTypes,
    obs: &Observers,
    folder: &std::path::Path,
) -> Result<capture::Streamed, CaptureError> {
    capture_with(py, types, |source| capture::capture_parts(source, obs, Spawn::default(), folder))
}

fn capture_with<T>(
    py: Python<'_>,
    types: &KnownTypes,
    run: impl FnOnce(&mut LiveHeap<'_>) -> Result<T, capture::CaptureError>,
) -> Result<T, CaptureError> {
    let mut public = Public { facts: facts(py, types), ..Public::default() };
    interp_values(py, &mut public);
    let pause = GcPause::new(py);
    // What the collector's flag must read now (0 once paused, on 3.10+).
    let enabled = gc_enabled(py);
    // SAFETY: the GIL is held and nothing below runs Python code or
    // allocates a Python object before the walk is over.
    let tracked = unsafe { live::tracked_objects(types, public.modules, enabled) };
    // Kept alive (and left out of the graph) until the capture ends.
    let mut list = None;
    match tracked {
        Ok(addrs) => public.tracked = Some(addrs),
        Err(why) if types.version >= (3, 12) => {
            public.notes.push(format!("{why}: objects listed by PyUnstable_GC_VisitObjects, which misses those gc.freeze() froze"));
        }
        Err(why) => {
            // The one fallback that runs Python-level machinery (audit hooks
            // see gc.get_objects); taken only where the layout is refused.
            public.notes.push(format!("{why}: objects listed by gc.get_objects(), which misses those gc.freeze() froze"));
            list = Some(py.import("gc")?.call_method0("get_objects")?);
        }
    }
    public.objects = list.as_ref().map(|l| l.as_ptr() as usize);
    // SAFETY: the GIL is held, automatic collection cannot start (module
    // doc), and no Python code runs until the capture returns: the core only
    // asks the source for structure.
    let mut source = unsafe { LiveHeap::new(types, public) };
    let heap = run(&mut source)?;
    drop(source);
    drop(list);
    drop(pause);
    Ok(heap)
}

fn facts(py: Python<'_>, types: &KnownTypes) -> Facts {
    Facts {
        collector: "native".into(),
        python_version: super::python_version(py),
        python: types.version,
        pid: std::process::id(),
        argv: super::argv(py),
    }
}

/// What the private layouts are checked against and what names holders:
/// `sys.modules` (from the C API), `sys.__dict__` and the managed-dict probe
/// (from import time), the thread's id, and the signal handlers, read from
/// the table found at import.
fn interp_values(_py: Python<'_>, public: &mut Public) {
    // SAFETY: the GIL is held: the registry of this interpreter, and this
    // thread's id, as `_thread.get_ident()` returns it.
    unsafe {
        public.modules = ffi::PyImport_GetModuleDict() as usize;
        public.thread_id = Some(ffi::PyThread_get_thread_ident() as u64);
    }
    let Some(at) = AT_IMPORT.get() else {
        public.notes.push("refgraph's import-time values are missing: signal handlers are not named".into());
        return;
    };
    public.sysdict = at.sysdict;
    public.managed_probe = at.managed_probe;
    match &at.signal_table {
        Ok((table, nsig)) => public.signal_table = Some((*table, *nsig)),
        Err(e) => public.notes.push(format!("signal handlers not named: the handler table was not found ({e})")),
    }
}
