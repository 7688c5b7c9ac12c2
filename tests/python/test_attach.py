"""`refgraph attach PID`: snapshots of running processes, as a user takes
them, and what the target is left with afterwards.

The targets are this test's Python (3.x) and, where one is installed,
Python 2.7. Each target answers on a control channel: on SIGUSR1 it writes
its sys.modules keys, thread count, __main__ names and RSS (after a full
collection) to a file; in `input` mode it also echoes the lines it reads.
Every subprocess has a timeout, so the suite never hangs.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAT = os.path.join(ROOT, "examples", "hot_reload", "plat.py")

TARGET = r'''
import gc, json, os, signal, sys, time
STATE = sys.argv[2]

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def report(signum, frame):
    gc.collect()
    state = {"modules": sorted(sys.modules), "threads": len(os.listdir("/proc/self/task")),
             "main": sorted(vars(sys.modules["__main__"])), "rss": rss()}
    with open(STATE + ".tmp", "w") as f:
        json.dump(state, f)
    os.rename(STATE + ".tmp", STATE)

import itertools, threading
signal.signal(signal.SIGUSR1, report)
keep = [dict(a=[i]) for i in range(20000)]  # something to capture
# Every name of __main__ is bound before "ready": the test compares them.
mode = sys.argv[1]
ask = raw_input if sys.version_info[0] == 2 else input
n = 0
line = None
def watch():
    # The pure collector turns the collector off while it captures.
    while gc.isenabled():
        time.sleep(0.001)
    os._exit(3)
sys.stdout.write("ready\n")
sys.stdout.flush()
if mode == "busy":
    while True:
        n += 1
elif mode == "sleep":
    while True:
        time.sleep(3600)
elif mode == "input":
    while True:
        line = ask("> ")
        if line == "quit":
            break
        sys.stdout.write("echo %s\n" % line)
        sys.stdout.flush()
elif mode == "exit-during-capture":
    threading.Thread(target=watch).start()
    while True:
        n += 1
elif mode == "c-call":
    while True:
        sum(itertools.repeat(1, 10 ** 12))  # hours in C, holding the GIL
'''


def refgraph_bin():
    path = os.environ.get("REFGRAPH_BIN") or os.path.join(ROOT, "target", "release", "refgraph")
    if not os.path.exists(path):
        pytest.fail("the refgraph command is not built: %s (scripts/test builds it)" % path)
    return path


def python27():
    found = glob.glob(os.path.expanduser("~/.pyenv/versions/2.7*/bin/python"))
    try:
        root = subprocess.check_output(["pyenv", "root"], universal_newlines=True).strip()
        found += glob.glob(os.path.join(root, "versions", "2.7*", "bin", "python"))
    except (OSError, subprocess.CalledProcessError):
        pass
    which = shutil.which("python2.7")
    return (sorted(found) or [which])[-1]


# What `refgraph attach` itself leaves in the snapshot (see src/modules.rs).
OBSERVERS = ("__refgraph_attach__", "refgraph_collector", "refgraph._native")

PYTHONS = [pytest.param(sys.executable, id="py%d%d" % sys.version_info[:2])]
if python27():
    PYTHONS.append(pytest.param(python27(), id="py27"))


@pytest.fixture(scope="session")
def can_attach(tmp_path_factory):
    """Skips (saying why) where gdb is missing or ptrace is forbidden; never
    hides a failure of attach itself."""
    if not shutil.which("gdb") and not os.environ.get("REFGRAPH_GDB"):
        pytest.skip("gdb is not installed (apt-get install gdb; scripts/test installs it when run as root)")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        probe = subprocess.run(["gdb", "-nx", "-batch", "-p", str(sleeper.pid)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    finally:
        sleeper.kill()
        sleeper.wait()
    if "not permitted" in probe.stdout:
        pytest.skip("ptrace is not permitted here (see /proc/sys/kernel/yama/ptrace_scope, CAP_SYS_PTRACE)")


class Target(object):
    def __init__(self, python, mode, tmp_path, script=None, args=()):
        self.state = str(tmp_path / ("state-%s" % mode))
        if script is None:
            script = str(tmp_path / "target.py")
            with open(script, "w") as f:
                f.write(TARGET)
            args = (mode, self.state)
        self.proc = subprocess.Popen([python, "-u", script] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.pid = self.proc.pid

    def wait_line(self, want, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if want in line:
                return line
        pytest.fail("the target never said %r (it said: %s)" % (want, self.proc.stderr.read()))

    def query(self):
        if os.path.exists(self.state):
            os.unlink(self.state)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.time() + 30
        while not os.path.exists(self.state):
            assert self.proc.poll() is None, "the target died: %s" % self.proc.stderr.read()
            assert time.time() < deadline, "the target did not answer on its control channel"
            time.sleep(0.02)
        with open(self.state) as f:
            return json.load(f)

    def close(self):
        """Ends the target; returns what it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.communicate(timeout=30)[1] or ""


@pytest.fixture
def targets():
    made = []
    yield made
    for t in made:
        t.close()


def attach(pid, out, *extra, **kw):
    return subprocess.run([refgraph_bin(), "attach", str(pid), "-o", str(out)] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=kw.get("timeout", 300), env=kw.get("env"))


def assert_snapshot(out):
    r = subprocess.run([refgraph_bin(), "summary", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def new_modules(before, after):
    # A codec the collector looked up stays registered, with its module (see _attach.py).
    return sorted(set(after["modules"]) - set(before["modules"]) - set(m for m in after["modules"]
                                                                       if m.startswith("encodings.")))


@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("mode", ["busy", "sleep", "input"])
def test_attach_snapshots_and_leaves_nothing_behind(can_attach, targets, tmp_path, python, mode):
    t = Target(python, mode, tmp_path)
    targets.append(t)
    t.wait_line("ready")
    before = t.query()
    out = tmp_path / "heap.rgs"
    r = attach(t.pid, out)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr
    summary = assert_snapshot(out)
    assert "objects" in summary
    assert t.proc.poll() is None, "the target died"
    first = t.query()
    # Twice: a second snapshot works as well, and costs nothing more.
    r = attach(t.pid, out)
    assert r.returncode == 0, r.stderr
    after = t.query()
    assert new_modules(before, after) == [], "modules left in sys.modules"
    assert sorted(before["modules"]) == sorted(m for m in after["modules"] if m in before["modules"])
    assert after["threads"] == before["threads"], "threads left behind"
    assert after["main"] == before["main"], "names left in __main__"
    # The first attach may map the extension's code and warm the allocator;
    # a second one must not grow the process (4 MB: the allocator's and the
    # loader's page-level noise, measured at 2.0 MB; a capture that kept its
    # graph would keep all of it here).
    assert first["rss"] - before["rss"] < 16 * 1024, (before, first)
    assert after["rss"] - first["rss"] < 4 * 1024, (first, after)
    if mode == "input":
        t.proc.stdin.write("hello\n")
        t.proc.stdin.flush()
        assert t.wait_line("echo").strip().endswith("echo hello")
        t.proc.stdin.write("quit\n")
        t.proc.stdin.flush()
        assert t.proc.wait(timeout=30) == 0


@pytest.mark.parametrize("python", PYTHONS)
def test_attach_to_the_hot_reload_platform_at_its_prompt(can_attach, targets, tmp_path, python):
    calls = 20
    t = Target(python, "plat", tmp_path, script=PLAT, args=(str(calls), "--prompt"))
    targets.append(t)
    t.wait_line("calls, the business code said")
    time.sleep(0.5)  # at its prompt
    out = tmp_path / "plat.rgs"
    r = attach(t.pid, out)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([refgraph_bin(), "path", str(out), "--select", "dict~^logging namespace", "--format", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert r.returncode == 0, r.stderr
    reports = json.loads(r.stdout)["targets"]
    # Every copy the platform dropped is there, with what retains it.
    assert len(reports) == calls
    assert all(rep["paths"] for rep in reports)
    retainers = set(p[0]["root"] for rep in reports for p in rep["paths"])
    assert retainers, reports[0]
    # The bootstrap's namespace and the extension it loaded outside
    # sys.modules are refgraph's own, not stale copies of the program's.
    r = subprocess.run([refgraph_bin(), "modules", str(out), "--format", "json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    stale = [g["module"] for g in doc["groups"]]
    assert "logging" in stale, stale
    assert not [m for m in stale if m in OBSERVERS or m.startswith("refgraph")], stale
    assert set(doc["observers_left_out"]) <= set(OBSERVERS), doc["observers_left_out"]
    # The platform still answers its prompt.
    out_text, err = t.proc.communicate("\n", timeout=60)
    assert t.proc.returncode == 0, err


def test_a_process_busy_in_c_times_out_and_keeps_running(can_attach, targets, tmp_path):
    t = Target(sys.executable, "c-call", tmp_path)
    targets.append(t)
    t.wait_line("ready")
    time.sleep(0.3)
    out = tmp_path / "heap.rgs"
    r = attach(t.pid, out, "--timeout", "2")
    assert r.returncode != 0
    assert "gave up after 2 s" in r.stderr and "left running" in r.stderr, r.stderr
    assert "no safe point" in r.stderr, r.stderr
    assert not out.exists()
    time.sleep(0.5)
    assert t.proc.poll() is None, "the target died"


def test_a_target_that_exits_during_the_capture(can_attach, targets, tmp_path):
    t = Target(sys.executable, "exit-during-capture", tmp_path)
    targets.append(t)
    t.wait_line("ready")
    out = tmp_path / "heap.rgs"
    r = attach(t.pid, out, "--collector", "python")
    assert r.returncode != 0
    assert "exited during the capture" in r.stderr, r.stderr
    assert not out.exists()
    assert t.proc.wait(timeout=30) == 3


def test_a_pid_that_is_gone(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    out = tmp_path / "heap.rgs"
    r = attach(p.pid, out)
    assert r.returncode != 0
    assert "no process with pid %d" % p.pid in r.stderr, r.stderr
    assert not out.exists()


def test_a_process_that_is_not_python(can_attach, tmp_path):
    p = subprocess.Popen(["sleep", "120"])
    try:
        time.sleep(0.2)
        out = tmp_path / "heap.rgs"
        r = attach(p.pid, out)
        assert r.returncode != 0
        assert "is not a CPython process" in r.stderr, r.stderr
        assert not out.exists()
        assert p.poll() is None, "sleep died"
    finally:
        p.kill()
        p.wait()


def test_without_gdb_the_error_says_how_to_install_it(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        env = dict(os.environ, PATH=str(tmp_path))
        env.pop("REFGRAPH_GDB", None)
        out = tmp_path / "heap.rgs"
        # --method gdb: on 3.14+ `auto` would fall back to sys.remote_exec.
        r = attach(p.pid, out, "--method", "gdb", env=env)
        assert r.returncode != 0
        assert "gdb is not installed" in r.stderr and "apt-get install gdb" in r.stderr, r.stderr
        assert not out.exists()
    finally:
        p.kill()
        p.wait()


def test_ptrace_refused_says_what_to_change(can_attach, tmp_path):
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        pytest.skip("needs root and setpriv to attach as another user")
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        os.chmod(str(tmp_path), 0o777)
        out = tmp_path / "heap.rgs"
        r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", refgraph_bin(), "attach",
                            str(p.pid), "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120)
        assert r.returncode != 0
        assert "cannot attach to process %d" % p.pid in r.stderr, r.stderr
        assert "CAP_SYS_PTRACE" in r.stderr and "--cap-add=SYS_PTRACE" in r.stderr, r.stderr
        assert not out.exists()
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


needs_remote_exec = pytest.mark.skipif(not hasattr(sys, "remote_exec"),
                                       reason="sys.remote_exec is Python 3.14+; this is %d.%d" % sys.version_info[:2])


@needs_remote_exec
def test_remote_exec_snapshots_a_busy_314_process_without_gdb(targets, tmp_path):
    t = Target(sys.executable, "busy", tmp_path)
    targets.append(t)
    t.wait_line("ready")
    before = t.query()
    out = tmp_path / "heap.rgs"
    r = attach(t.pid, out, "--method", "remote-exec")
    assert r.returncode == 0, r.stderr
    assert "sys.remote_exec" in r.stderr
    assert_snapshot(out)
    after = t.query()
    assert new_modules(before, after) == []
    assert after["main"] == before["main"] and after["threads"] == before["threads"]


@needs_remote_exec
def test_remote_exec_cannot_reach_a_blocked_process_and_says_so(targets, tmp_path):
    t = Target(sys.executable, "sleep", tmp_path)
    targets.append(t)
    t.wait_line("ready")
    out = tmp_path / "heap.rgs"
    r = attach(t.pid, out, "--method", "remote-exec", "--timeout", "2")
    assert r.returncode != 0
    assert "gave up after 2 s" in r.stderr and "gdb reaches a blocked process" in r.stderr, r.stderr
    assert not out.exists()
    # The script it left scheduled runs when the target wakes, and does nothing.
    t.query()  # the signal wakes the sleep: Python code runs, so does the script
    time.sleep(0.5)
    assert t.proc.poll() is None
    left = [w for w in r.stderr.split() if w.endswith("loader.py,")]
    if left:
        shutil.rmtree(os.path.dirname(left[0].rstrip(",")), ignore_errors=True)
    assert "debugger script" not in t.close()


SECRET_TARGET = r'''
import sys, time
token = "hunter2-" + "attach-secret"  # made at run time: no constant holds it
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    time.sleep(3600)
'''


@pytest.mark.parametrize("python", PYTHONS)
def test_attach_no_strings_leaves_string_contents_out(can_attach, targets, tmp_path, python):
    script = tmp_path / "secret.py"
    script.write_text(SECRET_TARGET)
    t = Target(python, "secret", tmp_path, script=str(script))
    targets.append(t)
    t.wait_line("ready")
    plain, redacted = tmp_path / "plain.rgs", tmp_path / "redacted.rgs"
    for out, extra in ((plain, ()), (redacted, ("--no-strings",))):
        r = attach(t.pid, out, *extra)
        assert r.returncode == 0, r.stderr
        assert oct(os.stat(str(out)).st_mode & 0o777) == oct(0o600), "snapshots are the owner's only"

    def select(out, selector):
        return subprocess.run([refgraph_bin(), "path", str(out), "--select", selector], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=120)

    # The same process, the same moment: with strings the secret is there...
    assert select(plain, "str~^hunter2-attach-secret$").returncode == 0
    # ...and with --no-strings only its length is.
    r = select(redacted, "~hunter2")
    assert r.returncode != 0 and "matches no object" in r.stderr, r.stdout
    assert select(redacted, "str~^len=%d$" % len("hunter2-attach-secret")).returncode == 0
    assert t.proc.poll() is None, "the target keeps running"
