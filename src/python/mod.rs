//! The pyo3 front end: the `refgraph._native` extension module.
//!
//! Glue only: `capture` runs the core's capture over [`crate::cpython::live`]
//! without a Python-level call; `types` looks
//! the built-in types up at import; `api` exposes the objgraph-compatible
//! functions and the `Snapshot` class, converting arguments and answers.
//! Logic belongs in the core, where the Rust tests reach it.

mod api;
mod capture;
mod cli;
mod leaks;
mod objgraph;
mod retained;
mod stats;
mod types;

use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::cpython::live::KnownTypes;

// The extension module is a binary built from this crate, so it installs the
// allocator the library leaves to its binaries (see `crate::alloc`).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: crate::alloc::Allocator = crate::alloc::Allocator;

static KNOWN_TYPES: OnceLock<KnownTypes> = OnceLock::new();
static PYTHON_VERSION: OnceLock<String> = OnceLock::new();

fn known_types(py: Python<'_>) -> PyResult<&'static KnownTypes> {
    if let Some(k) = KNOWN_TYPES.get() {
        return Ok(k);
    }
    let k = types::load(py)?;
    Ok(KNOWN_TYPES.get_or_init(|| k))
}

fn python_version(_py: Python<'_>) -> String {
    PYTHON_VERSION.get().cloned().unwrap_or_default()
}

/// `sys.argv`, read without calling Python.
fn argv(_py: Python<'_>) -> Vec<String> {
    // SAFETY: holding `Python<'_>` means holding the GIL.
    unsafe { crate::cpython::live::argv() }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // A free-threaded build has no GIL to keep the heap still while it is
    // read (docs/python-versions.md says what supporting it would take).
    #[cfg(Py_GIL_DISABLED)]
    return Err(pyo3::exceptions::PyImportError::new_err(
        "refgraph's in-process capture needs the GIL, and this is a free-threaded build: \
         use `refgraph run --collector python` (see docs/python-versions.md)",
    ));
    let py = m.py();
    capture::at_import(py, known_types(py)?);
    let version: String = types::loaded(py, "sys").map_or(Ok(String::new()), |s| s.getattr("version")?.extract())?;
    let _ = PYTHON_VERSION.set(version);
    m.add_class::<api::Snapshot>()?;
    m.add_class::<api::Step>()?;
    m.add_class::<api::PyFilter>()?;
    m.add_function(wrap_pyfunction!(api::snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(api::load, m)?)?;
    m.add_function(wrap_pyfunction!(api::root_paths, m)?)?;
    m.add_function(wrap_pyfunction!(api::why, m)?)?;
    m.add_function(wrap_pyfunction!(api::find_backref_chain, m)?)?;
    m.add_function(wrap_pyfunction!(api::show_backrefs, m)?)?;
    m.add_function(wrap_pyfunction!(api::show_refs, m)?)?;
    m.add_function(wrap_pyfunction!(api::show_chain, m)?)?;
    m.add_function(wrap_pyfunction!(api::dump, m)?)?;
    m.add_function(wrap_pyfunction!(api::_register_display, m)?)?;
    m.add_function(wrap_pyfunction!(api::_override_layout, m)?)?;
    m.add_class::<stats::Growth>()?;
    m.add_function(wrap_pyfunction!(api::_snapshot, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::_typestats, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::_type_counts, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::_by_type, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::_at_addrs, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::_leaking, m)?)?;
    m.add_function(wrap_pyfunction!(objgraph::find_ref_chain, m)?)?;
    m.add_function(wrap_pyfunction!(retained::retained_size, m)?)?;
    m.add_class::<leaks::PyLeakReport>()?;
    m.add_function(wrap_pyfunction!(leaks::_leak_report, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    Ok(())
}
