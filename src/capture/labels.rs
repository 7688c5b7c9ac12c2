//! What objects are called and how they hold their referents: node labels
//! and edge labels, made from the structure a [`HeapSource`] reports.
//!
//! Must never ask for anything but structure: no `__repr__`, `__getattr__`,
//! `__eq__`, `__hash__`, `__sizeof__`, property, or `__dict__` through the
//! attribute machinery (on 3.11+ that would create the managed dict). Only
//! exact built-in types get their values shown; anything else is described
//! by its type alone.
//!
//! Labels are interned: a fixed field name becomes an edge label once per
//! capture, and millions of edges share it.

use std::fmt::Write;

use rustc_hash::FxHashMap;

use crate::graph::{EdgeKind, EdgeLabel, HeapBuilder, NodeIx};

use super::source::{Addr, Field, FieldsExt, HeapSource, Kind, Names, Shape, Text};
use super::type_rules::{needs_rule, Special, TypeRules};

/// Longest text kept from a str for its label.
pub(crate) const STR_LABEL_CHARS: usize = 60;
/// Longest text kept from a name (a module's, a function's).
const NAME_CHARS: usize = 200;

/// Edge labels of fixed names, interned once per capture by the address of
/// their `&'static str`: a small table indexed by that address finds nearly
/// every one with one comparison (a function alone has twelve such fields,
/// and a capture meets 10^5 functions), the map the rest.
pub(crate) struct EdgeNames {
    recent: [(usize, EdgeLabel); 64],
    by_ptr: FxHashMap<(usize, usize), EdgeLabel>,
}

impl Default for EdgeNames {
    fn default() -> EdgeNames {
        EdgeNames { recent: [(0, EdgeLabel::UNKNOWN); 64], by_ptr: FxHashMap::default() }
    }
}

impl EdgeNames {
    pub(crate) fn fixed(&mut self, builder: &mut HeapBuilder, name: &'static str) -> EdgeLabel {
        // Two names may share an address only if one is a prefix of the
        // other, so the length is part of the key.
        let key = name.as_ptr() as usize ^ (name.len() << 48);
        let slot = (key >> 3) % self.recent.len();
        if self.recent[slot].0 == key {
            return self.recent[slot].1;
        }
        let label = *self.by_ptr.entry((name.as_ptr() as usize, name.len())).or_insert_with(|| builder.edge_name(name));
        self.recent[slot] = (key, label);
        label
    }
}

/// What a label needs of the capture's state: the source, the builder that
/// interns names, and a way to make a dict key or attribute name a node.
pub(crate) struct Labeller<'a, S> {
    pub source: &'a S,
    pub builder: &'a mut HeapBuilder,
    pub names: &'a mut EdgeNames,
    pub scratch: &'a mut String,
    pub rules: &'a mut TypeRules,
}

impl<S: HeapSource> Labeller<'_, S> {
    /// The edge label of a field; `key_node` makes an attribute's name a node.
    ///
    /// # Safety
    /// Addresses in `field` were reported by the source.
    pub unsafe fn field_label(&mut self, field: Field<'_>, key_node: &mut impl FnMut(Addr) -> NodeIx) -> EdgeLabel {
        match field {
            Field::Name(n) => self.names.fixed(self.builder, n),
            Field::Attr(key) => EdgeLabel::new(EdgeKind::Attr(key_node(key))),
            Field::Slot(name) => self.dynamic(format_args!(".{name}")),
            Field::Stack(i) => self.dynamic(format_args!("stack[{i}]")),
            Field::Atexit { number, part } => self.dynamic(format_args!("atexit callback #{number}{part}")),
            Field::Local(0) => self.names.fixed(self.builder, "f_locals[?]"),
            Field::Local(name) => {
                // SAFETY: the name was reported by the source (caller's contract).
                match unsafe { self.source.str_of(name) } {
                    Some(s) => {
                        let text = s.text.to_string_max(NAME_CHARS);
                        self.dynamic(format_args!("f_locals['{text}']"))
                    }
                    None => self.names.fixed(self.builder, "f_locals[?]"),
                }
            }
        }
    }

    fn dynamic(&mut self, text: std::fmt::Arguments<'_>) -> EdgeLabel {
        self.scratch.clear();
        let _ = self.scratch.write_fmt(text);
        self.builder.edge_name(self.scratch)
    }
}

/// Writes the safe short label of `o` into `out` (which is empty);
/// `special` is the hand-written part of its type's rule.
///
/// # Safety
/// `o` was reported by the source and `info` is its type's shape.
pub(crate) unsafe fn node_label<S: HeapSource>(s: &S, o: Addr, ty: Addr, info: Shape, special: Special, out: &mut String) {
    let exact = info.exact;
    // SAFETY (whole body): `o` is a reported object of `info`'s kind, which
    // is what each source method below requires.
    unsafe {
        match info.kind {
            Kind::Str if exact => {
                if let Some(t) = s.str_of(o) {
                    push_str_label(t.text, STR_LABEL_CHARS, out);
                }
            }
            Kind::Int | Kind::Bool if exact => match (s.int_value(o), info.kind) {
                (None, _) => out.push_str("big int"),
                (Some(v), Kind::Bool) => out.push_str(if v != 0 { "True" } else { "False" }),
                (Some(v), _) => drop(write!(out, "{v}")),
            },
            Kind::Float if exact => out.push_str(&float_repr(s.float_value(o))),
            Kind::None => out.push_str("None"),
            Kind::Dict => {
                let n = s.len(o);
                match module_namespace_name(s, o) {
                    Some(name) => drop(write!(out, "{name} namespace, {n} items")),
                    None => drop(write!(out, "len={n}")),
                }
            }
            Kind::List | Kind::Tuple | Kind::Set | Kind::FrozenSet | Kind::Bytes if exact => drop(write!(out, "len={}", s.len(o))),
            Kind::Module | Kind::Function | Kind::Method | Kind::BuiltinFunction | Kind::Code => push_names(s.names(o, info.kind), out),
            Kind::Type => out.push_str(&s.type_name(o)),
            Kind::Frame => frame_label(s, o, out),
            Kind::Cell => match s.member_field(o, info.kind, "cell_contents") {
                Some(r) => push_referent_type(s, r, out),
                None => out.push_str("empty"),
            },
            Kind::StaticMethod | Kind::ClassMethod => push_callable_field(s, o, info.kind, "__func__", out),
            Kind::Property => push_callable_field(s, o, info.kind, "fget", out),
            Kind::Partial => push_callable_field(s, o, info.kind, ".func", out),
            _ => special_label(s, o, ty, special, out),
        }
    }
}

/// Whether objects of this shape are exact strs (whose labels are their text).
pub(crate) fn is_str(info: Shape) -> bool {
    info.kind == Kind::Str && info.exact
}

/// The label of a str under `--no-strings`: its length in characters, not
/// its text (`len=12`, as containers are labelled), so a snapshot can be
/// handed over without the secrets the heap holds.
///
/// # Safety
/// `o` was reported by the source and is an exact str.
pub(crate) unsafe fn str_length_label<S: HeapSource>(s: &S, o: Addr, out: &mut String) {
    // SAFETY: the caller's contract.
    if let Some(t) = unsafe { s.str_of(o) } {
        let _ = write!(out, "len={}", t.text.chars().count());
    }
}

/// The labels of types that have no kind of their own.
///
/// # Safety
/// As [`node_label`].
unsafe fn special_label<S: HeapSource>(s: &S, o: Addr, ty: Addr, special: Special, out: &mut String) {
    // SAFETY (whole body): the caller's contract; what the source reports is reported.
    unsafe {
        match special {
            Special::Weakref => match s.weakref_target(o) {
                Some(r) => push_referent_type(s, r, out),
                None => out.push_str("dead"),
            },
            Special::Descriptor => {
                if let Some((owner, name)) = s.descriptor_of(o) {
                    if let Some(t) = s.type_short_name(owner) {
                        push_text(t, out);
                        out.push('.');
                    }
                    if let Some(n) = s.str_of(name) {
                        push_text(n.text, out);
                    }
                }
            }
            Special::Generator => {
                if let Some(n) = s.generator_name(o) {
                    push_text(n, out);
                }
            }
            Special::Task | Special::LruCache => {
                let mut refs = Vec::new();
                s.traverse(o, &mut refs);
                for r in refs {
                    let rt = s.type_of(r);
                    let kind = s.shape(rt).kind;
                    if special == Special::LruCache && kind == Kind::Function {
                        push_names(s.names(r, kind), out);
                        break;
                    }
                    if special == Special::Task && s.type_short_name(rt).is_some_and(|t| t.equals("coroutine")) {
                        if let Some(n) = s.generator_name(r) {
                            push_text(n, out);
                        }
                        break;
                    }
                }
            }
            Special::NamedByAttr => {
                if let Some(n) = instance_attr(s, o, ty, "name").and_then(|n| s.str_of(n)) {
                    push_str_label(n.text, NAME_CHARS, out);
                }
            }
            Special::EnumMember => {
                if let Some(n) = instance_attr(s, o, ty, "_name_").and_then(|n| s.str_of(n)) {
                    if let Some(t) = s.type_short_name(ty) {
                        push_text(t, out);
                        out.push('.');
                    }
                    push_str_label(n.text, NAME_CHARS, out);
                }
            }
            Special::Getter(offset) => match s.member(o, offset) {
                0 => {
                    // No getter (an enum member's `enum.property`): the name
                    // it was set on, kept in its `__dict__`.
                    if let Some(n) = instance_attr(s, o, ty, "name").and_then(|n| s.str_of(n)) {
                        push_str_label(n.text, NAME_CHARS, out);
                    }
                }
                r => push_callable(s, r, out),
            },
            Special::AbcData => {
                let mut refs = Vec::new();
                s.traverse(o, &mut refs);
                let n: usize = refs.iter().filter(|&&r| matches!(s.shape(s.type_of(r)).kind, Kind::Set)).map(|&r| s.len(r)).sum();
                let _ = write!(out, "{n} weakrefs in registry and caches");
            }
            Special::None | Special::Pattern => {}
        }
    }
}

/// An attribute of an instance of a class, from its `__dict__` or the
/// values kept without one (never through the attribute machinery).
///
/// # Safety
/// `o` is a reported instance of heap type `ty`.
unsafe fn instance_attr<S: HeapSource>(s: &S, o: Addr, ty: Addr, name: &str) -> Option<Addr> {
    let mut found = None;
    // SAFETY: the caller's contract; keys and dicts are reported.
    unsafe {
        s.instance_attrs(o, ty, |r, f| match f {
            Field::Attr(k) if found.is_none() && is_exact_str(s, k, name) => found = Some(r),
            Field::Name("__dict__") if found.is_none() => found = super::source::dict_get_str(s, r, name),
            _ => {}
        });
    }
    found
}

/// `name (file.py:12)` of a frame: its code's name and where the code starts.
///
/// # Safety
/// `o` is a reported frame.
unsafe fn frame_label<S: HeapSource>(s: &S, o: Addr, out: &mut String) {
    // SAFETY: the caller's contract; the code is checked by the source.
    unsafe {
        let Some(code) = s.frame_code(o) else { return };
        push_names(s.names(code, Kind::Code), out);
        if let Some((file, line)) = s.code_location(code) {
            let file = file.to_string_max(NAME_CHARS);
            let base = file.rsplit('/').next().unwrap_or(&file);
            let _ = write!(out, " ({base}:{line})");
        }
    }
}

/// The C type name of what `r` is (`→ Logger`).
///
/// # Safety
/// `r` was reported by the source.
unsafe fn push_referent_type<S: HeapSource>(s: &S, r: Addr, out: &mut String) {
    out.push_str("→ ");
    // SAFETY: the caller's contract.
    if let Some(t) = unsafe { s.type_short_name(s.type_of(r)) } {
        push_text(t, out);
    }
}

/// The name of the callable in `o`'s field `field` (a staticmethod's
/// function, a partial's `func`).
///
/// # Safety
/// `o` is a reported object of kind `kind`.
unsafe fn push_callable_field<S: HeapSource>(s: &S, o: Addr, kind: Kind, field: &str, out: &mut String) {
    // SAFETY: the caller's contract; the field's value is reported.
    unsafe {
        if let Some(r) = s.member_field(o, kind, field) {
            push_callable(s, r, out);
        }
    }
}

/// A function's name, or what type of callable `r` is.
///
/// # Safety
/// `r` was reported by the source.
unsafe fn push_callable<S: HeapSource>(s: &S, r: Addr, out: &mut String) {
    // SAFETY: the caller's contract.
    unsafe {
        let rk = s.shape(s.type_of(r)).kind;
        match rk {
            Kind::Function | Kind::BuiltinFunction | Kind::Method => push_names(s.names(r, rk), out),
            _ => push_referent_type(s, r, out),
        }
    }
}

/// A name's first [`NAME_CHARS`] characters. ASCII, the common case (a
/// capture writes 10^5-10^6 of them), is one copy instead of a push per
/// character.
fn push_text(t: Text<'_>, out: &mut String) {
    if let Text::Ascii(b) = t {
        if let Ok(s) = std::str::from_utf8(&b[..b.len().min(NAME_CHARS)]) {
            out.push_str(s);
            return;
        }
    }
    out.extend(t.chars().take(NAME_CHARS));
}

/// `logging.shutdown`: the module, a dot if there is one, the name.
fn push_names(n: Names<'_>, out: &mut String) {
    if let Some(m) = n.module {
        push_text(m, out);
        out.push('.');
    }
    if let Some(name) = n.name {
        push_text(name, out);
    }
}

/// `logging` for the namespace dict of module `logging`. A module's dict
/// starts with `__name__` then `__doc__` (set when the module is created), so
/// two entries decide it without a lookup.
///
/// # Safety
/// `d` is a reported dict.
unsafe fn module_namespace_name<S: HeapSource>(s: &S, d: Addr) -> Option<String> {
    let mut first = [0usize; 4];
    let mut n = 0;
    // SAFETY: `d` is a reported dict; its keys and values are reported too.
    unsafe {
        s.dict_entries(d, |k, v| {
            first[2 * n] = k;
            first[2 * n + 1] = v;
            n += 1;
            n < 2
        });
        if n < 2 || !is_exact_str(s, first[0], "__name__") || !is_exact_str(s, first[2], "__doc__") {
            return None;
        }
        let name = s.str_of(first[1])?;
        Some(name.text.to_string_max(NAME_CHARS))
    }
}

/// # Safety
/// `o` was reported by the source.
unsafe fn is_exact_str<S: HeapSource>(s: &S, o: Addr, text: &str) -> bool {
    // SAFETY: the caller's contract.
    unsafe { s.str_of(o) }.is_some_and(|t| t.exact && t.text.equals(text))
}

/// Appends a str's label: its first `max` characters, escaped so that it
/// stays on one line, and `…` if it is longer. The common case, a short
/// ASCII string with nothing to escape, is one copy.
pub(crate) fn push_str_label(text: Text<'_>, max: usize, out: &mut String) {
    if let Text::Ascii(all) = text {
        let bytes = &all[..all.len().min(max)];
        // Without early exits, so that it runs on whole vectors: a capture
        // labels millions of strs.
        let plain = bytes.iter().fold(true, |ok, &b| ok & is_plain_ascii(b));
        if plain {
            // Checked above: printable ASCII, valid UTF-8.
            out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
        } else if bytes.is_ascii() {
            push_escaped_runs(std::str::from_utf8(bytes).unwrap_or_default(), out);
        } else {
            bytes.iter().for_each(|&b| push_escaped(char::from(b), out));
        }
    } else {
        text.chars().take(max).for_each(|c| push_escaped(c, out));
    }
    if text.len() > max {
        out.push('…');
    }
}

/// An ASCII text with bytes to escape: the runs between them are copied
/// whole (docstrings: long lines between a few newlines and quotes).
fn push_escaped_runs(text: &str, out: &mut String) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if !is_plain_ascii(b) {
            // ASCII: every index is a character boundary.
            out.push_str(text.get(start..i).unwrap_or_default());
            push_escaped(char::from(b), out);
            start = i + 1;
        }
    }
    out.push_str(text.get(start..).unwrap_or_default());
}

/// A byte a str label shows as it is: printable ASCII but `\\` and `'`.
fn is_plain_ascii(b: u8) -> bool {
    (0x20..0x7f).contains(&b) & (b != b'\\') & (b != b'\'')
}

fn push_escaped(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        c if c.is_control() => drop(write!(out, "\\x{:02x}", c as u32)),
        c => out.push(c),
    }
}

/// A float as Python's `repr` writes it: `nan`, `inf`, `1e+16`, `1e-07`.
pub fn float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let exp = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
    if (-4..16).contains(&exp) {
        return format!("{v:?}");
    }
    // Shortest round-trip digits, then Python's exponent form.
    let s = format!("{v:e}");
    match s.split_once('e') {
        Some((mantissa, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
        }
        None => s,
    }
}

/// Scratch space for one object's edges, reused across objects: the
/// referents its traversal reports, and the labelled referents its
/// structure describes, matched to each other.
pub(crate) struct EdgeBuffers {
    pub referents: Vec<Addr>,
    /// `(referent, label)` in the order the structure lists them.
    pub described: Vec<(Addr, EdgeLabel)>,
    used: Vec<bool>,
    /// Where the next reported referent is expected in `described`.
    cursor: usize,
    /// `(referent, position)` sorted, built only when order does not help.
    sorted: Vec<(Addr, u32)>,
    /// The label of a referent the structure does not describe (a set's
    /// members, a module's C state), or [`EdgeLabel::UNKNOWN`].
    pub rest: EdgeLabel,
}

impl Default for EdgeBuffers {
    fn default() -> EdgeBuffers {
        EdgeBuffers {
            referents: Vec::new(),
            described: Vec::new(),
            used: Vec::new(),
            cursor: 0,
            sorted: Vec::new(),
            rest: EdgeLabel::UNKNOWN,
        }
    }
}

impl EdgeBuffers {
    pub fn clear(&mut self) {
        self.referents.clear();
        self.described.clear();
        self.used.clear();
        self.sorted.clear();
        self.cursor = 0;
        self.rest = EdgeLabel::UNKNOWN;
    }

    /// Call once `described` is complete, before [`EdgeBuffers::take_label`].
    pub fn described_done(&mut self) {
        self.used.resize(self.described.len(), false);
    }

    /// The label of the next reported reference to `r`. Traversals list
    /// references mostly in the order the structure does (dict entries,
    /// sequence items), so a cursor finds nearly all of them at once; the
    /// rest are looked up in a sorted copy. A value stored twice is reported
    /// twice and gets both of its labels.
    pub fn take_label(&mut self, r: Addr) -> EdgeLabel {
        const WINDOW: usize = 4;
        let end = (self.cursor + WINDOW).min(self.described.len());
        for i in self.cursor..end {
            if self.described[i].0 == r && !self.used[i] {
                self.used[i] = true;
                self.cursor = i + 1;
                return self.described[i].1;
            }
        }
        if self.sorted.is_empty() && !self.described.is_empty() {
            self.sorted = self.described.iter().enumerate().map(|(i, &(a, _))| (a, i as u32)).collect();
            self.sorted.sort_unstable();
        }
        let start = self.sorted.partition_point(|&(a, _)| a < r);
        for &(a, i) in &self.sorted[start..] {
            if a != r {
                break;
            }
            if !self.used[i as usize] {
                self.used[i as usize] = true;
                return self.described[i as usize].1;
            }
        }
        self.rest
    }
}

/// Appends how `o` holds each of its referents, from its structure, as
/// `(referent, label)`; referents not described get the returned label
/// (usually [`EdgeLabel::UNKNOWN`]) later. `referents` are what `o`'s
/// traversal reported. `key_node` makes a dict key or attribute name a node
/// (a value's label names it).
///
/// # Safety
/// `o` was reported by the source, `ty` is its type and `info` describes
/// it; `referents` were reported by the source.
pub(crate) unsafe fn edge_labels<S: HeapSource>(
    l: &mut Labeller<'_, S>,
    o: Addr,
    ty: Addr,
    info: Shape,
    referents: &[Addr],
    out: &mut Vec<(Addr, EdgeLabel)>,
    key_node: &mut impl FnMut(Addr) -> NodeIx,
) -> EdgeLabel {
    let s = l.source;
    let mut rest = EdgeLabel::UNKNOWN;
    // SAFETY (whole body): `o` is a reported object of `info`'s kind, as
    // each source method requires; what they report is reported too.
    unsafe {
        if info.heap_type {
            let class = l.names.fixed(l.builder, "__class__");
            out.push((ty, class));
            s.instance_fields(o, ty, |r, f| {
                if r != 0 {
                    let label = l.field_label(f, key_node);
                    out.push((r, label));
                }
            });
        }
        match info.kind {
            Kind::Dict => s.dict_entries(o, |k, v| {
                // The key becomes a node even where the traversal does not
                // report it (str-keyed dicts), because the value's label names it.
                out.push((v, EdgeLabel::new(EdgeKind::DictValue(key_node(k)))));
                out.push((k, EdgeLabel::new(EdgeKind::DictKey)));
                true
            }),
            Kind::List | Kind::Tuple => {
                for (i, &item) in s.items(o).iter().enumerate() {
                    out.push((item, EdgeLabel::new(EdgeKind::Index(i as u32))));
                }
            }
            // A set's traversal reports its members, and nothing else.
            Kind::Set | Kind::FrozenSet if info.exact => rest = l.names.fixed(l.builder, "{}"),
            Kind::Function
            | Kind::Cell
            | Kind::Method
            | Kind::BuiltinFunction
            | Kind::Module
            | Kind::StaticMethod
            | Kind::ClassMethod
            | Kind::Property
            | Kind::Partial
            | Kind::Type
            | Kind::Frame => s.fields(o, info.kind, |r, f| {
                if r != 0 {
                    let label = l.field_label(f, key_node);
                    out.push((r, label));
                }
            }),
            _ => {}
        }
        if needs_rule(info) {
            rest = rule_labels(l, o, ty, info, referents, out);
        }
    }
    rest
}

/// The labels of `o`'s type's rule: its C members, then what the rule's
/// hand-written part names; returns the label of what is left.
///
/// # Safety
/// As [`edge_labels`].
unsafe fn rule_labels<S: HeapSource>(
    l: &mut Labeller<'_, S>,
    o: Addr,
    ty: Addr,
    info: Shape,
    referents: &[Addr],
    out: &mut Vec<(Addr, EdgeLabel)>,
) -> EdgeLabel {
    let s = l.source;
    // SAFETY (whole body): the caller's contract; offsets are the type's own members.
    unsafe {
        let rule = l.rules.get(s, l.builder, l.names, ty, info);
        let (rest, special) = (rule.rest, rule.special);
        for &(offset, label) in &rule.members {
            let r = s.member(o, offset);
            if r != 0 {
                out.push((r, label));
            }
        }
        match special {
            Special::Generator => {
                s.generator_fields(o, &mut |r, f| {
                    if r != 0 {
                        let label = l.field_label(f, &mut |_| NodeIx::new(0));
                        out.push((r, label));
                    }
                });
                // `gi_name` then `gi_qualname`, in the traversal's order.
                let mut strs = ["__name__", "__qualname__"].into_iter();
                for &r in referents {
                    if s.str_of(r).is_some() && !out.iter().any(|&(a, _)| a == r) {
                        match strs.next() {
                            Some(n) => out.push((r, l.names.fixed(l.builder, n))),
                            None => break,
                        }
                    }
                }
            }
            Special::Task | Special::LruCache | Special::Pattern => by_referent_type(l, special, referents, out),
            _ => {}
        }
        rest
    }
}

/// Names the referents no field described by their type, where the C
/// struct keeps one field of that type (a Task's coroutine is its `_coro`).
///
/// # Safety
/// As [`edge_labels`].
unsafe fn by_referent_type<S: HeapSource>(l: &mut Labeller<'_, S>, special: Special, referents: &[Addr], out: &mut Vec<(Addr, EdgeLabel)>) {
    let s = l.source;
    let described = out.len();
    // A Task's traversal visits its name right after its coroutine, and the
    // name is never NULL: since 3.13 an unnamed Task keeps its number (an
    // int, formatted on demand) there.
    let mut after_coro = false;
    for &r in referents {
        if out[..described].iter().any(|&(a, _)| a == r) {
            after_coro = false;
            continue;
        }
        // SAFETY: `r` was reported by the source.
        let (kind, name) = unsafe {
            let ty = s.type_of(r);
            (s.shape(ty).kind, s.type_name(ty))
        };
        let follows_coro = std::mem::replace(&mut after_coro, false);
        let label = match (special, kind, name.as_str()) {
            (Special::Task, _, "coroutine" | "generator" | "async_generator") => {
                after_coro = true;
                "_coro"
            }
            (Special::Task, Kind::Int, _) if follows_coro => "_name",
            (Special::Task, _, "_asyncio.Future" | "_asyncio.Task") => "_fut_waiter",
            // 3.9 names the type "Context", 3.10+ "_contextvars.Context".
            (Special::Task, _, "_contextvars.Context" | "Context") => "_context",
            (Special::Task, Kind::List, _) => "_callbacks",
            (Special::Task, Kind::Str, _) => "_name",
            (Special::Task, Kind::Method | Kind::BuiltinFunction, _) => "_callbacks[0]",
            (Special::Task, _, n) if n.ends_with("EventLoop") || n.ends_with("Loop") => "_loop",
            (Special::LruCache, Kind::Dict, _) => "cache",
            (Special::LruCache, Kind::Function | Kind::BuiltinFunction | Kind::Method | Kind::Partial, _) => "__wrapped__",
            (Special::LruCache, Kind::Type, _) => "(internal type)",
            (Special::LruCache, _, "object") => "kwd_mark",
            (Special::LruCache, _, _) => "(cache entry)",
            (Special::Pattern, Kind::Dict, _) => "groupindex",
            (Special::Pattern, Kind::Tuple, _) => "indexgroup",
            (Special::Pattern, Kind::Str, _) => "pattern",
            _ => continue,
        };
        out.push((r, l.names.fixed(l.builder, label)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_read_as_python_writes_them() {
        for (v, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-7, "1e-07"),
            (f64::NAN, "nan"),
            (-f64::INFINITY, "-inf"),
            (123456.5, "123456.5"),
            (2.5e-5, "2.5e-05"),
        ] {
            assert_eq!(float_repr(v), want);
        }
    }

    #[test]
    fn str_labels_are_escaped_to_one_line_and_cut_at_60_characters() {
        let label = |t: Text<'_>| {
            let mut s = String::new();
            push_str_label(t, STR_LABEL_CHARS, &mut s);
            s
        };
        assert_eq!(label(Text::Ascii(b"plain text")), "plain text");
        assert_eq!(label(Text::Ascii(b"it's\ta\nline\\")), "it\\'s\\ta\\nline\\\\");
        let long = "x".repeat(61);
        assert_eq!(label(Text::Ascii(long.as_bytes())), format!("{}…", "x".repeat(60)));
        assert_eq!(label(Text::Ascii(&long.as_bytes()[..60])), "x".repeat(60));
        let lines = "ab\n".repeat(30);
        assert_eq!(label(Text::Ascii(lines.as_bytes())), format!("{}…", "ab\\n".repeat(20)));
        assert_eq!(label(Text::Ascii(b"'quoted' \\path")), "\\'quoted\\' \\\\path");
        assert_eq!(label(Text::Latin1(&[0x63, 0x61, 0x66, 0xe9])), "café");
        let ucs2: Vec<u16> = "日本\n".encode_utf16().collect();
        assert_eq!(label(Text::Ucs2(&ucs2)), "日本\\n");
        let ucs4: Vec<u32> = "🐍\u{1}".chars().map(|c| c as u32).collect();
        assert_eq!(label(Text::Ucs4(&ucs4)), "🐍\\x01");
        assert_eq!(label(Text::Utf8(b"ok\xff")), "ok\u{fffd}");
    }
}
