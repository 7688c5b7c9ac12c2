"""Snapshots safe to hand over: `refgraph run --no-strings` and
`refgraph.snapshot(strings=False)` keep no str contents but names (dict keys,
attribute names, module and function names), and snapshot files are private
to their owner (0600)."""

import os
import stat
import subprocess
import sys

import pytest

import refgraph
from test_collectors import interpreter, refgraph_bin

# Made at run time, so that no code object holds it as a constant.
SCRIPT = """
import sys
config = {"password": "hunter" + "2-" + str(40 + 2) + "-token"}
config["tokens"] = [config["password"] + "-copy"]
print("script ran")
"""
SECRET = "hunter2-42-token"


def run(*args):
    r = subprocess.run([refgraph_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    return r


def snapshot_of(tmp_path, python, *flags):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    out = str(tmp_path / ("heap%s.rgs" % "".join(flags).replace("-", "_")))
    r = run("run", "-o", out, *flags, "--", python, str(script), "--db-password=" + SECRET)
    assert r.returncode == 0, r.stderr
    return out


def assert_private(path):
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("collector", ["native", "python"])
def test_run_no_strings_keeps_no_secret_but_keeps_names(tmp_path, collector):
    python = sys.executable
    with_strings = snapshot_of(tmp_path, python, "--collector", collector)
    without = snapshot_of(tmp_path, python, "--collector", collector, "--no-strings")
    for path in (with_strings, without):
        assert_private(path)
    # The control: the secret is there when strings are kept.
    found = run("path", with_strings, "--select", "str~^" + SECRET + "$")
    assert found.returncode == 0 and SECRET in found.stdout, found.stderr
    # Without strings: no label says it, neither the file's bytes nor the argv.
    snap = refgraph.load(without)
    assert SECRET.encode() not in open(without, "rb").read()
    r = run("path", without, "--select", "~" + SECRET)
    assert r.returncode == 2 and "matches no object" in r.stderr, r.stdout
    # Names are kept (the dict keys, the module's name); the value is its length.
    r = run("path", without, "--select", "str~^len=%d$" % len(SECRET))
    assert r.returncode == 0, r.stderr
    assert "__main__ namespace" in r.stdout
    assert "['config'] -> dict" in r.stdout and ("['password'] -> str 0x" in r.stdout), r.stdout
    assert run("summary", without).returncode == 0


def test_python27_no_strings(tmp_path):
    out = snapshot_of(tmp_path, interpreter("2.7"), "--no-strings")
    assert_private(out)
    assert SECRET.encode() not in open(out, "rb").read()
    r = run("path", out, "--select", "str~^len=%d$" % len(SECRET))
    assert r.returncode == 0 and "['config'] -> dict" in r.stdout and "['password'] -> str 0x" in r.stdout, r.stdout + r.stderr


# A list value keeps the dict tracked by the gc (a dict of strs alone is not walked).
HOLDER = {"more": []}


def test_snapshot_strings_false_in_process():
    HOLDER["api_key"] = "".join(["in-process", "-", "s3cr3t", "-", str(7)])
    snap = refgraph.snapshot(strings=False)
    last = snap.root_paths(HOLDER["api_key"])[0][-1]
    assert last.type == "str" and last.label == "len=%d" % len(HOLDER["api_key"])
    assert last.edge == "['api_key']"
    assert "s3cr3t" not in snap.why(HOLDER["api_key"])
    plain = refgraph.snapshot()
    assert plain.root_paths(HOLDER["api_key"])[0][-1].label == HOLDER["api_key"]
