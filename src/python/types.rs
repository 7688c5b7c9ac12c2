//! The built-in types capture recognises, found once when the module is
//! imported: the C API's own type objects, and `functools.partial` from the
//! `_functools` module if it is loaded. Nothing is imported and no Python
//! function is called (looking types up during a capture could run Python
//! code; importing `types` or `functools` would add modules).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::cpython::generators::GeneratorTypes;
use crate::cpython::live::KnownTypes;

extern "C" {
    // Exported by every CPython (classobject.h), not declared by pyo3.
    static mut PyMethod_Type: ffi::PyTypeObject;
}

/// A module that is already in `sys.modules` (read through the C API: no
/// `__import__` hook runs, nothing is imported).
pub(crate) fn loaded<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyAny>> {
    // SAFETY: the GIL is held; PyImport_GetModuleDict returns the
    // interpreter's borrowed registry, a dict.
    let modules = unsafe { Bound::from_borrowed_ptr(py, ffi::PyImport_GetModuleDict()) };
    modules.cast_into::<PyDict>().ok()?.get_item(name).ok().flatten().filter(|m| !m.is_none())
}

/// The address of a static type object of the C API.
fn addr(t: *mut ffi::PyTypeObject) -> usize {
    t as usize
}

/// Finds the type objects, without importing or calling anything.
pub(crate) fn load(py: Python<'_>) -> PyResult<KnownTypes> {
    let vi = py.version_info();
    let version: (u32, u32) = (u32::from(vi.major), u32::from(vi.minor));
    // Where `_functools` is not loaded yet no partial object exists; their
    // fields then stay unlabelled in this process (generic labels).
    let partial = loaded(py, "_functools")
        .and_then(|m| m.getattr("partial").ok())
        .and_then(|p| p.cast_into::<PyType>().ok())
        .map_or(0, |p| p.as_ptr() as usize);
    // SAFETY: taking the address of a static type object reads nothing.
    let k = unsafe {
        KnownTypes {
            dict: addr(&raw mut ffi::PyDict_Type),
            list: addr(&raw mut ffi::PyList_Type),
            tuple: addr(&raw mut ffi::PyTuple_Type),
            set: addr(&raw mut ffi::PySet_Type),
            frozenset: addr(&raw mut ffi::PyFrozenSet_Type),
            str_: addr(&raw mut ffi::PyUnicode_Type),
            bytes: addr(&raw mut ffi::PyBytes_Type),
            int: addr(&raw mut ffi::PyLong_Type),
            bool_: addr(&raw mut ffi::PyBool_Type),
            float: addr(&raw mut ffi::PyFloat_Type),
            none: ffi::Py_TYPE(ffi::Py_None()) as usize,
            function: addr(&raw mut ffi::PyFunction_Type),
            cfunction: addr(&raw mut ffi::PyCFunction_Type),
            method: addr(&raw mut PyMethod_Type),
            cell: addr(&raw mut ffi::PyCell_Type),
            module: addr(&raw mut ffi::PyModule_Type),
            code: addr(&raw mut ffi::PyCode_Type),
            frame: addr(&raw mut ffi::PyFrame_Type),
            staticmethod: addr(&raw mut ffi::PyStaticMethod_Type),
            classmethod: addr(&raw mut ffi::PyClassMethod_Type),
            property: addr(&raw mut ffi::PyProperty_Type),
            partial,
            generators: GeneratorTypes {
                generator: addr(&raw mut ffi::PyGen_Type),
                coroutine: addr(&raw mut ffi::PyCoro_Type),
                async_generator: addr(&raw mut ffi::PyAsyncGen_Type),
            },
            version,
        }
    };
    Ok(k)
}
