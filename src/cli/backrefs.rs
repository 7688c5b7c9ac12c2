//! `refgraph backrefs`: draws what refers to the selected objects.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::ValueEnum;

use refgraph::filter::{self, FilteredPaths};
use refgraph::paths::{self, Direction, PathOptions, RootPath};
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
    #[arg(long, default_value_t = PathOptions::DEFAULT_LIMIT)]
    paths: usize,
    /// Show reference counts (refgraph's own references subtracted).
    #[arg(long)]
    refcounts: bool,
    /// Qualified type names (logging.Logger) instead of short ones (Logger).
    #[arg(long)]
    long_names: bool,
    /// Say in each box what the object retains (computes the dominator tree).
    #[arg(long)]
    retained: bool,
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    #[command(flatten)]
    filters: super::filters::FilterArgs,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let filter = a.filters.build()?;
    let (heap, targets) = a.targets.load()?;
    let (nb, caption) = if a.chains {
        let opts = PathOptions { limit: a.paths, max_depth: None };
        let found: Vec<FilteredPaths> = targets.iter().map(|&t| filter::root_paths(&heap, t, opts, Some(&filter))).collect();
        let all: Vec<RootPath> = found.iter().flat_map(|f| f.paths.iter().cloned()).collect();
        // With no path to draw, say why: the filters, no root, or each for some.
        let hidden = found.iter().filter(|f| f.all_hidden).count();
        let caption = all.is_empty().then(|| match hidden {
            0 => "no root retains the selected objects".to_string(),
            h if h == found.len() => refgraph::report::ALL_PATHS_FILTERED.to_string(),
            _ => format!("{}, or no root retains them", refgraph::report::ALL_PATHS_FILTERED),
        });
        (paths::chains_neighbourhood(&all), caption)
    } else {
        let opts = filter::graph_options(Direction::Referrers, a.max_depth, a.too_many, Some(&filter));
        (paths::neighbourhood(&heap, &targets, opts, |n, e, d| super::filters::decide(&filter, &heap, n, e, d)), None)
    };
    let max_depth = nb.nodes.iter().map(|&(_, d)| d).max().unwrap_or(0).max(1);
    let dom = a.retained.then(|| refgraph::dominators::Dominators::compute(&heap));
    let vo =
        ViewOptions { refcounts: a.refcounts, shortnames: !a.long_names, max_depth, caption, retained: dom.as_ref(), ..Default::default() };
    let view = report::view(&heap, &nb, &targets, vo);
    let engine = match a.engine {
        EngineArg::Auto => Engine::Auto,
        EngineArg::Dot => Engine::Graphviz,
        EngineArg::Builtin => Engine::BuiltIn,
    };
    let renderer = render::render_to_file(&view, &a.output, engine).with_context(|| format!("cannot write {}", a.output.display()))?;
    eprintln!("wrote {} ({} objects, {} references; drawn by {renderer})", a.output.display(), view.nodes.len(), view.edges.len());
    Ok(0)
}
