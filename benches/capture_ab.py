"""Capture time of two builds of the extension, A/B, on one heap in one process.

    python benches/capture_ab.py measure CALLS ROUNDS OLD_SO NEW_SO [CALLGRIND_HELPER]
    python benches/capture_ab.py report TIMES.json [INSTRUCTIONS.json CALLGRIND_OUT]
    python benches/capture_ab.py labels CALLS OLD_SO NEW_SO

`measure`:
Builds the seed's hot-reload heap (CALLS requests, as benches/bench.py does),
loads both builds' `_native` modules side by side (each is its own shared
object, so both initialise), then runs ROUNDS rounds of
`gc.collect()`, old `snapshot()`, `gc.collect()`, new `snapshot()` (the two
builds swap places every other round, so that neither always runs first).
Every capture and collection sees the same heap; a capture is freed outside
its timing. Prints one JSON object: per step, its wall times
(time.perf_counter), CPU times (time.process_time, both capture threads
included), getrusage's user and system times and page faults (what
callgrind does not count), and with CALLGRIND_HELPER (a shared object whose
functions issue callgrind's client requests; scripts/bench-capture-ab
builds it) the dump counter of each step, whose instruction count
callgrind writes.

`report` prints old and new side by side: each capture's time over the
`gc.collect()` just before it (the yardstick, same process, same heap), as
wall time, CPU time and (from a callgrind run) instructions.
scripts/bench-capture-ab runs both.

`labels` checks that a change meant only for speed labels nothing
differently: both builds capture the same heap, and every tracked object
and each of its referents must have the same node label in both, and every
tracked object the same labelled references. Prints the differences.
"""

import ctypes
import gc
import importlib.machinery
import importlib.util
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the heap builder)
from bench import median  # noqa: E402


def load_native(path, alias):
    # Each build is a distinct file, so both PyInit functions run; the
    # module is registered under its own alias, not as refgraph._native.
    loader = importlib.machinery.ExtensionFileLoader("refgraph._native", path)
    spec = importlib.util.spec_from_file_location("refgraph._native", path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    sys.modules[alias] = module
    return module


class Callgrind(object):
    """Client requests: instrument only the timed steps, dump after each."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(path) if path else None
        self.dumps = 0

    def start(self):
        if self.lib:
            self.lib.rg_start()

    def stop(self, name):
        if not self.lib:
            return None
        self.lib.rg_dump(name.encode())
        self.lib.rg_stop()
        self.dumps += 1
        return self.dumps


def usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def step(name, fn, cg, out):
    gc.disable()  # no collection of ours inside a timed capture
    cg.start()
    wall, cpu, ru = time.perf_counter(), time.process_time(), usage()
    result = fn()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    ru = [b - a for a, b in zip(ru, usage())]
    dump = cg.stop(name)
    gc.enable()
    rec = out.setdefault(name, {"wall": [], "cpu": [], "user": [], "sys": [], "faults": [], "dumps": []})
    rec["wall"].append(wall)
    rec["cpu"].append(cpu)
    # System time and page faults are what callgrind does not count.
    for key, v in zip(("user", "sys", "faults"), ru):
        rec[key].append(v)
    if dump is not None:
        rec["dumps"].append(dump)
    return result


def measure(argv):
    calls, rounds, old_so, new_so = int(argv[0]), int(argv[1]), argv[2], argv[3]
    cg = Callgrind(argv[4] if len(argv) > 4 else None)
    builds = {"old": load_native(old_so, "_ab_old"), "new": load_native(new_so, "_ab_new")}
    bench.build_heap(calls)
    out, meta = {}, {}
    # One untimed capture each: first-use costs (page faults of a fresh
    # arena, lazily bound symbols) are not what is compared.
    for module in builds.values():
        module.snapshot()
    gc.collect()
    for r in range(rounds):
        order = ("old", "new") if r % 2 == 0 else ("new", "old")
        for name in order:
            step("gc.collect", gc.collect, cg, out)
            snap = step(name, builds[name].snapshot, cg, out)
            if r == 0:
                meta["nodes " + name], meta["edges " + name] = len(snap), snap.edge_count
            snap = None
    out["meta"] = meta
    meta["tracked"] = len(gc.get_objects())
    meta["python"] = "%d.%d" % sys.version_info[:2]
    meta["calls"] = calls
    meta["pid"] = os.getpid()
    sys.stdout.write(json.dumps(out) + "\n")


def callgrind_total(prefix, dump):
    with open("%s.%d" % (prefix, dump)) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise SystemExit("no totals line in %s.%d" % (prefix, dump))


def ratios(name, values):
    """Each capture of build `name` over the gc.collect() run just before it."""
    gcs = values["gc.collect"]
    out = []
    for r, v in enumerate(values[name]):
        # Round r runs gc, first, gc, second; old is first in even rounds.
        first = ("old" if r % 2 == 0 else "new") == name
        out.append(float(v) / gcs[2 * r + (0 if first else 1)])
    return out


def figures(run, metric, cg_prefix=None):
    values = {}
    for key in ("gc.collect", "old", "new"):
        if metric == "instructions":
            values[key] = [callgrind_total(cg_prefix, d) for d in run[key]["dumps"]]
        else:
            values[key] = run[key][metric]
    return values, {name: ratios(name, values) for name in ("old", "new")}


def spread(values):
    return "%.3f-%.3f" % (min(values), max(values))


def report(argv):
    with open(argv[0]) as f:
        timed = json.loads(f.read())
    rows = []
    meta = timed["meta"]
    head = "Python %s, %d-call hot-reload heap (%d tracked objects; old %d nodes/%d edges, new %d/%d), %d rounds in one process" % (
        meta["python"], meta["calls"], meta["tracked"], meta["nodes old"], meta["edges old"], meta["nodes new"], meta["edges new"],
        len(timed["old"]["wall"]))
    print(head)
    print("%-44s %14s %14s %9s" % ("", "old", "new", "new/old"))
    sets = [("wall", timed, None, "s"), ("cpu", timed, None, "s")]
    if "sys" in timed["old"]:
        for key in ("user", "sys", "faults"):
            print("  %-42s %14.4g %14.4g" % ("snapshot() median " + key, median(timed["old"][key]), median(timed["new"][key])))
    if len(argv) > 2:
        with open(argv[1]) as f:
            sets.append(("instructions", json.loads(f.read()), argv[2], ""))
    for metric, run, prefix, unit in sets:
        values, r = figures(run, metric, prefix)
        if metric == "instructions":
            print("instructions (callgrind, %d-call heap, %d rounds)" % (run["meta"]["calls"], len(run["old"]["dumps"])))
        fmt = (lambda v: "%14.4f" % v) if unit else (lambda v: "%14d" % v)
        print("  %-42s %s %s %9.3f" % ("snapshot() median " + metric, fmt(median(values["old"])), fmt(median(values["new"])),
                                       median(values["new"]) / median(values["old"])))
        print("  %-42s %s" % ("gc.collect() median " + metric, fmt(median(values["gc.collect"]))))
        print("  %-42s %14.3f %14.3f %9.3f" % ("ratio snapshot/gc.collect (median)", median(r["old"]), median(r["new"]),
                                             median(r["new"]) / median(r["old"])))
        print("  %-42s %14s %14s" % ("  ratio range", spread(r["old"]), spread(r["new"])))


def labels(argv):
    calls, old_so, new_so = int(argv[0]), argv[1], argv[2]
    builds = [load_native(old_so, "_ab_old"), load_native(new_so, "_ab_new")]
    bench.build_heap(calls)
    gc.collect()
    old = builds[0].snapshot()
    new = builds[1].snapshot()
    seen, differ, nodes, edges = set(), [], 0, 0
    for o in gc.get_objects():
        if o is old or o is new:
            continue
        if o in old and o in new:
            a, b = sorted(old.referents(o)), sorted(new.referents(o))
            edges += len(a)
            if a != b:
                differ.append(("edges of", old.node(o), a, b))
        for r in [o] + gc.get_referents(o):
            if id(r) in seen or r not in old or r not in new:
                continue
            seen.add(id(r))
            nodes += 1
            a, b = old.node(r), new.node(r)
            if (a.type, a.label) != (b.type, b.label):
                differ.append(("node", a, a.label, b.label))
    print("%d nodes and %d edges compared, %d differ" % (nodes, edges, len(differ)))
    for d in differ[:20]:
        print("  %s %r: old %r, new %r" % d)
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    {"measure": measure, "report": report, "labels": labels}[sys.argv[1]](sys.argv[2:])
