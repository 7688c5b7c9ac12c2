"""Leak hunting: ``find_leaks``, ``assert_no_leaks`` and ``LeakError``.

``find_leaks(func)`` calls ``func`` a few times to warm up, then in equal
batches, snapshotting the heap before the first batch and after each one
(after ``gc.collect()``). A type or module leaks when its object count grows
by at least one per call in *every* batch: caches the interpreter fills once
(type caches, interned strings, a lazily imported module) do not come back
in the next batch. The analysis (growth, representative objects, root paths,
retained sizes) runs in the Rust core; this module only drives the calls.
"""

import gc
import os
import tempfile

from . import _native

__all__ = ["LeakError", "LeakReport", "assert_no_leaks", "find_leaks"]


class LeakError(AssertionError):
    """Raised by ``assert_no_leaks``; ``.report`` is the ``LeakReport``."""

    def __init__(self, report):
        AssertionError.__init__(self, report.text(max_groups=8, paths=1))
        self.report = report


class LeakReport(object):
    """What grew while a function was called repeatedly.

    ``bool(report)`` is true when something leaks; ``str(report)`` explains it;
    ``.groups`` lists the growing types and modules (dicts); ``.show()`` draws
    the root paths of each group's example; ``.to_html()`` is one
    self-contained HTML page.
    """

    def __init__(self, native, snapshot):
        self._native = native
        self.snapshot = snapshot

    leaks = property(lambda self: self._native.leaks)
    calls = property(lambda self: self._native.calls)
    groups = property(lambda self: self._native.groups)

    def __bool__(self):
        return self._native.leaks

    __nonzero__ = __bool__

    def __str__(self):
        return str(self._native)

    def __repr__(self):
        return repr(self._native)

    def text(self, max_groups=0, paths=4):
        return self._native.text(max_groups, paths)

    def to_html(self, filename=None):
        """The report as HTML text; also written to ``filename`` if given."""
        html = self._native.to_html()
        if filename is not None:
            with open(filename, "w") as f:
                f.write(html)
        return html

    def show(self, filename=None, max_groups=3):
        """Draws the root paths of the examples of the first groups
        (``.svg``, ``.png`` or ``.dot``; a temporary ``.svg`` by default)."""
        examples = []
        for g in self.groups:
            if g["example"] is not None and g["example"] not in examples:
                examples.append(g["example"])
            if len(examples) >= max_groups:
                break
        if not examples:
            print("nothing leaks: nothing to draw")
            return None
        if filename is None:
            fd, filename = tempfile.mkstemp(prefix="refgraph-leaks-", suffix=".svg")
            os.close(fd)
        self.snapshot.show_backrefs(examples, chains=True, filename=filename)
        return filename


def _capture():
    gc.collect()
    return _native.snapshot()


def find_leaks(func, iterations=10, warmup=2, batches=2):
    """Calls ``func()`` ``warmup`` times, then ``iterations`` more times in
    ``batches`` equal batches, and returns a ``LeakReport`` of the types and
    modules that grew in every batch, each with a representative object,
    its root paths and retained size."""
    if batches < 1 or iterations < batches:
        raise ValueError("find_leaks needs iterations >= batches >= 1")
    for _ in range(warmup):
        func()
    per_batch = iterations // batches
    snapshots = [_capture()]
    for _ in range(batches):
        for _ in range(per_batch):
            func()
        snapshots.append(_capture())
    native = _native._leak_report(snapshots, per_batch, warmup)
    return LeakReport(native, snapshots[-1])


class assert_no_leaks(object):
    """Fails when something leaks.

    As a context manager, the block runs once; the heap after it is compared
    with the heap before, and a type or module that gained ``min_growth``
    objects or more (reachable ones, refgraph's own left out) fails it::

        with refgraph.assert_no_leaks():
            handle_request()

    Called with a function, it runs ``find_leaks`` (warm-up calls, several
    batches) and raises ``LeakError`` if anything grew in every batch; this
    form is the robust one::

        refgraph.assert_no_leaks(handle_request, iterations=10)
    """

    def __new__(cls, func=None, iterations=10, warmup=2, batches=2, min_growth=1):
        if func is not None:
            report = find_leaks(func, iterations=iterations, warmup=warmup, batches=batches)
            if report:
                raise LeakError(report)
            return report
        return object.__new__(cls)

    def __init__(self, func=None, iterations=10, warmup=2, batches=2, min_growth=1):
        self.min_growth = min_growth
        self.report = None
        self._before = None

    def __enter__(self):
        self._before = _capture()
        return self

    def __exit__(self, exc_type, exc, tb):
        after = _capture()
        before, self._before = self._before, None
        if exc_type is not None:
            return False
        native = _native._leak_report([before, after], self.min_growth, 0)
        self.report = LeakReport(native, after)
        if self.report:
            raise LeakError(self.report)
        return False
