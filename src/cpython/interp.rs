//! Holders of objects inside the interpreter state: the things "held from
//! outside the heap" usually are. Read only after the layout is confirmed
//! against public values (the `modules` slot must be `sys.modules`, the atexit
//! count must be `atexit._ncallbacks()`, lists must be lists).

use super::mem::{i32_at, word, words};
use super::{Layout, LayoutError};

/// What the caller knows from public APIs, to check the layout against.
#[derive(Clone, Copy, Debug)]
pub struct InterpChecks {
    /// `id(sys.modules)`.
    pub modules: usize,
    /// `atexit._ncallbacks()`, where the running version has it.
    pub atexit_count: Option<usize>,
    pub list_type: usize,
    pub dict_type: usize,
}

/// One `atexit.register(func, *args, **kwargs)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtexitCallback {
    pub func: usize,
    pub args: usize,
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
    pub fork_before: usize,
    pub fork_after_in_parent: usize,
    pub fork_after_in_child: usize,
    /// 3.10+; 3.9 keeps them in the atexit module (see [`atexit_module_callbacks`]).
    pub atexit: Option<Vec<AtexitCallback>>,
}

const MAX_CALLBACKS: usize = 1 << 20;

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
    let found = word(obj + 8, what)?;
    if found != ty {
        return Err(LayoutError::Mismatch { what, addr: obj, expected, found });
    }
    Ok(())
}

/// Reads and checks the holders of the interpreter state at `interp`.
pub fn interp_holders(l: &Layout, interp: usize, checks: &InterpChecks) -> Result<InterpHolders, LayoutError> {
    let modules = slot(interp, l.interp_modules, "interp.modules")?;
    if modules != checks.modules {
        return Err(LayoutError::Mismatch { what: "interp.modules", addr: interp, expected: "id(sys.modules)", found: modules });
    }
    let h = InterpHolders {
        modules,
        sysdict: slot(interp, l.interp_sysdict, "interp.sysdict")?,
        builtins: slot(interp, l.interp_builtins, "interp.builtins")?,
        codec_search_path: slot(interp, l.interp_codec_search_path, "codec search path")?,
        codec_search_cache: slot(interp, l.interp_codec_search_cache, "codec search cache")?,
        codec_error_registry: slot(interp, l.interp_codec_error_registry, "codec error registry")?,
        fork_before: slot(interp, l.interp_before_forkers, "before_forkers")?,
        fork_after_in_parent: slot(interp, l.interp_after_forkers_parent, "after_forkers_parent")?,
        fork_after_in_child: slot(interp, l.interp_after_forkers_child, "after_forkers_child")?,
        atexit: atexit_callbacks(l, interp, checks)?,
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

/// 3.10+: the interpreter's atexit array, checked against the public count.
fn atexit_callbacks(l: &Layout, interp: usize, checks: &InterpChecks) -> Result<Option<Vec<AtexitCallback>>, LayoutError> {
    let (Some(arr_off), Some(n_off)) = (l.interp_atexit_callbacks, l.interp_atexit_ncallbacks) else {
        return Ok(None);
    };
    let n = i32_at(interp + n_off, "atexit.ncallbacks")?;
    if n < 0 || n as usize > MAX_CALLBACKS {
        return Err(LayoutError::Mismatch { what: "atexit.ncallbacks", addr: interp + n_off, expected: "a callback count", found: n as usize });
    }
    if let Some(expected) = checks.atexit_count {
        if n as usize != expected {
            return Err(LayoutError::Mismatch {
                what: "atexit.ncallbacks",
                addr: interp + n_off,
                expected: "atexit._ncallbacks()",
                found: n as usize,
            });
        }
    }
    let arr = word(interp + arr_off, "atexit.callbacks")?;
    read_callbacks(arr, n as usize).map(Some)
}

/// An array of `n` pointers to `{func, args, kwargs}` (NULL entries were
/// unregistered).
fn read_callbacks(arr: usize, n: usize) -> Result<Vec<AtexitCallback>, LayoutError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(n);
    for p in words(arr, n, "atexit callback array")? {
        if p == 0 {
            out.push(AtexitCallback { func: 0, args: 0, kwargs: 0 });
            continue;
        }
        let f = words(p, 3, "atexit callback")?;
        out.push(AtexitCallback { func: f[0], args: f[1], kwargs: f[2] });
    }
    Ok(out)
}

/// 3.9: the callbacks in an `atexit` module's state. The state is private to
/// `Modules/atexitmodule.c` (`{atexit_callback **atexit_callbacks; int
/// ncallbacks; int callback_len;}` with the same `{func, args, kwargs}`
/// entries), so it is written down here rather than generated.
pub fn atexit_module_callbacks(l: &Layout, state: usize) -> Result<Vec<AtexitCallback>, LayoutError> {
    if l.version != (3, 9) {
        return Err(LayoutError::Missing(l.version.0, l.version.1, "atexit module state"));
    }
    let arr = word(state, "atexit module state")?;
    let n = i32_at(state + 8, "atexit module ncallbacks")?;
    let len = i32_at(state + 12, "atexit module callback_len")?;
    if n < 0 || len < n || n as usize > MAX_CALLBACKS {
        return Err(LayoutError::Mismatch { what: "atexit module state", addr: state, expected: "0 <= ncallbacks <= callback_len", found: n as usize });
    }
    read_callbacks(arr, n as usize)
}
