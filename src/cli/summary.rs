//! `refgraph summary`: what a snapshot holds — counts, who holds the roots
//! (named C holders, objects held from outside the heap by type), top types.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::output::{self, Format};
use refgraph::report;
use refgraph::snapshot::{read_summary_bytes, Summary};

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
    let name = a.snapshot.display().to_string();
    // Read without the edge indexes and labels a query needs: a fraction of
    // the memory. An IPython shell's namespace is named by following edges.
    let light = load_summary(&a.snapshot)?;
    let r = match refgraph::roots::names_holders_from_edges(&light.roots) {
        false => report::summary_report(&light, &name, a.top, a.top_roots),
        true => {
            drop(light);
            report::summary_report(&super::load(&a.snapshot)?, &name, a.top, a.top_roots)
        }
    };
    match a.format {
        Format::Text => output::print_text(&report::summary_text(&r))?,
        Format::Json => output::print_json("summary", &r)?,
    }
    Ok(0)
}

/// Reads what a summary needs of a snapshot, with a progress bar on a
/// terminal when the file is big; its errors name the file.
fn load_summary(path: &Path) -> Result<Summary> {
    let name = path.display().to_string();
    let bytes = super::progress::read_file(path)?;
    let big = super::progress::is_big(bytes.len());
    Ok(super::progress::with_spinner(|| format!("decoding {name}"), big, || read_summary_bytes(&bytes, &name))?)
}
