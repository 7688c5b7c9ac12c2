//! `refgraph attach PID`: snapshots a running CPython process without
//! restarting it. gdb attaches, has the target's main thread run a small
//! loader at a safe point with the GIL held (see attach/gdb_driver.py), and
//! the loader runs refgraph's collector inside the target: the extension when
//! one is built for the target's Python, else the pure-Python collector, both
//! handed over as files in a private folder, so nothing has to be installed
//! in the target. The target writes the snapshot into that folder; the CLI
//! checks it whole before it puts it where `-o` says.

mod gdb;
mod process;
mod workspace;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::run::Collector;
use gdb::Outcome;

/// Snapshot a running Python process (by pid) without restarting it.
///
/// Needs gdb (apt-get install gdb) and the right to trace the process (same
/// user, or root; see docs/attach.md). Works on Python 2.7 and 3.6+, on a
/// process busy running code or blocked in input(), time.sleep() or a lock.
#[derive(clap::Args)]
#[command(after_help = "Example: refgraph attach 4242 -o heap.rgs\n\
         refgraph path heap.rgs --select 'dict~^logging namespace' --max-targets 1")]
pub(crate) struct Args {
    /// The process id of the running Python program.
    pid: u32,
    /// Where to write the snapshot (.rgs).
    #[arg(long, short)]
    output: PathBuf,
    #[arg(long, value_enum, default_value_t = Collector::Auto)]
    collector: Collector,
    /// Seconds to wait for the target to reach a point where it can be
    /// snapshotted; on timeout it is left running, untouched. A capture that
    /// has started is never cut short (stopping it half done would break the
    /// target).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    timeout: f64,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    if !a.timeout.is_finite() || a.timeout <= 0.0 {
        bail!("--timeout must be a positive number of seconds, not {}", a.timeout);
    }
    let target = process::Target::find(a.pid)?;
    let gdb = gdb::find().ok_or_else(|| anyhow::anyhow!(gdb::MISSING))?;
    let space = workspace::Workspace::new(&target, a.collector)?;
    eprintln!("refgraph: attaching to process {} with {}", a.pid, gdb.display());
    let outcome = gdb::run(&gdb, &target, &space, a.timeout)?;
    match outcome {
        Outcome::Done(0) => {}
        Outcome::Done(rc) => bail!("the loader failed in process {} (PyRun_SimpleString returned {rc})", a.pid),
        Outcome::Error(kind, text) => bail!(explain(&target, &kind, &text, a.timeout)),
    }
    let status = space.status().with_context(|| format!("process {} ran the loader but said nothing", a.pid))?;
    let captured = status.into_result().with_context(|| format!("the capture in process {} failed", a.pid))?;
    let heap = super::load(&space.snapshot_path()).context("the snapshot the target wrote is unreadable")?;
    space.publish(&a.output)?;
    eprintln!(
        "refgraph: wrote {} ({} objects, {} references; {} collector, Python {}, {:.2} s in the target)",
        a.output.display(),
        heap.node_count(),
        heap.edge_count(),
        captured.collector,
        captured.python,
        captured.seconds
    );
    Ok(0)
}

/// What went wrong, and what to do about it, for each error the gdb driver reports.
fn explain(target: &process::Target, kind: &str, text: &str, timeout: f64) -> String {
    let pid = target.pid;
    match kind {
        "ptrace" => format!("cannot attach to process {pid}: {text}\n{}", process::ptrace_advice(pid)),
        "gone" => format!("process {pid} is gone: {text}"),
        "not-python" => format!("process {pid} is not a CPython process refgraph can attach to: {text}"),
        "exited" => format!("process {pid} exited during the capture ({text}); no snapshot was written"),
        "timeout" => format!(
            "gave up after {timeout} s: {text}; process {pid} was left running \
             (try a longer --timeout, or attach when it is less busy in C code)"
        ),
        _ => format!("attaching to process {pid} failed: {text}"),
    }
}
