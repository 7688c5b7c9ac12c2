//! Instance attributes kept without a dict (CPython 3.11+ "managed dicts").
//!
//! An instance of an ordinary class stores its attribute values in an array
//! beside the object, and the attribute names in its class's shared keys
//! table; the `__dict__` object is created only when someone asks for it.
//! Capture must label those values `.name` without asking (asking would
//! create the dict and change the heap), so this reads both arrays directly,
//! through [`mem`](super::mem): a wrong pointer is an error, never a crash.
//!
//! Layouts, from each version's `internal/pycore_object.h` and `pycore_dict.h`
//! (all offsets are generated: `Layout::preheader_*`, `inline_values_at`,
//! `dict_values_*`, `dk_*`, `dict_unicode_entry_*`):
//! - 3.11: the values pointer four words before the object, the dict pointer
//!   three words before; `PyDictValues` is a bare array of `PyObject *`;
//! - 3.12: one tagged word three words before the object: odd = values
//!   pointer minus one, even = the dict (or NULL);
//! - 3.13+: the dict pointer three words before; the values inline right after
//!   the object header (`Py_TPFLAGS_INLINE_VALUES`), a 4-byte header
//!   (`capacity`, `size`, `embedded`, `valid`) then the array.
//!
//! The shared keys (`PyDictKeysObject`, the same on 3.11–3.15 without
//! free-threading): `dk_log2_index_bytes`, `dk_kind`, `dk_nentries`, the index
//! table `dk_indices`, then `PyDictUnicodeEntry {me_key, me_value}` entries.
//! Only split tables (`DICT_KEYS_SPLIT`) are read.
//!
//! Cost: every read is a system call (1.3–1.5 µs here, debug or release), so
//! an instance costs two (the word before the object, then the values), and a
//! class's shared keys two more, which callers should read once per class per
//! capture.

use super::mem::Memory;
use super::{Layout, LayoutError};

/// No class has this many attributes; a larger count means a bad read.
const MAX_ENTRIES: usize = 1 << 16;
/// `dk_log2_index_bytes` of a real table is far below this.
const MAX_LOG2_INDEX_BYTES: u8 = 24;

/// Do instances of a type with these flags keep a managed dict? `false` on
/// versions without managed dicts (before 3.11) and unknown versions.
pub fn has_managed_dict(version: (u32, u32), tp_flags: u64) -> bool {
    super::generated_layout(version.0, version.1).is_some_and(|l| l.has_managed_dict(tp_flags))
}

impl Layout {
    /// [`has_managed_dict`] for this layout.
    pub fn has_managed_dict(&self, tp_flags: u64) -> bool {
        self.tpflags_managed_dict.is_some_and(|f| tp_flags & f as u64 != 0)
    }
}

/// Where the attribute values of an instance without a dict object are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValuesArray {
    /// Address of the first `PyObject *` slot.
    pub addr: usize,
    /// Slots the array has room for: 3.13's `capacity` byte; on 3.11/3.12 the
    /// array is as long as the class's shared keys table, so `usize::MAX`.
    pub capacity: usize,
}

impl ValuesArray {
    /// The first `n` slots (at most `capacity`), in shared-keys order; 0 where
    /// the attribute is unset. One read.
    pub fn read(&self, m: &impl Memory, n: usize) -> Result<Vec<usize>, LayoutError> {
        m.words(self.addr, n.min(self.capacity).min(MAX_ENTRIES), "managed dict values")
    }
}

fn before(obj: usize, off: usize, what: &'static str) -> Result<usize, LayoutError> {
    obj.checked_sub(off).ok_or(LayoutError::Unreadable { what, addr: obj })
}

/// The values array of an instance whose attributes have no dict object yet,
/// or `None` when the type has no managed dict, the attributes moved into a
/// real dict (then `tp_traverse` reports the dict), or 3.13 marks the inline
/// values invalid. `tp_flags` and `tp_basicsize` are those of `Py_TYPE(obj)`
/// (3.13 refuses inline values anywhere but right after a bare object header,
/// the only place its headers put them).
pub fn values_array(
    m: &impl Memory,
    l: &Layout,
    obj: usize,
    tp_flags: u64,
    tp_basicsize: usize,
) -> Result<Option<ValuesArray>, LayoutError> {
    if !l.has_managed_dict(tp_flags) {
        return Ok(None);
    }
    let values_at = l.need(l.dict_values_values, "PyDictValues.values")?;
    if let Some(off) = l.preheader_values {
        // 3.11: a plain pointer, NULL once the dict exists.
        let values = m.word(before(obj, off, "managed values pointer")?, "managed values pointer")?;
        return Ok((values != 0).then_some(ValuesArray { addr: values + values_at, capacity: usize::MAX }));
    }
    if let Some(off) = l.preheader_dict_or_values {
        // 3.12: odd = values - 1.
        let tagged = m.word(before(obj, off, "managed dict-or-values")?, "managed dict-or-values")?;
        return Ok((tagged & 1 == 1).then_some(ValuesArray { addr: tagged + 1 + values_at, capacity: usize::MAX }));
    }
    if let Some(at) = l.inline_values_at {
        // 3.13: inline after the header, when the type says so.
        if l.tpflags_inline_values.is_none_or(|f| tp_flags & f as u64 == 0) {
            return Ok(None);
        }
        if tp_basicsize != at {
            return Err(LayoutError::mismatch(
                "tp_basicsize of a type with inline values",
                obj,
                format!("{at} (sizeof(PyObject))"),
                tp_basicsize,
            ));
        }
        let values = obj + at;
        let header = m.bytes(values, values_at, "inline values header")?;
        let capacity = usize::from(header[l.need(l.dict_values_capacity, "PyDictValues.capacity")?]);
        let valid = header[l.need(l.dict_values_valid, "PyDictValues.valid")?];
        return Ok((valid != 0).then_some(ValuesArray { addr: values + values_at, capacity }));
    }
    Err(LayoutError::Missing(l.version.0, l.version.1, "managed dict values"))
}

/// The dict object of an instance with a managed dict, if it has been
/// created (`None` while the attributes are only in the values array, and
/// for types without a managed dict).
pub fn managed_dict(m: &impl Memory, l: &Layout, obj: usize, tp_flags: u64) -> Result<Option<usize>, LayoutError> {
    if !l.has_managed_dict(tp_flags) {
        return Ok(None);
    }
    if let Some(off) = l.preheader_dict_or_values {
        let tagged = m.word(before(obj, off, "managed dict-or-values")?, "managed dict-or-values")?;
        return Ok((tagged != 0 && tagged & 1 == 0).then_some(tagged));
    }
    let off = l.need(l.preheader_dict, "managed dict pointer")?;
    let dict = m.word(before(obj, off, "managed dict pointer")?, "managed dict pointer")?;
    Ok((dict != 0).then_some(dict))
}

/// The key objects (strs) of a class's shared keys table (its
/// `ht_cached_keys`), in slot order: `keys[i]` names slot `i` of every
/// instance's [`ValuesArray`]. Empty for NULL; an error for anything that is
/// not a split table of sane size. One read for the header, one for the entries.
pub fn shared_keys(m: &impl Memory, l: &Layout, keys: usize) -> Result<Vec<usize>, LayoutError> {
    if keys == 0 {
        return Ok(Vec::new());
    }
    let indices = l.need(l.dk_indices, "PyDictKeysObject.dk_indices")?;
    let header = m.bytes(keys, indices, "shared keys header")?;
    let kind = header[l.need(l.dk_kind, "dk_kind")?];
    let split = l.need(l.dict_keys_split, "DICT_KEYS_SPLIT")?;
    if usize::from(kind) != split {
        return Err(LayoutError::mismatch("shared keys dk_kind", keys, format!("DICT_KEYS_SPLIT ({split})"), usize::from(kind)));
    }
    let log2_index_bytes = header[l.need(l.dk_log2_index_bytes, "dk_log2_index_bytes")?];
    if log2_index_bytes > MAX_LOG2_INDEX_BYTES {
        return Err(LayoutError::mismatch(
            "shared keys dk_log2_index_bytes",
            keys,
            format!("at most {MAX_LOG2_INDEX_BYTES}"),
            log2_index_bytes.into(),
        ));
    }
    let at = l.need(l.dk_nentries, "dk_nentries")?;
    let n = isize::from_ne_bytes(header[at..at + 8].try_into().unwrap_or([0xff; 8]));
    if n < 0 || n as usize > MAX_ENTRIES {
        return Err(LayoutError::mismatch("shared keys dk_nentries", keys, format!("a count in 0..={MAX_ENTRIES}"), n as usize));
    }
    let entry = l.need(l.dict_unicode_entry_size, "sizeof(PyDictUnicodeEntry)")?;
    let key = l.need(l.dict_unicode_entry_key, "PyDictUnicodeEntry.me_key")?;
    if entry % 8 != 0 || key % 8 != 0 || key >= entry {
        return Err(LayoutError::mismatch("PyDictUnicodeEntry layout", keys, "8-byte aligned me_key inside the entry", key));
    }
    let entries = keys + indices + (1usize << log2_index_bytes);
    let all = m.words(entries, n as usize * (entry / 8), "shared keys entries")?;
    Ok(all.chunks_exact(entry / 8).map(|e| e[key / 8]).collect())
}

/// `(key, value)` of every set attribute of an instance without a dict
/// object, given its class's [`shared_keys`]; empty when it has a dict object
/// (or no managed dict). Two reads per instance.
pub fn managed_attributes(
    m: &impl Memory,
    l: &Layout,
    obj: usize,
    tp_flags: u64,
    tp_basicsize: usize,
    keys: &[usize],
) -> Result<Vec<(usize, usize)>, LayoutError> {
    let Some(values) = values_array(m, l, obj, tp_flags, tp_basicsize)? else {
        return Ok(Vec::new());
    };
    let values = values.read(m, keys.len())?;
    Ok(keys.iter().zip(values).filter(|&(&k, v)| k != 0 && v != 0).map(|(&k, v)| (k, v)).collect())
}

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::super::generated_layout;
    use super::super::mem::Checked;
    use super::*;

    /// A class's shared keys table with these key objects, laid out as `l` says.
    fn fake_keys(fake: &mut Fake, l: &Layout, keys: &[usize]) -> usize {
        let log2_index_bytes = 3;
        let entry = l.dict_unicode_entry_size.unwrap();
        let entries_at = l.dk_indices.unwrap() + (1 << log2_index_bytes);
        let k = fake.alloc(entries_at + entry * keys.len());
        fake.put_u8(k + l.dk_kind.unwrap(), l.dict_keys_split.unwrap() as u8);
        fake.put_u8(k + l.dk_log2_index_bytes.unwrap(), log2_index_bytes);
        fake.put_isize(k + l.dk_nentries.unwrap(), keys.len() as isize);
        for (i, &key) in keys.iter().enumerate() {
            fake.put_usize(k + entries_at + i * entry + l.dict_unicode_entry_key.unwrap(), key);
            // me_value of a split table is unused: make it loud.
            fake.put_usize(k + entries_at + i * entry + 8, 0xdead_0000);
        }
        k
    }

    /// An instance with room for the pre-header words and 4 inline slots;
    /// returns the object's address.
    fn fake_instance(fake: &mut Fake) -> usize {
        let block = fake.alloc(32 + 16 + 8 + 4 * 8);
        block + 32
    }

    const NAME_A: usize = 0xa000;
    const NAME_B: usize = 0xb000;
    const NAME_C: usize = 0xc000;

    #[test]
    fn reads_311_values_pointer_and_dict_pointer() {
        let l = generated_layout(3, 11).unwrap();
        let flags = l.tpflags_managed_dict.unwrap() as u64;
        let mut fake = Fake::new();
        let keys = fake_keys(&mut fake, l, &[NAME_A, NAME_B, NAME_C]);
        assert_eq!(shared_keys(&Checked, l, keys).unwrap(), vec![NAME_A, NAME_B, NAME_C]);
        let obj = fake_instance(&mut fake);
        let values = fake.alloc(3 * 8);
        fake.put_usize(values, 0x1111_0000);
        fake.put_usize(values + 16, 0x3333_0000);
        fake.put_usize(obj - l.preheader_values.unwrap(), values);
        let va = values_array(&Checked, l, obj, flags, 24).unwrap().unwrap();
        assert_eq!(va, ValuesArray { addr: values, capacity: usize::MAX });
        assert_eq!(va.read(&Checked, 3).unwrap(), vec![0x1111_0000, 0, 0x3333_0000]);
        let keys = shared_keys(&Checked, l, keys).unwrap();
        assert_eq!(managed_attributes(&Checked, l, obj, flags, 24, &keys).unwrap(), vec![(NAME_A, 0x1111_0000), (NAME_C, 0x3333_0000)]);
        assert_eq!(managed_dict(&Checked, l, obj, flags).unwrap(), None);
        // Once the dict exists, the values pointer is NULL.
        fake.put_usize(obj - l.preheader_values.unwrap(), 0);
        fake.put_usize(obj - l.preheader_dict.unwrap(), 0x7777_0000);
        assert_eq!(values_array(&Checked, l, obj, flags, 24).unwrap(), None);
        assert_eq!(managed_dict(&Checked, l, obj, flags).unwrap(), Some(0x7777_0000));
        assert!(managed_attributes(&Checked, l, obj, flags, 24, &keys).unwrap().is_empty());
        // No managed dict flag: nothing to read.
        assert_eq!(values_array(&Checked, l, obj, 0, 24).unwrap(), None);
        assert_eq!(managed_dict(&Checked, l, obj, 0).unwrap(), None);
    }

    #[test]
    fn reads_312_tagged_word() {
        let l = generated_layout(3, 12).unwrap();
        let flags = l.tpflags_managed_dict.unwrap() as u64;
        let mut fake = Fake::new();
        let keys = fake_keys(&mut fake, l, &[NAME_A, NAME_B]);
        let keys = shared_keys(&Checked, l, keys).unwrap();
        let obj = fake_instance(&mut fake);
        let values = fake.alloc(2 * 8);
        fake.put_usize(values + 8, 0x2222_0000);
        fake.put_usize(obj - l.preheader_dict_or_values.unwrap(), values - 1);
        assert_eq!(values_array(&Checked, l, obj, flags, 16).unwrap(), Some(ValuesArray { addr: values, capacity: usize::MAX }));
        assert_eq!(managed_attributes(&Checked, l, obj, flags, 16, &keys).unwrap(), vec![(NAME_B, 0x2222_0000)]);
        assert_eq!(managed_dict(&Checked, l, obj, flags).unwrap(), None);
        // Even: the dict.
        fake.put_usize(obj - l.preheader_dict_or_values.unwrap(), 0x7777_0000);
        assert_eq!(values_array(&Checked, l, obj, flags, 16).unwrap(), None);
        assert_eq!(managed_dict(&Checked, l, obj, flags).unwrap(), Some(0x7777_0000));
        fake.put_usize(obj - l.preheader_dict_or_values.unwrap(), 0);
        assert_eq!(managed_dict(&Checked, l, obj, flags).unwrap(), None);
    }

    /// 3.13-3.15 keep the values inline, after a bare object header.
    #[test]
    fn reads_313_inline_values() {
        for minor in 13..=15 {
            let l = generated_layout(3, minor).unwrap();
            let managed = l.tpflags_managed_dict.unwrap() as u64;
            let flags = managed | l.tpflags_inline_values.unwrap() as u64;
            let mut fake = Fake::new();
            let keys = fake_keys(&mut fake, l, &[NAME_A, NAME_B, NAME_C]);
            let keys = shared_keys(&Checked, l, keys).unwrap();
            let obj = fake_instance(&mut fake);
            let header = obj + l.inline_values_at.unwrap();
            fake.put_u8(header + l.dict_values_capacity.unwrap(), 2);
            fake.put_u8(header + l.dict_values_valid.unwrap(), 1);
            let slots = header + l.dict_values_values.unwrap();
            fake.put_usize(slots, 0x1111_0000);
            fake.put_usize(slots + 8, 0x2222_0000);
            fake.put_usize(slots + 16, 0x3333_0000); // beyond capacity 2: not read
            let va = values_array(&Checked, l, obj, flags, 16).unwrap().unwrap();
            assert_eq!(va, ValuesArray { addr: slots, capacity: 2 });
            assert_eq!(va.read(&Checked, 3).unwrap(), vec![0x1111_0000, 0x2222_0000]);
            assert_eq!(managed_attributes(&Checked, l, obj, flags, 16, &keys).unwrap(), vec![(NAME_A, 0x1111_0000), (NAME_B, 0x2222_0000)]);
            // Invalidated (the dict took the values over), or no inline values at all.
            fake.put_u8(header + l.dict_values_valid.unwrap(), 0);
            assert_eq!(values_array(&Checked, l, obj, flags, 16).unwrap(), None);
            assert_eq!(values_array(&Checked, l, obj, managed, 16).unwrap(), None);
            // Inline values anywhere but after a bare header are refused, not guessed.
            assert!(matches!(values_array(&Checked, l, obj, flags, 24), Err(LayoutError::Mismatch { .. })));
            // The dict pointer, untagged.
            fake.put_usize(obj - l.preheader_dict.unwrap(), 0x7777_0000);
            assert_eq!(managed_dict(&Checked, l, obj, managed).unwrap(), Some(0x7777_0000));
        }
    }

    #[test]
    fn bad_tables_and_pointers_are_errors() {
        for minor in 11..=15 {
            let l = generated_layout(3, minor).unwrap();
            let flags = (l.tpflags_managed_dict.unwrap() | l.tpflags_inline_values.unwrap_or(0)) as u64;
            let mut fake = Fake::new();
            let keys = fake_keys(&mut fake, l, &[NAME_A]);
            assert_eq!(shared_keys(&Checked, l, 0).unwrap(), Vec::<usize>::new());
            fake.put_u8(keys + l.dk_kind.unwrap(), 1);
            assert!(matches!(shared_keys(&Checked, l, keys), Err(LayoutError::Mismatch { what: "shared keys dk_kind", .. })), "{minor}");
            fake.put_u8(keys + l.dk_kind.unwrap(), 2);
            fake.put_isize(keys + l.dk_nentries.unwrap(), -1);
            assert!(
                matches!(shared_keys(&Checked, l, keys), Err(LayoutError::Mismatch { what: "shared keys dk_nentries", .. })),
                "{minor}"
            );
            fake.put_isize(keys + l.dk_nentries.unwrap(), 1);
            fake.put_u8(keys + l.dk_log2_index_bytes.unwrap(), 60);
            assert!(shared_keys(&Checked, l, keys).is_err(), "{minor}");
            assert!(matches!(shared_keys(&Checked, l, 0x18), Err(LayoutError::Unreadable { .. })), "{minor}");
            // An object near address 0, and one whose values pointer leads nowhere.
            assert!(matches!(values_array(&Checked, l, 0x10, flags, 16), Err(LayoutError::Unreadable { .. })), "{minor}");
            assert!(matches!(managed_dict(&Checked, l, 0x10, flags), Err(LayoutError::Unreadable { .. })), "{minor}");
            if minor < 13 {
                let obj = fake_instance(&mut fake);
                let off = l.preheader_values.or(l.preheader_dict_or_values).unwrap();
                fake.put_usize(obj - off, 0x21);
                let va = values_array(&Checked, l, obj, flags, 16).unwrap().unwrap();
                assert!(matches!(va.read(&Checked, 1), Err(LayoutError::Unreadable { .. })), "{minor}");
            }
        }
        // No managed dicts before 3.11.
        let l = generated_layout(3, 10).unwrap();
        assert!(!l.has_managed_dict(u64::MAX));
        assert_eq!(values_array(&Checked, l, 0x10, u64::MAX, 16).unwrap(), None);
        assert!(!has_managed_dict((3, 10), 1 << 4));
        assert!(has_managed_dict((3, 12), 1 << 4));
    }
}
