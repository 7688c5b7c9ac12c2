"""Filters from every front end: refgraph.Filter, objgraph-style callables,
filter files on the command line."""

import io
import os
import subprocess
import sys

import pytest

import refgraph

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEEP = {}


class Payload(object):
    pass


class Noise(object):
    pass


def _graph():
    target = Payload()
    KEEP["graph"] = {"direct": target, "noisy": [Noise(), target]}
    KEEP["graph"]["noisy"][0].ref = target
    return target


def test_a_filter_from_text_hides_what_it_names():
    target = _graph()
    out = io.StringIO()
    refgraph.show_backrefs([target], output=out, max_depth=2)
    assert "Noise" in out.getvalue()
    out = io.StringIO()
    refgraph.show_backrefs([target], output=out, max_depth=2, filter=refgraph.Filter("hide type Noise\n"))
    assert "Noise" not in out.getvalue()
    assert "Payload" in out.getvalue()


def test_an_objgraph_callable_filter_gets_live_objects():
    target = _graph()
    seen = []

    def no_noise(obj):
        seen.append(type(obj).__name__)
        return not isinstance(obj, Noise)

    out = io.StringIO()
    refgraph.show_backrefs([target], output=out, max_depth=2, filter=no_noise)
    assert "Noise" in seen
    assert "Noise" not in out.getvalue()


def test_a_callable_filter_error_propagates():
    target = _graph()

    def broken(obj):
        raise KeyError("from the filter")

    with pytest.raises(KeyError):
        refgraph.show_backrefs([target], output=io.StringIO(), filter=broken)


def test_filters_apply_to_root_paths_and_say_when_they_hide_everything():
    target = _graph()
    snap = refgraph.snapshot()
    assert snap.root_paths(target)
    hide_all = refgraph.Filter("hide not type Payload")
    assert snap.root_paths(target, filter=hide_all) == []
    assert "the filters hide every path from a root" in snap.why(target, filter=hide_all)
    through_list_only = refgraph.Filter("hide type dict and label ~\"^len=2\"")
    for path in snap.root_paths(target, filter=through_list_only):
        assert not any(s.type == "dict" and s.label == "len=2" for s in path)


def test_refcount_rule_counts_real_references():
    leaf = Payload()
    KEEP["one_holder"] = [leaf]
    # A local in this frame names `leaf` too; refgraph does not count it.
    out = io.StringIO()
    refgraph.show_backrefs([KEEP["one_holder"]], output=out, filter=refgraph.Filter("hide refcount <= 1"), refcounts=True)
    out2 = io.StringIO()
    refgraph.show_refs([KEEP["one_holder"]], output=out2, refcounts=True, max_depth=1)
    assert "Payload [1]" in out2.getvalue()


def test_filters_combine_and_read_files(tmp_path):
    f = tmp_path / "mine.rgf"
    f.write_text(u"include %s\nhide type Noise\n" % os.path.join(ROOT, "filters", "graphviz.rgf"))
    combined = refgraph.Filter.from_file(str(f)) + refgraph.Filter("keep type Noise")
    assert len(combined) == 4
    target = _graph()
    out = io.StringIO()
    refgraph.show_backrefs([target], output=out, max_depth=2, filter=combined)
    assert "Noise" in out.getvalue()


def test_a_malformed_filter_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.rgf"
    bad.write_text(u"hide module x\nhide refcount <= lots\n")
    with pytest.raises(ValueError) as e:
        refgraph.Filter.from_file(str(bad))
    assert "bad.rgf:2:18" in str(e.value)
    binary = os.environ.get("REFGRAPH_BIN") or os.path.join(ROOT, "target", "release", "refgraph")
    r = subprocess.run([binary, "filters", "check", str(bad)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    assert r.returncode == 2
    assert "bad.rgf:2:18" in r.stderr and "hide refcount <= lots" in r.stderr
