"""Retained sizes from the dominator tree, checked against their definition."""

import io
import random
import re
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


def _human(n):
    """refgraph's `retains` figure: decimal units, three significant digits."""
    units = ["B", "kB", "MB", "GB", "TB"]
    v, u = float(n), 0
    while v >= 1000.0 and u + 1 < len(units):
        v /= 1000.0
        u += 1
    if u == 0:
        return "%d B" % n
    return ("%.0f %s" if v >= 100 else "%.1f %s" if v >= 10 else "%.2f %s") % (v, units[u])


def _dot_notes(dot):
    """{address: 'retains ...' or None} for each object's box of a DOT text."""
    notes = {}
    for line in dot.splitlines():
        m = re.match(r'\s*"?o([0-9a-f]+)"?\s*\[(.*)', line)
        if m and "->" not in line:
            note = re.search(r"retains ([0-9.]+ [kMGT]?B)", m.group(2))
            notes[int(m.group(1), 16)] = note and note.group(1)
    return notes


def _svg_notes(svg):
    """The same from the built-in SVG: one <g class="node"> per box."""
    notes = {}
    for box_id, body in re.findall(r'<g class="node"><title>o([0-9a-f]+)</title>(.*?)</g>', svg, re.S):
        note = re.search(r">retains ([0-9.]+ [kMGT]?B)<", body)
        notes[int(box_id, 16)] = note and note.group(1)
    return notes


def _expected(snap, addr):
    size = snap.retained_size(addr)
    return None if size is None else _human(size)


def _drawn_as_graph(monkeypatch, draw):
    """Draws inline (as in Jupyter), which gives both the built-in SVG and the DOT text."""
    monkeypatch.setattr(refgraph._display, "inline_wanted", lambda: True)
    g = draw()
    assert isinstance(g, refgraph.Graph)
    return g


def test_snapshot_drawings_show_each_boxs_retained_size(monkeypatch):
    KEEP["drawn"] = {"payload": [str(i) * 20 for i in range(300)], "other": [1, 2]}
    payload = KEEP["drawn"]["payload"]
    snap = refgraph.snapshot()
    g = _drawn_as_graph(monkeypatch, lambda: snap.show_backrefs([payload], max_depth=3, retained=True))
    for notes in (_dot_notes(g.dot), _svg_notes(g.svg)):
        assert id(payload) in notes and id(KEEP["drawn"]) in notes and id(KEEP) in notes
        for addr, note in notes.items():
            assert note == _expected(snap, addr), hex(addr)
        assert notes[id(payload)] == _human(snap.retained_size(payload))
        assert snap.retained_size(payload) > 300 * snap.size(payload[0])
    out = io.StringIO()
    snap.show_backrefs([payload], output=out, max_depth=3)
    assert "retains" not in out.getvalue()


def test_live_drawings_show_the_retained_sizes_of_the_objects(monkeypatch):
    KEEP["drawn"] = {"payload": [str(i) * 20 for i in range(300)]}
    payload = KEEP["drawn"]["payload"]
    mine = [payload, KEEP["drawn"], KEEP]
    chain = refgraph.find_backref_chain(payload, refgraph.is_proper_module)
    drawings = [
        lambda: refgraph.show_backrefs([payload], max_depth=2, retained=True, extra_info=lambda o: "mine"),
        lambda: refgraph.show_refs([KEEP["drawn"]], max_depth=1, retained=True),
        lambda: refgraph.show_chain(chain, retained=True),
    ]
    for draw in drawings:
        g = _drawn_as_graph(monkeypatch, draw)
        snap = refgraph.snapshot()
        for notes in (_dot_notes(g.dot), _svg_notes(g.svg)):
            shown = [o for o in mine if id(o) in notes]
            assert len(shown) >= 2, notes
            for o in shown:
                assert notes[id(o)] == _expected(snap, o), repr(o)[:40]
    # The caller's extra_info line stays, the retained size comes under it.
    g = _drawn_as_graph(monkeypatch, drawings[0])
    assert re.search(r">mine</text>\n<text [^>]*>retains ", g.svg)
    out = io.StringIO()
    refgraph.show_backrefs([payload], max_depth=2, output=out, retained=True)
    assert _dot_notes(out.getvalue())[id(payload)] == _expected(refgraph.snapshot(), payload)
