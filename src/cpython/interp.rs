//! Holders of objects inside the interpreter state: what "held from outside
//! the heap" usually is. `sys.modules`, the `sys` and `builtins` dicts, the
//! codec registry, the `os.register_at_fork` lists and the atexit callbacks
//! are all kept by C fields of `PyInterpreterState` (3.9: the atexit
//! callbacks by the `atexit` module's private state instead).
//!
//! Where they live, by version:
//! - `modules`: `interp->modules` (3.9-3.11), `interp->imports.modules` (3.12+);
//! - codecs: `interp->codec_search_path` / `_cache` / `codec_error_registry`
//!   (3.9-3.12), `interp->codecs.search_path` / ... (3.13);
//! - fork handlers: `interp->before_forkers`, `after_forkers_parent`,
//!   `after_forkers_child` (lists, NULL until the first registration);
//! - atexit: 3.9 `atexitmodule_state` of `Modules/atexitmodule.c`
//!   (`{atexit_callback **atexit_callbacks; int ncallbacks; int callback_len}`),
//!   3.10/3.11 `interp->atexit.{callbacks, ncallbacks}` with `atexit_callback`
//!   records, 3.12+ the same fields holding `atexit_py_callback` records (the
//!   name `atexit_callback` now means the C-level `{func, data, next}` list).
//!   Every record is `{func, args, kwargs}`; an unregistered slot is NULL.
//! - threads: `interp->tstate_head` (3.9/3.10), `interp->threads.head` (3.11+).
//!
//! Everything is read through `mem` and believed only after the checks below
//! (the `modules` slot must be `sys.modules`, the atexit count must be
//! `atexit._ncallbacks()`, lists must be lists, dicts dicts). Never calls
//! Python, never allocates Python objects.

use super::mem::{i32_at, word, words};
use super::objects::expect_type;
use super::{Layout, LayoutError};

/// What the caller knows from public APIs, to check the layout against.
#[derive(Clone, Copy, Debug)]
pub struct InterpChecks {
    /// `id(sys.modules)`.
    pub modules: usize,
    /// `atexit._ncallbacks()`, where the running version has it (3.10+; on
    /// 3.9 it counts the module state's callbacks, see
    /// [`atexit_callbacks_from_module_state`]).
    pub atexit_count: Option<usize>,
    pub list_type: usize,
    pub dict_type: usize,
}

/// One `atexit.register(func, *args, **kwargs)` (all 0 for an unregistered slot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AtexitCallback {
    pub func: usize,
    /// The positional arguments tuple (never NULL for a live record).
    pub args: usize,
    /// The keyword arguments dict, or 0.
    pub kwargs: usize,
}

/// Objects the interpreter state holds, by what holds them (0 = none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterpHolders {
    pub modules: usize,
    pub sysdict: usize,
    pub builtins: usize,
    pub codec_search_path: usize,
    pub codec_search_cache: usize,
    pub codec_error_registry: usize,
    /// `os.register_at_fork(before=...)` list.
    pub fork_before: usize,
    pub fork_after_in_parent: usize,
    pub fork_after_in_child: usize,
    /// 3.10+, in registration order; 3.9 keeps them in the atexit module (see
    /// [`atexit_callbacks_from_module_state`]), so `None` there.
    pub atexit: Option<Vec<AtexitCallback>>,
}

/// No program registers more atexit callbacks; more means a bad read.
const MAX_CALLBACKS: usize = 1 << 20;
/// No process has more threads per interpreter.
const MAX_THREADS: usize = 1 << 20;

fn slot(interp: usize, off: Option<usize>, what: &'static str) -> Result<usize, LayoutError> {
    match off {
        Some(o) => word(interp + o, what),
        None => Ok(0),
    }
}

fn expect_type_or_null(obj: usize, ty: usize, what: &'static str, expected: &'static str) -> Result<(), LayoutError> {
    if obj == 0 {
        return Ok(());
    }
    expect_type(obj, ty, what, expected)
}

/// Confirms that `interp` is laid out as `l` says, against public values: its
/// `modules` slot must be `id(sys.modules)` and, if given, its `sysdict` slot
/// `id(sys.__dict__)`.
pub fn verify_interp(l: &Layout, interp: usize, expected_modules: usize, expected_sysdict: Option<usize>) -> Result<(), LayoutError> {
    let off = l.need(l.interp_modules, "interp.modules")?;
    let modules = word(interp + off, "interp.modules")?;
    if modules != expected_modules {
        return Err(LayoutError::mismatch("interp.modules", interp + off, format!("id(sys.modules) = {expected_modules:#x}"), modules));
    }
    if let Some(expected) = expected_sysdict {
        let off = l.need(l.interp_sysdict, "interp.sysdict")?;
        let sysdict = word(interp + off, "interp.sysdict")?;
        if sysdict != expected {
            return Err(LayoutError::mismatch("interp.sysdict", interp + off, format!("id(sys.__dict__) = {expected:#x}"), sysdict));
        }
    }
    Ok(())
}

/// Confirms that the thread state at `tstate` belongs to `interp` (its
/// `interp` field), which pins `PyThreadState`'s layout down.
pub fn verify_thread_state(l: &Layout, tstate: usize, interp: usize) -> Result<(), LayoutError> {
    let off = l.need(l.ts_interp, "PyThreadState.interp")?;
    let found = word(tstate + off, "PyThreadState.interp")?;
    if found != interp {
        return Err(LayoutError::mismatch("PyThreadState.interp", tstate + off, format!("the interpreter {interp:#x}"), found));
    }
    Ok(())
}

/// The thread states of `interp`, newest first (`threads.head` and `next`),
/// each checked to point back at `interp`. Only the interpreter's own lock
/// makes this list stable: call it with the GIL held.
pub fn interp_threads(l: &Layout, interp: usize) -> Result<Vec<usize>, LayoutError> {
    let next = l.need(l.ts_next, "PyThreadState.next")?;
    let mut ts = word(interp + l.need(l.interp_threads_head, "threads.head")?, "threads.head")?;
    let mut out = Vec::new();
    while ts != 0 {
        if out.len() >= MAX_THREADS {
            return Err(LayoutError::TooMany { what: "thread states", limit: MAX_THREADS });
        }
        verify_thread_state(l, ts, interp)?;
        out.push(ts);
        ts = word(ts + next, "PyThreadState.next")?;
    }
    Ok(out)
}

/// Reads and checks the holders of the interpreter state at `interp`:
/// [`verify_interp`] first, then the type of every non-NULL holder, then the
/// atexit count against `checks.atexit_count`.
pub fn interp_holders(l: &Layout, interp: usize, checks: &InterpChecks) -> Result<InterpHolders, LayoutError> {
    verify_interp(l, interp, checks.modules, None)?;
    let h = InterpHolders {
        modules: checks.modules,
        sysdict: slot(interp, l.interp_sysdict, "interp.sysdict")?,
        builtins: slot(interp, l.interp_builtins, "interp.builtins")?,
        codec_search_path: slot(interp, l.interp_codec_search_path, "codec search path")?,
        codec_search_cache: slot(interp, l.interp_codec_search_cache, "codec search cache")?,
        codec_error_registry: slot(interp, l.interp_codec_error_registry, "codec error registry")?,
        fork_before: slot(interp, l.interp_before_forkers, "before_forkers")?,
        fork_after_in_parent: slot(interp, l.interp_after_forkers_parent, "after_forkers_parent")?,
        fork_after_in_child: slot(interp, l.interp_after_forkers_child, "after_forkers_child")?,
        atexit: interp_atexit_callbacks(l, interp, checks.atexit_count)?,
    };
    for (obj, what, expected, ty) in [
        (h.sysdict, "interp.sysdict", "dict", checks.dict_type),
        (h.builtins, "interp.builtins", "dict", checks.dict_type),
        (h.codec_search_path, "codec search path", "list", checks.list_type),
        (h.codec_search_cache, "codec search cache", "dict", checks.dict_type),
        (h.codec_error_registry, "codec error registry", "dict", checks.dict_type),
        (h.fork_before, "before_forkers", "list", checks.list_type),
        (h.fork_after_in_parent, "after_forkers_parent", "list", checks.list_type),
        (h.fork_after_in_child, "after_forkers_child", "list", checks.list_type),
    ] {
        expect_type_or_null(obj, ty, what, expected)?;
    }
    Ok(h)
}

/// Checks a callback count read at `addr` against the capacity and, when
/// given, the public count.
fn checked_count(n: i32, len: Option<i32>, expected: Option<usize>, what: &'static str, addr: usize) -> Result<usize, LayoutError> {
    if n < 0 || n as usize > MAX_CALLBACKS || len.is_some_and(|len| len < n) {
        return Err(LayoutError::mismatch(what, addr, "0 <= ncallbacks <= callback_len", n as usize));
    }
    if let Some(expected) = expected {
        if n as usize != expected {
            return Err(LayoutError::mismatch(what, addr, format!("atexit._ncallbacks() = {expected}"), n as usize));
        }
    }
    Ok(n as usize)
}

/// 3.10+: the interpreter's atexit array (`None` on 3.9), checked against the
/// public count.
fn interp_atexit_callbacks(l: &Layout, interp: usize, expected: Option<usize>) -> Result<Option<Vec<AtexitCallback>>, LayoutError> {
    let (Some(arr_off), Some(n_off)) = (l.interp_atexit_callbacks, l.interp_atexit_ncallbacks) else {
        return Ok(None);
    };
    let n = i32_at(interp + n_off, "atexit.ncallbacks")?;
    let len = match l.interp_atexit_callback_len {
        Some(off) => Some(i32_at(interp + off, "atexit.callback_len")?),
        None => None,
    };
    let n = checked_count(n, len, expected, "atexit.ncallbacks", interp + n_off)?;
    let arr = word(interp + arr_off, "atexit.callbacks")?;
    read_callbacks(l, arr, n).map(Some)
}

/// An array of `n` pointers to `{func, args, kwargs}` records (NULL entries
/// were unregistered).
fn read_callbacks(l: &Layout, arr: usize, n: usize) -> Result<Vec<AtexitCallback>, LayoutError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let func = l.need(l.atexit_cb_func, "atexit callback func")?;
    let args = l.need(l.atexit_cb_args, "atexit callback args")?;
    let kwargs = l.need(l.atexit_cb_kwargs, "atexit callback kwargs")?;
    let size = l.need(l.atexit_cb_size, "sizeof atexit callback")?;
    let mut out = Vec::with_capacity(n);
    for p in words(arr, n, "atexit callback array")? {
        if p == 0 {
            out.push(AtexitCallback::default());
            continue;
        }
        let rec = words(p, size / 8, "atexit callback")?;
        out.push(AtexitCallback { func: rec[func / 8], args: rec[args / 8], kwargs: rec[kwargs / 8] });
    }
    Ok(out)
}

/// 3.9: the callbacks in the `atexit` module's state (`PyModule_GetState` of
/// the module; `PyModule_GetDef(module)->m_size` is 16, the size of the
/// state). The state is private to `Modules/atexitmodule.c`, so its layout
/// is restated by hand in `scripts/gen-layouts` and measured there.
/// `expected_count`: `atexit._ncallbacks()`, which on 3.9 reads this state.
pub fn atexit_callbacks_from_module_state(
    l: &Layout,
    state: usize,
    expected_count: Option<usize>,
) -> Result<Vec<AtexitCallback>, LayoutError> {
    let arr_off = l.need(l.atexit_module_callbacks, "atexit module state")?;
    let n_off = l.need(l.atexit_module_ncallbacks, "atexit module state")?;
    let len_off = l.need(l.atexit_module_callback_len, "atexit module state")?;
    let n = i32_at(state + n_off, "atexit module ncallbacks")?;
    let len = i32_at(state + len_off, "atexit module callback_len")?;
    let n = checked_count(n, Some(len), expected_count, "atexit module ncallbacks", state + n_off)?;
    let arr = word(state + arr_off, "atexit module callbacks")?;
    read_callbacks(l, arr, n)
}

/// [`atexit_callbacks_from_module_state`] without a public count.
pub fn atexit_module_callbacks(l: &Layout, state: usize) -> Result<Vec<AtexitCallback>, LayoutError> {
    atexit_callbacks_from_module_state(l, state, None)
}

#[cfg(test)]
mod tests {
    use super::super::generated_layout;
    use super::*;

    #[test]
    fn atexit_records_and_counts_are_checked() {
        for minor in 9..=13 {
            let l = generated_layout(3, minor).unwrap();
            let rec1 = [0x10_000usize, 0x20_000, 0];
            let rec2 = [0x30_000usize, 0x40_000, 0x50_000];
            let arr = [rec1.as_ptr() as usize, 0, rec2.as_ptr() as usize];
            // Lay a state/interp out in a buffer, as the layout says.
            let (arr_off, n_off, len_off) = if minor == 9 {
                (l.atexit_module_callbacks.unwrap(), l.atexit_module_ncallbacks.unwrap(), l.atexit_module_callback_len.unwrap())
            } else {
                (l.interp_atexit_callbacks.unwrap(), l.interp_atexit_ncallbacks.unwrap(), l.interp_atexit_callback_len.unwrap())
            };
            let mut buf = vec![0usize; arr_off.max(n_off).max(len_off) / 8 + 2];
            let base = buf.as_mut_ptr() as usize;
            // SAFETY: the three offsets lie inside `buf` (sized from their
            // maximum, plus two words), which is 8-aligned, owned here and
            // not otherwise borrowed; each write is of its field's C type.
            unsafe {
                *((base + arr_off) as *mut usize) = arr.as_ptr() as usize;
                *((base + n_off) as *mut i32) = 3;
                *((base + len_off) as *mut i32) = 32;
            }
            let got = if minor == 9 {
                atexit_callbacks_from_module_state(l, base, Some(3)).unwrap()
            } else {
                interp_atexit_callbacks(l, base, Some(3)).unwrap().unwrap()
            };
            assert_eq!(
                got,
                vec![
                    AtexitCallback { func: 0x10_000, args: 0x20_000, kwargs: 0 },
                    AtexitCallback::default(),
                    AtexitCallback { func: 0x30_000, args: 0x40_000, kwargs: 0x50_000 },
                ]
            );
            let wrong = if minor == 9 {
                atexit_callbacks_from_module_state(l, base, Some(2)).err()
            } else {
                interp_atexit_callbacks(l, base, Some(2)).err()
            };
            assert!(matches!(wrong, Some(LayoutError::Mismatch { .. })), "{minor}");
            // SAFETY: as above, inside `buf`.
            unsafe { *((base + len_off) as *mut i32) = 2 };
            let over = if minor == 9 {
                atexit_callbacks_from_module_state(l, base, None).err()
            } else {
                interp_atexit_callbacks(l, base, None).err()
            };
            assert!(matches!(over, Some(LayoutError::Mismatch { .. })), "{minor}");
            drop(buf);
        }
    }
}
