//! SVG without Graphviz: the view laid out by layout-rs (a pure-Rust
//! Sugiyama-style layered layout) with refgraph's colours, so `.svg` works on
//! a machine that has no `dot`.

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::render::get_shape_size;
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;

use super::style::box_style;
use super::view::View;

const FONT: usize = 13;

/// SVG text of a view, drawn by the built-in layout.
pub(crate) fn to_svg(view: &View) -> String {
    let dir = Orientation::TopToBottom;
    let mut g = VisualGraph::new(dir);
    let mut handles = Vec::with_capacity(view.nodes.len());
    for n in &view.nodes {
        let st = box_style(n, view);
        let shape = ShapeKind::Box(st.lines.join("\n"));
        let look = StyleAttr::new(Color::fast(&st.border), 1, Some(Color::fast(&st.fill)), 6, FONT);
        let size = get_shape_size(dir, &shape, FONT, false);
        handles.push(g.add_node(Element::create(shape, look, dir, size)));
    }
    for e in &view.edges {
        let look = StyleAttr::new(Color::fast("#333333"), 1, None, 0, FONT - 2);
        let arrow = Arrow::new(LineEndKind::None, LineEndKind::Arrow, LineStyleKind::Normal, &e.label, &look, &None, &None);
        g.add_edge(arrow, handles[e.from], handles[e.to]);
    }
    let mut svg = SVGWriter::new();
    if !view.nodes.is_empty() {
        g.do_it(false, false, false, &mut svg);
    }
    let body = svg.finalize();
    let mut out = String::with_capacity(body.len() + 200);
    let mut lines = body.lines();
    // Keep the XML prolog first, then say who drew it.
    if let Some(first) = lines.next() {
        out.push_str(first);
        out.push('\n');
    }
    out.push_str("<!-- drawn by refgraph's built-in layout (layout-rs); install Graphviz for dot's layout -->\n");
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    if let Some(c) = &view.caption {
        let esc = c.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        out = out.replacen("</svg>", &format!("<text x=\"10\" y=\"20\" font-size=\"14\">{esc}</text>\n</svg>"), 1);
    }
    out
}
