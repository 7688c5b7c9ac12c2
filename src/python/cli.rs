//! The `refgraph` command inside the extension module: `cli_main(argv)`
//! runs [`crate::cli`] as the binary would, so that `pip install` gives the
//! command (`python/refgraph/__main__.py` is the console script).

use std::ffi::OsString;

use pyo3::prelude::*;

/// Runs the refgraph command line `argv` (`argv[0]` is the program's name)
/// and returns its exit status. The GIL is released while it runs.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    py.detach(|| crate::cli::main_with(argv))
}
