"""objgraph's API in refgraph, type statistics on snapshots, and the
displays IPython and Jupyter use."""

import gc
import io
import os
import subprocess
import sys
import textwrap
import types

import pytest

import refgraph


def make_module(name, n_functions):
    """A module with `n_functions` functions and a class, as an import would make it."""
    m = types.ModuleType(name)
    src = "".join("def f%d():\n    pass\n" % i for i in range(n_functions)) + "class C(object):\n    def m(self):\n        pass\n"
    exec(compile(src, name + ".py", "exec"), m.__dict__)
    return m


KEEP = []


def test_typestats_counts_tracked_objects_by_short_and_long_name():
    cls = type("Gadget", (), {"__module__": "shop"})
    KEEP.append([cls() for _ in range(7)])
    stats = refgraph.typestats()
    assert stats["Gadget"] == 7
    assert refgraph.typestats(shortnames=False)["shop.Gadget"] == 7
    assert "str" not in stats, "strs are not tracked by the collector"
    assert refgraph.count("Gadget") == 7
    assert refgraph.count("shop.Gadget") == 7
    assert refgraph.count("builtins.dict") == refgraph.count("dict")
    KEEP.pop()


def test_typestats_by_module_counts_namespaces_and_class_dicts():
    mods = [make_module("stale_copy", 30) for _ in range(3)]
    by_module = refgraph.typestats(by="module")
    # Per copy: the namespace and the class's dict (not the 30 functions, the
    # method, the class or the module object), as the seed's showMemoryByModule.
    assert by_module["stale_copy"] == 3 * 2, by_module.get("stale_copy")
    assert list(by_module.values()) == sorted(by_module.values(), reverse=True)
    del mods


def test_show_most_common_types_prints_objgraphs_aligned_table():
    out = io.StringIO()
    refgraph.show_most_common_types(limit=3, file=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    names = [l.split()[0] for l in lines]
    width = max(map(len, names))
    assert all(l[width] == " " and l[width + 1 :].strip().isdigit() for l in lines), lines


def test_show_growth_names_what_grew_with_objgraphs_format():
    peak = {}
    refgraph.show_growth(peak_stats=peak, file=io.StringIO())
    KEEP.append([make_module("grower", 50) for _ in range(4)])
    out = io.StringIO()
    refgraph.show_growth(peak_stats=peak, file=out)
    rows = {l.split()[0]: l for l in out.getvalue().splitlines()}
    assert "function" in rows, out.getvalue()
    name, total, delta = rows["function"].split()
    assert int(delta) >= 4 * 51 and delta.startswith("+")
    assert rows["function"] == "%-*s%9d %+9d" % (max(map(len, rows)), "function", int(total), int(delta))
    KEEP.pop()


def test_get_new_ids_lists_new_objects_and_leaves_its_own_state_out():
    refgraph.get_new_ids(limit=0)
    refgraph.get_new_ids(limit=0)
    fresh = [[] for _ in range(5)]
    out = io.StringIO()
    new = refgraph.get_new_ids(limit=None, file=out)
    assert {id(x) for x in fresh} <= new["list"]
    table = out.getvalue()
    # The sets and dicts refgraph keeps between calls are not new objects of the caller's.
    assert not any(l.split()[0] == "set" for l in table.splitlines()[3:-1] if l.split()[-1] != "+0"), table
    found = refgraph.at_addrs(new["list"])
    assert all(any(f is x for f in found) for x in fresh)


def test_by_type_and_at_return_live_tracked_objects_only():
    cls = type("Needle", (), {})
    needle = cls()
    assert refgraph.by_type("Needle") == [needle]
    assert refgraph.at(id(needle)) is needle
    text = "not tracked" + str(len(KEEP))
    assert refgraph.at(id(text)) is None
    assert refgraph.at_addrs({id(needle), id(text)}) == [needle]


def test_get_leaking_objects_finds_objects_only_c_code_holds():
    held = [object()]
    gc.collect()
    # A list nothing in the heap refers to: an extension-held object looks like this.
    orphan_id = id(held)
    leaking = refgraph.get_leaking_objects(objects=[held, KEEP])
    assert [id(x) for x in leaking] == [] or orphan_id not in map(id, leaking), "the caller's frame holds `held`"
    assert all(gc.is_tracked(o) for o in refgraph.get_leaking_objects()[:100])


def test_find_ref_chain_goes_forward_to_the_first_match():
    class Bomb(object):
        pass

    data = dict(a=dict(x=1), b=[dict(y=2), dict(z=Bomb())])
    chain = refgraph.find_ref_chain(data, lambda o: isinstance(o, Bomb))
    assert [type(o).__name__ for o in chain] == ["dict", "list", "dict", "Bomb"]
    assert chain[0] is data
    assert refgraph.find_ref_chain(data, lambda o: False, max_depth=2) == [data]


def test_is_proper_module():
    assert refgraph.is_proper_module(os)
    assert not refgraph.is_proper_module(types.ModuleType("os2"))
    assert not refgraph.is_proper_module([])


def test_graphs_print_objgraphs_messages_and_take_extra_node_attrs(tmp_path, capsys):
    x = []
    y = [x, [x], dict(x=x)]
    out = io.StringIO()
    refgraph.show_refs([y], output=out, extra_node_attrs=lambda o: {"color": "blue", "skip": None})
    dot = out.getvalue()
    assert dot.startswith("digraph ObjectGraph")
    assert dot.count('color="blue"') >= 4 and "skip" not in dot
    refgraph.show_refs([y], filename=str(tmp_path / "g.png"))
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("Graph written to ") and said[0].endswith(".dot (4 nodes)"), said
    assert said[1] == "Image generated as %s" % (tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="both output and filename"):
        refgraph.show_backrefs([x], filename=str(tmp_path / "h.svg"), output=io.StringIO())


def test_snapshot_typestats_growth_and_by_type():
    before = refgraph.snapshot()
    KEEP.append([make_module("later", 10) for _ in range(2)])
    after = refgraph.snapshot()
    by_type = dict((k, (n, size)) for k, n, size in after.typestats())
    assert by_type["function"][1] >= by_type["function"][0] * 100, "sizes are bytes"
    g = after.growth(before)
    modules = dict((k, (n, dn)) for k, n, dn, _s, _ds in g.modules)
    # Per copy: the namespace and the class's dict.
    assert modules["later"] == (2 * 2, 2 * 2)
    new_addrs = set(a for a, _t in g.new)
    assert all(id(m) in new_addrs for m in KEEP[-1])
    assert set(after.by_type("module")) >= set(map(id, KEEP[-1]))
    assert "<table>" in g._repr_html_() and "later" in str(g)
    assert "most common types" in after._repr_html_()
    with pytest.raises(ValueError, match="unknown grouping"):
        after.typestats(by="colour")
    KEEP.pop()


def test_why_and_root_paths_display_in_notebooks():
    w = refgraph.why(KEEP)
    assert isinstance(w, str) and w.startswith("list")
    assert w._repr_html_().startswith("<pre")
    paths = refgraph.root_paths(KEEP)
    assert isinstance(paths, list) and paths
    assert "<table>" in paths._repr_html_()
    assert "sys.modules" in paths._repr_html_()


def test_a_graph_with_no_file_name_displays_inline_in_a_notebook_shell(monkeypatch):
    class ZMQInteractiveShell(object):
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    g = refgraph.show_backrefs([KEEP], max_depth=2)
    assert isinstance(g, refgraph.Graph) and g.nodes >= 2
    svg = g._repr_svg_()
    assert svg.lstrip().startswith("<svg") or svg.lstrip().startswith("<?xml")
    assert g._repr_mimebundle_()["image/svg+xml"] == svg
    fake.get_ipython = lambda: type("TerminalInteractiveShell", (), {})()
    assert refgraph._display.inline_wanted() is False


def test_why_in_ipython_names_the_user_namespace():
    pytest.importorskip("IPython")
    code = textwrap.dedent(
        """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("import refgraph\\nx = [1, 2]", store_history=False)
        r = shell.run_cell("print(refgraph.why(x))", store_history=False)
        r.raise_error()
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    # The first answer names the user namespace: by IPython's name where
    # only exec's arguments hold it, else as __main__'s (where the calling
    # frame's stack explains those references).
    first = p.stdout.split("[1] ", 1)[1].splitlines()[0]
    assert first.startswith("IPython user namespace (get_ipython().user_ns") or first == "sys.modules['__main__']", p.stdout
    assert "['x'] -> list" in p.stdout
    # The namespace itself is never "held from outside the heap".
    for block in p.stdout.split("\n\n")[1:]:
        lines = block.strip().splitlines()
        if lines and "held from outside the heap" in lines[0]:
            assert "__main__ namespace" not in lines[1], block
