//! (in progress)
use std::io::Write;
use std::path::Path;
use crate::graph::Heap;
use super::SnapshotError;

pub fn write_snapshot(_heap: &Heap, path: &Path) -> Result<(), SnapshotError> {
    Err(SnapshotError::Todo(format!("{}: writer not written yet", path.display())))
}

pub fn write_snapshot_to(_heap: &Heap, _out: &mut dyn Write) -> Result<(), SnapshotError> {
    Err(SnapshotError::Todo("writer not written yet".into()))
}
