//! Graphviz node attributes read for the built-in SVG renderer: objgraph's
//! `extra_node_attrs` gives DOT attributes per box (`color`, `fillcolor`,
//! `fontcolor`, `style`, `shape`, `label`, `penwidth`, `tooltip`, `URL`),
//! and the picture should say the same with or without Graphviz. Only
//! values that mean something here are taken; anything else is left to
//! the default look rather than guessed, so odd input never breaks the SVG.

use super::style::hsv;

/// Extra attributes for some boxes: (index into the view's nodes, the
/// `(name, value)` pairs, a later one replacing an earlier of the same name).
pub type NodeAttrs = [(usize, Vec<(String, String)>)];

/// A box's outline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Shape {
    #[default]
    Box,
    /// `ellipse`, `oval`, `circle`: an ellipse round the box's text.
    Ellipse,
    /// `plaintext`, `plain`, `none`: no outline.
    Bare,
}

/// What the attributes change in one box; `None` keeps the default look.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NodeStyle {
    /// SVG colours (`#rrggbb` or a colour name SVG knows).
    pub fill: Option<String>,
    pub border: Option<String>,
    pub font: Option<String>,
    pub border_width: Option<f64>,
    /// `stroke-dasharray` for `style=dashed` / `dotted`.
    pub dash: Option<&'static str>,
    pub rounded: bool,
    pub shape: Shape,
    /// Replaces the box's text, one entry per line.
    pub label: Option<Vec<String>>,
    pub tooltip: Option<String>,
    pub url: Option<String>,
}

/// Reads one box's attributes, in order (Graphviz keeps the last of a name).
pub(crate) fn node_style(attrs: &[(String, String)]) -> NodeStyle {
    let mut s = NodeStyle::default();
    for (name, value) in attrs {
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "fillcolor" => s.fill = color(value),
            "color" | "pencolor" => s.border = color(value),
            "fontcolor" => s.font = color(value),
            "penwidth" => s.border_width = value.parse::<f64>().ok().filter(|w| w.is_finite() && (0.0..=20.0).contains(w)),
            "style" => style(value, &mut s),
            "shape" => s.shape = shape(value),
            "label" => s.label = Some(value.split('\n').map(|l| l.replace('\r', "")).collect()),
            "tooltip" => s.tooltip = Some(value.to_string()).filter(|t| !t.is_empty()),
            "url" | "href" => s.url = Some(value.to_string()).filter(|u| !u.is_empty()),
            _ => {}
        }
    }
    s
}

fn style(value: &str, s: &mut NodeStyle) {
    for part in value.split(',').map(str::trim) {
        match part {
            "dashed" => s.dash = Some("5,2"),
            "dotted" => s.dash = Some("1,2"),
            "solid" => s.dash = None,
            "bold" => s.border_width = Some(s.border_width.unwrap_or(1.0).max(2.0)),
            "rounded" => s.rounded = true,
            _ => {}
        }
    }
}

fn shape(value: &str) -> Shape {
    match value.to_ascii_lowercase().as_str() {
        "ellipse" | "oval" | "circle" | "doublecircle" | "egg" => Shape::Ellipse,
        "plaintext" | "plain" | "none" => Shape::Bare,
        _ => Shape::Box,
    }
}

/// A DOT colour as SVG can paint it: `#rrggbb` (an alpha byte dropped), an
/// HSV triple `"h,s,v"` or `"h s v"` (as objgraph writes), or a name. The
/// first colour of a list (`red:blue`) is taken. Graphviz's names are X11's;
/// SVG's are CSS's, the same but for a few, which are mapped here.
pub(crate) fn color(value: &str) -> Option<String> {
    let first = value.split(':').next()?.split(';').next()?.trim();
    if let Some(hex) = first.strip_prefix('#') {
        let ok = (hex.len() == 6 || hex.len() == 8) && hex.bytes().all(|b| b.is_ascii_hexdigit());
        return ok.then(|| format!("#{}", hex[..6].to_ascii_lowercase()));
    }
    let numbers: Vec<f64> = first.split([',', ' ']).filter(|p| !p.is_empty()).map_while(|p| p.parse::<f64>().ok()).collect();
    if numbers.len() == 3 && first.split([',', ' ']).filter(|p| !p.is_empty()).count() == 3 {
        return Some(hsv(numbers[0], numbers[1], numbers[2]).hex());
    }
    let name = first.to_ascii_lowercase();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) || !name.as_bytes()[0].is_ascii_alphabetic() {
        return None;
    }
    Some(x11_name(&name))
}

/// The CSS spelling of an X11 colour name where the two differ.
fn x11_name(name: &str) -> String {
    let grey = name.strip_prefix("gray").or_else(|| name.strip_prefix("grey"));
    if let Some(level) = grey.and_then(|l| l.parse::<u8>().ok()).filter(|&l| l <= 100) {
        let v = (f64::from(level) / 100.0 * 255.0).round() as u8;
        return format!("#{v:02x}{v:02x}{v:02x}");
    }
    match name {
        "gray" | "grey" => "#c0c0c0".into(),
        "green" => "#00ff00".into(),
        "maroon" => "#b03060".into(),
        "purple" => "#a020f0".into(),
        // X11's numbered variants: 1 is the colour itself.
        n if n.ends_with('1') && n.len() > 1 && !n[..n.len() - 1].ends_with(|c: char| c.is_ascii_digit()) => x11_name(&n[..n.len() - 1]),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|&(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn colours_are_read_as_graphviz_means_them() {
        assert_eq!(color("#FF8800").as_deref(), Some("#ff8800"));
        assert_eq!(color("#ff880080").as_deref(), Some("#ff8800"));
        assert_eq!(color("0.0,1.0,1.0").as_deref(), Some("#ff0000"));
        assert_eq!(color("0.6 0.6 1").as_deref(), Some(hsv(0.6, 0.6, 1.0).hex().as_str()));
        assert_eq!(color("LightBlue").as_deref(), Some("lightblue"));
        assert_eq!(color("green").as_deref(), Some("#00ff00"));
        assert_eq!(color("gray80").as_deref(), Some("#cccccc"));
        assert_eq!(color("red1").as_deref(), Some("red"));
        assert_eq!(color("red:blue").as_deref(), Some("red"));
        assert_eq!(color("\"><script>"), None);
        assert_eq!(color("#12"), None);
        assert_eq!(color(""), None);
    }

    #[test]
    fn a_node_style_takes_what_it_understands() {
        let s = node_style(&attrs(&[
            ("color", "blue"),
            ("fillcolor", "yellow"),
            ("fontcolor", "#123456"),
            ("style", "filled,dashed,bold"),
            ("shape", "ellipse"),
            ("label", "two\nlines"),
            ("tooltip", "a tip"),
            ("URL", "https://example.com/?a=1&b=2"),
            ("fontname", "Comic Sans"),
        ]));
        assert_eq!(s.border.as_deref(), Some("blue"));
        assert_eq!(s.fill.as_deref(), Some("yellow"));
        assert_eq!(s.font.as_deref(), Some("#123456"));
        assert_eq!((s.dash, s.border_width, s.shape), (Some("5,2"), Some(2.0), Shape::Ellipse));
        assert_eq!(s.label, Some(vec!["two".to_string(), "lines".to_string()]));
        assert_eq!(s.tooltip.as_deref(), Some("a tip"));
        assert_eq!(s.url.as_deref(), Some("https://example.com/?a=1&b=2"));
        // The last of a name wins, as in Graphviz; nonsense is left out.
        let s = node_style(&attrs(&[("fillcolor", "red"), ("fillcolor", "#00ff00"), ("penwidth", "NaN"), ("shape", "plaintext")]));
        assert_eq!((s.fill.as_deref(), s.border_width, s.shape), (Some("#00ff00"), None, Shape::Bare));
        assert_eq!(node_style(&[]), NodeStyle::default());
    }
}
