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
//!   3.13) and `previous` link `_PyInterpreterFrame`s on the thread's data
//!   stack. Their slots are strong references that no object reports, so the
//!   records carry them. Frames owned by a generator are skipped (the
//!   generator's `tp_traverse` reports their slots) and so are 3.12+'s C-stack
//!   shim frames (`FRAME_OWNED_BY_CSTACK`, which hold nothing).
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
//!
//! In every case the saved depth must also lie within the code object's
//! `co_stacksize`, or the stack is `None`. Where unsure, `None`: never a guess.

use super::mem::{i32_at, u8_at, word, words};
use super::objects::{expect_type, tuple_items as checked_tuple_items};
use super::{Layout, LayoutError};

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
    /// 3.11+: the function being run (strong; type-checked), if any.
    pub func: Option<usize>,
    /// The globals dict (type-checked). Borrowed on 3.11+: the function holds it.
    pub globals: usize,
    /// `f_locals` (strong), set for class bodies, module code and frames whose
    /// locals were asked for.
    pub locals: Option<usize>,
    /// Local, cell and free variable slots in `co_localsplusnames` order
    /// (3.9/3.10: `co_varnames`, then `co_cellvars`, then `co_freevars`);
    /// 0 where unset.
    pub localsplus: Vec<usize>,
    /// The name (a str object) of each slot: `local_names[i]` labels
    /// `localsplus[i]`.
    pub local_names: Vec<usize>,
    /// The non-NULL value-stack entries, bottom first, where the saved stack
    /// pointer can be trusted (see the module docs); `None` otherwise.
    pub stack: Option<Vec<usize>>,
}

fn nonzero(w: usize) -> Option<usize> {
    (w != 0).then_some(w)
}

/// The items of a names tuple, checked to be a tuple.
pub fn tuple_items(tuple: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    checked_tuple_items(tuple, checks.tuple)
}

/// The names of a code object's local, cell and free slots, in slot order.
pub fn local_names(l: &Layout, code: usize, checks: &TypeChecks) -> Result<Vec<usize>, LayoutError> {
    if let Some(off) = l.code_localsplusnames {
        return tuple_items(word(code + off, "co_localsplusnames")?, checks);
    }
    let mut names = Vec::new();
    for (off, what) in [(l.code_varnames, "co_varnames"), (l.code_cellvars, "co_cellvars"), (l.code_freevars, "co_freevars")] {
        names.extend(tuple_items(word(code + l.need(off, what)?, what)?, checks)?);
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
    Ok(FrameRecord {
        addr: f,
        is_object: true,
        owner: if gen != 0 { FrameOwner::Generator } else { FrameOwner::Thread },
        frame_obj: None,
        code,
        func: None,
        globals,
        locals,
        localsplus,
        local_names,
        stack,
    })
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

fn interpreter_frames(l: &Layout, tstate: usize, checks: &TypeChecks, limits: &FrameLimits) -> Result<Vec<FrameRecord>, LayoutError> {
    let mut out = Vec::new();
    let mut f = current_interpreter_frame(l, tstate)?;
    let previous = l.need(l.iframe_previous, "previous")?;
    let owner_at = l.need(l.iframe_owner, "owner")?;
    // Is the saved stack pointer of the next (older) frame current? Not for
    // the newest frame: its pointer lives in the eval loop's registers.
    let mut stack_trusted = false;
    let mut seen = 0;
    while f != 0 {
        seen += 1;
        if seen > limits.max_frames {
            return Err(LayoutError::TooMany { what: "frames", limit: limits.max_frames });
        }
        let owner = usize::from(u8_at(f + owner_at, "_PyInterpreterFrame.owner")?);
        let next = word(f + previous, "_PyInterpreterFrame.previous")?;
        if l.owner_cstack == Some(owner) {
            // A C function called back into Python: the older frame made a C
            // call, so its saved stack pointer is stale.
            stack_trusted = false;
            f = next;
            continue;
        }
        let is_entry = match l.iframe_is_entry {
            Some(off) => u8_at(f + off, "_PyInterpreterFrame.is_entry")? != 0,
            None => false,
        };
        if l.owner_generator == Some(owner) {
            // Reported by the generator's tp_traverse; still decides whether
            // the older frame's stack is current (3.12+ inlines generator
            // sends, saving the sender's stack pointer).
        } else if l.owner_thread == Some(owner) || l.owner_frame_object == Some(owner) {
            let owner = if l.owner_thread == Some(owner) { FrameOwner::Thread } else { FrameOwner::FrameObject };
            out.push(read_interpreter_frame(l, f, checks, stack_trusted, owner, limits)?);
        } else {
            return Err(LayoutError::mismatch("_PyInterpreterFrame.owner", f + owner_at, "a FRAME_OWNED_BY_* value", owner));
        }
        stack_trusted = !is_entry;
        f = next;
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
    let code = word(f + l.need(l.iframe_code, "f_code")?, "f_code")?;
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
    let localsplus = words(base, n, "localsplus")?;
    let func = nonzero(word(f + l.need(l.iframe_func, "f_func")?, "f_func")?);
    if let Some(func) = func {
        expect_type(func, checks.function, "_PyInterpreterFrame function", "function")?;
    }
    let locals = nonzero(word(f + l.need(l.iframe_locals, "f_locals")?, "f_locals")?);
    let frame_obj = nonzero(word(f + l.need(l.iframe_frame_obj, "frame_obj")?, "frame_obj")?);
    if let Some(fo) = frame_obj {
        expect_type(fo, checks.frame, "_PyInterpreterFrame.frame_obj", "frame")?;
    }
    let stack = if stack_trusted { interpreter_frame_stack(l, f, code, n, base)? } else { None };
    Ok(FrameRecord { addr: f, is_object: false, owner, frame_obj, code, func, globals, locals, localsplus, local_names, stack })
}

/// The value stack between the slots and the saved stack pointer, when the
/// pointer is within the code's declared stack size (a running 3.12+ frame
/// has -1 there).
fn interpreter_frame_stack(l: &Layout, f: usize, code: usize, nslots: usize, base: usize) -> Result<Option<Vec<usize>>, LayoutError> {
    let top = i64::from(i32_at(f + l.need(l.iframe_stacktop, "stacktop")?, "stacktop")?);
    let size = i64::from(i32_at(code + l.need(l.code_stacksize, "co_stacksize")?, "co_stacksize")?);
    let nslots = nslots as i64;
    if top < nslots || size < 0 || top > nslots + size {
        return Ok(None);
    }
    let depth = (top - nslots) as usize;
    Ok(Some(words(base + nslots as usize * 8, depth, "value stack")?.into_iter().filter(|&w| w != 0).collect()))
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
        fn tuple(&mut self, ty: usize, items: &[usize]) -> usize {
            let t = self.obj(3 + items.len());
            self.set(t + 8, ty);
            self.set(t + 16, items.len());
            for (i, &it) in items.iter().enumerate() {
                self.set(t + 24 + 8 * i, it);
            }
            t
        }
    }

    fn checks(fake: &mut Fake) -> TypeChecks {
        TypeChecks { code: fake.obj(1), frame: fake.obj(1), tuple: fake.obj(1), dict: fake.obj(1), function: fake.obj(1) }
    }

    /// Builds a 3.12 thread: newest first, [running A] -> shim -> [B, called
    /// A from C] -> [generator frame] -> [C, sent to the generator inline].
    #[test]
    fn walks_a_312_chain_and_applies_the_stack_rules() {
        let l = generated_layout(3, 12).unwrap();
        let mut fake = Fake::new();
        let tc = checks(&mut fake);
        let names = [fake.obj(2), fake.obj(2)];
        let names_tuple = fake.tuple(tc.tuple, &names);
        let code = fake.obj(l.code_size.unwrap() / 8 + 1);
        fake.set(code + 8, tc.code);
        fake.set_i32(code + l.code_nlocalsplus.unwrap(), 2);
        fake.set_i32(code + l.code_stacksize.unwrap(), 4);
        fake.set(code + l.code_localsplusnames.unwrap(), names_tuple);
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
        assert_eq!(recs[0].local_names, names.to_vec());
        assert_eq!(recs[0].func, Some(func));
        assert_eq!(recs[0].globals, globals);
        // Newest: stale. B called C code (shim above it): stale. C sent to the
        // generator inline: current, stacktop 3 = 2 slots + 1 entry.
        assert_eq!(recs[0].stack, None);
        assert_eq!(recs[1].stack, None);
        assert_eq!(recs[2].stack, Some(vec![0xaaaa_0000]));

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
        let names_tuple = fake.tuple(tc.tuple, &[]);
        let code = fake.obj(l.code_size.unwrap() / 8 + 1);
        fake.set(code + 8, tc.code);
        fake.set_i32(code + l.code_stacksize.unwrap(), 2);
        fake.set(code + l.code_localsplusnames.unwrap(), names_tuple);
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
}
