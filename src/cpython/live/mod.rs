//! The running interpreter as a [`HeapSource`]: the capture's reads of the
//! heap it runs in.
//!
//! This is the one part of `cpython` that uses the C API (through pyo3's
//! `ffi` declarations; no pyo3 runtime types): `tp_traverse`, `PyDict_Next`,
//! the object header macros. Everything version-specific it needs beyond
//! that goes through the readers of this module's parent, with the layout
//! `check::checked_layout` confirmed: frames and interpreter state through
//! the checked reader, managed dicts (the memory of live instances, read
//! per instance) in place.
//!
//! A [`LiveHeap`] exists only while its maker holds the GIL, has made sure no
//! collection can start (`crate::python`'s capture says why) and runs no
//! Python code: then no object can be freed or moved,
//! and every address the capture hands back (reported by `tp_traverse`, by
//! the collector's lists, by the structures read here) is a live object.
//! That is the invariant every `unsafe` block below relies on.
//!
//! Must never: call a Python-level method (`__repr__`, `__getattr__`,
//! `__eq__`, `__hash__`, `__sizeof__`, properties), touch an instance's
//! `__dict__` through the attribute machinery (on 3.11+ that materialises
//! the managed dict), allocate a Python object, or change a reference count.

mod frames;
mod types;

use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use pyo3::ffi;

use crate::capture::source::{
    dict_get_str, Addr, Facts, Field, HeapSource, Kind, Names, RefCount, Shape, Str, Text, ThreadFrames, Tracked,
};

use super::check::{checked_layout, Checked, ManagedProbe, Part, PublicTypes, PublicValues};
use super::gc::{self, GcLists};
use super::mem::{Checked as CheckedMemory, InPlace, Memory};
use super::types::TypeFields;
use super::{interp, layout_for, managed_dict, objects, signals, InterpChecks, Layout, OVERRIDE_GENERATION};

pub use types::KnownTypes;

/// What the caller knows from the C API (or read once at import) before the
/// capture, for the checks of private layouts and the names of holders.
#[derive(Clone, Debug, Default)]
pub struct Public {
    /// `id(sys.modules)`.
    pub modules: usize,
    /// `id(sys.__dict__)`.
    pub sysdict: Option<usize>,
    /// `_thread.get_ident()` of the capturing thread.
    pub thread_id: Option<u64>,
    /// 3.11+: an instance attribute kept without a dict, known by name and
    /// value (`sys.__spec__.name`), to check the managed-dict layout on.
    pub managed_probe: Option<ManagedProbe>,
    /// `atexit._ncallbacks()` (3.10+), where known: a capture does not ask
    /// (a Python-level call), so the count is checked against its capacity only.
    pub atexit_count: Option<usize>,
    /// The signal handler table and its length ([`signals::find_table`]).
    pub signal_table: Option<(usize, usize)>,
    /// Every tracked object, from the collector's lists ([`tracked_objects`]).
    pub tracked: Option<Vec<usize>>,
    /// Where the lists were refused: the list `gc.get_objects()` returned
    /// (before 3.12), which holds one reference on each tracked object.
    pub objects: Option<usize>,
    /// What the caller could not read.
    pub notes: Vec<String>,
    pub facts: Facts,
}

/// The interpreter this code runs in, read in place.
pub struct LiveHeap<'a> {
    types: &'a KnownTypes,
    /// The private layout, and which parts of it passed their run-time checks.
    checked: Checked,
    public: Public,
    notes: Vec<String>,
    /// Each class's shared attribute names (3.11+), read once per capture.
    shared_keys: RefCell<rustc_hash::FxHashMap<usize, Vec<usize>>>,
    /// Reads of the words beside live instances (3.11+ managed dicts), once
    /// their layout passed its check: in place, not a system call each.
    in_place: InPlace,
    /// `sizeof(PyASCIIObject)`, from the checked layout where there is one.
    ascii_size: usize,
    /// The shapes of the types met, by a hash of the type's address: a
    /// capture asks for an object's shape once per object, and a type's
    /// shape takes a search of the known types and its bases to make.
    shapes: Box<[Cell<(usize, Shape)>]>,
    /// What a mortal interned str's count leaves out that the capture shows:
    /// the references of the interned dict its traversal reports, where that
    /// dict is tracked (3.14+); 0 where nothing is left out of sight.
    interned_uncounted: u64,
}

/// Entries of [`LiveHeap::shapes`]: a power of two, more than the types
/// most captures see many objects of.
const SHAPES: usize = 1024;

impl<'a> LiveHeap<'a> {
    /// # Safety
    /// The caller holds the GIL, has made sure no collection can start, and runs
    /// no Python code until the `LiveHeap` is dropped; `public` was read
    /// from this interpreter.
    pub unsafe fn new(types: &'a KnownTypes, public: Public) -> LiveHeap<'a> {
        let k = types;
        // SAFETY: the GIL is held: these return the current thread and interpreter.
        let (tstate, interp) = unsafe { (ffi::PyThreadState_Get() as usize, ffi::PyInterpreterState_Get() as usize) };
        let values = PublicValues {
            tstate,
            interp,
            modules: public.modules,
            sysdict: public.sysdict,
            thread_id: public.thread_id,
            // Called from Python code: the caller's frame is there.
            frames_at_least: 1,
            types: PublicTypes {
                type_: std::ptr::addr_of_mut!(ffi::PyType_Type) as usize,
                str_: k.str_,
                tuple: k.tuple,
                list: k.list,
                dict: k.dict,
                code: k.code,
                frame: k.frame,
                function: k.function,
                method: k.method,
                staticmethod: k.staticmethod,
                classmethod: k.classmethod,
                property: k.property,
                partial: k.partial,
                generators: k.generators,
            },
            managed_probe: public.managed_probe,
        };
        // Checked once per process (cached), then at every capture for free.
        let checked = checked_layout(k.version, &values);
        let notes = checked.notes.clone();
        // SAFETY: `in_place` reads only the memory of live objects (the
        // words before an instance and its values array, its class's shared
        // keys), with the managed-dict layout that `checked` confirmed, while
        // the caller's contract keeps every object alive and unchanged.
        let in_place = unsafe { InPlace::new() };
        let ascii_size = checked.layout_for(Part::Objects).and_then(|l| l.str_ascii_size).unwrap_or(size_of::<ffi::PyASCIIObject>());
        let none = Shape { kind: Kind::Other, exact: false, heap_type: false, c_base: false };
        let shapes = vec![Cell::new((0, none)); SHAPES].into_boxed_slice();
        let mut notes = notes;
        // SAFETY: the GIL is held; `interp` is this interpreter.
        let interned_uncounted = match unsafe { interned_uncounted(&checked, interp, k) } {
            Ok(n) => n,
            Err(e) => {
                notes.push(format!(
                    "the interned strings dict was not read ({e}): mortal interned strs may show fewer references than referrers"
                ));
                0
            }
        };
        LiveHeap { types, checked, public, notes, shared_keys: RefCell::default(), in_place, ascii_size, shapes, interned_uncounted }
    }

    fn layout(&self, part: Part) -> Option<&Layout> {
        self.checked.layout_for(part)
    }

    /// The generator layout, if it passed its check and `o` (a live object)
    /// is a generator, coroutine or async generator by its type's identity
    /// (an extension type that only shares the name is not read).
    ///
    /// # Safety
    /// `o` is a live object.
    unsafe fn generator_layout(&self, o: Addr) -> Option<&Layout> {
        let l = self.layout(Part::Generators)?;
        // SAFETY: the caller's contract: its type pointer is its own.
        let ty = unsafe { ffi::Py_TYPE(obj(o)) } as usize;
        self.types.generators.contains(ty).then_some(l)
    }

    /// The interned dict's references to `o` that the capture shows and its
    /// count leaves out (a mortal interned str's), or 0.
    ///
    /// # Safety
    /// `o` is a live object.
    unsafe fn interned_extra(&self, o: Addr) -> u64 {
        if self.interned_uncounted == 0 {
            return 0;
        }
        // SAFETY: the caller's contract.
        if unsafe { ffi::Py_TYPE(obj(o)) } as usize != self.types.str_ {
            return 0;
        }
        let mortal = self.layout(Part::Interp).is_some_and(|l| interp::str_is_mortal_interned(&self.in_place, l, o).unwrap_or(false));
        if mortal {
            self.interned_uncounted
        } else {
            0
        }
    }

    fn interp_checks(&self) -> InterpChecks {
        let k = self.types;
        InterpChecks { modules: self.public.modules, atexit_count: self.public.atexit_count, list_type: k.list, dict_type: k.dict }
    }

    /// Calls `f` with the class's shared attribute names, read once per
    /// class and capture.
    fn with_shared_keys<T>(&self, l: &Layout, tp: *mut ffi::PyTypeObject, f: impl FnOnce(&[usize]) -> T) -> Option<T> {
        let ty = tp as usize;
        if let Some(keys) = self.shared_keys.borrow().get(&ty) {
            return Some(f(keys));
        }
        let table = l.ht_cached_keys.and_then(|off| self.in_place.word(ty + off, "ht_cached_keys").ok())?;
        let keys = managed_dict::shared_keys(&self.in_place, l, table).ok()?;
        let out = f(&keys);
        self.shared_keys.borrow_mut().insert(ty, keys);
        Some(out)
    }
}

/// How many references to each mortal interned str the capture will show
/// that its count leaves out: those of the interpreter's interned dict that
/// its traversal reports ([`interp::interned_dict_uncounted`]), when the dict
/// is tracked (every dict is on 3.14+; up to 3.13 it holds strs only and is
/// untracked, so its references are nowhere in the graph either). 0 when
/// there is no such dict or no checked interpreter layout.
///
/// # Safety
/// The GIL is held and `interp` is the current interpreter.
unsafe fn interned_uncounted(checked: &Checked, interp: usize, k: &KnownTypes) -> Result<u64, super::LayoutError> {
    let Some(l) = checked.layout_for(Part::Interp) else { return Ok(0) };
    let dict = interp::interned_strings(l, interp, k.dict)?;
    // SAFETY: `dict` is 0 or the interpreter's live dict (its type checked).
    if dict == 0 || unsafe { ffi::PyObject_GC_IsTracked(obj(dict)) } == 0 {
        return Ok(0);
    }
    Ok(interp::interned_dict_uncounted(l, dict)?.unwrap_or(0))
}

unsafe extern "C" fn collect_referent(o: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
    if !o.is_null() {
        // SAFETY: `arg` is the `Vec<usize>` `traverse` passed, borrowed
        // mutably for the call.
        unsafe { (*(arg as *mut Vec<usize>)).push(o as usize) };
    }
    0
}

/// The object at a live address (see the module doc).
fn obj(o: Addr) -> *mut ffi::PyObject {
    o as *mut ffi::PyObject
}

/// Reads an object pointer field at a byte offset of a live object.
///
/// # Safety
/// `o` is a live object whose layout has a pointer at `offset`.
unsafe fn field(o: Addr, offset: usize) -> Addr {
    // SAFETY: the caller's contract.
    unsafe { *((o + offset) as *const usize) }
}

/// The characters of a str, borrowed from the object; never touches the
/// UTF-8 cache (`PyUnicode_AsUTF8` would allocate one and change the object).
/// `ascii_size` is `sizeof(PyASCIIObject)`: a compact ASCII str's
/// characters start right after it (and any other str's do not).
///
/// # Safety
/// `o` is a live str.
unsafe fn str_text<'s>(o: *mut ffi::PyObject, ascii_size: usize) -> Option<Text<'s>> {
    // SAFETY: `o` is a live str: its length, kind and data are its own.
    unsafe {
        #[cfg(not(Py_3_12))]
        if ffi::PyUnicode_IS_READY(o) == 0 {
            return None;
        }
        let len = ffi::PyUnicode_GET_LENGTH(o).max(0) as usize;
        let data = ffi::PyUnicode_DATA(o);
        if data.is_null() {
            return None;
        }
        Some(match ffi::PyUnicode_KIND(o) {
            1 if data as usize == o as usize + ascii_size => Text::Ascii(std::slice::from_raw_parts(data as *const u8, len)),
            1 => Text::Latin1(std::slice::from_raw_parts(data as *const u8, len)),
            2 => Text::Ucs2(std::slice::from_raw_parts(data as *const u16, len)),
            4 => Text::Ucs4(std::slice::from_raw_parts(data as *const u32, len)),
            _ => return None,
        })
    }
}

/// # Safety
/// `p` is null or a NUL-terminated string that outlives the capture.
unsafe fn c_text<'s>(p: *const std::os::raw::c_char) -> Option<Text<'s>> {
    // SAFETY: the caller's contract.
    let bytes = (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())?;
    // C names are nearly always ASCII, which needs no decoding.
    Some(if bytes.is_ascii() { Text::Ascii(bytes) } else { Text::Utf8(bytes) })
}

impl HeapSource for LiveHeap<'_> {
    fn facts(&self) -> Facts {
        self.public.facts.clone()
    }

    fn tracked(&mut self) -> Tracked {
        match self.public.tracked.take() {
            Some(addrs) => Tracked { addrs, list: None },
            None => listed_objects(self.public.objects),
        }
    }

    fn threads(&mut self) -> Vec<ThreadFrames> {
        let Some(layout) = self.layout(Part::Frames).copied() else { return Vec::new() };
        // SAFETY: the GIL is held (the type's contract).
        let (notes, threads) = unsafe { frames::all_threads(self, &layout) };
        self.notes.extend(notes);
        threads
    }

    fn holders(&mut self) -> Vec<(Addr, String)> {
        let mut named = self.signal_handlers();
        // Without a checked layout the notes already say what is not named.
        let Some(l) = self.layout(Part::Interp).copied() else { return named };
        // SAFETY: the GIL is held; this only returns the current interpreter.
        let interp = unsafe { ffi::PyInterpreterState_Get() } as usize;
        match interp::interp_holders(&l, interp, &self.interp_checks()) {
            Ok(s) => {
                let mut add = |addr: usize, name: String| {
                    if addr != 0 {
                        named.push((addr, name));
                    }
                };
                add(s.modules, "interpreter modules (sys.modules)".into());
                add(s.sysdict, "interpreter sysdict (sys.__dict__)".into());
                add(s.builtins, "interpreter builtins".into());
                add(s.codec_search_path, "codecs search path".into());
                add(s.codec_search_cache, "codecs search cache".into());
                add(s.codec_error_registry, "codecs error registry".into());
                add(s.fork_before, "os.register_at_fork(before)".into());
                add(s.fork_after_in_parent, "os.register_at_fork(after_in_parent)".into());
                add(s.fork_after_in_child, "os.register_at_fork(after_in_child)".into());
                add(s.interned_strings, "interpreter interned strings".into());
                if s.atexit_list != 0 {
                    // 3.14+: a list of `(func, args, kwargs)` records, newest
                    // first; the list is what C state holds, and each
                    // record is named after its place in registration order.
                    add(s.atexit_list, "atexit callbacks".into());
                    let records = super::objects::list_items(s.atexit_list, self.types.list).unwrap_or_default();
                    for (i, &record) in records.iter().rev().enumerate() {
                        add(record, format!("atexit callback #{}", i + 1));
                    }
                } else {
                    for (i, cb) in s.atexit.iter().flatten().enumerate() {
                        add(cb.func, format!("atexit callback #{}", i + 1));
                        add(cb.args, format!("atexit callback #{} args", i + 1));
                        add(cb.kwargs, format!("atexit callback #{} kwargs", i + 1));
                    }
                }
            }
            Err(e) => self
                .notes
                .push(format!("interpreter state layout check failed ({e}): objects held there keep the generic held-from-outside label")),
        }
        named
    }

    fn modules(&self) -> Vec<(String, Addr)> {
        let mut out = Vec::new();
        // SAFETY: the GIL is held; the registry and its entries are live,
        // and `PyDict_Next` runs no Python code.
        unsafe {
            let modules = ffi::PyImport_GetModuleDict();
            if modules.is_null() {
                return out;
            }
            self.dict_entries(modules as usize, |k, v| {
                if v != ffi::Py_None() as usize {
                    if let Some(name) = self.str_of(k) {
                        out.push((name.text.to_string_max(200), v));
                    }
                }
                true
            });
        }
        out
    }

    fn notes(&self) -> Vec<String> {
        self.public.notes.iter().chain(&self.notes).cloned().collect()
    }

    unsafe fn type_of(&self, o: Addr) -> Addr {
        // SAFETY: `o` is live (the trait's contract).
        unsafe { ffi::Py_TYPE(obj(o)) as usize }
    }

    unsafe fn shape(&self, ty: Addr) -> Shape {
        // A type keeps its address and flags while the capture holds the GIL.
        let slot = &self.shapes[(ty.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) % SHAPES];
        let (at, shape) = slot.get();
        if at == ty && ty != 0 {
            return shape;
        }
        // SAFETY: `ty` is a live type object.
        let shape = unsafe { self.types.shape(ty as *mut ffi::PyTypeObject) };
        slot.set((ty, shape));
        shape
    }

    unsafe fn type_name(&self, ty: Addr) -> String {
        // SAFETY: `ty` is a live type object.
        unsafe { types::type_name(self, ty as *mut ffi::PyTypeObject) }
    }

    unsafe fn refcount(&self, o: Addr) -> RefCount {
        // SAFETY: `o` is live.
        let raw = unsafe { ffi::Py_REFCNT(obj(o)) } as isize;
        // 3.12+ on 64-bit: immortal objects have the low 32 bits negative.
        if self.types.version >= (3, 12) && (raw as i32) < 0 {
            return RefCount::Immortal;
        }
        // SAFETY: `o` is live.
        RefCount::Count(raw.max(0) as u64 + unsafe { self.interned_extra(o) })
    }

    unsafe fn traverse(&self, o: Addr, out: &mut Vec<Addr>) {
        // SAFETY: `o` is live; `tp_traverse` is C code that only calls the
        // visitor, which appends to `out`.
        unsafe {
            let tp = ffi::Py_TYPE(obj(o));
            if let Some(trav) = (*tp).tp_traverse {
                trav(obj(o), collect_referent, out as *mut Vec<usize> as *mut c_void);
            }
        }
    }

    unsafe fn shallow_size(&self, o: Addr, ty: Addr, kind: Kind) -> u64 {
        // SAFETY: `o` is live and `ty` its type.
        unsafe { types::shallow_size(obj(o), ty as *mut ffi::PyTypeObject, kind, self.types, self.layout(Part::Objects)) }
    }

    unsafe fn str_of(&self, o: Addr) -> Option<Str<'_>> {
        // SAFETY: `o` is live (or 0, which is no str).
        unsafe {
            if o == 0 || ffi::PyUnicode_Check(obj(o)) == 0 {
                return None;
            }
            let exact = ffi::PyUnicode_CheckExact(obj(o)) != 0;
            str_text(obj(o), self.ascii_size).map(|text| Str { text, exact })
        }
    }

    unsafe fn int_value(&self, o: Addr) -> Option<i64> {
        let mut overflow: c_int = 0;
        // SAFETY: `o` is a live int; for an exact int this reads its digits
        // and calls no `__index__`.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj(o), &mut overflow) };
        (overflow == 0).then_some(v)
    }

    unsafe fn float_value(&self, o: Addr) -> f64 {
        // SAFETY: `o` is a live exact float.
        unsafe { ffi::PyFloat_AS_DOUBLE(obj(o)) }
    }

    unsafe fn len(&self, o: Addr) -> usize {
        // SAFETY: `o` is a live dict, set, sequence or bytes of an exact
        // built-in type (or a dict subclass), whose size is a field read.
        unsafe {
            match ffi::PyDict_Check(obj(o)) != 0 {
                true => ffi::PyDict_Size(obj(o)).max(0) as usize,
                false => ffi::PyObject_Size(obj(o)).max(0) as usize,
            }
        }
    }

    unsafe fn dict_entries(&self, d: Addr, mut f: impl FnMut(Addr, Addr) -> bool) {
        let mut pos: ffi::Py_ssize_t = 0;
        let mut k: *mut ffi::PyObject = std::ptr::null_mut();
        let mut v: *mut ffi::PyObject = std::ptr::null_mut();
        // SAFETY: `d` is a live dict; `PyDict_Next` reads its entries and
        // runs no Python code.
        while unsafe { ffi::PyDict_Next(obj(d), &mut pos, &mut k, &mut v) } != 0 {
            if !f(k as usize, v as usize) {
                break;
            }
        }
    }

    unsafe fn items(&self, o: Addr) -> &[Addr] {
        // SAFETY: `o` is a live list or tuple: its items are its own
        // `Py_SIZE` pointers, which do not change while no Python code runs.
        unsafe {
            let n = ffi::Py_SIZE(obj(o)).max(0) as usize;
            let items = match ffi::PyList_Check(obj(o)) != 0 {
                true => (*(o as *mut ffi::PyListObject)).ob_item as *const usize,
                false => (*(o as *mut ffi::PyTupleObject)).ob_item.as_ptr() as *const usize,
            };
            if n == 0 || items.is_null() {
                return &[];
            }
            std::slice::from_raw_parts(items, n)
        }
    }

    unsafe fn fields(&self, o: Addr, kind: Kind, mut f: impl FnMut(Addr, Field<'_>)) {
        let k = self.types;
        // SAFETY: `o` is a live object of `kind`, whose layout has each
        // field read below (offsets from the public structs, or from the
        // type's own member table).
        unsafe {
            match kind {
                Kind::Function => function_fields(o, &mut f),
                Kind::Cell => f((*(o as *mut ffi::PyCellObject)).ob_ref as usize, Field::Name("cell_contents")),
                Kind::Method => {
                    if let Some(l) = self.layout(Part::Objects) {
                        let (Some(func), Some(self_)) = (l.method_func, l.method_self) else { return };
                        f(field(o, func), Field::Name("__func__"));
                        f(field(o, self_), Field::Name("__self__"));
                    }
                }
                Kind::BuiltinFunction => {
                    let c = o as *mut ffi::PyCFunctionObject;
                    f((*c).m_self as usize, Field::Name("__self__"));
                    f((*c).m_module as usize, Field::Name("__module__"));
                }
                Kind::Module => {
                    f(ffi::PyModule_GetDict(obj(o)) as usize, Field::Name("__dict__"));
                    self.atexit_module_fields(o, &mut f);
                }
                Kind::StaticMethod => private_fields(o, self.checked.staticmethod.as_ref(), &mut f),
                Kind::ClassMethod => private_fields(o, self.checked.classmethod.as_ref(), &mut f),
                Kind::Property => private_fields(o, self.checked.property.as_ref(), &mut f),
                Kind::Partial => private_fields(o, self.checked.partial.as_ref(), &mut f),
                Kind::Type => type_fields(o as *mut ffi::PyTypeObject, &mut f),
                Kind::Frame => {
                    if let Some(layout) = self.layout(Part::Frames) {
                        for (r, field) in frames::frame_object_fields(layout, o, k) {
                            f(r, field);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    unsafe fn instance_fields(&self, o: Addr, ty: Addr, mut f: impl FnMut(Addr, Field<'_>)) {
        let tp = ty as *mut ffi::PyTypeObject;
        // SAFETY: `o` is a live instance of heap type `tp`.
        unsafe {
            self.instance_attrs(o, ty, &mut f);
            // Slots: every heap type on the base chain adds its own members.
            let mut t = tp;
            while !t.is_null() && (*t).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 {
                let mut m = (*t).tp_members;
                while !m.is_null() && !(*m).name.is_null() {
                    // T_OBJECT (6) and T_OBJECT_EX (16): the two member kinds that hold an object.
                    if matches!((*m).type_code, 6 | 16) {
                        let name = CStr::from_ptr((*m).name).to_string_lossy();
                        f(field(o, (*m).offset as usize), Field::Slot(&name));
                    }
                    m = m.add(1);
                }
                t = (*t).tp_base;
            }
        }
    }

    unsafe fn instance_attrs(&self, o: Addr, ty: Addr, mut f: impl FnMut(Addr, Field<'_>)) {
        let tp = ty as *mut ffi::PyTypeObject;
        // SAFETY: `o` is a live instance of heap type `tp`.
        unsafe {
            if let Some(dict) = self.instance_dict(o, tp) {
                f(dict, Field::Name("__dict__"));
            } else if managed_dict::has_managed_dict(self.types.version, (*tp).tp_flags) {
                self.managed_values(o, tp, &mut f);
            }
        }
    }

    unsafe fn type_members(&self, ty: Addr, f: &mut dyn FnMut(usize, &str)) {
        // SAFETY: `ty` is a live type object.
        unsafe { types::c_members(ty as *mut ffi::PyTypeObject, f) }
    }

    unsafe fn member(&self, o: Addr, offset: usize) -> Addr {
        // SAFETY: `offset` is an object member of `o`'s type (the trait's contract).
        unsafe { field(o, offset) }
    }

    unsafe fn generator_fields(&self, o: Addr, f: &mut dyn FnMut(Addr, Field<'_>)) {
        // SAFETY: `o` is a live object (the trait's contract).
        let Some(l) = (unsafe { self.generator_layout(o) }) else { return };
        frames::generator_names(&self.in_place, l, o, f);
        if l.gen_iframe.is_some() && self.layout(Part::Frames).is_some() {
            frames::generator_fields(&self.in_place, l, o, self.types, f);
        }
    }

    unsafe fn generator_name(&self, o: Addr) -> Option<Text<'_>> {
        // SAFETY: `o` is a live object (the trait's contract).
        let l = unsafe { self.generator_layout(o) }?;
        let name = super::generators::generator_qualname(&self.in_place, l, o).ok()?;
        // SAFETY: `gi_qualname` of a live generator is a live object (a
        // strong reference); `str_of` checks it is a str.
        unsafe { self.str_of(name) }.map(|s| s.text)
    }

    unsafe fn is_weakref_type(&self, ty: Addr) -> bool {
        // SAFETY: `ty` is a live type object; the GIL is held.
        unsafe { types::is_weakref_type(ty as *mut ffi::PyTypeObject) }
    }

    unsafe fn weakref_target(&self, o: Addr) -> Option<Addr> {
        // SAFETY: `o` is a live weak reference (the trait's contract).
        unsafe { types::weakref_target(obj(o)) }
    }

    unsafe fn descriptor_of(&self, o: Addr) -> Option<(Addr, Addr)> {
        // SAFETY: `o` is a live descriptor (the trait's contract).
        unsafe { types::descriptor_of(obj(o)) }
    }

    unsafe fn type_short_name(&self, ty: Addr) -> Option<Text<'_>> {
        // SAFETY: `ty` is a live type object, whose name is a C string it keeps.
        unsafe { c_text((*(ty as *mut ffi::PyTypeObject)).tp_name) }
    }

    unsafe fn frame_code(&self, o: Addr) -> Option<Addr> {
        let l = self.layout(Part::Frames)?;
        let code = match l.frame_iframe {
            // 3.11+: through the interpreter frame the object points to.
            Some(at) => {
                let f = super::mem::word(o + at, "f_frame").ok()?;
                super::mem::word(f + l.iframe_code?, "f_code").ok().map(|w| super::frames::untag(l, w).0)?
            }
            None => super::mem::word(o + l.frame_code?, "f_code").ok()?,
        };
        // SAFETY: `code` was read from a live frame; its type is checked first.
        (code != 0 && unsafe { ffi::Py_TYPE(obj(code)) } as usize == self.types.code).then_some(code)
    }

    unsafe fn code_location(&self, code: Addr) -> Option<(Text<'_>, u32)> {
        let l = self.layout(Part::Objects)?;
        // SAFETY: `code` is a live code object; the offsets are the generated ones.
        unsafe {
            let file = self.str_of(field(code, l.code_filename?))?;
            let line = *((code + l.code_firstlineno?) as *const i32);
            Some((file.text, line.max(0) as u32))
        }
    }

    unsafe fn names(&self, o: Addr, kind: Kind) -> Names<'_> {
        // SAFETY: `o` is a live object of `kind`; each name is a live str
        // (checked by `str_of`) or a C string of a static method table.
        unsafe {
            match kind {
                Kind::Function => function_names(self, o),
                Kind::Method => {
                    let Some(at) = self.layout(Part::Objects).and_then(|l| l.method_func) else { return Names::default() };
                    let func = field(o, at);
                    match func != 0 && ffi::Py_TYPE(obj(func)) as usize == self.types.function {
                        true => function_names(self, func),
                        false => Names::default(),
                    }
                }
                Kind::BuiltinFunction => {
                    let c = o as *mut ffi::PyCFunctionObject;
                    let name = if (*c).m_ml.is_null() { None } else { c_text((*(*c).m_ml).ml_name) };
                    Names { module: self.str_of((*c).m_module as usize).map(|s| s.text), name }
                }
                Kind::Module => {
                    let dict = ffi::PyModule_GetDict(obj(o)) as usize;
                    Names { module: None, name: crate::capture::source::module_name(self, dict) }
                }
                Kind::Code => {
                    // Read in place: `o` is a live code object, and the
                    // offset is the generated one (60 k code objects would
                    // cost 80 ms through the checked reader).
                    let name = self.layout(Part::Objects).and_then(|l| l.code_name_offset()).map(|at| field(o, at));
                    Names { module: None, name: name.and_then(|n| self.str_of(n)).map(|s| s.text) }
                }
                _ => Names::default(),
            }
        }
    }
}

impl LiveHeap<'_> {
    /// The Python-level signal handlers, `(handler, "signal handler
    /// SIGUSR1")`, from the table found at import; SIG_DFL and SIG_IGN
    /// (ints), None and NULL entries are no handlers.
    fn signal_handlers(&mut self) -> Vec<(Addr, String)> {
        let Some((table, nsig)) = self.public.signal_table else { return Vec::new() };
        let funcs = match signals::read_handlers(&CheckedMemory, table, nsig) {
            Ok(f) => f,
            Err(e) => {
                self.notes.push(format!("signal handlers not named: {e}"));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (n, &f) in funcs.iter().enumerate().skip(1).filter(|(_, &f)| f != 0) {
            match objects::ob_type(f) {
                Ok(t) if t == self.types.int || t == self.types.bool_ || t == self.types.none => {}
                Ok(_) => out.push((f, format!("signal handler {}", signals::signal_name(n)))),
                Err(e) => self.notes.push(format!("signal handler of {} not named: {e}", signals::signal_name(n))),
            }
        }
        out
    }

    /// The instance's own dict, if it has one already (never creates it).
    ///
    /// # Safety
    /// `o` is a live instance of `tp`.
    unsafe fn instance_dict(&self, o: Addr, tp: *mut ffi::PyTypeObject) -> Option<Addr> {
        // SAFETY: the caller's contract; offsets come from the type.
        unsafe {
            let flags = (*tp).tp_flags;
            if managed_dict::has_managed_dict(self.types.version, flags) {
                // 3.11+: in the words before the object, read through the
                // checked reader with the generated layout.
                let l = self.layout(Part::ManagedDict)?;
                return managed_dict::managed_dict(&self.in_place, l, o, flags).ok().flatten();
            }
            let off = (*tp).tp_dictoffset;
            if off > 0 {
                let p = field(o, off as usize);
                return (p != 0).then_some(p);
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
                    return (p != 0).then_some(p);
                }
            }
            None
        }
    }

    /// Attribute values kept without a dict (3.11+), by their names.
    ///
    /// # Safety
    /// `o` is a live instance of `tp`, whose flags say it has a managed dict.
    unsafe fn managed_values(&self, o: Addr, tp: *mut ffi::PyTypeObject, f: &mut impl FnMut(Addr, Field<'_>)) {
        let Some(l) = self.layout(Part::ManagedDict) else { return };
        // SAFETY: the caller's contract: the type's own flags and size.
        let (flags, basicsize) = unsafe { ((*tp).tp_flags, (*tp).tp_basicsize.max(0) as usize) };
        let attrs = self.with_shared_keys(l, tp, |keys| managed_dict::managed_attributes(&self.in_place, l, o, flags, basicsize, keys));
        for (key, value) in attrs.and_then(Result::ok).unwrap_or_default() {
            f(value, Field::Attr(key));
        }
    }

    /// 3.9 keeps atexit callbacks in the atexit module's state, which the
    /// module's `tp_traverse` reports: label them as their slots.
    ///
    /// # Safety
    /// `module` is a live module.
    unsafe fn atexit_module_fields(&self, module: Addr, f: &mut impl FnMut(Addr, Field<'_>)) {
        let Some(layout) = self.layout(Part::Interp).copied().filter(|l| l.version == (3, 9)) else { return };
        // SAFETY: the caller's contract; the state is read through `mem`.
        unsafe {
            let dict = ffi::PyModule_GetDict(obj(module)) as usize;
            let name = dict_get_str(self, dict, "__name__").and_then(|n| self.str_of(n));
            if !name.is_some_and(|n| n.text.equals("atexit")) {
                return;
            }
            let state = ffi::PyModule_GetState(obj(module)) as usize;
            if state == 0 {
                return;
            }
            let Ok(callbacks) = interp::atexit_module_callbacks(&layout, state) else { return };
            for (i, cb) in callbacks.iter().enumerate() {
                let number = i as u32 + 1;
                for (addr, part) in [(cb.func, ""), (cb.args, " args"), (cb.kwargs, " kwargs")] {
                    f(addr, Field::Atexit { number, part });
                }
            }
        }
    }
}

/// The fields of a type whose struct is private to CPython's C files, at
/// the offsets its own member table gave (`None`: not found, no labels).
///
/// # Safety
/// `o` is a live instance of the type `fields` describes.
unsafe fn private_fields(o: Addr, fields: Option<&TypeFields>, f: &mut impl FnMut(Addr, Field<'_>)) {
    for &(name, at) in fields.map(|t| t.fields.as_slice()).unwrap_or_default() {
        // `partial.func` is labelled as the attribute it is, not a dunder.
        let name = match name {
            "func" => ".func",
            "args" => ".args",
            "keywords" => ".keywords",
            other => other,
        };
        // SAFETY: the caller's contract; `at` is the member's own offset.
        f(unsafe { field(o, at) }, Field::Name(name));
    }
}

/// # Safety
/// `o` is a live function.
unsafe fn function_fields(o: Addr, f: &mut impl FnMut(Addr, Field<'_>)) {
    let func = o as *mut ffi::PyFunctionObject;
    // SAFETY: the caller's contract: these are the function's own fields.
    unsafe {
        f((*func).func_globals as usize, Field::Name("__globals__"));
        f((*func).func_closure as usize, Field::Name("__closure__"));
        f((*func).func_code as usize, Field::Name("__code__"));
        f((*func).func_defaults as usize, Field::Name("__defaults__"));
        f((*func).func_kwdefaults as usize, Field::Name("__kwdefaults__"));
        f((*func).func_doc as usize, Field::Name("__doc__"));
        f((*func).func_name as usize, Field::Name("__name__"));
        f((*func).func_qualname as usize, Field::Name("__qualname__"));
        f((*func).func_dict as usize, Field::Name("__dict__"));
        f((*func).func_module as usize, Field::Name("__module__"));
        f((*func).func_annotations as usize, Field::Name("__annotations__"));
        #[cfg(Py_3_10)]
        f((*func).func_builtins as usize, Field::Name("__builtins__"));
    }
}

/// # Safety
/// `o` is a live function.
unsafe fn function_names<'s>(s: &'s LiveHeap<'_>, o: Addr) -> Names<'s> {
    let func = o as *mut ffi::PyFunctionObject;
    // SAFETY: the caller's contract; `str_of` checks each name is a str.
    unsafe {
        Names {
            module: s.str_of((*func).func_module as usize).map(|t| t.text),
            name: s.str_of((*func).func_qualname as usize).map(|t| t.text),
        }
    }
}

/// # Safety
/// `tp` is a live type object.
unsafe fn type_fields(tp: *mut ffi::PyTypeObject, f: &mut impl FnMut(Addr, Field<'_>)) {
    // SAFETY: the caller's contract: these are the type's own fields.
    unsafe {
        f((*tp).tp_dict as usize, Field::Name("__dict__"));
        f((*tp).tp_mro as usize, Field::Name("__mro__"));
        f((*tp).tp_bases as usize, Field::Name("__bases__"));
        f((*tp).tp_base as usize, Field::Name("__base__"));
        if (*tp).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0 {
            let ht = tp as *mut ffi::PyHeapTypeObject;
            f((*ht).ht_name as usize, Field::Name("__name__"));
            f((*ht).ht_qualname as usize, Field::Name("__qualname__"));
            f((*ht).ht_slots as usize, Field::Name("__slots__"));
            #[cfg(Py_3_9)]
            f((*ht).ht_module as usize, Field::Name("__module__"));
        }
    }
}

/// Where the collector's lists are believed to be, per interpreter and
/// override generation: checked once through `mem` ([`gc::verify_gc`]).
static GC_LISTS: Mutex<Option<VerifiedLists>> = Mutex::new(None);
/// How many objects the last capture's lists held.
static LAST_TRACKED: AtomicUsize = AtomicUsize::new(0);

/// The outcome of [`gc::verify_gc`] for one interpreter and override generation.
struct VerifiedLists {
    interp: usize,
    generation: u64,
    lists: Result<GcLists, String>,
}

/// The collector's lists of the current interpreter, verified on first use.
/// `enabled`: what `PyGC_IsEnabled()` says, where the C API has it.
fn verified_gc_lists(version: (u32, u32), interp: usize, enabled: Option<bool>) -> Result<GcLists, String> {
    let generation = OVERRIDE_GENERATION.load(Ordering::Relaxed);
    let mut cache = GC_LISTS.lock().map_err(|_| "the collector's lists: lock poisoned".to_string())?;
    if let Some(c) = cache.as_ref().filter(|c| c.interp == interp && c.generation == generation) {
        return c.lists.clone();
    }
    let lists = match layout_for(version.0, version.1) {
        None => Err(format!("no layout of the collector's lists for Python {}.{}", version.0, version.1)),
        Some(l) => gc::verify_gc(&CheckedMemory, &l, interp, enabled)
            .map_err(|e| format!("the collector's lists are not laid out as refgraph's layout says ({e})")),
    };
    *cache = Some(VerifiedLists { interp, generation, lists: lists.clone() });
    lists
}

/// Every object the collector tracks, the permanent generation (`gc.freeze()`)
/// included, from its lists in the interpreter state. `modules` is
/// `sys.modules`, which must be among them (it is a tracked dict).
///
/// # Safety
/// The GIL is held, and no Python code runs and no Python object is
/// allocated or freed while this runs.
pub unsafe fn tracked_objects(types: &KnownTypes, modules: usize, enabled: Option<bool>) -> Result<Vec<usize>, String> {
    // SAFETY: the GIL is held: the current interpreter.
    let interp = unsafe { ffi::PyInterpreterState_Get() } as usize;
    let lists = verified_gc_lists(types.version, interp, enabled)?;
    // SAFETY: the lists' heads and layout passed `verify_gc`; every node
    // reached from them is a tracked object's `PyGC_Head`, which stays
    // allocated and unchanged while no Python code runs (this function's
    // contract); `walk_lists` checks each node's back link before going on.
    let in_place = unsafe { InPlace::new() };
    // Room for as many as last time and a little more: millions of
    // addresses are not copied over by doubling.
    let last = LAST_TRACKED.load(Ordering::Relaxed);
    let mut addrs = Vec::with_capacity(last + last / 8);
    gc::walk_lists(&in_place, &lists, &mut addrs).map_err(|e| format!("a collector list is inconsistent ({e})"))?;
    LAST_TRACKED.store(addrs.len(), Ordering::Relaxed);
    if modules != 0 && !addrs.contains(&modules) {
        return Err(format!("sys.modules ({modules:#x}) is on none of the collector's lists"));
    }
    Ok(addrs)
}

/// Every object the collector tracks, where its lists were refused: on
/// 3.12+ from the collector itself, which makes no object; before, from the
/// list the caller got from `gc.get_objects()`. Neither has the permanent
/// generation.
fn listed_objects(list: Option<usize>) -> Tracked {
    #[cfg(Py_3_12)]
    {
        let _ = list;
        extern "C" {
            fn PyUnstable_GC_VisitObjects(callback: unsafe extern "C" fn(*mut ffi::PyObject, *mut c_void) -> c_int, arg: *mut c_void);
        }
        unsafe extern "C" fn note(o: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
            // SAFETY: `arg` is the `Vec<usize>` passed below.
            unsafe { (*(arg as *mut Vec<usize>)).push(o as usize) };
            1
        }
        let mut addrs: Vec<usize> = Vec::new();
        // SAFETY: the GIL is held. C only: it pauses automatic collection
        // itself and calls `note` for each object, holding a reference only
        // for the call.
        unsafe { PyUnstable_GC_VisitObjects(note, &mut addrs as *mut Vec<usize> as *mut c_void) };
        Tracked { addrs, list: None }
    }
    #[cfg(not(Py_3_12))]
    {
        let Some(l) = list else { return Tracked::default() };
        // SAFETY: the GIL is held and `l` is the live list the caller made
        // and keeps alive for the capture.
        let addrs = unsafe {
            let n = ffi::PyList_GET_SIZE(obj(l)).max(0);
            (0..n).map(|i| ffi::PyList_GET_ITEM(obj(l), i) as usize).collect()
        };
        Tracked { addrs, list: Some(l) }
    }
}

/// `sys.argv`, read from the list in place (a str's UTF-8 cache is not
/// made, as converting it through the C API would).
///
/// # Safety
/// The GIL is held.
pub unsafe fn argv() -> Vec<String> {
    // SAFETY: the GIL is held; the list and its items are live, and each
    // item is checked to be a str before its text is read.
    unsafe {
        let list = ffi::PySys_GetObject(c"argv".as_ptr());
        if list.is_null() || ffi::PyList_Check(list) == 0 {
            return Vec::new();
        }
        (0..ffi::PyList_GET_SIZE(list))
            .map(|i| ffi::PyList_GET_ITEM(list, i))
            .filter(|&s| ffi::PyUnicode_Check(s) != 0)
            .filter_map(|s| str_text(s, size_of::<ffi::PyASCIIObject>()).map(|t| t.to_string_max(200)))
            .collect()
    }
}
