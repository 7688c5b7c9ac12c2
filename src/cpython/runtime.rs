//! `_PyRuntime`, the interpreter's global state, and on 3.13+ the
//! `_Py_DebugOffsets` table at its start, which records, for out-of-process
//! debuggers, the offsets of the interpreter's key fields as its own compiler
//! laid them out. Comparing that table with the offsets compiled into refgraph
//! confirms at run time that the interpreter in this process was built with
//! the headers (and build flags) `scripts/gen-layouts` measured: same minor
//! version, no free-threading, no unexpected build option.
//!
//! The table grows with each version, and each layout carries the checks its
//! own table allows (`DEBUG_CHECKS` in the generator, positions measured in
//! that version's struct): 3.13 40 offsets, 3.14 45, 3.15 51.
//! - every version: `PyInterpreterState` size, `next`, `threads.head`,
//!   `imports.modules`, `sysdict`, `builtins`; `PyThreadState` size, `next`,
//!   `interp`, `current_frame`, `thread_id`; `_PyInterpreterFrame` size,
//!   `previous`, `f_executable`, `instr_ptr`, `localsplus`, `owner`;
//!   `PyCodeObject` size, `co_filename`, `co_name`, `co_qualname`,
//!   `co_firstlineno`, `co_localsplusnames`, `co_localspluskinds`,
//!   `co_code_adaptive` (the code type's `tp_basicsize`); `sizeof(PyObject)`,
//!   `ob_type`; tuple and list `ob_item`/`ob_size`; the sizes of `list`,
//!   `dict` and `str`; `PyASCIIObject` `state`, `length` and size;
//!   `PyTypeObject` size, `tp_name`, `tp_flags`;
//! - 3.14+: `_PyInterpreterFrame.stackpointer`;
//! - 3.15: `PyThreadState.base_frame`, `tp_basicsize`, `tp_dictoffset`,
//!   `sizeof(PyHeapTypeObject)`, `ht_cached_keys`,
//!   `sizeof(PyCompactUnicodeObject)`.
//!
//! What it cannot: `f_funcobj`, `f_globals`, `f_locals`, `frame_obj`,
//! `stacktop`, `co_nlocalsplus`, `co_stacksize`, the codec, fork-handler and
//! atexit fields, the `_PyStackRef` tags; those are confirmed by the checks
//! against public values instead (`verify_interp`, the counts and types in
//! `interp_holders`, the type checks in `thread_frames`).
//!
//! Never writes, never calls Python; `dlsym` only looks a name up.

use super::mem::{bytes, u64_at};
use super::{Layout, LayoutError};

/// The `cookie` that starts `_Py_DebugOffsets`.
pub(crate) const COOKIE: &[u8; 8] = b"xdebugpy";

/// The address of `_PyRuntime` in this process, if the interpreter exports it
/// (the `python` executable and `libpython` both do).
pub fn find_runtime() -> Option<usize> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only searches
    // the loaded objects' symbol tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_PyRuntime".as_ptr()) };
    (!p.is_null()).then_some(p as usize)
}

/// 3.13+: checks the debug offsets table at `runtime` (the address of
/// `_PyRuntime`, from [`find_runtime`]): its cookie, its version (the
/// layout's major.minor), that the build is not free-threaded, and every
/// offset it shares with `l`. Returns the names of the fields confirmed.
/// Versions without the table get `LayoutError::Missing`.
pub fn debug_offsets_check(l: &Layout, runtime: usize) -> Result<Vec<&'static str>, LayoutError> {
    let Some(table_off) = l.debug_offsets else {
        return Err(LayoutError::Missing(l.version.0, l.version.1, "_Py_DebugOffsets"));
    };
    let table = runtime + table_off;
    let cookie = bytes(table, 8, "_Py_DebugOffsets.cookie")?;
    if cookie != COOKIE {
        let found = u64::from_ne_bytes(cookie.try_into().unwrap_or([0; 8])) as usize;
        return Err(LayoutError::mismatch("_Py_DebugOffsets.cookie", table, "\"xdebugpy\"", found));
    }
    // PY_VERSION_HEX: 0xMMmmpprs.
    let hex = u64_at(table + 8, "_Py_DebugOffsets.version")?;
    let (major, minor) = ((hex >> 24) as u32 & 0xff, (hex >> 16) as u32 & 0xff);
    if (major, minor) != l.version {
        return Err(LayoutError::mismatch("_Py_DebugOffsets.version", table + 8, format!("{}.{}", l.version.0, l.version.1), hex as usize));
    }
    let free_threaded = u64_at(table + 16, "_Py_DebugOffsets.free_threaded")?;
    if free_threaded != 0 {
        return Err(LayoutError::mismatch("_Py_DebugOffsets.free_threaded", table + 16, "0 (a GIL build)", free_threaded as usize));
    }
    let mut confirmed = Vec::with_capacity(l.debug_checks.len());
    for c in l.debug_checks {
        let theirs = u64_at(runtime + c.at, c.what)? as usize;
        match (c.ours)(l) {
            Some(ours) if ours == theirs => confirmed.push(c.what),
            ours => {
                let expected = match ours {
                    Some(v) => format!("{v} (compiled into refgraph)"),
                    None => "no such field (compiled into refgraph)".to_string(),
                };
                return Err(LayoutError::mismatch(c.what, runtime + c.at, expected, theirs));
            }
        }
    }
    Ok(confirmed)
}

#[cfg(test)]
mod tests {
    use super::super::generated_layout;
    use super::*;

    /// A fake `_PyRuntime` built from each generated layout (3.13-3.15, each
    /// with its own table) must pass; one wrong offset must be named.
    #[test]
    fn debug_table_is_compared_field_by_field() {
        for (minor, hex, fields) in [(13, 0x030d_00f0, 40), (14, 0x030e_0af0, 45), (15, 0x030f_02f0, 51)] {
            let l = generated_layout(3, minor).unwrap();
            let end = l.debug_checks.iter().map(|c| c.at + 8).max().unwrap();
            let mut rt = vec![0u64; end / 8 + 1];
            rt[0] = u64::from_ne_bytes(*COOKIE);
            rt[1] = hex;
            for c in l.debug_checks {
                rt[c.at / 8] = (c.ours)(l).unwrap() as u64;
            }
            let base = rt.as_ptr() as usize;
            let ok = debug_offsets_check(l, base).unwrap();
            assert!(ok.contains(&"thread_state.current_frame") && ok.len() == l.debug_checks.len() && ok.len() == fields);
            assert_eq!(ok.contains(&"interpreter_frame.stackpointer"), minor >= 14);
            assert_eq!(ok.contains(&"thread_state.base_frame"), minor >= 15);
            assert_eq!(ok.contains(&"gen_object.gi_iframe"), minor >= 14);
            for what in ["interpreter_frame.owner", "tuple_object.ob_item", "code_object.co_code_adaptive"] {
                let c = l.debug_checks.iter().find(|c| c.what == what).unwrap();
                rt[c.at / 8] += 1;
                let err = debug_offsets_check(l, rt.as_ptr() as usize).unwrap_err();
                assert!(matches!(err, LayoutError::Mismatch { what: w, .. } if w == what), "{err}");
                rt[c.at / 8] -= 1;
            }
            rt[1] = hex - 0x0001_0000;
            assert!(debug_offsets_check(l, rt.as_ptr() as usize).is_err());
        }
        assert!(matches!(debug_offsets_check(generated_layout(3, 12).unwrap(), 0x1000), Err(LayoutError::Missing(3, 12, _))));
    }

    /// `_PyRuntime` is found exactly when an interpreter is loaded into the
    /// process (a plain `cargo test` binary links none; one built with the
    /// `python` feature links libpython), and then its cookie reads. Without
    /// it, the checked layout says that the debug table was not compared and
    /// falls back to the public-value checks, and a wrong address is an
    /// error that names the cookie, not a crash.
    #[test]
    fn the_runtime_is_found_exactly_when_an_interpreter_is_loaded() {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let loaded = maps.lines().any(|m| m.contains("/libpython3"));
        let rt = find_runtime();
        assert_eq!(rt.is_some(), loaded, "_PyRuntime {rt:?}, libpython mapped: {loaded}");
        let l = generated_layout(3, 13).unwrap();
        match rt {
            Some(rt) => assert!(super::super::mem::read_u64(rt).is_ok()),
            None => {
                let _serial = super::super::test_lock();
                let c = super::super::check::check_layout((3, 13), &Default::default(), find_runtime());
                assert!(c.layout.is_some(), "{:?}", c.notes);
                let expected =
                    format!("_PyRuntime is not exported here: the CPython 3.13 layout (measured on {}) was not compared", l.measured_on);
                assert!(c.notes[0].starts_with(&expected), "{:?}", c.notes);
            }
        }
        let err = debug_offsets_check(l, 0x40).unwrap_err();
        assert_eq!(err, LayoutError::Unreadable { what: "_Py_DebugOffsets.cookie", addr: 0x40 });
    }
}
