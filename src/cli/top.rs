//! `refgraph top`: the largest groups of objects in a snapshot. (Minimal
//! version holding `--by retained` only, until the issue-14 `top` merges.)

use std::path::PathBuf;

use anyhow::Result;

/// Print the objects keeping the most memory alive.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// What to rank by.
    #[arg(long, value_enum, default_value_t = By::Retained)]
    by: By,
    /// How many rows to print (0: all).
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum By {
    /// Retained size (dominator tree): the objects keeping the most memory alive, with their root paths.
    Retained,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    match a.by {
        By::Retained => super::retained::print_top(&heap, &a.snapshot.display().to_string(), a.limit),
    }
}
