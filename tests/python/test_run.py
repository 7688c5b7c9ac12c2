"""`refgraph run` as a user drives it: the program given as Python takes it
(script, -c, -m), its exit status passed through, mistakes refused before
anything runs, and the signals refgraph gets passed on to the program so
that nothing is left running behind it. Uses the interpreter running the
tests, with the pure-Python collector (no extension needed)."""

import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def refgraph_bin():
    return os.environ.get("REFGRAPH_BIN") or os.path.join(ROOT, "target", "release", "refgraph")


def run(tmp_path, *program, **kw):
    out = kw.pop("out", str(tmp_path / "heap.rgs"))
    cmd = [refgraph_bin(), "run", "--collector", "python", "-o", out, "--", sys.executable] + list(program)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=300, cwd=kw.pop("cwd", str(tmp_path)))


def test_dash_c_runs_code_with_its_arguments_and_passes_the_exit_code(tmp_path):
    code = "import sys; print(repr(sys.argv)); print(repr(sys.path[0])); kept = [1, 2]; sys.exit(3)"
    r = run(tmp_path, "-c", code, "a", "-b")
    assert r.returncode == 3, r.stderr
    assert r.stdout.splitlines() == [repr(["-c", "a", "-b"]), repr("")]
    assert (tmp_path / "heap.rgs").is_file()


def test_dash_m_runs_a_module_as_main(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(u"")
    (pkg / "mod.py").write_text(u"import sys\nsys.stdout.write('%s %s %s' % (__name__, sys.argv[1:], sys.argv[0].endswith('mod.py')))\n")
    r = run(tmp_path, "-m", "pkg.mod", "x", "--y")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "__main__ ['x', '--y'] True"
    assert (tmp_path / "heap.rgs").is_file()


def test_a_script_exit_code_passes_through_and_a_raise_still_snapshots(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(u"import sys\nsys.exit(int(sys.argv[1]))\n")
    assert run(tmp_path, str(script), "5").returncode == 5
    script.write_text(u"def f():\n    raise ValueError('boom')\nf()\n")
    r = run(tmp_path, str(script))
    assert r.returncode == 1
    assert "ValueError: boom" in r.stderr and "_run.py" not in r.stderr
    assert (tmp_path / "heap.rgs").is_file()


def test_a_missing_script_is_refused_before_anything_runs(tmp_path):
    r = run(tmp_path, "no_such_script.py")
    assert r.returncode == 2
    assert "no_such_script.py" in r.stderr and "nothing was run" in r.stderr
    assert "Traceback" not in r.stderr
    assert os.listdir(str(tmp_path)) == []


def test_an_output_in_a_missing_folder_is_refused_before_the_program_runs(tmp_path):
    marker = tmp_path / "ran"
    out = tmp_path / "no" / "such" / "heap.rgs"
    r = run(tmp_path, "-c", "open(%r, 'w').close()" % str(marker), out=str(out))
    assert r.returncode == 2
    assert str(tmp_path / "no" / "such") in r.stderr and "nothing was run" in r.stderr
    assert not marker.exists(), "the program ran"
    assert os.listdir(str(tmp_path)) == []


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A zombie still answers kill(0); its state says it has ended.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except IOError:
        return False


def _start_sleeper(tmp_path, setup=""):
    """Starts a program that sleeps (after `setup`), and its pid once it sleeps."""
    pidfile = tmp_path / "child.pid"
    code = ("import os, time\n%s\nopen(%r, 'w').write(str(os.getpid()))\n"
            "time.sleep(120)\n") % (setup, str(pidfile))
    cmd = [refgraph_bin(), "run", "--collector", "python", "-o", str(tmp_path / "heap.rgs"), "--",
           sys.executable, "-c", code]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.time() < deadline and proc.poll() is None, "the program did not start"
        time.sleep(0.05)
    return proc, int(pidfile.read_text())


def test_sigterm_to_refgraph_ends_the_program_and_reports_it_like_a_shell(tmp_path):
    proc, child = _start_sleeper(tmp_path)
    assert _alive(child)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert not _alive(child), "the program was left running"


def test_sigint_to_refgraph_interrupts_the_program_which_still_snapshots(tmp_path):
    proc, child = _start_sleeper(tmp_path)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert not _alive(child)
    assert "KeyboardInterrupt" in err.decode()
    assert (tmp_path / "heap.rgs").is_file()
    # As a shell reports an interrupted program (Python 3.8+ ends by SIGINT).
    assert proc.returncode == 128 + signal.SIGINT


def test_a_program_that_handles_sigterm_gets_it_and_its_status_passes_through(tmp_path):
    handler = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
    proc, child = _start_sleeper(tmp_path, handler)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 7
    assert not _alive(child)
    assert (tmp_path / "heap.rgs").is_file()
