//! DOT text, built as a graphviz-rust syntax tree and printed by it, so the
//! quoting is graphviz-rust's job and not ours.

use graphviz_rust::dot_structures::{Attribute, Edge, EdgeTy, Graph, GraphAttributes, Id, Node, NodeId, Stmt, Vertex};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

use super::style::box_style;
use super::view::View;

fn plain(s: &str) -> Id {
    Id::Plain(s.to_string())
}

/// A quoted DOT string: backslashes and quotes escaped, lines joined with
/// `\l`-free `\n` so each line is centred as objgraph's are.
fn quoted(s: &str) -> Id {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    Id::Escaped(out)
}

fn attr(k: &str, v: Id) -> Attribute {
    Attribute(plain(k), v)
}

/// The syntax tree of a view.
pub(crate) fn graph(view: &View) -> Graph {
    let mut stmts = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![attr("fontname", quoted("Helvetica"))])),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("shape", plain("box")),
            attr("style", quoted("filled,rounded")),
            attr("fillcolor", quoted("white")),
            attr("fontname", quoted("Helvetica")),
            attr("fontsize", plain("11")),
        ])),
        Stmt::GAttribute(GraphAttributes::Edge(vec![
            attr("fontname", quoted("Helvetica")),
            attr("fontsize", plain("10")),
        ])),
    ];
    if let Some(c) = &view.caption {
        stmts.push(Stmt::Attribute(attr("label", quoted(c))));
        stmts.push(Stmt::Attribute(attr("labelloc", plain("t"))));
    }
    for n in &view.nodes {
        let st = box_style(n, view);
        stmts.push(Stmt::Node(Node {
            id: NodeId(plain(&n.id), None),
            attributes: vec![
                attr("label", quoted(&st.lines.join("\n"))),
                attr("fillcolor", quoted(&st.fill)),
                attr("color", quoted(&st.border)),
                attr("fontcolor", quoted(&st.font)),
            ],
        }));
    }
    for e in &view.edges {
        let mut attributes = Vec::new();
        if !e.label.is_empty() {
            attributes.push(attr("label", quoted(&e.label)));
        }
        stmts.push(Stmt::Edge(Edge {
            ty: EdgeTy::Pair(
                Vertex::N(NodeId(plain(&view.nodes[e.from].id), None)),
                Vertex::N(NodeId(plain(&view.nodes[e.to].id), None)),
            ),
            attributes,
        }));
    }
    Graph::DiGraph { id: plain("ObjectGraph"), strict: false, stmts }
}

/// DOT text of a view.
pub fn to_dot(view: &View) -> String {
    let mut s = graph(view).print(&mut PrinterContext::default());
    s.push('\n');
    s
}
