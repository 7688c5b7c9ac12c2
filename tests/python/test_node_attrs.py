"""objgraph's `extra_node_attrs` reaches the picture, not only the DOT text:
the built-in SVG paints the colours, labels, shapes and tooltips it gives,
and the callable runs after the capture, once per drawn object."""

import shutil

import refgraph


class Widget(object):
    pass


KEEP = {}


def attrs_for(target):
    seen = []

    def extra(obj):
        seen.append(type(obj).__name__)
        if obj is target:
            return {"fillcolor": "#33aaff", "fontcolor": "yellow", "label": "the <target>", "tooltip": "look here", "shape": "ellipse"}
        if isinstance(obj, list):
            return {"color": "0.0,1.0,1.0", "style": "filled,dashed", "skip": None}
        return {}

    return extra, seen


def test_show_backrefs_svg_paints_extra_node_attrs(tmp_path, capsys):
    target = Widget()
    holder = [target]
    extra, seen = attrs_for(target)
    out = tmp_path / "w.svg"
    refgraph.show_backrefs([target], max_depth=2, filename=str(out), extra_node_attrs=extra)
    svg = out.read_text()
    said = capsys.readouterr().out
    assert "Image generated as %s" % out in said
    assert "Widget" in seen and "list" in seen
    assert "#33aaff" in svg.lower()
    assert "the &lt;target&gt;" in svg
    assert "look here" in svg
    if shutil.which("dot") is None:
        assert "Drawn by refgraph's built-in layout" in svg
        assert 'fill="yellow"' in svg and "<ellipse " in svg
        assert 'stroke="#ff0000"' in svg and 'stroke-dasharray="5,2"' in svg
    # The .dot written beside it says the same.
    dot_path = said.split("Graph written to ", 1)[1].split(" (", 1)[0]
    with open(dot_path) as f:
        dot = f.read()
    assert 'fillcolor="#33aaff"' in dot and 'label="the <target>"' in dot and "skip" not in dot
    del holder


def test_show_chain_svg_takes_extra_node_attrs(tmp_path, capsys):
    target = Widget()
    KEEP["w"] = target
    chain = refgraph.find_backref_chain(target, refgraph.is_proper_module)
    assert len(chain) >= 3, chain
    extra, _ = attrs_for(target)
    out = tmp_path / "c.svg"
    refgraph.show_chain(chain, filename=str(out), extra_node_attrs=extra)
    svg = out.read_text()
    assert "#33aaff" in svg.lower() and "the &lt;target&gt;" in svg
    # Without extra_node_attrs the same chain is drawn in the default look.
    plain = tmp_path / "p.svg"
    refgraph.show_chain(chain, filename=str(plain))
    assert "#33aaff" not in plain.read_text().lower()
    capsys.readouterr()
    del KEEP["w"]
