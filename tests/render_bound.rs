//! The bound on pictures: a drawing too big to read is refused with a
//! message saying how to narrow it, quickly and without a file left
//! behind, while a large but bounded one is drawn in linear size.

use refgraph::render::{render, render_to_file, Engine, Format, RenderError, Role, View, ViewEdge, ViewNode, MAX_BOXES};

/// A list holding every node of a `n`-long chain, as `show_backrefs` of the
/// chain's last node draws it: the quadratic case for layered layouts.
fn fan_in_chain(n: usize) -> View {
    let mut nodes = vec![ViewNode { id: "list".into(), lines: vec!["list".into(), format!("len={n}")], depth: 1, role: Role::Plain }];
    let mut edges = Vec::new();
    for i in 0..n {
        let role = if i + 1 == n { Role::Target } else { Role::Plain };
        nodes.push(ViewNode { id: format!("o{i}"), lines: vec!["Node".into()], depth: (n - i) as u32, role });
        edges.push(ViewEdge { from: 0, to: i + 1, label: format!("[{i}]") });
        if i > 0 {
            edges.push(ViewEdge { from: i, to: i + 1, label: "next".into() });
        }
    }
    View { nodes, edges, max_depth: n as u32, caption: None }
}

#[test]
fn a_hundred_thousand_boxes_are_refused_with_a_way_to_narrow() {
    let view = fan_in_chain(100_000);
    let err = render(&view, Format::Svg, Engine::BuiltIn).unwrap_err();
    assert!(matches!(err, RenderError::TooBig { boxes: 100_001, arrows: 199_999, .. }), "{err:?}");
    let msg = err.to_string();
    for hint in ["100001 boxes", "max_depth", "--max-depth", "too_many", "--too-many", "filter", ".dot"] {
        assert!(msg.contains(hint), "{hint:?} missing from {msg:?}");
    }
    // Graphviz is refused the same picture, before it is looked for.
    assert!(matches!(render(&view, Format::Png, Engine::Graphviz), Err(RenderError::TooBig { .. })));
}

#[test]
fn a_refused_picture_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.svg");
    let err = render_to_file(&fan_in_chain(MAX_BOXES), &path, Engine::BuiltIn).unwrap_err();
    assert!(matches!(err, RenderError::TooBig { .. }));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn dot_text_of_a_big_graph_is_still_written() {
    let (bytes, _) = render(&fan_in_chain(20_000), Format::Dot, Engine::BuiltIn).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.matches("->").count(), 39_999);
}

#[test]
fn the_largest_pictures_allowed_are_drawn_in_linear_size() {
    // MAX_BOXES - 1 chain nodes and the list: exactly at the bound.
    let view = fan_in_chain(MAX_BOXES - 1);
    let (bytes, _) = render(&view, Format::Svg, Engine::BuiltIn).unwrap();
    let svg = String::from_utf8(bytes).unwrap();
    assert_eq!(svg.matches("<g class=\"node\">").count(), MAX_BOXES);
    assert_eq!(svg.matches("<g class=\"edge\">").count(), view.edges.len());
    // A path per arrow through every layer it crosses would be ~MAX_BOXES²
    // curves (a gigabyte, ~80 kB per item); lanes keep it to a few per arrow.
    let per_item = svg.len() / (view.nodes.len() + view.edges.len());
    assert!(per_item < 2_000, "{per_item} bytes per box or arrow");
}

#[test]
fn a_big_drawing_is_written_to_its_file_as_drawn_with_the_same_text() {
    // Megabytes of SVG, so the file gets it in many pieces.
    let view = fan_in_chain(1_000);
    let (bytes, _) = render(&view, Format::Svg, Engine::BuiltIn).unwrap();
    assert!(bytes.len() > 1_000_000, "{} bytes", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.svg");
    render_to_file(&view, &path, Engine::BuiltIn).unwrap();
    assert!(std::fs::read(&path).unwrap() == bytes, "the file differs from the drawing");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}
