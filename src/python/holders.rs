//! Names for the references C code holds: which part of the interpreter (or
//! which signal) keeps an object that the heap alone shows as "held from
//! outside". Read before the capture starts, through public calls where
//! CPython has them (`signal.getsignal`, `atexit._ncallbacks`) and through
//! verified private layouts otherwise. A failed check falls back to the
//! generic label and leaves a note in the snapshot.

use pyo3::prelude::*;

use crate::cpython::{self, InterpChecks, Layout};

use super::types::KnownTypes;

/// `(object address, holder name)` pairs, and notes on what could not be named.
#[derive(Default)]
pub(crate) struct Holders {
    pub named: Vec<(usize, String)>,
    pub notes: Vec<String>,
}

impl Holders {
    fn add(&mut self, addr: usize, name: impl Into<String>) {
        if addr != 0 {
            self.named.push((addr, name.into()));
        }
    }
}

/// Reads every holder refgraph can name. Runs Python code of the standard
/// library only (`signal`, `atexit`), and only before the capture.
pub(crate) fn read(py: Python<'_>, types: &KnownTypes, layout: Option<&Layout>) -> Holders {
    let mut h = Holders::default();
    if let Err(e) = signal_handlers(py, &mut h) {
        h.notes.push(format!("signal handlers not named: {e}"));
    }
    match layout {
        Some(l) => interpreter_state(py, types, l, &mut h),
        None => h.notes.push("no interpreter layout for this version: C-level holders are not named".into()),
    }
    h
}

fn signal_handlers(py: Python<'_>, h: &mut Holders) -> PyResult<()> {
    let signal = py.import("signal")?;
    for sig in signal.getattr("Signals")?.try_iter()? {
        let sig = sig?;
        let name: String = sig.getattr("name")?.extract()?;
        let handler = signal.call_method1("getsignal", (sig,))?;
        // SIG_DFL and SIG_IGN are ints, an unknown C handler is None.
        if handler.is_none() || handler.is_instance_of::<pyo3::types::PyInt>() {
            continue;
        }
        h.add(handler.as_ptr() as usize, format!("signal handler {name}"));
    }
    Ok(())
}

fn interpreter_state(py: Python<'_>, types: &KnownTypes, l: &Layout, h: &mut Holders) {
    let checks = match interp_checks(py, types) {
        Ok(c) => c,
        Err(e) => {
            h.notes.push(format!("interpreter holders not named: {e}"));
            return;
        }
    };
    let interp = unsafe { pyo3::ffi::PyInterpreterState_Get() } as usize;
    match cpython::interp_holders(l, interp, &checks) {
        Ok(s) => {
            h.add(s.modules, "interpreter modules (sys.modules)");
            h.add(s.sysdict, "interpreter sysdict (sys.__dict__)");
            h.add(s.builtins, "interpreter builtins");
            h.add(s.codec_search_path, "codecs search path");
            h.add(s.codec_search_cache, "codecs search cache");
            h.add(s.codec_error_registry, "codecs error registry");
            h.add(s.fork_before, "os.register_at_fork(before)");
            h.add(s.fork_after_in_parent, "os.register_at_fork(after_in_parent)");
            h.add(s.fork_after_in_child, "os.register_at_fork(after_in_child)");
            for (i, cb) in s.atexit.iter().flatten().enumerate() {
                h.add(cb.func, format!("atexit callback #{}", i + 1));
                h.add(cb.args, format!("atexit callback #{} args", i + 1));
                h.add(cb.kwargs, format!("atexit callback #{} kwargs", i + 1));
            }
        }
        Err(e) => h.notes.push(format!(
            "interpreter state layout check failed ({e}): objects held there keep the generic held-from-outside label"
        )),
    }
}

fn interp_checks(py: Python<'_>, types: &KnownTypes) -> PyResult<InterpChecks> {
    let sys = py.import("sys")?;
    let modules = sys.getattr("modules")?.as_ptr() as usize;
    let atexit_count = match types.version >= (3, 10) {
        true => Some(py.import("atexit")?.call_method0("_ncallbacks")?.extract::<usize>()?),
        false => None,
    };
    Ok(InterpChecks { modules, atexit_count, list_type: types.list as usize, dict_type: types.dict as usize })
}
