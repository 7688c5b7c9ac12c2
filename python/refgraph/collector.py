# -*- coding: utf-8 -*-
"""The pure-Python collector: captures the heap of this interpreter into an
.rgs snapshot with the standard library only, for interpreters the Rust
extension does not serve (CPython 2.7 and 3.6-3.8, newer ones before the
extension knows them) and on request. Runs on 2.7 and 3.x.

It keeps the rules of the fast collector:
- no Python code of user objects runs: types are read with type(o), names
  through the descriptors of `type` itself, containers through the methods of
  the exact built-in types; never o.__class__, repr(), ==, hash() or len() of
  a user object;
- its own objects (the object list, its tables, its frames and the caller's)
  appear nowhere, and the references they hold are subtracted from counts;
- what reading a count costs (the list's entry, the call's own references)
  is measured at run time on objects made for it, never assumed: it changed
  in 3.14, where a borrowed argument is no longer counted;
- edge labels come from structure (dict keys, indexes, function fields, the
  members of C types and slots read through their own `member_descriptor`s,
  which read the slot in C), node labels as the fast collector gives them.

Audit hooks (sys.addaudithook) do see it: gc.get_objects, gc.get_referents
and id() are audited calls, and so is reading a function's `__code__`.
Those hooks are the program's instrumentation, not code of its objects.

The snapshot is written in the documented .rgs format (docs/snapshot-format.md);
roots held from outside the heap are computed by whoever reads it.
"""

import gc
import json
import os
import struct
import sys
import time
import zlib

PY2 = sys.version_info[0] == 2
if PY2:  # pragma: no cover - exercised under python2.7
    text_type = unicode  # noqa: F821
    bytes_type = str
    int_types = (int, long)  # noqa: F821
else:
    text_type = str
    bytes_type = bytes
    int_types = (int,)

MAGIC = b"\x89RGS\r\n\x1a\n"
VERSION = 2
LABEL_CHARS = 60
TRACKED, IMMORTAL, SYNTHETIC = 1, 2, 4
TAG_INDEX, TAG_KEY, TAG_VALUE, TAG_NAMED = 1, 2, 3, 5

_type_name_of = type.__dict__["__name__"].__get__
_type_module_of = type.__dict__["__module__"].__get__
_type_qualname_of = type.__dict__["__qualname__"].__get__ if "__qualname__" in type.__dict__ else None
_type_flags = type.__dict__["__flags__"].__get__
_dict_items = dict.items
_basicsize_of = type.__dict__["__basicsize__"].__get__
_dictoffset = type.__dict__["__dictoffset__"].__get__
_list_len = list.__len__
_tuple_len = tuple.__len__
_dict_len = dict.__len__
HEAPTYPE = 1 << 9
# Py_TPFLAGS_DICT_SUBCLASS: read from the type, so no __class__ of the object is asked.
DICT_SUBCLASS = 1 << 29
# Py_TPFLAGS_MANAGED_DICT: instances keep attributes without a dict (3.11+).
MANAGED_DICT = (1 << 4) if sys.version_info >= (3, 11) else 0

FunctionType = type(lambda: None)
CellType = type((lambda x: lambda: x)(0).__closure__[0])
ModuleType = type(sys)
FrameType = type(sys._getframe())
CodeType = type(FunctionType.__dict__["__code__"].__get__(lambda: None))
MethodType = type(gc.collect.__call__) if False else None  # replaced below, once a class exists
BuiltinType = type(len)
MemberDescriptorType = type(FunctionType.__dict__["__globals__"])
# A slot wrapper: member_get in C, which reads the member's slot.
_member_get = MemberDescriptorType.__get__
_member_name = MemberDescriptorType.__dict__["__name__"].__get__
_member_owner = MemberDescriptorType.__dict__["__objclass__"].__get__
_func_get = {}
# Not __dict__ or __annotations__: reading them creates an empty dict.
for _name in ("__globals__", "__closure__", "__code__", "__defaults__", "__name__", "__module__",
              "__doc__", "__kwdefaults__", "__qualname__", "__builtins__"):
    if _name in FunctionType.__dict__:
        _func_get[_name] = FunctionType.__dict__[_name].__get__
_module_dict = ModuleType.__dict__["__dict__"].__get__
try:
    from functools import partial as _partial
except ImportError:  # pragma: no cover - Python 2.6
    _partial = None
_partial_get = [(label, _partial.__dict__[name].__get__) for name, label in (("func", ".func"), ("args", ".args"), ("keywords", ".keywords"))
                if _partial is not None and name in _partial.__dict__]
_cell_get = CellType.__dict__["cell_contents"].__get__


def _is_type(o):
    # Not isinstance(): it falls back to o.__class__, which objects control
    # (types.GenericAlias even claims to be its origin's class). `type`'s
    # own descriptor accepts real types only, and runs no Python code.
    try:
        _type_flags(o)
        return True
    except TypeError:
        return False


def _basicsize(t):
    return _basicsize_of(t)


_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_type_base = type.__dict__["__base__"].__get__
_type_bases = type.__dict__["__bases__"].__get__
# Py_TPFLAGS_IMMUTABLETYPE (3.10+): static types and most types C modules
# make at run time; their members are C fields, not slots.
IMMUTABLETYPE = (1 << 8) if sys.version_info >= (3, 10) else 0
HAVE_GC = 1 << 14
# The types a `__sizeof__` written in C has: calling it runs no Python code.
_MethodDescriptorType = type(object.__dict__["__sizeof__"])
_getsizeof = sys.getsizeof


def _c_method(d):
    t = type(d)
    return t is _MethodDescriptorType or t is BuiltinType


def _sizeof_plan(t):
    """How `sys.getsizeof` is had for instances of `t` without running a
    class's own `__sizeof__`: (True, None) where the first `__sizeof__` of
    the MRO is C (sys.getsizeof then runs only C), else (False, the first C
    `__sizeof__` after it) for the size the object has as its C base sees
    it, to which sys.getsizeof's GC header is added."""
    own = True
    try:
        for k in _type_mro(t):
            d = _type_entry(k, "__sizeof__")
            if d is None:
                continue
            if _c_method(d):
                return (True, None) if own else (False, d)
            own = False
    except Exception:
        pass
    return (False, None)


def _gc_header_size():
    """What sys.getsizeof adds for the garbage collector's header (16 bytes
    since 3.8, 24 or 32 before, on 64-bit builds): measured on an empty list."""
    probe = []
    return _getsizeof(probe) - list.__sizeof__(probe)


GC_HEADER = _gc_header_size()


def _basicsize(t):
    return _basicsize_of(t)


def _size(o, t, plans):
    """sys.getsizeof(o) where that runs only C code, else what it would
    give were the class's own __sizeof__ not there: its C base's
    `__sizeof__` (called directly, a C function) plus the GC header. The
    plans are kept by type id in a dict of the collector's own (left out of
    the graph); their values are ints and descriptors the types hold anyway,
    dropped before counts are read (see `_Collector.release`)."""
    plan = plans.get(id(t))
    if plan is None:
        plan = plans[id(t)] = _sizeof_plan(t)
    if plan[0]:
        try:
            return _getsizeof(o)
        except Exception:
            return _basicsize(t)
    if plan[1] is not None:
        try:
            n = plan[1](o)
            if type(n) is int:
                return n + (GC_HEADER if _type_flags(t) & HAVE_GC else 0)
        except Exception:
            pass
    return _basicsize(t)


def _varint(out, v):
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _zigzag(v):
    return (v << 1) if v >= 0 else ((-v) << 1) - 1


def _put_str(out, s):
    b = s.encode("utf-8") if isinstance(s, text_type) else s
    _varint(out, len(b))
    out.extend(b)


def _escape(s, total):
    out = []
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append("\\x%02x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            # A lone surrogate cannot be written as UTF-8 (the fast collector
            # writes the same replacement character).
            out.append(u"\ufffd")
        else:
            out.append(c)
    text = u"".join(out) if PY2 else "".join(out)
    if total > len(s):
        text += u"\u2026"
    return text


def type_name(t):
    """`dict`, `logging.Logger`: a type's module and qualified name, read
    through `type`'s own descriptors (a metaclass cannot intercept them)."""
    try:
        name = _type_qualname_of(t) if _type_qualname_of is not None else _type_name_of(t)
    except Exception:
        name = _type_name_of(t)
    try:
        module = _type_module_of(t)
    except Exception:
        module = None
    if type(module) not in (str, text_type) or module in ("builtins", "__builtin__"):
        return _native_str(name)
    return "%s.%s" % (_native_str(module), _native_str(name))


def _native_str(s):
    if PY2 and isinstance(s, text_type):
        return s.encode("utf-8")
    return s


def _str_label(s):
    if PY2 and type(s) is bytes_type:
        s = s[:LABEL_CHARS].decode("latin-1") if len(s) else u""
        return _escape(s, len(s))
    return _escape(s[:LABEL_CHARS], len(s))


def _dict_name(d):
    """`logging` for a module namespace: `__name__` first, `__doc__` second,
    as a module creates them (Python 2's dicts keep no order: there both keys
    and `__package__` must be present)."""
    if PY2:
        name, keys = None, 0
        for k, v in _dict_items(d):
            if type(k) is str:
                if k == "__name__" and type(v) in (str, text_type):
                    name = v
                elif k in ("__doc__", "__package__"):
                    keys += 1
        return name if keys == 2 else None
    first = None
    n = 0
    for k, v in _dict_items(d):
        if n == 0:
            if not (type(k) is str and k == "__name__" and type(v) in (str, text_type)):
                return None
            first = v
        elif n == 1:
            return first if (type(k) is str and k == "__doc__") else None
        n += 1
    return None


class _Collector(object):
    def __init__(self):
        self.index = {}
        self.addr = []
        self.type_ids = []
        self.sizes = []
        # Per type id: how it is sized, and its members (see `members`).
        self.size_plans = {}
        self.member_rules = {}
        self.flags = []
        self.labels = []
        self.objs = []
        self.types = {}
        self.type_list = []
        self.label_text = []
        self.edge_names = {}
        self.edge_name_list = []
        self.degrees = []
        self.targets = []
        self.edge_labels = []

    def type_id(self, t):
        tid = self.types.get(id(t))
        if tid is None:
            tid = len(self.type_list)
            self.types[id(t)] = tid
            self.type_list.append(type_name(t))
        return tid

    def name(self, text):
        # A fresh copy as the key: the text may be a name the heap holds (a
        # member's name), whose count must not grow while counts are read.
        key = text.encode("utf-8") if isinstance(text, text_type) else "%s" % (text,)
        n = self.edge_names.get(key)
        if n is None:
            n = len(self.edge_name_list)
            self.edge_names[key] = n
            self.edge_name_list.append(key)
        return (n << 3) | TAG_NAMED

    def node(self, o, flags):
        i = self.index.get(id(o))
        if i is not None:
            return i
        i = len(self.addr)
        self.index[id(o)] = i
        self.addr.append(id(o))
        t = type(o)
        self.type_ids.append(self.type_id(t))
        self.sizes.append(_size(o, t, self.size_plans))
        self.flags.append(flags)
        label = self.label(o, t)
        if label:
            self.label_text.append(label)
            self.labels.append(len(self.label_text))
        else:
            self.labels.append(0)
        self.objs.append(o)
        return i

    def release(self):
        """Drops what the per-type tables hold (descriptors, True), before
        counts are read."""
        self.size_plans.clear()
        self.member_rules.clear()

    def label(self, o, t):
        if t is str or t is text_type:
            return _str_label(o)
        if t is bool:
            return "True" if o else "False"
        if t is int or (PY2 and t is long):  # noqa: F821
            # As the fast collector: 64-bit values, not a long repr().
            return repr(int(o)) if -(1 << 63) <= o < (1 << 63) else "big int"
        if t is float:
            return repr(o)
        if o is None:
            return "None"
        if t is dict:
            name = _dict_name(o)
            n = _dict_len(o)
            return "%s namespace, %d items" % (_native_str(name), n) if name is not None else "len=%d" % n
        if t is list:
            return "len=%d" % _list_len(o)
        if t is tuple:
            return "len=%d" % _tuple_len(o)
        if t is set or t is frozenset:
            return "len=%d" % (set.__len__(o) if t is set else frozenset.__len__(o))
        if t is bytes_type and not PY2:
            return "len=%d" % bytes.__len__(o)
        if t is ModuleType:
            for k, v in _dict_items(_module_dict(o)):
                if type(k) is str and k == "__name__" and _is_text(v):
                    return _native_str(v)
            return ""
        if t is FunctionType:
            return _function_label(o)
        if _is_type(o):
            return type_name(o)
        try:
            return self.special_label(o, t)
        except Exception:
            return ""

    def special_label(self, o, t):
        """Labels of kinds without values: what they name or point at, read
        from C fields only (`_Collector.members` says how)."""
        if t is CellType:
            try:
                return "\u2192 " + _short_name(type(_cell_get(o)))
            except ValueError:
                return "empty"
        if t is CodeType:
            return _native_str(_code_name(o))
        if t is BuiltinType:
            return _builtin_label(o)
        if t is MethodType:
            f = _method_func(o)
            return _function_label(f) if type(f) is FunctionType else ""
        if t is FrameType:
            return _frame_label(o)
        if t is _partial:
            return _callable_label(_partial_get[0][1](o))
        if t is staticmethod or t is classmethod:
            return _callable_label(self.member_value(o, t, "__func__"))
        if t is property:
            return _callable_label(self.member_value(o, t, "fget"))
        flags = _type_flags(t)
        heap = flags & HEAPTYPE and not flags & IMMUTABLETYPE
        name = type_name(t)
        if name.endswith("_descriptor") and not heap:
            return _descriptor_label(o, t, self.member_value(o, t, "__name__"))
        if _is_weakref(t):
            r = _weakref_call(o)
            return "dead" if r is None else "\u2192 " + _short_name(type(r))
        if name in ("generator", "coroutine", "async_generator"):
            return _native_str(_gen_qualname(o, t))
        if name == "functools._lru_cache_wrapper":
            for r in gc.get_referents(o):
                if type(r) is FunctionType:
                    return _function_label(r)
            return ""
        if name == "_asyncio.Task":
            for r in gc.get_referents(o):
                if type_name(type(r)) == "coroutine":
                    return _native_str(_gen_qualname(r, type(r)))
            return ""
        if name == "_abc._abc_data":
            n = sum(set.__len__(r) for r in gc.get_referents(o) if type(r) is set)
            return "%d weakrefs in registry and caches" % n
        if heap and (name.endswith("ModuleSpec") or name.endswith("Loader") or name.endswith("Finder")):
            return _str_label(self.instance_attr(o, t, "name") or "")
        if heap and type_name(type(t)) in ("enum.EnumType", "enum.EnumMeta"):
            member = self.instance_attr(o, t, "_name_")
            return "%s.%s" % (_short_name(t), _str_label(member)) if member else ""
        return ""

    def member_value(self, o, t, name):
        """The value of C member `name` of `o`, or None."""
        for _, d, mname in self.members(t):
            if mname == name:
                try:
                    return _member_get(d, o, t)
                except Exception:
                    return None
        return None

    def instance_attr(self, o, t, name):
        """An exact-str attribute of an instance kept in its `__dict__` (the
        last dict its traversal reports, as `edges` finds it), read as a
        dict entry; None where 3.11+ keeps attributes without a dict."""
        if not (_dictoffset(t) != 0 and not (MANAGED_DICT and _type_flags(t) & MANAGED_DICT)):
            return None
        d = None
        for r in gc.get_referents(o):
            if type(r) is dict:
                d = r
        if d is None:
            return None
        v = None
        for k, x in _dict_items(d):
            if type(k) is str and k == name:
                v = x
        return v if _is_text(v) else None

    def members(self, t):
        """`(edge name, member_descriptor, member name)` of every member
        along `t`'s base chain, as the fast collector reads them: a C type's
        member by its name (`__objclass__`, `default_factory`), a class's
        slot with a dot (`.x`). Only exact member_descriptors found in the
        types' own dicts: their `__get__` is C (member_get), which checks the
        object's real type and reads the slot. Once per type; dropped before
        counts are read (`release`)."""
        rule = self.member_rules.get(id(t))
        if rule is not None:
            return rule
        rule = []
        seen = set()
        k = t
        depth = 0
        while k is not None and depth < 64:
            depth += 1
            # A heap type's members are named as slots (`.x`), also those of
            # the types C modules make at run time, as the fast collector
            # names them.
            slot = _type_flags(k) & HEAPTYPE
            for _, d in _type_dict_of(k):
                if type(d) is not MemberDescriptorType or id(d) in seen:
                    continue
                seen.add(id(d))
                mname = _member_name(d)
                if not _is_text(mname):
                    continue
                mname = _native_str(mname)
                rule.append((self.name("." + mname if slot else mname), d, mname))
            k = _type_base(k)
        self.member_rules[id(t)] = rule
        return rule

    def structure(self, o, t, referents):
        """(id of referent, label) pairs from the structure of `o`."""
        out = []
        if _type_flags(t) & HEAPTYPE:
            out.append((id(t), self.name("__class__")))
        if t is dict or (issubclass(t, dict) and _type_flags(t) & HEAPTYPE):
            for k, v in _dict_items(o):
                key = self.node(k, 0 if not gc.is_tracked(k) else TRACKED)
                if self.keys is not None:
                    self.keys.add(key)
                out.append((id(v), (key << 3) | TAG_VALUE))
                out.append((id(k), TAG_KEY))
        elif t is list or t is tuple:
            for i, v in enumerate(o if t is tuple else list.__iter__(o)):
                out.append((id(v), (i << 3) | TAG_INDEX))
        elif t is FunctionType:
            for name, get in _func_get.items():
                try:
                    v = get(o)
                except Exception:
                    continue
                # An empty slot reads as None: only __doc__ really holds None.
                if v is None and name != "__doc__":
                    continue
                out.append((id(v), self.name(name)))
        elif t is CellType:
            try:
                out.append((id(_cell_get(o)), self.name("cell_contents")))
            except ValueError:
                pass
        elif t is _partial:
            # Its members, read through the type's own descriptors (an exact
            # partial runs no user code for them); labelled as the fast
            # collector labels them.
            for name, get in _partial_get:
                out.append((id(get(o)), self.name(name)))
        elif t is ModuleType:
            out.append((id(_module_dict(o)), self.name("__dict__")))
        elif t is MethodType:
            for attr in ("__func__", "__self__"):
                d = MethodType.__dict__.get(attr)
                if d is not None:
                    out.append((id(d.__get__(o)), self.name(attr)))
        elif t is FrameType:
            for name, get in _frame_get.items():
                v = get(o)
                if v is not None:  # an empty f_back reads as None
                    out.append((id(v), self.name(name)))
        elif t is set or t is frozenset:
            # set.__iter__ walks the table: no member's __hash__ or __eq__ runs.
            for v in set.__iter__(o) if t is set else frozenset.__iter__(o):
                out.append((id(v), self.name("{}")))
        elif _is_type(o):
            self.type_fields(o, referents, out)
        elif t is not str and t is not text_type and t is not bytes_type:
            self.member_fields(o, t, referents, out)
        return out

    def type_fields(self, o, referents, out):
        for name, get in (("__mro__", _type_mro), ("__bases__", _type_bases), ("__base__", _type_base)):
            v = get(o)
            if v is not None:
                out.append((id(v), self.name(name)))
        # The namespace is no attribute (`__dict__` is a proxy made for the
        # asker): it is the one dict a type's traversal reports; a module
        # there is the module a C module made the type in (3.9+).
        for r in referents:
            rt = type(r)
            if rt is dict:
                out.append((id(r), self.name("__dict__")))
            elif rt is ModuleType:
                out.append((id(r), self.name("__module__")))

    def member_fields(self, o, t, referents, out):
        """The C members and slots of `o`, then what the fast collector's
        hand-written rules name (by the referent's type) for the few C types
        whose fields are no members."""
        for label, d, _ in self.members(t):
            try:
                v = _member_get(d, o, t)
            except Exception:
                continue
            # NULL reads as None; members that are no objects (ints, flags)
            # make values the object does not hold.
            vt = type(v)
            if v is None and label == self.name("__doc__") and any(r is None for r in referents):
                # A docstring that is None (fget's, a tuplegetter's): the
                # objects that have one hold no other None.
                out.append((id(v), label))
                continue
            if v is None or vt is bool or vt is int or vt is float or (PY2 and vt is long):  # noqa: F821
                continue
            out.append((id(v), label))
        if t is BuiltinType:
            v = _builtin_self(o)
            if v is not None:
                out.append((id(v), self.name("__self__")))
        name = type_name(t)
        if name in ("generator", "coroutine", "async_generator"):
            self.generator_fields(o, t, referents, out)
        elif name in _BY_REFERENT_TYPE:
            if name == "functools._lru_cache_wrapper" and referents and type(referents[-1]) is dict:
                # Its own __dict__ (update_wrapper's attributes) is the last
                # thing it reports, after the cache dict.
                if sum(1 for r in referents if type(r) is dict) > 1:
                    out.append((id(referents[-1]), self.name("__dict__")))
            rule = _BY_REFERENT_TYPE[name]
            described = set(d for d, _ in out)
            for r in referents:
                if id(r) in described:
                    continue
                label = rule(r)
                if label is not None:
                    out.append((id(r), self.name(label)))

    def generator_fields(self, o, t, referents, out):
        """`__name__` and `__qualname__` where the traversal reports them,
        told apart by identity (read through the type's own C getters): a
        name that is also the qualname is reported, and labelled, twice."""
        want = []
        for field in ("__name__", "__qualname__"):
            get = _c_attr(t, field)
            v = get(o) if get is not None else None
            if _is_text(v):
                want.append((id(v), field))
        for r in referents:
            if not want:
                break
            if id(r) == want[0][0]:
                out.append((id(r), self.name(want.pop(0)[1])))

    def rest_label(self, o, t):
        """The label of what no field of a C type names (a module's C
        state), as the fast collector gives it; 0 for none."""
        if t is ModuleType or (not _type_flags(t) & HEAPTYPE and _in_mro(t, ModuleType)):
            # (atexit's state is its callbacks, which only the fast
            # collector reads.)
            if self.label(o, t) != "atexit":
                return self.name("(module state)")
            return 0
        if _type_flags(t) & HEAPTYPE and not _type_flags(t) & IMMUTABLETYPE:
            return 0
        rest = _REST.get(type_name(t))
        return self.name(rest) if rest is not None else 0

    def edges(self, o, referents, skip):
        t = type(o)
        pairs = self.structure(o, t, referents)
        if _type_flags(t) & DICT_SUBCLASS and len(referents) == dict.__len__(o):
            # A dict whose keys are all str reports its values only (as the
            # fast collector's labels assume): a key that is also a value
            # must not take the value's label.
            pairs = [(d, l) for d, l in pairs if l != TAG_KEY]
        described = {}
        for d, l in pairs:
            described.setdefault(d, []).append(l)
        start = len(self.targets)
        # An instance's attribute dict is the last exact dict it reports
        # (tp_traverse of a class visits slots first, the dict last). Not
        # where 3.11+ keeps attributes without a dict (a managed dict): there
        # the values themselves are reported, and a dict among them is an
        # attribute's value, which cannot be told from a made dict without
        # making one.
        dict_at = -1
        managed = MANAGED_DICT and _type_flags(t) & MANAGED_DICT
        # A thread-local's dicts are its per-thread table's, not an instance dict.
        if (_type_flags(t) & HEAPTYPE and _dictoffset(t) != 0 and not managed and not _is_type(o)
                and not _in_mro(t, _LocalType)):
            for j, r in enumerate(referents):
                if type(r) is dict:
                    dict_at = j
        rest = self.rest_label(o, t)
        for j, r in enumerate(referents):
            rid = id(r)
            if rid in skip:
                continue
            labels = described.get(rid)
            label = labels.pop(0) if labels else 0
            if label == 0 and j == dict_at:
                label = self.name("__dict__")
            if label == 0:
                label = rest
            self.targets.append(self.node(r, TRACKED if gc.is_tracked(r) else 0))
            self.edge_labels.append(label)
        self.degrees.append(len(self.targets) - start)


MethodType = type(_Collector().type_id)
_frame_get = {}
for _name in ("f_back", "f_code", "f_globals", "f_builtins"):
    _frame_get[_name] = FrameType.__dict__[_name].__get__


# -- Reading C fields by name, for labels ------------------------------------

_mappingproxy_items = type(_type_dict(int)).items
GetSetDescriptorType = type(type.__dict__["__name__"])
_getset_get = GetSetDescriptorType.__get__
try:
    import _weakref
    _WeakrefType = _weakref.ref
    # ref's own __call__ (a slot wrapper): the referent, or None once dead.
    _weakref_call = _WeakrefType.__call__
except ImportError:  # pragma: no cover
    _WeakrefType = _weakref_call = None
try:
    from _thread import _local as _LocalType
except ImportError:  # 2.7
    from thread import _local as _LocalType
LIST_SUBCLASS, TUPLE_SUBCLASS, UNICODE_SUBCLASS, TYPE_SUBCLASS = 1 << 25, 1 << 26, 1 << 28, 1 << 31


def _type_dict_of(k):
    """The items of a type's own namespace (a real dict behind the proxy:
    dict.items runs, no key of it is hashed or compared)."""
    proxy = _type_dict(k)
    # None where a (Python 2) type has no namespace yet.
    return _mappingproxy_items(proxy) if proxy is not None else ()


def _type_entry(k, name):
    """`name` in type `k`'s own namespace, found by walking it (a lookup
    would compare keys, and a key can be an object with its own __eq__)."""
    for key, v in _type_dict_of(k):
        if type(key) is str and key == name:
            return v
    return None


def _c_attr(t, name):
    """A getter for C field `name` of exact type `t` (a member or getset of
    `t` itself), or None."""
    d = _type_entry(t, name)
    if type(d) is MemberDescriptorType:
        return lambda o: _member_get(d, o, t)
    if type(d) is GetSetDescriptorType:
        return lambda o: _getset_get(d, o, t)
    return None


def _is_text(v):
    return type(v) is str or type(v) is text_type


def _in_mro(t, k):
    for x in _type_mro(t) or ():
        if x is k:
            return True
    return False


def _is_weakref(t):
    return _WeakrefType is not None and _in_mro(t, _WeakrefType)


def _short_name(t):
    """The C name of a type, as the fast collector shows it in a node
    label: `Logger` for a class, `collections.OrderedDict` for a C type."""
    name = _native_str(_type_name_of(t))
    flags = _type_flags(t)
    # A class's C name is its name; a C module's type's has the module (a
    # struct sequence made at run time is a heap type, and mutable before 3.10).
    if flags & HEAPTYPE and not flags & IMMUTABLETYPE and _type_entry(t, "n_sequence_fields") is None:
        return name
    try:
        module = _type_module_of(t)
    except Exception:
        return name
    if _is_text(module) and module not in ("builtins", "__builtin__"):
        return "%s.%s" % (_native_str(module), name)
    return name


def _descriptor_label(o, t, name):
    """`Owner.name`, the owner by its C name: a C-made class's name has its
    module (`zlib.Decompress`), which only the descriptor's own repr (C,
    `<method 'x' of 'zlib.Decompress' objects>`) tells."""
    rep = _type_entry(t, "__repr__")
    if rep is None or not _is_text(name):
        return ""
    text = rep(o)
    at = text.rfind(" of '")
    if not _is_text(text) or at < 0 or not text.endswith("' objects>"):
        return ""
    return "%s.%s" % (_native_str(text[at + 5:-len("' objects>")]), _native_str(name))


def _function_label(f):
    mod = _func_get["__module__"](f)
    qual = _func_get.get("__qualname__", _func_get["__name__"])(f)
    if not _is_text(qual):
        return ""
    if _is_text(mod):
        return "%s.%s" % (_native_str(mod), _native_str(qual))
    return _native_str(qual)


_code_get = dict((n, _c_attr(CodeType, n)) for n in ("co_name", "co_qualname", "co_filename", "co_firstlineno")
                 if _c_attr(CodeType, n) is not None)


def _code_name(c):
    """co_qualname where there is one (3.11+, as the fast collector names
    code there), else co_name."""
    get = _code_get.get("co_qualname") or _code_get["co_name"]
    v = get(c)
    return v if _is_text(v) else ""


def _frame_label(f):
    """`name (file.py:12)`: the frame's code and where the code starts."""
    c = _frame_get["f_code"](f)
    if type(c) is not CodeType:
        return ""
    out = _native_str(_code_name(c))
    fname, line = _code_get["co_filename"](c), _code_get["co_firstlineno"](c)
    if _is_text(fname) and type(line) is int:
        out += " (%s:%d)" % (_native_str(fname).rsplit("/", 1)[-1], line)
    return out


_builtin_name = _c_attr(BuiltinType, "__name__")
_builtin_self = _c_attr(BuiltinType, "__self__")
_builtin_module = _c_attr(BuiltinType, "__module__")


def _builtin_label(o):
    mod, name = _builtin_module(o), _builtin_name(o)
    if not _is_text(name):
        return ""
    return "%s.%s" % (_native_str(mod), _native_str(name)) if _is_text(mod) else _native_str(name)


def _method_func(o):
    return MethodType.__dict__["__func__"].__get__(o)


def _callable_label(r):
    """A function's name, or what type of callable `r` is (`→ type`)."""
    if r is None:
        return ""
    rt = type(r)
    if rt is FunctionType:
        return _function_label(r)
    if rt is BuiltinType:
        return _builtin_label(r)
    if rt is MethodType:
        f = _method_func(r)
        return _function_label(f) if type(f) is FunctionType else ""
    return "\u2192 " + _short_name(rt)


def _gen_qualname(o, t):
    get = _c_attr(t, "__qualname__")
    v = get(o) if get is not None else None
    return v if _is_text(v) else ""


def _task_field(r):
    rt = type(r)
    flags = _type_flags(rt)
    n = type_name(rt)
    if n in ("coroutine", "generator", "async_generator"):
        return "_coro"
    if n in ("_asyncio.Future", "_asyncio.Task"):
        return "_fut_waiter"
    if n in ("_contextvars.Context", "Context"):  # 3.9 names it "Context"
        return "_context"
    if flags & LIST_SUBCLASS:
        return "_callbacks"
    if flags & UNICODE_SUBCLASS:
        return "_name"
    if rt is MethodType or rt is BuiltinType:
        return "_callbacks[0]"
    if n.endswith("Loop"):
        return "_loop"
    return None


def _lru_field(r):
    rt = type(r)
    flags = _type_flags(rt)
    if flags & DICT_SUBCLASS:
        return "cache"
    if rt is FunctionType or rt is BuiltinType or rt is MethodType or rt is _partial:
        return "__wrapped__"
    if flags & TYPE_SUBCLASS:
        return "(internal type)"
    if rt is object:
        return "kwd_mark"
    return "(cache entry)"


def _pattern_field(r):
    flags = _type_flags(type(r))
    if flags & DICT_SUBCLASS:
        return "groupindex"
    if flags & TUPLE_SUBCLASS:
        return "indexgroup"
    if flags & UNICODE_SUBCLASS:
        return "pattern"
    return None


# C types whose fields are no members, told apart by the referent's type,
# as the fast collector tells them (one field of each type).
_BY_REFERENT_TYPE = {
    "_asyncio.Task": _task_field,
    "_asyncio.Future": _task_field,
    "functools._lru_cache_wrapper": _lru_field,
    "re.Pattern": _pattern_field,
    "_sre.SRE_Pattern": _pattern_field,
}
# What the rest of a C type's referents are, where no field names them.
_REST = {
    "method-wrapper": "descriptor",
    "_asyncio.FutureIter": "future",
    "itertools.count": "(count or step)",
    "_abc._abc_data": "(abc registry or cache)",
}
if sys.version_info >= (3, 10):
    _REST["property"] = "__name__"


def _builtins_dict():
    return _module_dict(sys.modules["__builtin__" if PY2 else "builtins"])


def _counts(objs):
    """The reference counts of `objs`, less what counting costs: the entry in
    `objs` and whatever the interpreter holds while sys.getrefcount reads an
    object. That cost is measured here, never assumed: it is a property of
    the interpreter (a comprehension's argument was a counted reference up to
    3.13, 3.14 loads it borrowed and it counts no more). Two objects made for
    the purpose go through the same call, first and last: one with no
    reference but its entry, one with a single other reference; their counts
    give the cost, and must agree. Returns (counts, cost)."""
    known = [object()]  # the last probe's one reference besides its entry
    objs.insert(0, object())
    objs.append(known[0])
    try:
        # map() calls sys.getrefcount from C: no bytecode between the list
        # and the call whose references could change with the compiler.
        raw = list(map(sys.getrefcount, objs))
    finally:
        objs.pop()
        del objs[0]
    cost = raw[0]
    if raw[-1] - 1 != cost:
        raise RuntimeError("refgraph: sys.getrefcount is inconsistent: a probe with no reference counts %d, "
                           "one with a single reference %d" % (raw[0], raw[-1]))
    del known, raw[0]
    raw.pop()
    return [n - cost for n in raw], cost


def dump(path, observer_frames=1, strings=True):
    """Captures the heap and writes it to `path`. The `observer_frames`
    newest frames of this thread above this function are the caller's.
    With `strings=False` a str's label is its length, not its text, except
    for dict keys (names are structure, values are data)."""
    started = time.time()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _dump(path, observer_frames + 1, started, strings)
    finally:
        if was_enabled:
            gc.enable()


def _freeze_notes():
    """gc.get_objects() does not list what gc.freeze() moved to the permanent
    generation, and only gc.unfreeze() (which changes the heap) would: say so
    rather than be silently wrong."""
    count = getattr(gc, "get_freeze_count", None)
    frozen = count() if count is not None else 0
    if not frozen:
        return []
    return ["%d objects frozen by gc.freeze() are missing: the pure-Python collector cannot list the "
            "permanent generation without gc.unfreeze(), which would change the heap; objects they refer "
            "to may show as held from outside the heap (the native collector captures them)" % frozen]


def _observer_frames(n):
    frames = []
    f = sys._getframe(1)
    while f is not None and len(frames) < n + 1:
        frames.append(f)
        f = f.f_back
    return frames


def _dump(path, observer_frames, started, strings=True):
    observers = _observer_frames(observer_frames)
    c = _Collector()
    objects = gc.get_objects()
    skip = set([id(objects), id(c), id(c.__dict__), id(observers)])
    for name in c.__dict__:
        skip.add(id(c.__dict__[name]))
    # Set after the skip list is made (a None in it would hide None) and
    # after the object list (so the set is no node).
    c.keys = None if strings else set()
    # From here c.keys says it: a frame local would hold a reference to
    # True while the counts are read.
    del strings
    observer_refs = {}
    for f in observers:
        skip.add(id(f))
        for r in gc.get_referents(f):
            observer_refs[id(r)] = observer_refs.get(id(r), 0) + 1
    other_frames = []
    for tid, top in sys._current_frames().items():
        depth = 0
        f = top
        while f is not None:
            if id(f) not in skip:
                other_frames.append((tid, depth, f))
            depth += 1
            f = f.f_back
    del f, top
    tracked = [o for o in objects if id(o) not in skip]
    for o in tracked:
        c.node(o, TRACKED)
    entry = None
    for entry in other_frames:
        c.node(entry[2], TRACKED if gc.is_tracked(entry[2]) else 0)
    sources = len(c.addr)
    for i in range(sources):
        c.edges(c.objs[i], gc.get_referents(c.objs[i]), skip)
    # Nothing of ours but c.objs may hold a captured object while counting.
    frame_nodes = [(tid, depth, c.index[id(f)], _native_str(f.f_code.co_name)) for tid, depth, f in other_frames]
    del objects, tracked, other_frames, entry
    c.release()
    counts, count_cost = _counts(c.objs)
    # 3.14+ says which objects are immortal (their counts are a fixed marker,
    # 3 << 30, that says nothing about who holds them); they are stored as
    # the format wants them, flagged, with the largest count.
    is_immortal = getattr(sys, "_is_immortal", None)
    immortal = list(map(is_immortal, c.objs)) if is_immortal is not None else None
    refcounts = []
    for i, n in enumerate(counts):
        if immortal is not None and immortal[i]:
            c.flags[i] |= IMMORTAL
            refcounts.append(0xFFFFFFFF)
            continue
        # Tracked objects were also in the gc list when it existed; it is gone.
        refcounts.append(max(0, n - observer_refs.get(c.addr[i], 0)))
    roots = []
    for name, mod in _dict_items(sys.modules):
        i = c.index.get(id(mod))
        # Python 2 keeps None in sys.modules for failed relative imports.
        if i is not None and mod is not None and type(name) in (str, text_type):
            roots.append((i, 1, _native_str(name)))
    # What every CPython interpreter state holds, known without reading it.
    for obj, holder in ((sys.modules, "interpreter modules (sys.modules)"),
                        (_module_dict(sys), "interpreter sysdict (sys.__dict__)"),
                        (_builtins_dict(), "interpreter builtins")):
        i = c.index.get(id(obj))
        if i is not None:
            roots.append((i, 3, holder))
    for tid, depth, node, name in frame_nodes:
        roots.append((node, 2, (tid, depth, name)))
    meta = {
        "collector": "python",
        "python_version": sys.version,
        "python": list(sys.version_info[:2]),
        "pid": os.getpid(),
        "captured_at": started,
        "capture_seconds": time.time() - started,
        "argv": [_native_str(a) for a in sys.argv],
        "observer_refs": sum(observer_refs.values()),
        "observer_objects": len(skip),
        # What holding an object costs while its count is read (measured).
        "count_cost": count_cost,
        "notes": ["sizes are sys.getsizeof where a type's __sizeof__ is C code, else the type's basic size"] + _freeze_notes(),
    }
    if c.keys is not None:
        _redact_strings(c, meta)
    _write(path, c, sources, refcounts, roots, meta)
    return len(c.addr), len(c.targets), meta["capture_seconds"]


def _redact_strings(c, meta):
    """`strings=False`: every str label but a dict key's becomes its length,
    as the fast collector does; argv past the program too."""
    for i, o in enumerate(c.objs):
        t = type(o)
        if (t is str or t is text_type) and c.labels[i] and i not in c.keys:
            c.label_text[c.labels[i] - 1] = "len=%d" % len(o)
    meta["argv"] = meta["argv"][:1] + ["len=%d" % len(a) for a in meta["argv"][1:]]
    meta["redacted_strings"] = True


def _section(f, tag, payload):
    payload = bytes(payload) if not PY2 else str(payload)
    head = tag + struct.pack("<Q", len(payload))
    # The section checksum: CRC-32 (zlib's) over the tag, the length and the payload.
    crc = zlib.crc32(payload, zlib.crc32(head)) & 0xFFFFFFFF
    f.write(head)
    f.write(struct.pack("<I", crc))
    f.write(payload)


def _strings(items):
    out = bytearray()
    _varint(out, len(items))
    for s in items:
        _put_str(out, s if isinstance(s, (bytes_type, text_type)) else str(s))
    return out


def _write(path, c, sources, refcounts, roots, meta):
    n = len(c.addr)
    labels = bytearray([0])  # encoding 0: stored as it is
    texts = [t.encode("utf-8") if isinstance(t, text_type) else t for t in c.label_text]
    _varint(labels, len(texts) + 1)
    _varint(labels, 0)
    for t in texts:
        _varint(labels, len(t))
    _put_str(labels, b"".join(texts))
    nodes = bytearray()
    _varint(nodes, n)
    prev = 0
    for a in c.addr:
        _varint(nodes, _zigzag(a - prev))
        prev = a
    for t in c.type_ids:
        _varint(nodes, t)
    for s in c.sizes:
        _varint(nodes, min(s, 0xFFFFFFFF))
    for r in refcounts:
        _varint(nodes, min(r, 0xFFFFFFFF))
    nodes.extend(bytearray(c.flags))
    last = 0
    for l in c.labels:
        if l == 0:
            _varint(nodes, 0)
        else:
            _varint(nodes, _zigzag(l - (last + 1)) + 1)
            last = l
    edges = bytearray()
    _varint(edges, len(c.targets))
    degrees = c.degrees + [0] * (n - sources)
    for d in degrees:
        _varint(edges, d)
    k = 0
    for i in range(sources):
        prev = i
        for _ in range(c.degrees[i]):
            t = c.targets[k]
            _varint(edges, _zigzag(t - prev))
            prev = t
            k += 1
    for l in c.edge_labels:
        _varint(edges, l)
    rootb = bytearray()
    _varint(rootb, len(roots))
    for node, kind, data in roots:
        _varint(rootb, node)
        rootb.append(kind)
        if kind == 1:
            _put_str(rootb, data)
        elif kind == 3:
            _put_str(rootb, data)
            _varint(rootb, 0)
        else:
            tid, depth, fn = data
            _varint(rootb, tid)
            _varint(rootb, depth)
            _put_str(rootb, fn)
    tmp = "%s.tmp%d" % (path, os.getpid())
    # 0600: a snapshot holds the heap's strings; only its owner reads it.
    if os.path.exists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<I", VERSION))
        _section(f, b"META", bytearray(json.dumps(meta).encode("utf-8")))
        _section(f, b"TYPE", _strings(c.type_list))
        _section(f, b"LABL", labels)
        _section(f, b"ENAM", _strings(c.edge_name_list))
        _section(f, b"NODE", nodes)
        _section(f, b"EDGE", edges)
        _section(f, b"ROOT", rootb)
        _section(f, b"END.", bytearray())
    os.rename(tmp, path)
