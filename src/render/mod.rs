//! Rendering: turns a [`View`] into DOT text (through graphviz-rust), and into
//! SVG or PNG with Graphviz `dot` when it is installed, or SVG with the
//! built-in layout when it is not. Files are written whole or not at all.

mod dot;
mod style;
mod svg;
mod view;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub use dot::to_dot;
pub use view::{Role, View, ViewEdge, ViewNode};

/// What to write, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Svg,
    Png,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Format, RenderError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("dot" | "gv") => Ok(Format::Dot),
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(RenderError::UnknownFormat { path: path.display().to_string() }),
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
    #[error("{path}: unknown output format; the name must end in .dot, .svg or .png")]
    UnknownFormat { path: String },
    #[error("PNG needs Graphviz `dot`, which is not installed; install graphviz or write .svg")]
    PngNeedsGraphviz,
    #[error("Graphviz `dot` is not installed (install graphviz, or use the built-in layout for .svg)")]
    GraphvizMissing,
    #[error("Graphviz `dot` failed ({status}): {stderr}")]
    GraphvizFailed { status: String, stderr: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn run_dot(dot_text: &str, format: &str) -> Result<Vec<u8>, RenderError> {
    let mut child = match Command::new("dot")
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RenderError::GraphvizMissing),
        Err(source) => return Err(RenderError::Io { path: "dot".into(), source }),
    };
    // Feed stdin from another thread: dot may fill its stdout pipe first.
    let input = dot_text.to_string();
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(input.as_bytes());
        }
    });
    let out = child.wait_with_output().map_err(|source| RenderError::Io { path: "dot".into(), source })?;
    let _ = feeder.join();
    if !out.status.success() {
        return Err(RenderError::GraphvizFailed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

fn graphviz_installed() -> bool {
    Command::new("dot").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Renders a view in memory.
pub fn render(view: &View, format: Format, engine: Engine) -> Result<(Vec<u8>, Renderer), RenderError> {
    if format == Format::Dot {
        return Ok((to_dot(view).into_bytes(), Renderer::DotText));
    }
    let use_dot = match engine {
        Engine::Graphviz => true,
        Engine::BuiltIn => false,
        Engine::Auto => graphviz_installed(),
    };
    match (format, use_dot) {
        (Format::Png, false) if engine == Engine::BuiltIn || !graphviz_installed() => Err(RenderError::PngNeedsGraphviz),
        (Format::Svg, false) => Ok((svg::to_svg(view).into_bytes(), Renderer::BuiltIn)),
        (f, _) => {
            let ext = if f == Format::Png { "png" } else { "svg" };
            Ok((run_dot(&to_dot(view), ext)?, Renderer::Graphviz))
        }
    }
}

/// Renders a view to `path` (format from its extension). The file is written
/// to a temporary name beside it and renamed when complete, so a failure
/// leaves nothing behind and never a half-written file.
pub fn render_to_file(view: &View, path: &Path, engine: Engine) -> Result<Renderer, RenderError> {
    let format = Format::from_path(path)?;
    let (bytes, renderer) = render(view, format, engine)?;
    crate::atomic::write_file(path, |w| w.write_all(&bytes))
        .map_err(|source| RenderError::Io { path: path.display().to_string(), source })?;
    Ok(renderer)
}
