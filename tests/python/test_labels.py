"""Label coverage on the mixed heap of issue 13 (tests/python/label_coverage.py
builds it in a fresh process): edges say how they hold, nodes say what they
are, and a namespace that lives only on a thread's stack is held by that
thread's frame."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Node types of the list that must have a label (when present).
MUST_BE_NAMED = [
    "weakref.ReferenceType", "weakref", "getset_descriptor", "method_descriptor", "wrapper_descriptor",
    "member_descriptor", "classmethod_descriptor", "cell", "classmethod", "staticmethod", "property",
    "_frozen_importlib.ModuleSpec", "_frozen_importlib_external.SourceFileLoader", "_abc._abc_data",
    "functools._lru_cache_wrapper", "coroutine", "_asyncio.Task",
]

_result = []


def mixed_heap():
    if not _result:
        out = subprocess.check_output([sys.executable, os.path.join(HERE, "label_coverage.py"), "--json"], env=os.environ)
        _result.append(json.loads(out.decode("utf-8").strip().splitlines()[-1]))
    return _result[0]


def test_nearly_every_edge_of_the_mixed_heap_is_labelled():
    r = mixed_heap()
    table = "\n".join("%s %d" % (t, n) for t, n in r["unlabelled_by_type"])
    print("Python %s: %.3f %% of %d edges labelled\n%s" % (r["python"], 100 * r["labelled_share"], r["edges"], table))
    assert r["edges"] > 50000
    assert r["labelled_share"] >= 0.995, table


def test_every_listed_type_has_node_labels():
    r = mixed_heap()
    seen = {name: (n, empty, example) for name, n, empty, example in r["node_labels"]}
    missing = [(t, seen[t]) for t in MUST_BE_NAMED if t in seen and seen[t][1] > seen[t][0] * 0.01]
    assert not missing, missing
    assert "coroutine" in seen and "_asyncio.Task" in seen and "cell" in seen
    assert seen["_asyncio.Task"][2] == seen["coroutine"][2] == "suspended_tasks.<locals>.worker"


def test_an_exec_namespace_on_a_threads_stack_is_held_by_its_frame():
    r = mixed_heap()
    paths = r["exec_namespace_paths"]
    roots = [p[0][3] for p in paths]
    assert not any("held from outside" in (root or "") for root in roots), roots
    # The frame that called exec() holds it on its value stack.
    # (3.9/3.10 name frames by their code's short name, 3.11+ by its qualified name.)
    by_run = [p for p in paths if p[0][0] == "frame" and (p[0][3] or "").endswith("run")]
    assert by_run, paths
    assert by_run[0][1][2].startswith("stack["), by_run[0]


def test_a_suspended_task_and_its_coroutine_say_what_they_run_and_hold():
    """Read structurally on every version (3.14+: the generator layout is
    private and comes from the generated layouts): the Task's coroutine and
    name (an int until asked for, 3.13+), the coroutine's names, locals and
    awaited future."""
    import asyncio

    import refgraph

    loop = asyncio.new_event_loop()
    gate = loop.create_future()

    async def waiter(n):
        held = ["held", n]
        await gate
        return held

    task = loop.create_task(waiter(7))
    try:
        loop.run_until_complete(asyncio.sleep(0))
        coro = task.get_coro()
        snap = refgraph.snapshot()
        qualname = "test_a_suspended_task_and_its_coroutine_say_what_they_run_and_hold.<locals>.waiter"
        assert snap.node(task).label == snap.node(coro).label == qualname
        by_label = dict((lab, addr) for addr, lab in snap.referents(task))
        assert by_label.get("_coro") == id(coro) and by_label.get("_fut_waiter") == id(gate), by_label
        assert "_name" in by_label and "" not in by_label, by_label
        by_label = dict((lab, addr) for addr, lab in snap.referents(coro))
        assert "__qualname__" in by_label and "__name__" in by_label and "" not in by_label, by_label
        if sys.version_info < (3, 11):
            # A frame object of its own holds the locals (cr_frame).
            by_label = dict((lab, addr) for addr, lab in snap.referents(by_label["cr_frame"]))
        assert by_label.get("f_locals['n']") == id(7), by_label
        assert "f_locals['held']" in by_label and "" not in by_label, by_label
    finally:
        gate.set_result(None)
        loop.run_until_complete(task)
        loop.close()
