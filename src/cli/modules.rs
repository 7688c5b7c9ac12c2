//! `refgraph modules`: stale copies of modules (module objects and
//! namespaces that are not the ones in `sys.modules`), grouped by name, and
//! what holds the nearest copy of each.

use std::path::PathBuf;

use anyhow::Result;

use super::output::{self, Format};
use refgraph::report;

/// List stale module copies (not the ones in sys.modules) by name, and what holds them.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// Show the root paths of the nearest copy for this many modules (most copies first).
    #[arg(long, default_value_t = 3)]
    details: usize,
    /// At most this many root paths per module (one per distinct root).
    #[arg(long, default_value_t = 2)]
    paths: usize,
    /// List at most this many modules (all by default).
    #[arg(long)]
    top: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    let mut groups = refgraph::modules::stale_modules(&heap);
    let dom = refgraph::dominators::Dominators::compute(&heap);
    for g in groups.iter_mut() {
        // A copy whose namespace is dominated by its own module object is
        // counted once, in the module's figure.
        let members: std::collections::HashSet<_> = g.members().collect();
        // (Looked for among the nearest dominators only: bounded on deep heaps.)
        let dominated = |ix| dom.dominators(ix).take(256).any(|d| members.contains(&d));
        refgraph::modules::set_retained(std::slice::from_mut(g), |ix| dom.retained_size(ix).unwrap_or(0), dominated);
    }
    let total: usize = groups.iter().map(|g| g.copies).sum();
    groups.truncate(a.top.unwrap_or(usize::MAX));
    let mut r = report::modules_report(&heap, &a.snapshot.display().to_string(), &groups, a.details, a.paths);
    r.stale_copies = total;
    match a.format {
        Format::Text => output::print_text(&report::modules_text(&r))?,
        Format::Json => output::print_json("modules", &r)?,
    }
    Ok(0)
}
