//! # refgraph — why is this Python object still alive?
//!
//! The pipeline: [`capture`] a heap (the running CPython, read by
//! `cpython::live`, or the pure-Python collector's snapshot) into a
//! [`graph::Heap`]; name its [`roots`]; apply [`filter`]s; answer queries in
//! [`paths`] (root paths, backref neighbourhoods); [`render`] the answer as
//! DOT, SVG or PNG; keep it for later in a [`snapshot`] file.
//!
//! Layers, each depending only on those below it: the model ([`graph`]);
//! the queries and files ([`roots`], [`paths`], [`select`], [`filter`],
//! [`snapshot`], [`report`], [`render`]), which are pure Rust and forbid
//! `unsafe`; the capture ([`capture`]), written against a small trait for
//! the heap being read, so that `cargo test` runs it over heaps the tests
//! build; and [`cpython`], the only place that knows a CPython layout or
//! reads raw memory. The front ends (the pyo3 module behind the `python`
//! feature, and the `refgraph` command) convert and delegate.

#![deny(unsafe_op_in_unsafe_fn)]

// The CLI (`cli`) names this crate `refgraph::…` as the binary it was written
// for did; so it reads the same compiled into the library.
extern crate self as refgraph;

#[cfg(target_os = "linux")]
pub mod alloc;
pub mod atomic;
#[cfg(target_os = "linux")]
pub mod capture;
pub mod cli;
pub mod dominators;
pub mod filter;
pub mod graph;
pub mod html;
pub mod leaks;
pub mod modules;
pub mod paths;
pub mod render;
pub mod report;
pub mod retained;
pub mod roots;
pub mod select;
pub mod snapshot;
pub mod stats;

#[cfg(target_os = "linux")]
pub mod cpython;

#[cfg(feature = "python")]
mod python;

pub use graph::{EdgeKind, EdgeLabel, Heap, HeapBuilder, NodeData, NodeFlags, NodeIx, Root, RootKind};
