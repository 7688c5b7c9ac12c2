"""refgraph: why is this Python object still alive?

Capture the reference graph of this interpreter's heap, find the chains that
keep objects alive back to their true roots (sys.modules, thread frames, and
references held from outside the heap by C code), and draw them the way
objgraph does. In a script (module level)::

    import refgraph
    cache = {"key": [1, 2, 3]}
    print(refgraph.why(cache["key"]))
    # list 0x7f... len=3 is retained by 2 roots:
    # ...
    # [2] sys.modules['__main__']
    #     module 0x7f... __main__
    #     __dict__ -> dict 0x7f... __main__ namespace, 9 items
    #     ['cache'] -> dict 0x7f... len=1
    #     ['key'] -> list 0x7f... len=3

``import refgraph as objgraph`` works for the functions objgraph users know:
``show_backrefs``, ``show_refs``, ``show_chain``, ``find_backref_chain``.
A capture runs no Python code of your objects and leaves the heap as it was.
"""

import os as _os

# Where the extension is missing, there are no objgraph functions to export.
_objgraph_names = []

try:
    from ._native import (  # noqa: F401
        Filter,
        Snapshot,
        Step,
        dump,
        find_backref_chain,
        load,
        retained_size,
        root_paths,
        show_backrefs,
        show_chain,
        show_refs,
        snapshot,
        why,
    )
    from ._native import Growth  # noqa: F401
    from ._display import Graph, Why  # noqa: F401
    from . import _display, _native

    # Answers are made with these classes without importing anything.
    _native._register_display(_display)
    # objgraph's names, listed once in _objgraph.__all__.
    from ._objgraph import *  # noqa: F401,F403
    from ._objgraph import __all__ as _objgraph_names
except ImportError:  # pragma: no cover - interpreters the extension does not serve
    # Where no extension was installed (Python 2.7, 3.6-3.8, or a copy made by
    # `refgraph run` for them) only the pure-Python collector is here; a
    # broken extension that is present must not pass silently.
    if any(n.startswith("_native") for n in _os.listdir(_os.path.dirname(_os.path.abspath(__file__)))):
        raise
else:
    from ._leaks import LeakError, LeakReport, assert_no_leaks, find_leaks  # noqa: F401

__all__ = [
    "Filter",
    "Graph",
    "Growth",
    "Why",
    "LeakError",
    "LeakReport",
    "Snapshot",
    "Step",
    "assert_no_leaks",
    "find_backref_chain",
    "find_leaks",
    "load",
    "retained_size",
    "root_paths",
    "show_backrefs",
    "show_chain",
    "show_refs",
    "snapshot",
    "why",
] + _objgraph_names
