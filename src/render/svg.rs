//! SVG without Graphviz: measures each box's text, has `layout` place the
//! boxes and route the arrows, and writes the picture in the same colours
//! as the DOT output. Text is monospaced so that its width is known without
//! font files: every box fits its text in any viewer. Output is valid XML
//! (all text escaped, no control characters) and the same bytes every time.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::attrs::{node_style, NodeAttrs, NodeStyle, Shape};
use super::layout::{self, EdgeIn, Pt, Rect, Route, Size};
use super::style::{box_look, box_text, caption_lines, edge_look, label_lines, valid_edges, xml_escape, BoxLook, BoxText, EdgeLook};
use super::view::View;
use Piece::{N, S};

const FONT_FAMILY: &str = "DejaVu Sans Mono, Menlo, Consolas, Liberation Mono, monospace";
/// Advance of one monospaced column, as a fraction of the font size (0.6
/// in DejaVu Sans Mono, Menlo, Consolas and Courier; a little spare).
const COLUMN: f64 = 0.61;

/// Text sizes and spacing, in pixels.
#[derive(Clone, Copy)]
struct Font {
    size: f64,
    line: f64,
}

const BOX_FONT: Font = Font { size: 12.0, line: 15.0 };
const SMALL_FONT: Font = Font { size: 10.0, line: 13.0 };
const LABEL_FONT: Font = Font { size: 11.0, line: 13.0 };
const CAPTION_FONT: Font = Font { size: 13.0, line: 17.0 };
const PAD_X: f64 = 8.0;
const PAD_Y: f64 = 5.0;
const CAPTION_GAP: f64 = 8.0;
/// How much bigger than its text an ellipse is (a little under √2: the
/// text's corners may touch the curve, as in Graphviz).
const ELLIPSE_GROWTH: f64 = 1.3;

/// SVG text of a view, drawn by the built-in layout, with objgraph's extra
/// node attributes (`attrs`, see [`super::attrs`]) applied.
pub(crate) fn to_svg(view: &View, attrs: &NodeAttrs) -> String {
    // Without a sink nothing is written, so nothing can fail.
    draw(view, attrs, None).unwrap_or_default()
}

/// The same drawing written to `sink` as it is made, a piece at a time, so
/// that a big drawing never sits in memory whole (every page of a fresh
/// buffer of megabytes is a page fault, which cost more than writing the
/// text into it).
pub(crate) fn write_svg(view: &View, attrs: &NodeAttrs, sink: &mut dyn Write) -> io::Result<()> {
    draw(view, attrs, Some(sink)).map(drop)
}

fn draw(view: &View, attrs: &NodeAttrs, sink: Option<&mut dyn Write>) -> io::Result<String> {
    let styles = styles(view, attrs);
    let texts: Vec<BoxText> = (0..view.nodes.len())
        .map(|i| match styles[i].as_ref().and_then(|s| s.label.as_ref()) {
            Some(lines) => BoxText { heading: None, lines: lines.iter().map(|l| Cow::Borrowed(l.as_str())).collect() },
            None => box_text(view, i),
        })
        .collect();
    let looks: Vec<BoxLook> = view.nodes.iter().map(|n| box_look(n, view.max_depth)).collect();
    let sizes: Vec<Size> = texts
        .iter()
        .zip(&looks)
        .zip(&styles)
        .map(|((t, l), s)| {
            let size = box_size(t, font_of(l));
            match s.as_ref().map(|s| s.shape) {
                // Room for the text inside the curve, as Graphviz makes.
                Some(Shape::Ellipse) => Size { w: size.w * ELLIPSE_GROWTH, h: size.h * ELLIPSE_GROWTH },
                _ => size,
            }
        })
        .collect();
    let edges: Vec<(usize, usize, Vec<Cow<str>>)> = valid_edges(view).map(|(_, e)| (e.from, e.to, label_lines(&e.label))).collect();
    let input: Vec<EdgeIn> =
        edges.iter().map(|(from, to, label)| EdgeIn { from: *from, to: *to, label: text_size(label, LABEL_FONT) }).collect();
    let placed = layout::layout(&sizes, &input);

    let caption = caption_lines(view);
    let caption_h = if caption.is_empty() { 0.0 } else { caption.len() as f64 * CAPTION_FONT.line + CAPTION_GAP };
    let caption_w = text_size(&caption, CAPTION_FONT).map_or(0.0, |s| s.w + 2.0 * PAD_X);
    let capacity = if sink.is_some() { 2 * CHUNK } else { capacity(view, &placed) };
    let mut svg = Svg::new(placed.width.max(caption_w), placed.height + caption_h, capacity, sink);
    svg.caption(&caption);
    let _ = writeln!(svg.out, "<g transform=\"translate(0,{})\">", Num(caption_h));
    for ((from, to, _), route) in edges.iter().zip(&placed.edges) {
        svg.arrow(&view.nodes[*from].id, &view.nodes[*to].id, route, edge_look(view, *from, *to));
    }
    for (i, node) in view.nodes.iter().enumerate() {
        svg.node(&node.id, &placed.boxes[i], &texts[i], &looks[i], styles[i].as_ref());
    }
    // Labels last, on top of any line that passes under them.
    for ((_, _, label), route) in edges.iter().zip(&placed.edges) {
        if let Some(at) = route.label {
            svg.edge_label(label, at);
        }
    }
    svg.raw("</g>\n");
    svg.finish()
}

/// Each box's extra attributes, read once; the pairs given for one box in
/// several entries apply in order.
fn styles(view: &View, attrs: &NodeAttrs) -> Vec<Option<NodeStyle>> {
    let mut pairs: Vec<Vec<(String, String)>> = vec![Vec::new(); view.nodes.len()];
    for (i, a) in attrs.iter().filter(|(i, _)| *i < view.nodes.len()) {
        pairs[*i].extend(a.iter().cloned());
    }
    pairs.into_iter().map(|p| (!p.is_empty()).then(|| node_style(&p))).collect()
}

/// Roughly the drawing's length, so that its string grows once or never.
fn capacity(view: &View, placed: &layout::Layout) -> usize {
    let text: usize = view.nodes.iter().map(|n| n.lines.iter().map(|l| l.len() + 120).sum::<usize>()).sum();
    let curves: usize = placed.edges.iter().map(|e| e.curves.len()).sum();
    4096 + text + 260 * view.nodes.len() + 400 * view.edges.len() + 16 * curves
}

fn font_of(look: &BoxLook) -> Font {
    if look.small {
        SMALL_FONT
    } else {
        BOX_FONT
    }
}

fn box_size(text: &BoxText, font: Font) -> Size {
    let lines = text.heading.iter().map(String::as_str).chain(text.lines.iter().map(|l| &**l));
    let inner = lines_size(lines, font).unwrap_or(Size { w: 0.0, h: font.line });
    Size { w: (inner.w + 2.0 * PAD_X).max(3.0 * PAD_X), h: inner.h + 2.0 * PAD_Y }
}

/// The height of a box's text block.
fn text_height(text: &BoxText, font: Font) -> f64 {
    let lines = text.heading.iter().count() + text.lines.len();
    lines.max(1) as f64 * font.line
}

/// The size of some lines of text, or `None` for no text at all.
fn text_size(lines: &[Cow<str>], font: Font) -> Option<Size> {
    lines_size(lines.iter().map(|l| &**l), font)
}

fn lines_size<'a>(lines: impl Iterator<Item = &'a str>, font: Font) -> Option<Size> {
    let (count, widest) = lines.fold((0, 0), |(n, w), l| (n + 1, w.max(columns(l))));
    (count > 0).then_some(Size { w: widest as f64 * COLUMN * font.size, h: count as f64 * font.line })
}

/// Monospaced columns of a line: East Asian wide characters and most emoji
/// take two, combining marks none.
fn columns(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars()
        .map(|c| match u32::from(c) {
            0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// How much text is written to a sink at a time: no less than a drawing
/// file's write buffer, which then passes it straight to the file.
const CHUNK: usize = crate::atomic::DRAWING_BUFFER;

/// The SVG document being written. Everything is written straight into one
/// preallocated string: formatting each element into a string of its own
/// first was most of the drawing's time on big graphs. With a sink, the
/// string is handed over and emptied whenever it holds a [`CHUNK`].
struct Svg<'a> {
    out: String,
    width: f64,
    sink: Option<&'a mut dyn Write>,
    /// The sink's first error; later pieces are dropped, and `finish` returns it.
    failed: Option<io::Error>,
}

impl<'a> Svg<'a> {
    fn new(width: f64, height: f64, capacity: usize, sink: Option<&'a mut dyn Write>) -> Svg<'a> {
        let (w, h) = (Num(width.ceil()), Num(height.ceil()));
        let mut out = String::with_capacity(capacity);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
        out.push_str("<!-- Drawn by refgraph's built-in layout (Graphviz was not used); install Graphviz for dot's layout. -->\n");
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             xmlns:xlink=\"http://www.w3.org/1999/xlink\" font-family=\"{FONT_FAMILY}\" xml:space=\"preserve\">"
        );
        out.push_str("<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        Svg { out, width, sink, failed: None }
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Hands the text so far to the sink once there is a chunk of it.
    fn spill(&mut self, at_least: usize) {
        let Some(sink) = self.sink.as_mut() else { return };
        if self.out.len() < at_least {
            return;
        }
        if self.failed.is_none() {
            self.failed = sink.write_all(self.out.as_bytes()).err();
        }
        self.out.clear();
    }

    /// The whole text without a sink; with one, the text is written and
    /// an empty string returned.
    fn finish(mut self) -> io::Result<String> {
        self.out.push_str("</svg>\n");
        self.spill(0);
        match self.failed {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    fn caption(&mut self, lines: &[Cow<str>]) {
        if lines.is_empty() {
            return;
        }
        self.out.push_str("<g class=\"caption\">\n");
        let x = self.width / 2.0;
        for (i, line) in lines.iter().enumerate() {
            let y = CAPTION_GAP + baseline(CAPTION_FONT, i);
            self.text(Pt::new(x, y), "middle", CAPTION_FONT, "#000000", true, line);
        }
        self.out.push_str("</g>\n");
    }

    fn node(&mut self, id: &str, r: &Rect, text: &BoxText, look: &BoxLook, style: Option<&NodeStyle>) {
        self.spill(CHUNK);
        let font = font_of(look);
        let plain = NodeStyle::default();
        let st = style.unwrap_or(&plain);
        if let Some(url) = &st.url {
            self.out.push_str("<a href=\"");
            escape_into(&mut self.out, url);
            self.out.push_str("\" xlink:href=\"");
            escape_into(&mut self.out, url);
            self.out.push_str("\">");
        }
        self.out.push_str("<g class=\"node\"><title>");
        escape_into(&mut self.out, st.tooltip.as_deref().unwrap_or(id));
        self.out.push_str("</title>\n");
        let (fill_hex, border_hex, font_hex) = (look.fill.hex_text(), look.border.hex_text(), look.font.hex_text());
        let fill = st.fill.as_deref().unwrap_or(fill_hex.as_str());
        let border = match st.shape {
            Shape::Bare => "none",
            _ => st.border.as_deref().unwrap_or(border_hex.as_str()),
        };
        let width = st.border_width.unwrap_or(look.border_width);
        #[rustfmt::skip]
        let (element, corner) = match st.shape {
            Shape::Ellipse => (
                [S("<ellipse cx=\""), N(r.x + r.w / 2.0), S("\" cy=\""), N(r.y + r.h / 2.0),
                 S("\" rx=\""), N(r.w / 2.0), S("\" ry=\""), N(r.h / 2.0)],
                "",
            ),
            Shape::Box | Shape::Bare => (
                [S("<rect x=\""), N(r.x), S("\" y=\""), N(r.y), S("\" width=\""), N(r.w), S("\" height=\""), N(r.h)],
                if st.rounded { " rx=\"6\"" } else { "" },
            ),
        };
        push_all(&mut self.out, &element);
        #[rustfmt::skip]
        push_all(&mut self.out, &[
            S("\" fill=\""), S(fill), S("\" stroke=\""), S(border), S("\" stroke-width=\""), N(width), S("\""), S(corner),
        ]);
        if let Some(dash) = st.dash {
            push_all(&mut self.out, &[S(" stroke-dasharray=\""), S(dash), S("\"")]);
        }
        self.out.push_str("/>\n");
        let x = r.x + r.w / 2.0;
        let color = st.font.as_deref().unwrap_or(font_hex.as_str());
        // The text block is centred in the box (an ellipse is taller than its text).
        let inner = (r.h - text_height(text, font)) / 2.0;
        let lines = text.heading.iter().map(|h| (h.as_str(), true)).chain(text.lines.iter().map(|l| (&**l, false)));
        for (i, (line, bold)) in lines.enumerate() {
            self.text(Pt::new(x, r.y + inner + baseline(font, i)), "middle", font, color, bold, line);
        }
        self.out.push_str("</g>\n");
        if st.url.is_some() {
            self.out.push_str("</a>\n");
        }
    }

    fn arrow(&mut self, from: &str, to: &str, route: &Route, look: EdgeLook) {
        self.spill(CHUNK);
        let color = look.color.hex_text();
        let dash = if look.dotted { " stroke-dasharray=\"2,3\"" } else { "" };
        self.out.push_str("<g class=\"edge\"><title>");
        escape_into(&mut self.out, from);
        self.out.push_str("-&gt;");
        escape_into(&mut self.out, to);
        self.out.push_str("</title>\n<path d=\"");
        path_data(&mut self.out, route);
        let [a, b, c] = route.head;
        let color = color.as_str();
        #[rustfmt::skip]
        push_all(&mut self.out, &[
            S("\" fill=\"none\" stroke=\""), S(color), S("\""), S(dash), S("/>\n<polygon points=\""),
            N(a.x), S(","), N(a.y), S(" "), N(b.x), S(","), N(b.y), S(" "), N(c.x), S(","), N(c.y),
            S("\" fill=\""), S(color), S("\" stroke=\""), S(color), S("\"/>\n</g>\n"),
        ]);
    }

    /// An arrow's label, on a pale backing so crossing lines don't garble it.
    fn edge_label(&mut self, lines: &[Cow<str>], at: Pt) {
        self.spill(CHUNK);
        let Some(size) = text_size(lines, LABEL_FONT) else { return };
        #[rustfmt::skip]
        push_all(&mut self.out, &[
            S("<g class=\"label\"><rect x=\""), N(at.x - 1.0), S("\" y=\""), N(at.y), S("\" width=\""), N(size.w + 2.0),
            S("\" height=\""), N(size.h), S("\" fill=\"#ffffff\" fill-opacity=\"0.8\"/>\n"),
        ]);
        for (i, line) in lines.iter().enumerate() {
            self.text(Pt::new(at.x, at.y + baseline(LABEL_FONT, i)), "start", LABEL_FONT, "#000000", false, line);
        }
        self.out.push_str("</g>\n");
    }

    fn text(&mut self, at: Pt, anchor: &str, font: Font, color: &str, bold: bool, s: &str) {
        let weight = if bold { " font-weight=\"bold\"" } else { "" };
        #[rustfmt::skip]
        push_all(&mut self.out, &[
            S("<text x=\""), N(at.x), S("\" y=\""), N(at.y), S("\" text-anchor=\""), S(anchor), S("\" font-size=\""), N(font.size),
            S("\" fill=\""), S(color), S("\""), S(weight), S(">"),
        ]);
        escape_into(&mut self.out, s);
        self.out.push_str("</text>\n");
    }
}

/// An arrow's path: `M` to its start, then one piece per curve. A piece
/// that runs straight down (or up) is written as `V`: a long arrow crosses
/// many layers straight, and those pieces were most of a big drawing's bytes.
/// Consecutive straight pieces merge into one, which draws the same line.
fn path_data(out: &mut String, route: &Route) {
    push_all(out, &[S("M"), N(route.start.x), S(","), N(route.start.y)]);
    let mut at = route.start;
    let mut pending: Option<f64> = None;
    for [c1, c2, end] in &route.curves {
        let straight = [c1.x, c2.x, end.x].iter().all(|&x| Num(x) == Num(at.x));
        if straight {
            pending = Some(end.y);
        } else {
            if let Some(y) = pending.take() {
                push_all(out, &[S(" V"), N(y)]);
            }
            push_all(out, &[S(" C"), N(c1.x), S(","), N(c1.y), S(" "), N(c2.x), S(","), N(c2.y), S(" "), N(end.x), S(","), N(end.y)]);
        }
        at = *end;
    }
    if let Some(y) = pending {
        push_all(out, &[S(" V"), N(y)]);
    }
}

/// Appends `s` escaped for XML (see [`xml_escape`]) without a string of its own.
fn escape_into(out: &mut String, s: &str) {
    if s.bytes().all(|b| !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | b'\t') && !b.is_ascii_control()) && s.is_ascii() {
        out.push_str(s);
    } else {
        out.push_str(&xml_escape(s));
    }
}

/// The baseline of line `i` below the top of a block of text: the line's
/// slack split above and below, plus the font's ascent.
fn baseline(font: Font, i: usize) -> f64 {
    font.line * i as f64 + (font.line - font.size) / 2.0 + font.size * 0.8
}

/// A coordinate as SVG text: one decimal, no `-0`, never NaN.
#[cfg(test)]
fn num(v: f64) -> String {
    Num(v).to_string()
}

/// A coordinate written as [`num`] says, without an allocation: the many
/// points of arrow paths.
#[derive(Clone, Copy)]
struct Num(f64);

impl Num {
    /// The value in tenths, as written (0 for what is not a number).
    fn tenths(self) -> i64 {
        let v = self.0;
        if !v.is_finite() || v.abs() < 0.05 {
            return 0;
        }
        // Ties go to even, as `{:.1}` rounds exact decimal ties. Adding
        // 1.5 * 2^52 leaves no bits below the units, so the addition itself
        // rounds (to nearest, ties to even); `round_ties_even` is a libm
        // call on baseline x86-64, and a big drawing writes a million of
        // these.
        const ROUNDER: f64 = 6_755_399_441_055_744.0;
        let t = v * 10.0;
        if t.abs() < 1e15 {
            ((t + ROUNDER) - ROUNDER) as i64
        } else {
            t.round_ties_even() as i64
        }
    }
}

impl PartialEq for Num {
    fn eq(&self, other: &Num) -> bool {
        self.tenths() == other.tenths()
    }
}

impl Num {
    /// Appends the number as written, without going through `fmt`: the
    /// formatting machinery cost more than the digits on big drawings.
    fn push(self, out: &mut String) {
        // Integer formatting: float formatting was a third of drawing time.
        let tenths = self.tenths();
        let m = tenths.unsigned_abs();
        let (whole, frac) = (m / 10, (m % 10) as u8);
        if tenths < 0 {
            out.push('-');
        }
        let mut digits = itoa::Buffer::new();
        out.push_str(digits.format(whole));
        if frac != 0 {
            out.push_str(DECIMALS[usize::from(frac)]);
        }
    }
}

/// ".1" to ".9", so that a fraction is one append, not two.
const DECIMALS: [&str; 10] = ["", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9"];

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::with_capacity(12);
        self.push(&mut s);
        f.write_str(&s)
    }
}

/// Appends text and numbers in turn (`Piece::S`, `Piece::N`): the hot
/// writers' `write!` without the formatting machinery.
fn push_all(out: &mut String, pieces: &[Piece<'_>]) {
    for p in pieces {
        match *p {
            Piece::S(s) => out.push_str(s),
            Piece::N(v) => Num(v).push(out),
        }
    }
}

#[derive(Clone, Copy)]
enum Piece<'a> {
    S(&'a str),
    N(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_finite() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.26), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(-0.06), "-0.1");
        assert_eq!(num(-12.34), "-12.3");
        assert_eq!(num(12.25), "12.2");
        assert_eq!(num(1e6 + 0.04), "1000000");
    }

    /// Takes `room` bytes, then fails.
    struct Full {
        room: usize,
        took: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.took.len() + buf.len() > self.room {
                return Err(io::Error::other("disk full"));
            }
            self.took.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn chain_view(n: usize) -> View {
        use super::super::view::{Role, ViewEdge, ViewNode};
        let nodes =
            (0..n).map(|i| ViewNode { id: format!("o{i}"), lines: vec!["Node".into()], depth: i as u32, role: Role::Plain }).collect();
        let edges = (1..n).map(|i| ViewEdge { from: i, to: i - 1, label: "next".into() }).collect();
        View { nodes, edges, max_depth: n as u32, caption: None }
    }

    #[test]
    fn a_sink_gets_the_whole_text_in_chunks_or_its_error() {
        let view = chain_view(400);
        let whole = to_svg(&view, &[]);
        assert!(whole.len() > 3 * CHUNK, "{} bytes", whole.len());
        let mut sink = Full { room: usize::MAX, took: Vec::new() };
        write_svg(&view, &[], &mut sink).unwrap();
        assert!(sink.took == whole.as_bytes());
        // A sink that fails part-way: the error comes back, nothing panics.
        let mut full = Full { room: 2 * CHUNK, took: Vec::new() };
        let err = write_svg(&view, &[], &mut full).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert!(whole.as_bytes().starts_with(&full.took));
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(columns("abc"), 3);
        assert_eq!(columns("日本"), 4);
        assert_eq!(columns("e\u{301}"), 1);
    }
}
