//! What objects are called and how they hold their referents, read from their
//! C structure only.
//!
//! Must never: call a Python-level method (`__repr__`, `__getattr__`,
//! `__eq__`, `__hash__`, `__sizeof__`, properties), touch an instance's
//! `__dict__` through the attribute machinery (on 3.11+ that materialises the
//! managed dict), or allocate a Python object. Only exact built-in types get
//! their fields read; anything else is described by its type alone.

use std::ffi::CStr;
use std::os::raw::c_int;

use pyo3::ffi;

use crate::cpython::managed_dict;
use crate::graph::{EdgeKind, EdgeLabel, HeapBuilder};

use super::capture::Walker;
use super::types::KnownTypes;

/// Longest text kept from a str for its label.
const STR_LABEL_CHARS: usize = 60;

pub(crate) unsafe fn type_of(o: *mut ffi::PyObject) -> *mut ffi::PyTypeObject {
    ffi::Py_TYPE(o)
}

/// The characters of a str, read from its code units in place, and its
/// length; never touches the UTF-8 cache (`PyUnicode_AsUTF8` would allocate
/// one and change the object) and allocates nothing.
unsafe fn str_chars(o: *mut ffi::PyObject) -> Option<(impl Iterator<Item = char>, usize)> {
    #[cfg(not(Py_3_12))]
    if ffi::PyUnicode_IS_READY(o) == 0 {
        return None;
    }
    let len = ffi::PyUnicode_GET_LENGTH(o).max(0) as usize;
    let kind = ffi::PyUnicode_KIND(o);
    let data = ffi::PyUnicode_DATA(o);
    if data.is_null() || !matches!(kind, 1 | 2 | 4) {
        return None;
    }
    let chars = (0..len).map(move |i| {
        let cp = match kind {
            1 => u32::from(*(data as *const u8).add(i)),
            2 => u32::from(*(data as *const u16).add(i)),
            _ => *(data as *const u32).add(i),
        };
        char::from_u32(cp).unwrap_or('\u{fffd}')
    });
    Some((chars, len))
}

/// The first `max` characters of a str and its length in characters.
pub(crate) unsafe fn str_text(o: *mut ffi::PyObject, max: usize) -> Option<(String, usize)> {
    let (chars, len) = str_chars(o)?;
    Some((chars.take(max).collect(), len))
}

/// Is `o` an exact str equal to `text`? Compares code units, runs no `__eq__`.
pub(crate) unsafe fn str_equals(o: *mut ffi::PyObject, text: &str) -> bool {
    if o.is_null() || ffi::PyUnicode_CheckExact(o) == 0 {
        return false;
    }
    match str_chars(o) {
        Some((chars, len)) => len == text.chars().count() && chars.eq(text.chars()),
        None => false,
    }
}

/// Text of an exact str, for names; `None` for anything else.
pub(crate) unsafe fn str_value(o: *mut ffi::PyObject) -> Option<String> {
    if o.is_null() || ffi::PyUnicode_Check(o) == 0 {
        return None;
    }
    str_text(o, 200).map(|(s, _)| s)
}

/// Appends a str's label: its first `max` characters, escaped so that it
/// stays on one line, and `…` if it is longer. The common case, a short
/// ASCII string with nothing to escape, is one copy.
pub(crate) unsafe fn push_str_label(o: *mut ffi::PyObject, max: usize, out: &mut String) {
    let len = if ffi::PyUnicode_IS_COMPACT_ASCII(o) != 0 {
        let len = ffi::PyUnicode_GET_LENGTH(o).max(0) as usize;
        let bytes = std::slice::from_raw_parts(ffi::PyUnicode_DATA(o) as *const u8, len.min(max));
        // Without early exits, so that it runs on whole vectors: a capture
        // labels millions of strs.
        let plain = bytes.iter().fold(true, |ok, &b| ok & (0x20..0x7f).contains(&b) & (b != b'\\') & (b != b'\''));
        if plain {
            // ASCII is valid UTF-8.
            out.push_str(std::str::from_utf8_unchecked(bytes));
        } else {
            bytes.iter().for_each(|&b| push_escaped(char::from(b), out));
        }
        len
    } else if let Some((chars, len)) = str_chars(o) {
        chars.take(max).for_each(|c| push_escaped(c, out));
        len
    } else {
        return;
    };
    if len > max {
        out.push('…');
    }
}

fn push_escaped(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        c if c.is_control() => {
            use std::fmt::Write;
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => out.push(c),
    }
}

unsafe fn c_name(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    CStr::from_ptr(p).to_string_lossy().into_owned()
}

/// Finds the value under an exact-str key by walking the dict; never hashes or
/// compares through Python.
pub(crate) unsafe fn dict_get_str(d: *mut ffi::PyObject, key: &str) -> Option<*mut ffi::PyObject> {
    if d.is_null() || ffi::PyDict_Check(d) == 0 {
        return None;
    }
    let mut pos: ffi::Py_ssize_t = 0;
    let mut k: *mut ffi::PyObject = std::ptr::null_mut();
    let mut v: *mut ffi::PyObject = std::ptr::null_mut();
    while ffi::PyDict_Next(d, &mut pos, &mut k, &mut v) != 0 {
        if str_equals(k, key) {
            return Some(v);
        }
    }
    None
}

/// The qualified name of a type: `dict`, `logging.Logger`, `_io.TextIOWrapper`.
pub(crate) unsafe fn type_name(tp: *mut ffi::PyTypeObject) -> String {
    let tp_name = c_name((*tp).tp_name);
    if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0 {
        return tp_name;
    }
    let ht = tp as *mut ffi::PyHeapTypeObject;
    let qual = str_value((*ht).ht_qualname).unwrap_or_else(|| tp_name.rsplit('.').next().unwrap_or("").to_string());
    let module = dict_get_str((*tp).tp_dict, "__module__").and_then(|m| str_value(m));
    match module.as_deref() {
        Some("builtins") | None => qual,
        Some(m) => format!("{m}.{qual}"),
    }
}

/// Shallow size from the type's layout, as `sys.getsizeof` would report it for
/// built-in types, without calling `__sizeof__`.
pub(crate) unsafe fn shallow_size(o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, tracked: bool, k: &KnownTypes) -> u64 {
    let mut size = (*tp).tp_basicsize.max(0) as u64;
    if (*tp).tp_itemsize != 0 {
        let n = (*(o as *mut ffi::PyVarObject)).ob_size.unsigned_abs() as u64;
        size += n * (*tp).tp_itemsize.unsigned_abs() as u64;
    }
    if tp == k.list {
        size += (*(o as *mut ffi::PyListObject)).allocated.max(0) as u64 * 8;
    } else if tp == k.str_ {
        let len = ffi::PyUnicode_GET_LENGTH(o).max(0) as u64;
        size = k.str_header + (len + 1) * u64::from(ffi::PyUnicode_KIND(o).max(1));
    } else if tp == k.set || tp == k.frozenset {
        let s = o as *mut ffi::PySetObject;
        if (*s).table != (*s).smalltable.as_mut_ptr() {
            size += ((*s).mask as u64 + 1) * 16;
        }
    }
    if tracked {
        size += k.gc_header;
    }
    size
}

/// Reads an object pointer field at a fixed byte offset of a struct whose
/// layout is the same on every supported version (checked in `types.rs`).
unsafe fn field(o: *mut ffi::PyObject, offset: usize) -> *mut ffi::PyObject {
    *((o as *mut u8).add(offset) as *mut *mut ffi::PyObject)
}

impl Walker<'_> {
    /// Writes the safe short label of an object into `out` (which is empty).
    pub(crate) unsafe fn write_node_label(&mut self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, out: &mut String) {
        if tp == self.types.str_ {
            push_str_label(o, STR_LABEL_CHARS, out);
            return;
        }
        self.node_label(o, tp, out);
    }

    /// The safe short label of anything but a str.
    unsafe fn node_label(&mut self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, out: &mut String) {
        use std::fmt::Write;
        let k = self.types;
        // Written straight into the capture's label buffer: millions of
        // nodes, no allocation each.
        if tp == k.int || tp == k.bool_ {
            let mut overflow: c_int = 0;
            let v = ffi::PyLong_AsLongLongAndOverflow(o, &mut overflow);
            match (overflow != 0, tp == k.bool_) {
                (true, _) => out.push_str("big int"),
                (false, true) => out.push_str(if v != 0 { "True" } else { "False" }),
                (false, false) => drop(write!(out, "{v}")),
            }
        } else if tp == k.float {
            out.push_str(&crate::report::float_repr(ffi::PyFloat_AS_DOUBLE(o)));
        } else if tp == k.none {
            out.push_str("None");
        } else if tp == k.dict || ffi::PyDict_Check(o) != 0 {
            let n = ffi::PyDict_Size(o);
            match module_namespace_name(o) {
                Some(name) => drop(write!(out, "{name} namespace, {n} items")),
                None => drop(write!(out, "len={n}")),
            }
        } else if tp == k.list || tp == k.tuple || tp == k.set || tp == k.frozenset || tp == k.bytes {
            let _ = write!(out, "len={}", ffi::PyObject_Size(o).max(0));
        } else if tp == k.module {
            if let Some(n) = dict_get_str(ffi::PyModule_GetDict(o), "__name__") {
                push_name(n, out);
            }
        } else if tp == k.function {
            function_name(o, out);
        } else if tp == k.method {
            let func = field(o, k.method_func_offset);
            if !func.is_null() && type_of(func) == k.function {
                function_name(func, out);
            }
        } else if tp == k.cfunction {
            let f = o as *mut ffi::PyCFunctionObject;
            if push_name((*f).m_module, out) {
                out.push('.');
            }
            if !(*f).m_ml.is_null() && !(*(*f).m_ml).ml_name.is_null() {
                out.push_str(&CStr::from_ptr((*(*f).m_ml).ml_name).to_string_lossy());
            }
        } else if ffi::PyType_Check(o) != 0 {
            out.push_str(&self.type_label(o as *mut ffi::PyTypeObject));
        } else if tp == k.code {
            if let Some(name) = self.frames.code_name_object(o as usize) {
                push_name(name as *mut ffi::PyObject, out);
            }
        }
    }

    /// How `o` holds each of its referents, from its structure. Appends
    /// `(referent address, label)` pairs; referents not described get
    /// [`EdgeLabel::UNKNOWN`] later.
    pub(crate) unsafe fn edge_labels(&mut self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let k = self.types;
        let heap_type = (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0;
        if heap_type {
            out.push((tp as usize, self.names.class));
            self.instance_labels(o, tp, out);
        }
        if ffi::PyDict_Check(o) != 0 {
            self.dict_labels(o, out);
        } else if ffi::PyList_Check(o) != 0 {
            let l = o as *mut ffi::PyListObject;
            let n = ffi::Py_SIZE(o).max(0) as usize;
            for i in 0..n {
                out.push((*(*l).ob_item.add(i) as usize, EdgeLabel::new(EdgeKind::Index(i as u32))));
            }
        } else if ffi::PyTuple_Check(o) != 0 {
            let t = o as *mut ffi::PyTupleObject;
            let n = ffi::Py_SIZE(o).max(0) as usize;
            for i in 0..n {
                out.push((*(*t).ob_item.as_ptr().add(i) as usize, EdgeLabel::new(EdgeKind::Index(i as u32))));
            }
        } else if tp == k.function {
            self.function_labels(o, out);
        } else if tp == k.cell {
            out.push(((*(o as *mut ffi::PyCellObject)).ob_ref as usize, self.names.cell_contents));
        } else if tp == k.method {
            out.push((field(o, k.method_func_offset) as usize, self.names.func));
            out.push((field(o, k.method_func_offset + 8) as usize, self.names.self_));
        } else if tp == k.cfunction {
            let f = o as *mut ffi::PyCFunctionObject;
            out.push(((*f).m_self as usize, self.names.self_));
            out.push(((*f).m_module as usize, self.names.module));
        } else if tp == k.module {
            out.push((ffi::PyModule_GetDict(o) as usize, self.names.dict));
            self.atexit_module_labels(o, out);
        } else if tp == k.staticmethod || tp == k.classmethod {
            out.push((field(o, 16) as usize, self.names.func));
            out.push((field(o, 24) as usize, self.names.dict));
        } else if tp == k.property {
            for (i, name) in ["fget", "fset", "fdel", "__doc__"].iter().enumerate() {
                let l = self.builder.edge_name(name);
                out.push((field(o, 16 + 8 * i) as usize, l));
            }
        } else if tp == k.partial {
            out.push((field(o, 16) as usize, self.names.func_attr));
            out.push((field(o, 24) as usize, self.names.args));
            out.push((field(o, 32) as usize, self.names.keywords));
            out.push((field(o, 40) as usize, self.names.dict));
        } else if ffi::PyType_Check(o) != 0 {
            self.type_labels(o as *mut ffi::PyTypeObject, out);
        } else if tp == k.frame {
            self.frame_object_labels(o, out);
        }
    }

    unsafe fn dict_labels(&mut self, d: *mut ffi::PyObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let mut pos: ffi::Py_ssize_t = 0;
        let mut key: *mut ffi::PyObject = std::ptr::null_mut();
        let mut value: *mut ffi::PyObject = std::ptr::null_mut();
        while ffi::PyDict_Next(d, &mut pos, &mut key, &mut value) != 0 {
            // The key becomes a node even where `tp_traverse` does not report
            // it (str-keyed dicts), because the value's label names it.
            let key_ix = self.key_node(key);
            out.push((value as usize, EdgeLabel::new(EdgeKind::DictValue(key_ix))));
            out.push((key as usize, EdgeLabel::new(EdgeKind::DictKey)));
        }
    }

    unsafe fn function_labels(&mut self, o: *mut ffi::PyObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let f = o as *mut ffi::PyFunctionObject;
        let n = &self.names;
        out.push(((*f).func_globals as usize, n.globals));
        out.push(((*f).func_closure as usize, n.closure));
        out.push(((*f).func_code as usize, n.code));
        out.push(((*f).func_defaults as usize, n.defaults));
        out.push(((*f).func_kwdefaults as usize, n.kwdefaults));
        out.push(((*f).func_doc as usize, n.doc));
        out.push(((*f).func_name as usize, n.name));
        out.push(((*f).func_qualname as usize, n.qualname));
        out.push(((*f).func_dict as usize, n.dict));
        out.push(((*f).func_module as usize, n.module));
        out.push(((*f).func_annotations as usize, n.annotations));
        #[cfg(Py_3_10)]
        out.push(((*f).func_builtins as usize, n.builtins));
    }

    unsafe fn type_labels(&mut self, tp: *mut ffi::PyTypeObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let n = &self.names;
        out.push(((*tp).tp_dict as usize, n.dict));
        out.push(((*tp).tp_mro as usize, n.mro));
        out.push(((*tp).tp_bases as usize, n.bases));
        out.push(((*tp).tp_base as usize, n.base));
        if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 {
            let ht = tp as *mut ffi::PyHeapTypeObject;
            out.push(((*ht).ht_name as usize, n.name));
            out.push(((*ht).ht_qualname as usize, n.qualname));
            out.push(((*ht).ht_slots as usize, n.slots));
            #[cfg(Py_3_9)]
            out.push(((*ht).ht_module as usize, n.module));
        }
    }

    /// `__dict__` and `__slots__` members of an instance of a class.
    unsafe fn instance_labels(&mut self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, out: &mut Vec<(usize, EdgeLabel)>) {
        if let Some(dict) = self.instance_dict(o, tp) {
            out.push((dict as usize, self.names.dict));
        } else if managed_dict::has_managed_dict(self.types.version, (*tp).tp_flags) {
            self.managed_values_labels(o, tp, out);
        }
        // Slots: every heap type on the MRO path adds its own members.
        let mut t = tp;
        while !t.is_null() && (*t).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 {
            let mut m = (*t).tp_members;
            while !m.is_null() && !(*m).name.is_null() {
                // T_OBJECT (6) and T_OBJECT_EX (16): the two member kinds that hold an object.
                if matches!((*m).type_code, 6 | 16) {
                    let name = format!(".{}", c_name((*m).name));
                    let label = self.builder.edge_name(&name);
                    out.push((field(o, (*m).offset as usize) as usize, label));
                }
                m = m.add(1);
            }
            t = (*t).tp_base;
        }
    }

    /// `.name` labels for attribute values kept without a dict (3.11+).
    unsafe fn managed_values_labels(&mut self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let Some((values, capacity)) = managed_dict::values_array(self.types.version, o as usize, (*tp).tp_flags) else {
            return;
        };
        let keys = managed_dict::shared_keys((*(tp as *mut ffi::PyHeapTypeObject)).ht_cached_keys as usize);
        for (i, key) in keys.into_iter().enumerate().take(capacity) {
            let value = *values.add(i);
            if value != 0 && key != 0 {
                let name = self.key_node(key as *mut ffi::PyObject);
                out.push((value, EdgeLabel::new(EdgeKind::Attr(name))));
            }
        }
    }

    /// The instance's own dict, if it has one already (never creates it).
    unsafe fn instance_dict(&self, o: *mut ffi::PyObject, tp: *mut ffi::PyTypeObject) -> Option<*mut ffi::PyObject> {
        if managed_dict::has_managed_dict(self.types.version, (*tp).tp_flags) {
            // 3.11+: the managed dict pointer sits three words before the object;
            // on 3.12 its low bit tags "inline values, no dict".
            let p = *((o as *mut usize).sub(3));
            return (p != 0 && p & 1 == 0).then_some(p as *mut ffi::PyObject);
        }
        let off = (*tp).tp_dictoffset;
        if off > 0 {
            let p = field(o, off as usize);
            return (!p.is_null()).then_some(p);
        }
        if off < 0 {
            // Variable-size instances (int subclasses): counted from the end,
            // as CPython's _PyObject_GetDictPtr does.
            let n = (*(o as *mut ffi::PyVarObject)).ob_size.unsigned_abs();
            let size = (*tp).tp_basicsize as usize + n * (*tp).tp_itemsize.unsigned_abs();
            let size = (size + 7) & !7;
            let at = size as isize + off;
            if at > 0 {
                let p = field(o, at as usize);
                return (!p.is_null()).then_some(p);
            }
        }
        None
    }

    /// 3.9 keeps atexit callbacks in the atexit module's state, which the
    /// module's `tp_traverse` reports: label them as their slots.
    unsafe fn atexit_module_labels(&mut self, module: *mut ffi::PyObject, out: &mut Vec<(usize, EdgeLabel)>) {
        let Some(layout) = self.frames.layout().copied() else { return };
        if layout.version != (3, 9) {
            return;
        }
        let name = dict_get_str(ffi::PyModule_GetDict(module), "__name__").and_then(|n| str_value(n));
        if name.as_deref() != Some("atexit") {
            return;
        }
        let state = ffi::PyModule_GetState(module) as usize;
        if state == 0 {
            return;
        }
        let Ok(callbacks) = crate::cpython::interp::atexit_module_callbacks(&layout, state) else { return };
        for (i, cb) in callbacks.iter().enumerate() {
            for (addr, suffix) in [(cb.func, ""), (cb.args, " args"), (cb.kwargs, " kwargs")] {
                if addr != 0 {
                    let label = self.builder.edge_name(&format!("atexit callback #{}{suffix}", i + 1));
                    out.push((addr, label));
                }
            }
        }
    }

    unsafe fn frame_object_labels(&mut self, o: *mut ffi::PyObject, out: &mut Vec<(usize, EdgeLabel)>) {
        if let Some(frame) = self.frames.frame_object_fields(o) {
            for (referent, name) in frame {
                let label = self.builder.edge_name(&name);
                out.push((referent, label));
            }
        }
    }

    fn type_label_uncached(&self, tp: *mut ffi::PyTypeObject) -> String {
        unsafe { type_name(tp) }
    }

    pub(crate) fn type_label(&mut self, tp: *mut ffi::PyTypeObject) -> String {
        self.type_label_uncached(tp)
    }
}

/// `logging` for the namespace dict of module `logging`. A module's dict
/// starts with `__name__` then `__doc__` (set when the module is created), so
/// two entries decide it without a lookup.
unsafe fn module_namespace_name(d: *mut ffi::PyObject) -> Option<String> {
    let mut pos: ffi::Py_ssize_t = 0;
    let mut k: *mut ffi::PyObject = std::ptr::null_mut();
    let mut v: *mut ffi::PyObject = std::ptr::null_mut();
    if ffi::PyDict_Next(d, &mut pos, &mut k, &mut v) == 0 || !str_equals(k, "__name__") {
        return None;
    }
    let name = str_value(v)?;
    if ffi::PyDict_Next(d, &mut pos, &mut k, &mut v) == 0 || !str_equals(k, "__doc__") {
        return None;
    }
    Some(name)
}

/// `logging.shutdown`: the function's `__module__` and `__qualname__`.
unsafe fn function_name(o: *mut ffi::PyObject, out: &mut String) {
    let f = o as *mut ffi::PyFunctionObject;
    if push_name((*f).func_module, out) {
        out.push('.');
    }
    push_name((*f).func_qualname, out);
}

/// Appends a str used as a name (at most 200 characters); false if `o` is
/// no str.
unsafe fn push_name(o: *mut ffi::PyObject, out: &mut String) -> bool {
    if o.is_null() || ffi::PyUnicode_Check(o) == 0 {
        return false;
    }
    if ffi::PyUnicode_IS_COMPACT_ASCII(o) != 0 {
        let len = (ffi::PyUnicode_GET_LENGTH(o).max(0) as usize).min(200);
        let bytes = std::slice::from_raw_parts(ffi::PyUnicode_DATA(o) as *const u8, len);
        // ASCII is valid UTF-8.
        out.push_str(std::str::from_utf8_unchecked(bytes));
        return true;
    }
    match str_chars(o) {
        Some((chars, _)) => {
            out.extend(chars.take(200));
            true
        }
        None => false,
    }
}

/// Edge names used on every capture, interned once.
pub(crate) struct Names {
    pub class: EdgeLabel,
    pub dict: EdgeLabel,
    pub globals: EdgeLabel,
    pub closure: EdgeLabel,
    pub code: EdgeLabel,
    pub defaults: EdgeLabel,
    pub kwdefaults: EdgeLabel,
    pub doc: EdgeLabel,
    pub name: EdgeLabel,
    pub qualname: EdgeLabel,
    pub module: EdgeLabel,
    pub annotations: EdgeLabel,
    pub builtins: EdgeLabel,
    pub cell_contents: EdgeLabel,
    pub func: EdgeLabel,
    pub func_attr: EdgeLabel,
    pub self_: EdgeLabel,
    pub mro: EdgeLabel,
    pub bases: EdgeLabel,
    pub base: EdgeLabel,
    pub slots: EdgeLabel,
    pub args: EdgeLabel,
    pub keywords: EdgeLabel,
}

impl Names {
    pub(crate) fn intern(b: &mut HeapBuilder) -> Names {
        Names {
            class: b.edge_name("__class__"),
            dict: b.edge_name("__dict__"),
            globals: b.edge_name("__globals__"),
            closure: b.edge_name("__closure__"),
            code: b.edge_name("__code__"),
            defaults: b.edge_name("__defaults__"),
            kwdefaults: b.edge_name("__kwdefaults__"),
            doc: b.edge_name("__doc__"),
            name: b.edge_name("__name__"),
            qualname: b.edge_name("__qualname__"),
            module: b.edge_name("__module__"),
            annotations: b.edge_name("__annotations__"),
            builtins: b.edge_name("__builtins__"),
            cell_contents: b.edge_name("cell_contents"),
            func: b.edge_name("__func__"),
            func_attr: b.edge_name(".func"),
            self_: b.edge_name("__self__"),
            mro: b.edge_name("__mro__"),
            bases: b.edge_name("__bases__"),
            base: b.edge_name("__base__"),
            slots: b.edge_name("__slots__"),
            args: b.edge_name(".args"),
            keywords: b.edge_name(".keywords"),
        }
    }
}

