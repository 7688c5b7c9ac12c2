//! The built-in types capture recognises, looked up once when the module is
//! imported (looking them up during a capture could run Python code).

use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::cpython::live::KnownTypes;

/// Looks up the type objects by name, through Python, at import time.
pub(crate) fn load(py: Python<'_>) -> PyResult<KnownTypes> {
    let builtins = py.import("builtins")?;
    let types = py.import("types")?;
    let functools = py.import("functools")?;
    let vi = py.import("sys")?.getattr("version_info")?;
    let version: (u32, u32) = (vi.get_item(0)?.extract()?, vi.get_item(1)?.extract()?);
    let get = |m: &Bound<'_, PyModule>, name: &str| -> PyResult<usize> { Ok(m.getattr(name)?.cast::<PyType>()?.as_ptr() as usize) };
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
        none: py.None().bind(py).get_type().as_ptr() as usize,
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
        version,
    })
}
