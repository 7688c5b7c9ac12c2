//! Rendering: turns a [`View`] into DOT text, and into
//! SVG or PNG with Graphviz `dot` when it is installed, or SVG with the
//! built-in layered layout when it is not. Files are written whole or not at
//! all. This module knows nothing about heaps; [`crate::report`] makes views.
//!
//! Parts: `style` decides colours and texts for both renderers, `dot` writes
//! DOT, `graphviz` runs `dot`, `layout` places boxes and routes arrows, `svg`
//! draws the built-in picture.
//!
//! Pictures are bounded ([`MAX_BOXES`], [`MAX_ARROWS`]): a bigger one could
//! not be read, and drawing it would only cost the caller's process time
//! and memory. DOT text, which is linear in the graph, has no bound.

#![forbid(unsafe_code)]

mod attrs;
mod dot;
#[cfg(test)]
mod dot_tree;
mod graphviz;
mod layout;
mod raster;
mod style;
mod svg;
mod view;

use std::fmt;
use std::path::Path;

pub use attrs::NodeAttrs;
pub use dot::{to_dot, to_dot_with_attrs};
pub use view::{Role, View, ViewEdge, ViewNode};

/// The most boxes a picture (SVG, PNG) may have. Boxes are 25 to 40 pixels
/// tall and arrive in rows, so even a compact drawing of 5,000 boxes is
/// tens of thousands of pixels along one side: far past what a screen or
/// a reader can follow, while the built-in layout still draws it in well
/// under a second and some tens of megabytes.
pub const MAX_BOXES: usize = 5_000;
/// The most arrows a picture may have (four per box).
pub const MAX_ARROWS: usize = 4 * MAX_BOXES;

/// What to write, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Svg,
    Png,
}

impl Format {
    /// The format named by `path`'s extension (`.dot`/`.gv`, `.svg`, `.png`,
    /// in any case).
    pub fn from_path(path: &Path) -> Result<Format, RenderError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("dot" | "gv") => Ok(Format::Dot),
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(RenderError::UnknownFormat { path: path.display().to_string() }),
        }
    }

    /// The name `dot -T` knows it by.
    fn graphviz_name(self) -> &'static str {
        match self {
            Format::Dot => "dot",
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

/// Which renderer the caller wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Graphviz `dot` if it is on the PATH, else the built-in layout (SVG only).
    Auto,
    Graphviz,
    BuiltIn,
}

/// Which renderer drew the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renderer {
    DotText,
    Graphviz,
    BuiltIn,
}

impl fmt::Display for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Renderer::DotText => "DOT text",
            Renderer::Graphviz => "Graphviz dot",
            Renderer::BuiltIn => "the built-in layout",
        })
    }
}

/// Why a drawing could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{path}: unknown output format; the name must end in .dot, .gv, .svg or .png")]
    UnknownFormat { path: String },
    #[error("cannot draw the PNG: {0}")]
    Raster(String),
    #[error("Graphviz `dot` is not installed (not found on the PATH); install graphviz, or write .svg with the built-in layout")]
    GraphvizMissing,
    #[error("Graphviz `dot` failed ({status}): {stderr}")]
    GraphvizFailed { status: String, stderr: String },
    #[error(
        "the drawing would have {boxes} boxes and {arrows} arrows, more than the {max_boxes} boxes and {max_arrows} arrows \
         a readable picture can hold; narrow it: a smaller max_depth (--max-depth) or too_many (--too-many), a filter that \
         hides or stops at what you don't need (filter=, --filter, --hide), or fewer targets; or write .dot to get the whole graph as text"
    )]
    TooBig { boxes: usize, arrows: usize, max_boxes: usize, max_arrows: usize },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Whether Graphviz `dot` is on the PATH, i.e. whether [`Engine::Auto`]
/// will use it.
pub fn graphviz_available() -> bool {
    graphviz::find_dot().is_some()
}

/// Renders a view in memory, and says which renderer drew it.
pub fn render(view: &View, format: Format, engine: Engine) -> Result<(Vec<u8>, Renderer), RenderError> {
    render_with_attrs(view, format, engine, &[])
}

/// Renders a view in memory with extra Graphviz attributes on some boxes
/// (objgraph's `extra_node_attrs`): Graphviz reads them from the DOT text,
/// the built-in renderer paints what it understands of them (colours,
/// `style`, `shape`, `label`, `penwidth`, `tooltip`, `URL`).
pub fn render_with_attrs(view: &View, format: Format, engine: Engine, attrs: &NodeAttrs) -> Result<(Vec<u8>, Renderer), RenderError> {
    if format == Format::Dot {
        return Ok((to_dot_with_attrs(view, attrs).into_bytes(), Renderer::DotText));
    }
    check_size(view)?;
    match (graphviz_for(engine)?, format) {
        (Some(dot), _) => Ok((graphviz::run(&dot, &to_dot_with_attrs(view, attrs), format.graphviz_name())?, Renderer::Graphviz)),
        (None, Format::Svg) => Ok((svg::to_svg(view, attrs).into_bytes(), Renderer::BuiltIn)),
        (None, _) => Ok((raster::svg_to_png(&svg::to_svg(view, attrs))?, Renderer::BuiltIn)),
    }
}

/// Graphviz's `dot`, if `engine` draws with it.
fn graphviz_for(engine: Engine) -> Result<Option<std::path::PathBuf>, RenderError> {
    Ok(match engine {
        Engine::BuiltIn => None,
        Engine::Graphviz => Some(graphviz::find_dot().ok_or(RenderError::GraphvizMissing)?),
        Engine::Auto => graphviz::find_dot(),
    })
}

/// Refuses a picture too big to read (see [`MAX_BOXES`]).
pub fn check_size(view: &View) -> Result<(), RenderError> {
    let (boxes, arrows) = (view.nodes.len(), view.edges.len());
    if boxes > MAX_BOXES || arrows > MAX_ARROWS {
        return Err(RenderError::TooBig { boxes, arrows, max_boxes: MAX_BOXES, max_arrows: MAX_ARROWS });
    }
    Ok(())
}

/// Renders a view to `path` (format from its extension). The drawing is made
/// in memory first, then written to a temporary name beside `path` and
/// renamed over it, so a failure leaves nothing behind: no partial file, no
/// empty file, and an older file at `path` untouched.
pub fn render_to_file(view: &View, path: &Path, engine: Engine) -> Result<Renderer, RenderError> {
    render_to_file_with_attrs(view, path, engine, &[])
}

/// [`render_to_file`] with extra attributes on some boxes (see [`render_with_attrs`]).
pub fn render_to_file_with_attrs(view: &View, path: &Path, engine: Engine, attrs: &NodeAttrs) -> Result<Renderer, RenderError> {
    let format = Format::from_path(path)?;
    let io_error = |source| RenderError::Io { path: path.display().to_string(), source };
    if format == Format::Svg {
        check_size(view)?;
        if graphviz_for(engine)?.is_none() {
            // Written as it is drawn: a big drawing is megabytes of text.
            crate::atomic::write_drawing(path, |w| svg::write_svg(view, attrs, w)).map_err(io_error)?;
            return Ok(Renderer::BuiltIn);
        }
    }
    let (bytes, renderer) = render_with_attrs(view, format, engine, attrs)?;
    crate::atomic::write_drawing(path, |w| w.write_all(&bytes)).map_err(io_error)?;
    Ok(renderer)
}
