"""Runs objgraph 3.7.0's own public tests against refgraph.

Given the unpacked objgraph sdist (with ``import objgraph`` already rewritten
to ``import refgraph as objgraph`` by scripts/objgraph-tests), runs:
- the unit tests of its tests.py that use no private helper (``objgraph._``),
- its doctest functions in tests.py, and the doctests of its docs/*.txt
  (uncollectable.txt is skipped on Python 3.4+, as objgraph's own runner does),
with objgraph's own doctest options and output checker. The tests listed in
EXPECTED_DIFFERENCES are where refgraph is deliberately right and objgraph
wrong (docs/objgraph-compat.md says why); they are run and reported, and
must fail. Exit status 0 when everything else passes.
"""

import doctest
import inspect
import os
import sys
import unittest

# test id -> why refgraph answers differently on purpose (docs/objgraph-compat.md).
EXPECTED_DIFFERENCES = {}

# Tests that do not test objgraph's API at all.
NOT_API = {
    "tests.doctest_setup_py_works": "imports objgraph's setup.py: packaging, not the API",
}


def private(test):
    method = getattr(test, test._testMethodName, None)
    try:
        return "objgraph._" in inspect.getsource(method)
    except (OSError, TypeError):
        return False


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def main(sdist):
    os.chdir(sdist)
    sys.path.insert(0, sdist)
    import refgraph
    import tests

    assert tests.objgraph is refgraph, "tests.py still imports objgraph"
    unit = [t for t in flatten(unittest.defaultTestLoader.loadTestsFromModule(tests)) if not private(t)]
    skipped_private = [t.id() for t in flatten(unittest.defaultTestLoader.loadTestsFromModule(tests)) if private(t)]
    docs = tests.find_doctests()
    doc_suite = doctest.DocFileSuite(
        *docs,
        setUp=tests.setUp,
        tearDown=tests.tearDown,
        optionflags=doctest.ELLIPSIS,
        checker=tests.IgnoreNodeCountChecker(),
        module_relative=False,
    )
    fn_suite = doctest.DocTestSuite(tests)
    chosen = unittest.TestSuite()
    for t in unit + list(flatten(doc_suite)) + list(flatten(fn_suite)):
        if t.id() not in NOT_API:
            chosen.addTest(t)
    print("objgraph tests: %d public unit tests, %d doc files, %d left out for using objgraph._ helpers, %d not about the API"
          % (len(unit), len(docs), len(skipped_private), len(NOT_API)))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(chosen)
    failed = {t.id(): err for t, err in result.failures + result.errors}
    unexpected = sorted(set(failed) - set(EXPECTED_DIFFERENCES))
    missing = sorted(set(EXPECTED_DIFFERENCES) - set(failed))
    for name in sorted(set(failed) & set(EXPECTED_DIFFERENCES)):
        print("expected difference: %s: %s" % (name, EXPECTED_DIFFERENCES[name]))
    for name in missing:
        print("listed as a difference but passed (update docs/objgraph-compat.md): %s" % name)
    for name in unexpected:
        print("FAILED: %s" % name)
    return 1 if unexpected or missing else 0


if __name__ == "__main__":
    sys.exit(main(os.path.abspath(sys.argv[1])))
