"""The bootstrap of `refgraph run`: runs a script as __main__, the way
`python script.py` does, then writes a snapshot of the heap after a full
collection. Runs on Python 2.7 and 3.x.

Invoked as: python -c "import refgraph._run as r; r.main()" OUT SCRIPT [ARGS]
Its own frames are observers: the capture leaves them out.
"""

import gc
import os
import sys


def _exec_script(path):
    main = sys.modules["__main__"]
    namespace = main.__dict__
    # The -c bootstrap left nothing in __main__ but the standard names.
    for name in list(namespace):
        if name not in ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__builtins__"):
            del namespace[name]
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


def _dump(out, strings):
    try:
        from refgraph._native import dump
        return dump(out, observer_frames=3, strings=strings)
    except ImportError:
        from refgraph import collector
        return collector.dump(out, observer_frames=3, strings=strings)


def main():
    out = sys.argv[1]
    script = sys.argv[2]
    sys.argv[:] = sys.argv[2:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    # `refgraph run --no-strings`; not passed on to the program's children.
    strings = os.environ.pop("REFGRAPH_NO_STRINGS", "") != "1"
    progress = os.environ.pop("REFGRAPH_PROGRESS_FILE", None)
    status = 0
    try:
        _exec_script(script)
    except SystemExit as e:
        code = e.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            sys.stderr.write("%s\n" % (code,))
            status = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        status = 1
    del script
    gc.collect()
    _progress(progress, "capture\n")
    nodes, edges, seconds = _dump(out, strings)
    done = "%d objects, %d references in %.2f s" % (nodes, edges, seconds)
    if not _progress(progress, "done %s %s %.2f\n" % (nodes, edges, seconds)):
        sys.stderr.write("refgraph: captured %s\n" % done)
    sys.stderr.flush()
    sys.stdout.flush()
    sys.exit(status)
