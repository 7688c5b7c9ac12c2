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
mod remote_exec;
mod workspace;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::run::Collector;
use gdb::Outcome;

/// How to reach into the process.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Method {
    /// gdb where it is installed, else sys.remote_exec on Python 3.14+.
    Auto,
    /// gdb: any CPython (2.7, 3.x), busy or blocked.
    Gdb,
    /// sys.remote_exec (Python 3.14+, no gdb needed): runs when the main
    /// thread next runs Python code, so not while it is blocked in a call.
    RemoteExec,
}

/// Snapshot a running Python process (by pid) without restarting it.
///
/// Needs gdb (apt-get install gdb), or a Python 3.14+ target (sys.remote_exec),
/// and the right to trace the process (same user, or root; see docs/attach.md).
/// Works on Python 2.7 and 3.6+, on a process busy running code or blocked in
/// input(), time.sleep() or a lock.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  refgraph attach 4242 -o heap.rgs\n  \
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
    /// snapshotted; on timeout it is left running. A capture that
    /// has started is never cut short (stopping it half done would break the
    /// target).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    timeout: f64,
    #[arg(long, value_enum, default_value_t = Method::Auto)]
    method: Method,
    #[command(flatten)]
    strings: super::capture_args::StringsArg,
}

pub(crate) fn run(a: Args) -> Result<i32> {
    if !a.timeout.is_finite() || a.timeout <= 0.0 {
        bail!("--timeout must be a positive number of seconds, not {}", a.timeout);
    }
    let target = process::Target::find(a.pid)?;
    let space = workspace::Workspace::new(&target, a.collector, a.strings)?;
    let space = match reach(&a, &target)? {
        Reach::Gdb(gdb) => {
            eprintln!("refgraph: attaching to process {} with {}", a.pid, gdb.display());
            match gdb::run(&gdb, &target, &space, a.timeout)? {
                Outcome::Done(0) => {}
                Outcome::Done(rc) => bail!("the loader failed in process {} (PyRun_SimpleString returned {rc})", a.pid),
                Outcome::Error(kind, text) => bail!(explain(&target, &kind, &text, a.timeout)),
            }
            space
        }
        Reach::RemoteExec(python) => {
            eprintln!("refgraph: asking process {} to run the capture with sys.remote_exec ({})", a.pid, python.display());
            remote_exec::run(&python, &target, space, a.timeout)?
        }
    };
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

enum Reach {
    Gdb(PathBuf),
    RemoteExec(PathBuf),
}

/// gdb or sys.remote_exec, as --method says and the machine allows.
fn reach(a: &Args, target: &process::Target) -> Result<Reach> {
    let gdb = || gdb::find().map(Reach::Gdb);
    let remote = || remote_exec::interpreter_for(target.pid).map(Reach::RemoteExec);
    match a.method {
        Method::Gdb => gdb().ok_or_else(|| anyhow::anyhow!(gdb::MISSING)),
        Method::RemoteExec => remote().ok_or_else(|| {
            anyhow::anyhow!(
                "process {} is not CPython 3.14+ with its interpreter at hand (sys.remote_exec needs one of the same version)",
                target.pid
            )
        }),
        Method::Auto => gdb().or_else(remote).ok_or_else(|| anyhow::anyhow!(gdb::MISSING)),
    }
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
