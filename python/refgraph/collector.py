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
- edge labels come from structure (dict keys, indexes, function fields).

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
MethodType = type(gc.collect.__call__) if False else None  # replaced below, once a class exists
BuiltinType = type(len)
_func_get = {}
# Not __dict__ or __annotations__: reading them creates an empty dict.
for _name in ("__globals__", "__closure__", "__code__", "__defaults__", "__name__", "__module__",
              "__doc__", "__kwdefaults__", "__qualname__"):
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
# The types a `__sizeof__` written in C has: `sys.getsizeof` then runs no
# Python code, so the size it gives is safe to ask for.
_C_METHODS = (type(object.__dict__["__sizeof__"]), type(len))
_getsizeof = sys.getsizeof


def _sizeof_is_c(t):
    try:
        for k in _type_mro(t):
            d = _type_dict(k)
            if "__sizeof__" in d:
                return type(d["__sizeof__"]) in _C_METHODS
    except Exception:
        pass
    return False


def _size(o, t, c_types, other_types):
    """sys.getsizeof(o) where the type's __sizeof__ is C code, else the
    type's basic size (a class's own __sizeof__ is never called). The cache
    is two sets of type ids, C and not (the collector's own attributes, so
    left out of the graph): a dict of flags would hold references to True
    and False while their counts are read."""
    key = id(t)
    if key in c_types:
        c = True
    elif key in other_types:
        c = False
    else:
        c = _sizeof_is_c(t)
        (c_types if c else other_types).add(key)
    if c:
        try:
            return _getsizeof(o)
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
        self.c_types = set()
        self.other_types = set()
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
        n = self.edge_names.get(text)
        if n is None:
            n = len(self.edge_name_list)
            self.edge_names[text] = n
            self.edge_name_list.append(text)
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
        self.sizes.append(_size(o, t, self.c_types, self.other_types))
        self.flags.append(flags)
        label = self.label(o, t)
        if label:
            self.label_text.append(label)
            self.labels.append(len(self.label_text))
        else:
            self.labels.append(0)
        self.objs.append(o)
        return i

    def label(self, o, t):
        if t is str or t is text_type:
            return _str_label(o)
        if t is bool:
            return "True" if o else "False"
        if t in int_types:
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
        if t is ModuleType:
            for k, v in _dict_items(_module_dict(o)):
                if type(k) is str and k == "__name__" and type(v) in (str, text_type):
                    return _native_str(v)
            return ""
        if t is FunctionType:
            mod = _func_get["__module__"](o)
            qual = _func_get.get("__qualname__", _func_get["__name__"])(o)
            if type(mod) in (str, text_type):
                return "%s.%s" % (_native_str(mod), _native_str(qual))
            return _native_str(qual)
        if _is_type(o):
            return type_name(o)
        return ""

    def structure(self, o, t):
        """(id of referent, label) pairs from the structure of `o`."""
        out = []
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
        if _type_flags(t) & HEAPTYPE and not _is_type(o):
            out.append((id(t), self.name("__class__")))
        return out

    def edges(self, o, referents, skip):
        t = type(o)
        pairs = self.structure(o, t)
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
        if _type_flags(t) & HEAPTYPE and _dictoffset(t) != 0 and not managed and not _is_type(o):
            for j, r in enumerate(referents):
                if type(r) is dict:
                    dict_at = j
        for j, r in enumerate(referents):
            rid = id(r)
            if rid in skip:
                continue
            labels = described.get(rid)
            label = labels.pop(0) if labels else 0
            if label == 0 and j == dict_at:
                label = self.name("__dict__")
            self.targets.append(self.node(r, TRACKED if gc.is_tracked(r) else 0))
            self.edge_labels.append(label)
        self.degrees.append(len(self.targets) - start)


MethodType = type(_Collector().type_id)
_frame_get = {}
for _name in ("f_back", "f_code", "f_globals", "f_builtins"):
    _frame_get[_name] = FrameType.__dict__[_name].__get__


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
