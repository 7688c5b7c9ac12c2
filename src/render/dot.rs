//! DOT text in objgraph's dialect (`digraph ObjectGraph`, boxes filled by
//! depth, `from -> to` meaning "from holds to"), written straight into one
//! preallocated string: a DOT file is linear in the graph, and building it
//! through a syntax tree cost more than the built-in layout's own work on a
//! 3,000-box drawing. The text is the one graphviz-rust's printer gives
//! (`with_semi`): two-space indent, `name[a=b c=d];`, `a -> b [attrs];`.
//! Quoting of DOT strings and HTML labels is done here, in one place each.

use std::fmt::Write as _;

use super::attrs::NodeAttrs;
use super::style::{box_look, box_text, edge_look, valid_edges, xml_escape, BoxText, Rgb};
use super::view::View;

/// DOT text of a view; the same view always gives the same text.
pub fn to_dot(view: &View) -> String {
    to_dot_with_attrs(view, &[])
}

/// DOT text of a view with extra attributes on some nodes (objgraph's
/// `extra_node_attrs`): `extra` gives `(view node index, [(name, value)])`;
/// an extra attribute replaces one of the same name.
pub fn to_dot_with_attrs(view: &View, extra: &NodeAttrs) -> String {
    // Indices into `extra` per node, in the order given (a later one wins).
    let mut extra_of: Vec<Vec<usize>> = vec![Vec::new(); if extra.is_empty() { 0 } else { view.nodes.len() }];
    for (k, (index, _)) in extra.iter().enumerate() {
        if let Some(list) = extra_of.get_mut(*index) {
            list.push(k);
        }
    }
    let mut out = String::with_capacity(128 + 160 * view.nodes.len() + 48 * view.edges.len());
    out.push_str("digraph ObjectGraph {\n  graph[rankdir=TB];\n  node[shape=box style=filled fillcolor=white];");
    if let Some(caption) = &view.caption {
        out.push_str("\n  label=");
        push_quoted(&mut out, caption);
        out.push_str(";\n  labelloc=t;");
    }
    let mut attrs: Vec<(String, String)> = Vec::new();
    for i in 0..view.nodes.len() {
        out.push_str("\n  ");
        push_node_id(&mut out, &view.nodes[i].id);
        node_attrs(view, i, &mut attrs);
        for &k in extra_of.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            for (name, value) in &extra[k].1 {
                attrs.retain(|(n, _)| n != name);
                let mut q = String::with_capacity(value.len() + 2);
                push_quoted(&mut q, value);
                attrs.push((name.clone(), q));
            }
        }
        push_attr_list(&mut out, &attrs);
        out.push(';');
    }
    for (_, e) in valid_edges(view) {
        out.push_str("\n  ");
        push_node_id(&mut out, &view.nodes[e.from].id);
        out.push_str(" -> ");
        push_node_id(&mut out, &view.nodes[e.to].id);
        edge_attrs(view, e.from, e.to, &e.label, &mut attrs);
        if !attrs.is_empty() {
            out.push(' ');
            push_attr_list(&mut out, &attrs);
        }
        out.push(';');
    }
    out.push_str("\n}\n");
    out
}

/// `[a=b c=d]`, or nothing for no attributes.
fn push_attr_list(out: &mut String, attrs: &[(String, String)]) {
    if attrs.is_empty() {
        return;
    }
    out.push('[');
    for (k, (name, value)) in attrs.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out.push(']');
}

/// A box's attributes, names and printed values, into `attrs` (reused).
fn node_attrs(view: &View, index: usize, attrs: &mut Vec<(String, String)>) {
    attrs.clear();
    let look = box_look(&view.nodes[index], view.max_depth);
    attrs.push(("label".into(), label(&box_text(view, index))));
    attrs.push(("fillcolor".into(), color(look.fill)));
    if look.border != Rgb::BLACK {
        attrs.push(("color".into(), color(look.border)));
    }
    if look.font != Rgb::BLACK {
        attrs.push(("fontcolor".into(), color(look.font)));
    }
    if look.border_width != 1.0 {
        attrs.push(("penwidth".into(), look.border_width.to_string()));
    }
    if look.small {
        attrs.push(("fontsize".into(), "10".into()));
        attrs.push(("height".into(), "0.25".into()));
    }
}

/// An arrow's attributes into `attrs` (reused).
fn edge_attrs(view: &View, from: usize, to: usize, text: &str, attrs: &mut Vec<(String, String)>) {
    attrs.clear();
    let look = edge_look(view, from, to);
    if !text.is_empty() {
        attrs.push(("label".into(), quoted(text)));
    }
    if look.color != Rgb::BLACK {
        attrs.push(("color".into(), color(look.color)));
    }
    if look.dotted {
        attrs.push(("style".into(), "dotted".into()));
    }
}

/// A box label: a plain DOT string, or for a root an HTML-like label so the
/// root's name can be bold above the object's own lines.
fn label(text: &BoxText) -> String {
    match &text.heading {
        None => quoted(&text.lines.join("\n")),
        Some(heading) => {
            let mut html = format!("<<B>{}</B>", xml_escape(heading));
            for line in &text.lines {
                html.push_str("<BR/>");
                html.push_str(&xml_escape(line));
            }
            html.push('>');
            html
        }
    }
}

fn color(c: Rgb) -> String {
    let mut s = String::with_capacity(9);
    let _ = write!(s, "\"#{:02x}{:02x}{:02x}\"", c.0, c.1, c.2);
    s
}

/// A node id as given when it is a bare DOT identifier, quoted otherwise,
/// so an unexpected id can never break the file or name a keyword.
fn push_node_id(out: &mut String, id: &str) {
    const KEYWORDS: [&str; 6] = ["node", "edge", "graph", "digraph", "subgraph", "strict"];
    let bare = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(id));
    if bare {
        out.push_str(id);
    } else {
        push_quoted(out, id);
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

/// A DOT double-quoted string. Backslashes are doubled so that Graphviz's
/// own escapes (`\l`, `\N`, ...) in object reprs print as written; line
/// breaks become `\n` (centred lines, as objgraph's); other control
/// characters would upset Graphviz and become U+FFFD.
pub(super) fn push_quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_id(id: &str) -> String {
        let mut s = String::new();
        push_node_id(&mut s, id);
        s
    }

    #[test]
    fn quoting_escapes_what_dot_reads_specially() {
        assert_eq!(quoted(r#"a "b" \l"#), r#""a \"b\" \\l""#);
        assert_eq!(quoted("x\ny\r"), r#""x\ny""#);
    }

    #[test]
    fn odd_node_ids_are_quoted() {
        assert_eq!(node_id("o7f3a"), "o7f3a");
        assert_eq!(node_id("node"), "\"node\"");
        assert_eq!(node_id("a-b"), "\"a-b\"");
        assert_eq!(node_id(""), "\"\"");
    }

    use crate::render::view::{Role, ViewEdge, ViewNode};

    fn node(id: &str, lines: &[&str], depth: u32, role: Role) -> ViewNode {
        ViewNode { id: id.into(), lines: lines.iter().map(|l| l.to_string()).collect(), depth, role }
    }

    fn edge(from: usize, to: usize, label: &str) -> ViewEdge {
        ViewEdge { from, to, label: label.into() }
    }

    /// Every kind of box and arrow, with text that needs quoting.
    fn mixed_view(caption: Option<&str>) -> View {
        View {
            nodes: vec![
                node("o1", &["Node", "[2]"], 0, Role::Target),
                node("o2", &["dict", "{'a': \"b\\l\"}\r\nx"], 1, Role::Plain),
                node("o3", &["module", "<logging>"], 2, Role::Root("sys.modules['logging'] & <x>".into())),
                node("o4", &["list"], 1, Role::Highlight),
                node("more1", &["98 more"], 2, Role::TooMany(98)),
                node("node", &["odd id"], 3, Role::Plain),
                node("a-b", &["odd id\u{7}"], 3, Role::Root(String::new())),
            ],
            edges: vec![
                edge(1, 0, "a"),
                edge(2, 1, "__dict__"),
                edge(3, 0, ""),
                edge(4, 3, ""),
                edge(5, 6, "k\n'v'"),
                edge(6, 9, "dangling"),
            ],
            max_depth: 3,
            caption: caption.map(str::to_string),
        }
    }

    #[test]
    fn the_direct_writer_prints_what_the_syntax_tree_printer_does() {
        for caption in [None, Some("filters hid \"every\" path\nhere")] {
            let view = mixed_view(caption);
            assert_eq!(to_dot(&view), crate::render::dot_tree::to_dot(&view));
            let extra = vec![
                (1, vec![("color".to_string(), "blue".to_string()), ("fillcolor".to_string(), "#ff0\"0".to_string())]),
                (3, vec![("URL".to_string(), "http://x/?a=1&b".to_string())]),
                (1, vec![("color".to_string(), "red".to_string())]),
                (99, vec![("color".to_string(), "red".to_string())]),
            ];
            assert_eq!(to_dot_with_attrs(&view, &extra), crate::render::dot_tree::to_dot_with_attrs(&view, &extra));
        }
        assert_eq!(to_dot(&View::default()), crate::render::dot_tree::to_dot(&View::default()));
    }
}
