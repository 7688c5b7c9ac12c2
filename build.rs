//! Gives the crate pyo3's `Py_3_X` cfgs when the Python front end is built,
//! so the few fields that differ between CPython versions are chosen at
//! compile time for the interpreter maturin targets.
fn main() {
    println!(
        "cargo:rustc-check-cfg=cfg(Py_3_9, Py_3_10, Py_3_11, Py_3_12, Py_3_13, Py_3_14, Py_LIMITED_API, Py_GIL_DISABLED, PyPy, GraalPy)"
    );
    #[cfg(feature = "python")]
    pyo3_build_config::use_pyo3_cfgs();
}
