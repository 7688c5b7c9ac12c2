//! How the objects of one type hold what their kind does not describe: the
//! C members of the type (and its C bases), read once per type and capture,
//! and the hand-written rules for C types whose fields are no members
//! (sets, generators and coroutines, asyncio tasks, lru caches, modules'
//! C state...).
//!
//! A rule is made the first time a type is met and kept by the type's
//! address; a small table indexed by that address finds it again without a
//! hash lookup, since a capture asks for it once per object of a type that
//! has no kind of its own (millions of them).

use rustc_hash::FxHashMap;

use crate::graph::{EdgeLabel, HeapBuilder};

use super::labels::EdgeNames;
use super::source::{Addr, HeapSource, Kind, Shape};

/// What a rule does beyond reading members: the hand-written part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// Generator, coroutine, async generator: its frame, name, qualname.
    Generator,
    /// `_asyncio.Task` / `_asyncio.Future`: fields told apart by their
    /// referents' types (the struct is private to `_asynciomodule.c`).
    Task,
    /// `functools._lru_cache_wrapper`: `cache`, `__wrapped__`, cache links.
    LruCache,
    /// `re.Pattern`: `groupindex` (a dict) and `indexgroup` (a tuple).
    Pattern,
    /// Weak references: node label from the referent's type.
    Weakref,
    /// `getset_descriptor` and its kin: node label `owner.name`.
    Descriptor,
    /// `ModuleSpec`, loaders, finders: node label from the `name` attribute.
    NamedByAttr,
    /// An enum member: node label `Class.NAME` from `_name_`.
    EnumMember,
    /// A subclass of `property` (`enum.property`): node label from the
    /// getter at this member offset.
    Getter(usize),
    /// `_abc._abc_data`: node label from its sets' sizes.
    AbcData,
}

/// The rule of one type.
pub(crate) struct TypeRule {
    /// `(byte offset, label)` of each object member.
    pub members: Vec<(usize, EdgeLabel)>,
    /// The label of a referent no field describes (a module's C state, a
    /// set's members), or [`EdgeLabel::UNKNOWN`].
    pub rest: EdgeLabel,
    pub special: Special,
}

/// The rules of every type met so far in this capture.
pub(crate) struct TypeRules {
    recent: Vec<(Addr, u32)>,
    index: FxHashMap<Addr, u32>,
    rules: Vec<TypeRule>,
}

const RECENT: usize = 1024;

impl Default for TypeRules {
    fn default() -> TypeRules {
        TypeRules { recent: vec![(0, 0); RECENT], index: FxHashMap::default(), rules: Vec::new() }
    }
}

/// Does an object of this shape need its type's rule? Exact built-ins of a
/// kind with fixed fields do not: their kind says it all.
pub(crate) fn needs_rule(info: Shape) -> bool {
    match info.heap_type {
        // A class statement's instances: their slots and dict are their
        // own; only C bases add members.
        true => info.c_base,
        false => !info.exact || matches!(info.kind, Kind::Other | Kind::Module | Kind::Property),
    }
}

impl TypeRules {
    /// The rule of type `ty`, made on first sight.
    ///
    /// # Safety
    /// `ty` came from the source's `type_of`.
    pub unsafe fn get<S: HeapSource>(
        &mut self,
        s: &S,
        builder: &mut HeapBuilder,
        names: &mut EdgeNames,
        ty: Addr,
        info: Shape,
    ) -> &TypeRule {
        let slot = (ty.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) % RECENT;
        let (at, ix) = self.recent[slot];
        if at == ty && ty != 0 {
            return &self.rules[ix as usize];
        }
        let ix = match self.index.get(&ty) {
            Some(&ix) => ix,
            None => {
                // SAFETY: the caller's contract.
                let rule = unsafe { make_rule(s, builder, names, ty, info) };
                let ix = self.rules.len() as u32;
                self.rules.push(rule);
                self.index.insert(ty, ix);
                ix
            }
        };
        self.recent[slot] = (ty, ix);
        &self.rules[ix as usize]
    }
}

/// # Safety
/// `ty` came from the source's `type_of`.
unsafe fn make_rule<S: HeapSource>(s: &S, builder: &mut HeapBuilder, names: &mut EdgeNames, ty: Addr, info: Shape) -> TypeRule {
    let mut members = Vec::new();
    let mut fget = None;
    // SAFETY: the caller's contract.
    unsafe {
        s.type_members(ty, &mut |offset, name| {
            if name == "fget" {
                fget = Some(offset);
            }
            members.push((offset, builder.edge_name(name)))
        });
    }
    // SAFETY: as above.
    let name = unsafe { s.type_name(ty) };
    let special = match name.as_str() {
        "generator" | "coroutine" | "async_generator" => Special::Generator,
        "_asyncio.Task" | "_asyncio.Future" => Special::Task,
        "functools._lru_cache_wrapper" => Special::LruCache,
        "re.Pattern" | "_sre.SRE_Pattern" => Special::Pattern,
        "_abc._abc_data" => Special::AbcData,
        _ if fget.is_some() && info.kind == Kind::Other => Special::Getter(fget.unwrap_or(0)),
        n if n.ends_with("_descriptor") && !info.heap_type => Special::Descriptor,
        // SAFETY: as above.
        _ if unsafe { s.is_weakref_type(ty) } => Special::Weakref,
        n if info.heap_type && (n.ends_with("ModuleSpec") || n.ends_with("Loader") || n.ends_with("Finder")) => Special::NamedByAttr,
        "enum.property" | "types.DynamicClassAttribute" => Special::NamedByAttr,
        // SAFETY: as above; a type's type is a reported object.
        _ if info.heap_type && unsafe { is_enum_class(s, ty) } => Special::EnumMember,
        _ => Special::None,
    };
    let rest = match (info.kind, name.as_str()) {
        // The C state of an extension module (types, caches), which the
        // module's `m_traverse` reports after its `__dict__`.
        (Kind::Module, _) => names.fixed(builder, "(module state)"),
        // 3.10+: the name the property was assigned to, no member.
        (Kind::Property, _) => names.fixed(builder, "__name__"),
        (_, "method-wrapper") => names.fixed(builder, "descriptor"),
        (_, "_asyncio.FutureIter") => names.fixed(builder, "future"),
        (_, "itertools.count") => names.fixed(builder, "(count or step)"),
        (_, "_abc._abc_data") => names.fixed(builder, "(abc registry or cache)"),
        _ => EdgeLabel::UNKNOWN,
    };
    TypeRule { members, rest, special }
}

/// Is `ty` made by `enum.EnumType` (3.11+) or `enum.EnumMeta`?
///
/// # Safety
/// `ty` is a reported type.
unsafe fn is_enum_class<S: HeapSource>(s: &S, ty: Addr) -> bool {
    // SAFETY: the caller's contract.
    let meta = unsafe { s.type_of(ty) };
    // The C name first (`EnumType`), where the source has it: the qualified
    // name (a dict lookup, a String) is then made for the few enum classes,
    // not for every class of the heap (10^5 on a hot-reloaded one).
    // SAFETY: as above.
    let short = unsafe { s.type_short_name(meta) };
    if short.is_some_and(|t| !["EnumType", "EnumMeta", "enum.EnumType", "enum.EnumMeta"].iter().any(|n| t.equals(n))) {
        return false;
    }
    // SAFETY: as above.
    let meta = unsafe { s.type_name(meta) };
    matches!(meta.as_str(), "enum.EnumType" | "enum.EnumMeta")
}
