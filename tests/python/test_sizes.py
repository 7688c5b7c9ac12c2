"""Shallow sizes equal sys.getsizeof, computed without calling __sizeof__."""

import collections
import gc
import sys
import types

import refgraph

PY = sys.version_info[:2]


class Plain(object):
    pass


class Slotted(object):
    __slots__ = ("a", "b")


class OwnSizeof(object):
    def __sizeof__(self):
        raise AssertionError("refgraph called a user __sizeof__")


def gen():
    yield 1


KEEP = []

# Types whose __sizeof__ counts memory refgraph does not model (yet): C
# types with their own __sizeof__, and per version what the layouts miss.
# Any other type that differs fails the test, by name.
NOT_MODELLED = {
    "collections.deque",
    "collections.OrderedDict",
    "builtins.bytearray",
    "_io.BufferedReader",
    "_io.BufferedWriter",
    "_io.BufferedRandom",
    "_io.TextIOWrapper",
    "_io.BytesIO",
    "_io.StringIO",
    "_struct.Struct",
    # Sized by their code object's frame size (3.11+); a frame object by
    # its stack before 3.11 and, once it owns its data, by that size after.
    "builtins.frame",
    "builtins.generator",
    "builtins.coroutine",
    "builtins.async_generator",
    # New in 3.15, with a key table of its own that is not read yet.
    "builtins.frozendict",
}
if PY < (3, 11):
    # 3.9/3.10 count cell-to-argument maps and frame extras.
    NOT_MODELLED |= {"builtins.code"}


def mixed_heap():
    p = Plain()
    p.x, p.y = 1, [2]
    s = Slotted()
    s.a = "a"
    KEEP[:] = [
        p, s, OwnSizeof(), {"a": 1}, {i: i for i in range(100)}, {(1, 2): 3}, set(range(50)),
        frozenset([1, 2]), "x" * 100, "\u00e9" * 10, "\u4e2d" * 3, b"abc" * 9, 10 ** 50, -(10 ** 20), 0, True,
        3.5, (1, 2, 3), [1] * 33, [], gen(), type("Dyn", (), {"m": lambda self: 1}), Plain.__dict__,
        range(3), collections.defaultdict(list, a=[1]), Plain().__dict__,
    ]
    KEEP.append(vars(Plain()))


def test_shallow_sizes_equal_getsizeof_for_every_type_that_does_not_size_itself():
    mixed_heap()
    objs = gc.get_objects()
    seen = {id(o): o for o in objs}
    for o in objs:
        for r in gc.get_referents(o):
            seen.setdefault(id(r), r)
    snap = refgraph.snapshot()
    differ = collections.defaultdict(list)
    compared = collections.Counter()
    for addr, o in seen.items():
        if addr not in snap:
            continue
        t = type(o)
        if "__sizeof__" in t.__dict__ and t.__module__ not in ("builtins",) and type(t.__dict__["__sizeof__"]).__name__ == "function":
            continue  # a class that sizes itself: never called
        name = "%s.%s" % (t.__module__, t.__qualname__)
        compared[name] += 1
        got, want = snap.size(addr), sys.getsizeof(o)
        if got != want:
            differ[name].append((got, want))
    unexpected = {n: v[:3] for n, v in differ.items() if n not in NOT_MODELLED}
    assert not unexpected, "sizes differ from sys.getsizeof for: %r" % unexpected
    for name in ("builtins.dict", "builtins.type", "builtins.str", "builtins.int", "builtins.list", "builtins.tuple",
                 "builtins.set", "builtins.function", "builtins.code", "test_sizes.Plain", "test_sizes.Slotted"):
        if name in NOT_MODELLED:
            continue
        assert compared[name] > 0, name
    print("types compared: %d; differing (not modelled): %s" % (len(compared), sorted(differ)))


def test_a_class_that_sizes_itself_is_measured_without_calling_it():
    o = OwnSizeof()
    KEEP.append(o)
    snap = refgraph.snapshot()
    assert snap.size(id(o)) > 0


class SizedSubclass(list):
    """A C base with its own __sizeof__ under a class that overrides it."""

    def __sizeof__(self):
        raise AssertionError("refgraph called a user __sizeof__")


def _pure_snapshot(tmp_path):
    from refgraph import collector

    path = str(tmp_path / "pure.rgs")
    collector.dump(path)
    return refgraph.load(path)


def test_the_pure_collectors_sizes_equal_getsizeof_without_calling_a_class_sizeof(tmp_path):
    """The pure collector asks sys.getsizeof where a type's __sizeof__ is C
    (every type, nothing left out as for the fast collector), and for a class
    that sizes itself gives what sys.getsizeof would give without that
    method: its C base's __sizeof__ plus the GC header."""
    mixed_heap()
    own = [OwnSizeof(), SizedSubclass([1, 2, 3])]
    KEEP.extend(own)
    objs = gc.get_objects()
    seen = {id(o): o for o in objs}
    for o in objs:
        for r in gc.get_referents(o):
            seen.setdefault(id(r), r)
    snap = _pure_snapshot(tmp_path)
    differ = collections.defaultdict(list)
    compared = collections.Counter()
    # 3.8-3.10 give a code object its opcache once it has run ~1024 times,
    # and code.__sizeof__ counts it: the collector's own hottest functions
    # become hot while it runs, after it measured them.
    from refgraph import collector
    warming = set(id(f.__code__) for f in vars(collector).values()
                  if sys.version_info < (3, 11) and isinstance(f, types.FunctionType))
    for addr, o in seen.items():
        if addr not in snap or addr in warming or any(o is x for x in own):
            continue
        t = type(o)
        if "__sizeof__" in t.__dict__ and type(t.__dict__["__sizeof__"]).__name__ == "function":
            continue
        name = "%s.%s" % (t.__module__, t.__qualname__)
        compared[name] += 1
        if snap.size(addr) != sys.getsizeof(o):
            differ[name].append((snap.size(addr), sys.getsizeof(o), snap.node(addr).label))
    # Seen on 3.11 only: one dict of 5 items that is larger when the test
    # reads it than at the capture (it grew in between; not yet identified).
    grown = differ.pop("builtins.dict", [])
    assert len(grown) <= 1 and all(got < now for got, now, _ in grown), grown
    assert not differ, dict((n, v[:3]) for n, v in differ.items())
    for name in ("builtins.dict", "builtins.type", "builtins.str", "builtins.list", "test_sizes.Plain", "test_sizes.Slotted"):
        assert compared[name] > 0, name
    gc_header = sys.getsizeof([]) - [].__sizeof__()
    assert snap.size(id(own[0])) == object.__sizeof__(own[0]) + gc_header
    assert snap.size(id(own[1])) == list.__sizeof__(own[1]) + gc_header
