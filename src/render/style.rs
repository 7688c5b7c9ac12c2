//! The look of a drawing, shared by the DOT writer and the built-in SVG
//! renderer so both say the same thing: objgraph's depth shading, targets in
//! red, roots in green with their name, a red box where `too_many` cut.

use super::view::{Role, View, ViewNode};

/// Colours and text of one box.
pub(crate) struct BoxStyle {
    pub fill: String,
    pub border: String,
    pub font: String,
    pub lines: Vec<String>,
}

/// `#rrggbb` of an HSV colour (components in 0..=1).
pub(crate) fn hsv(h: f64, s: f64, v: f64) -> String {
    let i = (h * 6.0).floor();
    let f = h * 6.0 - i;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    let (r, g, b) = match (i as i64).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    };
    let c = |x: f64| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(r), c(g), c(b))
}

/// objgraph's `_gradient`: from white at the targets to grey at `max_depth`.
fn depth_value(depth: u32, max_depth: u32) -> f64 {
    let max = f64::from(max_depth.max(1));
    1.0 - 0.7 * (f64::from(depth).min(max) / max)
}

pub(crate) fn box_style(node: &ViewNode, view: &View) -> BoxStyle {
    let v = depth_value(node.depth, view.max_depth);
    let mut lines = node.lines.clone();
    let (fill, border, font) = match &node.role {
        Role::Target => ("#ffd6d6".to_string(), "#c62828".to_string(), "#b71c1c".to_string()),
        Role::Root(name) => {
            lines.insert(0, name.clone());
            ("#c8eeb4".to_string(), "#2e7d32".to_string(), "#000000".to_string())
        }
        Role::Highlight => (hsv(0.6, 0.6, 0.5 + v * 0.5), "#000000".to_string(), "#000000".to_string()),
        Role::TooMany(n) => {
            lines = vec![format!("{n} more referrers")];
            (hsv(0.0, 1.0, v.max(0.6)), "#c62828".to_string(), "#000000".to_string())
        }
        Role::Plain => {
            let font = if v < 0.5 { "#ffffff" } else { "#000000" };
            (hsv(0.0, 0.0, v), "#000000".to_string(), font.to_string())
        }
    };
    BoxStyle { fill, border, font, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_matches_known_colours() {
        assert_eq!(hsv(0.0, 0.0, 1.0), "#ffffff");
        assert_eq!(hsv(0.0, 1.0, 1.0), "#ff0000");
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0), "#00ff00");
        assert_eq!(hsv(0.0, 0.0, 0.3), "#4d4d4d");
    }
}
