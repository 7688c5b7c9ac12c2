"""objgraph's public API, answered from one refgraph capture per call.

Same names, parameters, defaults, return types and printed tables as
objgraph 3.7.0, so ``import refgraph as objgraph`` works. The counting runs
in Rust over a capture (no Python loop over ``gc.get_objects()``), and
refgraph's own frames and lists are left out of every count. Where refgraph
answers differently on purpose, docs/objgraph-compat.md says why.
"""

import collections
import gc
import inspect
import operator
import sys

from . import _native

__all__ = [
    "at",
    "at_addrs",
    "by_type",
    "count",
    "find_ref_chain",
    "get_leaking_objects",
    "get_new_ids",
    "growth",
    "is_proper_module",
    "most_common_types",
    "show_growth",
    "show_most_common_types",
    "typestats",
]


def _own_frames():
    """How many of the newest frames (after this one) are this module's own:
    the capture leaves them out, as objgraph ignores its own frames."""
    f = sys._getframe(1)
    n = 0
    me = globals()
    while f is not None and f.f_globals is me:
        n += 1
        f = f.f_back
    del f
    return n


def _short_name(type_name):
    """``Logger`` for ``logging.Logger`` (objgraph's short type name)."""
    return type_name.rsplit(".", 1)[-1]


def _long_name(type_name):
    """objgraph's long type name: ``builtins.dict``, ``logging.Logger``."""
    return type_name if "." in type_name else "builtins." + type_name


def _name_of(obj, shortnames):
    t = type(obj)
    if shortnames:
        return t.__name__
    module = getattr(t, "__module__", None)
    return "%s.%s" % (module, t.__name__) if module else t.__name__


def _tracked_counts(shortnames):
    """``{type name: count}`` of every object the collector tracks: one pass
    in Rust over the collector's objects, reading their types."""
    rows = _native._type_counts()
    name = _short_name if shortnames else _long_name
    stats = {}
    for type_name, n in rows:
        key = name(type_name)
        stats[key] = stats.get(key, 0) + n
    return stats


def count(typename, objects=None):
    """Count objects tracked by the garbage collector with a given class name.

    ``typename`` is a short (``'MyClass'``) or fully qualified
    (``'mymodule.MyClass'``) type name. ``objects``, if given, is the
    collection to count in instead of every tracked object.

        >>> refgraph.count('dict')
        1042
    """
    if objects is not None:
        shortnames = "." not in typename
        return sum(1 for o in objects if _name_of(o, shortnames) == typename)
    return _tracked_counts("." not in typename).get(typename, 0)


def typestats(objects=None, shortnames=True, filter=None, by="type"):
    """Count the objects tracked by the garbage collector, per type name.

    Returns ``{type name: count}``. With ``shortnames=False`` names are
    qualified (``'mymodule.MyClass'``, ``'builtins.dict'``). ``objects``
    counts a collection of your own instead; ``filter(obj)`` returning
    false leaves an object out (it is called after the capture, on live
    objects).

    ``by`` (refgraph's addition) groups otherwise: ``"module"`` counts
    namespaces, as the seed's ``showMemoryByModule`` does: the dicts that
    hold a ``__name__`` (a module's namespace) or else a ``__module__`` (a
    class's ``__dict__``), under that name, so each copy of a module counts
    once plus once per class it defined; ``"qualname"`` counts the
    functions, methods and classes of each qualified name. The dict is
    ordered most common first. ``Snapshot.typestats`` gives sizes too.

        >>> refgraph.typestats()
        {'function': 10312, 'dict': 4020, 'tuple': 3811, ...}
        >>> list(refgraph.typestats(by="module").items())[:2]
        [('logging', 3800), ('logging.handlers', 3000)]
    """
    if by != "type":
        if objects is not None or filter is not None:
            raise ValueError("by=%r counts every tracked object: objects= and filter= go with by='type'" % (by,))
        rows = _native._typestats(frames=_own_frames(), by=by, tracked_only=True)
        return dict((key, n) for key, n, _size in rows)
    if objects is None and filter is None:
        return _tracked_counts(shortnames)
    if objects is None:
        objects = gc.get_objects()
    try:
        stats = {}
        for o in objects:
            if filter and not filter(o):
                continue
            n = _name_of(o, shortnames)
            stats[n] = stats.get(n, 0) + 1
        return stats
    finally:
        del objects


def most_common_types(limit=10, objects=None, shortnames=True, filter=None):
    """The type names with the most instances: ``[(name, count)]``, most
    first, at most ``limit`` of them (``None``: all).

        >>> refgraph.most_common_types(limit=2)
        [('function', 10312), ('dict', 4020)]
    """
    stats = sorted(typestats(objects, shortnames=shortnames, filter=filter).items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        stats = stats[:limit]
    return stats


def show_most_common_types(limit=10, objects=None, shortnames=True, file=None, filter=None):
    """Print the table of the most common types, as objgraph does.

        >>> refgraph.show_most_common_types(limit=3)
        function 10312
        dict     4020
        tuple    3811
    """
    if file is None:
        file = sys.stdout
    stats = most_common_types(limit, objects, shortnames=shortnames, filter=filter)
    width = max(len(name) for name, _ in stats)
    for name, n in stats:
        file.write("%-*s %i\n" % (width, name, n))


def growth(limit=10, peak_stats={}, shortnames=True, filter=None):  # noqa: B006 - objgraph's shared default is its memory
    """The increase in peak object counts since the last call.

    Returns ``[(type name, total, increase)]``, largest increase first, at
    most ``limit`` rows (``None``: all). ``peak_stats`` maps type names to
    the peak counts seen so far and is updated; the default dict persists
    across calls, as in objgraph.

        >>> refgraph.growth(2)
        [('function', 10312, 102), ('dict', 4020, 35)]
    """
    gc.collect()
    stats = typestats(shortnames=shortnames, filter=filter)
    deltas = {}
    for name, n in stats.items():
        old = peak_stats.get(name, 0)
        if n > old:
            deltas[name] = n - old
            peak_stats[name] = n
    ordered = sorted(deltas.items(), key=operator.itemgetter(1), reverse=True)
    if limit:
        ordered = ordered[:limit]
    return [(name, stats[name], delta) for name, delta in ordered]


def show_growth(limit=10, peak_stats=None, shortnames=True, file=None, filter=None):
    """Print the increase in peak object counts since the last call.

        >>> refgraph.show_growth()
        function    10312      +102
        dict         4020       +35
    """
    if peak_stats is None:
        result = growth(limit, shortnames=shortnames, filter=filter)
    else:
        result = growth(limit, peak_stats, shortnames, filter)
    if result:
        if file is None:
            file = sys.stdout
        width = max(len(name) for name, _, _ in result)
        for name, n, delta in result:
            file.write("%-*s%9d %+9d\n" % (width, name, n, delta))


def get_new_ids(skip_update=False, limit=10, sortby="deltas", shortnames=None, file=None, _state={}):  # noqa: B006
    """Find and print the objects allocated since the last call.

    Returns ``{type name: set of ids}`` of the objects that are new since
    the previous call, and prints objgraph's table (``limit=0`` prints
    nothing). An object is new if the previous capture had no object of
    its type at its address: an address freed and reused by an object of
    another type counts as new (objgraph would call it old).
    ``sortby`` is ``'old'``, ``'current'``, ``'new'`` or ``'deltas'``;
    ``shortnames=None`` keeps the previous choice (first: True).

        >>> _ = refgraph.get_new_ids(limit=0)
        >>> a = [[] for n in range(10)]
        >>> new_ids = refgraph.get_new_ids(limit=1)
        =======================================================================
        Type                    Old_ids  Current_ids      New_ids Count_Deltas
        =======================================================================
        list                        324          335          +11          +11
        =======================================================================
    """
    if not _state:
        _state["new"] = collections.defaultdict(set)
        _state["shortnames"] = True
        _state["snapshot"] = None
    new_ids = _state["new"]
    if skip_update:
        return new_ids
    if shortnames is None:
        shortnames = _state["shortnames"]
    else:
        _state["shortnames"] = shortnames
    gc.collect()
    # Our own state is no new object of the caller's: left out of the capture.
    own = [o for o in [_state, new_ids, _state["snapshot"]] if o is not None] + list(new_ids.values())
    snap = _native._snapshot(frames=_own_frames(), own=own)
    del own
    before = _state["snapshot"]
    _state["snapshot"] = snap
    name = _short_name if shortnames else _long_name
    merged = {}
    for type_name, old, current, addrs in snap._new_ids(before):
        row = merged.setdefault(name(type_name), [0, 0, []])
        row[0] += old
        row[1] += current
        row[2].extend(addrs)
    for ids in new_ids.values():
        ids.clear()
    rows = []
    for class_name, (old, current, addrs) in merged.items():
        if old == 0 and current == 0:
            continue
        new_ids[class_name].update(addrs)
        rows.append((class_name, old, current, len(addrs), current - old))
    for key in [k for k in new_ids if k not in merged]:
        del new_ids[key]
    index_by_sortby = {"old": 1, "current": 2, "new": 3, "deltas": 4}
    rows.sort(key=operator.itemgetter(index_by_sortby[sortby], 0), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return new_ids
    if file is None:
        file = sys.stdout
    width = max(len(row[0]) for row in rows)
    print("=" * (width + 13 * 4), file=file)
    print("%-*s%13s%13s%13s%13s" % (width, "Type", "Old_ids", "Current_ids", "New_ids", "Count_Deltas"), file=file)
    print("=" * (width + 13 * 4), file=file)
    for row_class, old, current, new, delta in rows:
        print("%-*s%13d%13d%+13d%+13d" % (width, row_class, old, current, new, delta), file=file)
    print("=" * (width + 13 * 4), file=file)
    return new_ids


def get_leaking_objects(objects=None):
    """The tracked objects that no other object refers to.

    Returns a list of live objects. With ``objects``, the part of it that
    nothing else (the list itself aside) refers to. These are objects held
    only from outside the heap, by C code: possibly a reference-counting
    bug, often a legitimate C-level root.

        >>> roots = refgraph.get_leaking_objects()
    """
    gc.collect()
    if objects is None:
        return _native._leaking(None, frames=_own_frames())
    leaking = _native._leaking(objects, frames=_own_frames())
    ids = set(map(id, leaking))
    del leaking
    return [o for o in objects if id(o) in ids]


def by_type(typename, objects=None):
    """The objects tracked by the garbage collector with a given type name
    (``'MyClass'`` or ``'mymodule.MyClass'``), as a list.

        >>> refgraph.by_type('Logger')
        [<Logger root (WARNING)>, ...]
    """
    if objects is not None:
        shortnames = "." not in typename
        return [o for o in objects if _name_of(o, shortnames) == typename]
    return _native._by_type(typename, frames=_own_frames())


def at(addr):
    """The object tracked by the garbage collector at address ``addr``
    (the reverse of ``id(obj)``), or None.

        >>> refgraph.at(id(obj)) is obj
        True
    """
    found = _native._at_addrs((addr,), frames=_own_frames())
    return found[0] if found else None


def at_addrs(address_set):
    """The tracked objects at the given addresses, as a list (objects
    untracked by the collector, such as ints and strs, are not found).

        >>> new_lists = refgraph.at_addrs(refgraph.get_new_ids()['list'])
    """
    return _native._at_addrs(address_set, frames=_own_frames())


def find_ref_chain(obj, predicate, max_depth=20, extra_ignore=()):
    """A shortest chain of references from ``obj`` to an object
    ``predicate`` accepts: ``[obj, ..., match]``, or ``[obj]`` if none is
    found within ``max_depth``. ``extra_ignore``: ids to avoid.

        >>> refgraph.find_ref_chain(obj, lambda x: isinstance(x, MyClass))
        [obj, ..., <MyClass object at ...>]
    """
    return _native.find_ref_chain(obj, predicate, max_depth, extra_ignore, frames=_own_frames())


def is_proper_module(obj):
    """True if ``obj`` is a module that is in ``sys.modules`` under its name.

        >>> import types
        >>> refgraph.is_proper_module(types)
        True
        >>> refgraph.is_proper_module(types.ModuleType('foo'))
        False
    """
    return inspect.ismodule(obj) and obj is sys.modules.get(getattr(obj, "__name__", None))
