//! The frames of one thread, read from its thread state without asking for
//! frame objects (on 3.11+ that would create them and change the heap).
//!
//! 3.9/3.10: `PyThreadState.frame` and `f_back` link real frame objects,
//! which the heap walk sees anyway; the records here say which are running.
//! 3.11+: `current_frame` (through `cframe` on 3.11/3.12) and `previous` link
//! interpreter frames on the data stack. Their locals are strong references
//! that no object reports, so the records carry them. Frames owned by a
//! generator are skipped (the generator's `tp_traverse` reports them) and so
//! are 3.12+'s C-stack shim frames.
//!
//! A frame's value stack is reported only where its saved stack pointer is
//! up to date: not for a thread's newest frame, nor for a frame that called
//! into C code which called back into Python (3.11: the newer frame is an
//! entry frame; 3.12+: a C-stack shim sits between them). Those frames save
//! their stack pointer only when they call a Python function directly.

use super::mem::{i32_at, u8_at, word, words};
use super::{Layout, LayoutError};

/// No real program has a deeper stack; more means a corrupt chain.
const MAX_FRAMES: usize = 100_000;
/// No code object has more locals than this.
const MAX_LOCALS: usize = 1 << 20;

/// The addresses of the types a field must point to, which the caller gets
/// from public APIs; every record is checked against them.
#[derive(Clone, Copy, Debug)]
pub struct TypeChecks {
    pub code: usize,
    pub frame: usize,
    pub tuple: usize,
    pub dict: usize,
    pub function: usize,
}

/// One running frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameRecord {
    /// The interpreter frame (3.11+) or frame object (3.9/3.10).
    pub addr: usize,
    /// The record is a frame object (3.9/3.10).
    pub is_object: bool,
    /// 3.11+: the frame object attached to it, if one was created.
    pub frame_obj: Option<usize>,
    pub code: usize,
    /// 3.11+: strong references the interpreter frame holds.
    pub func: Option<usize>,
    pub locals: Option<usize>,
    /// Local, cell and free variable slots (0 where unset), 3.11+.
    pub localsplus: Vec<usize>,
    /// The name (a str object) of each slot.
    pub local_names: Vec<usize>,
    /// Value-stack entries, where the saved stack pointer can be trusted.
    pub stack: Option<Vec<usize>>,
}

fn ob_type(obj: usize) -> Result<usize, LayoutError> {
    word(obj + 8, "object type")
}

fn expect_type(obj: usize, ty: usize, what: &'static str, expected: &'static str) -> Result<(), LayoutError> {
    let found = ob_type(obj)?;
    if found == ty {
        Ok(())
    } else {
        Err(LayoutError::Mismatch { what, addr: obj, expected, found })
    }
}

fn field(l: &Layout, f: Option<usize>, name: &'static str) -> Result<usize, LayoutError> {
    f.ok_or(LayoutError::Missing(l.version.0, l.version.1, name))
}

/// Items of a tuple, checked to be one.
pub fn tuple_items(tuple: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    expect_type(tuple, checks.tuple, "names tuple", "tuple")?;
    let n = word(tuple + 16, "tuple size")?;
    if n > MAX_LOCALS {
        return Err(LayoutError::TooMany { what: "tuple items", limit: MAX_LOCALS });
    }
    words(tuple + 24, n, "tuple items")
}

/// The names of a code object's local, cell and free slots, in slot order.
pub fn local_names(l: &Layout, code: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    if let Some(off) = l.code_localsplusnames {
        return tuple_items(word(code + off, "co_localsplusnames")?, checks);
    }
    let mut names = Vec::new();
    for (off, what) in [(l.code_varnames, "co_varnames"), (l.code_cellvars, "co_cellvars"), (l.code_freevars, "co_freevars")] {
        names.extend(tuple_items(word(code + field(l, off, what)?, what)?, checks)?);
    }
    Ok(names)
}

/// `co_qualname` (3.11+) or `co_name` of a code object.
pub fn code_name_object(l: &Layout, code: usize) -> Result<usize, LayoutError> {
    let off = field(l, l.code_qualname.or(l.code_name), "co_name")?;
    word(code + off, "co_name")
}

/// The same, for a code object the caller has already type-checked (the heap
/// walk meets 60 k of them): read in place, without a system call each.
///
/// # Safety
/// `code` must be a live object whose type is the code type.
pub unsafe fn code_name_object_of_code(l: &Layout, code: usize) -> Option<usize> {
    let off = l.code_qualname.or(l.code_name)?;
    Some(*((code + off) as *const usize))
}

/// The frames of the thread whose `PyThreadState` is at `tstate`, newest first.
pub fn thread_frames(l: &Layout, tstate: usize, checks: &TypeChecks) -> Result<Vec<FrameRecord>, LayoutError> {
    if l.has_interpreter_frames() {
        interpreter_frames(l, tstate, checks)
    } else {
        frame_objects(l, tstate, checks)
    }
}

fn frame_objects(l: &Layout, tstate: usize, checks: &TypeChecks) -> Result<Vec<FrameRecord>, LayoutError> {
    let mut out = Vec::new();
    let mut f = word(tstate + field(l, l.ts_frame, "PyThreadState.frame")?, "PyThreadState.frame")?;
    let back = field(l, l.frame_back, "f_back")?;
    let code_off = field(l, l.frame_code, "f_code")?;
    while f != 0 {
        if out.len() >= MAX_FRAMES {
            return Err(LayoutError::TooMany { what: "frames", limit: MAX_FRAMES });
        }
        expect_type(f, checks.frame, "frame", "frame object")?;
        let code = word(f + code_off, "f_code")?;
        expect_type(code, checks.code, "f_code", "code object")?;
        out.push(FrameRecord { addr: f, is_object: true, code, ..Default::default() });
        f = word(f + back, "f_back")?;
    }
    Ok(out)
}

fn current_interpreter_frame(l: &Layout, tstate: usize) -> Result<usize, LayoutError> {
    if let Some(off) = l.ts_current_frame {
        return word(tstate + off, "current_frame");
    }
    let cframe = word(tstate + field(l, l.ts_cframe, "cframe")?, "cframe")?;
    if cframe == 0 {
        return Ok(0);
    }
    word(cframe + field(l, l.cframe_current_frame, "cframe.current_frame")?, "cframe.current_frame")
}

fn interpreter_frames(l: &Layout, tstate: usize, checks: &TypeChecks) -> Result<Vec<FrameRecord>, LayoutError> {
    let mut out = Vec::new();
    let mut f = current_interpreter_frame(l, tstate)?;
    let previous = field(l, l.iframe_previous, "previous")?;
    // The newest frame's stack pointer lives in a register of the eval loop.
    let mut stack_trusted = false;
    let mut seen = 0;
    while f != 0 {
        seen += 1;
        if seen > MAX_FRAMES {
            return Err(LayoutError::TooMany { what: "frames", limit: MAX_FRAMES });
        }
        let owner = u8_at(f + field(l, l.iframe_owner, "owner")?, "owner")?;
        if l.owner_cstack == Some(owner) {
            // A C function called back into Python: the frame below made a C call.
            stack_trusted = false;
            f = word(f + previous, "previous")?;
            continue;
        }
        let is_entry = match l.iframe_is_entry {
            Some(off) => u8_at(f + off, "is_entry")? != 0,
            None => false,
        };
        if l.owner_generator != Some(owner) {
            out.push(read_interpreter_frame(l, f, checks, stack_trusted)?);
        }
        stack_trusted = !is_entry;
        f = word(f + previous, "previous")?;
    }
    Ok(out)
}

fn read_interpreter_frame(l: &Layout, f: usize, checks: &TypeChecks, stack_trusted: bool) -> Result<FrameRecord, LayoutError> {
    let code = word(f + field(l, l.iframe_code, "f_code")?, "f_code")?;
    expect_type(code, checks.code, "frame code", "code object")?;
    let globals = word(f + field(l, l.iframe_globals, "f_globals")?, "f_globals")?;
    expect_type(globals, checks.dict, "frame globals", "dict")?;
    let n = i32_at(code + field(l, l.code_nlocalsplus, "co_nlocalsplus")?, "co_nlocalsplus")?;
    if n < 0 || n as usize > MAX_LOCALS {
        return Err(LayoutError::Mismatch { what: "co_nlocalsplus", addr: code, expected: "a local count", found: n as usize });
    }
    let n = n as usize;
    let base = f + field(l, l.iframe_localsplus, "localsplus")?;
    let localsplus = words(base, n, "localsplus")?;
    let local_names = local_names(l, code, checks)?;
    let func = nonzero(word(f + field(l, l.iframe_func, "f_func")?, "f_func")?);
    if let Some(func) = func {
        expect_type(func, checks.function, "frame function", "function")?;
    }
    let locals = nonzero(word(f + field(l, l.iframe_locals, "f_locals")?, "f_locals")?);
    let frame_obj = nonzero(word(f + field(l, l.iframe_frame_obj, "frame_obj")?, "frame_obj")?);
    if let Some(fo) = frame_obj {
        expect_type(fo, checks.frame, "frame_obj", "frame object")?;
    }
    let stack = if stack_trusted { read_stack(l, f, code, n, base)? } else { None };
    Ok(FrameRecord { addr: f, is_object: false, frame_obj, code, func, locals, localsplus, local_names, stack })
}

/// The value stack between the locals and the saved stack pointer, when the
/// pointer is within the code's declared stack size.
fn read_stack(l: &Layout, f: usize, code: usize, nlocals: usize, base: usize) -> Result<Option<Vec<usize>>, LayoutError> {
    let top = i32_at(f + field(l, l.iframe_stacktop, "stacktop")?, "stacktop")?;
    let size = i32_at(code + field(l, l.code_stacksize, "co_stacksize")?, "co_stacksize")?;
    if top < nlocals as i32 || size < 0 || top > nlocals as i32 + size {
        return Ok(None);
    }
    let depth = top as usize - nlocals;
    Ok(Some(words(base + nlocals * 8, depth, "value stack")?.into_iter().filter(|&w| w != 0).collect()))
}

fn nonzero(w: usize) -> Option<usize> {
    (w != 0).then_some(w)
}

/// 3.9/3.10: the local, cell and free slots of a frame object with their names.
pub fn frame_object_slots(l: &Layout, frame: usize, checks: &TypeChecks) -> Result<Vec<(usize, usize)>, LayoutError> {
    if let Some(iframe_off) = l.frame_iframe {
        // 3.11+: a frame object that owns its data (a finished frame kept by a
        // traceback) points at an interpreter frame laid out as above.
        let f = word(frame + iframe_off, "f_frame")?;
        let rec = read_interpreter_frame(l, f, checks, false)?;
        return Ok(rec.localsplus.into_iter().zip(rec.local_names).collect());
    }
    let code = word(frame + field(l, l.frame_code, "f_code")?, "f_code")?;
    expect_type(code, checks.code, "f_code", "code object")?;
    let names = local_names(l, code, checks)?;
    let values = words(frame + field(l, l.frame_localsplus, "f_localsplus")?, names.len(), "f_localsplus")?;
    Ok(values.into_iter().zip(names).collect())
}

#[cfg(test)]
mod tests {
    use super::super::layout_for;

    #[test]
    fn every_supported_version_has_a_frame_route() {
        for minor in 9..=13 {
            let l = layout_for(3, minor).unwrap();
            if minor >= 11 {
                assert!(l.has_interpreter_frames());
                assert!(l.ts_current_frame.is_some() || (l.ts_cframe.is_some() && l.cframe_current_frame.is_some()));
                assert!(l.code_localsplusnames.is_some());
            } else {
                assert!(l.ts_frame.is_some() && l.frame_localsplus.is_some());
            }
        }
        assert!(layout_for(3, 8).is_none());
    }
}
