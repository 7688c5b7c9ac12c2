"""Captures while the heap changes under them: four threads build and drop
dicts, lists, class instances and closures (and freeze and unfreeze the
collector now and then) while captures run from the main thread and from a
worker thread, with why(), root_paths() and find_backref_chain() every
tenth capture. Every capture must succeed, every answer about an object
that stays alive must name its real root.

The suite runs a CI-sized round; for a long one, run this file by hand with
the extension on the path (the argument: captures per capturing thread):
    PYTHONPATH=target/pyext/cp311 python3.11 tests/python/test_stress.py 2000
"""

import json
import subprocess
import sys
import time

STRESS = r'''
import gc, json, random, sys, threading, time
import refgraph

PER_THREAD = int(sys.argv[1])


class Node(object):
    def __init__(self, value):
        self.value = value
        self.children = []


class Slotted(object):
    __slots__ = ("a", "b")


anchor = {"kept": Node("kept")}          # alive all along: its path is known
stop = threading.Event()
counts = {"mutations": 0, "freezes": 0}
lock = threading.Lock()


def mutator(seed):
    rnd = random.Random(seed)
    pool = []
    while not stop.is_set():
        for _ in range(200):
            r = rnd.random()
            if r < 0.25:
                pool.append({"k%d" % rnd.randrange(50): [rnd.random()] * rnd.randrange(5)})
            elif r < 0.45:
                n = Node(len(pool))
                n.children.append({"parent": n})
                pool.append(n)
            elif r < 0.6:
                s = Slotted()
                s.a, s.b = pool[-1] if pool else None, [s]
                pool.append(s)
            elif r < 0.75:
                captured = list(range(rnd.randrange(10)))
                pool.append(lambda captured=captured, x=r: (captured, x))
            elif pool:
                del pool[rnd.randrange(len(pool))]
            if len(pool) > 2000:
                del pool[: len(pool) // 2]
        with lock:
            counts["mutations"] += 200
        # Room for the capturing threads between batches (the GIL would
        # otherwise go round five busy threads before each of their steps).
        time.sleep(0.005)
        if seed == 0 and rnd.random() < 0.05:
            gc.freeze()
            time.sleep(0.001)
            gc.unfreeze()
            with lock:
                counts["freezes"] += 1


failures = []
done = {"main": 0, "worker": 0, "queries": 0}


def capturer(name):
    for i in range(PER_THREAD):
        try:
            snap = refgraph.snapshot()
            if len(snap) < 1000:
                failures.append("%s capture %d: only %d objects" % (name, i, len(snap)))
            bad = [n for n in json.loads(snap.meta)["notes"] if "collector" in n or "signal" in n]
            if bad:
                failures.append("%s capture %d: %s" % (name, i, bad))
            if anchor["kept"] not in snap:
                failures.append("%s capture %d: the anchor is missing" % (name, i))
            if i % 10 == 0:
                why = refgraph.why(anchor["kept"])
                if "sys.modules['__main__']" not in why or "['kept'] -> __main__.Node" not in why:
                    failures.append("%s why %d: %s" % (name, i, why))
                paths = refgraph.root_paths(anchor["kept"])
                if not any(p[0].root == "sys.modules['__main__']" for p in paths):
                    failures.append("%s root_paths %d: %r" % (name, i, paths))
                chain = refgraph.find_backref_chain(anchor["kept"], max_depth=10)
                if chain[-1] is not anchor["kept"] or len(chain) < 2:
                    failures.append("%s chain %d: %r" % (name, i, [type(c).__name__ for c in chain]))
                done["queries"] += 3
        except Exception as e:  # every capture must succeed
            failures.append("%s capture %d raised %r" % (name, i, e))
        done[name] += 1


started = time.time()
mutators = [threading.Thread(target=mutator, args=(i,)) for i in range(4)]
for t in mutators:
    t.start()
worker = threading.Thread(target=capturer, args=("worker",))
worker.start()
capturer("main")
worker.join()
stop.set()
for t in mutators:
    t.join()
print(json.dumps({"captures": done["main"] + done["worker"], "main": done["main"], "worker": done["worker"],
                  "queries": done["queries"], "mutations": counts["mutations"], "freezes": counts["freezes"],
                  "failures": failures[:20], "n_failures": len(failures), "seconds": time.time() - started}))
'''


def stress(per_thread, timeout):
    r = subprocess.run([sys.executable, "-c", STRESS, str(per_thread)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout)


def test_captures_while_four_threads_mutate_the_heap():
    out = stress(100, timeout=600)
    assert out["n_failures"] == 0, out["failures"]
    assert (out["main"], out["worker"]) == (100, 100), out
    assert out["queries"] == 2 * 10 * 3
    # The heap did change under the captures, freezes included.
    assert out["mutations"] > 10000 and out["freezes"] > 0, out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    t = time.time()
    result = stress(n, timeout=24 * 3600)
    result["wall"] = time.time() - t
    print(json.dumps(result, indent=1))
    sys.exit(1 if result["n_failures"] else 0)
