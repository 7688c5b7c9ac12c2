//! Snapshot files (`.rgs`): a versioned, sectioned, little-endian binary format
//! holding a whole [`Heap`](crate::graph::Heap) — nodes, labelled edges, roots
//! and the capture's metadata — so that analysis can happen offline, in another
//! process, long after the heap is gone. The format is documented in
//! `docs/snapshot-format.md`; the reader validates everything and reports
//! problems with the file name and byte offset. The capture's metadata is
//! [`Meta`](crate::graph::Meta), part of the model.

#![forbid(unsafe_code)]

mod edges;
mod format;
mod nodes;
mod reader;
pub mod spill;
mod summary;
mod writer;

pub use edges::EdgeEncoder;
pub use nodes::{NodeEncoder, NotAscending};
pub use reader::{read_snapshot, read_snapshot_bytes, SnapshotError};
pub use summary::{read_summary, read_summary_bytes, Summary};
pub use writer::{write_parts, write_snapshot, write_snapshot_to};
