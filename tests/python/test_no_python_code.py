"""A capture runs no Python-level code and imports nothing: the first capture
in a fresh process, watched by a builtins.__import__ hook, sys.settrace,
sys.setprofile and an audit hook, sees none of them fire and sys.modules
unchanged. And an exception a signal handler raises while a capture runs
(Ctrl-C) reaches the caller, every time."""

import json
import subprocess
import sys

WATCHED = r'''
import builtins, json, sys
import refgraph

target = {"x": [1, 2]}
seen = []
recording = False
real_import = builtins.__import__

def hook(name, *args, **kwargs):
    seen.append(("import", name))
    return real_import(name, *args, **kwargs)

def tracer(frame, event, arg):
    seen.append(("trace", event, frame.f_code.co_name))
    return tracer

def profiler(frame, event, arg):
    name = getattr(arg, "__name__", None) if event.startswith("c_") else frame.f_code.co_name
    seen.append(("profile", event, name))

def audit(event, args):
    if recording:
        seen.append(("audit", event))

sys.addaudithook(audit)
results = {}
for what in ("snapshot", "why", "root_paths", "find_backref_chain"):
    fn = getattr(refgraph, what)
    before = set(sys.modules)
    del seen[:]
    builtins.__import__ = hook
    sys.settrace(tracer)
    sys.setprofile(profiler)
    recording = True
    if what == "snapshot":
        answer = fn()
    else:
        answer = fn(target["x"])
    recording = False
    sys.setprofile(None)
    sys.settrace(None)
    builtins.__import__ = real_import
    results[what] = {"seen": seen[:], "new_modules": sorted(set(sys.modules) - before)}
results["notes"] = json.loads(refgraph.snapshot().meta)["notes"]
results["signal_roots"] = [t for _, t in refgraph.snapshot().roots() if t.startswith("signal handler")]
print(json.dumps(results))
'''


def run_script(text, timeout=300):
    r = subprocess.run([sys.executable, "-c", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_capture_calls_no_python_code_and_imports_nothing():
    out = run_script(WATCHED)
    for what in ("snapshot", "why", "root_paths", "find_backref_chain"):
        r = out[what]
        assert r["new_modules"] == [], (what, r)
        # The profiler sees the call of refgraph's own C function from this
        # frame and its return, and the call that switches it off: nothing else.
        expected = [("profile", "c_call", what), ("profile", "c_return", what), ("profile", "c_call", "setprofile")]
        assert [tuple(e) for e in r["seen"]] == expected, (what, r["seen"])
    # Nothing was given up for it: the handlers are still named.
    assert out["notes"] == [], out["notes"]
    assert any(t.startswith("signal handler SIGINT") for t in out["signal_roots"]), out["signal_roots"]


def test_handlers_are_named_from_the_table_as_they_change():
    text = r'''
import json, signal, refgraph
def on_usr1(*a): pass
def on_term(*a): pass
signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGTERM, on_term)
first = {t: a for a, t in refgraph.snapshot().roots() if t.startswith("signal handler")}
signal.signal(signal.SIGUSR1, signal.SIG_DFL)
second = {t: a for a, t in refgraph.snapshot().roots() if t.startswith("signal handler")}
print(json.dumps({"first": first, "second": second, "usr1": id(on_usr1), "term": id(on_term)}))
'''
    out = run_script(text)
    assert out["first"]["signal handler SIGUSR1 (1 ref)"] == out["usr1"], out
    assert out["first"]["signal handler SIGTERM (1 ref)"] == out["term"], out
    assert "signal handler SIGUSR1 (1 ref)" not in out["second"], out
    assert out["second"]["signal handler SIGTERM (1 ref)"] == out["term"], out


# SIGINT, sent from a thread only while the main thread is inside the try
# around a capture, one at a time: each must come out as KeyboardInterrupt
# in the main thread (a handler run inside the capture whose exception was
# turned into a note would leave the sender waiting).
INTERRUPTED = r'''
import json, os, signal, sys, threading, time
import refgraph

N = int(sys.argv[1])
state = {"in_try": False, "ran": 0, "raised": 0, "lost": 0}
caught = threading.Event()

def on_int(signum, frame):
    state["ran"] += 1
    raise KeyboardInterrupt

signal.signal(signal.SIGINT, on_int)

def sender():
    for _ in range(N):
        while not state["in_try"]:
            time.sleep(0.001)
        time.sleep(0.002)
        caught.clear()
        os.kill(os.getpid(), signal.SIGINT)
        if not caught.wait(20):
            state["lost"] += 1
            return

t = threading.Thread(target=sender)
t.start()
counts = {"captures": 0}
notes = set()


def interrupted():
    state["in_try"] = False
    state["raised"] += 1
    caught.set()


def captures():
    while True:
        try:
            state["in_try"] = True
            if state["raised"] >= N or not t.is_alive():
                return  # the sender is done: nothing more can arrive
            snap = refgraph.snapshot()
            counts["captures"] += 1
            notes.update(json.loads(snap.meta)["notes"])
        except KeyboardInterrupt:
            interrupted()


# A signal sent while the try is entered can be handled just after it (at
# the loop's jump back, where no try is active): that one leaves captures()
# and is counted here. Every handler run must come out as an exception.
while True:
    try:
        captures()
        break
    except KeyboardInterrupt:
        interrupted()
t.join()
state.update(captures=counts["captures"], notes=sorted(notes))
print(json.dumps(state))
'''


def test_every_ctrl_c_during_captures_reaches_the_caller():
    n = 100
    r = subprocess.run([sys.executable, "-c", INTERRUPTED, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["lost"] == 0, out
    assert out["raised"] == n and out["ran"] == n, out
    assert not any("KeyboardInterrupt" in note or "signal" in note for note in out["notes"]), out["notes"]
