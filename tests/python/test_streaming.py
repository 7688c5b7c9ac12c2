"""snapshot(path=...): the capture written to a file as it is built."""

import os

import pytest

import refgraph


class Marker(object):
    pass


def test_a_streamed_snapshot_reads_back_like_a_kept_one(tmp_path):
    keep = Marker()
    path = str(tmp_path / "streamed.rgs")
    assert refgraph.snapshot(path=path) is None
    streamed = refgraph.load(path)
    kept = refgraph.snapshot()
    # The two captures are moments apart; the heap barely moved between them.
    assert abs(len(streamed) - len(kept)) < 200
    assert abs(streamed.edge_count - kept.edge_count) < 1000
    assert keep in streamed
    assert "Marker" in streamed.why(keep)
    assert os.listdir(str(tmp_path)) == ["streamed.rgs"]


def test_a_missing_folder_is_refused_and_leaves_nothing(tmp_path):
    path = str(tmp_path / "no" / "such" / "heap.rgs")
    with pytest.raises(OSError) as e:
        refgraph.snapshot(path=path)
    assert str(e.value) == "cannot write snapshot %s: the folder %s does not exist" % (path, os.path.dirname(path))
    assert os.listdir(str(tmp_path)) == []


# A real heap (the standard library's modules, classes, functions and their
# dicts), captured twice in a fresh process with nothing running in between:
# streamed to a file, then kept and saved. The two files' sections are
# compared byte for byte, all but the capture's metadata (its times) and the
# roots: the same nodes (address, type, size, count, flags, label), the same
# edges and edge labels, the same label and type tables. The roots are
# compared as read (a streamed file stores a named root's surplus as 0: a
# reader recomputes every surplus from the in-degrees).
SAME_HEAP = r"""
import gc, sys
import collections, email.message, json, logging, decimal, unittest, xml.dom.minidom
import refgraph
gc.collect()
gc.disable()
held = [dict(a=i, b=str(i), c=(i, [i])) for i in range(20000)]
streamed, kept = sys.argv[1], sys.argv[2]
refgraph.snapshot(path=streamed)
refgraph.snapshot().save(kept)
"""


def sections(path):
    import struct

    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89RGS\r\n\x1a\n"
    out, at = {}, 12
    while at < len(data):
        tag = data[at:at + 4].decode("ascii")
        (length,) = struct.unpack("<Q", data[at + 4:at + 12])
        out[tag] = data[at + 16:at + 16 + length]
        at += 16 + length
    return out


def test_a_streamed_capture_is_the_same_graph_as_a_kept_one(tmp_path):
    import subprocess
    import sys

    streamed, kept = str(tmp_path / "streamed.rgs"), str(tmp_path / "kept.rgs")
    subprocess.check_call([sys.executable, "-c", SAME_HEAP, streamed, kept])
    a, b = sections(streamed), sections(kept)
    assert sorted(a) == sorted(b) == sorted(["META", "TYPE", "LABL", "ENAM", "NODE", "EDGE", "ROOT", "END."])
    for tag in ["NODE", "EDGE", "LABL", "TYPE", "ENAM"]:
        assert a[tag] == b[tag], "section %s differs (%d vs %d bytes)" % (tag, len(a[tag]), len(b[tag]))
    assert len(a["ROOT"]) == len(b["ROOT"])
    heap, other = refgraph.load(streamed), refgraph.load(kept)
    assert len(heap) > 100000 and heap.edge_count > 200000
    assert heap.roots() == other.roots() and len(heap.roots()) > 100
    assert sorted(os.listdir(str(tmp_path))) == ["kept.rgs", "streamed.rgs"]
