//! `refgraph path`: the root paths of selected objects, as text or JSON.

use std::io::Write;

use anyhow::Result;

use refgraph::filter;
use refgraph::paths::PathOptions;
use refgraph::report;

use super::output::Format;

/// Print the shortest chain from each root that keeps the selected objects alive.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    targets: super::Targets,
    /// At most this many paths per object (one per distinct root, nearest first).
    #[arg(long, default_value_t = PathOptions::DEFAULT_LIMIT)]
    limit: usize,
    /// Give up on roots further than this many references away.
    #[arg(long)]
    max_depth: Option<u32>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Say what each object on the paths retains (computes the dominator tree).
    #[arg(long)]
    retained: bool,
    #[command(flatten)]
    filters: super::filters::FilterArgs,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let filter = a.filters.build()?;
    let (heap, targets) = a.targets.load()?;
    let opts = PathOptions { limit: a.limit, max_depth: a.max_depth };
    let mut out = std::io::stdout().lock();
    let mut reports = Vec::new();
    let dom = a.retained.then(|| refgraph::dominators::Dominators::compute(&heap));
    let note = |ix| dom.as_ref().and_then(|d| refgraph::retained::retained_note(d, ix));
    for &t in &targets {
        let found = filter::root_paths(&heap, t, opts, Some(&filter));
        match a.format {
            Format::Text => writeln!(out, "{}", report::why_text_with(&heap, t, &found.paths, found.all_hidden, &note))?,
            Format::Json => reports.push(report::paths_report(&heap, t, &found.paths, found.all_hidden)),
        }
    }
    if let Format::Json = a.format {
        drop(out);
        super::output::print_json("path", PathJson { targets: reports })?;
    }
    Ok(0)
}

/// The body of `path --format json`: one report per selected object.
#[derive(serde::Serialize)]
struct PathJson {
    targets: Vec<report::PathsReport>,
}
