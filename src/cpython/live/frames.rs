//! The frames of every thread of the running interpreter, read through the
//! verified frame readers of `cpython::frames`, as the capture's
//! [`ThreadFrames`]; and the labelled fields of a frame object.
//!
//! A thread whose frames cannot be read is left out with a note (its frames
//! are then no roots, and if it is the caller's, the caller's frame is not
//! subtracted); nothing is guessed.

use pyo3::ffi;

use super::{KnownTypes, LiveHeap};
use crate::capture::source::{Addr, Field, FrameData, HeapSource, ThreadFrames, C_CALL_SLOT};
use crate::cpython::mem::Memory;
use crate::cpython::{self, FrameRecord, Layout, LayoutError, TypeChecks};

fn type_checks(k: &KnownTypes) -> TypeChecks {
    TypeChecks { code: k.code, frame: k.frame, tuple: k.tuple, dict: k.dict, function: k.function }
}

/// At most this many threads are read; more means a broken list.
const MAX_THREADS: usize = 10_000;

/// The frames of all threads, newest first per thread, and notes on the
/// threads that could not be read.
///
/// # Safety
/// The GIL is held.
pub(super) unsafe fn all_threads(heap: &LiveHeap<'_>, layout: &Layout) -> (Vec<String>, Vec<ThreadFrames>) {
    let k = heap.types;
    let checks = type_checks(k);
    let mut out = Vec::new();
    let mut notes = Vec::new();
    // SAFETY: the GIL is held: the thread list cannot change while it is
    // walked, and these calls only read it.
    let (current, mut ts) =
        unsafe { (ffi::PyThreadState_Get() as usize, ffi::PyInterpreterState_ThreadHead(ffi::PyInterpreterState_Get())) };
    let mut threads = 0;
    while !ts.is_null() && threads < MAX_THREADS {
        threads += 1;
        let addr = ts as usize;
        match thread(layout, &checks, addr) {
            Ok((thread, records)) => {
                // What C code that called a frame may hold: the function it
                // runs and the namespace it runs in (`exec`'s globals).
                let called: Vec<Vec<usize>> = records
                    .iter()
                    .map(|r| match r.called_from_c {
                        true => r.func.filter(|_| !r.func_borrowed).into_iter().chain([r.globals]).chain(r.locals).collect(),
                        false => Vec::new(),
                    })
                    .collect();
                let mut frames: Vec<FrameData> =
                    records.into_iter().enumerate().map(|(depth, r)| frame(heap, layout, r, depth as u32)).collect();
                // The C code an older frame called holds the function it runs.
                for (i, held) in called.into_iter().enumerate() {
                    if let Some(older) = frames.get_mut(i + 1) {
                        older.stack_unsure.extend(held.into_iter().filter(|&a| a != 0).map(|a| (a, C_CALL_SLOT)));
                    }
                }
                out.push(ThreadFrames { thread, current: addr == current, frames });
            }
            Err(e) => notes.push(format!(
                "thread state {addr:#x}: frames not read ({e}); its frames are not roots{}",
                if addr == current { " and the caller's frame is not subtracted" } else { "" }
            )),
        }
        // SAFETY: as above; `ts` is a thread state of this interpreter.
        ts = unsafe { ffi::PyThreadState_Next(ts) };
    }
    (notes, out)
}

fn thread(layout: &Layout, checks: &TypeChecks, ts: usize) -> Result<(u64, Vec<FrameRecord>), LayoutError> {
    let thread = layout.ts_thread_id.map(|off| cpython::mem::word(ts + off, "thread_id")).transpose()?.unwrap_or(0) as u64;
    Ok((thread, cpython::thread_frames(layout, ts, checks)?))
}

/// The name of a frame's code (found through the verified reader).
fn function_name(heap: &LiveHeap<'_>, layout: &Layout, code: usize) -> String {
    let name = cpython::frames::code_name_object(layout, code).ok();
    // SAFETY: the reader checked `code` is a code object, whose name field
    // is a live object; `str_of` checks it is a str.
    let text = name.and_then(|n| unsafe { heap.str_of(n) }.map(|s| s.text.to_string_max(200)));
    text.unwrap_or_else(|| "?".to_string())
}

/// What a frame that is no object holds. A borrowed reference (3.14+'s
/// tagged stack references: `LOAD_FAST_BORROW` pushes a local the frame
/// already holds) adds nothing to a count, so it is no reference here:
/// counting it would make the caller's subtraction, and any surplus, wrong.
fn frame(heap: &LiveHeap<'_>, layout: &Layout, r: FrameRecord, depth: u32) -> FrameData {
    let function = function_name(heap, layout, r.code);
    let mut refs = Vec::new();
    if !r.is_object {
        let owned = |v: usize, borrowed: Option<&bool>| v != 0 && !borrowed.copied().unwrap_or(false);
        for (i, &v) in r.localsplus.iter().enumerate() {
            if owned(v, r.localsplus_borrowed.get(i)) {
                refs.push((v, Field::Local(r.local_names.get(i).copied().unwrap_or(0))));
            }
        }
        if owned(r.code, Some(&r.code_borrowed)) {
            refs.push((r.code, Field::Name("f_code")));
        }
        if let Some(f) = r.func.filter(|&f| owned(f, Some(&r.func_borrowed))) {
            refs.push((f, Field::Name("f_func")));
        }
        if let Some(l) = r.locals {
            refs.push((l, Field::Name("f_locals")));
        }
        if let Some(fo) = r.frame_obj {
            refs.push((fo, Field::Name("frame object")));
        }
        for (j, &v) in r.stack.iter().flatten().enumerate() {
            if owned(v, r.stack_borrowed.get(j)) {
                refs.push((v, Field::Stack(j as u32)));
            }
        }
    }
    FrameData {
        depth,
        addr: r.addr,
        object: r.is_object.then_some(r.addr),
        frame_object: r.frame_obj,
        refs,
        function,
        stack_unsure: r.stack_unsure,
    }
}

/// The labelled locals and fields of a frame object.
pub(super) fn frame_object_fields(layout: &Layout, frame: Addr, k: &KnownTypes) -> Vec<(Addr, Field<'static>)> {
    let checks = type_checks(k);
    let slots = cpython::frames::frame_object_slots(layout, frame, &checks).unwrap_or_default();
    let mut out: Vec<(Addr, Field<'static>)> = slots.into_iter().filter(|&(v, _)| v != 0).map(|(v, n)| (v, Field::Local(n))).collect();
    let stack = cpython::frames::frame_object_stack_values(layout, frame, &checks).unwrap_or_default();
    out.extend(stack.into_iter().enumerate().map(|(j, v)| (v, Field::Stack(j as u32))));
    for (off, name) in [
        (layout.frame_back, "f_back"),
        (layout.frame_code, "f_code"),
        (layout.frame_globals, "f_globals"),
        (layout.frame_builtins, "f_builtins"),
        (layout.frame_locals, "f_locals"),
        (layout.frame_trace, "f_trace"),
    ] {
        if let Some(v) = off.and_then(|o| cpython::mem::word(frame + o, "frame field").ok()).filter(|&v| v != 0) {
            out.push((v, Field::Name(name)));
        }
    }
    out
}

/// The name and qualified name of a generator, coroutine or async
/// generator, labelled (both, even where they are one object: each is an
/// edge of its traversal).
///
/// `o` must be an object of one of the three generator types (checked by
/// identity by the caller), and `m` a reader of its own memory.
pub(super) fn generator_names(m: &impl Memory, layout: &Layout, o: Addr, f: &mut dyn FnMut(Addr, Field<'_>)) {
    for (off, name) in [(layout.gen_name, "__name__"), (layout.gen_qualname, "__qualname__")] {
        if let Some(v) = off.and_then(|at| m.word(o + at, "generator name").ok()).filter(|&v| v != 0) {
            f(v, Field::Name(name));
        }
    }
}

/// What a 3.11+ generator's embedded frame holds, labelled: its locals by
/// name, its code, function, `f_locals`, frame object and, while it is
/// suspended, its value stack (3.11's `gi_code` too). Read only while the
/// frame is live (created, suspended or running: `gi_frame_state` up to
/// `FRAME_EXECUTING`, whose number the layout gives); the frame is read and
/// type-checked like a thread's. Every object the frame points to is
/// labelled, owned or not (3.14+'s tagged references to immortal or
/// borrowed objects): the generator's traversal reports them all, and only
/// the traversal makes edges. 3.9/3.10 generators hold a frame object,
/// named by their type's `tp_members`: nothing here.
///
/// As [`generator_names`].
pub(super) fn generator_fields(m: &impl Memory, layout: &Layout, o: Addr, k: &KnownTypes, f: &mut dyn FnMut(Addr, Field<'_>)) {
    if let Ok(Some(code)) = cpython::generators::generator_code(m, layout, o) {
        if code != 0 {
            f(code, Field::Name("gi_code"));
        }
    }
    let Ok(Some(r)) = cpython::generators::generator_own_frame(m, layout, o, &type_checks(k)) else { return };
    for (i, &v) in r.localsplus.iter().enumerate() {
        if v != 0 {
            f(v, Field::Local(r.local_names.get(i).copied().unwrap_or(0)));
        }
    }
    f(r.code, Field::Name("f_code"));
    if let Some(func) = r.func {
        f(func, Field::Name("f_func"));
    }
    if let Some(l) = r.locals {
        f(l, Field::Name("f_locals"));
    }
    if let Some(fo) = r.frame_obj {
        f(fo, Field::Name("gi_frame"));
    }
    for (j, &v) in r.stack.iter().flatten().enumerate() {
        f(v, Field::Stack(j as u32));
    }
}
