//! The frames of every thread, as capture needs them: which frames are the
//! caller's (observers), which are roots, and what each holds.
//!
//! Everything version-specific is read through [`crate::cpython`]; this file
//! only turns its records into what capture consumes.

use super::types::KnownTypes;

/// One running frame.
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub thread: u64,
    /// 0 for a thread's newest frame.
    pub depth: u32,
    /// Address of the frame object, or of the interpreter frame record.
    pub addr: usize,
    /// The frame is a real, GC-tracked frame object (3.9/3.10): capture walks
    /// it like any other object.
    pub object: Option<usize>,
    /// 3.11+: the frame object attached to this interpreter frame, if any.
    pub frame_object: Option<usize>,
    /// 3.11+: the references the interpreter frame holds, with their labels.
    pub refs: Vec<(usize, String)>,
    pub function: String,
    /// Belongs to the caller of refgraph: left out, its references subtracted.
    pub observer: bool,
}

/// Reads frames; collects notes on anything it could not read.
pub(crate) struct FrameReader {
    pub notes: Vec<String>,
}

impl FrameReader {
    pub(crate) fn new(_types: &KnownTypes) -> FrameReader {
        FrameReader { notes: Vec::new() }
    }

    /// The frames of all threads, newest first per thread; the first
    /// `observers` frames of the current thread are marked as observers.
    pub(crate) unsafe fn all_thread_frames(&mut self, _observers: usize) -> Vec<Frame> {
        self.notes.push("thread frames are not read yet".into());
        Vec::new()
    }

    /// Labelled fields of a frame object (3.9/3.10 locals and links).
    pub(crate) unsafe fn frame_object_fields(&self, _frame: *mut pyo3::ffi::PyObject) -> Option<Vec<(usize, String)>> {
        None
    }

    /// `co_qualname` or `co_name` of a code object.
    pub(crate) unsafe fn code_name(&self, _code: usize) -> Option<String> {
        None
    }
}
