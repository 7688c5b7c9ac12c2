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
//! GIL builds); a test checks the generated layouts agree with them. What
//! moved is read from the layout: a tuple's items (24 up to 3.13, 32 from
//! 3.14 on, after the cached `ob_hash`) and the refcount's width (8 bytes up
//! to 3.13, 4 from 3.14 on).

use super::mem::{bytes, isize_at, u32_at, word, words};
use super::{Layout, LayoutError};

pub const OB_REFCNT: usize = 0;
pub const OB_TYPE: usize = 8;
pub const OB_SIZE: usize = 16;
pub const LIST_ITEMS: usize = 24;

/// No tuple, list or str this module reads is longer; more means a bad read.
pub const MAX_ITEMS: usize = 1 << 24;

/// `Py_TYPE(obj)`.
pub fn ob_type(obj: usize) -> Result<usize, LayoutError> {
    word(obj + OB_TYPE, "ob_type")
}

/// `Py_REFCNT(obj)`: the whole word up to 3.13, its low 32 bits (the
/// `ob_refcnt` field) from 3.14 on, where the high half holds `ob_overflow`
/// and `ob_flags`. Immortal objects (3.12+) show their large sentinel value;
/// see [`is_immortal`].
pub fn ob_refcnt(l: &Layout, obj: usize) -> Result<isize, LayoutError> {
    match l.need(l.ob_refcnt_size, "sizeof(ob_refcnt)")? {
        4 => Ok(u32_at(obj + OB_REFCNT, "ob_refcnt")? as isize),
        _ => isize_at(obj + OB_REFCNT, "ob_refcnt"),
    }
}

/// `_Py_IsImmortal(obj)` on a 64-bit build: the 32-bit refcount is negative
/// as an `i32` (3.12/3.13 start immortal objects at 0xffffffff, 3.14+ at
/// 0xc0000000 and treat any count from 0x80000000 up as immortal). Always
/// `false` before 3.12, which has no immortal objects.
pub fn is_immortal(l: &Layout, obj: usize) -> Result<bool, LayoutError> {
    if l.immortal_refcnt.is_none() {
        return Ok(false);
    }
    Ok((u32_at(obj + OB_REFCNT, "ob_refcnt")? as i32) < 0)
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

/// The items of a tuple, after checking `ob_type == tuple_type`
/// (`ob_item` at the layout's `tuple_items`: 24, or 32 from 3.14 on).
pub fn tuple_items(l: &Layout, tuple: usize, tuple_type: usize) -> Result<Vec<usize>, LayoutError> {
    expect_type(tuple, tuple_type, "tuple", "tuple")?;
    let n = count(py_size(tuple)?, "tuple size", tuple)?;
    words(tuple + l.need(l.tuple_items, "PyTupleObject.ob_item")?, n, "tuple items")
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

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::super::generated_layout;
    use super::*;

    /// The refcount's width and what counts as immortal, per version.
    #[test]
    fn refcounts_and_immortality_follow_the_layout() {
        let mut fake = Fake::new();
        let obj = |fake: &mut Fake, word: u64| {
            let o = fake.alloc(16);
            fake.put_u64(o, word);
            o
        };
        let mortal = obj(&mut fake, 3);
        // 3.12/3.13: _Py_IMMORTAL_REFCNT; 3.14+: _Py_IMMORTAL_INITIAL_REFCNT
        // with ob_flags (static, immortal) in the high half, as `None` has it.
        let immortal_313 = obj(&mut fake, 0xffff_ffff);
        let immortal_314 = obj(&mut fake, 0x0005_0000_c000_0000);
        let mortal_with_flags = obj(&mut fake, 0x0008_0000_0000_0002);
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            assert_eq!(ob_refcnt(l, mortal).unwrap(), 3);
            assert!(!is_immortal(l, mortal).unwrap());
            assert_eq!(is_immortal(l, immortal_313).unwrap(), minor >= 12);
            assert_eq!(is_immortal(l, immortal_314).unwrap(), minor >= 12);
            if minor >= 14 {
                assert_eq!(ob_refcnt(l, immortal_314).unwrap(), l.immortal_refcnt.unwrap() as isize);
                assert_eq!(ob_refcnt(l, mortal_with_flags).unwrap(), 2);
            } else {
                assert_eq!(ob_refcnt(l, immortal_313).unwrap(), 0xffff_ffff);
            }
        }
        assert!(ob_refcnt(generated_layout(3, 14).unwrap(), 0x10).is_err());
    }
}
