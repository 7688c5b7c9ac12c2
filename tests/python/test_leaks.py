"""find_leaks, assert_no_leaks and the pytest plugin: leaks found and
explained, clean code never flagged."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import refgraph

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "..", "examples", "hot_reload")

_LEAK = []


class Session(object):
    pass


def leaky():
    _LEAK.append({"session": Session(), "data": list(range(10))})


def clean():
    d = {"session": Session(), "data": list(range(10))}
    return len(d)


def test_find_leaks_names_the_growing_type_with_its_holder():
    report = refgraph.find_leaks(leaky, iterations=6, warmup=1)
    assert report
    keys = {(g["by"], g["key"]) for g in report.groups}
    assert ("type", "test_leaks.Session") in keys
    group = next(g for g in report.groups if g["key"] == "test_leaks.Session")
    assert group["count_delta"] >= 6 and group["retained"] > 0
    assert any("_LEAK" in p for p in group["paths"]), group["paths"]
    html = report.to_html()
    assert html.startswith("<!DOCTYPE html>") and "test_leaks.Session" in html and "<svg" in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_a_clean_function_is_never_a_leak_20_times_in_a_row():
    for _ in range(20):
        refgraph.assert_no_leaks(clean, iterations=4, warmup=2)


def test_the_with_form_passes_a_clean_block_20_times_in_a_row():
    clean()
    for _ in range(20):
        with refgraph.assert_no_leaks():
            clean()


def test_the_with_form_explains_a_leak():
    with pytest.raises(refgraph.LeakError) as e:
        with refgraph.assert_no_leaks():
            leaky()
    text = str(e.value)
    assert "test_leaks.Session: +1 objects" in text and "held by" in text, text


HOT_RELOAD = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import plat, refgraph
    report = refgraph.find_leaks(plat.callOne, iterations=4, warmup=1)
    print(json.dumps(report.groups))
    """
)


def test_find_leaks_on_the_hot_reload_example_names_logging_and_both_retainer_kinds():
    # A fresh interpreter: pytest itself has imported logging already.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", HOT_RELOAD, EXAMPLE], env=env, stdout=subprocess.PIPE, universal_newlines=True, check=True)
    groups = json.loads(out.stdout.splitlines()[-1])
    modules = [g["key"] for g in groups if g["by"] == "module"]
    assert "logging" in modules and "logging.handlers" in modules, modules
    logging_group = next(g for g in groups if g["key"] == "logging")
    paths = "\n".join(logging_group["paths"])
    assert logging_group["retained"] > 100000
    assert "register_at_fork" in paths, paths
    if sys.version_info >= (3, 10):
        # 3.9's atexit keeps shutdown in a stale module's state: no root path (see DESIGN).
        assert "atexit callback" in paths, paths
    assert "retains" in paths


PLUGIN_TESTS = textwrap.dedent(
    """
    import pytest
    LEAK = []

    class Handler(object):
        pass

    @pytest.mark.no_leaks(iterations=4, warmup=1)
    def test_leaky():
        LEAK.append(Handler())

    @pytest.mark.no_leaks
    def test_clean():
        assert len([Handler()]) == 1

    def test_fixture(refgraph_leaks):
        refgraph_leaks(lambda: [Handler()], iterations=4)
    """
)


def run_pytest(tmp_path, *args):
    (tmp_path / "test_plugin_case.py").write_text(PLUGIN_TESTS)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    # The plugin comes in through its pytest11 entry point.
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)] + list(args)
    return subprocess.run(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


def test_the_pytest_plugin_fails_a_leaking_test_with_the_explanation(tmp_path):
    out = run_pytest(tmp_path).stdout
    assert "1 failed, 2 passed" in out, out
    assert "refgraph: the test leaks" in out and "test_plugin_case.Handler" in out and "held by" in out, out
    assert "FAILED test_plugin_case.py::test_leaky" in out


def test_refgraph_leaks_option_checks_every_test(tmp_path):
    out = run_pytest(tmp_path, "--refgraph-leaks", "-k", "clean or fixture").stdout
    assert "2 passed" in out, out
