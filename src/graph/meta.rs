//! Facts about a capture ([`Meta`]): which collector, which interpreter,
//! when, how long each phase took, and notes for the reader. Part of the
//! model; a snapshot stores it as JSON.

use serde::{Deserialize, Serialize};

/// Facts about a capture, stored as JSON inside the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Which collector made it: `native` (pyo3) or `python` (pure-Python).
    #[serde(default)]
    pub collector: String,
    /// `sys.version` of the captured interpreter, e.g. `3.11.7 (main, ...)`.
    #[serde(default)]
    pub python_version: String,
    /// `(major, minor)` of the captured interpreter.
    #[serde(default)]
    pub python: (u32, u32),
    #[serde(default)]
    pub pid: u32,
    /// Seconds since the Unix epoch when the capture started.
    #[serde(default)]
    pub captured_at: f64,
    /// Seconds the capture took.
    #[serde(default)]
    pub capture_seconds: f64,
    /// `sys.argv` of the captured program.
    #[serde(default)]
    pub argv: Vec<String>,
    /// References refgraph held during the capture and subtracted from counts.
    #[serde(default)]
    pub observer_refs: u64,
    /// Objects of refgraph's own left out of the graph (lists, frames).
    #[serde(default)]
    pub observer_objects: u64,
    /// Seconds spent in each phase of the capture, for benchmarks.
    #[serde(default)]
    pub phases: Vec<(String, f64)>,
    /// Taken with `--no-strings`: str labels are lengths (`len=12`) except
    /// for names (dict keys, attribute names); `argv` past the program is lengths too.
    #[serde(default)]
    pub redacted_strings: bool,
    /// Anything a reader should know: layout checks that failed and what was
    /// done instead, parts of the heap that could not be read.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Meta {
    /// `argv` for a snapshot without strings: the program's name, then each
    /// argument's length (arguments carry passwords as often as file names).
    pub fn redacted_argv(argv: Vec<String>) -> Vec<String> {
        argv.into_iter().enumerate().map(|(i, a)| if i == 0 { a } else { format!("len={}", a.chars().count()) }).collect()
    }
}
