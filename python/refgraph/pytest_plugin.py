"""pytest plugin: leak tests that explain themselves.

Registered through the ``pytest11`` entry point, so installing refgraph is
enough:

- ``@pytest.mark.no_leaks`` (or ``no_leaks(iterations=10, warmup=2)``): the
  test function is called again, warm-up calls first, then in batches, and
  fails if a type or module grows in every batch; the failure message says
  what grew, by how much, and one root path per group.
- ``--refgraph-leaks``: every test runs that way.
- the ``refgraph_leaks`` fixture: ``refgraph_leaks(func)`` checks a function
  the same way; ``with refgraph_leaks():`` checks a block run once.
"""

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("refgraph")
    group.addoption(
        "--refgraph-leaks",
        action="store_true",
        default=False,
        help="run every test under refgraph's leak check (as if marked no_leaks)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "no_leaks(iterations=10, warmup=2, batches=2): fail the test if calling it again "
        "leaks objects (refgraph finds what grew and why it is alive)",
    )


def _options(item):
    marker = item.get_closest_marker("no_leaks")
    if marker is None and not item.config.getoption("--refgraph-leaks"):
        return None
    kw = dict(iterations=10, warmup=2, batches=2)
    if marker is not None:
        kw.update(marker.kwargs)
    return kw


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Runs a checked test itself: its warm-up calls are its normal run (an
    assertion error shows as usual), then the measured batches."""
    opts = _options(pyfuncitem)
    if opts is None:
        return None
    from refgraph._leaks import find_leaks

    testfunction = pyfuncitem.obj
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    opts["warmup"] = max(1, opts.get("warmup", 2))
    report = find_leaks(lambda: testfunction(**args), **opts)
    if report:
        pytest.fail("refgraph: the test leaks\n" + report.text(max_groups=8, paths=1), pytrace=False)
    return True


class _LeakChecker(object):
    """The ``refgraph_leaks`` fixture's value."""

    def __call__(self, func=None, **kw):
        from refgraph._leaks import assert_no_leaks

        if func is None:
            return assert_no_leaks(**kw)
        return assert_no_leaks(func, **kw)


@pytest.fixture
def refgraph_leaks():
    """``refgraph_leaks(func, iterations=10)`` fails if calling ``func`` leaks;
    ``with refgraph_leaks(): ...`` fails if the block leaves new objects."""
    return _LeakChecker()
