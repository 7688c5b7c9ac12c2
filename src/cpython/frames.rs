//! The frames of one thread, read from its thread state without asking for
//! frame objects: on 3.11+ `PyEval_GetFrame`, `sys._getframe` and
//! `PyThreadState_GetFrame` create frame objects, which would change the very
//! heap being measured.
//!
//! What it owns: walking a thread's frame chain, newest first, and reading
//! each frame's code, function, globals, `f_locals`, local/cell/free slots
//! (with their names) and, where trustworthy, its value stack.
//! - 3.9/3.10: `PyThreadState.frame` and `f_back` link real frame objects
//!   (GC-tracked, so the heap walk also sees them); the records say which are
//!   running and what their slots hold.
//! - 3.11+: `current_frame` (reached through `cframe` on 3.11/3.12, directly on
//!   3.13+) and `previous` link `_PyInterpreterFrame`s on the thread's data
//!   stack. Their slots are references that no object reports, so the
//!   records carry them. Frames owned by a generator are skipped (the
//!   generator's `tp_traverse` reports their slots) and so are the frames
//!   that are no Python frames and hold nothing: 3.12-3.14's C-stack shims
//!   (`FRAME_OWNED_BY_CSTACK`) and 3.14+'s eval-loop entry frames
//!   (`FRAME_OWNED_BY_INTERPRETER`, which on 3.15 include the thread's base
//!   frame).
//! - 3.14+: `f_executable`, `f_funcobj`, the slots and the value stack are
//!   `_PyStackRef`s, tagged words ([`untag`]): the low two bits say whether
//!   the frame owns a reference (tag 0), holds one it does not own (tag 1,
//!   `Py_TAG_REFCNT`: borrowed, deferred or immortal), or holds no object at
//!   all (tag 3, a tagged int; 3.15's tag 2, an invalid or wrapped pointer;
//!   and NULL, which is 1). Records carry the object addresses, untagged,
//!   and say which references the frame does not own
//!   ([`FrameRecord::localsplus_borrowed`] and the like).
//! - 3.15: every chain ends at the thread's base frame
//!   (`PyThreadState.base_frame`, embedded in `_PyThreadStateImpl`); a chain
//!   that does not fails the thread.
//!
//! Must never: dereference anything directly (all reads go through `mem`),
//! believe a pointer before checking the type of what it points to (code,
//! dict, function, frame, tuple: the caller passes the type addresses in
//! [`TypeChecks`]), call Python or create objects.
//!
//! # When a value stack is reported
//! A frame's value stack is only as good as its saved stack pointer. While a
//! frame runs, the real stack pointer is a local of the C eval loop, and the
//! saved one is stale or a sentinel. [`FrameRecord::stack`] is `Some` only
//! where the saved pointer is known to be current:
//! - 3.9: `f_stacktop` is NULL while the frame runs (set only for a suspended
//!   generator frame); 3.10: `f_stackdepth` is -1 while it runs (updated only
//!   while calling a trace function). So a running 3.9/3.10 frame has `None`
//!   unless it is inside a trace call.
//! - 3.11: a frame saves its stack pointer when it calls a Python function
//!   inline. That is current while the callee runs, except: the thread's
//!   newest frame (it is running, or called C code: the pointer is stale),
//!   and a frame whose next-newer frame is an *entry* frame (`is_entry`: the
//!   newer frame was started by a new eval loop, i.e. the older frame called
//!   into C, which called back into Python; 3.11 generators and coroutines
//!   always run this way).
//! - 3.12/3.13: the same rule, where a C call shows up as a C-stack shim frame
//!   between the two; and loading the pointer into the eval loop resets
//!   `stacktop` to -1, which is refused too.
//! - 3.14+: the same rule, with the C call showing up as an entry frame
//!   (`FRAME_OWNED_BY_INTERPRETER`, or 3.14's `FRAME_OWNED_BY_CSTACK`); the
//!   saved pointer is `stackpointer`, and the stack is
//!   `[localsplus + co_nlocalsplus, stackpointer)`. 3.14 also saves the
//!   pointer around C calls, but a release build never clears it, and a
//!   decref in the middle of an instruction can run Python code (a
//!   finalizer, through C) while it still covers values being released: so
//!   the frame below an entry frame, and the newest frame, stay `None`.
//!
//! In every case the saved depth must also lie within the code object's
//! `co_stacksize`, or the stack is `None`. Where unsure, `None`: never a guess.

use super::mem::{i32_at, u8_at, word, words};
use super::objects::{expect_type, tuple_items as checked_tuple_items};
use super::{Layout, LayoutError};

/// What a slot of an interpreter frame holds: the object's address (0 for no
/// object) and whether the frame holds it *without* owning a reference.
///
/// Before 3.14 every slot is a plain `PyObject *`, a strong reference:
/// `(bits, false)`. From 3.14 on it is a `_PyStackRef` (GIL build, tags from
/// the layout, `pycore_stackref.h`):
/// - tag 0: a pointer the frame owns a reference to (`(bits, false)`; 0 is
///   no object);
/// - tag `Py_TAG_REFCNT` (1): a pointer the frame does not own a reference
///   to (borrowed, deferred or immortal): `(bits & !3, true)`; `NULL` is
///   `PyStackRef_NULL_BITS` (1 too), which gives `(0, false)`;
/// - tag `Py_INT_TAG` (3): a tagged int, no object: `(0, false)`;
/// - any other tag (3.15's `Py_TAG_INVALID`, 2): no object, `(0, false)`.
///
/// Clearing both tag bits (CPython clears only bit 0) is the same for real
/// objects, which are 8-aligned, and never yields a misaligned address.
pub fn untag(l: &Layout, bits: usize) -> (usize, bool) {
    let (Some(mask), Some(borrowed), Some(int)) = (l.stackref_tag_bits, l.stackref_tag_refcnt, l.stackref_int_tag) else {
        return (bits, false);
    };
    match bits & mask {
        0 => (bits, false),
        t if t == int => (0, false),
        t if t == borrowed => {
            let p = bits & !mask;
            (p, p != 0)
        }
        _ => (0, false),
    }
}

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

/// Caps that turn a corrupt (cyclic, runaway) chain into an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Frames per thread; no real program is deeper (the C stack would give out).
    pub max_frames: usize,
    /// Local/cell/free slots per frame (and value-stack entries).
    pub max_slots: usize,
}

impl Default for FrameLimits {
    fn default() -> FrameLimits {
        FrameLimits { max_frames: 100_000, max_slots: 1 << 20 }
    }
}

/// Who owns a frame's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FrameOwner {
    /// An ordinary call, on the thread's data stack (3.11+), or a frame
    /// object that belongs to no generator (3.9/3.10).
    #[default]
    Thread,
    /// 3.9/3.10 only (3.11+ skips these): a frame object whose `f_gen` is set,
    /// i.e. a running generator or coroutine, which holds the frame.
    Generator,
    /// 3.11+: the frame's data was copied into its frame object. Not expected
    /// on a live chain; reported as found.
    FrameObject,
}

/// One frame of a thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameRecord {
    /// The interpreter frame (3.11+) or frame object (3.9/3.10).
    pub addr: usize,
    /// `addr` is a `PyFrameObject` (3.9/3.10): a GC-tracked object whose own
    /// `tp_traverse` reports everything below.
    pub is_object: bool,
    pub owner: FrameOwner,
    /// 3.11+: the frame object attached to the interpreter frame, if one was
    /// ever created (a strong reference).
    pub frame_obj: Option<usize>,
    /// The code object (type-checked).
    pub code: usize,
    /// 3.14+: the frame does not own the reference to `code` (its
    /// `f_executable` is tagged `Py_TAG_REFCNT`, see [`untag`]); always
    /// `false` before 3.14.
    pub code_borrowed: bool,
    /// 3.11+: the function being run (type-checked), if any.
    pub func: Option<usize>,
    /// 3.14+: the frame does not own the reference to `func` (likewise).
    pub func_borrowed: bool,
    /// The globals dict (type-checked). Borrowed on 3.11+: the function holds it.
    pub globals: usize,
    /// `f_locals` (strong), set for class bodies, module code and frames whose
    /// locals were asked for.
    pub locals: Option<usize>,
    /// Local, cell and free variable slots in `co_localsplusnames` order
    /// (3.9/3.10: `co_varnames`, then `co_cellvars`, then `co_freevars`);
    /// 0 where unset (or, 3.14+, where the slot holds no object: [`untag`]).
    pub localsplus: Vec<usize>,
    /// One flag per `localsplus` entry (same length): `true` when the frame
    /// holds that object without owning a reference to it (3.14+ `_PyStackRef`
    /// tag `Py_TAG_REFCNT`: borrowed, deferred or immortal). `false` for an
    /// owned (strong) reference, for an empty slot, and always before 3.14.
    pub localsplus_borrowed: Vec<bool>,
    /// The name (a str object) of each slot: `local_names[i]` labels
    /// `localsplus[i]`.
    pub local_names: Vec<usize>,
    /// The value-stack entries that are objects (NULLs and, 3.14+, tagged
    /// ints left out), bottom first, where the saved stack pointer can be
    /// trusted (see the module docs); `None` otherwise.
    pub stack: Option<Vec<usize>>,
    /// One flag per `stack` entry (empty when `stack` is `None`), as
    /// `localsplus_borrowed`: 3.14's `LOAD_FAST_BORROW` and friends push
    /// references the frame does not own.
    pub stack_borrowed: Vec<bool>,
    /// Where `stack` is `None`: every word of the value stack's whole area
    /// (`co_stacksize` words) that may be an owned reference, as
    /// `(address, slot)`, bottom first. Live entries and stale ones (popped
    /// values, possibly freed) are mixed, and nothing here is ever
    /// dereferenced: the capture compares them with the objects it found,
    /// and attributes a word to the frame only where the object it names
    /// has references no object explains (see docs/frames.md).
    pub stack_unsure: Vec<(usize, u32)>,
    /// 3.11+: C code called this frame (it is an entry frame, or the next
    /// older one is a C-stack shim or eval-loop entry frame): the C caller
    /// may hold the function it runs (`exec` makes one for module code).
    pub called_from_c: bool,
}

fn nonzero(w: usize) -> Option<usize> {
    (w != 0).then_some(w)
}

/// The items of a names tuple, checked to be a tuple.
pub fn tuple_items(l: &Layout, tuple: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    checked_tuple_items(l, tuple, checks.tuple)
}

/// The names of a code object's local, cell and free slots, in slot order.
pub fn local_names(l: &Layout, code: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    if let Some(off) = l.code_localsplusnames {
        return tuple_items(l, word(code + off, "co_localsplusnames")?, checks);
    }
    let mut names = Vec::new();
    for (off, what) in [(l.code_varnames, "co_varnames"), (l.code_cellvars, "co_cellvars"), (l.code_freevars, "co_freevars")] {
        names.extend(tuple_items(l, word(code + l.need(off, what)?, what)?, checks)?);
    }
    Ok(names)
}

/// `co_qualname` (3.11+) or `co_name` of a code object.
pub fn code_name_object(l: &Layout, code: usize) -> Result<usize, LayoutError> {
    let off = l.need(l.code_qualname.or(l.code_name), "co_name")?;
    word(code + off, "co_name")
}

/// `co_name` (never the qualified name) of a code object.
pub fn code_short_name_object(l: &Layout, code: usize) -> Result<usize, LayoutError> {
    word(code + l.need(l.code_name, "co_name")?, "co_name")
}

/// [`code_name_object`] as an `Option`, for a code object the caller has
/// already type-checked. Reads through `mem` like everything here, so it
/// costs a system call; a heap walk that meets 60 k code objects it has
/// type-checked itself can instead read the field in place at
/// [`Layout::code_name_offset`].
pub fn code_name_object_of_code(l: &Layout, code: usize) -> Option<usize> {
    code_name_object(l, code).ok()
}

/// The frames of the thread whose `PyThreadState` is at `tstate`, newest
/// first, with the default [`FrameLimits`].
pub fn thread_frames(l: &Layout, tstate: usize, checks: &TypeChecks) -> Result<Vec<FrameRecord>, LayoutError> {
    thread_frames_with(l, tstate, checks, &FrameLimits::default())
}

/// [`thread_frames`] with explicit limits. Any frame that fails a check fails
/// the whole thread: a chain is either believed entirely or not at all.
pub fn thread_frames_with(l: &Layout, tstate: usize, checks: &TypeChecks, limits: &FrameLimits) -> Result<Vec<FrameRecord>, LayoutError> {
    if l.has_interpreter_frames() {
        interpreter_frames(l, tstate, checks, limits)
    } else {
        frame_objects(l, tstate, checks, limits)
    }
}

// ---- 3.9 / 3.10: frame objects ------------------------------------------------

fn frame_objects(l: &Layout, tstate: usize, checks: &TypeChecks, limits: &FrameLimits) -> Result<Vec<FrameRecord>, LayoutError> {
    let mut out = Vec::new();
    let mut f = word(tstate + l.need(l.ts_frame, "PyThreadState.frame")?, "PyThreadState.frame")?;
    let back = l.need(l.frame_back, "f_back")?;
    while f != 0 {
        if out.len() >= limits.max_frames {
            return Err(LayoutError::TooMany { what: "frames", limit: limits.max_frames });
        }
        out.push(read_frame_object(l, f, checks, limits)?);
        f = word(f + back, "f_back")?;
    }
    Ok(out)
}

/// A 3.9/3.10 frame object, checked.
fn read_frame_object(l: &Layout, f: usize, checks: &TypeChecks, limits: &FrameLimits) -> Result<FrameRecord, LayoutError> {
    expect_type(f, checks.frame, "frame", "frame")?;
    let code = word(f + l.need(l.frame_code, "f_code")?, "f_code")?;
    expect_type(code, checks.code, "f_code", "code")?;
    let globals = word(f + l.need(l.frame_globals, "f_globals")?, "f_globals")?;
    expect_type(globals, checks.dict, "f_globals", "dict")?;
    let locals = nonzero(word(f + l.need(l.frame_locals, "f_locals")?, "f_locals")?);
    let local_names = local_names(l, code, checks)?;
    let n = local_names.len();
    if n > limits.max_slots {
        return Err(LayoutError::TooMany { what: "frame slots", limit: limits.max_slots });
    }
    let slots_at = f + l.need(l.frame_localsplus, "f_localsplus")?;
    let localsplus = words(slots_at, n, "f_localsplus")?;
    let gen = word(f + l.need(l.frame_gen, "f_gen")?, "f_gen")?;
    let stack = frame_object_stack(l, f, code, slots_at + n * 8)?;
    let stack_unsure = match stack {
        Some(_) => Vec::new(),
        None => frame_object_stack_area(l, f, code, slots_at + n * 8)?,
    };
    Ok(FrameRecord {
        addr: f,
        is_object: true,
        owner: if gen != 0 { FrameOwner::Generator } else { FrameOwner::Thread },
        frame_obj: None,
        code,
        code_borrowed: false,
        func: None,
        func_borrowed: false,
        localsplus_borrowed: vec![false; localsplus.len()],
        globals,
        locals,
        localsplus,
        local_names,
        stack_borrowed: vec![false; stack.as_ref().map_or(0, Vec::len)],
        stack,
        stack_unsure,
        called_from_c: false,
    })
}

/// The whole value-stack area of a 3.9/3.10 frame object whose depth is
/// unknown: `co_stacksize` words from `f_valuestack` (which must be right
/// after the slots), the non-NULL ones with their slot.
fn frame_object_stack_area(l: &Layout, f: usize, code: usize, expected_base: usize) -> Result<Vec<(usize, u32)>, LayoutError> {
    let base = word(f + l.need(l.frame_valuestack, "f_valuestack")?, "f_valuestack")?;
    let size = i32_at(code + l.need(l.code_stacksize, "co_stacksize")?, "co_stacksize")?;
    if base != expected_base || !(0..=1 << 16).contains(&size) {
        return Ok(Vec::new());
    }
    let words = words(base, size as usize, "value stack area")?;
    Ok(words.into_iter().enumerate().filter(|&(_, w)| w != 0).map(|(i, w)| (w, i as u32)).collect())
}

/// The value stack of a 3.9/3.10 frame object, when its saved top is set and
/// sane: `f_valuestack` right after the slots, depth within `co_stacksize`.
fn frame_object_stack(l: &Layout, f: usize, code: usize, expected_base: usize) -> Result<Option<Vec<usize>>, LayoutError> {
    let base = word(f + l.need(l.frame_valuestack, "f_valuestack")?, "f_valuestack")?;
    if base != expected_base {
        return Ok(None);
    }
    let size = i32_at(code + l.need(l.code_stacksize, "co_stacksize")?, "co_stacksize")?;
    let depth: i64 = if let Some(off) = l.frame_stacktop {
        let top = word(f + off, "f_stacktop")?;
        if top == 0 || top < base || (top - base) % 8 != 0 {
            return Ok(None);
        }
        ((top - base) / 8) as i64
    } else {
        i64::from(i32_at(f + l.need(l.frame_stackdepth, "f_stackdepth")?, "f_stackdepth")?)
    };
    if depth < 0 || size < 0 || depth > i64::from(size) {
        return Ok(None);
    }
    Ok(Some(words(base, depth as usize, "value stack")?.into_iter().filter(|&w| w != 0).collect()))
}

// ---- 3.11+: interpreter frames ----------------------------------------------------

fn current_interpreter_frame(l: &Layout, tstate: usize) -> Result<usize, LayoutError> {
    if let Some(off) = l.ts_current_frame {
        return word(tstate + off, "PyThreadState.current_frame");
    }
    let cframe = word(tstate + l.need(l.ts_cframe, "PyThreadState.cframe")?, "PyThreadState.cframe")?;
    if cframe == 0 {
        return Ok(0);
    }
    word(cframe + l.need(l.cframe_current_frame, "_PyCFrame.current_frame")?, "_PyCFrame.current_frame")
}

/// 3.15: the thread's base frame, checked to be the one embedded in its
/// `_PyThreadStateImpl` right after the public part; `None` before 3.15.
fn base_frame(l: &Layout, tstate: usize) -> Result<Option<usize>, LayoutError> {
    let Some(off) = l.ts_base_frame else {
        return Ok(None);
    };
    let base = word(tstate + off, "PyThreadState.base_frame")?;
    let expected = tstate + l.need(l.ts_impl_base_frame, "_PyThreadStateImpl.base_frame")?;
    if base != expected {
        return Err(LayoutError::mismatch(
            "PyThreadState.base_frame",
            tstate + off,
            format!("the frame embedded in the thread state ({expected:#x})"),
            base,
        ));
    }
    Ok(Some(base))
}

fn interpreter_frames(l: &Layout, tstate: usize, checks: &TypeChecks, limits: &FrameLimits) -> Result<Vec<FrameRecord>, LayoutError> {
    let mut out: Vec<FrameRecord> = Vec::new();
    let base = base_frame(l, tstate)?;
    let mut f = current_interpreter_frame(l, tstate)?;
    let previous = l.need(l.iframe_previous, "previous")?;
    let owner_at = l.need(l.iframe_owner, "owner")?;
    // Is the saved stack pointer of the next (older) frame current? Not for
    // the newest frame: its pointer lives in the eval loop's registers.
    let mut stack_trusted = false;
    // The record just pushed, while no other frame followed it.
    let mut newer: Option<usize> = None;
    let mut seen = 0;
    let mut last = 0;
    while f != 0 {
        seen += 1;
        if seen > limits.max_frames {
            return Err(LayoutError::TooMany { what: "frames", limit: limits.max_frames });
        }
        let owner = usize::from(u8_at(f + owner_at, "_PyInterpreterFrame.owner")?);
        let next = word(f + previous, "_PyInterpreterFrame.previous")?;
        last = f;
        if l.owner_cstack == Some(owner) || l.owner_interpreter == Some(owner) {
            // No Python frame: a C function called back into Python (3.12-3.14
            // C-stack shim, 3.14+ eval-loop entry frame), or 3.15's base
            // frame. The older frame made a C call, so its saved stack
            // pointer is not trusted.
            stack_trusted = false;
            if let Some(i) = newer.take() {
                out[i].called_from_c = true;
            }
            f = next;
            continue;
        }
        let is_entry = match l.iframe_is_entry {
            Some(off) => u8_at(f + off, "_PyInterpreterFrame.is_entry")? != 0,
            None => false,
        };
        if l.owner_generator == Some(owner) {
            newer = None;
            // Reported by the generator's tp_traverse; still decides whether
            // the older frame's stack is current (3.12+ inlines generator
            // sends, saving the sender's stack pointer).
        } else if l.owner_thread == Some(owner) || l.owner_frame_object == Some(owner) {
            let owner = if l.owner_thread == Some(owner) { FrameOwner::Thread } else { FrameOwner::FrameObject };
            let mut r = read_interpreter_frame(l, f, checks, stack_trusted, owner, limits)?;
            r.called_from_c = is_entry;
            out.push(r);
            newer = Some(out.len() - 1);
        } else {
            return Err(LayoutError::mismatch("_PyInterpreterFrame.owner", f + owner_at, "a FRAME_OWNED_BY_* value", owner));
        }
        stack_trusted = !is_entry;
        f = next;
    }
    if let Some(base) = base.filter(|&b| last != 0 && last != b) {
        return Err(LayoutError::mismatch(
            "the oldest frame of the thread",
            last,
            format!("PyThreadState.base_frame ({base:#x}), where every 3.15 chain ends"),
            last,
        ));
    }
    Ok(out)
}

/// One 3.11+ interpreter frame, checked. `stack_trusted`: its saved stack
/// pointer is current (decided by the caller from the newer frame).
fn read_interpreter_frame(
    l: &Layout,
    f: usize,
    checks: &TypeChecks,
    stack_trusted: bool,
    owner: FrameOwner,
    limits: &FrameLimits,
) -> Result<FrameRecord, LayoutError> {
    let code_at = f + l.need(l.iframe_code, "f_code")?;
    let raw = word(code_at, "f_code")?;
    let (code, code_borrowed) = untag(l, raw);
    if code == 0 {
        return Err(LayoutError::mismatch("_PyInterpreterFrame code", code_at, "a code object", raw));
    }
    expect_type(code, checks.code, "_PyInterpreterFrame code", "code")?;
    let globals = word(f + l.need(l.iframe_globals, "f_globals")?, "f_globals")?;
    expect_type(globals, checks.dict, "_PyInterpreterFrame.f_globals", "dict")?;
    let n = i32_at(code + l.need(l.code_nlocalsplus, "co_nlocalsplus")?, "co_nlocalsplus")?;
    if n < 0 || n as usize > limits.max_slots {
        return Err(LayoutError::mismatch("co_nlocalsplus", code, format!("a slot count in 0..={}", limits.max_slots), n as usize));
    }
    let n = n as usize;
    let local_names = local_names(l, code, checks)?;
    if local_names.len() != n {
        return Err(LayoutError::mismatch("co_localsplusnames", code, format!("{n} names (co_nlocalsplus)"), local_names.len()));
    }
    let base = f + l.need(l.iframe_localsplus, "localsplus")?;
    let (localsplus, localsplus_borrowed) = words(base, n, "localsplus")?.into_iter().map(|w| untag(l, w)).unzip();
    let (func, func_borrowed) = untag(l, word(f + l.need(l.iframe_func, "f_func")?, "f_func")?);
    let func = nonzero(func);
    if let Some(func) = func {
        expect_type(func, checks.function, "_PyInterpreterFrame function", "function")?;
    }
    let locals = nonzero(word(f + l.need(l.iframe_locals, "f_locals")?, "f_locals")?);
    let frame_obj = nonzero(word(f + l.need(l.iframe_frame_obj, "frame_obj")?, "frame_obj")?);
    if let Some(fo) = frame_obj {
        expect_type(fo, checks.frame, "_PyInterpreterFrame.frame_obj", "frame")?;
    }
    let (stack, stack_borrowed) = match stack_trusted {
        true => interpreter_frame_stack(l, f, code, n, base)?.map_or((None, Vec::new()), |(s, b)| (Some(s), b)),
        false => (None, Vec::new()),
    };
    let stack_unsure = match stack {
        Some(_) => Vec::new(),
        None => interpreter_stack_area(l, code, base + n * 8)?,
    };
    Ok(FrameRecord {
        addr: f,
        is_object: false,
        owner,
        frame_obj,
        code,
        code_borrowed,
        func,
        func_borrowed: func.is_some() && func_borrowed,
        globals,
        locals,
        localsplus,
        localsplus_borrowed,
        local_names,
        stack,
        stack_borrowed,
        stack_unsure,
        called_from_c: false,
    })
}

/// The whole value-stack area of a 3.11+ interpreter frame whose depth is
/// unknown: `co_stacksize` words after the slots (inside the frame's own
/// allocation, which is sized for them), untagged; words the frame does not
/// own (3.14+ borrowed references) and non-objects are left out.
fn interpreter_stack_area(l: &Layout, code: usize, stack_base: usize) -> Result<Vec<(usize, u32)>, LayoutError> {
    let size = i32_at(code + l.need(l.code_stacksize, "co_stacksize")?, "co_stacksize")?;
    if !(0..=1 << 16).contains(&size) {
        return Ok(Vec::new());
    }
    let words = words(stack_base, size as usize, "value stack area")?;
    Ok(words
        .into_iter()
        .enumerate()
        .map(|(i, w)| (untag(l, w), i as u32))
        .filter(|&((p, borrowed), _)| p != 0 && !borrowed)
        .map(|((p, _), i)| (p, i))
        .collect())
}

/// The frame a 3.11+ generator, coroutine or async generator embeds (at
/// `f`, inside the object), checked like a thread's frames. `suspended`:
/// the generator is not running, so its saved stack pointer is current.
pub fn generator_frame(l: &Layout, f: usize, checks: &TypeChecks, suspended: bool) -> Result<FrameRecord, LayoutError> {
    read_interpreter_frame(l, f, checks, suspended, FrameOwner::Generator, &FrameLimits::default())
}

/// Value-stack entries and, for each, whether it is borrowed.
type Stack = (Vec<usize>, Vec<bool>);

/// The value stack between the slots and the saved stack pointer, when the
/// pointer is within the code's declared stack size (a running 3.12/3.13
/// frame has -1 there): the entries that are objects, bottom first, and
/// whether each is borrowed ([`untag`]).
fn interpreter_frame_stack(l: &Layout, f: usize, code: usize, nslots: usize, base: usize) -> Result<Option<Stack>, LayoutError> {
    let size = i64::from(i32_at(code + l.need(l.code_stacksize, "co_stacksize")?, "co_stacksize")?);
    let stack_base = base + nslots * 8;
    let depth = if let Some(off) = l.iframe_stackpointer {
        // 3.14+: a pointer one past the top (NULL while an assert build runs the frame).
        let sp = word(f + off, "stackpointer")?;
        if sp < stack_base || (sp - stack_base) % 8 != 0 {
            return Ok(None);
        }
        ((sp - stack_base) / 8) as i64
    } else {
        // 3.11-3.13: an index into localsplus.
        i64::from(i32_at(f + l.need(l.iframe_stacktop, "stacktop")?, "stacktop")?) - nslots as i64
    };
    if depth < 0 || size < 0 || depth > size {
        return Ok(None);
    }
    let entries = words(stack_base, depth as usize, "value stack")?;
    Ok(Some(entries.into_iter().map(|w| untag(l, w)).filter(|&(p, _)| p != 0).unzip()))
}

/// The local, cell and free slots of a frame object, with their names, as
/// `(value, name)` pairs (value 0 where unset). On 3.11+ the frame object's
/// `f_frame` is read; its stack is never reported from here.
pub fn frame_object_slots(l: &Layout, frame: usize, checks: &TypeChecks) -> Result<Vec<(usize, usize)>, LayoutError> {
    let limits = FrameLimits::default();
    if let Some(iframe_off) = l.frame_iframe {
        expect_type(frame, checks.frame, "frame", "frame")?;
        let f = word(frame + iframe_off, "f_frame")?;
        let rec = read_interpreter_frame(l, f, checks, false, FrameOwner::FrameObject, &limits)?;
        return Ok(rec.localsplus.into_iter().zip(rec.local_names).collect());
    }
    let rec = read_frame_object(l, frame, checks, &limits)?;
    Ok(rec.localsplus.into_iter().zip(rec.local_names).collect())
}

/// The value stack of a 3.9/3.10 frame object where its saved top is set
/// (a suspended generator's frame, whose traversal reports it after the
/// slots); empty on 3.11+ (a generator reports its own stack there) and
/// where the depth is not known.
pub fn frame_object_stack_values(l: &Layout, frame: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    if l.frame_iframe.is_some() {
        return Ok(Vec::new());
    }
    Ok(read_frame_object(l, frame, checks, &FrameLimits::default())?.stack.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::super::generated_layout;
    use super::*;

    /// A fake heap in our own memory (written without `unsafe`, see
    /// `cpython::fake`): type objects are just distinct addresses, objects
    /// are word arrays whose word 1 is the type.
    struct Fake(super::super::fake::Fake);

    impl Fake {
        fn new() -> Fake {
            Fake(super::super::fake::Fake::new())
        }
        fn obj(&mut self, words: usize) -> usize {
            self.0.alloc(words * 8)
        }
        fn set(&mut self, addr: usize, value: usize) {
            self.0.put_usize(addr, value)
        }
        fn set_i32(&mut self, addr: usize, value: i32) {
            self.0.put_i32(addr, value)
        }
        fn set_u8(&mut self, addr: usize, value: u8) {
            self.0.put_u8(addr, value)
        }
        fn tuple(&mut self, l: &Layout, ty: usize, items: &[usize]) -> usize {
            let at = l.tuple_items.unwrap();
            let t = self.obj(at / 8 + items.len());
            self.set(t + 8, ty);
            self.set(t + 16, items.len());
            for (i, &it) in items.iter().enumerate() {
                self.set(t + at + 8 * i, it);
            }
            t
        }
    }

    fn checks(fake: &mut Fake) -> TypeChecks {
        TypeChecks { code: fake.obj(1), frame: fake.obj(1), tuple: fake.obj(1), dict: fake.obj(1), function: fake.obj(1) }
    }

    /// A code object with `nlocalsplus` locals named by the strs `names`
    /// and room for `stacksize` stack entries.
    fn fake_code(fake: &mut Fake, l: &Layout, tc: &TypeChecks, names: &[usize], nlocalsplus: i32, stacksize: i32) -> usize {
        let names_tuple = fake.tuple(l, tc.tuple, names);
        let code = fake.obj(l.code_size.unwrap() / 8 + 1);
        fake.set(code + 8, tc.code);
        fake.set_i32(code + l.code_nlocalsplus.unwrap(), nlocalsplus);
        fake.set_i32(code + l.code_stacksize.unwrap(), stacksize);
        fake.set(code + l.code_localsplusnames.unwrap(), names_tuple);
        code
    }

    /// Builds a 3.12 thread: newest first, [running A] -> shim -> [B, called
    /// A from C] -> [generator frame] -> [C, sent to the generator inline].
    #[test]
    fn walks_a_312_chain_and_applies_the_stack_rules() {
        let l = generated_layout(3, 12).unwrap();
        let mut fake = Fake::new();
        let tc = checks(&mut fake);
        let names = [fake.obj(2), fake.obj(2)];
        let code = fake_code(&mut fake, l, &tc, &names, 2, 4);
        let globals = fake.obj(2);
        fake.set(globals + 8, tc.dict);
        let func = fake.obj(2);
        fake.set(func + 8, tc.function);
        let words = l.iframe_localsplus.unwrap() / 8 + 8;
        let frame = |fake: &mut Fake, owner: usize, stacktop: i32, slot0: usize| {
            let f = fake.obj(words);
            fake.set(f + l.iframe_code.unwrap(), code);
            fake.set(f + l.iframe_globals.unwrap(), globals);
            fake.set(f + l.iframe_func.unwrap(), func);
            fake.set_u8(f + l.iframe_owner.unwrap(), owner as u8);
            fake.set_i32(f + l.iframe_stacktop.unwrap(), stacktop);
            let base = f + l.iframe_localsplus.unwrap();
            fake.set(base, slot0);
            fake.set(base + 16, 0xaaaa_0000); // stack[0]
            fake.set(base + 24, 0xbbbb_0000); // stack[1]
            f
        };
        let thread = l.owner_thread.unwrap();
        let a = frame(&mut fake, thread, 3, 0x1000_0000);
        let shim = frame(&mut fake, l.owner_cstack.unwrap(), -1, 0);
        let b = frame(&mut fake, thread, 4, 0x2000_0000);
        let g = frame(&mut fake, l.owner_generator.unwrap(), 2, 0x3000_0000);
        let c = frame(&mut fake, thread, 3, 0x4000_0000);
        for (newer, older) in [(a, shim), (shim, b), (b, g), (g, c)] {
            fake.set(newer + l.iframe_previous.unwrap(), older);
        }
        let cframe = fake.obj(8);
        fake.set(cframe + l.cframe_current_frame.unwrap(), a);
        let ts = fake.obj(l.ts_size.unwrap() / 8);
        fake.set(ts + l.ts_cframe.unwrap(), cframe);

        let recs = thread_frames(l, ts, &tc).unwrap();
        assert_eq!(recs.iter().map(|r| r.addr).collect::<Vec<_>>(), vec![a, b, c]);
        assert_eq!(recs[0].localsplus, vec![0x1000_0000, 0]);
        assert_eq!(recs[0].localsplus_borrowed, vec![false, false]);
        assert_eq!(recs[0].local_names, names.to_vec());
        assert_eq!(recs[0].func, Some(func));
        assert_eq!(recs[0].globals, globals);
        // Newest: stale. B called C code (shim above it): stale. C sent to the
        // generator inline: current, stacktop 3 = 2 slots + 1 entry.
        assert_eq!(recs[0].stack, None);
        assert_eq!(recs[1].stack, None);
        assert_eq!(recs[2].stack, Some(vec![0xaaaa_0000]));
        assert_eq!(recs[2].stack_borrowed, vec![false]);
        assert!(recs
            .iter()
            .all(|r| !r.code_borrowed && !r.func_borrowed && r.stack_borrowed.len() == r.stack.as_ref().map_or(0, Vec::len)));

        // Limits turn a cycle into an error.
        fake.set(c + l.iframe_previous.unwrap(), a);
        let tight = FrameLimits { max_frames: 50, ..FrameLimits::default() };
        assert!(matches!(thread_frames_with(l, ts, &tc, &tight), Err(LayoutError::TooMany { .. })));
        fake.set(c + l.iframe_previous.unwrap(), 0);

        // A globals pointer to something that is not a dict fails the thread.
        fake.set(b + l.iframe_globals.unwrap(), func);
        assert!(matches!(thread_frames(l, ts, &tc), Err(LayoutError::Mismatch { .. })));
        // So does an unknown owner value.
        fake.set(b + l.iframe_globals.unwrap(), globals);
        fake.set_u8(b + l.iframe_owner.unwrap(), 9);
        assert!(matches!(thread_frames(l, ts, &tc), Err(LayoutError::Mismatch { .. })));
        // And a pointer into nowhere is an error, not a crash.
        fake.set_u8(b + l.iframe_owner.unwrap(), thread as u8);
        fake.set(b + l.iframe_previous.unwrap(), 0x18);
        assert!(matches!(thread_frames(l, ts, &tc), Err(LayoutError::Unreadable { .. })));
    }

    /// 3.11: no shims; an entry frame marks a C call in the frame below it.
    #[test]
    fn entry_frames_hide_the_older_frames_stack_on_311() {
        let l = generated_layout(3, 11).unwrap();
        let mut fake = Fake::new();
        let tc = checks(&mut fake);
        let code = fake_code(&mut fake, l, &tc, &[], 0, 2);
        let globals = fake.obj(2);
        fake.set(globals + 8, tc.dict);
        let words = l.iframe_localsplus.unwrap() / 8 + 4;
        let frame = |fake: &mut Fake, entry: bool| {
            let f = fake.obj(words);
            fake.set(f + l.iframe_code.unwrap(), code);
            fake.set(f + l.iframe_globals.unwrap(), globals);
            fake.set_u8(f + l.iframe_is_entry.unwrap(), entry as u8);
            fake.set_i32(f + l.iframe_stacktop.unwrap(), 1);
            fake.set(f + l.iframe_localsplus.unwrap(), 0x5555_0000);
            f
        };
        let newest = frame(&mut fake, true);
        let called_c = frame(&mut fake, false);
        let called_py = frame(&mut fake, true);
        fake.set(newest + l.iframe_previous.unwrap(), called_c);
        fake.set(called_c + l.iframe_previous.unwrap(), called_py);
        let cframe = fake.obj(8);
        fake.set(cframe + l.cframe_current_frame.unwrap(), newest);
        let ts = fake.obj(l.ts_size.unwrap() / 8);
        fake.set(ts + l.ts_cframe.unwrap(), cframe);
        let recs = thread_frames(l, ts, &tc).unwrap();
        let stacks: Vec<_> = recs.iter().map(|r| r.stack.clone()).collect();
        assert_eq!(stacks, vec![None, None, Some(vec![0x5555_0000])]);
    }

    /// A 3.14+ thread, built from the generated layout: code, names, globals
    /// and a function, and frames whose `_PyStackRef` words are given raw.
    struct Thread314 {
        l: &'static Layout,
        fake: Fake,
        tc: TypeChecks,
        code: usize,
        func: usize,
        names: [usize; 2],
    }

    /// Tagged words (3.14+ GIL build): an owned pointer, a borrowed one, a
    /// tagged int, NULL.
    const OWNED: usize = 0x1000_0000;
    const BORROWED: usize = 0x2000_0000;
    fn borrowed(p: usize) -> usize {
        p | 1
    }
    fn tagged_int(i: usize) -> usize {
        (i << 2) | 3
    }
    const NULL: usize = 1;

    impl Thread314 {
        fn new(minor: u32) -> Thread314 {
            let l = generated_layout(3, minor).unwrap();
            let mut fake = Fake::new();
            let tc = checks(&mut fake);
            let names = [fake.obj(2), fake.obj(2)];
            let code = fake_code(&mut fake, l, &tc, &names, 2, 4);
            let func = fake.obj(2);
            fake.set(func + 8, tc.function);
            Thread314 { l, fake, tc, code, func, names }
        }

        /// A frame with `owner`, the two slots, and a stack of these words
        /// with the stack pointer after the last.
        fn frame(&mut self, owner: usize, slots: [usize; 2], stack: &[usize]) -> usize {
            let l = self.l;
            let f = self.fake.obj(l.iframe_localsplus.unwrap() / 8 + 8);
            let globals = self.fake.obj(2);
            self.fake.set(globals + 8, self.tc.dict);
            if owner >= l.owner_interpreter.unwrap() {
                // Entry (and base) frames: f_executable is Py_None | 1, the rest garbage.
                self.fake.set(f + l.iframe_code.unwrap(), borrowed(0x7777_0000));
                self.fake.set(f + l.iframe_func.unwrap(), 0x5555);
            } else {
                self.fake.set(f + l.iframe_code.unwrap(), self.code);
                self.fake.set(f + l.iframe_globals.unwrap(), globals);
                self.fake.set(f + l.iframe_func.unwrap(), self.func);
            }
            self.fake.set_u8(f + l.iframe_owner.unwrap(), owner as u8);
            let base = f + l.iframe_localsplus.unwrap();
            for (i, &w) in slots.iter().chain(stack).enumerate() {
                self.fake.set(base + 8 * i, w);
            }
            self.fake.set(f + l.iframe_stackpointer.unwrap(), base + 8 * (2 + stack.len()));
            f
        }

        fn link(&mut self, chain: &[usize]) {
            for w in chain.windows(2) {
                self.fake.set(w[0] + self.l.iframe_previous.unwrap(), w[1]);
            }
        }

        /// A thread state whose newest frame is `newest` (3.15: and whose base
        /// frame is embedded after it; returned too).
        fn tstate(&mut self, newest: usize) -> (usize, Option<usize>) {
            let l = self.l;
            let size = l.ts_impl_base_frame.map_or(l.ts_size.unwrap(), |at| at + l.iframe_size.unwrap());
            let ts = self.fake.obj(size / 8 + 1);
            self.fake.set(ts + l.ts_current_frame.unwrap(), newest);
            let base = l.ts_base_frame.map(|off| {
                let base = ts + l.ts_impl_base_frame.unwrap();
                self.fake.set(ts + off, base);
                self.fake.set_u8(base + l.iframe_owner.unwrap(), l.owner_interpreter.unwrap() as u8);
                self.fake.set(base + l.iframe_code.unwrap(), borrowed(0x7777_0000));
                base
            });
            (ts, base)
        }
    }

    #[test]
    fn untags_stack_refs_by_the_layouts_tags() {
        for minor in [14, 15] {
            let l = generated_layout(3, minor).unwrap();
            assert_eq!(untag(l, OWNED), (OWNED, false));
            assert_eq!(untag(l, borrowed(BORROWED)), (BORROWED, true));
            assert_eq!(untag(l, tagged_int(7)), (0, false));
            assert_eq!(untag(l, NULL), (0, false));
            assert_eq!(untag(l, 0), (0, false));
            assert_eq!(untag(l, 2), (0, false)); // 3.15's PyStackRef_ERROR
            assert_eq!(untag(l, BORROWED | 2), (0, false));
        }
        // Before 3.14 a slot is a plain strong reference, whatever its bits.
        let l = generated_layout(3, 13).unwrap();
        assert_eq!(untag(l, borrowed(BORROWED)), (borrowed(BORROWED), false));
    }

    /// 3.14: newest first, [running A] -> entry frame -> [B, called C code]
    /// -> C-stack frame -> [D, called B's C caller] -> [generator frame] ->
    /// [E, sent to the generator inline] -> the eval loop's first entry frame.
    #[test]
    fn walks_a_314_chain_with_tagged_refs() {
        let mut t = Thread314::new(14);
        let l = t.l;
        let (thread, interpreter, cstack) = (l.owner_thread.unwrap(), l.owner_interpreter.unwrap(), l.owner_cstack.unwrap());
        let stack = [OWNED + 0x100, borrowed(BORROWED + 0x100), tagged_int(5), NULL];
        let a = t.frame(thread, [OWNED, borrowed(BORROWED)], &stack);
        let entry = t.frame(interpreter, [0, 0], &[]);
        let b = t.frame(thread, [tagged_int(1), NULL], &stack);
        let shim = t.frame(cstack, [0, 0], &[]);
        let d = t.frame(thread, [OWNED + 8, 0], &stack);
        let g = t.frame(l.owner_generator.unwrap(), [OWNED + 16, 0], &[]);
        let e = t.frame(thread, [OWNED + 24, borrowed(BORROWED + 24)], &stack);
        let first = t.frame(interpreter, [0, 0], &[]);
        t.link(&[a, entry, b, shim, d, g, e, first]);
        // E's function and code are held without a reference of its own.
        let (code, func) = (t.code, t.func);
        t.fake.set(e + l.iframe_code.unwrap(), borrowed(code));
        t.fake.set(e + l.iframe_func.unwrap(), borrowed(func));
        let (ts, _) = t.tstate(a);

        let recs = thread_frames(l, ts, &t.tc).unwrap();
        assert_eq!(recs.iter().map(|r| r.addr).collect::<Vec<_>>(), vec![a, b, d, e]);
        assert!(recs.iter().all(|r| r.code == code && r.func == Some(func) && r.local_names == t.names));
        assert_eq!(
            recs.iter().map(|r| (r.code_borrowed, r.func_borrowed)).collect::<Vec<_>>(),
            [(false, false), (false, false), (false, false), (true, true)]
        );
        // Slots untagged: owned, borrowed, no object (tagged int, NULL).
        assert_eq!((recs[0].localsplus.clone(), recs[0].localsplus_borrowed.clone()), (vec![OWNED, BORROWED], vec![false, true]));
        assert_eq!((recs[1].localsplus.clone(), recs[1].localsplus_borrowed.clone()), (vec![0, 0], vec![false, false]));
        assert_eq!((recs[3].localsplus.clone(), recs[3].localsplus_borrowed.clone()), (vec![OWNED + 24, BORROWED + 24], vec![false, true]));
        // A is the newest (running); B and D called C (an entry or C-stack
        // frame above them): stale. E sent to the generator inline: its stack
        // is [localsplus + 2, stackpointer), the objects in it untagged.
        assert_eq!(recs.iter().map(|r| r.stack.is_some()).collect::<Vec<_>>(), [false, false, false, true]);
        assert_eq!(recs[3].stack, Some(vec![OWNED + 0x100, BORROWED + 0x100]));
        assert_eq!(recs[3].stack_borrowed, vec![false, true]);
        assert!(recs[..3].iter().all(|r| r.stack_borrowed.is_empty()));

        // A stack pointer beyond co_stacksize, below the slots, misaligned or
        // NULL: no stack, not an error.
        let sp = e + l.iframe_stackpointer.unwrap();
        let stack_base = e + l.iframe_localsplus.unwrap() + 16;
        for bad in [stack_base + 5 * 8, stack_base - 8, stack_base + 4, 0] {
            t.fake.set(sp, bad);
            let recs = thread_frames(l, ts, &t.tc).unwrap();
            assert_eq!((recs[3].stack.clone(), recs[3].stack_borrowed.clone()), (None, vec![]), "{bad:#x}");
        }
        // An empty stack, and one exactly co_stacksize deep.
        t.fake.set(sp, stack_base);
        assert_eq!(thread_frames(l, ts, &t.tc).unwrap()[3].stack, Some(vec![]));
        t.fake.set(sp, stack_base + 4 * 8);
        assert_eq!(thread_frames(l, ts, &t.tc).unwrap()[3].stack.as_ref().map(Vec::len), Some(2));

        // A tagged int where the code object should be fails the thread, as
        // does an owner that 3.14 does not have.
        t.fake.set(b + l.iframe_code.unwrap(), tagged_int(9));
        assert!(matches!(thread_frames(l, ts, &t.tc), Err(LayoutError::Mismatch { what: "_PyInterpreterFrame code", .. })));
        t.fake.set(b + l.iframe_code.unwrap(), code);
        t.fake.set_u8(b + l.iframe_owner.unwrap(), 5);
        assert!(matches!(thread_frames(l, ts, &t.tc), Err(LayoutError::Mismatch { what: "_PyInterpreterFrame.owner", .. })));
        t.fake.set_u8(b + l.iframe_owner.unwrap(), thread as u8);
        assert_eq!(thread_frames(l, ts, &t.tc).unwrap().len(), 4);

        // frame_object_slots untags the slots of a frame object's frame.
        let fo = t.fake.obj(l.frame_iframe.unwrap() / 8 + 1);
        t.fake.set(fo + 8, t.tc.frame);
        t.fake.set(fo + l.frame_iframe.unwrap(), a);
        assert_eq!(frame_object_slots(l, fo, &t.tc).unwrap(), vec![(OWNED, t.names[0]), (BORROWED, t.names[1])]);
    }

    /// 3.15: no C-stack frames; every chain ends at the base frame embedded
    /// in the thread state.
    #[test]
    fn walks_a_315_chain_down_to_the_base_frame() {
        let mut t = Thread314::new(15);
        let l = t.l;
        let (thread, interpreter) = (l.owner_thread.unwrap(), l.owner_interpreter.unwrap());
        let stack = [OWNED + 0x100, borrowed(BORROWED + 0x100)];
        let a = t.frame(thread, [OWNED, borrowed(BORROWED)], &stack);
        let b = t.frame(thread, [OWNED + 8, 0], &stack);
        let entry = t.frame(interpreter, [0, 0], &[]);
        let c = t.frame(thread, [OWNED + 16, 0], &stack);
        let (ts, base) = t.tstate(a);
        let base = base.unwrap();
        assert_eq!(base, ts + l.ts_size.unwrap());
        t.link(&[a, b, entry, c, base]);

        let recs = thread_frames(l, ts, &t.tc).unwrap();
        assert_eq!(recs.iter().map(|r| r.addr).collect::<Vec<_>>(), vec![a, b, c]);
        assert_eq!(recs[0].localsplus_borrowed, vec![false, true]);
        // B called A inline: its stack is current. C called C code: stale.
        assert_eq!(recs.iter().map(|r| r.stack.clone()).collect::<Vec<_>>(), [None, Some(vec![OWNED + 0x100, BORROWED + 0x100]), None]);
        assert_eq!(recs[1].stack_borrowed, vec![false, true]);

        // A thread that runs nothing: its chain is the base frame alone.
        let (idle, _) = t.tstate(0);
        let idle_base = idle + l.ts_impl_base_frame.unwrap();
        t.fake.set(idle + l.ts_current_frame.unwrap(), idle_base);
        assert_eq!(thread_frames(l, idle, &t.tc).unwrap(), vec![]);

        // A chain that ends anywhere else fails the thread...
        t.fake.set(c + l.iframe_previous.unwrap(), 0);
        let err = thread_frames(l, ts, &t.tc).unwrap_err();
        assert!(matches!(err, LayoutError::Mismatch { what: "the oldest frame of the thread", .. }), "{err}");
        t.fake.set(c + l.iframe_previous.unwrap(), base);
        // ...and so does a base_frame pointer that is not the embedded frame.
        t.fake.set(ts + l.ts_base_frame.unwrap(), entry);
        let err = thread_frames(l, ts, &t.tc).unwrap_err();
        assert!(matches!(err, LayoutError::Mismatch { what: "PyThreadState.base_frame", .. }), "{err}");
        t.fake.set(ts + l.ts_base_frame.unwrap(), base);
        // 3.14's C-stack owner (4) is no 3.15 owner.
        t.fake.set_u8(entry + l.iframe_owner.unwrap(), 4);
        assert!(matches!(thread_frames(l, ts, &t.tc), Err(LayoutError::Mismatch { what: "_PyInterpreterFrame.owner", .. })));
        t.fake.set_u8(entry + l.iframe_owner.unwrap(), interpreter as u8);
        assert_eq!(thread_frames(l, ts, &t.tc).unwrap().len(), 3);
    }
}
