//! PNG from the built-in layout's SVG, with resvg: a picture needs no
//! Graphviz. Fonts are the system's (fontconfig's directories), read once.

use std::sync::{Arc, OnceLock};

use super::RenderError;

/// The system fonts, loaded on first use (tens of milliseconds).
fn fonts() -> Arc<resvg::usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = resvg::usvg::fontdb::Database::new();
            db.load_system_fonts();
            Arc::new(db)
        })
        .clone()
}

/// Rasterises `svg` at its own size (96 dpi) into PNG bytes.
pub(crate) fn svg_to_png(svg: &str) -> Result<Vec<u8>, RenderError> {
    let opt = resvg::usvg::Options { fontdb: fonts(), ..Default::default() };
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| RenderError::Raster(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width().max(1), size.height().max(1))
        .ok_or_else(|| RenderError::Raster(format!("a {}x{} picture is too large", size.width(), size.height())))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| RenderError::Raster(e.to_string()))
}
