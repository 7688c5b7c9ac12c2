//! The built-in types capture recognises, looked up once when the module is
//! imported (looking them up during a capture could run Python code).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Type pointers compared by identity during a capture.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KnownTypes {
    pub dict: *mut ffi::PyTypeObject,
    pub list: *mut ffi::PyTypeObject,
    pub tuple: *mut ffi::PyTypeObject,
    pub set: *mut ffi::PyTypeObject,
    pub frozenset: *mut ffi::PyTypeObject,
    pub str_: *mut ffi::PyTypeObject,
    pub bytes: *mut ffi::PyTypeObject,
    pub int: *mut ffi::PyTypeObject,
    pub bool_: *mut ffi::PyTypeObject,
    pub float: *mut ffi::PyTypeObject,
    pub none: *mut ffi::PyTypeObject,
    pub function: *mut ffi::PyTypeObject,
    pub cfunction: *mut ffi::PyTypeObject,
    pub method: *mut ffi::PyTypeObject,
    pub cell: *mut ffi::PyTypeObject,
    pub module: *mut ffi::PyTypeObject,
    pub code: *mut ffi::PyTypeObject,
    pub frame: *mut ffi::PyTypeObject,
    pub staticmethod: *mut ffi::PyTypeObject,
    pub classmethod: *mut ffi::PyTypeObject,
    pub property: *mut ffi::PyTypeObject,
    pub partial: *mut ffi::PyTypeObject,
    /// Offset of `im_func` in a bound method (`im_self` follows it).
    pub method_func_offset: usize,
    /// Bytes a str of length 0 takes, before its characters.
    pub str_header: u64,
    /// Bytes of the GC header in front of every tracked object.
    pub gc_header: u64,
    /// `(major, minor)` of the running interpreter.
    pub version: (u32, u32),
}

// The pointers are to static or immortal-for-our-purposes type objects that
// live as long as the interpreter; we only compare them.
unsafe impl Send for KnownTypes {}
unsafe impl Sync for KnownTypes {}

fn type_ptr(t: &Bound<'_, PyType>) -> *mut ffi::PyTypeObject {
    t.as_ptr() as *mut ffi::PyTypeObject
}

impl KnownTypes {
    pub(crate) fn load(py: Python<'_>) -> PyResult<KnownTypes> {
        let builtins = py.import("builtins")?;
        let types = py.import("types")?;
        let functools = py.import("functools")?;
        let sys = py.import("sys")?;
        let get = |m: &Bound<'_, PyModule>, name: &str| -> PyResult<*mut ffi::PyTypeObject> {
            Ok(type_ptr(m.getattr(name)?.cast::<PyType>()?))
        };
        let vi = sys.getattr("version_info")?;
        let version: (u32, u32) = (vi.get_item(0)?.extract()?, vi.get_item(1)?.extract()?);
        // Same layout since 3.0: PyObject_HEAD, then im_func, im_self.
        let method_func_offset = std::mem::size_of::<ffi::PyObject>();
        let str_header = if version >= (3, 12) { 40 } else { 48 };
        let gc_header = if version >= (3, 8) { 16 } else { 24 };
        Ok(KnownTypes {
            dict: get(&builtins, "dict")?,
            list: get(&builtins, "list")?,
            tuple: get(&builtins, "tuple")?,
            set: get(&builtins, "set")?,
            frozenset: get(&builtins, "frozenset")?,
            str_: get(&builtins, "str")?,
            bytes: get(&builtins, "bytes")?,
            int: get(&builtins, "int")?,
            bool_: get(&builtins, "bool")?,
            float: get(&builtins, "float")?,
            none: unsafe { ffi::Py_TYPE(ffi::Py_None()) },
            function: get(&types, "FunctionType")?,
            cfunction: get(&types, "BuiltinFunctionType")?,
            method: get(&types, "MethodType")?,
            cell: get(&types, "CellType")?,
            module: get(&types, "ModuleType")?,
            code: get(&types, "CodeType")?,
            frame: get(&types, "FrameType")?,
            staticmethod: get(&builtins, "staticmethod")?,
            classmethod: get(&builtins, "classmethod")?,
            property: get(&builtins, "property")?,
            partial: get(&functools, "partial")?,
            method_func_offset,
            str_header,
            gc_header,
            version,
        })
    }
}
