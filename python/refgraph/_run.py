"""The bootstrap of `refgraph run`: runs a program as __main__, the way
`python script.py`, `python -c CODE` and `python -m MODULE` do, then writes
a snapshot of the heap after a full collection, also when the program
raised. Its exit status is the program's. Runs on Python 2.7 and 3.x.

Invoked as: python -c "import refgraph._run as r; r.main()" OUT MODE WHAT [ARGS]
with MODE one of script, code, module (`refgraph run` checked the script
and the output's folder before starting it).
Its own frames are observers: the capture leaves them out.
"""

import gc
import os
import sys

# The names the -c bootstrap leaves in __main__; the program starts from these.
_STANDARD = ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__builtins__")


def _clean_main():
    namespace = sys.modules["__main__"].__dict__
    for name in list(namespace):
        if name not in _STANDARD:
            del namespace[name]
    return namespace


def _exec_script(path):
    if os.path.isdir(path) or _is_zip(path):
        # A folder or zip file with __main__.py, as Python runs them.
        import runpy

        sys.path[0] = path
        runpy.run_path(path, run_name="__main__")
        return
    namespace = _clean_main()
    namespace["__file__"] = path
    namespace["__cached__"] = None
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")
    exec(code, namespace)


def _progress(path, line):
    """Tells `refgraph run`, drawing progress on a terminal, how the capture
    goes (see src/cli/progress.rs); False when nobody is watching."""
    if not path:
        return False
    try:
        with open(path, "a") as f:
            f.write(line)
        return True
    except (IOError, OSError):
        return False


def _is_zip(path):
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except (IOError, OSError):
        return False


def _exec_code(source):
    namespace = _clean_main()
    exec(compile(source, "<string>", "exec"), namespace)


def _run_module(name):
    import runpy

    _clean_main()
    run_as_main = getattr(runpy, "_run_module_as_main", None)
    if run_as_main is not None:
        # What `python -m` itself calls: the module runs in the real __main__.
        run_as_main(name, True)
    else:
        runpy.run_module(name, run_name="__main__", alter_sys=True)


def _snapshot_on_signal(strings):
    """`refgraph run --on-signal SIG`: a snapshot each time SIG arrives,
    taken by a Python handler (the main thread, between two bytecodes)."""
    name = os.environ.pop("REFGRAPH_ON_SIGNAL", None)
    pattern = os.environ.pop("REFGRAPH_ON_SIGNAL_OUT", None)
    if not name or not pattern:
        return
    import signal
    taken = [0]

    def on_signal(signum, frame):
        del frame  # the program's frame: not ours to hold
        taken[0] += 1
        out = pattern % taken[0]
        try:
            # Observers: this handler and _dump.
            nodes, edges, seconds = _dump(out, observer_frames=2, strings=strings)
        except Exception as e:
            sys.stderr.write("refgraph: snapshot on %s failed: %s\n" % (name, e))
            return
        sys.stderr.write("refgraph: wrote %s (%d objects, %d references, %.2f s)\n" % (out, nodes, edges, seconds))
        sys.stderr.flush()

    signal.signal(getattr(signal, name), on_signal)


def _run(mode, what):
    """Runs the program; returns (status, interrupted)."""
    try:
        if mode == "script":
            sys.path[0] = os.path.dirname(os.path.abspath(what))
            _exec_script(what)
        elif mode == "code":
            sys.path[0] = ""
            _exec_code(what)
        else:
            sys.path[0] = os.getcwd() if sys.version_info[0] >= 3 else ""
            _run_module(what)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0, False
        if isinstance(code, int):
            return code, False
        sys.stderr.write("%s\n" % (code,))
        return 1, False
    except KeyboardInterrupt:
        _print_traceback()
        return 130, True
    except BaseException:
        _print_traceback()
        return 1, False
    return 0, False


def _print_traceback():
    """The program's traceback, as Python prints it: without this file's frames."""
    import traceback

    kind, value, tb = sys.exc_info()
    while tb is not None and tb.tb_frame.f_code.co_filename == _run.__code__.co_filename:
        tb = tb.tb_next
    traceback.print_exception(kind, value, tb)


def _dump(out, observer_frames=3, strings=True):
    try:
        from refgraph._native import dump

        return dump(out, observer_frames=observer_frames, strings=strings)
    except ImportError:
        from refgraph import collector

        return collector.dump(out, observer_frames=observer_frames, strings=strings)


def _die_of_sigint():
    """Ends as Python 3.8+ does after an uncaught KeyboardInterrupt: by
    SIGINT, so that the shell sees the interrupt (status 130)."""
    try:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except Exception:
        pass


def main():
    out, mode, what = sys.argv[1:4]
    if mode == "code":
        sys.argv[:] = ["-c"] + sys.argv[4:]
    elif mode == "module":
        # runpy puts the module's file name in place of "-m", as Python does.
        sys.argv[:] = ["-m"] + sys.argv[4:]
    else:
        sys.argv[:] = sys.argv[3:]
    # `refgraph run --no-strings`; not passed on to the program's children.
    strings = os.environ.pop("REFGRAPH_NO_STRINGS", "") != "1"
    progress = os.environ.pop("REFGRAPH_PROGRESS_FILE", None)
    _snapshot_on_signal(strings)
    status, interrupted = _run(mode, what)
    del what
    gc.collect()
    _progress(progress, "capture\n")
    nodes, edges, seconds = _dump(out, strings=strings)
    done = "%d objects, %d references in %.2f s" % (nodes, edges, seconds)
    if not _progress(progress, "done %s %s %.2f\n" % (nodes, edges, seconds)):
        sys.stderr.write("refgraph: captured %s\n" % done)
    sys.stderr.flush()
    sys.stdout.flush()
    if interrupted and sys.version_info[:2] >= (3, 8):
        _die_of_sigint()
    sys.exit(status)
