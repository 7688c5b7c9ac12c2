"""Pictures and tables where the user is: IPython and Jupyter.

A graph call with no file name in IPython or Jupyter returns a ``Graph``,
which the notebook shows inline as SVG (drawn by refgraph's built-in
layout: no Graphviz needed). ``Why`` is the answer of ``refgraph.why``: a
str, with an HTML form for notebooks.
"""

import html
import sys

__all__ = ["Graph", "Paths", "Why", "inline_wanted"]


def inline_wanted():
    """True in a graphical IPython front end (Jupyter, qtconsole): there a
    graph with no file name is shown inline. Not in the terminal IPython,
    which cannot show pictures (objgraph draws the same line)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and "TerminalInteractiveShell" not in type(shell).__name__


class Graph(object):
    """A drawn graph: ``svg`` (built-in layout), ``dot`` (the DOT text, for
    Graphviz) and ``nodes`` (how many objects it shows). IPython and Jupyter
    display it inline; ``save(path)`` writes the SVG or DOT text."""

    def __init__(self, svg, dot, nodes):
        """Made by the graph calls: the SVG text, the DOT text, the object count."""
        self.svg = svg
        self.dot = dot
        self.nodes = nodes

    def _repr_svg_(self):
        """The drawing, for IPython and Jupyter."""
        return self.svg

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The drawing as SVG, with a text form for consoles."""
        return {"image/svg+xml": self.svg, "text/plain": repr(self)}

    def __repr__(self):
        return "<refgraph.Graph %d nodes>" % self.nodes

    def save(self, path):
        """Writes the drawing: DOT text if ``path`` ends in ``.dot`` or ``.gv``, else the SVG."""
        text = self.dot if str(path).lower().endswith((".dot", ".gv")) else self.svg
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


class Why(str):
    """The text ``refgraph.why`` returns (it is a ``str``), shown in
    notebooks as a block with each root's chain set out."""

    def _repr_html_(self):
        """The answer as a preformatted block."""
        return '<pre style="white-space:pre-wrap">%s</pre>' % html.escape(str(self))

    def _repr_pretty_(self, p, cycle):
        """The answer as it prints (not quoted, as a str's repr would be)."""
        p.text(str(self))


class Paths(list):
    """The answer of ``root_paths``: a list of paths (each a list of
    ``Step``, root first), shown in notebooks as one table per root.
    (No ``__init__`` of its own: refgraph makes one without running Python code.)"""

    def _repr_html_(self):
        """One table per root path."""
        if not self:
            return "<p>no root path</p>"
        out = []
        for i, path in enumerate(self, 1):
            rows = "".join("<tr><td>%s</td></tr>" % html.escape(s._line()) for s in path)
            out.append("<table><caption style=\"text-align:left\"><b>[%d]</b></caption>%s</table>" % (i, rows))
        return "<div>%s</div>" % "".join(out)

    def _repr_pretty_(self, p, cycle):
        """The paths as ``why`` prints them, numbered."""
        if cycle:
            p.text("[...]")
            return
        p.text("\n\n".join("[%d] " % i + "\n    ".join(s._line() for s in path) for i, path in enumerate(self, 1)) or "[]")
