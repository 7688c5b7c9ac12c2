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
