//! Holders of objects inside the interpreter state: what "held from outside
//! the heap" usually is. `sys.modules`, the `sys` and `builtins` dicts, the
//! codec registry, the `os.register_at_fork` lists and the atexit callbacks
//! are all kept by C fields of `PyInterpreterState` (3.9: the atexit
//! callbacks by the `atexit` module's private state instead).
//!
//! Where they live, by version:
//! - `modules`: `interp->modules` (3.9-3.11), `interp->imports.modules` (3.12+);
//! - codecs: `interp->codec_search_path` / `_cache` / `codec_error_registry`
//!   (3.9-3.12), `interp->codecs.search_path` / ... (3.13+);
//! - fork handlers: `interp->before_forkers`, `after_forkers_parent`,
//!   `after_forkers_child` (lists, NULL until the first registration);
//! - atexit: 3.9 `atexitmodule_state` of `Modules/atexitmodule.c`
//!   (`{atexit_callback **atexit_callbacks; int ncallbacks; int callback_len}`),
//!   3.10/3.11 `interp->atexit.{callbacks, ncallbacks}` with `atexit_callback`
//!   records, 3.12/3.13 the same fields holding `atexit_py_callback` records
//!   (the name `atexit_callback` now means the C-level `{func, data, next}`
//!   list). Every record is `{func, args, kwargs}`; an unregistered slot is
//!   NULL. 3.14+: `interp->atexit.callbacks` is a Python list of
//!   `(func, args, kwargs)` tuples, newest first (`atexit.register` inserts at
//!   0), `kwargs` None when none were given; `unregister` removes items.
//! - threads: `interp->tstate_head` (3.9/3.10), `interp->threads.head` (3.11+).
//! - interned strs: `interp->cached_objects.interned_strings` (3.12+; a static
//!   of `unicodeobject.c` before), a dict whose key and value of each entry
//!   are the same str. Up to 3.13 it holds strs only and stays untracked (no
//!   node of the heap); 3.14 tracks every dict, so it is captured, and its
//!   references to mortal interned strs are left out of their counts
//!   ([`interned_dict_uncounted`]).
//!
//! Everything is read through `mem` and believed only after the checks below
//! (the `modules` slot must be `sys.modules`, the atexit count within its
//! capacity and `atexit._ncallbacks()` where the caller knows it, lists must
//! be lists, dicts dicts). Never calls
//! Python, never allocates Python objects.

use super::mem::{i32_at, word, words, Memory};
use super::objects::{expect_type, list_items, ob_type, tuple_items};
use super::types::expect_type_named;
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
    /// The keyword arguments dict, or 0 (3.14+: where the tuple holds None).
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
    /// [`atexit_callbacks_from_module_state`]), so `None` there. On 3.14+ the
    /// three references of each are the items of a tuple in `atexit_list`
    /// (which `tp_traverse` reports), not of a C record.
    pub atexit: Option<Vec<AtexitCallback>>,
    /// 3.14+: the list `atexit.callbacks` (type-checked), which holds one
    /// `(func, args, kwargs)` tuple per callback, newest first; 0 before 3.14.
    pub atexit_list: usize,
    /// 3.12+: the dict of interned strs (type-checked).
    pub interned_strings: usize,
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
    let (atexit_list, atexit) = match l.interp_atexit_list {
        Some(_) => {
            let (list, callbacks) = interp_atexit_list(l, interp, checks)?;
            (list, Some(callbacks))
        }
        None => (0, interp_atexit_callbacks(l, interp, checks.atexit_count)?),
    };
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
        atexit,
        atexit_list,
        interned_strings: slot(interp, l.interp_interned_strings, "interned strings")?,
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
        (h.interned_strings, "interned strings", "dict", checks.dict_type),
    ] {
        expect_type_or_null(obj, ty, what, expected)?;
    }
    Ok(h)
}

/// The dict of interned strs of `interp` (3.12+), checked to be a dict; 0
/// on versions without the field (or before the first str was interned).
pub fn interned_strings(l: &Layout, interp: usize, dict_type: usize) -> Result<usize, LayoutError> {
    let dict = slot(interp, l.interp_interned_strings, "interned strings")?;
    expect_type_or_null(dict, dict_type, "interned strings", "dict")?;
    Ok(dict)
}

/// A str is interned and mortal (`SSTATE_INTERNED_MORTAL`): the `interned`
/// bits of its `state` word, read through `m` (`o` is a str).
pub fn str_is_mortal_interned(m: &impl Memory, l: &Layout, o: usize) -> Result<bool, LayoutError> {
    let b = m.bytes(o + l.need(l.str_state, "PyASCIIObject.state")?, 4, "str state")?;
    let state = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let shift = l.need(l.str_interned_shift, "state.interned")?;
    let mortal = l.need(l.sstate_interned_mortal, "SSTATE_INTERNED_MORTAL")?;
    Ok((state >> shift) & 0b11 == mortal as u32)
}

/// How many of the interned dict's two references to each mortal interned
/// str its traversal reports (the dict at `dict`, type-checked by
/// [`interp_holders`]): CPython leaves both out of the str's count
/// (`SSTATE_INTERNED_MORTAL`), so a capture that shows them must add them
/// back. A table of str keys only (`DICT_KEYS_UNICODE`, what the interned
/// dict always is) reports its values alone: 1; any other kind keys and
/// values: 2. `None` where the layout has no key kinds (before 3.11).
pub fn interned_dict_uncounted(l: &Layout, dict: usize) -> Result<Option<u64>, LayoutError> {
    let (Some(unicode), Some(kind_at)) = (l.dict_keys_unicode, l.dk_kind) else { return Ok(None) };
    let keys = word(dict + l.need(l.dict_ma_keys, "PyDictObject.ma_keys")?, "interned ma_keys")?;
    let kind = super::mem::u8_at(keys + kind_at, "interned dk_kind")?;
    Ok(Some(if usize::from(kind) == unicode { 1 } else { 2 }))
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

/// 3.14+: the list `atexit.callbacks` and the callbacks in it, in
/// registration order (the list is newest first). The list must be a list
/// holding `atexit._ncallbacks()` items (when given), each a tuple of three:
/// a callable (non-NULL), a tuple of arguments, and a dict of keyword
/// arguments or None (reported as 0). The tuple type is recognised by its
/// `tp_name` and must be the same for every tuple (the caller passes no
/// tuple type here).
fn interp_atexit_list(l: &Layout, interp: usize, checks: &InterpChecks) -> Result<(usize, Vec<AtexitCallback>), LayoutError> {
    let off = l.need(l.interp_atexit_list, "atexit.callbacks")?;
    let list = word(interp + off, "atexit.callbacks")?;
    let items = if list == 0 { Vec::new() } else { list_items(list, checks.list_type)? };
    if items.len() > MAX_CALLBACKS {
        return Err(LayoutError::TooMany { what: "atexit callbacks", limit: MAX_CALLBACKS });
    }
    if let Some(expected) = checks.atexit_count.filter(|&n| n != items.len()) {
        return Err(LayoutError::mismatch(
            "atexit.callbacks",
            list,
            format!("a list of atexit._ncallbacks() = {expected} items"),
            items.len(),
        ));
    }
    let mut tuple_type = 0;
    let mut none_type = 0;
    let mut out = Vec::with_capacity(items.len());
    for item in items.into_iter().rev() {
        if tuple_type == 0 {
            let ty = ob_type(item)?;
            expect_type_named(l, ty, "tuple", "atexit callback")?;
            tuple_type = ty;
        }
        let t = tuple_items(l, item, tuple_type)?;
        let &[func, args, kwargs] = t.as_slice() else {
            return Err(LayoutError::mismatch("atexit callback", item, "a tuple (func, args, kwargs)", t.len()));
        };
        if func == 0 {
            return Err(LayoutError::mismatch("atexit callback func", item, "a callable", 0));
        }
        expect_type(args, tuple_type, "atexit callback args", "tuple")?;
        let kwargs = if kwargs == 0 || ob_type(kwargs)? == checks.dict_type {
            kwargs
        } else if none_type != 0 && ob_type(kwargs)? == none_type {
            0
        } else {
            let ty = ob_type(kwargs)?;
            expect_type_named(l, ty, "NoneType", "atexit callback kwargs (a dict or None)")?;
            none_type = ty;
            0
        };
        out.push(AtexitCallback { func, args, kwargs });
    }
    Ok((list, out))
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

    /// 3.14+: `atexit.callbacks` is a list of `(func, args, kwargs)` tuples,
    /// newest first; the callbacks come back in registration order.
    #[test]
    fn atexit_list_of_tuples_is_read_and_checked() {
        use super::super::fake::Fake;
        use super::super::types::tests::fake_type;
        for minor in [14, 15] {
            let l = generated_layout(3, minor).unwrap();
            let mut fake = Fake::new();
            let named = |fake: &mut Fake, name: &str| fake_type(fake, l, name, 16, &[], 0);
            let (list_type, dict_type, tuple_type, none_type) =
                (named(&mut fake, "list"), named(&mut fake, "dict"), named(&mut fake, "tuple"), named(&mut fake, "NoneType"));
            let at = l.tuple_items.unwrap();
            assert_eq!(at, 32);
            let tuple = |fake: &mut Fake, ty: usize, items: &[usize]| {
                let t = fake.object(at + 8 * items.len(), ty);
                fake.put_isize(t + 16, items.len() as isize);
                for (i, &it) in items.iter().enumerate() {
                    fake.put_usize(t + at + 8 * i, it);
                }
                t
            };
            let list = |fake: &mut Fake, items: &[usize]| {
                let arr = fake.alloc(8 * items.len());
                for (i, &it) in items.iter().enumerate() {
                    fake.put_usize(arr + 8 * i, it);
                }
                let o = fake.object(40, list_type);
                fake.put_isize(o + 16, items.len() as isize);
                fake.put_usize(o + 24, arr);
                o
            };
            let (f, g) = (fake.object(16, dict_type), fake.object(16, dict_type)); // any objects
            let none = fake.object(16, none_type);
            let kwargs = fake.object(48, dict_type);
            let one = fake.object(16, dict_type);
            let (args_f, args_g) = (tuple(&mut fake, tuple_type, &[one]), tuple(&mut fake, tuple_type, &[]));
            // atexit.register(f, 1, k=2); atexit.register(g)
            let cb_f = tuple(&mut fake, tuple_type, &[f, args_f, kwargs]);
            let cb_g = tuple(&mut fake, tuple_type, &[g, args_g, none]);
            let callbacks = list(&mut fake, &[cb_g, cb_f]);
            let interp = fake.alloc(l.interp_size.unwrap());
            let modules = fake.object(48, dict_type);
            fake.put_usize(interp + l.interp_modules.unwrap(), modules);
            let off = l.interp_atexit_list.unwrap();
            fake.put_usize(interp + off, callbacks);
            let checks = InterpChecks { modules, atexit_count: Some(2), list_type, dict_type };
            let h = interp_holders(l, interp, &checks).unwrap();
            assert_eq!(h.atexit_list, callbacks);
            let expected = vec![AtexitCallback { func: f, args: args_f, kwargs }, AtexitCallback { func: g, args: args_g, kwargs: 0 }];
            assert_eq!(h.atexit, Some(expected.clone()));
            // Without a public count it is read all the same; with another, refused.
            assert_eq!(interp_holders(l, interp, &InterpChecks { atexit_count: None, ..checks }).unwrap().atexit, Some(expected));
            let err = interp_holders(l, interp, &InterpChecks { atexit_count: Some(3), ..checks }).unwrap_err();
            assert!(matches!(err, LayoutError::Mismatch { what: "atexit.callbacks", found: 2, .. }), "{err}");
            // Not a list; an item that is no tuple; a tuple of two; kwargs
            // that are neither a dict nor None; args that are no tuple.
            let bad_items = [&[f, args_f][..], &[f, args_f, callbacks], &[f, kwargs, none], &[0, args_f, none]];
            let mut bad_lists = vec![kwargs, list(&mut fake, &[cb_g, kwargs])];
            for items in bad_items {
                let t = tuple(&mut fake, tuple_type, items);
                bad_lists.push(list(&mut fake, &[t]));
            }
            for bad in bad_lists {
                fake.put_usize(interp + off, bad);
                let err = interp_holders(l, interp, &InterpChecks { atexit_count: None, ..checks }).unwrap_err();
                assert!(matches!(err, LayoutError::Mismatch { .. }), "{err}");
            }
            // A list not created yet is empty, which the count must say too.
            fake.put_usize(interp + off, 0);
            let h = interp_holders(l, interp, &InterpChecks { atexit_count: Some(0), ..checks }).unwrap();
            assert_eq!((h.atexit, h.atexit_list), (Some(vec![]), 0));
            assert!(interp_holders(l, interp, &checks).is_err());
        }
    }

    /// 3.12+: the interned dict is a holder (a dict, or refused); its key
    /// kind says how many of its references to a str the capture shows; a
    /// str's `interned` bits say whether it is mortal and interned.
    #[test]
    fn interned_strings_dict_and_mortal_strs_are_read() {
        use super::super::fake::Fake;
        use super::super::mem::Checked;
        use super::super::types::tests::fake_type;
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            let mut fake = Fake::new();
            let dict_type = fake_type(&mut fake, l, "dict", 48, &[], 0);
            let list_type = fake_type(&mut fake, l, "list", 40, &[], 0);
            let interp = fake.alloc(l.interp_size.unwrap());
            let dict = fake.object(48, dict_type);
            let keys = fake.alloc(64);
            fake.put_usize(dict + l.dict_ma_keys.unwrap(), keys);
            let Some(at) = l.interp_interned_strings else {
                assert!(minor < 12);
                assert_eq!(interned_strings(l, interp, dict_type).unwrap(), 0);
                continue;
            };
            fake.put_usize(interp + at, dict);
            assert_eq!(interned_strings(l, interp, dict_type).unwrap(), dict);
            let modules = fake.object(48, dict_type);
            fake.put_usize(interp + l.interp_modules.unwrap(), modules);
            let checks = InterpChecks { modules, atexit_count: None, list_type, dict_type };
            if l.interp_atexit_list.is_none() {
                assert_eq!(interp_holders(l, interp, &checks).unwrap().interned_strings, dict);
            }
            let kind_at = l.dk_kind.unwrap();
            fake.put_u8(keys + kind_at, l.dict_keys_unicode.unwrap() as u8);
            assert_eq!(interned_dict_uncounted(l, dict).unwrap(), Some(1));
            fake.put_u8(keys + kind_at, 0); // DICT_KEYS_GENERAL
            assert_eq!(interned_dict_uncounted(l, dict).unwrap(), Some(2));
            // A list where the dict should be is refused.
            let list = fake.object(40, list_type);
            fake.put_usize(interp + at, list);
            assert!(interned_strings(l, interp, dict_type).is_err());
            // The `interned` bits, beside the other state bits.
            let s = fake.object(64, 0x1000);
            let other = (1u32 << l.str_compact_bit.unwrap()) | (1 << l.str_ascii_bit.unwrap());
            for (state, mortal) in [(0u32, false), (1, true), (2, false), (3, false)] {
                let word = other | (state << l.str_interned_shift.unwrap());
                fake.put(s + l.str_state.unwrap(), &word.to_ne_bytes());
                assert_eq!(str_is_mortal_interned(&Checked, l, s).unwrap(), mortal, "3.{minor} state {state}");
            }
        }
    }
}
