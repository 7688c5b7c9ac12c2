//! # refgraph — why is this Python object still alive?
//!
//! The pipeline: **capture** a live CPython heap (the pyo3 front end in
//! `python/`, or the pure-Python collector) into a [`graph::Heap`]; name its
//! [`roots`]; apply [`filter`]s; answer queries in [`paths`] (root paths,
//! backref neighbourhoods); [`render`] the answer as DOT, SVG or PNG; keep it
//! for later in a [`snapshot`] file.
//!
//! Everything in this crate except the `python` module is pure Rust with no
//! Python in it, so the `refgraph` command and the tests work on snapshot
//! files without an interpreter. The CPython-version-specific layouts that the
//! capture needs live in one place, [`cpython`].

pub mod address;
#[cfg(target_os = "linux")]
pub mod alloc;
pub mod atomic;
pub mod filter;
pub mod graph;
pub mod paths;
pub mod report;
pub mod render;
pub mod roots;
pub mod select;
pub mod snapshot;

#[cfg(target_os = "linux")]
pub mod cpython;

#[cfg(feature = "python")]
mod python;

pub use graph::{EdgeKind, EdgeLabel, Heap, HeapBuilder, NodeData, NodeFlags, NodeIx};
pub use roots::{Root, RootKind};
