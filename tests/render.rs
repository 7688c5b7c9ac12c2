//! The rendering module from the outside: DOT text, the built-in SVG, the
//! Graphviz runner, and files written whole or not at all.

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use refgraph::render::{
    graphviz_available, render, render_to_file, render_with_attrs, to_dot, to_dot_with_attrs, Engine, Format, RenderError, Renderer, Role,
    View, ViewEdge, ViewNode,
};

fn node(id: &str, lines: &[&str], depth: u32, role: Role) -> ViewNode {
    ViewNode { id: id.to_string(), lines: lines.iter().map(|s| s.to_string()).collect(), depth, role }
}

fn edge(from: usize, to: usize, label: &str) -> ViewEdge {
    ViewEdge { from, to, label: label.to_string() }
}

/// The seed scenario: a stale logging namespace kept alive by three atexit
/// callbacks and by a list held from outside the heap, with 98 referrers cut.
fn logging_view() -> View {
    let mut nodes = vec![node("o1000", &["dict [2]", "logging namespace, 108 items"], 0, Role::Target)];
    let mut edges = Vec::new();
    for i in 1..=3 {
        let root = Role::Root(format!("atexit callback #{i} (1 ref)"));
        nodes.push(node(&format!("o20{i}"), &["function", "logging.shutdown"], 1, root));
        edges.push(edge(nodes.len() - 1, 0, "__globals__"));
    }
    nodes.push(node("o3000", &["list", "3 items"], 2, Role::Root("held from outside the heap (1 ref)".into())));
    let list = nodes.len() - 1;
    for i in 0..3 {
        nodes.push(node(&format!("o40{i}"), &["function", "logging._acquireLock"], 1, Role::Plain));
        let f = nodes.len() - 1;
        edges.push(edge(list, f, &format!("[{i}]")));
        edges.push(edge(f, 0, "__globals__"));
    }
    nodes.push(node("too_many_o1000", &["98 more"], 1, Role::TooMany(98)));
    edges.push(edge(nodes.len() - 1, 0, ""));
    View { nodes, edges, max_depth: 2, caption: None }
}

/// Text that needs escaping everywhere, a cycle, a self-loop, parallel
/// edges both ways, a highlighted box and a caption.
fn awkward_view() -> View {
    let nodes = vec![
        node("t", &["Foo", "<Foo object at 0x7f & \"quoted\" \\n>"], 0, Role::Target),
        node("d", &["dict", "12 items"], 1, Role::Plain),
        node("c", &["cell"], 1, Role::Highlight),
        node("f", &["frame", "app.py:12"], 2, Role::Plain),
        node("m", &["module", "app"], 3, Role::Root("sys.modules['app'] <&>".into())),
    ];
    let edges = vec![
        edge(1, 0, "'foo'"),
        edge(1, 0, "'bar'"),
        edge(0, 1, "__dict__"),
        edge(2, 0, "cell_contents"),
        edge(3, 1, "f_locals"),
        edge(3, 3, "f_back"),
        edge(3, 2, "closure"),
        edge(4, 1, "__dict__"),
        edge(4, 0, "str\n\"<key>\""),
    ];
    View { nodes, edges, max_depth: 3, caption: Some("filters hid \"some\" paths & <more>".into()) }
}

fn dot_on_path() -> bool {
    Command::new("dot").arg("-V").output().is_ok_and(|o| o.status.success())
}

fn builtin_svg(view: &View) -> String {
    let (bytes, renderer) = render(view, Format::Svg, Engine::BuiltIn).expect("built-in SVG");
    assert_eq!(renderer, Renderer::BuiltIn);
    String::from_utf8(bytes).expect("SVG is UTF-8")
}

/// Runs `f` on another thread and fails if it takes longer than a minute,
/// so a layout that loops forever fails instead of hanging the suite.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("rendering finished (no hang, no panic)")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// A small well-formedness check: tags nest and close, attribute values
/// are quoted, `&` only starts an entity, comments hold no `--`.
fn assert_well_formed(xml: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(lt) = rest.find('<') {
        assert_text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(body) = rest.strip_prefix("<?") {
            let end = body.find("?>").expect("processing instruction closes");
            rest = &body[end + 2..];
        } else if let Some(body) = rest.strip_prefix("<!--") {
            let end = body.find("-->").expect("comment closes");
            assert!(!body[..end].contains("--"), "`--` inside a comment");
            rest = &body[end + 3..];
        } else {
            let end = tag_end(rest);
            let tag = &rest[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name.trim()), "closing tag matches");
            } else {
                let self_closing = tag.ends_with('/');
                let tag = tag.trim_end_matches('/');
                let name = tag.split_whitespace().next().expect("tag has a name").to_string();
                assert_attributes(&tag[name.len()..]);
                if !self_closing {
                    open.push(name);
                }
            }
            rest = &rest[end + 1..];
        }
    }
    assert_text(rest);
    assert!(open.is_empty(), "unclosed tags: {open:?}");
}

/// Where a tag ends: the first `>` outside a quoted attribute value.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    panic!("tag never closes: {}", &s[..s.len().min(80)]);
}

fn assert_attributes(mut attrs: &str) {
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return;
        }
        let eq = attrs.find('=').expect("attribute has a value");
        let value = &attrs[eq + 1..];
        let q = value.chars().next().expect("attribute value");
        assert!(q == '"' || q == '\'', "attribute value is quoted: {attrs}");
        let close = value[1..].find(q).expect("attribute value closes") + 1;
        let inner = &value[1..close];
        assert!(!inner.contains('<'), "raw < in an attribute: {inner}");
        assert_text(inner);
        attrs = &value[close + 1..];
    }
}

fn assert_text(text: &str) {
    const ENTITIES: [&str; 5] = ["amp;", "lt;", "gt;", "quot;", "apos;"];
    for (i, _) in text.match_indices('&') {
        let after = &text[i + 1..];
        let ok = ENTITIES.iter().any(|e| after.starts_with(e)) || after.starts_with('#');
        assert!(ok, "bare & in {text:?}");
    }
    assert!(!text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')), "control character in {text:?}");
}

#[test]
#[should_panic(expected = "closing tag matches")]
fn the_well_formedness_check_catches_misnested_tags() {
    assert_well_formed("<svg><g></svg></g>");
}

#[test]
#[should_panic(expected = "bare &")]
fn the_well_formedness_check_catches_unescaped_text() {
    assert_well_formed("<text>a & b</text>");
}

// ---- DOT ----

#[test]
fn dot_names_every_box_label_and_arrow() {
    let view = logging_view();
    let dot = to_dot(&view);
    assert!(dot.starts_with("digraph ObjectGraph {"), "{dot}");
    assert!(dot.contains("node[shape=box style=filled fillcolor=white]"), "{dot}");
    for n in &view.nodes {
        assert!(dot.contains(&n.id), "{} missing", n.id);
    }
    assert!(dot.contains(r#"label="dict [2]\nlogging namespace, 108 items""#), "{dot}");
    assert!(dot.contains(r#"label="function\nlogging._acquireLock""#), "{dot}");
    assert!(dot.contains("o201 -> o1000 [label=\"__globals__\"]"), "{dot}");
    assert!(dot.contains("o3000 -> o401 [label=\"[1]\"]"), "{dot}");
    assert!(dot.contains("label=\"98 more referrers\""), "{dot}");
}

#[test]
fn dot_paints_targets_red_roots_green_and_names_roots_in_bold() {
    let dot = to_dot(&logging_view());
    let line = |id: &str| dot.lines().find(|l| l.trim_start().starts_with(&format!("{id}["))).expect(id).to_string();
    let target = line("o1000");
    assert!(target.contains("fontcolor=\"#ff0000\"") && target.contains("color=\"#ff0000\""), "{target}");
    // objgraph's module green (h=.3, s=1), shaded by depth.
    let root = line("o3000");
    assert!(root.contains("<B>held from outside the heap (1 ref)</B><BR/>list<BR/>3 items"), "{root}");
    assert!(root.contains("fillcolor=\"#0f4d00\"") && root.contains("fontcolor=\"#ffffff\""), "{root}");
    assert!(line("o201").contains("fillcolor=\"#21a600\""));
    // Plain boxes: white towards grey, as objgraph's gradient.
    assert!(line("o400").contains("fillcolor=\"#a6a6a6\""));
    let too_many = line("too_many_o1000");
    assert!(too_many.contains("color=\"#ff0000\"") && too_many.contains("fontcolor=\"#ffffff\""), "{too_many}");
    assert!(dot.contains("too_many_o1000 -> o1000 [color=\"#ff0000\" style=dotted]"), "{dot}");
}

#[test]
fn dot_escapes_quotes_backslashes_newlines_and_html() {
    let dot = to_dot(&awkward_view());
    assert!(dot.contains(r#"label="Foo\n<Foo object at 0x7f & \"quoted\" \\n>""#), "{dot}");
    assert!(dot.contains(r#"label="str\n\"<key>\"""#), "{dot}");
    assert!(dot.contains("<B>sys.modules[&apos;app&apos;] &lt;&amp;&gt;</B><BR/>module<BR/>app"), "{dot}");
    assert!(dot.contains(r#"label="filters hid \"some\" paths & <more>""#), "{dot}");
    assert!(dot.contains("labelloc=t"), "{dot}");
    assert!(dot.contains("f -> f [label=\"f_back\"]"), "{dot}");
}

#[test]
fn dot_quotes_ids_that_are_not_plain_identifiers() {
    let view = View {
        nodes: vec![node("graph", &["a"], 0, Role::Target), node("x-y \"z\"", &["b"], 1, Role::Plain)],
        edges: vec![edge(1, 0, "")],
        max_depth: 1,
        caption: None,
    };
    let dot = to_dot(&view);
    assert!(dot.contains(r#""x-y \"z\"" -> "graph""#), "{dot}");
}

#[test]
fn output_is_the_same_every_time() {
    let view = awkward_view();
    assert_eq!(to_dot(&view), to_dot(&view.clone()));
    assert_eq!(builtin_svg(&view), builtin_svg(&view.clone()));
}

#[test]
fn dangling_edges_are_left_out_not_fatal() {
    let mut view = logging_view();
    view.edges.push(edge(0, 999, "nowhere"));
    assert!(!to_dot(&view).contains("nowhere"));
    assert!(!builtin_svg(&view).contains("nowhere"));
}

// ---- the built-in SVG ----

#[test]
fn builtin_svg_is_well_formed_and_has_every_text() {
    for view in [logging_view(), awkward_view()] {
        let svg = builtin_svg(&view);
        assert_well_formed(&svg);
        assert!(svg.contains("<!-- Drawn by refgraph's built-in layout"), "provenance comment");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "a coordinate is not a number");
        for n in &view.nodes {
            for line in n.lines.iter().filter(|_| !matches!(n.role, Role::TooMany(_))) {
                assert!(svg.contains(&format!(">{}</text>", xml_escape(line))), "{line:?} missing");
            }
            assert!(svg.contains(&format!("<title>{}</title>", xml_escape(&n.id))));
        }
        for e in &view.edges {
            for line in e.label.lines() {
                assert!(svg.contains(&format!(">{}</text>", xml_escape(line))), "label {line:?} missing");
            }
        }
    }
}

#[test]
fn builtin_svg_paints_like_the_dot() {
    let svg = builtin_svg(&logging_view());
    assert!(svg.contains("fill=\"#ffcccc\" stroke=\"#ff0000\" stroke-width=\"2\""), "target box");
    assert!(svg.contains("fill=\"#ff0000\">dict [2]</text>"), "target text is red");
    assert!(svg.contains("fill=\"#0f4d00\""), "root green");
    assert!(svg.contains("font-weight=\"bold\">held from outside the heap (1 ref)</text>"));
    assert!(svg.contains(">98 more referrers</text>"));
    assert!(svg.contains("stroke-dasharray"), "the cut is dotted");
    let awkward = builtin_svg(&awkward_view());
    assert!(awkward.contains(">filters hid &quot;some&quot; paths &amp; &lt;more&gt;</text>"), "caption");
}

/// objgraph's `extra_node_attrs`, as the built-in renderer reads them.
fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn builtin_svg_honours_extra_node_attributes() {
    let view = logging_view();
    let extra = vec![
        (1, attrs(&[("fillcolor", "#33aaff"), ("color", "blue"), ("fontcolor", "yellow"), ("style", "filled,dashed")])),
        (2, attrs(&[("label", "renamed <box>\nsecond line"), ("tooltip", "a tip & more"), ("URL", "https://example.com/?a=1&b=2")])),
        (5, attrs(&[("shape", "ellipse"), ("penwidth", "3")])),
        (6, attrs(&[("fillcolor", "0.3,1,1"), ("shape", "plaintext")])),
        (99, attrs(&[("fillcolor", "red")])),
    ];
    let (bytes, renderer) = render_with_attrs(&view, Format::Svg, Engine::BuiltIn, &extra).expect("svg");
    assert_eq!(renderer, Renderer::BuiltIn);
    let svg = String::from_utf8(bytes).expect("UTF-8");
    assert_well_formed(&svg);
    assert!(svg.contains("fill=\"#33aaff\" stroke=\"blue\" stroke-width=\"1\" stroke-dasharray=\"5,2\"/>"), "{svg}");
    assert!(svg.contains("fill=\"yellow\">function</text>"), "font colour");
    // The label replaces the box's text, and the box grows to fit it.
    assert!(svg.contains(">renamed &lt;box&gt;</text>") && svg.contains(">second line</text>"));
    assert!(svg.contains("<title>a tip &amp; more</title>"));
    assert!(svg.contains("<a href=\"https://example.com/?a=1&amp;b=2\""));
    assert!(svg.contains("<ellipse ") && svg.contains("stroke-width=\"3\""), "ellipse with a thick pen");
    assert!(svg.contains("fill=\"#33ff00\" stroke=\"none\""), "HSV fill, no outline");
    // Boxes without attributes keep their look; the same input gives the same bytes.
    assert!(svg.contains("fill=\"#ffcccc\" stroke=\"#ff0000\" stroke-width=\"2\""), "target box");
    let again = render_with_attrs(&view, Format::Svg, Engine::BuiltIn, &extra).expect("svg").0;
    assert_eq!(svg.as_bytes(), again.as_slice());
    assert_ne!(svg, builtin_svg(&view));
    // The DOT text carries the same attributes, for Graphviz.
    let dot = to_dot_with_attrs(&view, &extra);
    assert!(dot.contains("fillcolor=\"#33aaff\"") && dot.contains("shape=\"ellipse\"") && dot.contains("tooltip=\"a tip & more\""));
}

#[test]
fn builtin_layout_puts_referrers_above_and_boxes_apart() {
    let svg = builtin_svg(&logging_view());
    let rects = node_rects(&svg);
    let target = rects["o1000"];
    for (id, r) in &rects {
        if id != "o1000" {
            assert!(r.1 + r.3 <= target.1, "{id} is not above the target");
        }
    }
    let all: Vec<_> = rects.values().collect();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            let apart = a.0 + a.2 <= b.0 || b.0 + b.2 <= a.0 || a.1 + a.3 <= b.1 || b.1 + b.3 <= a.1;
            assert!(apart, "{a:?} overlaps {b:?}");
        }
    }
}

/// Each node's box as (x, y, width, height), by node id.
fn node_rects(svg: &str) -> std::collections::BTreeMap<String, (f64, f64, f64, f64)> {
    let re = regex::Regex::new(
        r#"<g class="node"><title>([^<]*)</title>\s*<rect x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)" height="([-\d.]+)""#,
    )
    .expect("regex");
    re.captures_iter(svg)
        .map(|c| {
            let n = |i: usize| c[i].parse::<f64>().expect("number");
            (c[1].to_string(), (n(2), n(3), n(4), n(5)))
        })
        .collect()
}

#[test]
fn cycles_self_loops_and_big_fan_ins_neither_hang_nor_panic() {
    let svg = within_a_minute(|| {
        let mut nodes = vec![node("t", &["dict"], 0, Role::Target)];
        let mut edges = Vec::new();
        for i in 1..=100 {
            nodes.push(node(&format!("f{i}"), &["function", &format!("f{i}")], 1, Role::Plain));
            edges.push(edge(i, 0, "__globals__"));
            edges.push(edge(0, i, "back"));
        }
        edges.extend([edge(0, 0, "self"), edge(0, 0, "again"), edge(5, 5, ""), edge(1, 2, "x"), edge(1, 2, "y")]);
        let view = View { nodes, edges, max_depth: 1, caption: None };
        builtin_svg(&view)
    });
    assert_well_formed(&svg);
    assert!(!svg.contains("NaN"));
    assert_eq!(svg.matches("<g class=\"edge\">").count(), 205);
}

#[test]
fn empty_view_still_draws() {
    let svg = builtin_svg(&View::default());
    assert_well_formed(&svg);
    let captioned = View { caption: Some("no root retains the selected objects".into()), ..View::default() };
    let svg = builtin_svg(&captioned);
    assert!(svg.contains(">no root retains the selected objects</text>"));
    assert!(to_dot(&captioned).contains("label=\"no root retains the selected objects\""));
}

// ---- formats, engines, files ----

#[test]
fn formats_come_from_extensions() {
    assert_eq!(Format::from_path(Path::new("a.dot")).ok(), Some(Format::Dot));
    assert_eq!(Format::from_path(Path::new("a.GV")).ok(), Some(Format::Dot));
    assert_eq!(Format::from_path(Path::new("dir/a.Svg")).ok(), Some(Format::Svg));
    assert_eq!(Format::from_path(Path::new("a.png")).ok(), Some(Format::Png));
    let err = Format::from_path(Path::new("graph.jpeg")).expect_err("jpeg is not ours");
    assert!(matches!(err, RenderError::UnknownFormat { .. }));
    assert!(err.to_string().contains("graph.jpeg"), "{err}");
    assert!(Format::from_path(Path::new("noextension")).is_err());
}

#[test]
fn renderers_say_who_drew() {
    assert_eq!(Renderer::DotText.to_string(), "DOT text");
    assert_eq!(Renderer::Graphviz.to_string(), "Graphviz dot");
    assert_eq!(Renderer::BuiltIn.to_string(), "the built-in layout");
}

#[test]
fn dot_format_needs_no_renderer() {
    for engine in [Engine::Auto, Engine::Graphviz, Engine::BuiltIn] {
        let (bytes, renderer) = render(&logging_view(), Format::Dot, engine).expect("DOT");
        assert_eq!(renderer, Renderer::DotText);
        assert_eq!(bytes, to_dot(&logging_view()).into_bytes());
    }
}

#[test]
fn graphviz_draws_svg_and_png_or_says_it_is_missing() {
    assert_eq!(graphviz_available(), dot_on_path());
    let view = awkward_view();
    if dot_on_path() {
        let (svg, r) = render(&view, Format::Svg, Engine::Graphviz).expect("dot draws SVG");
        assert_eq!(r, Renderer::Graphviz);
        let svg = String::from_utf8(svg).expect("UTF-8");
        assert!(svg.contains("<svg") && svg.contains("cell_contents"));
        let (png, r) = render(&view, Format::Png, Engine::Auto).expect("dot draws PNG");
        assert_eq!(r, Renderer::Graphviz);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    } else {
        let err = render(&view, Format::Svg, Engine::Graphviz).expect_err("no dot");
        assert!(matches!(err, RenderError::GraphvizMissing), "{err}");
        assert!(err.to_string().contains("not installed"), "{err}");
    }
}

/// Re-runs this test binary with an empty PATH, so the no-Graphviz paths
/// are tested even on a machine that has Graphviz.
#[test]
fn without_graphviz_on_path_svg_and_png_use_the_builtin_layout() {
    let me = std::env::current_exe().expect("test binary");
    let out = Command::new(me)
        .args(["--ignored", "--exact", "child_without_graphviz", "--test-threads=1"])
        .env("PATH", "")
        .output()
        .expect("re-run the tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run by without_graphviz_on_path_svg_and_png_use_the_builtin_layout, with PATH emptied"]
fn child_without_graphviz() {
    assert!(!graphviz_available());
    let view = logging_view();
    let err = render(&view, Format::Svg, Engine::Graphviz).expect_err("no dot");
    assert!(matches!(err, RenderError::GraphvizMissing), "{err}");
    let (_, r) = render(&view, Format::Svg, Engine::Auto).expect("falls back");
    assert_eq!(r, Renderer::BuiltIn);
    let (png, r) = render(&view, Format::Png, Engine::Auto).expect("PNG from the built-in layout");
    assert_eq!(r, Renderer::BuiltIn);
    assert!(png.starts_with(b"\x89PNG"));
}

#[test]
fn png_with_the_builtin_layout_is_the_svg_rasterised() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("graph.png");
    let r = render_to_file(&logging_view(), &path, Engine::BuiltIn).expect("PNG without dot");
    assert_eq!(r, Renderer::BuiltIn);
    let png = std::fs::read(&path).expect("written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG file");
    // The built-in SVG's size, at 96 dpi: wider and taller than one box.
    let (w, h) = (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert!(w > 100 && h > 50, "{w}x{h}");
}

#[test]
fn a_missing_directory_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("no/such/dir/graph.svg");
    let err = render_to_file(&logging_view(), &path, Engine::BuiltIn).expect_err("no directory");
    assert!(matches!(err, RenderError::Io { .. }));
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0, "nothing left behind");
}

#[test]
fn a_failed_render_keeps_the_old_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A format nothing draws: the render fails before anything is written.
    let path = dir.path().join("graph.jpeg");
    std::fs::write(&path, b"old picture").expect("seed file");
    assert!(render_to_file(&logging_view(), &path, Engine::BuiltIn).is_err());
    assert_eq!(std::fs::read(&path).expect("still there"), b"old picture");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
}

#[test]
fn files_are_written_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let view = logging_view();
    let svg = dir.path().join("graph.svg");
    assert_eq!(render_to_file(&view, &svg, Engine::BuiltIn).expect("svg"), Renderer::BuiltIn);
    assert_eq!(std::fs::read_to_string(&svg).expect("read"), builtin_svg(&view));
    let dot = dir.path().join("graph.gv");
    assert_eq!(render_to_file(&view, &dot, Engine::Auto).expect("dot"), Renderer::DotText);
    assert_eq!(std::fs::read_to_string(&dot).expect("read"), to_dot(&view));
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
}

#[test]
fn writing_onto_a_directory_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("taken.svg");
    std::fs::create_dir(&path).expect("a directory with a picture's name");
    let err = render_to_file(&logging_view(), &path, Engine::BuiltIn).expect_err("cannot replace a directory");
    assert!(err.to_string().contains("taken.svg"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "no temporary file left");
}
