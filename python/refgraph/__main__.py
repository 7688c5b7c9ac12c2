"""The `refgraph` command as a Python tool: `python -m refgraph ...` and the
`refgraph` console script that `pip install` puts on PATH. The command itself
is compiled into the extension module (`refgraph._native.cli_main`), the same
code as the standalone binary.
"""

import os
import shutil
import signal
import sys
import tempfile


def _package_dir_for_run():
    """A folder holding only this refgraph package (a symlink), for
    `refgraph run`: a program run under refgraph gets the installed
    extension when its interpreter can load it, and nothing else from this
    environment. The caller removes it."""
    folder = tempfile.mkdtemp(prefix="refgraph-pkg-")
    os.symlink(os.path.dirname(os.path.abspath(__file__)), os.path.join(folder, "refgraph"))
    return folder


def main(argv=None):
    """Runs the refgraph command with `argv` (default: this process's
    arguments) and returns its exit status."""
    try:
        from refgraph._native import cli_main
    except ImportError as e:
        sys.stderr.write("refgraph: the extension module is not installed for this Python (%s); "
                         "build it with `pip install` from a checkout (needs a Rust toolchain)\n" % e)
        return 2
    args = list(sys.argv[1:] if argv is None else argv)
    # The command runs in Rust with the GIL released: Python's own SIGINT
    # handler would only set a flag nobody reads, so Ctrl-C ends the
    # command as it ends the binary.
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    folder = None
    if args[:1] in (["run"], ["attach"]) and "REFGRAPH_PYTHONPATH" not in os.environ:
        folder = _package_dir_for_run()
        os.environ["REFGRAPH_PYTHONPATH"] = folder
    try:
        sys.stdout.flush()
        return cli_main(["refgraph"] + args)
    finally:
        if folder is not None:
            del os.environ["REFGRAPH_PYTHONPATH"]
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
