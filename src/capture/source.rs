//! The heap being read: what a capture asks of it, as one small trait.
//!
//! [`HeapSource`] is the seam between the capture (this module's parent: the
//! walk, the two-core pipeline, labels, observers, roots) and whatever holds
//! the objects. The running interpreter implements it in
//! `crate::cpython::live`, the only code that knows a CPython layout; the
//! tests implement it over a heap they build themselves (`fake.rs`), so the
//! whole capture runs under `cargo test` with no Python at all.
//!
//! The trait answers questions about structure only: what an object's type
//! is, what it refers to, which named field holds which referent, the text of
//! a str. It never runs code of the objects it describes, and the capture
//! never asks it anything but that.
//!
//! Methods that take an object's address are `unsafe`: a live heap reads
//! that address as an object, so it must be one the source itself reported
//! (a tracked object, a referent, a field, a dict entry, a frame's
//! reference) during this capture, while the heap cannot change.

/// The address of an object in the heap being read.
pub type Addr = usize;

/// What the capture distinguishes about a type: the built-in shapes whose
/// fields it labels and whose values it shows. Anything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Str,
    Int,
    Bool,
    Float,
    None,
    Dict,
    List,
    Tuple,
    Set,
    FrozenSet,
    Bytes,
    Module,
    Function,
    Method,
    BuiltinFunction,
    Cell,
    Code,
    Frame,
    StaticMethod,
    ClassMethod,
    Property,
    Partial,
    Type,
    Other,
}

/// What the capture needs to know of a type to read its instances: cheap
/// to ask, asked once per object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub kind: Kind,
    /// The type is exactly the built-in of its kind, not a subclass of it
    /// (only dicts, lists, tuples and types have subclass kinds).
    pub exact: bool,
    /// A class made by a `class` statement (or `type(...)`): its instances
    /// hold their class, and may have a `__dict__` and slots.
    pub heap_type: bool,
    /// A heap type with a C type other than `object` among its bases,
    /// whose members its instances have (a subclass of `property`, of an
    /// exception, of `defaultdict`).
    pub c_base: bool,
}

/// An object's reference count as the source reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefCount {
    Count(u64),
    /// 3.12+: the object is never freed, its count means nothing.
    Immortal,
}

/// The characters of a str (or of a name kept as a C string), borrowed
/// from where they are stored, in the unit they are stored in.
#[derive(Clone, Copy, Debug)]
pub enum Text<'a> {
    /// One byte per character, all below 128.
    Ascii(&'a [u8]),
    Latin1(&'a [u8]),
    Ucs2(&'a [u16]),
    Ucs4(&'a [u32]),
    /// UTF-8 bytes (C strings: a builtin function's name); decoded lossily.
    Utf8(&'a [u8]),
}

impl Text<'_> {
    /// Length in characters (for `Utf8`, in bytes until decoded).
    pub fn len(&self) -> usize {
        match self {
            Text::Ascii(b) | Text::Latin1(b) | Text::Utf8(b) => b.len(),
            Text::Ucs2(u) => u.len(),
            Text::Ucs4(u) => u.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The characters, decoded; an invalid code point becomes U+FFFD.
    pub fn chars(&self) -> TextChars<'_> {
        match *self {
            Text::Ascii(b) | Text::Latin1(b) => TextChars::Bytes(b.iter()),
            Text::Ucs2(u) => TextChars::Ucs2(u.iter()),
            Text::Ucs4(u) => TextChars::Ucs4(u.iter()),
            Text::Utf8(b) => TextChars::Utf8(b.utf8_chunks().flat_map(utf8_chunk_chars)),
        }
    }

    /// The first `max` characters as a `String`.
    pub fn to_string_max(&self, max: usize) -> String {
        match *self {
            // ASCII is valid UTF-8: one copy.
            Text::Ascii(b) => String::from_utf8_lossy(&b[..b.len().min(max)]).into_owned(),
            _ => self.chars().take(max).collect(),
        }
    }

    /// Is this exactly `s`? Compares characters, runs nothing.
    pub fn equals(&self, s: &str) -> bool {
        match *self {
            Text::Ascii(b) | Text::Utf8(b) => b == s.as_bytes(),
            _ => self.len() == s.chars().count() && self.chars().eq(s.chars()),
        }
    }
}

/// The characters of a [`Text`], decoded in place.
pub enum TextChars<'a> {
    Bytes(std::slice::Iter<'a, u8>),
    Ucs2(std::slice::Iter<'a, u16>),
    Ucs4(std::slice::Iter<'a, u32>),
    Utf8(std::iter::FlatMap<std::str::Utf8Chunks<'a>, Utf8ChunkChars<'a>, fn(std::str::Utf8Chunk<'a>) -> Utf8ChunkChars<'a>>),
}

type Utf8ChunkChars<'a> = std::iter::Chain<std::str::Chars<'a>, std::option::IntoIter<char>>;

/// A valid run of UTF-8, then U+FFFD if invalid bytes followed it.
fn utf8_chunk_chars(chunk: std::str::Utf8Chunk<'_>) -> Utf8ChunkChars<'_> {
    chunk.valid().chars().chain((!chunk.invalid().is_empty()).then_some('\u{fffd}'))
}

impl Iterator for TextChars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let cp = |c: u32| char::from_u32(c).unwrap_or('\u{fffd}');
        match self {
            TextChars::Bytes(b) => b.next().map(|&c| char::from(c)),
            TextChars::Ucs2(u) => u.next().map(|&c| cp(u32::from(c))),
            TextChars::Ucs4(u) => u.next().map(|&c| cp(c)),
            TextChars::Utf8(it) => it.next(),
        }
    }
}

/// A str as the source found it.
#[derive(Clone, Copy, Debug)]
pub struct Str<'a> {
    pub text: Text<'a>,
    /// Exactly `str`, not a subclass.
    pub exact: bool,
}

/// How an object holds one of its referents: the name of the field (or the
/// position) the reference sits in, as the source reads it from structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// A fixed name: `__globals__`, `__func__`, `f_back`, `fget`.
    Name(&'static str),
    /// A slot or member of an instance, by its member name (`x` of `.x`).
    Slot(&'a str),
    /// An attribute kept without a dict (3.11+ managed values), by the
    /// address of its name, a str.
    Attr(Addr),
    /// A local variable of a frame, by the address of its name (0: unknown).
    Local(Addr),
    /// An entry of a frame's value stack.
    Stack(u32),
    /// An atexit callback record kept in a module's state (3.9): its
    /// 1-based number and which part (`""`, `" args"`, `" kwargs"`).
    Atexit { number: u32, part: &'static str },
}

/// A module's own name and its qualified name, for labels: `logging` and
/// `shutdown` for function `logging.shutdown`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    pub module: Option<Text<'a>>,
    pub name: Option<Text<'a>>,
}

/// Every object the source's collector tracks.
#[derive(Clone, Debug, Default)]
pub struct Tracked {
    pub addrs: Vec<Addr>,
    /// An object the source made to list them (before 3.12, the list from
    /// `gc.get_objects()`): left out of the graph, and its one reference on
    /// each listed object subtracted.
    pub list: Option<Addr>,
}

/// One frame of a thread, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameData {
    /// 0 for a thread's newest frame.
    pub depth: u32,
    /// Address of the frame object, or of the interpreter frame record.
    pub addr: Addr,
    /// The frame is an object of the heap (3.9/3.10 frame objects): walked
    /// like any other object.
    pub object: Option<Addr>,
    /// 3.11+: the frame object attached to this interpreter frame, if any.
    pub frame_object: Option<Addr>,
    /// 3.11+: what the interpreter frame record holds, by field.
    pub refs: Vec<(Addr, Field<'static>)>,
    /// The code's (qualified) name.
    pub function: String,
    /// Value-stack words of a frame whose stack depth cannot be known (it
    /// called into C, or runs): `(object, slot)` for each word that may be
    /// a reference, bottom first, with stale words among them. Attributed
    /// only where they explain a measured surplus (`capture::stack`).
    pub stack_unsure: Vec<(Addr, u32)>,
}

/// The slot of a [`FrameData::stack_unsure`] word that is no stack entry:
/// the function a C function this frame called runs in a newer frame,
/// which that C code may hold on its own stack (edge label `C call`).
pub const C_CALL_SLOT: u32 = u32::MAX;

/// The frames of one thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadFrames {
    pub thread: u64,
    /// The thread that runs the capture: its newest frames are the caller's.
    pub current: bool,
    pub frames: Vec<FrameData>,
}

/// Facts about the process, for the snapshot's metadata.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub collector: String,
    pub python_version: String,
    pub python: (u32, u32),
    pub pid: u32,
    pub argv: Vec<String>,
}

/// A heap to capture. See the module doc for the contract of the `unsafe`
/// methods: every address passed in was reported by this source during the
/// capture, and the heap does not change until the capture ends.
pub trait HeapSource {
    /// Facts for the snapshot's metadata.
    fn facts(&self) -> Facts;
    /// Every tracked object.
    fn tracked(&mut self) -> Tracked;
    /// The frames of every thread.
    fn threads(&mut self) -> Vec<ThreadFrames>;
    /// Objects held by named parts of the runtime's C state (an atexit
    /// slot, a fork-handler list, a signal handler): `(object, holder)`.
    fn holders(&mut self) -> Vec<(Addr, String)>;
    /// The registry of imported modules (`sys.modules`): `(name, module)`.
    fn modules(&self) -> Vec<(String, Addr)>;
    /// What the source could not read, for the snapshot's notes.
    fn notes(&self) -> Vec<String>;

    /// The type of `o`.
    ///
    /// # Safety
    /// `o` was reported by this source (see the module doc).
    unsafe fn type_of(&self, o: Addr) -> Addr;
    /// What instances of type `ty` are (asked once per object: cheap).
    ///
    /// # Safety
    /// `ty` came from [`HeapSource::type_of`].
    unsafe fn shape(&self, ty: Addr) -> Shape;
    /// The qualified name of type `ty`: `dict`, `logging.Logger`,
    /// `_io.TextIOWrapper` (asked once per type).
    ///
    /// # Safety
    /// `ty` came from [`HeapSource::type_of`].
    unsafe fn type_name(&self, ty: Addr) -> String;
    /// # Safety
    /// As [`HeapSource::type_of`].
    unsafe fn refcount(&self, o: Addr) -> RefCount;
    /// Appends every referent of `o`, as the object's own traversal reports
    /// them (a referent held twice is reported twice).
    ///
    /// # Safety
    /// As [`HeapSource::type_of`].
    unsafe fn traverse(&self, o: Addr, out: &mut Vec<Addr>);
    /// Bytes `o` takes itself, as `sys.getsizeof` reports them for built-in
    /// types (the collector's header included), computed from the type's
    /// layout.
    ///
    /// # Safety
    /// As [`HeapSource::type_of`]; `ty` is `o`'s type.
    unsafe fn shallow_size(&self, o: Addr, ty: Addr, kind: Kind) -> u64;

    /// The text of `o` if it is a str (or a subclass of str).
    ///
    /// # Safety
    /// As [`HeapSource::type_of`].
    unsafe fn str_of(&self, o: Addr) -> Option<Str<'_>>;
    /// The value of an int; `None` if it does not fit in 64 bits.
    ///
    /// # Safety
    /// `o` is a reported object of kind `Int` or `Bool`.
    unsafe fn int_value(&self, o: Addr) -> Option<i64>;
    /// # Safety
    /// `o` is a reported object of kind `Float`.
    unsafe fn float_value(&self, o: Addr) -> f64;
    /// Items of a dict, members of a set, length of a sequence or bytes.
    ///
    /// # Safety
    /// `o` is a reported object of kind `Dict`, `List`, `Tuple`, `Set`,
    /// `FrozenSet` or `Bytes`.
    unsafe fn len(&self, o: Addr) -> usize;
    /// Calls `f(key, value)` for each entry of a dict, in order, until it
    /// returns false.
    ///
    /// # Safety
    /// `d` is a reported object of kind `Dict`.
    unsafe fn dict_entries(&self, d: Addr, f: impl FnMut(Addr, Addr) -> bool);
    /// The items of a list or tuple, in order.
    ///
    /// # Safety
    /// `o` is a reported object of kind `List` or `Tuple`.
    unsafe fn items(&self, o: Addr) -> &[Addr];
    /// Calls `f(referent, field)` for each named field of `o`, an object of
    /// a kind with fields (function, method, builtin function, cell,
    /// module, static/class method, property, partial, type, frame).
    /// Null fields may be reported as 0; they are no references.
    ///
    /// # Safety
    /// `o` is a reported object of kind `kind`.
    unsafe fn fields(&self, o: Addr, kind: Kind, f: impl FnMut(Addr, Field<'_>));
    /// Calls `f(referent, field)` for what an instance of a class holds
    /// through its class's layout: its `__dict__` (if it has one already),
    /// attribute values kept without a dict, and slots.
    ///
    /// # Safety
    /// `o` is a reported object and `ty` its type, a heap type.
    unsafe fn instance_fields(&self, o: Addr, ty: Addr, f: impl FnMut(Addr, Field<'_>));
    /// What [`HeapSource::instance_fields`] reports but the slots: the
    /// instance's `__dict__` or the attribute values kept without one. A
    /// node label looks an attribute up there, where no slot answers; a
    /// source may report slots too.
    ///
    /// # Safety
    /// As [`HeapSource::instance_fields`].
    unsafe fn instance_attrs(&self, o: Addr, ty: Addr, f: impl FnMut(Addr, Field<'_>)) {
        // SAFETY: the caller's contract.
        unsafe { self.instance_fields(o, ty, f) }
    }
    /// Calls `f(offset, name)` for each object member (`T_OBJECT`,
    /// `T_OBJECT_EX`) in the `tp_members` of the C types on `ty`'s base
    /// chain (heap types' members are slots, reported by
    /// [`HeapSource::instance_fields`]), and for the `__dict__` pointer at a
    /// C type's fixed `tp_dictoffset`. Read from the type objects, never
    /// through a descriptor; asked once per type and capture.
    ///
    /// # Safety
    /// `ty` came from [`HeapSource::type_of`].
    unsafe fn type_members(&self, _ty: Addr, _f: &mut dyn FnMut(usize, &str)) {}
    /// The object pointer at byte `offset` of `o` (0 for NULL).
    ///
    /// # Safety
    /// `offset` came from [`HeapSource::type_members`] of `o`'s type or of
    /// one of its bases.
    unsafe fn member(&self, _o: Addr, _offset: usize) -> Addr {
        0
    }
    /// A generator's, coroutine's or async generator's own frame, where it
    /// is embedded in the object (3.11+): its locals by name, its code, and
    /// its value stack while suspended.
    ///
    /// # Safety
    /// `o` is a reported generator, coroutine or async generator.
    unsafe fn generator_fields(&self, _o: Addr, _f: &mut dyn FnMut(Addr, Field<'_>)) {}
    /// The qualified name of a generator, coroutine or async generator.
    ///
    /// # Safety
    /// As [`HeapSource::generator_fields`].
    unsafe fn generator_name(&self, _o: Addr) -> Option<Text<'_>> {
        None
    }
    /// Does `ty` make weak references (`weakref.ref`, a proxy, a subclass)?
    ///
    /// # Safety
    /// `ty` came from [`HeapSource::type_of`].
    unsafe fn is_weakref_type(&self, _ty: Addr) -> bool {
        false
    }
    /// The object a weak reference refers to; `None` once it is dead.
    ///
    /// # Safety
    /// `o` is a reported object of a type [`HeapSource::is_weakref_type`] accepted.
    unsafe fn weakref_target(&self, _o: Addr) -> Option<Addr> {
        None
    }
    /// A descriptor's owner type and name (`PyDescrObject.d_type`, `d_name`).
    ///
    /// # Safety
    /// `o` is a reported descriptor (`*_descriptor` types).
    unsafe fn descriptor_of(&self, _o: Addr) -> Option<(Addr, Addr)> {
        None
    }
    /// A type's `tp_name` as the C string it is (`Logger`, `_io.TextIOWrapper`):
    /// cheaper than [`HeapSource::type_name`], for node labels.
    ///
    /// # Safety
    /// `ty` came from [`HeapSource::type_of`].
    unsafe fn type_short_name(&self, _ty: Addr) -> Option<Text<'_>> {
        None
    }
    /// The code object a frame object runs.
    ///
    /// # Safety
    /// `o` is a reported object of kind `Frame`.
    unsafe fn frame_code(&self, _o: Addr) -> Option<Addr> {
        None
    }
    /// A code object's file name and first line.
    ///
    /// # Safety
    /// `code` is a reported object of kind `Code`.
    unsafe fn code_location(&self, _code: Addr) -> Option<(Text<'_>, u32)> {
        None
    }
    /// The names a function, method, builtin function, code object or
    /// module is known by.
    ///
    /// # Safety
    /// `o` is a reported object of kind `kind`.
    unsafe fn names(&self, o: Addr, kind: Kind) -> Names<'_>;
}

/// What every source answers through its [`HeapSource::fields`].
pub trait FieldsExt: HeapSource {
    /// The value of `o`'s field named `name` (`__func__`, `fget`), if set.
    ///
    /// # Safety
    /// As [`HeapSource::fields`].
    unsafe fn member_field(&self, o: Addr, kind: Kind, name: &str) -> Option<Addr> {
        let mut found = None;
        // SAFETY: the caller's contract.
        unsafe {
            self.fields(o, kind, |r, f| {
                if found.is_none() && r != 0 && matches!(f, Field::Name(n) if n == name) {
                    found = Some(r);
                }
            })
        };
        found
    }
}

impl<S: HeapSource> FieldsExt for S {}

/// The value under an exact-str key of a dict, found by walking its
/// entries: nothing is hashed or compared through the objects' own code.
///
/// # Safety
/// `d` is a reported object of kind `Dict`.
pub unsafe fn dict_get_str<S: HeapSource>(s: &S, d: Addr, key: &str) -> Option<Addr> {
    let mut found = None;
    // SAFETY: the caller's contract; keys are reported by the source.
    unsafe {
        s.dict_entries(d, |k, v| {
            if s.str_of(k).is_some_and(|t| t.exact && t.text.equals(key)) {
                found = Some(v);
                return false;
            }
            true
        })
    };
    found
}

/// The name of a module, from its namespace's `__name__`.
///
/// # Safety
/// `dict` is a reported dict.
pub unsafe fn module_name<S: HeapSource>(s: &S, dict: Addr) -> Option<Text<'_>> {
    // SAFETY: the caller's contract; the value is reported by the source.
    unsafe { dict_get_str(s, dict, "__name__").and_then(|n| s.str_of(n)).map(|t| t.text) }
}
