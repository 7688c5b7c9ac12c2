//! `refgraph summary`: what a snapshot holds — counts, roots, top types.

use std::path::PathBuf;

use anyhow::Result;

/// Print what a snapshot holds: capture facts, roots by kind, the most common types.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Snapshot file (.rgs).
    snapshot: PathBuf,
    /// How many types to list.
    #[arg(long, default_value_t = 20)]
    top: usize,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let heap = super::load(&a.snapshot)?;
    let m = &heap.meta;
    println!("{}: {} objects, {} references, {} roots", a.snapshot.display(), heap.node_count(), heap.edge_count(), heap.roots().len());
    println!("captured by the {} collector from Python {} (pid {}) in {:.3} s", m.collector, m.python_version.split_whitespace().next().unwrap_or("?"), m.pid, m.capture_seconds);
    for note in &m.notes {
        println!("note: {note}");
    }
    for (kind, count) in refgraph::roots::root_counts(&heap) {
        println!("roots: {count:>8} {kind}");
    }
    let mut by_type: Vec<(usize, u64, &str)> = Vec::new();
    let mut index = rustc_hash::FxHashMap::default();
    for n in heap.nodes() {
        let i = *index.entry(n.type_name()).or_insert_with(|| {
            by_type.push((0, 0, n.type_name()));
            by_type.len() - 1
        });
        by_type[i].0 += 1;
        by_type[i].1 += n.size();
    }
    by_type.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)));
    println!("{:>10} {:>12}  type", "objects", "bytes");
    for (count, bytes, name) in by_type.iter().take(a.top) {
        println!("{count:>10} {bytes:>12}  {name}");
    }
    Ok(0)
}
