"""Drawings too big to read are refused, in the process, with a message
that says how to narrow them, and leave no file behind; a large fan-in
chain under the bound is drawn. (Speed and memory are measured by
scripts/bench-layout, not here.)"""

import os

import pytest

import refgraph


class Node(object):
    # Slots, so that a node holds the next one directly on every version
    # (before 3.11 an instance's attributes are a dict: two hops, not one).
    __slots__ = ("next",)


def fan_in_chain(depth):
    """A chain of `depth` nodes, each holding the one before, all of them also in one list."""
    chain = [Node()]
    for _ in range(depth - 1):
        n = Node()
        n.next = chain[-1]
        chain.append(n)
    return chain


def test_a_hundred_thousand_node_chain_is_refused_with_a_way_to_narrow(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    chain = fan_in_chain(100000)
    out = tmp_path / "big.svg"
    with pytest.raises(ValueError) as e:
        refgraph.show_backrefs([chain[0]], max_depth=100010, too_many=100010, filename=str(out))
    msg = str(e.value)
    assert "more than the 5000 boxes" in msg
    for hint in ("max_depth", "too_many", "filter", ".dot"):
        assert hint in msg
    # Without a filename the temporary .svg is not made either.
    with pytest.raises(ValueError):
        refgraph.show_backrefs([chain[0]], max_depth=100010, too_many=100010)
    assert os.listdir(str(tmp_path)) == []
    del chain


def test_the_whole_graph_is_still_written_as_dot(tmp_path):
    chain = fan_in_chain(6000)
    out = tmp_path / "big.dot"
    refgraph.show_backrefs([chain[0]], max_depth=6010, too_many=6010, filename=str(out))
    assert out.read_text().count("->") >= 2 * 6000 - 1


def test_a_three_thousand_node_fan_in_chain_is_drawn(tmp_path):
    chain = fan_in_chain(3000)
    out = tmp_path / "chain.svg"
    refgraph.show_backrefs([chain[0]], max_depth=3010, too_many=3010, filename=str(out))
    svg = out.read_text()
    assert svg.count('class="node"') >= 3000
    assert svg.count('class="edge"') >= 2 * 3000 - 1
