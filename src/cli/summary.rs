//! `refgraph summary`: what a snapshot holds — counts, who holds the roots
//! (named C holders, objects held from outside the heap by type), top types.

use std::path::PathBuf;

use anyhow::Result;

use super::output::{self, Format};
use refgraph::report;

/// Print what a snapshot holds: capture facts, who holds its roots, the most common types.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// How many types to list.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// How many groups of roots to list (named holders; held-from-outside types).
    #[arg(long, default_value_t = 10)]
    top_roots: usize,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    let r = report::summary_report(&heap, &a.snapshot.display().to_string(), a.top, a.top_roots);
    match a.format {
        Format::Text => output::print_text(&report::summary_text(&r))?,
        Format::Json => output::print_json("summary", &r)?,
    }
    Ok(0)
}
