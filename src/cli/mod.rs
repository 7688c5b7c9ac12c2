//! The `refgraph` command: argument parsing and dispatch, one file per
//! subcommand. Errors print once, on one line, with their whole cause chain,
//! and exit with status 2. Part of the library so that both the binary
//! (`src/main.rs`) and the Python extension (`python -m refgraph`, the
//! `refgraph` console script) run the same command.

mod attach;
mod backrefs;
mod capture_args;
mod child;
mod diff;
mod filters;
mod grouping;
mod modules;
mod on_signal;
mod output;
mod path;
mod program;
mod progress;
mod report;
mod retained;
mod run;
mod summary;
mod top;

use std::path::Path;

use anyhow::Result;
use clap::{Parser, Subcommand};

use refgraph::graph::{Heap, NodeIx};
use refgraph::select::Selector;

/// Why is this Python object still alive? Capture a Python heap into a
/// snapshot, then ask for root paths and backref graphs.
#[derive(Parser)]
#[command(name = "refgraph", version, about, long_about = None, arg_required_else_help = true)]
#[command(after_help = "Selectors (--select): 0xADDR, TYPE (short or qualified name), TYPE~REGEX (label matches), ~REGEX.\n\
Example: refgraph run -o heap.rgs -- python3 plat.py 100\n\
         refgraph path heap.rgs --select 'dict~^logging namespace' --limit 3")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(run::Args),
    Attach(attach::Args),
    Path(path::Args),
    Backrefs(backrefs::Args),
    Summary(summary::Args),
    Top(top::Args),
    Diff(diff::Args),
    Report(report::Args),
    Modules(modules::Args),
    /// Work with filter files (.rgf).
    #[command(subcommand)]
    Filters(filters::FiltersCommand),
}

/// Runs the command line of this process; returns the exit status.
pub fn main() -> i32 {
    main_with(std::env::args_os())
}

/// Runs a command line (`args[0]` is the program's name); returns the exit status.
pub fn main_with<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // `refgraph path … | head` should end quietly when head stops reading,
    // as command-line tools do, not panic on a closed pipe.
    #[cfg(target_os = "linux")]
    sigpipe::reset();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::Attach(a) => attach::run(a),
        Command::Path(a) => path::run(a),
        Command::Backrefs(a) => backrefs::run(a),
        Command::Summary(a) => summary::run(a),
        Command::Top(a) => top::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Report(a) => report::run(a),
        Command::Modules(a) => modules::run(a),
        Command::Filters(c) => filters::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("refgraph: {e:#}");
            2
        }
    }
}

/// The snapshot and the objects in it a command is about.
#[derive(clap::Args)]
pub(crate) struct Targets {
    /// Snapshot file (.rgs).
    pub snapshot: std::path::PathBuf,
    /// Which objects: 0xADDR, TYPE, TYPE~REGEX (repeatable).
    #[arg(long, short, required = true)]
    pub select: Vec<String>,
    /// At most this many selected objects.
    #[arg(long)]
    pub max_targets: Option<usize>,
}

impl Targets {
    /// Loads the snapshot and selects the targets.
    pub(crate) fn load(&self) -> Result<(Heap, Vec<NodeIx>)> {
        let heap = load(&self.snapshot)?;
        let targets = select(&heap, &self.select, self.max_targets)?;
        Ok((heap, targets))
    }
}

/// Reads a snapshot, with a progress bar on a terminal when the file is big;
/// its errors name the file.
pub(crate) fn load(path: &Path) -> Result<Heap> {
    let name = path.display().to_string();
    let bytes = progress::read_file(path)?;
    let big = progress::is_big(bytes.len());
    Ok(progress::with_spinner(|| format!("decoding {name}"), big, || refgraph::snapshot::read_snapshot_bytes(&bytes, &name))?)
}

/// The nodes the selectors pick, at most `limit` (all if `None`), or an error
/// saying that nothing matched.
pub(crate) fn select(heap: &Heap, selectors: &[String], limit: Option<usize>) -> Result<Vec<NodeIx>> {
    let mut out = Vec::new();
    for text in selectors {
        let sel = Selector::parse(text)?;
        let found = sel.select(heap);
        if found.is_empty() {
            anyhow::bail!("selector {text:?} matches no object in the snapshot{}", suggestion(heap, &sel));
        }
        for ix in found {
            if !out.contains(&ix) {
                out.push(ix);
            }
        }
    }
    if let Some(n) = limit {
        out.truncate(n);
    }
    Ok(out)
}

/// "; did you mean Logger?" when a selector's type name is near some in the heap.
fn suggestion(heap: &Heap, sel: &Selector) -> String {
    let Selector::Type { type_name: Some(t), .. } = sel else { return String::new() };
    let near = refgraph::select::near_type_names(heap, t);
    match near.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        [rest @ .., last] => format!("; did you mean {} or {last}?", rest.join(", ")),
    }
}
