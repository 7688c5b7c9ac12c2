"""The seed scenario: hot reload leaks a copy of `logging` per request.

Runs examples/hot_reload under `refgraph run`, as a user would, then asks the
`refgraph` command for the root paths and the drawing.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PLAT = os.path.join(ROOT, "examples", "hot_reload", "plat.py")
CALLS = 20


def refgraph_bin():
    path = os.environ.get("REFGRAPH_BIN") or os.path.join(ROOT, "target", "release", "refgraph")
    if not os.path.exists(path):
        pytest.fail("the refgraph command is not built: %s (scripts/test builds it)" % path)
    return path


@pytest.fixture(scope="module")
def seed_heap(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("seed") / "heap.rgs")
    env = dict(os.environ)
    subprocess.check_call([refgraph_bin(), "run", "-o", out, "--", sys.executable, PLAT, str(CALLS)], env=env)
    return out


def cli(*args):
    return subprocess.run([refgraph_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)


def seed_paths(heap):
    r = cli("path", heap, "--select", "dict~^logging namespace", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == 1 and doc["command"] == "path"
    return doc["targets"]


def test_every_stale_logging_namespace_is_found_and_retained(seed_heap):
    reports = seed_paths(seed_heap)
    # The platform dropped every copy from sys.modules: all are stale.
    assert len(reports) == CALLS
    for rep in reports:
        assert rep["target"]["type"] == "dict"
        assert rep["target"]["label"].startswith("logging namespace, ")
        assert rep["paths"], "a stale namespace with no root path: %r" % rep["target"]
        for path in rep["paths"]:
            assert path[0]["root"] and path[0]["edge"] is None
            assert all(step["root"] is None for step in path[1:])
            assert path[-1]["address"] == rep["target"]["address"]


def _shutdown_paths(rep):
    return [p for p in rep["paths"]
            if len(p) >= 2 and p[-2]["type"] == "function" and p[-2]["label"] == "logging.shutdown"
            and p[-1]["edge"] == "__globals__"]


def _fork_handler_paths(rep):
    # The handler names differ between versions (_acquireLock on 3.9-3.12,
    # _prepareFork on 3.13): any logging function held by a list root.
    return [p for p in rep["paths"]
            if p[0]["type"] == "list" and len(p) == 3 and p[1]["type"] == "function"
            and p[1]["label"].startswith("logging.") and p[1]["label"] != "logging.shutdown"]


def test_logging_shutdown_registered_with_atexit_retains_each_copy(seed_heap):
    for rep in seed_paths(seed_heap):
        if sys.version_info < (3, 10):
            # 3.9 keeps atexit callbacks in the atexit module's state; each
            # call imports a new atexit module and the interpreter keeps only
            # a borrowed pointer to the newest, so shutdown roots nothing.
            assert not [p for p in rep["paths"] if p[0]["label"] == "logging.shutdown"]
            continue
        paths = _shutdown_paths(rep)
        assert paths, [[(s["type"], s["label"], s["edge"], s["root"]) for s in p] for p in rep["paths"]]
        if sys.version_info >= (3, 14):
            # The interpreter keeps a list of (func, args, kwargs) records:
            # the record is the named root, shutdown its [0].
            assert [(s["type"], s["edge"]) for s in paths[0][:2]] == [("tuple", None), ("function", "[0]")]
            assert paths[0][0]["root"].startswith("atexit callback #")
            continue
        # atexit's C array holds the function: it is the root itself, named.
        assert paths[0][0]["label"] == "logging.shutdown"
        assert paths[0][0]["root"].startswith("atexit callback #")
        assert paths[0][0]["root"].endswith("(1 ref)")


def test_fork_handler_lists_retain_each_copy(seed_heap):
    for rep in seed_paths(seed_heap):
        paths = _fork_handler_paths(rep)
        assert paths, [[(s["type"], s["label"], s["edge"], s["root"]) for s in p] for p in rep["paths"]]
        for p in paths:
            assert p[0]["root"].startswith("os.register_at_fork("), p[0]["root"]
            assert p[0]["root"].endswith("(1 ref)")
            assert p[-1]["edge"] == "__globals__"
        kinds = {p[0]["root"].split(")")[0] + ")" for p in paths}
        assert kinds == {"os.register_at_fork(before)", "os.register_at_fork(after_in_parent)",
                         "os.register_at_fork(after_in_child)"}, kinds


def test_backrefs_draws_both_retainers_without_observer_nodes(seed_heap, tmp_path):
    dot = str(tmp_path / "ref.dot")
    r = cli("backrefs", seed_heap, "--select", "dict~^logging namespace", "--chains", "--max-targets", "2",
            "-o", dot)
    assert r.returncode == 0, r.stderr
    text = open(dot).read()
    assert "logging namespace" in text
    assert "logging._acquireLock" in text or "logging._prepareFork" in text
    assert "os.register_at_fork(before)" in text
    if sys.version_info >= (3, 10):
        assert "logging.shutdown" in text
    # Nothing from the bootstrap or the platform's locals.
    for noise in ("refgraph._run", "origList", "modName"):
        assert noise not in text


def test_bad_selector_and_missing_file_fail_clearly(seed_heap, tmp_path):
    r = cli("path", seed_heap, "--select", "dict~(")
    assert r.returncode == 2
    assert "dict~(" in r.stderr and "regular expression" in r.stderr
    r = cli("path", str(tmp_path / "nope.rgs"), "--select", "dict")
    assert r.returncode == 2
    assert "nope.rgs" in r.stderr
    out = tmp_path / "out.svg"
    r = cli("backrefs", seed_heap, "--select", "NoSuchType", "-o", str(out))
    assert r.returncode == 2 and "NoSuchType" in r.stderr
    assert not out.exists()


def test_the_seed_filter_draws_the_retainers_without_the_noise(seed_heap, tmp_path):
    dot = str(tmp_path / "seed.dot")
    r = cli("backrefs", seed_heap, "--select", "dict~^logging namespace", "--max-targets", "2",
            "--filter", os.path.join(ROOT, "filters", "seed.rgf"), "--refcounts", "-o", dot)
    assert r.returncode == 0, r.stderr
    text = open(dot).read()
    assert "logging namespace" in text
    # What the author filtered by hand is gone...
    assert "logging.handlers" not in text
    # ...and what keeps the copies alive is there, through to its roots.
    assert "os.register_at_fork" in text
    if sys.version_info >= (3, 10):
        assert "atexit callback" in text and "logging.shutdown" in text
    unfiltered = str(tmp_path / "all.dot")
    r = cli("backrefs", seed_heap, "--select", "dict~^logging namespace", "--max-targets", "2",
            "--max-depth", "100", "--too-many", "100", "-o", unfiltered)
    assert r.returncode == 0, r.stderr
    assert len(open(unfiltered).read()) > 3 * len(text)


HEX = __import__("re").compile(r"^0x[0-9a-f]+$")


def cli_json(*args):
    r = cli(*(args + ("--format", "json")))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == 1 and doc["command"] == args[0], sorted(doc)
    return doc


def test_modules_says_how_many_stale_logging_copies_and_what_holds_them(seed_heap):
    r = cli("modules", seed_heap)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) <= 60, r.stdout  # one screen
    rows = {line.split()[-1]: line.split() for line in lines[2:] if line.strip() and line.split()[0].isdigit()}
    assert rows["logging"][0] == str(CALLS), r.stdout
    via = [line for line in lines if "each, held via logging: logging.handlers," in line]
    assert via and via[0].split()[0] == str(CALLS), r.stdout
    # More paths than the default two: on 3.14+ the atexit path runs through
    # the (func, args, kwargs) tuple the callback list holds, so it is longer
    # than the fork-handler paths and comes later.
    r = cli("modules", seed_heap, "--paths", "5")
    block = r.stdout.split("\nlogging: %d stale copies; the nearest" % CALLS)[1]
    held = block.split("\n\n")[0]
    assert "os.register_at_fork(before) (1 ref)" in held, held
    if sys.version_info >= (3, 10):
        assert "atexit callback #" in held and "logging.shutdown" in held, held


def test_modules_json_has_the_schema_and_hex_addresses(seed_heap):
    doc = cli_json("modules", seed_heap)
    groups = {g["module"]: g for g in doc["groups"]}
    logging = groups["logging"]
    assert (logging["copies"], logging["direct_copies"], logging["held_via"]) == (CALLS, CALLS, None)
    assert groups["logging.handlers"]["held_via"] == "logging"
    # Retained by the copies alone (dominator tree): at least their own size.
    assert logging["shallow_size"] > 0 and logging["retained_size"] >= logging["shallow_size"]
    assert len(logging["addresses"]) == logging["modules"] + logging["namespaces"]
    assert all(HEX.match(a) for a in logging["addresses"])
    target = logging["example"]["target"]
    assert HEX.match(target["address"]) and target["address"] in logging["addresses"]
    assert all(HEX.match(s["address"]) for p in logging["example"]["paths"] for s in p)


def test_path_json_addresses_are_the_hex_of_the_text_output(seed_heap):
    doc = cli_json("path", seed_heap, "--select", "dict~^logging namespace", "--max-targets", "1")
    (rep,) = doc["targets"]
    text = cli("path", seed_heap, "--select", "dict~^logging namespace", "--max-targets", "1").stdout
    assert HEX.match(rep["target"]["address"])
    assert "dict %s logging namespace" % rep["target"]["address"] in text
    for step in rep["paths"][0]:
        assert HEX.match(step["address"]) and step["address"] in text


def test_summary_explains_the_roots_held_from_outside(seed_heap):
    doc = cli_json("summary", seed_heap)
    roots = doc["roots"]
    assert sum(k["roots"] for k in roots["by_kind"]) == roots["total"]
    fork = [g for g in roots["named_holders"] if g["name"] == "os.register_at_fork(before)"]
    assert fork and fork[0]["example"]["type"] == "list" and HEX.match(fork[0]["example"]["address"])
    if sys.version_info >= (3, 10):
        atexit = [g for g in roots["named_holders"] if g["name"] == "atexit callback"]
        # 3.14+ keeps each callback as a (func, args, kwargs) tuple.
        example = "len=3" if sys.version_info >= (3, 14) else "logging.shutdown"
        assert atexit and atexit[0]["roots"] >= CALLS and atexit[0]["example"]["label"] == example
    by_type = roots["held_from_outside_by_type"]
    assert by_type == sorted(by_type, key=lambda g: -g["roots"])
    assert all(g["references"] >= g["roots"] for g in by_type)
    text = cli("summary", seed_heap).stdout
    assert "held from outside the heap" in text and "named holders in C state" in text
    assert "os.register_at_fork(before)" in text


MODULE_TABLES = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import plat, refgraph
    refgraph.snapshot(sys.argv[2])
    for _ in range(int(sys.argv[4])):
        plat.callOne()
    by_module = list(refgraph.typestats(by="module"))
    refgraph.snapshot(sys.argv[3])
    print(json.dumps(by_module[:5]))
    """
)


def test_by_module_puts_logging_and_its_handlers_first_in_python_top_and_diff(tmp_path):
    # One fresh process, as the user: pytest has imported logging already.
    calls = 50
    a, b = str(tmp_path / "a.rgs"), str(tmp_path / "b.rgs")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", MODULE_TABLES, os.path.dirname(PLAT), a, b, str(calls)], env=env,
                         stdout=subprocess.PIPE, universal_newlines=True, check=True)
    # On 3.14+ nothing refgraph imports loads contextlib any more: it is
    # reloaded with logging's imports every call, and its 18 classes give it
    # as many namespaces per copy as logging (19): a tie, ranked by size.
    first = ["logging", "contextlib", "logging.handlers"] if sys.version_info >= (3, 14) else ["logging", "logging.handlers"]
    in_process = json.loads(out.stdout.splitlines()[-1])
    assert in_process[:len(first)] == first, in_process
    r = cli("top", b, "--by", "module", "--limit", "5")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[2:]]
    assert [row[2] for row in rows[:len(first)]] == first, r.stdout
    # Each copy of logging brings its namespace and one dict per class.
    assert int(rows[0][0]) >= calls * 10 and int(rows[1][0]) >= calls * 10, r.stdout
    r = cli("diff", a, b, "--by", "module", "--limit", "5")
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()[2:]]
    assert [row[4] for row in rows[:len(first)]] == first, r.stdout
    assert int(rows[1][1]) >= calls * 10, r.stdout
