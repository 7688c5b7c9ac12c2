//! Instance attributes kept without a dict (CPython 3.11+ "managed dicts").
//!
//! An instance of an ordinary class stores its attribute values in an array
//! beside the object, and the attribute names in its class's shared keys
//! table; the `__dict__` object is created only when someone asks for it.
//! Capture must label those values `.name` without asking (asking would
//! create the dict and change the heap), so this reads both arrays directly.
//!
//! Layouts, from each version's `internal/pycore_object.h` and `pycore_dict.h`:
//! - 3.11: values pointer four words before the object, `PyDictValues` is a
//!   bare array of `PyObject *`;
//! - 3.12: one tagged word three words before the object: odd = values
//!   pointer minus one, even = the dict;
//! - 3.13: values inline right after the object header (`Py_TPFLAGS_INLINE_VALUES`),
//!   a 4-byte header (`capacity`, `size`, `embedded`, `valid`) then the array.
//!
//! The shared keys (`PyDictKeysObject`, the same on 3.11–3.13 without
//! free-threading): `dk_log2_index_bytes` at byte 9, `dk_kind` at 10,
//! `dk_nentries` at 24, the index table at 32, then 16-byte entries
//! `{key, value}`. Only split tables (kind 2) are read.

/// `Py_TPFLAGS_MANAGED_DICT` (3.11+; the bit means nothing before).
const MANAGED_DICT: u64 = 1 << 4;
/// `Py_TPFLAGS_INLINE_VALUES` (3.13).
const INLINE_VALUES: u64 = 1 << 2;
const DICT_KEYS_SPLIT: u8 = 2;
/// No class has this many attributes; a larger count means a bad read.
const MAX_ENTRIES: usize = 1 << 16;

/// Do instances of a type with these flags keep a managed dict?
pub fn has_managed_dict(version: (u32, u32), tp_flags: u64) -> bool {
    version >= (3, 11) && tp_flags & MANAGED_DICT != 0
}

/// The values array of an instance whose attributes have no dict yet, with
/// its capacity where the layout records one, or `None` when it has a real
/// dict (then `tp_traverse` reports the dict).
///
/// # Safety
/// `obj` must be a live object whose type has `Py_TPFLAGS_MANAGED_DICT`, and
/// `version` the running interpreter's.
pub unsafe fn values_array(version: (u32, u32), obj: usize, tp_flags: u64) -> Option<(*const usize, usize)> {
    let word = |i: usize| *((obj - i * 8) as *const usize);
    match version {
        (3, 11) => {
            let values = word(4);
            (values != 0).then_some((values as *const usize, MAX_ENTRIES))
        }
        (3, 12) => {
            let tagged = word(3);
            (tagged & 1 == 1).then_some(((tagged + 1) as *const usize, MAX_ENTRIES))
        }
        (3, 13) if tp_flags & INLINE_VALUES != 0 => {
            let header = obj + 16;
            let capacity = usize::from(*(header as *const u8));
            let valid = *((header + 3) as *const u8);
            (valid != 0).then_some(((header + 8) as *const usize, capacity))
        }
        _ => None,
    }
}

/// The key objects of a class's shared keys table, in slot order.
///
/// # Safety
/// `keys` must be the `ht_cached_keys` of a live heap type (or null).
pub unsafe fn shared_keys(keys: usize) -> Vec<usize> {
    if keys == 0 {
        return Vec::new();
    }
    let kind = *((keys + 10) as *const u8);
    if kind != DICT_KEYS_SPLIT {
        return Vec::new();
    }
    let log2_index_bytes = *((keys + 9) as *const u8);
    let n = *((keys + 24) as *const isize);
    if log2_index_bytes > 20 || n < 0 || n as usize > MAX_ENTRIES {
        return Vec::new();
    }
    let entries = keys + 32 + (1usize << log2_index_bytes);
    (0..n as usize).map(|i| *((entries + 16 * i) as *const usize)).collect()
}
