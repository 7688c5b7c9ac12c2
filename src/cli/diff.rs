//! `refgraph diff`: what grew between two snapshots of the same process.

use std::path::PathBuf;

use anyhow::Result;
use refgraph::stats;

use super::grouping::{key_title, By, Grouping};

/// Print the types (or modules, qualified names) whose counts or sizes grew from OLD to NEW, and how many objects are new.
#[derive(clap::Args)]
#[command(mut_arg("by", |by| by.value_parser(By::counting())))]
pub(crate) struct Args {
    /// The older snapshot (.rgs).
    old: PathBuf,
    /// The newer snapshot (.rgs) of the same process.
    new: PathBuf,
    #[command(flatten)]
    grouping: Grouping,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let g = &a.grouping;
    // Unreachable from the command line (its --by offers no retained size); kept for the types.
    let Some(by) = g.by.grouping() else {
        anyhow::bail!("diff compares counts and sizes by type, module or qualname; for retained sizes run `refgraph top FILE --by retained` on each snapshot");
    };
    let older = super::load(&a.old)?;
    let newer = super::load(&a.new)?;
    if older.meta.pid != newer.meta.pid {
        eprintln!(
            "refgraph: note: {} (pid {}) and {} (pid {}) come from different processes: new objects are matched on address and type, which only means something within one process",
            a.old.display(),
            older.meta.pid,
            a.new.display(),
            newer.meta.pid
        );
    }
    let grew = stats::growth(&older, &newer, by, g.scope());
    let new = stats::new_objects(&older, &newer, g.scope());
    println!(
        "{} -> {}: {} -> {} objects, {} new (matched on address and type); {} {}s grew",
        a.old.display(),
        a.new.display(),
        older.node_count(),
        newer.node_count(),
        new.len(),
        grew.len(),
        key_title(by)
    );
    let shown = g.shown(grew.len());
    println!("{:>10} {:>10} {:>12} {:>12}  {}", "objects", "+objects", "bytes", "+bytes", key_title(by));
    for g in &grew[..shown] {
        println!("{:>10} {:>+10} {:>12} {:>+12}  {}", g.count, g.count_delta, g.size, g.size_delta, g.key);
    }
    Ok(0)
}
