"""One benchmark measurement on the seed's hot-reload heap, printed as JSON.

    python benches/bench.py MODE CALLS [REPEATS]

MODE is what to measure, each in a fresh process that first builds the same
heap (the seed's platform, CALLS requests, then a full collection):
- refgraph: gc.collect() (the yardstick), refgraph.snapshot(), root_paths of
  one stale logging namespace, show_backrefs of 10 of them to DOT, save and
  load of the snapshot file: medians of REPEATS runs;
- rss: peak memory the first capture adds (VmHWM before and after);
- objgraph: gc.collect(), find_backref_chain(namespace, inspect.ismodule),
  show_backrefs(10 namespaces, max_depth=6) to DOT;
- guppy: gc.collect(), hpy().heap() and its .sp (shortest paths);
- pure: gc.collect() and the pure-Python collector's capture to a file (on
  Python 2.7, where it is what refgraph runs).
scripts/bench runs the modes and prints the table.
"""

import gc
import io
import json
import os
import shutil
import sys
import tempfile
import time

# This file also runs on Python 2.7 (the pure-Python collector's row).
clock = getattr(time, "perf_counter", time.time)


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


class Sink(object):
    """A file that forgets what it is given (DOT output we only time)."""

    def write(self, text):
        return len(text)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_heap(calls):
    sys.path.insert(0, os.path.join(ROOT, "examples", "hot_reload"))
    old = sys.argv[:]
    sys.argv[:] = ["plat.py", str(calls)]
    out = sys.stdout
    sys.stdout = Sink()
    try:
        import plat
        plat.main()
    finally:
        sys.stdout = out
        sys.argv[:] = old
    gc.collect()


def stale_namespaces():
    # Found by type and key, the way the seed's author did (dict.get is C).
    found = []
    for o in gc.get_objects():
        if type(o) is dict and o.get("__name__") == "logging" and "shutdown" in o:
            found.append(o)
    return found


def timed(fn, repeats):
    times = []
    result = None
    for _ in range(repeats):
        t = clock()
        result = fn()
        times.append(clock() - t)
        result = result if repeats == 1 else None
    return median(times), result


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmHWM:", "VmRSS:")):
                key, value = line.split(":")
                if key == "VmHWM":
                    return int(value.split()[0])
    return 0


def vm_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def is_real_root(obj):
    """Is this where a retainer chain may honestly start? A module that is in
    sys.modules, or an object with references from outside the heap."""
    import types
    if type(obj) is types.ModuleType:
        return any(m is obj for m in sys.modules.values())
    return False


def mode_refgraph(calls, repeats):
    import refgraph
    build_heap(calls)
    out = {"gc_collect": timed(gc.collect, repeats)[0]}
    out["snapshot"], snap = timed(refgraph.snapshot, 1)
    times = [out["snapshot"]]
    for _ in range(repeats - 1):
        snap = None  # free the previous capture outside the timing
        t = clock()
        snap = refgraph.snapshot()
        times.append(clock() - t)
    out["snapshot"] = median(times)
    meta = json.loads(snap.meta)
    out["phases"] = meta["phases"]
    out["nodes"], out["edges"] = len(snap), snap.edge_count
    out["tracked"] = len(gc.get_objects())
    targets = snap.select("dict~^logging namespace")
    out["stale_namespaces"] = len(targets)
    target = targets[len(targets) // 2]
    out["root_paths"], paths = timed(lambda: snap.root_paths(target), repeats)
    paths = snap.root_paths(target)
    out["root_kinds"] = sorted({p[0].root.split(" (")[0] for p in paths})
    out["root_is_real"] = bool(paths) and all(p[0].root and not p[0].root.startswith("frame") for p in paths)
    ten = targets[:10]
    out["show_backrefs"] = timed(lambda: snap.show_backrefs(ten, max_depth=6, output=Sink()), repeats)[0]
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "heap.rgs")
        out["save"] = timed(lambda: snap.save(path), repeats)[0]
        out["file_bytes"] = os.path.getsize(path)
        out["load"] = timed(lambda: refgraph.load(path), repeats)[0]
    finally:
        shutil.rmtree(d)
    return out


def mode_pure(calls, repeats):
    from refgraph import collector
    build_heap(calls)
    out = {"gc_collect": timed(gc.collect, repeats)[0]}
    out["tracked"] = len(gc.get_objects())
    path = os.environ.get("REFGRAPH_BENCH_OUT") or os.path.join(tempfile.mkdtemp(), "heap.rgs")
    t = clock()
    nodes, edges, _ = collector.dump(path)
    out["snapshot"] = clock() - t
    out["nodes"], out["edges"], out["file"] = nodes, edges, path
    return out


def mode_rss(calls, repeats):
    import refgraph
    build_heap(calls)
    before_rss = vm_rss_kib()
    before_hwm = vm_hwm_kib()
    snap = refgraph.snapshot()
    after_hwm = vm_hwm_kib()
    return {"rss_kib": before_rss, "peak_added_kib": max(0, after_hwm - max(before_hwm, before_rss)), "nodes": len(snap)}


def mode_objgraph(calls, repeats):
    import inspect
    import objgraph
    build_heap(calls)
    out = {"gc_collect": timed(gc.collect, 1)[0]}
    targets = stale_namespaces()
    target = targets[len(targets) // 2]
    t = clock()
    chain = objgraph.find_backref_chain(target, inspect.ismodule)
    out["find_backref_chain"] = clock() - t
    out["root_is_real"] = len(chain) > 1 and is_real_root(chain[0])
    out["root_found"] = type(chain[0]).__name__ + " " + getattr(chain[0], "__name__", "?") if len(chain) > 1 else "none"
    chain = None
    ten = targets[:10]
    t = clock()
    objgraph.show_backrefs(ten, max_depth=6, output=Sink())
    out["show_backrefs"] = clock() - t
    return out


def mode_guppy(calls, repeats):
    from guppy import hpy
    build_heap(calls)
    out = {"gc_collect": timed(gc.collect, 1)[0]}
    h = hpy()
    t = clock()
    heap = h.heap()
    out["heap"] = clock() - t
    targets = stale_namespaces()
    target = h.iso(targets[len(targets) // 2])
    del targets
    t = clock()
    sp = str(target.sp)
    out["sp"] = clock() - t
    out["root_found"] = sp.strip().splitlines()[-1][:160] if sp.strip() else "none"
    out["root_is_real"] = "hpy().Root" in sp and "atexit" in sp
    del heap
    return out


def main():
    mode, calls = sys.argv[1], int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    result = globals()["mode_" + mode](calls, repeats)
    result.update({"mode": mode, "calls": calls, "python": "%d.%d" % sys.version_info[:2]})
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
