//! The few fields of ordinary Python objects that the readers in this module
//! need: `ob_refcnt`, `ob_type`, `Py_SIZE`, tuple and list items, and the
//! bytes of a compact ASCII `str`.
//!
//! All of it goes through [`mem`](super::mem): an address handed in may be
//! stale or wrong, and must give an error, not a crash. Nothing here calls
//! Python, touches a reference count or allocates an object. Type checks
//! compare `ob_type` with a type object's address that the caller got from a
//! public API; this module has no other way to know what `tuple` is.
//!
//! The object header offsets are the same in every supported version (64-bit
//! GIL builds); a test checks the generated layouts agree with them.

use super::mem::{bytes, isize_at, u32_at, word, words};
use super::{Layout, LayoutError};

pub const OB_REFCNT: usize = 0;
pub const OB_TYPE: usize = 8;
pub const OB_SIZE: usize = 16;
pub const TUPLE_ITEMS: usize = 24;
pub const LIST_ITEMS: usize = 24;

/// No tuple, list or str this module reads is longer; more means a bad read.
pub const MAX_ITEMS: usize = 1 << 24;

/// `Py_TYPE(obj)`.
pub fn ob_type(obj: usize) -> Result<usize, LayoutError> {
    word(obj + OB_TYPE, "ob_type")
}

/// `Py_REFCNT(obj)` (3.12+ immortal objects show their large sentinel value).
pub fn ob_refcnt(obj: usize) -> Result<isize, LayoutError> {
    isize_at(obj + OB_REFCNT, "ob_refcnt")
}

/// `Py_SIZE(obj)` of a variable-size object.
pub fn py_size(obj: usize) -> Result<isize, LayoutError> {
    isize_at(obj + OB_SIZE, "ob_size")
}

/// Succeeds when `obj`'s type is exactly `ty`.
pub fn expect_type(obj: usize, ty: usize, what: &'static str, expected: &'static str) -> Result<(), LayoutError> {
    let found = ob_type(obj).map_err(|_| LayoutError::Unreadable { what, addr: obj })?;
    if found == ty {
        Ok(())
    } else {
        Err(LayoutError::mismatch(what, obj, format!("an object of type {expected} ({ty:#x}) as ob_type"), found))
    }
}

/// A count read from memory, checked to be sane.
fn count(n: isize, what: &'static str, addr: usize) -> Result<usize, LayoutError> {
    if n < 0 || n as usize > MAX_ITEMS {
        return Err(LayoutError::mismatch(what, addr, format!("a size in 0..={MAX_ITEMS}"), n as usize));
    }
    Ok(n as usize)
}

/// The items of a tuple, after checking `ob_type == tuple_type`.
pub fn tuple_items(tuple: usize, tuple_type: usize) -> Result<Vec<usize>, LayoutError> {
    expect_type(tuple, tuple_type, "tuple", "tuple")?;
    let n = count(py_size(tuple)?, "tuple size", tuple)?;
    words(tuple + TUPLE_ITEMS, n, "tuple items")
}

/// The items of a list, after checking `ob_type == list_type`.
pub fn list_items(list: usize, list_type: usize) -> Result<Vec<usize>, LayoutError> {
    expect_type(list, list_type, "list", "list")?;
    let n = count(py_size(list)?, "list size", list)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let items = word(list + LIST_ITEMS, "list ob_item")?;
    words(items, n, "list items")
}

/// The text of a compact ASCII `str` (most identifiers: names of functions,
/// locals, modules) after checking `ob_type == str_type`; `Ok(None)` for any
/// other kind of string, which this reader does not decode.
pub fn ascii_str(l: &Layout, obj: usize, str_type: usize) -> Result<Option<String>, LayoutError> {
    expect_type(obj, str_type, "str", "str")?;
    let state = u32_at(obj + l.need(l.str_state, "PyASCIIObject.state")?, "str state")?;
    let compact = (state >> l.need(l.str_compact_bit, "state.compact")?) & 1 == 1;
    let ascii = (state >> l.need(l.str_ascii_bit, "state.ascii")?) & 1 == 1;
    if !(compact && ascii) {
        return Ok(None);
    }
    let n = count(isize_at(obj + l.need(l.str_length, "PyASCIIObject.length")?, "str length")?, "str length", obj)?;
    let b = bytes(obj + l.need(l.str_ascii_size, "sizeof(PyASCIIObject)")?, n, "str data")?;
    if !b.is_ascii() {
        return Err(LayoutError::mismatch("str data", obj, "ASCII bytes", 0));
    }
    Ok(String::from_utf8(b).ok())
}
