//! The one entry point that decides which parts of the generated layout may
//! be used in this process: [`checked_layout`].
//!
//! It picks the layout for the running minor version and runs every run-time
//! check that applies, cheapest first:
//! 1. 3.13+: `_PyRuntime.debug_offsets` ([`debug_offsets_check`]), when
//!    `_PyRuntime` is exported: the interpreter's own record of its offsets,
//!    version and build must match the headers refgraph measured. A refusal
//!    here means another build: nothing is used.
//! 2. type objects: each public type address the caller passes must have the
//!    right `tp_name` and be an instance of `type`; `tuple`'s sizes must be
//!    the tuple layout's; the bound-method type's own `tp_members` must put
//!    `__func__`/`__self__` where the generated `method_func`/`method_self`
//!    say (which also proves the member-table reader).
//! 3. the interpreter state ([`verify_interp`]): its `modules` slot must be
//!    `id(sys.modules)` (and `sysdict` `id(sys.__dict__)`, if given).
//! 4. the current thread state ([`verify_thread_state`]): its `interp` must be
//!    the interpreter, its `thread_id` `threading.get_ident()` (if given), it
//!    must be on the interpreter's thread list (when 3. passed), and its frame
//!    chain must read with every type check passing ([`thread_frames`]; on
//!    3.15 it must also end at the thread's base frame).
//! 5. 3.11+ managed dicts: if the caller passes a probe instance, its one
//!    attribute must be found, under its name, with its value.
//! 6. the fields of `staticmethod`, `classmethod`, `property` and
//!    `functools.partial`, whose structs no header has, found in each type's
//!    `tp_members` and `tp_dictoffset` ([`fields_of`]).
//! 7. the generator, coroutine and async generator types: name, metatype,
//!    `tp_basicsize` and `tp_weaklistoffset` as the headers say
//!    ([`verify_generator_types`]; 3.14+'s debug table, step 1, also holds
//!    their `gi_name`, `gi_iframe` and `gi_frame_state`).
//!
//! Each failure turns off only the part that depends on it ([`Part`]) and
//! leaves a note that says what failed and what falls back to generic
//! labels; what passed is listed in [`Checked::confirmed`].
//!
//! The outcome is computed once per process and cached (a `Mutex`, not a
//! `OnceLock`, only so that [`override_offset`](super::override_offset), which
//! tests use to hand out a wrong layout, makes it check again);
//! [`check_layout`] runs the checks uncached, with the `_PyRuntime` address
//! given, for tests. Like the rest of `cpython`, it reads through `mem` only,
//! never calls Python and never allocates a Python object.

use std::sync::Mutex;

use super::frames::{thread_frames, TypeChecks};
use super::generators::{verify_generator_types, GeneratorTypes};
use super::interp::{interp_threads, verify_interp, verify_thread_state};
use super::managed_dict::{managed_attributes, shared_keys};
use super::mem::word;
use super::objects::{ascii_str, ob_type};
use super::runtime::{debug_offsets_check, find_runtime};
use super::types::{expect_type_named, fields_of, member_offsets, type_info, TypeFields};
use super::{layout_for, Layout, LayoutError, OVERRIDE_GENERATION};

/// Type object addresses from public APIs (`id(dict)`, `Py_TYPE(...)`, ...);
/// 0 = not given, and its checks are skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublicTypes {
    /// `type`
    pub type_: usize,
    pub str_: usize,
    pub tuple: usize,
    pub list: usize,
    pub dict: usize,
    /// `types.CodeType`, `types.FrameType`, `types.FunctionType`, `types.MethodType`.
    pub code: usize,
    pub frame: usize,
    pub function: usize,
    pub method: usize,
    pub staticmethod: usize,
    pub classmethod: usize,
    pub property: usize,
    /// `functools.partial`
    pub partial: usize,
    /// `types.GeneratorType`, `types.CoroutineType`, `types.AsyncGeneratorType`.
    pub generators: GeneratorTypes,
}

/// An instance of an ordinary class (no `__slots__`) with exactly one
/// attribute, made before the first capture and never asked for its
/// `__dict__` (that would create the dict): 3.11+ reads its attribute through
/// the managed-dict layout and must find `name` holding `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManagedProbe {
    /// `id(probe)`
    pub obj: usize,
    /// The attribute's name (ASCII).
    pub name: &'static str,
    /// `id(probe.<name>)`
    pub value: usize,
}

/// What the caller knows from public APIs. 0 / `None`: not known, and the
/// check that needs it is skipped (which leaves its part unconfirmed, see
/// [`Checked::notes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublicValues {
    /// `PyThreadState_Get()` (the calling thread, GIL held).
    pub tstate: usize,
    /// `PyInterpreterState_Get()`.
    pub interp: usize,
    /// `id(sys.modules)`.
    pub modules: usize,
    /// `id(sys.__dict__)`.
    pub sysdict: Option<usize>,
    /// `threading.get_ident()` of the calling thread.
    pub thread_id: Option<u64>,
    /// The calling thread is running at least this many Python frames (1 when
    /// called from Python code): its frame chain must show them.
    pub frames_at_least: usize,
    pub types: PublicTypes,
    pub managed_probe: Option<ManagedProbe>,
}

/// A part of the layout that is used or not as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Object headers, tuple/list/str fields, bound-method fields, GC and
    /// pre-header sizes: public headers, confirmed by 3.13+'s debug table.
    Objects,
    /// Type objects and member tables: [`super::types`], and the
    /// `staticmethod`/`classmethod`/`property`/`partial` fields.
    Types,
    /// Thread states and frame chains: [`super::frames`], [`interp_threads`].
    Frames,
    /// Holders in the interpreter state: [`super::interp::interp_holders`] and
    /// 3.9's atexit module state.
    Interp,
    /// 3.11+ attributes kept without a dict: [`super::managed_dict`].
    ManagedDict,
    /// Generators, coroutines, async generators: [`super::generators`] (their
    /// frames also need [`Part::Frames`]).
    Generators,
}

/// What [`checked_layout`] decided.
#[derive(Clone, Debug)]
pub struct Checked {
    pub version: (u32, u32),
    /// The layout, unless there is none for this version or 3.13+'s debug
    /// table refused it. Use [`Checked::layout_for`] to get it for one part.
    pub layout: Option<Layout>,
    pub types: bool,
    pub frames: bool,
    pub interp: bool,
    pub managed_dict: bool,
    pub generators: bool,
    /// `staticmethod`: `__func__` (`sm_callable`) and `__dict__`; `None` when
    /// not given or not found (then its referents keep generic labels).
    pub staticmethod: Option<TypeFields>,
    /// `classmethod`: `__func__` (`cm_callable`) and `__dict__`.
    pub classmethod: Option<TypeFields>,
    /// `property`: `fget`, `fset`, `fdel`, `__doc__`.
    pub property: Option<TypeFields>,
    /// `functools.partial`: `func`, `args`, `keywords`, `__dict__`.
    pub partial: Option<TypeFields>,
    /// What failed or could not be checked, and what falls back to what: one
    /// sentence each, for the snapshot's notes.
    pub notes: Vec<String>,
    /// What was confirmed, one short phrase each (for `--debug` output and tests).
    pub confirmed: Vec<String>,
}

impl Checked {
    fn nothing(version: (u32, u32)) -> Checked {
        Checked {
            version,
            layout: None,
            types: false,
            frames: false,
            interp: false,
            managed_dict: false,
            generators: false,
            staticmethod: None,
            classmethod: None,
            property: None,
            partial: None,
            notes: Vec::new(),
            confirmed: Vec::new(),
        }
    }

    /// The layout, if `part` may be read with it.
    pub fn layout_for(&self, part: Part) -> Option<&Layout> {
        let ok = match part {
            Part::Objects => true,
            Part::Types => self.types,
            Part::Frames => self.frames,
            Part::Interp => self.interp,
            Part::ManagedDict => self.managed_dict,
            Part::Generators => self.generators,
        };
        self.layout.as_ref().filter(|_| ok)
    }
}

const NO_FRAMES: &str = "thread frames are not roots and the caller's frame is not subtracted";
const NO_INTERP: &str =
    "objects held by the interpreter state (sys.modules, codecs, fork and atexit handlers) keep the generic held-from-outside label";
const NO_MANAGED: &str = "attributes of instances that have no __dict__ object yet get no .name labels";
const NO_TYPES: &str = "the fields of staticmethod, classmethod, property and functools.partial get generic labels";
const NO_GENERATORS: &str =
    "generators, coroutines and the asyncio Tasks running them get no name, and their frames' locals generic labels";

/// A cached outcome: the override generation and version it was computed for.
struct Cached {
    generation: u64,
    version: (u32, u32),
    checked: Checked,
}

static CACHE: Mutex<Option<Cached>> = Mutex::new(None);

/// The checked layout for the running interpreter `version`, computed on the
/// first call of the process (with `_PyRuntime` from [`find_runtime`]) and
/// returned from the cache afterwards; checked again only when
/// `override_offset` changed the layout. Call it with the GIL held.
pub fn checked_layout(version: (u32, u32), public: &PublicValues) -> Checked {
    let generation = OVERRIDE_GENERATION.load(std::sync::atomic::Ordering::Relaxed);
    let Ok(mut cache) = CACHE.lock() else {
        return check_layout(version, public, find_runtime());
    };
    if let Some(c) = cache.as_ref().filter(|c| c.generation == generation && c.version == version) {
        return c.checked.clone();
    }
    let checked = check_layout(version, public, find_runtime());
    *cache = Some(Cached { generation, version, checked: checked.clone() });
    checked
}

/// [`checked_layout`] without the cache, with the address of `_PyRuntime`
/// (`None`: not found) given instead of looked up.
pub fn check_layout(version: (u32, u32), public: &PublicValues, runtime: Option<usize>) -> Checked {
    let mut c = Checked::nothing(version);
    let Some(l) = layout_for(version.0, version.1) else {
        let known: Vec<_> = super::supported_versions().collect();
        let (first, last) = (known[0], known[known.len() - 1]);
        c.notes.push(format!(
            "no layout for Python {}.{} (refgraph has {}.{}-{}.{}): {NO_FRAMES}; {NO_INTERP}; {NO_MANAGED}; {NO_TYPES}; {NO_GENERATORS}",
            version.0, version.1, first.0, first.1, last.0, last.1
        ));
        return c;
    };
    let measured = format!("CPython {}.{} layout (measured on {})", version.0, version.1, l.measured_on);
    // 1. 3.13+: the interpreter's own offsets.
    if l.debug_offsets.is_some() {
        match runtime {
            None => c.notes.push(format!(
                "_PyRuntime is not exported here: the {measured} was not compared with _Py_DebugOffsets, only with public values"
            )),
            Some(rt) => match debug_offsets_check(&l, rt) {
                Ok(fields) => c.confirmed.push(format!("_Py_DebugOffsets: version, GIL build and {} offsets", fields.len())),
                Err(e) => {
                    c.notes.push(format!(
                        "_Py_DebugOffsets refuses the {measured} ({e}): this interpreter is not built like the headers refgraph \
                         measured, so no private layout is used: {NO_FRAMES}; {NO_INTERP}; {NO_MANAGED}; {NO_TYPES}; {NO_GENERATORS}"
                    ));
                    return c;
                }
            },
        }
    }
    c.layout = Some(l);
    let l = &l;
    let p = public;
    // 2. Type objects.
    if p.types.type_ == 0 {
        c.notes.push(format!("type objects were not checked (no address of `type` given): {NO_TYPES}"));
    } else {
        match check_types(l, &p.types) {
            Ok(()) => {
                c.types = true;
                c.confirmed.push("type objects: tp_name, tp_basicsize and ob_type of the public types; method members".into());
            }
            Err(e) => c.notes.push(format!("type objects are not laid out as the {measured} says ({e}): {NO_TYPES}")),
        }
    }
    // 3. The interpreter state.
    if p.interp == 0 || p.modules == 0 {
        c.notes.push(format!("the interpreter state was not checked (no interpreter or sys.modules given): {NO_INTERP}"));
    } else {
        match verify_interp(l, p.interp, p.modules, p.sysdict) {
            Ok(()) => {
                c.interp = true;
                c.confirmed.push("interpreter state: modules is id(sys.modules)".into());
            }
            Err(e) => c.notes.push(format!("interpreter state layout check failed ({e}): {NO_INTERP}")),
        }
    }
    // 4. The current thread state and its frames, read with the code and
    // frame layouts that 2. vouched for.
    if !c.types {
        c.notes.push(format!("the current thread state was not checked (the type objects were not confirmed): {NO_FRAMES}"));
    } else {
        match check_thread(l, p, c.interp) {
            Ok(Some(n)) => {
                c.frames = true;
                c.confirmed.push(format!("current thread state: interp, thread_id, thread list, {n} frames read and type-checked"));
            }
            Ok(None) => c.notes.push(format!(
                "the current thread state was not checked (no thread state, interpreter, or code/frame/tuple/dict/function type given): {NO_FRAMES}"
            )),
            Err(e) => c.notes.push(format!("thread state layout check failed ({e}): {NO_FRAMES}")),
        }
    }
    // 5. Managed dicts.
    if l.tpflags_managed_dict.is_none() {
        c.managed_dict = true; // nothing to read before 3.11
    } else {
        match p.managed_probe.map(|probe| check_managed(l, probe, p.types.str_)) {
            Some(Ok(())) => {
                c.managed_dict = true;
                c.confirmed.push("managed dict: the probe's attribute found by name and value".into());
            }
            Some(Err(e)) => c.notes.push(format!("managed dict layout check failed ({e}): {NO_MANAGED}")),
            None => {
                c.managed_dict = true;
                c.notes.push("the managed dict layout was not checked against a live instance (no probe given)".into());
            }
        }
    }
    // 6. Fields of structs private to .c files.
    if c.types {
        let t = &p.types;
        for (slot, ty, what, members, with_dict) in [
            (&mut c.staticmethod, t.staticmethod, "staticmethod", &["__func__"][..], true),
            (&mut c.classmethod, t.classmethod, "classmethod", &["__func__"][..], true),
            (&mut c.property, t.property, "property", &["fget", "fset", "fdel", "__doc__"][..], false),
            (&mut c.partial, t.partial, "functools.partial", &["func", "args", "keywords"][..], true),
        ] {
            if ty == 0 {
                continue;
            }
            match fields_of(l, ty, members, with_dict) {
                Ok(f) => *slot = Some(f),
                Err(e) => c.notes.push(format!("{what} fields not found ({e}): the referents of {what} objects get generic labels")),
            }
        }
    }
    // 7. Generators.
    let g = &p.types.generators;
    if !c.types || *g == GeneratorTypes::default() {
        c.notes.push(format!(
            "the generator types were not checked (no generator type given, or type objects not confirmed): {NO_GENERATORS}"
        ));
    } else {
        match verify_generator_types(l, g, p.types.type_) {
            Ok(()) => {
                c.generators = true;
                c.confirmed.push("generator types: tp_name, tp_basicsize and tp_weaklistoffset".into());
            }
            Err(e) => c.notes.push(format!("generator types are not laid out as the {measured} says ({e}): {NO_GENERATORS}")),
        }
    }
    c
}

/// Names, sizes and members of the public types.
fn check_types(l: &Layout, t: &PublicTypes) -> Result<(), LayoutError> {
    for (ty, name, what, basicsize) in [
        (t.type_, "type", "type type", l.basicsize_type),
        (t.str_, "str", "str type", l.basicsize_str),
        (t.tuple, "tuple", "tuple type", l.basicsize_tuple),
        (t.list, "list", "list type", l.basicsize_list),
        (t.dict, "dict", "dict type", l.basicsize_dict),
        (t.code, "code", "code type", l.basicsize_code),
        (t.frame, "frame", "frame type", l.basicsize_frame),
        (t.function, "function", "function type", l.basicsize_function),
        (t.method, "method", "method type", l.basicsize_method),
        (t.staticmethod, "staticmethod", "staticmethod type", None),
        (t.classmethod, "classmethod", "classmethod type", None),
        (t.property, "property", "property type", None),
        (t.partial, "functools.partial", "functools.partial type", None),
    ] {
        if ty == 0 {
            continue;
        }
        let info = expect_type_named(l, ty, name, what)?;
        let meta = ob_type(ty)?;
        if meta != t.type_ {
            return Err(LayoutError::mismatch(what, ty, format!("an instance of type ({:#x})", t.type_), meta));
        }
        if let Some(expected) = basicsize.filter(|&b| b != info.basicsize) {
            return Err(LayoutError::mismatch(what, ty, format!("tp_basicsize {expected} (from the headers)"), info.basicsize));
        }
    }
    if t.tuple != 0 && type_info(l, t.tuple)?.basicsize != l.need(l.tuple_items, "tuple ob_item")? {
        return Err(LayoutError::mismatch("tuple type", t.tuple, "tp_basicsize = the offset of ob_item", type_info(l, t.tuple)?.basicsize));
    }
    if t.method != 0 {
        let found = member_offsets(l, t.method, &["__func__", "__self__"])?;
        let ours = [l.need(l.method_func, "PyMethodObject.im_func")?, l.need(l.method_self, "PyMethodObject.im_self")?];
        if found != ours {
            return Err(LayoutError::mismatch("method __func__/__self__ members", t.method, format!("{ours:?}"), found[0]));
        }
    }
    Ok(())
}

/// The current thread state; `Ok(None)` when not given, else the number of
/// frames read.
fn check_thread(l: &Layout, p: &PublicValues, interp_ok: bool) -> Result<Option<usize>, LayoutError> {
    let t = &p.types;
    if p.tstate == 0 || p.interp == 0 || [t.code, t.frame, t.tuple, t.dict, t.function].contains(&0) {
        return Ok(None);
    }
    verify_thread_state(l, p.tstate, p.interp)?;
    if let Some(expected) = p.thread_id {
        let off = l.need(l.ts_thread_id, "PyThreadState.thread_id")?;
        let found = word(p.tstate + off, "PyThreadState.thread_id")?;
        if found as u64 != expected {
            return Err(LayoutError::mismatch(
                "PyThreadState.thread_id",
                p.tstate + off,
                format!("threading.get_ident() = {expected}"),
                found,
            ));
        }
    }
    if interp_ok && !interp_threads(l, p.interp)?.contains(&p.tstate) {
        return Err(LayoutError::mismatch("threads.head", p.interp, format!("a list holding the current thread state {:#x}", p.tstate), 0));
    }
    let checks = TypeChecks { code: t.code, frame: t.frame, tuple: t.tuple, dict: t.dict, function: t.function };
    let n = thread_frames(l, p.tstate, &checks)?.len();
    if n < p.frames_at_least {
        return Err(LayoutError::mismatch(
            "frames of the current thread",
            p.tstate,
            format!("at least {} (the caller's)", p.frames_at_least),
            n,
        ));
    }
    Ok(Some(n))
}

/// The probe's attribute, read through the managed-dict layout.
fn check_managed(l: &Layout, probe: ManagedProbe, str_type: usize) -> Result<(), LayoutError> {
    let tp = ob_type(probe.obj)?;
    let info = type_info(l, tp)?;
    if !l.has_managed_dict(info.flags) {
        return Err(LayoutError::mismatch("tp_flags of the probe's type", tp, "Py_TPFLAGS_MANAGED_DICT set", info.flags as usize));
    }
    let keys = word(tp + l.need(l.ht_cached_keys, "ht_cached_keys")?, "ht_cached_keys")?;
    let keys = shared_keys(&super::mem::Checked, l, keys)?;
    let attrs = managed_attributes(&super::mem::Checked, l, probe.obj, info.flags, info.basicsize, &keys)?;
    let named = |k: usize| str_type == 0 || matches!(ascii_str(l, k, str_type), Ok(Some(s)) if s == probe.name);
    if attrs.iter().any(|&(k, v)| v == probe.value && named(k)) {
        return Ok(());
    }
    Err(LayoutError::mismatch(
        "managed dict of the probe",
        probe.obj,
        format!("attribute {} = {:#x}", probe.name, probe.value),
        attrs.len(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::fake::Fake;
    use super::super::runtime::COOKIE;
    use super::super::types::tests::fake_type;
    use super::super::{generated_layout, objects, test_lock};
    use super::*;

    /// A fake interpreter with one thread (no frames), public types, a probe
    /// instance (3.11+), a base frame (3.15), and a fake `_PyRuntime` (3.13+).
    struct World {
        fake: Fake,
        public: PublicValues,
        runtime: Option<usize>,
    }

    fn fake_str(fake: &mut Fake, l: &Layout, str_type: usize, s: &str) -> usize {
        let o = fake.object(l.str_ascii_size.unwrap() + s.len() + 1, str_type);
        fake.put_isize(o + l.str_length.unwrap(), s.len() as isize);
        let state = (1u32 << l.str_compact_bit.unwrap()) | (1 << l.str_ascii_bit.unwrap()) | (1 << l.str_kind_shift.unwrap());
        fake.put(o + l.str_state.unwrap(), &state.to_ne_bytes());
        fake.put(o + l.str_ascii_size.unwrap(), s.as_bytes());
        o
    }

    fn world(minor: u32) -> World {
        let l = generated_layout(3, minor).unwrap();
        let (obj, obj_ex) = (l.member_t_object.unwrap(), l.member_t_object_ex.unwrap());
        let mut fake = Fake::new();
        let type_ = fake_type(&mut fake, l, "type", l.basicsize_type.unwrap(), &[], 0);
        fake.put_usize(type_ + objects::OB_TYPE, type_);
        let ty = |fake: &mut Fake, name: &str, basicsize: usize, members: &[(&str, usize, usize)], dictoffset: isize| {
            let t = fake_type(fake, l, name, basicsize, members, dictoffset);
            fake.put_usize(t + objects::OB_TYPE, type_);
            t
        };
        let method = [("__func__", obj, l.method_func.unwrap()), ("__self__", obj, l.method_self.unwrap())];
        let types = PublicTypes {
            type_,
            str_: ty(&mut fake, "str", l.basicsize_str.unwrap(), &[], 0),
            tuple: ty(&mut fake, "tuple", l.basicsize_tuple.unwrap(), &[], 0),
            list: ty(&mut fake, "list", l.basicsize_list.unwrap(), &[], 0),
            dict: ty(&mut fake, "dict", l.basicsize_dict.unwrap(), &[], 0),
            code: ty(&mut fake, "code", l.basicsize_code.unwrap(), &[], 0),
            frame: ty(&mut fake, "frame", l.basicsize_frame.unwrap(), &[], 0),
            function: ty(&mut fake, "function", l.basicsize_function.unwrap(), &[], 0),
            method: ty(&mut fake, "method", l.basicsize_method.unwrap(), &method, 0),
            staticmethod: ty(&mut fake, "staticmethod", 32, &[("__func__", obj, 16), ("__wrapped__", obj, 16)], 24),
            classmethod: ty(&mut fake, "classmethod", 32, &[("__func__", obj, 16)], 24),
            property: ty(&mut fake, "property", 64, &[("fget", obj, 16), ("fset", obj, 24), ("fdel", obj, 32), ("__doc__", obj, 40)], 0),
            partial: ty(&mut fake, "functools.partial", 64, &[("func", obj_ex, 16), ("args", obj, 24), ("keywords", obj, 32)], 40),
            generators: GeneratorTypes::default(),
        };
        let mut types = types;
        let gen = |fake: &mut Fake, name: &str| {
            let t = ty(fake, name, l.basicsize_gen.unwrap(), &[], 0);
            fake.put_isize(t + l.tp_weaklistoffset.unwrap(), l.gen_weakreflist.unwrap() as isize);
            t
        };
        types.generators = GeneratorTypes {
            generator: gen(&mut fake, "generator"),
            coroutine: gen(&mut fake, "coroutine"),
            async_generator: gen(&mut fake, "async_generator"),
        };
        fake.put_usize(types.tuple + l.tp_itemsize.unwrap(), 8);
        let interp = fake.alloc(l.interp_size.unwrap());
        let modules = fake.object(48, types.dict);
        fake.put_usize(interp + l.interp_modules.unwrap(), modules);
        // 3.15: room for the base frame that follows the public thread state,
        // which is also where the (empty) chain starts and ends.
        let tstate = fake.alloc(l.ts_impl_base_frame.map_or(l.ts_size.unwrap(), |at| at + l.iframe_size.unwrap()));
        if let Some(off) = l.ts_base_frame {
            let base = tstate + l.ts_impl_base_frame.unwrap();
            fake.put_usize(tstate + off, base);
            fake.put_usize(tstate + l.ts_current_frame.unwrap(), base);
            fake.put_u8(base + l.iframe_owner.unwrap(), l.owner_interpreter.unwrap() as u8);
        }
        fake.put_usize(tstate + l.ts_interp.unwrap(), interp);
        fake.put_usize(tstate + l.ts_thread_id.unwrap(), 4242);
        fake.put_usize(interp + l.interp_threads_head.unwrap(), tstate);
        if let Some(off) = l.ts_cframe {
            let cframe = fake.alloc(16);
            fake.put_usize(tstate + off, cframe);
        }
        let mut public = PublicValues { tstate, interp, modules, thread_id: Some(4242), types, ..PublicValues::default() };
        if let Some(managed) = l.tpflags_managed_dict {
            // class P: pass; p = P(); p.answer = value
            let flags = managed | l.tpflags_inline_values.unwrap_or(0) | l.tpflags_heaptype.unwrap();
            let p_type = ty(&mut fake, "P", 16, &[], 0);
            fake.put_usize(p_type + l.tp_flags.unwrap(), flags);
            let name = fake_str(&mut fake, l, types.str_, "answer");
            let keys = fake.alloc(l.dk_indices.unwrap() + 8 + 16);
            fake.put_u8(keys + l.dk_kind.unwrap(), l.dict_keys_split.unwrap() as u8);
            fake.put_u8(keys + l.dk_log2_index_bytes.unwrap(), 3);
            fake.put_isize(keys + l.dk_nentries.unwrap(), 1);
            fake.put_usize(keys + l.dk_indices.unwrap() + 8, name);
            fake.put_usize(p_type + l.ht_cached_keys.unwrap(), keys);
            let block = fake.alloc(32 + 16 + 8 + 8);
            let p = block + 32;
            fake.put_usize(p + objects::OB_TYPE, p_type);
            let value = 0x4200_0000;
            if let Some(off) = l.preheader_values.or(l.preheader_dict_or_values) {
                let values = fake.alloc(8);
                fake.put_usize(values, value);
                let tagged = if l.preheader_dict_or_values.is_some() { values - 1 } else { values };
                fake.put_usize(p - off, tagged);
            } else {
                let header = p + l.inline_values_at.unwrap();
                fake.put_u8(header + l.dict_values_capacity.unwrap(), 1);
                fake.put_u8(header + l.dict_values_valid.unwrap(), 1);
                fake.put_usize(header + l.dict_values_values.unwrap(), value);
            }
            public.managed_probe = Some(ManagedProbe { obj: p, name: "answer", value });
        }
        let runtime = l.debug_offsets.map(|_| {
            let end = l.debug_checks.iter().map(|c| c.at + 8).max().unwrap();
            let rt = fake.alloc(end);
            fake.put(rt, COOKIE);
            fake.put_u64(rt + 8, 0x0300_00f0 | u64::from(minor) << 16);
            for c in l.debug_checks {
                fake.put_u64(rt + c.at, (c.ours)(l).unwrap() as u64);
            }
            rt
        });
        World { fake, public, runtime }
    }

    impl World {
        fn fake_u64(&self, addr: usize) -> u64 {
            super::super::mem::read_u64(addr).unwrap()
        }
    }

    /// What a test compares of two outcomes (a `Layout` holds function pointers).
    fn summary(c: &Checked) -> (bool, bool, bool, bool, bool, Vec<String>, Vec<String>) {
        (c.layout.is_some(), c.types, c.frames, c.interp, c.managed_dict, c.notes.clone(), c.confirmed.clone())
    }

    #[test]
    fn a_consistent_process_passes_every_check() {
        let _serial = test_lock();
        for minor in 9..=15 {
            let w = world(minor);
            let c = check_layout((3, minor), &w.public, w.runtime);
            assert!(c.layout.is_some() && c.types && c.frames && c.interp && c.managed_dict && c.generators, "3.{minor}: {:?}", c.notes);
            assert!(c.notes.is_empty(), "3.{minor}: {:?}", c.notes);
            assert_eq!(c.staticmethod.as_ref().unwrap().fields, vec![("__func__", 16), ("__dict__", 24)]);
            assert_eq!(c.classmethod.as_ref().unwrap().fields, vec![("__func__", 16), ("__dict__", 24)]);
            assert_eq!(c.property.as_ref().unwrap().fields, vec![("fget", 16), ("fset", 24), ("fdel", 32), ("__doc__", 40)]);
            assert_eq!(c.partial.as_ref().unwrap().fields, vec![("func", 16), ("args", 24), ("keywords", 32), ("__dict__", 40)]);
            for part in [Part::Objects, Part::Types, Part::Frames, Part::Interp, Part::ManagedDict, Part::Generators] {
                assert_eq!(c.layout_for(part).map(|l| l.version), Some((3, minor)));
            }
            let debug = c.confirmed.iter().any(|s| s.starts_with("_Py_DebugOffsets"));
            assert_eq!(debug, minor >= 13, "{:?}", c.confirmed);
            assert_eq!(c.confirmed.iter().any(|s| s.starts_with("managed dict")), minor >= 11);
            drop(w.fake);
        }
    }

    #[test]
    fn each_failure_turns_off_its_part_and_says_so() {
        let _serial = test_lock();
        let minor = 12;
        let l = generated_layout(3, minor).unwrap();
        // sys.modules somewhere else: the interpreter-state part is off; the
        // thread part still passes (without the thread-list check).
        let mut w = world(minor);
        let mut p = w.public;
        p.modules += 8;
        let c = check_layout((3, minor), &p, None);
        assert!(!c.interp && c.frames && c.types);
        assert!(c.layout_for(Part::Interp).is_none() && c.layout_for(Part::Frames).is_some());
        assert!(c.notes[0].starts_with("interpreter state layout check failed (interp.modules at "), "{:?}", c.notes);
        assert!(c.notes[0].ends_with("keep the generic held-from-outside label"));
        // A thread state of another interpreter, or another thread's id.
        let mut p = w.public;
        p.thread_id = Some(1);
        let c = check_layout((3, minor), &p, None);
        assert!(!c.frames && c.interp);
        assert!(c.notes[0].contains("PyThreadState.thread_id") && c.notes[0].ends_with(NO_FRAMES), "{:?}", c.notes);
        w.fake.put_usize(w.public.tstate + l.ts_interp.unwrap(), 0x5000);
        let c = check_layout((3, minor), &w.public, None);
        assert!(!c.frames && c.notes[0].contains("PyThreadState.interp"), "{:?}", c.notes);
        // The caller's frames are not on the chain (the fake thread runs none).
        let mut p = w.public;
        p.frames_at_least = 1;
        w.fake.put_usize(w.public.tstate + l.ts_interp.unwrap(), w.public.interp);
        let c = check_layout((3, minor), &p, None);
        assert!(!c.frames && c.notes[0].contains("frames of the current thread"), "{:?}", c.notes);
        // The thread is not on the interpreter's list.
        w.fake.put_usize(w.public.interp + l.interp_threads_head.unwrap(), 0);
        let c = check_layout((3, minor), &w.public, None);
        assert!(!c.frames && c.notes[0].contains("threads.head"), "{:?}", c.notes);
        w.fake.put_usize(w.public.interp + l.interp_threads_head.unwrap(), w.public.tstate);
        // The probe's value is not where the layout says.
        let probe = w.public.managed_probe.unwrap();
        let mut p = w.public;
        p.managed_probe = Some(ManagedProbe { value: probe.value + 1, ..probe });
        let c = check_layout((3, minor), &p, None);
        assert!(!c.managed_dict && c.layout_for(Part::ManagedDict).is_none());
        assert!(c.notes[0].starts_with("managed dict layout check failed") && c.notes[0].ends_with(NO_MANAGED), "{:?}", c.notes);
        p.managed_probe = Some(ManagedProbe { name: "question", ..probe });
        assert!(!check_layout((3, minor), &p, None).managed_dict);
        // A partial whose member is not an object pointer: only partial falls back.
        let mut p = w.public;
        p.types.partial = fake_type(&mut w.fake, l, "functools.partial", 64, &[("func", 1, 16)], 0);
        w.fake.put_usize(p.types.partial + objects::OB_TYPE, p.types.type_);
        let c = check_layout((3, minor), &p, None);
        assert!(c.types && c.partial.is_none() && c.staticmethod.is_some());
        assert!(c.notes[0].starts_with("functools.partial fields not found (functools.partial.func: type code 1"), "{:?}", c.notes);
        // A coroutine type of another size: only the generators are off.
        let mut p = w.public;
        p.types.generators.coroutine = fake_type(&mut w.fake, l, "coroutine", l.basicsize_gen.unwrap() + 8, &[], 0);
        w.fake.put_usize(p.types.generators.coroutine + objects::OB_TYPE, p.types.type_);
        let c = check_layout((3, minor), &p, None);
        assert!(c.types && c.frames && c.interp && !c.generators && c.layout_for(Part::Generators).is_none());
        assert!(c.notes[0].starts_with("generator types are not laid out") && c.notes[0].ends_with(NO_GENERATORS), "{:?}", c.notes);
        // A wrong type address: the whole types part is off, and the frames
        // (read with the code and frame layouts) with it.
        let mut p = w.public;
        p.types.str_ = p.types.tuple;
        let c = check_layout((3, minor), &p, None);
        assert!(!c.types && c.staticmethod.is_none() && !c.frames && c.interp);
        assert!(c.notes[0].contains("tp_name \"str\" (found \"tuple\")") && c.notes[0].ends_with(NO_TYPES), "{:?}", c.notes);
        assert!(c.notes[1].contains("type objects were not confirmed") && c.notes[1].ends_with(NO_FRAMES), "{:?}", c.notes);
        // A code type of another size: another build.
        let mut p = w.public;
        p.types.code = fake_type(&mut w.fake, l, "code", l.basicsize_code.unwrap() + 8, &[], 0);
        w.fake.put_usize(p.types.code + objects::OB_TYPE, p.types.type_);
        let c = check_layout((3, minor), &p, None);
        assert!(!c.types && !c.frames && c.notes[0].contains("tp_basicsize"), "{:?}", c.notes);
        // Nothing given: nothing confirmed, every part that needs a value says so.
        let c = check_layout((3, minor), &PublicValues::default(), None);
        assert!(!c.types && !c.interp && !c.frames && c.managed_dict && c.layout.is_some());
        assert_eq!(c.notes.len(), 5, "{:?}", c.notes);
        assert!(!c.generators && c.notes[4].ends_with(NO_GENERATORS), "{:?}", c.notes);
        // No layout at all.
        let c = check_layout((3, 16), &w.public, None);
        assert!(c.layout.is_none() && c.layout_for(Part::Objects).is_none());
        assert!(c.notes[0].starts_with("no layout for Python 3.16 (refgraph has 3.9-3.15)"), "{:?}", c.notes);
    }

    #[test]
    fn the_debug_table_can_refuse_everything() {
        let _serial = test_lock();
        // 3.13-3.15, each with its own table, and in it a field only it has.
        for (minor, own_field) in
            [(13, "code_object.co_code_adaptive"), (14, "interpreter_frame.stackpointer"), (15, "thread_state.base_frame")]
        {
            let l = generated_layout(3, minor).unwrap();
            let mut w = world(minor);
            let rt = w.runtime.unwrap();
            let c = check_layout((3, minor), &w.public, Some(rt));
            assert!(c.notes.is_empty(), "3.{minor}: {:?}", c.notes);
            let n = l.debug_checks.len();
            assert!(c.confirmed[0] == format!("_Py_DebugOffsets: version, GIL build and {n} offsets"), "{:?}", c.confirmed);
            // No _PyRuntime: the public-value checks still decide, with a note.
            let c = check_layout((3, minor), &w.public, None);
            assert!(c.frames && c.interp && c.types);
            assert!(c.notes[0].starts_with("_PyRuntime is not exported here"), "{:?}", c.notes);
            // An offset the interpreter disagrees with: no layout at all.
            for what in ["thread_state.interp", own_field] {
                let at = l.debug_checks.iter().find(|d| d.what == what).unwrap().at;
                let good = w.fake_u64(rt + at);
                w.fake.put_u64(rt + at, good + 8);
                let c = check_layout((3, minor), &w.public, Some(rt));
                assert!(c.layout.is_none() && !c.frames && !c.interp && c.staticmethod.is_none());
                assert!(c.notes[0].contains(what) && c.notes[0].contains(NO_INTERP), "{:?}", c.notes);
                w.fake.put_u64(rt + at, good);
            }
            // Another version's table (its version says so first).
            let other = if minor == 15 { 14 } else { minor + 1 };
            let c = check_layout((3, other), &w.public, Some(rt));
            assert!(c.layout.is_none() && c.notes[0].contains("_Py_DebugOffsets.version"), "{:?}", c.notes);
            // A free-threaded build, and a runtime address that leads nowhere.
            w.fake.put_u64(rt + 16, 1);
            assert!(check_layout((3, minor), &w.public, Some(rt)).notes[0].contains("free_threaded"));
            let c = check_layout((3, minor), &w.public, Some(0x30));
            assert!(c.layout.is_none() && c.notes[0].contains("cannot read _Py_DebugOffsets.cookie at 0x30"), "{:?}", c.notes);
        }
    }

    /// 3.15: a thread state whose base frame is not where the layout puts it
    /// turns the frames off, and only them.
    #[test]
    fn a_misplaced_315_base_frame_turns_the_frames_off() {
        let _serial = test_lock();
        let l = generated_layout(3, 15).unwrap();
        let w = world(15);
        let mut fake = w.fake;
        let at = w.public.tstate + l.ts_base_frame.unwrap();
        fake.put_usize(at, w.public.tstate + 8);
        let c = check_layout((3, 15), &w.public, w.runtime);
        assert!(!c.frames && c.interp && c.types && c.managed_dict && c.layout.is_some(), "{:?}", c.notes);
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
        assert!(c.notes[0].starts_with("thread state layout check failed (PyThreadState.base_frame at "), "{:?}", c.notes);
        assert!(c.notes[0].ends_with(NO_FRAMES));
    }

    #[test]
    fn the_outcome_is_cached_until_the_layout_is_overridden() {
        let _serial = test_lock();
        let w = world(11);
        let first = checked_layout((3, 11), &w.public);
        assert!(first.interp && first.notes.is_empty(), "{:?}", first.notes);
        // Same answer without looking again, even for values that would fail now.
        let mut p = w.public;
        p.modules = 0x1234_0000;
        assert_eq!(summary(&checked_layout((3, 11), &p)), summary(&first));
        // Overriding an offset makes it check again (and restoring it, again).
        super::super::override_offset(Some(("interp_modules", 8))).unwrap();
        let again = checked_layout((3, 11), &w.public);
        super::super::override_offset(None).unwrap();
        assert!(!again.interp && again.frames, "{:?}", again.notes);
        assert!(again.notes[0].starts_with("interpreter state layout check failed (interp.modules at "));
        assert_eq!(summary(&checked_layout((3, 11), &w.public)), summary(&first));
    }
}
