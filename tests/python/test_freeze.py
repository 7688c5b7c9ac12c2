"""gc.freeze(): frozen objects live in the collector's permanent generation,
which gc.get_objects() does not list. They are objects like any other: a
capture has them, why() explains them, and objects made after the freeze
are not mistaken for objects held from outside the heap."""

import json
import subprocess
import sys

from test_collectors import interpreter, refgraph_bin

# Runs in a fresh process: a freeze is for the life of the process.
FROZEN = r'''
import gc, json
import refgraph

class Config(object):
    pass

registry = {"config": Config()}
before = len(refgraph.snapshot())
gc.freeze()
later = {"made_after": [registry]}
snap = refgraph.snapshot()
ids = {"registry": id(registry), "later": id(later), "made_after": id(later["made_after"])}
print(json.dumps({
    "freeze_count": gc.get_freeze_count(),
    "before": before,
    "after": len(snap),
    "notes": json.loads(snap.meta)["notes"],
    "why_config": refgraph.why(registry["config"]),
    "paths_made_after": [[s.to_dict() for s in p] for p in refgraph.root_paths(later["made_after"])],
    "roots": [a for a, _ in snap.roots() if a in ids.values()],
    "refcount_made_after": snap.refcount(later["made_after"]),
    "referrers_registry": sorted(e for _, e in snap.referrers(registry)),
}))
'''


def run_script(text):
    r = subprocess.run([sys.executable, "-c", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_frozen_objects_are_captured_and_explained():
    out = run_script(FROZEN)
    assert out["freeze_count"] > 1000
    # Not (almost) empty: the frozen heap is there.
    assert out["after"] >= 0.9 * out["before"], out
    assert out["notes"] == [], out["notes"]
    why = out["why_config"]
    assert "sys.modules['__main__']" in why, why
    assert "['registry'] -> dict" in why and "['config'] -> __main__.Config" in why, why
    # Held by the frozen registry and by the list made after the freeze.
    assert out["referrers_registry"] == ["['registry']", "[0]"], out["referrers_registry"]


def test_objects_made_after_the_freeze_are_not_held_from_outside():
    out = run_script(FROZEN)
    # Their one referrer (a frozen dict, or a dict made after) was seen.
    assert out["roots"] == [], out["roots"]
    assert out["refcount_made_after"] == 1
    paths = out["paths_made_after"]
    assert paths, paths
    main = [p for p in paths if p[0]["root"] == "sys.modules['__main__']"]
    assert main and [s["edge"] for s in main[0][-2:]] == ["['later']", "['made_after']"], paths
    # The target is never a root of its own.
    assert all(len(p) > 1 for p in paths), paths


def test_the_pure_collector_says_it_cannot_see_frozen_objects(tmp_path):
    script = tmp_path / "frozen.py"
    script.write_text("import gc\nkeep = [{'a': 1}]\ngc.freeze()\n")
    out = str(tmp_path / "heap.rgs")
    r = subprocess.run([refgraph_bin(), "run", "--collector", "python", "-o", out, "--", interpreter("3.8"), str(script)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert r.returncode == 0, r.stderr
    import refgraph
    notes = json.loads(refgraph.load(out).meta)["notes"]
    frozen = [n for n in notes if "gc.freeze()" in n]
    assert len(frozen) == 1 and "cannot list the permanent generation without gc.unfreeze()" in frozen[0], notes
    assert int(frozen[0].split()[0]) > 0


def test_a_refused_collector_layout_is_a_note_not_a_crash():
    # The lists looked for in the wrong place: the check refuses them, and
    # the capture falls back with a note that says what it misses.
    text = r'''
import json, refgraph
from refgraph import _native
_native._override_layout("interp_gc_generations", 8)
snap = refgraph.snapshot()
_native._override_layout()
print(json.dumps({"n": len(snap), "notes": json.loads(snap.meta)["notes"], "again": json.loads(refgraph.snapshot().meta)["notes"]}))
'''
    out = run_script(text)
    assert out["n"] > 1000
    note = [n for n in out["notes"] if "collector's lists" in n]
    assert len(note) == 1 and "misses those gc.freeze() froze" in note[0], out["notes"]
    assert out["again"] == [], out["again"]
