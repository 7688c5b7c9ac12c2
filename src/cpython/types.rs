//! Type objects, read through [`mem`](super::mem): their name, sizes, flags,
//! `__dict__` offset and member table.
//!
//! What it is for: the objects of types whose struct is private to a `.c`
//! file (`staticmethod`, `classmethod`, `property`, `functools.partial`), which
//! no header lets `scripts/gen-layouts` measure. Their fields are found at run
//! time from the type's own `tp_members` table (`PyMemberDef {name, type,
//! offset, flags, doc}`, laid out as the generated `Layout::member_*` say),
//! and their `__dict__` from `tp_dictoffset`. A member must be an object
//! pointer (`T_OBJECT` or `T_OBJECT_EX`, which 3.12 also calls
//! `Py_T_OBJECT_EX`) that lies inside `tp_basicsize`, or it is refused with
//! an error that names the type and the member.
//!
//! Never calls Python (no `getattr`, no descriptor `__get__`), never
//! allocates a Python object.

use super::mem::{bytes, read_cstr, word};
use super::{Layout, LayoutError};

/// No type has more members; a longer table means a bad read.
const MAX_MEMBERS: usize = 1024;
/// Longest `tp_name` or member name read.
const MAX_NAME: usize = 512;
/// How far up `tp_base` a member is looked for.
const MAX_BASES: usize = 64;

/// The fields of a type object that say how its instances are laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    /// `tp_name`: `staticmethod`, `functools.partial`, ...
    pub name: String,
    pub basicsize: usize,
    pub itemsize: isize,
    pub flags: u64,
    /// `tp_dictoffset`: 0 none, > 0 from the start, < 0 from the end (var-size).
    pub dictoffset: isize,
    /// `tp_members` (a `PyMemberDef` array ending in a NULL name), or 0.
    pub members: usize,
    /// `tp_base`, or 0 (`object`).
    pub base: usize,
}

/// One `PyMemberDef` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// `T_OBJECT`, `T_OBJECT_EX`, `T_INT`, ...
    pub type_code: i32,
    pub offset: isize,
    pub flags: i32,
}

fn name_at(addr: usize, what: &'static str) -> Result<String, LayoutError> {
    let b = read_cstr(addr, MAX_NAME).map_err(|_| LayoutError::Unreadable { what, addr })?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

fn isize_in(b: &[u8], at: usize) -> isize {
    isize::from_ne_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

fn i32_in(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}

/// The type object at `tp` (one read of its first `type_size` bytes, and one
/// for its name).
pub fn type_info(l: &Layout, tp: usize) -> Result<TypeInfo, LayoutError> {
    let size = l.need(l.type_size, "sizeof(PyTypeObject)")?;
    let b = bytes(tp, size, "type object")?;
    let usize_in = |at: usize| isize_in(&b, at) as usize;
    let name_ptr = usize_in(l.need(l.tp_name, "tp_name")?);
    let info = TypeInfo {
        name: if name_ptr == 0 { String::new() } else { name_at(name_ptr, "tp_name")? },
        basicsize: usize_in(l.need(l.tp_basicsize, "tp_basicsize")?),
        itemsize: isize_in(&b, l.need(l.tp_itemsize, "tp_itemsize")?),
        flags: usize_in(l.need(l.tp_flags, "tp_flags")?) as u64,
        dictoffset: isize_in(&b, l.need(l.tp_dictoffset, "tp_dictoffset")?),
        members: usize_in(l.need(l.tp_members, "tp_members")?),
        base: usize_in(l.need(l.tp_base, "tp_base")?),
    };
    if info.basicsize > 1 << 20 || (info.basicsize as isize) < 0 {
        return Err(LayoutError::mismatch("tp_basicsize", tp, "a size below 1 MiB", info.basicsize));
    }
    Ok(info)
}

/// The entries of a `tp_members` table (empty for NULL).
pub fn members(l: &Layout, table: usize) -> Result<Vec<Member>, LayoutError> {
    let size = l.need(l.member_size, "sizeof(PyMemberDef)")?;
    let (name, ty, off, flags) = (
        l.need(l.member_name, "PyMemberDef.name")?,
        l.need(l.member_type, "PyMemberDef.type")?,
        l.need(l.member_offset, "PyMemberDef.offset")?,
        l.need(l.member_flags, "PyMemberDef.flags")?,
    );
    let mut out = Vec::new();
    if table == 0 {
        return Ok(out);
    }
    loop {
        if out.len() >= MAX_MEMBERS {
            return Err(LayoutError::TooMany { what: "tp_members entries", limit: MAX_MEMBERS });
        }
        let at = table + out.len() * size;
        let b = bytes(at, size, "PyMemberDef")?;
        let name_ptr = isize_in(&b, name) as usize;
        if name_ptr == 0 {
            return Ok(out);
        }
        out.push(Member {
            name: name_at(name_ptr, "PyMemberDef.name")?,
            type_code: i32_in(&b, ty),
            offset: isize_in(&b, off),
            flags: i32_in(&b, flags),
        });
    }
}

fn member_error(type_name: &str, member: &str, problem: String) -> LayoutError {
    LayoutError::Member { type_name: type_name.to_string(), member: member.to_string(), problem }
}

/// The byte offset, inside an instance of the type at `tp`, of each member
/// named in `names` (same order), from the type's `tp_members` (and its
/// bases'). Each must be an object pointer (`T_OBJECT`/`T_OBJECT_EX`),
/// 8-aligned, after the object header and inside `tp_basicsize`; otherwise
/// the error names the type and the member.
pub fn member_offsets(l: &Layout, tp: usize, names: &[&str]) -> Result<Vec<usize>, LayoutError> {
    let info = type_info(l, tp)?;
    let mut table: Vec<Member> = members(l, info.members)?;
    let mut base = info.base;
    let mut depth = 0;
    while base != 0 && depth < MAX_BASES && names.iter().any(|n| !table.iter().any(|m| m.name == *n)) {
        let b = type_info(l, base)?;
        table.extend(members(l, b.members)?);
        base = b.base;
        depth += 1;
    }
    let object_kinds = [l.need(l.member_t_object, "T_OBJECT")?, l.need(l.member_t_object_ex, "T_OBJECT_EX")?];
    let header = l.need(l.object_size, "sizeof(PyObject)")?;
    names
        .iter()
        .map(|&n| {
            let m = table.iter().find(|m| m.name == n).ok_or_else(|| member_error(&info.name, n, "no such member in tp_members".into()))?;
            if !object_kinds.contains(&(m.type_code as usize)) {
                return Err(member_error(
                    &info.name,
                    n,
                    format!("type code {} is not T_OBJECT/T_OBJECT_EX ({object_kinds:?})", m.type_code),
                ));
            }
            let off = m.offset;
            if off < header as isize || off % 8 != 0 || off as usize + 8 > info.basicsize {
                return Err(member_error(&info.name, n, format!("offset {off} is not an aligned pointer in {header}..{}", info.basicsize)));
            }
            Ok(off as usize)
        })
        .collect()
}

/// The offset of the `__dict__` pointer in an instance of the type at `tp`
/// (`tp_dictoffset`), `None` if it has none. Only fixed offsets (> 0, inside
/// `tp_basicsize`) are accepted: a var-size type counts from the end of each
/// instance, which needs the instance's size.
pub fn dict_offset(l: &Layout, tp: usize) -> Result<Option<usize>, LayoutError> {
    let info = type_info(l, tp)?;
    let header = l.need(l.object_size, "sizeof(PyObject)")? as isize;
    match info.dictoffset {
        0 => Ok(None),
        off if off >= header && off % 8 == 0 && off as usize + 8 <= info.basicsize => Ok(Some(off as usize)),
        off => Err(member_error(
            &info.name,
            "__dict__",
            format!("tp_dictoffset {off} is not an aligned pointer in {header}..{}", info.basicsize),
        )),
    }
}

/// The object-pointer fields of a type found at run time, with the label each
/// should get: what [`fields_of`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeFields {
    /// The type object's address.
    pub ty: usize,
    /// `(label, byte offset in the instance)`, in the order asked for, then
    /// `("__dict__", tp_dictoffset)` when asked for and present.
    pub fields: Vec<(&'static str, usize)>,
}

/// [`member_offsets`] of `members` (each labelled by its member name), plus
/// `__dict__` from `tp_dictoffset` when `with_dict`.
pub fn fields_of(l: &Layout, tp: usize, members: &[&'static str], with_dict: bool) -> Result<TypeFields, LayoutError> {
    let offsets = member_offsets(l, tp, members)?;
    let mut fields: Vec<(&'static str, usize)> = members.iter().copied().zip(offsets).collect();
    if with_dict {
        if let Some(off) = dict_offset(l, tp)? {
            fields.push(("__dict__", off));
        }
    }
    Ok(TypeFields { ty: tp, fields })
}

/// [`type_info`] of `tp`, after checking that its `tp_name` is `expected`.
pub fn expect_type_named(l: &Layout, tp: usize, expected: &str, what: &'static str) -> Result<TypeInfo, LayoutError> {
    let info = type_info(l, tp)?;
    if info.name != expected {
        let ptr = word(tp + l.need(l.tp_name, "tp_name")?, "tp_name")?;
        return Err(LayoutError::mismatch(what, tp, format!("tp_name \"{expected}\" (found \"{}\")", info.name), ptr));
    }
    Ok(info)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::fake::Fake;
    use super::super::generated_layout;
    use super::*;

    /// A fake type object named `name` with these `(name, type code, offset)`
    /// members; returns its address.
    pub(crate) fn fake_type(
        fake: &mut Fake,
        l: &Layout,
        name: &str,
        basicsize: usize,
        members: &[(&str, usize, usize)],
        dictoffset: isize,
    ) -> usize {
        // Room for a heap type's fields too (`ht_cached_keys`).
        let tp = fake.alloc(l.type_size.unwrap().max(l.ht_cached_keys.unwrap() + 8));
        let name = fake.cstr(name);
        fake.put_usize(tp + l.tp_name.unwrap(), name);
        fake.put_usize(tp + l.tp_basicsize.unwrap(), basicsize);
        fake.put_isize(tp + l.tp_dictoffset.unwrap(), dictoffset);
        if !members.is_empty() {
            let size = l.member_size.unwrap();
            let table = fake.alloc(size * (members.len() + 1));
            for (i, &(n, code, off)) in members.iter().enumerate() {
                let at = table + i * size;
                let n = fake.cstr(n);
                fake.put_usize(at + l.member_name.unwrap(), n);
                fake.put_i32(at + l.member_type.unwrap(), code as i32);
                fake.put_isize(at + l.member_offset.unwrap(), off as isize);
                fake.put_i32(at + l.member_flags.unwrap(), 1); // READONLY
            }
            fake.put_usize(tp + l.tp_members.unwrap(), table);
        }
        tp
    }

    #[test]
    fn finds_members_and_dict_offset_of_a_private_struct() {
        for minor in 9..=15 {
            let l = generated_layout(3, minor).unwrap();
            let (obj, obj_ex) = (l.member_t_object.unwrap(), l.member_t_object_ex.unwrap());
            let mut fake = Fake::new();
            // Like staticmethod: {PyObject_HEAD; sm_callable; sm_dict}.
            let sm = fake_type(&mut fake, l, "staticmethod", 32, &[("__func__", obj, 16), ("__wrapped__", obj, 16)], 24);
            assert_eq!(member_offsets(l, sm, &["__func__"]).unwrap(), vec![16]);
            assert_eq!(dict_offset(l, sm).unwrap(), Some(24));
            let f = fields_of(l, sm, &["__func__"], true).unwrap();
            assert_eq!(f, TypeFields { ty: sm, fields: vec![("__func__", 16), ("__dict__", 24)] });
            let info = type_info(l, sm).unwrap();
            assert_eq!((info.name.as_str(), info.basicsize, info.dictoffset), ("staticmethod", 32, 24));
            // Like property: four members, no dict.
            let members = [("fget", obj, 16), ("fset", obj, 24), ("fdel", obj_ex, 32), ("__doc__", obj, 40), ("x", 1, 48)];
            let prop = fake_type(&mut fake, l, "property", 56, &members, 0);
            assert_eq!(member_offsets(l, prop, &["fget", "fset", "fdel", "__doc__"]).unwrap(), vec![16, 24, 32, 40]);
            assert_eq!(dict_offset(l, prop).unwrap(), None);
            // Errors name the type and the member.
            let e = member_offsets(l, prop, &["fget", "nope"]).unwrap_err();
            assert_eq!(e.to_string(), "property.nope: no such member in tp_members");
            let e = member_offsets(l, prop, &["x"]).unwrap_err();
            assert!(matches!(&e, LayoutError::Member { type_name, member, .. } if type_name == "property" && member == "x"), "{e}");
            let bad = fake_type(&mut fake, l, "functools.partial", 32, &[("func", obj, 40), ("args", obj, 12)], -8);
            assert!(member_offsets(l, bad, &["func"]).unwrap_err().to_string().starts_with("functools.partial.func: offset 40"));
            assert!(member_offsets(l, bad, &["args"]).is_err());
            assert!(dict_offset(l, bad).unwrap_err().to_string().starts_with("functools.partial.__dict__"));
            // A member inherited from tp_base.
            let sub = fake_type(&mut fake, l, "sub", 32, &[], 0);
            fake.put_usize(sub + l.tp_base.unwrap(), sm);
            assert_eq!(member_offsets(l, sub, &["__func__"]).unwrap(), vec![16]);
            // Not a type at all.
            assert!(matches!(type_info(l, 0x40), Err(LayoutError::Unreadable { .. })));
            assert!(expect_type_named(l, sm, "staticmethod", "staticmethod type").is_ok());
            assert!(matches!(expect_type_named(l, sm, "classmethod", "classmethod type"), Err(LayoutError::Mismatch { .. })));
        }
    }
}
