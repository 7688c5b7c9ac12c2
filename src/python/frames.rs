//! The frames of every thread, as capture needs them: which frames are the
//! caller's (observers), which are roots, and what each holds.
//!
//! Everything version-specific is read through [`crate::cpython`]; this file
//! turns its records into what capture consumes and keeps a note when a
//! layout check fails (then frames are not roots and the caller's frame is
//! not subtracted, and the snapshot says so).

use pyo3::ffi;

use crate::cpython::{self, FrameRecord, Layout, TypeChecks};

use super::labels;
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
    layout: Option<Layout>,
    checks: TypeChecks,
    pub notes: Vec<String>,
}

fn slot_label(name: usize) -> String {
    match unsafe { labels::str_value(name as *mut ffi::PyObject) } {
        Some(n) => format!("f_locals['{n}']"),
        None => "f_locals[?]".to_string(),
    }
}

impl FrameReader {
    pub(crate) fn new(types: &KnownTypes) -> FrameReader {
        let layout = cpython::layout_for(types.version.0, types.version.1);
        let checks = TypeChecks {
            code: types.code as usize,
            frame: types.frame as usize,
            tuple: types.tuple as usize,
            dict: types.dict as usize,
            function: types.function as usize,
        };
        let mut notes = Vec::new();
        if layout.is_none() {
            notes.push(format!(
                "no frame layout for Python {}.{}: thread frames are not roots and the caller's frame is not subtracted",
                types.version.0, types.version.1
            ));
        }
        FrameReader { layout, checks, notes }
    }

    /// The frames of all threads, newest first per thread; the first
    /// `observers` frames of the current thread are marked as observers.
    pub(crate) unsafe fn all_thread_frames(&mut self, observers: usize) -> Vec<Frame> {
        let Some(layout) = self.layout.as_ref() else { return Vec::new() };
        let current = ffi::PyThreadState_Get() as usize;
        let interp = ffi::PyInterpreterState_Get();
        let mut out = Vec::new();
        let mut notes = Vec::new();
        let mut ts = ffi::PyInterpreterState_ThreadHead(interp);
        let mut threads = 0;
        while !ts.is_null() && threads < 10_000 {
            threads += 1;
            let addr = ts as usize;
            match Self::thread(layout, &self.checks, addr, addr == current, observers) {
                Ok(frames) => out.extend(frames),
                Err(e) => {
                    notes.push(format!(
                        "thread state {addr:#x}: frames not read ({e}); its frames are not roots{}",
                        if addr == current { " and the caller's frame is not subtracted" } else { "" }
                    ));
                }
            }
            ts = ffi::PyThreadState_Next(ts);
        }
        self.notes.extend(notes);
        out
    }

    /// The layout in use, if this version has one.
    pub(crate) fn layout(&self) -> Option<&Layout> {
        self.layout.as_ref()
    }

    fn thread(layout: &Layout, checks: &TypeChecks, ts: usize, current: bool, observers: usize) -> Result<Vec<Frame>, cpython::LayoutError> {
        let thread = layout.ts_thread_id.map(|off| cpython::mem::word(ts + off, "thread_id")).transpose()?.unwrap_or(0) as u64;
        let records = cpython::thread_frames(layout, ts, checks)?;
        Ok(records
            .into_iter()
            .enumerate()
            .map(|(depth, r)| Self::frame(layout, r, thread, depth as u32, current && depth < observers))
            .collect())
    }

    fn frame(layout: &Layout, r: FrameRecord, thread: u64, depth: u32, observer: bool) -> Frame {
        let function = cpython::frames::code_name_object(layout, r.code)
            .ok()
            .and_then(|n| unsafe { labels::str_value(n as *mut ffi::PyObject) })
            .unwrap_or_else(|| "?".to_string());
        let mut refs = Vec::new();
        if !r.is_object {
            for (i, &v) in r.localsplus.iter().enumerate() {
                if v != 0 {
                    refs.push((v, r.local_names.get(i).map_or("f_locals[?]".to_string(), |&n| slot_label(n))));
                }
            }
            refs.push((r.code, "f_code".to_string()));
            if let Some(f) = r.func {
                refs.push((f, "f_func".to_string()));
            }
            if let Some(l) = r.locals {
                refs.push((l, "f_locals".to_string()));
            }
            if let Some(fo) = r.frame_obj {
                refs.push((fo, "frame object".to_string()));
            }
            for (j, &v) in r.stack.iter().flatten().enumerate() {
                refs.push((v, format!("stack[{j}]")));
            }
        }
        Frame {
            thread,
            depth,
            addr: r.addr,
            object: r.is_object.then_some(r.addr),
            frame_object: r.frame_obj,
            refs,
            function,
            observer,
        }
    }

    /// Labelled locals of a frame object.
    pub(crate) unsafe fn frame_object_fields(&self, frame: *mut ffi::PyObject) -> Option<Vec<(usize, String)>> {
        let layout = self.layout.as_ref()?;
        let slots = cpython::frames::frame_object_slots(layout, frame as usize, &self.checks).unwrap_or_default();
        let mut out: Vec<(usize, String)> =
            slots.into_iter().filter(|&(v, _)| v != 0).map(|(v, n)| (v, slot_label(n))).collect();
        let f = frame as usize;
        for (off, name) in [
            (layout.frame_back, "f_back"),
            (layout.frame_code, "f_code"),
            (layout.frame_globals, "f_globals"),
            (layout.frame_builtins, "f_builtins"),
            (layout.frame_locals, "f_locals"),
            (layout.frame_trace, "f_trace"),
        ] {
            if let Some(v) = off.and_then(|o| cpython::mem::word(f + o, "frame field").ok()).filter(|&v| v != 0) {
                out.push((v, name.to_string()));
            }
        }
        Some(out)
    }

    /// `co_qualname` or `co_name` of a code object (its type already checked).
    /// The str a code object is named by (its qualified name where the
    /// version has one).
    pub(crate) unsafe fn code_name_object(&self, code: usize) -> Option<usize> {
        cpython::frames::code_name_object_of_code(self.layout.as_ref()?, code)
    }
}
