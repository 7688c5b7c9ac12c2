"""Roots held by C code are named after their holder, and fall back to the
generic label when the interpreter layout cannot be verified."""

import codecs
import json
import os
import signal
import sys

import refgraph
from refgraph import _native

KEEP = {}


# atexit callbacks: test_capture.py's held-only-from-C test checks their names.


def test_fork_handler_lists_are_named():
    def before_fork_handler():
        return KEEP

    os.register_at_fork(before=before_fork_handler)
    snap = refgraph.snapshot()
    paths = snap.root_paths(before_fork_handler)
    roots = [p[0].root for p in paths]
    assert any(r.startswith("os.register_at_fork(before) (1 ref)") for r in roots), roots
    path = [p for p in paths if p[0].root.startswith("os.register_at_fork(before)")][0]
    assert path[0].type == "list"
    assert path[1].edge.startswith("[")


def test_a_signal_handler_is_named():
    def on_usr1(signum, frame):
        return None

    old = signal.signal(signal.SIGUSR1, on_usr1)
    fid = id(on_usr1)
    del on_usr1
    try:
        snap = refgraph.snapshot()
        root = snap.node(fid).root
        assert root == "signal handler SIGUSR1 (1 ref)", root
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_a_codec_search_function_is_named():
    def search(name):
        return None

    codecs.register(search)
    snap = refgraph.snapshot()
    roots = [p[0].root for p in snap.root_paths(search)]
    assert any(r.startswith("codecs search path (1 ref)") for r in roots), roots
    if hasattr(codecs, "unregister"):
        codecs.unregister(search)
    else:
        KEEP["search"] = search


def test_interpreter_slots_are_named():
    snap = refgraph.snapshot()
    assert snap.node(sys.modules).root == "interpreter modules (sys.modules) (1 ref)"
    assert snap.node(sys.__dict__).root.startswith("interpreter sysdict")


def test_a_failed_layout_check_falls_back_to_generic_labels():
    def before_fork_fallback():
        return KEEP

    os.register_at_fork(before=before_fork_fallback)
    _native._override_layout("interp_modules", 8)
    try:
        snap = refgraph.snapshot()
    finally:
        _native._override_layout()
    notes = json.loads(snap.meta)["notes"]
    if sys.version_info >= (3, 13):
        # The interpreter's own debug offsets catch the wrong offset first.
        assert any("_Py_DebugOffsets refuses" in n and "imports_modules" in n for n in notes), notes
    else:
        assert any("layout check failed" in n and "interp.modules" in n for n in notes), notes
    roots = [p[0].root for p in snap.root_paths(before_fork_fallback)]
    assert any(r == "held from outside the heap (1 ref)" for r in roots), roots
    assert not any(r.startswith("os.register_at_fork") for r in roots)
    # And the next capture, with the real layout, names it again.
    again = [p[0].root for p in refgraph.snapshot().root_paths(before_fork_fallback)]
    assert any(r.startswith("os.register_at_fork(before)") for r in again), again


def test_the_interned_strings_dict_is_named_and_its_strings_counts_cover_their_referrers():
    """3.14 tracks every dict, so the interpreter's dict of interned strs is
    a node; it is named after its holder, not "held from outside". CPython
    leaves its two references to a mortal interned str out of the str's
    count: the capture adds back the one its traversal shows, so no such str
    has fewer references counted than the heap shows (up to 3.13 the dict is
    untracked and its references are nowhere in the graph)."""
    name = sys.intern("".join(["refgraph-interned-", str(os.getpid())]))
    holder = [name]
    snap = refgraph.snapshot()
    roots = [r for _, r in snap.roots()]
    named = [r for r in roots if r.startswith("interpreter interned strings")]
    if sys.version_info >= (3, 14):
        assert len(named) == 1, roots
    else:
        assert named == [], named
    # The mortal interned str: its holder list and (3.14+) the interned dict
    # refer to it, and its count covers both.
    referrers = snap.referrers(name)
    assert any(r == id(holder) for r, _ in referrers), referrers
    assert len(referrers) == (2 if sys.version_info >= (3, 14) else 1), referrers
    assert snap.refcount(name) >= len(referrers), (snap.refcount(name), referrers)
    assert not snap.node(name).root
    # Nowhere in the heap a str whose count is below the references shown.
    low = [(snap.node(x).label, snap.refcount(x), len(snap.referrers(x))) for x in snap.select("str")
           if snap.refcount(x) is not None and snap.refcount(x) < len(snap.referrers(x))]
    assert low == [], low[:10]
