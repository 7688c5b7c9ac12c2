//! The look of a drawing, shared by the DOT writer and the built-in SVG
//! renderer so both say the same thing: objgraph's depth shading, targets in
//! red, roots in green under their name, a red box where `too_many` cut.
//! Colours are worked out here as `#rrggbb` once, so Graphviz and the
//! built-in layout paint the same pixels. The XML escaping both need (SVG
//! text, Graphviz's HTML-like labels) lives here too; nothing else here
//! knows either format.

use std::borrow::Cow;

use super::view::{Role, View, ViewNode};

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub const BLACK: Rgb = Rgb(0, 0, 0);
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    pub const RED: Rgb = Rgb(255, 0, 0);

    /// `#rrggbb`, which both DOT and SVG accept.
    pub fn hex(self) -> String {
        self.hex_text().as_str().to_string()
    }

    /// The same text held on the stack: a big drawing paints every box
    /// and arrow, and an allocation (and `format!`) for each was a tenth
    /// of its time.
    pub fn hex_text(self) -> HexText {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut b = [b'#'; 7];
        for (i, c) in [self.0, self.1, self.2].into_iter().enumerate() {
            b[1 + 2 * i] = DIGITS[usize::from(c >> 4)];
            b[2 + 2 * i] = DIGITS[usize::from(c & 15)];
        }
        HexText(b)
    }
}

/// `#rrggbb` of an [`Rgb`], without a `String`.
#[derive(Clone, Copy)]
pub(crate) struct HexText([u8; 7]);

impl HexText {
    pub fn as_str(&self) -> &str {
        // Only '#' and ASCII hex digits are ever written into it.
        std::str::from_utf8(&self.0).unwrap_or("#000000")
    }
}

/// An HSV colour (components in 0..=1, as objgraph writes them) in RGB.
pub(crate) fn hsv(h: f64, s: f64, v: f64) -> Rgb {
    let (s, v) = (s.clamp(0.0, 1.0), v.clamp(0.0, 1.0));
    let h6 = h.rem_euclid(1.0) * 6.0;
    let sector = h6.floor();
    let f = h6 - sector;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match sector as u8 {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    let byte = |x: f64| (x * 255.0).round() as u8;
    Rgb(byte(r), byte(g), byte(b))
}

/// objgraph's `_gradient`: the HSV colour `depth/max_depth` of the way from
/// `start` to `end`. Depths past `max_depth` stay at `end` rather than
/// running off the scale.
fn gradient(start: (f64, f64, f64), end: (f64, f64, f64), depth: u32, max_depth: u32) -> (f64, f64, f64) {
    if max_depth == 0 {
        return start;
    }
    let f = (f64::from(depth) / f64::from(max_depth)).min(1.0);
    let mix = |a: f64, b: f64| a * (1.0 - f) + b * f;
    (mix(start.0, end.0), mix(start.1, end.1), mix(start.2, end.2))
}

/// How one box is painted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BoxLook {
    pub fill: Rgb,
    pub border: Rgb,
    pub font: Rgb,
    /// Border width in points (Graphviz `penwidth`).
    pub border_width: f64,
    /// The "too many" box is a footnote, so its text is smaller.
    pub small: bool,
}

/// objgraph paints text white on fills darker than half value.
fn font_on(v: f64) -> Rgb {
    if v < 0.5 {
        Rgb::WHITE
    } else {
        Rgb::BLACK
    }
}

pub(crate) fn box_look(node: &ViewNode, max_depth: u32) -> BoxLook {
    let (_, _, v) = gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), node.depth, max_depth);
    let plain = |fill: Rgb, font: Rgb| BoxLook { fill, border: Rgb::BLACK, font, border_width: 1.0, small: false };
    match node.role {
        // objgraph only turns the text red; a red frame on a pink fill makes
        // the object being asked about stand out from across the room.
        Role::Target => BoxLook { fill: hsv(0.0, 0.2, 1.0), border: Rgb::RED, font: Rgb::RED, border_width: 2.0, small: false },
        Role::Root(_) => plain(hsv(0.3, 1.0, v), font_on(v)),
        Role::Highlight => {
            let v = 0.5 + v * 0.5;
            plain(hsv(0.6, 0.6, v), font_on(v))
        }
        Role::TooMany(_) => {
            let (h, s, v) = gradient((0.0, 1.0, 1.0), (0.0, 1.0, 0.3), node.depth, max_depth);
            BoxLook { fill: hsv(h, s, v), border: Rgb::RED, font: Rgb::WHITE, border_width: 1.0, small: true }
        }
        Role::Plain => plain(hsv(0.0, 0.0, v), font_on(v)),
    }
}

/// The text of one box: an optional bold heading (a root's name) over the
/// plain lines. Embedded line breaks are split here so every renderer sees
/// one line per entry. Lines are borrowed from the view where they need no
/// change: a big drawing has thousands of boxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BoxText<'a> {
    pub heading: Option<String>,
    pub lines: Vec<Cow<'a, str>>,
}

fn split_lines<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<Cow<'a, str>> {
    items
        .into_iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| if l.contains('\r') { Cow::Owned(l.replace('\r', "")) } else { Cow::Borrowed(l) })
        .collect()
}

fn node_lines(node: &ViewNode) -> Vec<Cow<'_, str>> {
    split_lines(node.lines.iter().map(String::as_str))
}

pub(crate) fn box_text(view: &View, index: usize) -> BoxText<'_> {
    let node = &view.nodes[index];
    match &node.role {
        Role::Root(name) if !name.is_empty() => BoxText { heading: Some(split_lines([name.as_str()]).join(" ")), lines: node_lines(node) },
        // The producer's own short text ("98 more") is replaced by the
        // sentence objgraph writes, which needs the direction of the cut.
        Role::TooMany(n) => BoxText { heading: None, lines: vec![Cow::Owned(too_many_text(view, index, *n))] },
        _ => BoxText { heading: None, lines: node_lines(node) },
    }
}

/// "98 more referrers" for a cut fan-in (the box points at the object),
/// "98 more references" for a cut fan-out (the object points at the box).
fn too_many_text(view: &View, index: usize, n: u64) -> String {
    let fan_out = view.edges.iter().any(|e| e.to == index) && !view.edges.iter().any(|e| e.from == index);
    let noun = match (fan_out, n == 1) {
        (false, true) => "referrer",
        (false, false) => "referrers",
        (true, true) => "reference",
        (true, false) => "references",
    };
    format!("{n} more {noun}")
}

/// How one arrow is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EdgeLook {
    pub color: Rgb,
    /// objgraph draws the arrow to a "too many" box dotted and red.
    pub dotted: bool,
}

pub(crate) fn edge_look(view: &View, from: usize, to: usize) -> EdgeLook {
    let too_many = |i: usize| matches!(view.nodes.get(i).map(|n| &n.role), Some(Role::TooMany(_)));
    if too_many(from) || too_many(to) {
        EdgeLook { color: Rgb::RED, dotted: true }
    } else {
        EdgeLook { color: Rgb::BLACK, dotted: false }
    }
}

/// The edges whose ends are both in the view, with their indices; a view
/// with a dangling index is drawn without that edge rather than not at all.
pub(crate) fn valid_edges(view: &View) -> impl Iterator<Item = (usize, &super::view::ViewEdge)> {
    let n = view.nodes.len();
    view.edges.iter().enumerate().filter(move |(_, e)| e.from < n && e.to < n)
}

/// Splits an edge label into lines (objgraph's non-identifier dict keys
/// are two lines: type and repr).
pub(crate) fn label_lines(label: &str) -> Vec<Cow<'_, str>> {
    if label.is_empty() {
        Vec::new()
    } else {
        split_lines([label])
    }
}

/// The caption's lines, if the view has one.
pub(crate) fn caption_lines(view: &View) -> Vec<Cow<'_, str>> {
    view.caption.as_deref().map(|c| split_lines([c])).unwrap_or_default()
}

/// Text for XML: SVG content and attributes, and Graphviz's HTML-like
/// labels (which Graphviz parses as XML). Control characters are not allowed
/// in XML at all, even escaped, so they become U+FFFD.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_xml_valid() {
        assert_eq!(xml_escape("<a href=\"x\">&'\u{7}"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;\u{FFFD}");
    }

    #[test]
    fn hsv_matches_known_colours() {
        assert_eq!(hsv(0.0, 0.0, 1.0).hex(), "#ffffff");
        assert_eq!(hsv(0.0, 1.0, 1.0).hex(), "#ff0000");
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0).hex(), "#00ff00");
        assert_eq!(hsv(0.0, 0.0, 0.3).hex(), "#4d4d4d");
        assert_eq!(hsv(1.0, 1.0, 1.0).hex(), "#ff0000");
        assert_eq!(Rgb(0x12, 0xab, 0x0f).hex(), "#12ab0f");
    }

    #[test]
    fn gradient_runs_white_to_grey_and_stops_at_the_end() {
        assert_eq!(gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), 0, 3).2, 1.0);
        assert!((gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), 3, 3).2 - 0.3).abs() < 1e-9);
        assert!((gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), 9, 3).2 - 0.3).abs() < 1e-9);
        assert_eq!(gradient((0.0, 0.0, 1.0), (0.0, 0.0, 0.3), 5, 0).2, 1.0);
    }
}
