//! `refgraph report`: one self-contained HTML page about a snapshot (see
//! [`refgraph::html`]), written atomically; an existing file is replaced
//! only with `--force`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use refgraph::dominators::Dominators;

/// Write an HTML report: summary, top types, modules and retained sizes, stale modules, root paths and backref drawings of the top suspects.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// The HTML file to write.
    #[arg(long, short)]
    output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    if a.output.exists() && !a.force {
        anyhow::bail!("{} exists; pass --force to replace it", a.output.display());
    }
    let heap = super::load(&a.snapshot)?;
    let dom = Dominators::compute(&heap);
    let name = a.snapshot.file_name().map_or_else(|| a.snapshot.display().to_string(), |n| n.to_string_lossy().into_owned());
    let html = refgraph::html::heap_report_html(&heap, &dom, &name);
    refgraph::atomic::write_file(&a.output, |w| w.write_all(html.as_bytes()))
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    eprintln!("wrote {} ({} kB)", a.output.display(), html.len() / 1000);
    Ok(0)
}
