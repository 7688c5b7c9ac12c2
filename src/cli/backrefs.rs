//! `refgraph backrefs`: draws what refers to the selected objects.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;

use refgraph::paths::{self, Direction, GraphOptions, PathOptions, RootPath};
use refgraph::render::{self, Engine};
use refgraph::report::{self, ViewOptions};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EngineArg {
    /// Graphviz `dot` when installed, else the built-in layout (SVG only).
    Auto,
    /// Graphviz `dot`; an error when it is not installed.
    Dot,
    /// The built-in layout (SVG only).
    Builtin,
}

/// Draw the referrers of the selected objects as DOT, SVG or PNG (like objgraph.show_backrefs).
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    targets: super::Targets,
    /// Output file; the extension picks the format: .dot, .svg or .png.
    #[arg(long, short)]
    output: PathBuf,
    /// How many references away from the targets to draw [default: the filter's max-depth, else 3].
    #[arg(long)]
    max_depth: Option<u32>,
    /// At most this many referrers per object; the rest become one box [default: the filter's too-many, else 10].
    #[arg(long)]
    too_many: Option<usize>,
    /// Draw only the root paths of the targets (objgraph's show_chain of every root).
    #[arg(long)]
    chains: bool,
    /// With --chains: at most this many paths per target.
    #[arg(long, default_value_t = 10)]
    paths: usize,
    /// Show reference counts (refgraph's own references subtracted).
    #[arg(long)]
    refcounts: bool,
    /// Qualified type names (logging.Logger) instead of short ones (Logger).
    #[arg(long)]
    long_names: bool,
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    #[command(flatten)]
    filters: super::filters::FilterArgs,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let filter = a.filters.build()?;
    let (heap, targets) = a.targets.load()?;
    let max_depth = a.max_depth.or(filter.max_depth).unwrap_or(3);
    let too_many = a.too_many.or(filter.too_many).unwrap_or(10);
    let nb = if a.chains {
        let all: Vec<RootPath> = targets
            .iter()
            .flat_map(|&t| {
                let opts = PathOptions { limit: a.paths, max_depth: None };
                paths::root_paths(&heap, t, opts, |n| super::filters::passes(&filter, &heap, n))
            })
            .collect();
        paths::chains_neighbourhood(&all)
    } else {
        let opts = GraphOptions { direction: Direction::Referrers, max_depth, too_many, stop_at_roots: true };
        paths::neighbourhood(&heap, &targets, opts, |n, e, d| super::filters::decide(&filter, &heap, n, e, d))
    };
    let caption = match (a.chains && nb.edges.is_empty(), filter.is_empty()) {
        (true, true) => Some("no root retains the selected objects".to_string()),
        (true, false) => Some(format!("{}, or no root retains them", refgraph::report::ALL_PATHS_FILTERED)),
        _ => None,
    };
    let max_depth = nb.nodes.iter().map(|&(_, d)| d).max().unwrap_or(0).max(1);
    let vo = ViewOptions { refcounts: a.refcounts, shortnames: !a.long_names, max_depth, caption, ..Default::default() };
    let view = report::view(&heap, &nb, &targets, vo);
    let engine = match a.engine {
        EngineArg::Auto => Engine::Auto,
        EngineArg::Dot => Engine::Graphviz,
        EngineArg::Builtin => Engine::BuiltIn,
    };
    let renderer = render::render_to_file(&view, &a.output, engine)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    eprintln!(
        "wrote {} ({} objects, {} references; drawn by {renderer})",
        a.output.display(),
        view.nodes.len(),
        view.edges.len()
    );
    Ok(0)
}
