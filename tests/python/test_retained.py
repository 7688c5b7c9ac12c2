"""Retained sizes from the dominator tree, checked against their definition."""

import random
import weakref

import refgraph


class Node(object):
    pass


KEEP = {}


def test_retained_size_is_what_removing_the_object_frees_on_a_real_capture():
    shared = [bytes(100)]
    KEEP["a"] = {"own": [list(range(20)) for _ in range(5)], "shared": shared}
    KEEP["b"] = {"shared": shared}
    cycle = Node()
    cycle.me = cycle
    cycle.payload = "p" * 1000
    KEEP["cycle"] = cycle
    snap = refgraph.snapshot()
    sample = [KEEP["a"], KEEP["b"], shared, cycle, KEEP, KEEP["a"]["own"]]
    rng = random.Random(5)
    referents = [addr for addr, _ in snap.referents(KEEP["a"])]
    everything = [addr for addr, _ in snap.roots()][:200]
    sample += rng.sample(everything, 20) + referents
    for obj in sample:
        addr = obj if isinstance(obj, int) else id(obj)
        assert snap.retained_size(addr) == snap._retained_size_by_removal(addr), hex(addr)
    # What each dict alone holds: `a` its own lists, not the shared one.
    assert snap.retained_size(KEEP["a"]) > snap.size(KEEP["a"]) + 5 * snap.size(KEEP["a"]["own"][0])
    assert snap.immediate_dominator(shared) != id(KEEP["a"])
    assert snap.immediate_dominator(KEEP["a"]["own"]) == id(KEEP["a"])
    assert id(KEEP["a"]) in snap.dominators(KEEP["a"]["own"][0])


def test_a_weak_reference_retains_nothing():
    target = Node()
    target.payload = ["x"] * 1000
    ref = weakref.ref(target)
    KEEP["weak"] = [ref]
    KEEP["strong"] = target
    snap = refgraph.snapshot()
    assert snap.retained_size(ref) == snap.size(ref)
    assert snap.immediate_dominator(target) != id(ref)
    assert snap.retained_size(target) >= snap.size(target.payload)


def test_retained_size_of_a_live_object():
    KEEP["big"] = [str(i) * 10 for i in range(1000)]
    assert refgraph.retained_size(KEEP["big"]) > 1000 * 49


def test_top_retainers_fold_look_alikes():
    KEEP["copies"] = [{"namespace": ["y"] * 500} for _ in range(3)]
    rows = refgraph.snapshot().top_retainers(5)
    assert rows and all(r["retained"] > 0 and r["count"] >= 1 for r in rows)
    assert rows == sorted(rows, key=lambda r: -r["total"])
