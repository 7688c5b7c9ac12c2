//! `refgraph top`: the largest groups of objects in a snapshot, by type,
//! module, qualified name or size, or the objects that keep the most memory
//! alive (retained size, from the dominator tree).

use std::path::PathBuf;

use anyhow::Result;
use refgraph::stats;

use super::grouping::{key_title, order, Grouping};

/// Print the most common types (or modules, qualified names) of a snapshot with their total shallow size.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    #[command(flatten)]
    grouping: Grouping,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    let g = &a.grouping;
    let Some(by) = g.by.grouping() else {
        return super::retained::print_top(&heap, &a.snapshot.display().to_string(), g.limit);
    };
    let groups = stats::typestats(&heap, by, g.scope());
    let shown = g.shown(groups.len());
    println!(
        "{}: {} objects; {} {}s, the first {shown} by {}",
        a.snapshot.display(),
        heap.node_count(),
        groups.len(),
        key_title(by),
        order(by)
    );
    println!("{:>10} {:>12}  {}", "objects", "bytes", key_title(by));
    for g in &groups[..shown] {
        println!("{:>10} {:>12}  {}", g.count, g.size, g.key);
    }
    Ok(0)
}
