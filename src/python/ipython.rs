//! IPython's user namespace as a named holder. IPython runs each cell with
//! `exec(code, user_ns, user_ns)`: the namespace dict is held by that call's
//! arguments, which no object of the heap shows, so without a name a
//! variable defined in a cell would be "held from outside the heap". The
//! running shell is found the way IPython keeps it (the class attribute
//! `InteractiveShell._instance`), read before the capture.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Adds `(id(user_ns), name)` for the running IPython shell, if there is one.
pub(crate) fn user_namespaces(py: Python<'_>, out: &mut Vec<(usize, String)>) -> PyResult<()> {
    let modules = py.import("sys")?.getattr("modules")?;
    let modules = modules.cast::<PyDict>()?;
    let Some(shell_module) = modules.get_item("IPython.core.interactiveshell")? else { return Ok(()) };
    let shell = shell_module.getattr("InteractiveShell")?.getattr("_instance")?;
    if shell.is_none() {
        return Ok(());
    }
    let ns = shell.getattr("user_ns")?;
    if !ns.is_exact_instance_of::<PyDict>() {
        return Ok(());
    }
    let is_main = match modules.get_item("__main__")? {
        Some(main) => main.getattr("__dict__").is_ok_and(|d| d.is(&ns)),
        None => false,
    };
    let name = match is_main {
        true => "IPython user namespace (get_ipython().user_ns, sys.modules['__main__'].__dict__)",
        false => "IPython user namespace (get_ipython().user_ns)",
    };
    out.push((ns.as_ptr() as usize, name.to_string()));
    Ok(())
}
