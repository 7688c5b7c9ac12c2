//! The in-process capture, from Python: reads what public APIs give (the
//! signal handlers, `sys.modules`, the atexit count, before 3.12 the object
//! list), pauses automatic collection (a collection during a capture would
//! run `__del__` methods and gc callbacks), and hands the interpreter to the
//! core's [`capture`](crate::capture::capture) as a
//! [`LiveHeap`](crate::cpython::live::LiveHeap).

use pyo3::prelude::*;

use crate::capture::source::Facts;
use crate::capture::{self, Observers, Spawn};
use crate::cpython::check::ManagedProbe;
use crate::cpython::live::{KnownTypes, LiveHeap, Public};
use crate::graph::Heap;

/// Errors from a capture, as Python sees them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaptureError {
    #[error("capture failed: {0}")]
    Python(#[from] PyErr),
    #[error(transparent)]
    Core(#[from] capture::CaptureError),
}

/// Switches automatic collection off for the life of the guard.
struct GcPause<'py> {
    gc: Bound<'py, PyModule>,
    was_enabled: bool,
}

impl<'py> GcPause<'py> {
    fn new(py: Python<'py>) -> PyResult<GcPause<'py>> {
        let gc = py.import("gc")?;
        let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
        gc.call_method0("disable")?;
        Ok(GcPause { gc, was_enabled })
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if self.was_enabled {
            let _ = self.gc.call_method0("enable");
        }
    }
}

/// Captures the whole heap of this interpreter.
pub(crate) fn capture(py: Python<'_>, types: &KnownTypes, obs: &Observers) -> Result<Heap, CaptureError> {
    capture_with(py, types, |source| capture::capture(source, obs, Spawn::default()))
}

/// Captures the whole heap of this interpreter for writing it to a file
/// (no incoming index: see [`capture::capture_parts`]).
pub(crate) fn capture_parts(py: Python<'_>, types: &KnownTypes, obs: &Observers) -> Result<capture::Streamed, CaptureError> {
    capture_with(py, types, |source| capture::capture_parts(source, obs, Spawn::default()))
}

fn capture_with<T>(
    py: Python<'_>,
    types: &KnownTypes,
    run: impl FnOnce(&mut LiveHeap<'_>) -> Result<T, capture::CaptureError>,
) -> Result<T, CaptureError> {
    let mut public = Public { facts: facts(py, types), ..Public::default() };
    if let Err(e) = signal_handlers(py, &mut public.signal_handlers) {
        public.notes.push(format!("signal handlers not named: {e}"));
    }
    // Named holders: the signal handlers' list takes IPython's namespace too.
    if let Err(e) = super::ipython::user_namespaces(py, &mut public.signal_handlers) {
        public.notes.push(format!("IPython's user namespace not named: {e}"));
    }
    if let Err(e) = interp_values(py, types, &mut public) {
        public.notes.push(format!("interpreter holders not named: {e}"));
    }
    let pause = GcPause::new(py)?;
    // Listed last, so that nothing allocated above is in it; kept alive
    // (and left out of the graph) until the capture ends.
    let list = match types.version >= (3, 12) {
        true => None,
        false => Some(pause.gc.call_method0("get_objects")?),
    };
    public.objects = list.as_ref().map(|l| l.as_ptr() as usize);
    // SAFETY: the GIL is held (`py`), automatic collection is paused, and
    // no Python code runs until the capture returns: the core only asks the
    // source for structure.
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

fn signal_handlers(py: Python<'_>, out: &mut Vec<(usize, String)>) -> PyResult<()> {
    let signal = py.import("signal")?;
    for sig in signal.getattr("Signals")?.try_iter()? {
        let sig = sig?;
        let name: String = sig.getattr("name")?.extract()?;
        let handler = signal.call_method1("getsignal", (sig,))?;
        // SIG_DFL and SIG_IGN are ints, an unknown C handler is None.
        if handler.is_none() || handler.is_instance_of::<pyo3::types::PyInt>() {
            continue;
        }
        out.push((handler.as_ptr() as usize, format!("signal handler {name}")));
    }
    Ok(())
}

/// What the private layouts are checked against: `id(sys.modules)`,
/// `id(sys.__dict__)`, the thread's id, on 3.10+ `atexit._ncallbacks()`,
/// and on 3.11+ an attribute kept without a dict (`sys.__spec__.name`, an
/// instance of a plain class that every interpreter has).
fn interp_values(py: Python<'_>, types: &KnownTypes, public: &mut Public) -> PyResult<()> {
    let sys = py.import("sys")?;
    public.modules = sys.getattr("modules")?.as_ptr() as usize;
    public.sysdict = Some(sys.getattr("__dict__")?.as_ptr() as usize);
    public.thread_id = Some(py.import("_thread")?.call_method0("get_ident")?.extract()?);
    if types.version >= (3, 10) {
        public.atexit_count = Some(py.import("atexit")?.call_method0("_ncallbacks")?.extract::<usize>()?);
    }
    if types.version >= (3, 11) {
        let spec = sys.getattr("__spec__")?;
        let name = spec.getattr("name")?;
        public.managed_probe = Some(ManagedProbe { obj: spec.as_ptr() as usize, name: "name", value: name.as_ptr() as usize });
    }
    Ok(())
}
