//! The DOT writer as it was first made, through graphviz-rust's syntax tree
//! and printer: kept for tests, as the reference the direct writer in
//! `dot.rs` must match byte for byte.

use graphviz_rust::dot_structures::{Attribute, Edge, EdgeTy, Graph, GraphAttributes, Id, Node, NodeId, Stmt, Vertex};
use graphviz_rust::printer::{DotPrinter, PrinterContext};

use super::attrs::NodeAttrs;
use super::style::{box_look, box_text, edge_look, valid_edges, xml_escape, BoxText, Rgb};
use super::view::View;

/// DOT text of a view; the same view always gives the same text.
pub(crate) fn to_dot(view: &View) -> String {
    let mut ctx = PrinterContext::default();
    ctx.with_semi();
    let mut s = graph(view).print(&mut ctx);
    s.push('\n');
    s
}

/// DOT text of a view with extra attributes on some nodes (objgraph's
/// `extra_node_attrs`): `extra` gives `(view node index, [(name, value)])`;
/// an extra attribute replaces one of the same name.
pub(crate) fn to_dot_with_attrs(view: &View, extra: &NodeAttrs) -> String {
    let mut g = graph(view);
    if let Graph::DiGraph { stmts, .. } = &mut g {
        // Node statements follow the graph's own, in view order.
        let first = stmts.iter().position(|st| matches!(st, Stmt::Node(_))).unwrap_or(stmts.len());
        for (index, attrs) in extra.iter().filter(|(i, _)| *i < view.nodes.len()) {
            if let Some(Stmt::Node(Node { attributes, .. })) = stmts.get_mut(first + index) {
                for (k, v) in attrs {
                    attributes.retain(|Attribute(name, _)| *name != plain(k));
                    attributes.push(attr(k, quoted(v)));
                }
            }
        }
    }
    let mut ctx = PrinterContext::default();
    ctx.with_semi();
    let mut s = g.print(&mut ctx);
    s.push('\n');
    s
}

fn graph(view: &View) -> Graph {
    let mut stmts = vec![
        Stmt::GAttribute(GraphAttributes::Graph(vec![attr("rankdir", plain("TB"))])),
        Stmt::GAttribute(GraphAttributes::Node(vec![
            attr("shape", plain("box")),
            attr("style", plain("filled")),
            attr("fillcolor", plain("white")),
        ])),
    ];
    if let Some(caption) = &view.caption {
        stmts.push(Stmt::Attribute(attr("label", quoted(caption))));
        stmts.push(Stmt::Attribute(attr("labelloc", plain("t"))));
    }
    stmts.extend((0..view.nodes.len()).map(|i| Stmt::Node(node(view, i))));
    stmts.extend(valid_edges(view).map(|(_, e)| Stmt::Edge(edge(view, e.from, e.to, &e.label))));
    Graph::DiGraph { id: plain("ObjectGraph"), strict: false, stmts }
}

fn node(view: &View, index: usize) -> Node {
    let n = &view.nodes[index];
    let look = box_look(n, view.max_depth);
    let mut attributes = vec![attr("label", label(&box_text(view, index))), attr("fillcolor", color(look.fill))];
    if look.border != Rgb::BLACK {
        attributes.push(attr("color", color(look.border)));
    }
    if look.font != Rgb::BLACK {
        attributes.push(attr("fontcolor", color(look.font)));
    }
    if look.border_width != 1.0 {
        attributes.push(attr("penwidth", plain(&look.border_width.to_string())));
    }
    if look.small {
        attributes.push(attr("fontsize", plain("10")));
        attributes.push(attr("height", plain("0.25")));
    }
    Node::new(NodeId(node_id(&n.id), None), attributes)
}

fn edge(view: &View, from: usize, to: usize, text: &str) -> Edge {
    let look = edge_look(view, from, to);
    let mut attributes = Vec::new();
    if !text.is_empty() {
        attributes.push(attr("label", quoted(text)));
    }
    if look.color != Rgb::BLACK {
        attributes.push(attr("color", color(look.color)));
    }
    if look.dotted {
        attributes.push(attr("style", plain("dotted")));
    }
    let end = |i: usize| Vertex::N(NodeId(node_id(&view.nodes[i].id), None));
    Edge { ty: EdgeTy::Pair(end(from), end(to)), attributes }
}

/// A box label: a plain DOT string, or for a root an HTML-like label so the
/// root's name can be bold above the object's own lines.
fn label(text: &BoxText) -> Id {
    match &text.heading {
        None => quoted(&text.lines.join("\n")),
        Some(heading) => {
            let mut html = format!("<<B>{}</B>", xml_escape(heading));
            for line in &text.lines {
                html.push_str("<BR/>");
                html.push_str(&xml_escape(line));
            }
            html.push('>');
            Id::Html(html)
        }
    }
}

fn attr(key: &str, value: Id) -> Attribute {
    Attribute(plain(key), value)
}

fn plain(s: &str) -> Id {
    Id::Plain(s.to_string())
}

fn color(c: Rgb) -> Id {
    quoted(&c.hex())
}

/// A node id as given when it is a bare DOT identifier, quoted otherwise,
/// so an unexpected id can never break the file or name a keyword.
fn node_id(id: &str) -> Id {
    const KEYWORDS: [&str; 6] = ["node", "edge", "graph", "digraph", "subgraph", "strict"];
    let bare = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(id));
    if bare {
        plain(id)
    } else {
        quoted(id)
    }
}

/// A DOT double-quoted string, quoted as the direct writer quotes it
/// (what this reference checks is the document's structure).
fn quoted(s: &str) -> Id {
    let mut out = String::new();
    super::dot::push_quoted(&mut out, s);
    Id::Escaped(out)
}
