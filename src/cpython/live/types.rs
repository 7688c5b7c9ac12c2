//! The built-in types the capture recognises, by the addresses of their type
//! objects (looked up once, by the Python front end, when the module is
//! imported: looking them up during a capture could run Python code), and
//! what the capture learns from a type object: its name, its kind, its
//! instances' shallow size.

use std::ffi::CStr;

use pyo3::ffi;

use super::LiveHeap;
use crate::capture::source::{dict_get_str, HeapSource, Kind, Shape};
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
        Shape { kind, exact, heap_type: flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 }
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
/// built-in types, without calling `__sizeof__`: the basic size, the items,
/// what a list, str or set keeps beside itself, and the words in front of
/// the object (the collector's header, 3.11+'s managed-dict words). Without
/// a checked layout, the basic size and items only.
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
            size += n * (*tp).tp_itemsize.unsigned_abs() as u64;
        }
        let exact = tp as usize;
        match kind {
            Kind::List if exact == k.list => size += (*(o as *mut ffi::PyListObject)).allocated.max(0) as u64 * 8,
            Kind::Str if exact == k.str_ => {
                if let Some(s) = layout.and_then(|l| str_size(l, o)) {
                    size = s as u64;
                }
            }
            Kind::Set | Kind::FrozenSet => {
                let s = o as *mut ffi::PySetObject;
                if (*s).table != (*s).smalltable.as_mut_ptr() {
                    size += ((*s).mask as u64 + 1) * 16;
                }
            }
            _ => {}
        }
        // The collector's header counts for every object of a collected
        // type, tracked or not, as `sys.getsizeof` counts it; `type` asks
        // `tp_is_gc`, which says only heap types are collected.
        let mut flags = (*tp).tp_flags;
        if kind == Kind::Type && (*(o as *mut ffi::PyTypeObject)).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
            flags &= !layout.and_then(|l| l.tpflags_have_gc).map_or(0, |b| b as u64);
        }
        size + layout.and_then(|l| l.preheader_size(flags)).unwrap_or(0) as u64
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
