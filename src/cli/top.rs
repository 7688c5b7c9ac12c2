//! `refgraph top`: the largest groups of objects in a snapshot, by type,
//! module, qualified name or size, or the objects that keep the most memory
//! alive (retained size, from the dominator tree).

use std::path::PathBuf;

use anyhow::Result;
use refgraph::stats::{self, Scope};

/// Print the most common types (or modules, qualified names) of a snapshot with their total shallow size.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// What to group the objects by.
    #[arg(long, value_enum, default_value_t = By::Type)]
    by: By,
    /// How many rows to print (0: all).
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Count only objects the garbage collector tracks, as objgraph does.
    #[arg(long)]
    tracked: bool,
}

/// How `top` ranks: a grouping of [`stats::By`], or retained size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum By {
    /// The type's qualified name, most objects first.
    Type,
    /// Namespaces per module, most first, as the seed's showMemoryByModule counts them: module namespaces by their __name__, class dicts by their __module__ (one per copy of a module, plus one per class; `refgraph modules` tells the copies apart).
    Module,
    /// The qualified name of a function, method or class, most objects first.
    Qualname,
    /// The type, most bytes (total shallow size) first.
    Size,
    /// The objects keeping the most memory alive (dominator tree), each with its root paths.
    Retained,
}

impl By {
    /// The grouping this ranking counts by; `None` for retained size, which ranks objects.
    pub(crate) fn grouping(self) -> Option<stats::By> {
        match self {
            By::Type => Some(stats::By::Type),
            By::Module => Some(stats::By::Module),
            By::Qualname => Some(stats::By::Qualname),
            By::Size => Some(stats::By::Size),
            By::Retained => None,
        }
    }
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    let Some(by) = a.by.grouping() else {
        return super::retained::print_top(&heap, &a.snapshot.display().to_string(), a.limit);
    };
    let scope = if a.tracked { Scope::TRACKED } else { Scope::ALL };
    let groups = stats::typestats(&heap, by, scope);
    let shown = if a.limit == 0 { groups.len() } else { a.limit.min(groups.len()) };
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

/// The column title of a grouping's key.
pub(crate) fn key_title(by: stats::By) -> &'static str {
    match by {
        stats::By::Type | stats::By::Size => "type",
        stats::By::Module => "module",
        stats::By::Qualname => "qualname",
    }
}

fn order(by: stats::By) -> &'static str {
    match by {
        stats::By::Size => "total size",
        _ => "count",
    }
}
