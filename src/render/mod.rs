//! Rendering: turns a [`View`] into DOT text (through graphviz-rust), and into
//! SVG or PNG with Graphviz `dot` when it is installed, or SVG with the
//! built-in layout when it is not.

mod view;

pub use view::{Role, View, ViewEdge, ViewNode};
