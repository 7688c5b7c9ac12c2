//! The drawing model: a small graph of boxes and labelled arrows, already cut
//! down by queries and filters. Renderers turn a [`View`] into DOT, SVG or PNG;
//! they know nothing about heaps.

/// What a box stands for, which decides its colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// An object the user asked about (red, like objgraph's targets).
    Target,
    /// A root; the text names it (`sys.modules['logging']`, `atexit callback #1 (1 ref)`).
    Root(String),
    /// An object the user's `highlight` predicate picked.
    Highlight,
    /// Any other object on the way.
    Plain,
    /// The "N more referrers" box where `too_many` cut a fan-in (or fan-out).
    TooMany(u64),
}

/// One box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewNode {
    /// A DOT-safe id, unique in the view (`o7f3a2c1b0`).
    pub id: String,
    /// Text lines: type name, `[refcount]`, short label, extra info.
    pub lines: Vec<String>,
    /// Distance from the nearest target (shades the fill, like objgraph).
    pub depth: u32,
    pub role: Role,
}

/// One arrow, `from` holds `to`; indices into [`View::nodes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewEdge {
    pub from: usize,
    pub to: usize,
    pub label: String,
}

/// A graph ready to draw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    pub nodes: Vec<ViewNode>,
    pub edges: Vec<ViewEdge>,
    /// The depth used for shading (objgraph shades up to `max_depth`).
    pub max_depth: u32,
    /// Said at the top of the drawing, e.g. when filters hid every path.
    pub caption: Option<String>,
}
