"""`refgraph run --on-signal USR2`: a snapshot each time the signal arrives
while the program runs (heap.1.rgs, heap.2.rgs, ...), then the final one."""

import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROGRAM = r'''
import os, sys
sys.stdout.write("pid %d\n" % os.getpid())
sys.stdout.flush()
held = []
for line in iter(sys.stdin.readline, ""):
    held.append(["%s %d" % (line.strip(), i) for i in range(1000)])
    sys.stdout.write("ok\n")
    sys.stdout.flush()
'''


def refgraph_bin():
    path = os.environ.get("REFGRAPH_BIN") or os.path.join(ROOT, "target", "release", "refgraph")
    if not os.path.exists(path):
        pytest.fail("the refgraph command is not built: %s (scripts/test builds it)" % path)
    return path


def wait_for(path, proc, timeout=60):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, "refgraph run ended early: %s" % proc.stderr.read()
        assert time.time() < deadline, "%s never appeared" % path
        time.sleep(0.05)


def summary(path):
    r = subprocess.run([refgraph_bin(), "summary", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split(":", 1)[1].split()[0])  # "FILE: N objects, ..."


def test_each_signal_writes_a_numbered_snapshot_while_the_program_runs(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    out = str(tmp_path / "heap.rgs")
    proc = subprocess.Popen([refgraph_bin(), "run", "--on-signal", "USR2", "-o", out, "--", sys.executable, str(script)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    try:
        child = int(proc.stdout.readline().split()[1])
        counts = []
        for n in (1, 2):
            # The program is blocked reading its input when the signal comes.
            os.kill(child, signal.SIGUSR2)
            numbered = str(tmp_path / ("heap.%d.rgs" % n))
            wait_for(numbered, proc)
            time.sleep(0.2)  # written whole: renamed into place
            counts.append(summary(numbered))
            proc.stdin.write("more\n")
            proc.stdin.flush()
            assert proc.stdout.readline().strip() == "ok"
        _, err = proc.communicate("", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "wrote %s" % (tmp_path / "heap.1.rgs") in err
    # Each snapshot saw the program's state at its signal: 1000 strings more
    # the second time; the final one is written as without --on-signal.
    assert counts[1] - counts[0] >= 1000, counts
    assert summary(out) > 0


def test_a_signal_python_cannot_handle_is_refused(tmp_path):
    r = subprocess.run([refgraph_bin(), "run", "--on-signal", "KILL", "-o", str(tmp_path / "h.rgs"), "--",
                        sys.executable, "-c", "pass"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    assert r.returncode != 0 and "not a signal a Python program can handle" in r.stderr, r.stderr
    assert not (tmp_path / "h.rgs").exists()
