//! The built-in types the capture recognises, by the addresses of their type
//! objects (looked up once, by the Python front end, when the module is
//! imported: looking them up during a capture could run Python code), and
//! what the capture learns from a type object: its name, its kind, its
//! instances' shallow size.

use std::ffi::CStr;

use pyo3::ffi;

use super::LiveHeap;
use crate::capture::source::{dict_get_str, HeapSource, Kind, Shape};
use crate::cpython::generators::GeneratorTypes;
use crate::cpython::Layout;

/// Type objects compared by identity during a capture, as addresses.
#[derive(Clone, Copy, Debug)]
pub struct KnownTypes {
    pub dict: usize,
    pub list: usize,
    pub tuple: usize,
    pub set: usize,
    pub frozenset: usize,
    pub str_: usize,
    pub bytes: usize,
    pub int: usize,
    pub bool_: usize,
    pub float: usize,
    pub none: usize,
    pub function: usize,
    pub cfunction: usize,
    pub method: usize,
    pub cell: usize,
    pub module: usize,
    pub code: usize,
    pub frame: usize,
    pub staticmethod: usize,
    pub classmethod: usize,
    pub property: usize,
    pub partial: usize,
    /// `generator`, `coroutine`, `async_generator`.
    pub generators: GeneratorTypes,
    /// `(major, minor)` of the running interpreter.
    pub version: (u32, u32),
}

impl KnownTypes {
    /// What instances of `tp` are: exact built-ins by identity, then the
    /// subclasses of dict, list, tuple, type and str by their flags.
    ///
    /// # Safety
    /// `tp` is a live type object.
    pub(crate) unsafe fn shape(&self, tp: *mut ffi::PyTypeObject) -> Shape {
        // SAFETY: the caller's contract: the flags are the type's own.
        let flags = unsafe { (*tp).tp_flags };
        let (kind, exact) = self.kind(tp, flags);
        let heap_type = flags & ffi::Py_TPFLAGS_HEAPTYPE != 0;
        // SAFETY: the caller's contract.
        let c_base = heap_type && unsafe { has_c_base(tp) };
        Shape { kind, exact, heap_type, c_base }
    }

    fn kind(&self, tp: *mut ffi::PyTypeObject, flags: u64) -> (Kind, bool) {
        let t = tp as usize;
        let exact = [
            (self.str_, Kind::Str),
            (self.int, Kind::Int),
            (self.bool_, Kind::Bool),
            (self.float, Kind::Float),
            (self.none, Kind::None),
            (self.dict, Kind::Dict),
            (self.list, Kind::List),
            (self.tuple, Kind::Tuple),
            (self.set, Kind::Set),
            (self.frozenset, Kind::FrozenSet),
            (self.bytes, Kind::Bytes),
            (self.module, Kind::Module),
            (self.function, Kind::Function),
            (self.method, Kind::Method),
            (self.cfunction, Kind::BuiltinFunction),
            (self.cell, Kind::Cell),
            (self.code, Kind::Code),
            (self.frame, Kind::Frame),
            (self.staticmethod, Kind::StaticMethod),
            (self.classmethod, Kind::ClassMethod),
            (self.property, Kind::Property),
            (self.partial, Kind::Partial),
        ];
        if let Some(&(_, kind)) = exact.iter().find(|(a, _)| *a == t && t != 0) {
            return (kind, true);
        }
        let sub = [
            (ffi::Py_TPFLAGS_DICT_SUBCLASS, Kind::Dict),
            (ffi::Py_TPFLAGS_LIST_SUBCLASS, Kind::List),
            (ffi::Py_TPFLAGS_TUPLE_SUBCLASS, Kind::Tuple),
            (ffi::Py_TPFLAGS_TYPE_SUBCLASS, Kind::Type),
            (ffi::Py_TPFLAGS_UNICODE_SUBCLASS, Kind::Str),
        ];
        match sub.iter().find(|(bit, _)| flags & bit != 0) {
            Some(&(_, kind)) => (kind, false),
            None => (Kind::Other, false),
        }
    }
}

/// Does a C type other than `object` lie on `tp`'s base chain?
///
/// # Safety
/// `tp` is a live type object.
unsafe fn has_c_base(tp: *mut ffi::PyTypeObject) -> bool {
    let object = std::ptr::addr_of_mut!(ffi::PyBaseObject_Type);
    let mut t = tp;
    // SAFETY: the caller's contract: each base is a live type.
    unsafe {
        for _ in 0..64 {
            if t.is_null() {
                return false;
            }
            if (*t).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 || is_c_heap_type(t) {
                return t != object;
            }
            t = (*t).tp_base;
        }
    }
    false
}

/// A heap type made by C code from a spec (3.10+ stdlib types such as
/// `functools._lru_cache_wrapper`), which a class statement never makes:
/// they are immutable (`Py_TPFLAGS_IMMUTABLETYPE`, 3.10+), and their
/// members are C fields, not slots.
///
/// # Safety
/// `t` is a live type object.
unsafe fn is_c_heap_type(t: *mut ffi::PyTypeObject) -> bool {
    const IMMUTABLETYPE: u64 = 1 << 8;
    // SAFETY: the caller's contract.
    cfg!(Py_3_10) && unsafe { (*t).tp_flags } & IMMUTABLETYPE != 0
}

/// The qualified name of a type: `dict`, `logging.Logger`, `_io.TextIOWrapper`.
///
/// # Safety
/// `tp` is a live type object, during a capture.
pub(crate) unsafe fn type_name(heap: &LiveHeap<'_>, tp: *mut ffi::PyTypeObject) -> String {
    // SAFETY: the caller's contract: the name is the type's own C string,
    // its qualname and `__module__` its own objects.
    unsafe {
        let tp_name = match (*tp).tp_name.is_null() {
            true => String::new(),
            false => CStr::from_ptr((*tp).tp_name).to_string_lossy().into_owned(),
        };
        if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
            return tp_name;
        }
        let text = |o: usize| heap.str_of(o).map(|s| s.text.to_string_max(200));
        let ht = tp as *mut ffi::PyHeapTypeObject;
        let qual = text((*ht).ht_qualname as usize).unwrap_or_else(|| tp_name.rsplit('.').next().unwrap_or("").to_string());
        let module = dict_get_str(heap, (*tp).tp_dict as usize, "__module__").and_then(text);
        match module.as_deref() {
            Some("builtins") | None => qual,
            Some(m) => format!("{m}.{qual}"),
        }
    }
}

/// Shallow size from the type's layout, as `sys.getsizeof` reports it for
/// built-in types and for instances of classes that inherit their
/// `__sizeof__`, without calling it: the basic size and items, what a
/// list, dict, str or set keeps beside itself (a dict's key table unless a
/// class shares it, its split values), a class's shared keys, and the words
/// in front of the object (the collector's header, 3.11+'s managed-dict
/// words). Without a checked layout, the basic size and items only.
/// C types with a `__sizeof__` of their own beyond these (deque,
/// OrderedDict, bytearray, `_io` buffers) and generators and coroutines
/// (sized by their code) get their basic size; `tests/python/test_sizes.py`
/// lists what differs per version.
///
/// # Safety
/// `o` is a live object of type `tp`, of kind `kind`.
pub(crate) unsafe fn shallow_size(
    o: *mut ffi::PyObject,
    tp: *mut ffi::PyTypeObject,
    kind: Kind,
    k: &KnownTypes,
    layout: Option<&Layout>,
) -> u64 {
    // SAFETY: the caller's contract: sizes and counts are the object's and
    // its type's own fields.
    unsafe {
        let mut size = (*tp).tp_basicsize.max(0) as u64;
        if (*tp).tp_itemsize != 0 {
            let n = (*(o as *mut ffi::PyVarObject)).ob_size.unsigned_abs() as u64;
            // Generators and coroutines (3.11+) have an item size but no
            // item count: the word read is a pointer, not a count.
            if n < 1 << 31 {
                size += n * (*tp).tp_itemsize.unsigned_abs() as u64;
            }
        }
        match kind {
            // A list subclass's too: `list.__sizeof__` counts the item array.
            Kind::List => size += (*(o as *mut ffi::PyListObject)).allocated.max(0) as u64 * 8,
            Kind::Str => {
                if let Some(s) = layout.and_then(|l| str_size(l, o).or_else(|| legacy_str_size(l, o))) {
                    size = s as u64;
                }
            }
            Kind::Set | Kind::FrozenSet => {
                let s = o as *mut ffi::PySetObject;
                if (*s).table != (*s).smalltable.as_mut_ptr() {
                    size += ((*s).mask as u64 + 1) * 16;
                }
            }
            Kind::Dict => size += dict_extra(o as *mut ffi::PyDictObject, k, layout),
            Kind::Type => {
                if let Some(s) = layout.and_then(|l| type_size(l, o as *mut ffi::PyTypeObject, k)) {
                    size = s;
                }
            }
            Kind::Int | Kind::Bool => size = int_size(o, k),
            _ if (*tp).tp_flags & ffi::Py_TPFLAGS_LONG_SUBCLASS != 0 => size = int_size(o, k),
            // `_PyObject_VAR_SIZE` rounds to a pointer's size.
            Kind::Code => size = size.next_multiple_of(8),
            _ => {}
        }
        // The collector's header counts for every object of a collected
        // type, tracked or not, as `sys.getsizeof` counts it.
        let mut flags = (*tp).tp_flags;
        // Except for a static type: 3.9/3.10 ask `tp_is_gc` (only heap
        // types are collected), 3.12+ leave static types out by name; 3.11
        // alone counts the header of every type.
        if kind == Kind::Type && k.version != (3, 11) && (*(o as *mut ffi::PyTypeObject)).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
            flags &= !layout.and_then(|l| l.tpflags_have_gc).map_or(0, |b| b as u64);
        }
        size + layout.and_then(|l| l.preheader_size(flags)).unwrap_or(0) as u64
    }
}

/// `int.__sizeof__`: the digits after the header, at least one from 3.11
/// (3.12 moved the count into the tag word `lv_tag`, above three flag bits).
///
/// # Safety
/// `o` is a live int (or bool, or int subclass instance).
unsafe fn int_size(o: *mut ffi::PyObject, k: &KnownTypes) -> u64 {
    const HEADER: u64 = 24;
    const DIGIT: u64 = 4;
    // SAFETY: the caller's contract: the word after the header is `ob_size`
    // (3.9-3.11) or `lv_tag` (3.12+), both the int's own.
    let word = unsafe { (*(o as *mut ffi::PyVarObject)).ob_size };
    if k.version >= (3, 12) {
        HEADER + DIGIT * ((word as u64) >> 3).max(1)
    } else if k.version >= (3, 11) {
        HEADER + DIGIT * (word.unsigned_abs() as u64).max(1)
    } else {
        HEADER + DIGIT * word.unsigned_abs() as u64
    }
}

/// What `dict.__sizeof__` adds to the basic size: the split values of a
/// dict sharing its class's keys, and the key table when the dict alone
/// owns it (`dk_refcnt == 1`; a class's shared keys are counted with the
/// class, the immortal empty table with nobody).
///
/// # Safety
/// `d` is a live dict (or dict subclass instance).
unsafe fn dict_extra(d: *mut ffi::PyDictObject, k: &KnownTypes, layout: Option<&Layout>) -> u64 {
    // SAFETY: the caller's contract: `ma_keys` and `ma_values` are the
    // dict's own; a dict always has a key table.
    unsafe {
        let keys = (*d).ma_keys as usize;
        if keys == 0 {
            return 0;
        }
        let mut extra = 0;
        if !(*d).ma_values.is_null() {
            extra += 8 * shared_usable(keys, k, layout).unwrap_or(0);
        }
        if *(keys as *const isize) == 1 {
            extra += keys_size(keys, k, layout).unwrap_or(0);
        }
        extra
    }
}

/// `dk_nentries + dk_usable` of split keys: the value slots a split dict allocates.
///
/// # Safety
/// `keys` is a live `PyDictKeysObject`.
unsafe fn shared_usable(keys: usize, k: &KnownTypes, layout: Option<&Layout>) -> Option<u64> {
    // SAFETY: the caller's contract: the counts are the table's own fields.
    unsafe {
        if k.version >= (3, 11) {
            let nentries = layout?.dk_nentries?;
            let n = *((keys + nentries) as *const isize);
            let usable = *((keys + nentries - 8) as *const isize);
            return Some((n + usable).max(0) as u64);
        }
        // 3.9/3.10: `USABLE_FRACTION(dk_size)` slots (`dk_size` after `dk_refcnt`).
        let dk_size = *((keys + 8) as *const isize);
        Some(((dk_size.max(0) as u64) << 1) / 3)
    }
}

/// `_PyDict_KeysSize`: the key table's header, index table and entries.
///
/// # Safety
/// `keys` is a live `PyDictKeysObject`.
unsafe fn keys_size(keys: usize, k: &KnownTypes, layout: Option<&Layout>) -> Option<u64> {
    // SAFETY: the caller's contract: the sizes are the table's own fields.
    unsafe {
        if k.version >= (3, 11) {
            let l = layout?;
            let log2_index = l.dk_log2_index_bytes?;
            // `dk_log2_size` is the byte before `dk_log2_index_bytes`.
            let log2_size = *((keys + log2_index - 1) as *const u8);
            let log2_index_bytes = *((keys + log2_index) as *const u8);
            if log2_size > 40 || log2_index_bytes > 43 {
                return None;
            }
            let general = *((keys + l.dk_kind?) as *const u8) == 0;
            let entry = if general { 24 } else { l.dict_unicode_entry_size? as u64 };
            let usable = ((1u64 << log2_size) << 1) / 3;
            return Some(l.dk_indices? as u64 + (1u64 << log2_index_bytes) + usable * entry);
        }
        // 3.9/3.10: header of five words, `dk_size` one-byte to eight-byte
        // indices, 24-byte entries.
        let dk_size = (*((keys + 8) as *const isize)).max(0) as u64;
        let index = match dk_size {
            0..=0xff => 1,
            0x100..=0xffff => 2,
            0x1_0000..=0xffff_ffff => 4,
            _ => 8,
        };
        Some(40 + index * dk_size + (dk_size << 1) / 3 * 24)
    }
}

/// `type.__sizeof__`: `sizeof(PyHeapTypeObject)` and the class's shared
/// keys for a class, `sizeof(PyTypeObject)` for a static type (before the
/// collector's header).
///
/// # Safety
/// `t` is a live type object.
unsafe fn type_size(l: &Layout, t: *mut ffi::PyTypeObject, k: &KnownTypes) -> Option<u64> {
    // SAFETY: the caller's contract: the flags and the cached keys pointer
    // are the type's own fields.
    unsafe {
        if (*t).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
            return Some(l.type_size? as u64);
        }
        let cached = (*(t as *mut ffi::PyHeapTypeObject)).ht_cached_keys as usize;
        let keys = if cached == 0 { 0 } else { keys_size(cached, k, Some(l))? };
        Some(l.basicsize_type? as u64 + keys)
    }
}

/// `str.__sizeof__` of a non-compact str (instances of str subclasses):
/// `sizeof(PyUnicodeObject)` and its separate character block; a
/// subclass's own slots are not counted, as CPython counts them.
///
/// # Safety
/// `o` is a live str or str subclass instance.
unsafe fn legacy_str_size(l: &Layout, o: *mut ffi::PyObject) -> Option<usize> {
    // SAFETY: the caller's contract: the state word and length are the str's own.
    unsafe {
        let state = *((o as usize + l.str_state?) as *const u32);
        let kind = ((state >> l.str_kind_shift?) & 7) as usize;
        let length = ffi::PyUnicode_GET_LENGTH(o).max(0) as usize;
        Some(l.basicsize_str? + (length + 1) * kind.max(1))
    }
}

/// `sys.getsizeof` of a str: its header, its characters and, when made,
/// its UTF-8 copy.
///
/// # Safety
/// `o` is a live exact str.
unsafe fn str_size(l: &Layout, o: *mut ffi::PyObject) -> Option<usize> {
    // SAFETY: the caller's contract: the state word, length and UTF-8 cache
    // are the str's own fields, at the generated offsets.
    unsafe {
        let state = *((o as usize + l.str_state?) as *const u32);
        let compact = (state >> l.str_compact_bit?) & 1 == 1;
        let ascii = (state >> l.str_ascii_bit?) & 1 == 1;
        let kind = ((state >> l.str_kind_shift?) & 7) as usize;
        let length = ffi::PyUnicode_GET_LENGTH(o).max(0) as usize;
        let utf8 = match (ascii, l.str_utf8, l.str_utf8_length) {
            (false, Some(p), Some(n)) if *((o as usize + p) as *const usize) != 0 => Some(*((o as usize + n) as *const isize) as usize),
            _ => None,
        };
        l.str_size(compact, ascii, length, kind.max(1), utf8)
    }
}

/// `T_OBJECT` and `T_OBJECT_EX` (3.12 also calls it `Py_T_OBJECT_EX`): the
/// member kinds that hold an object.
const MEMBER_OBJECT_KINDS: [i32; 2] = [6, 16];
/// How far up `tp_base` members are looked for.
const MAX_BASES: usize = 64;

/// Calls `f(offset, name)` for each object member of the C types on `tp`'s
/// base chain, and for `__dict__` at the first fixed `tp_dictoffset` of
/// one; heap types are skipped (their members are slots, which
/// `instance_fields` reports). A member outside its type's basic size, or
/// misaligned, is left out.
///
/// # Safety
/// `tp` is a live type object.
pub(crate) unsafe fn c_members(tp: *mut ffi::PyTypeObject, f: &mut dyn FnMut(usize, &str)) {
    let header = size_of::<ffi::PyObject>();
    let mut dict_done = false;
    let mut t = tp;
    let mut depth = 0;
    // SAFETY: the caller's contract: each type on the chain is live, its
    // member table a static array ending in a NULL name.
    unsafe {
        while !t.is_null() && depth < MAX_BASES {
            depth += 1;
            let basic = (*t).tp_basicsize.max(0) as usize;
            if (*t).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 || is_c_heap_type(t) {
                let mut m = (*t).tp_members;
                while !m.is_null() && !(*m).name.is_null() {
                    let off = (*m).offset;
                    let fits = off >= header as isize && off % 8 == 0 && off as usize + 8 <= basic;
                    if MEMBER_OBJECT_KINDS.contains(&(*m).type_code) && fits {
                        f(off as usize, &CStr::from_ptr((*m).name).to_string_lossy());
                    }
                    m = m.add(1);
                }
                let d = (*t).tp_dictoffset;
                if !dict_done && d >= header as isize && d % 8 == 0 && d as usize + 8 <= basic {
                    f(d as usize, "__dict__");
                    dict_done = true;
                }
            } else if (*t).tp_dictoffset != 0 {
                // A heap type's `__dict__` is reported with its instance.
                dict_done = true;
            }
            t = (*t).tp_base;
        }
    }
}

/// The public head of a weak reference (`Include/cpython/weakrefobject.h`):
/// the referent comes first after the object header, in every version.
#[repr(C)]
struct WeakrefHead {
    ob_base: ffi::PyObject,
    wr_object: *mut ffi::PyObject,
}

/// Does `tp` make weak references (`weakref.ref` or a subclass)?
///
/// # Safety
/// `tp` is a live type object; the GIL is held.
pub(crate) unsafe fn is_weakref_type(tp: *mut ffi::PyTypeObject) -> bool {
    // SAFETY: the caller's contract; `PyType_IsSubtype` reads the MRO tuple
    // and runs no Python code.
    unsafe { ffi::PyType_IsSubtype(tp, std::ptr::addr_of_mut!(ffi::_PyWeakref_RefType)) != 0 }
}

/// The referent of a live weak reference; `None` once it is dead (CPython
/// then points it at `None`, or NULL while it is being cleared).
///
/// # Safety
/// `o` is a live weak reference.
pub(crate) unsafe fn weakref_target(o: *mut ffi::PyObject) -> Option<usize> {
    // SAFETY: the caller's contract: the head is the object's own.
    let r = unsafe { (*(o as *mut WeakrefHead)).wr_object };
    // SAFETY: `Py_None` is the static None object.
    let none = unsafe { ffi::Py_None() };
    (!r.is_null() && r != none).then_some(r as usize)
}

/// A descriptor's `(d_type, d_name)`.
///
/// # Safety
/// `o` is a live descriptor (a `PyDescrObject`).
pub(crate) unsafe fn descriptor_of(o: *mut ffi::PyObject) -> Option<(usize, usize)> {
    // SAFETY: the caller's contract.
    let d = unsafe { &*(o as *mut ffi::PyDescrObject) };
    (!d.d_type.is_null() && !d.d_name.is_null()).then_some((d.d_type as usize, d.d_name as usize))
}
