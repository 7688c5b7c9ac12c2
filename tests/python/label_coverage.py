"""Label coverage on a mixed heap: how many edges say how they hold, and
which nodes say what they are.

    python tests/python/label_coverage.py [--json] [--pure] [--calls 50] [--sample 30000]

Builds the heap of issue 13 in this process: the seed's hot-reload platform
after CALLS requests, twenty stdlib packages, an asyncio loop with 20
suspended tasks, and a thread blocked inside `exec(code, namespace)`. Then
it captures it, samples SAMPLE tracked objects and asks `Snapshot.referents`
and `Snapshot.node` of each. Prints the share of labelled edges, the
unlabelled edges by referrer type, and the node types of the issue's list
with how many of them have no label; `--json` prints the same as JSON
(what tests/python/test_labels.py reads).
"""

import argparse
import gc
import json
import os
import random
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

STDLIB = [
    "asyncio", "email", "email.mime.text", "http.client", "xml.dom.minidom", "decimal", "argparse",
    "logging.config", "unittest", "sqlite3", "json", "csv", "collections", "functools", "itertools",
    "dataclasses", "enum", "re", "urllib.request", "concurrent.futures", "typing", "pathlib",
]

# Node types the issue says must have a label (by `Snapshot.node(o).type`).
NAMED_TYPES = [
    "weakref", "weakref.ReferenceType", "getset_descriptor", "method_descriptor", "wrapper_descriptor",
    "member_descriptor", "classmethod_descriptor", "cell", "classmethod", "staticmethod", "property",
    "importlib._bootstrap.ModuleSpec", "ModuleSpec", "importlib._bootstrap_external.SourceFileLoader",
    "_frozen_importlib_external.SourceFileLoader", "_frozen_importlib.ModuleSpec", "_abc._abc_data", "_abc_data",
    "functools.partial", "functools._lru_cache_wrapper", "coroutine", "_asyncio.Task", "frame",
]


class Payload(object):
    """What the thread's exec namespace holds."""


def seed(calls):
    sys.path.insert(0, os.path.join(ROOT, "examples", "hot_reload"))
    old_argv, old_out = sys.argv[:], sys.stdout
    sys.argv[:] = ["plat.py", str(calls)]
    sys.stdout = open(os.devnull, "w")
    try:
        import plat

        plat.main()
    finally:
        sys.stdout.close()
        sys.stdout, sys.argv[:] = old_out, old_argv


def stdlib():
    import importlib

    return [importlib.import_module(m) for m in STDLIB]


def suspended_tasks(n=20):
    """A loop (not running) with `n` tasks each suspended in an await."""
    import asyncio

    loop = asyncio.new_event_loop()
    gate = loop.create_future()

    async def worker(i):
        local = ["task", i]
        await gate
        return local

    async def spawn():
        return [loop.create_task(worker(i)) for i in range(n)]

    tasks = loop.run_until_complete(spawn())
    loop.run_until_complete(asyncio.sleep(0))
    return loop, tasks, gate


def exec_thread():
    """A thread blocked inside `exec(code, namespace)`: the namespace lives
    only on that thread's stack. Returns (thread, namespace id, release)."""
    started, release = threading.Event(), threading.Event()
    box = {}
    code = "box['id'] = id(globals())\nstarted.set()\nrelease.wait()\n"

    def run():
        # The namespace is only an argument: no local, no attribute holds it.
        exec(code, {"payload": Payload(), "started": started, "release": release, "box": box})

    t = threading.Thread(target=run, name="exec-worker", daemon=True)
    t.start()
    started.wait()
    return t, box["id"], release


def measure(snap, sample):
    import refgraph  # noqa: F401 (the snapshot's module)

    objs = gc.get_objects()
    rng = random.Random(13)
    picked = rng.sample(objs, min(sample, len(objs)))
    del objs
    total = unlabelled = 0
    by_type = {}
    node_types = {}
    for o in picked:
        try:
            node = snap.node(o)
            refs = snap.referents(o)
        except Exception:
            continue
        tname = node.type
        for _, label in refs:
            total += 1
            if not label:
                unlabelled += 1
                by_type[tname] = by_type.get(tname, 0) + 1
    # Node labels: every object of the named types, tracked or not, found
    # through the sample's referents and the tracked objects.
    for o in gc.get_objects():
        for x in [o] + list(gc.get_referents(o)):
            t = type(x)
            name = t.__name__ if t.__module__ == "builtins" else t.__module__ + "." + t.__qualname__
            if name not in NAMED_TYPES and t.__name__ not in NAMED_TYPES:
                continue
            try:
                label = snap.node(x).label
            except Exception:
                continue
            seen, empty, example = node_types.get(name, (0, 0, None))
            node_types[name] = (seen + 1, empty + (not label), example or label)
    return {
        "python": "%d.%d" % sys.version_info[:2],
        "edges": total,
        "unlabelled": unlabelled,
        "labelled_share": (total - unlabelled) / float(total or 1),
        "unlabelled_by_type": sorted(by_type.items(), key=lambda kv: -kv[1]),
        "node_labels": sorted((k, v[0], v[1], v[2]) for k, v in node_types.items()),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--sample", type=int, default=30000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--pure", action="store_true", help="capture with the pure-Python collector")
    a = ap.parse_args()
    import refgraph

    seed(a.calls)
    keep = stdlib()
    loop, tasks, gate = suspended_tasks()
    thread, ns_id, release = exec_thread()
    gc.collect()
    if a.pure:
        import tempfile

        from refgraph import collector

        path = os.path.join(tempfile.mkdtemp(), "pure.rgs")
        collector.dump(path)
        snap = refgraph.load(path)
        os.remove(path)
    else:
        snap = refgraph.snapshot()
    out = measure(snap, a.sample)
    ns_paths = [[(s.type, s.label, s.edge, s.root) for s in p] for p in snap.root_paths(ns_id_object(ns_id))]
    out["exec_namespace_paths"] = ns_paths
    out["held_from_outside"] = [r for _, r in snap.roots() if "held from outside" in r]
    release.set()
    thread.join()
    gate.set_result(None)
    loop.run_until_complete(asyncio_gather(tasks))
    del keep, tasks
    loop.close()
    if a.json:
        print(json.dumps(out))
        return
    print("Python %s: %d edges sampled, %.2f %% labelled" % (out["python"], out["edges"], 100 * out["labelled_share"]))
    print("unlabelled edges by referrer type (share of all edges):")
    for t, n in out["unlabelled_by_type"][:40]:
        print("  %-45s %6d  %.3f %%" % (t, n, 100.0 * n / out["edges"]))
    print("node labels (type, seen, unlabelled, example):")
    for t, seen, empty, example in out["node_labels"]:
        print("  %-45s %6d %6d  %s" % (t, seen, empty, (example or "")[:60]))
    print("exec namespace root paths:")
    for p in ns_paths:
        print("  " + " <- ".join("%s %s [%s] %s" % s for s in p))
    print("held from outside: %d roots" % len(out["held_from_outside"]))
    for r in out["held_from_outside"][:10]:
        print("  " + r)


def asyncio_gather(tasks):
    import asyncio

    return asyncio.gather(*tasks)


def ns_id_object(ns_id):
    for o in gc.get_objects():
        if id(o) == ns_id:
            return o
    raise LookupError("the exec namespace is gone")


if __name__ == "__main__":
    main()
