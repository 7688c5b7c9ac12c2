//! `refgraph run`: runs a Python program and writes a snapshot of its heap
//! when the program ends, after a full collection. The program is given as
//! Python takes it (a script, `-c CODE`, `-m MODULE`; see `program`), runs
//! under `child`'s supervision, and its exit status is refgraph's.
//!
//! The target interpreter gets refgraph's Python package on `PYTHONPATH` and
//! a bootstrap (`refgraph._run`) that runs the script as `__main__`. The
//! package is looked up for the interpreter's own version: `REFGRAPH_PYTHONPATH`,
//! then `target/pyext/cpXY` beside the `refgraph` binary (where
//! `scripts/build-ext` puts it), then whatever the interpreter can already
//! import.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::{child, program};

/// Which collector captures the heap.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Collector {
    /// The Rust extension where one is built for the interpreter, else the pure-Python one.
    Auto,
    /// The Rust extension (CPython 3.9+): fast, reads thread frames and C-level holders.
    Native,
    /// The pure-Python collector (CPython 2.7, 3.6+): standard library only.
    Python,
}

/// The pure-Python package, carried inside the binary so that `run` works
/// for interpreters no extension is built for.
const PURE_PACKAGE: &[(&str, &str)] = &[
    ("__init__.py", include_str!("../../python/refgraph/__init__.py")),
    ("_run.py", include_str!("../../python/refgraph/_run.py")),
    ("collector.py", include_str!("../../python/refgraph/collector.py")),
];

/// Run a Python program under refgraph and snapshot its heap when it ends.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Where to write the snapshot (.rgs).
    #[arg(long, short)]
    output: PathBuf,
    #[arg(long, value_enum, default_value_t = Collector::Auto)]
    collector: Collector,
    /// Also write a snapshot each time the program gets this signal (USR2,
    /// HUP, ...): -o heap.rgs gives heap.1.rgs, heap.2.rgs, ... in order,
    /// then heap.rgs when the program ends. (A handler the program installs
    /// for the same signal replaces refgraph's.)
    #[arg(long, value_name = "SIGNAL")]
    on_signal: Option<String>,
    #[command(flatten)]
    strings: super::capture_args::StringsArg,
    /// The interpreter and the program as Python takes it: -- python3 script.py ARGS, -- python3 -c CODE ARGS,
    /// -- python3 -m MODULE ARGS (interpreter options such as -u may come before).
    #[arg(required = true, last = true, num_args = 2..)]
    command: Vec<OsString>,
}

/// `(major, minor)` of an interpreter, asked in a way Python 2.7 understands.
fn python_version(python: &OsString) -> Result<(u32, u32)> {
    let out = Command::new(python)
        .args(["-c", "import sys; sys.stdout.write('%d %d' % sys.version_info[:2])"])
        .output()
        .with_context(|| format!("cannot start {:?}", python))?;
    if !out.status.success() {
        bail!("{:?} did not report its version: {}", python, String::from_utf8_lossy(&out.stderr).trim());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(str::parse::<u32>);
    match (parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b))) => Ok((a, b)),
        _ => bail!("{:?} reported an unreadable version {:?}", python, text),
    }
}

fn can_import(python: &OsString, pythonpath: Option<&Path>, module: &str) -> bool {
    let mut cmd = Command::new(python);
    cmd.args(["-c", &format!("import {module}")]);
    if let Some(p) = pythonpath {
        cmd.env("PYTHONPATH", join_pythonpath(p));
    }
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

fn join_pythonpath(dir: &Path) -> OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(old) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&old));
    }
    std::env::join_paths(paths).unwrap_or_else(|_| dir.as_os_str().to_owned())
}

/// Directories that may hold the package for interpreter tag `cpXY`.
pub(crate) fn candidate_dirs(tag: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os("REFGRAPH_PYTHONPATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    if let Ok(exe) = std::env::current_exe() {
        // target/release/refgraph -> target/pyext/cpXY
        if let Some(target) = exe.parent().and_then(Path::parent) {
            dirs.push(target.join("pyext").join(tag));
        }
    }
    dirs
}

pub(crate) fn run(a: Args) -> Result<i32> {
    let python = &a.command[0];
    // Both checked before anything runs: a mistake must not cost a whole run.
    let program = program::parse(&a.command[1..])?;
    let output = absolute(&a.output)?;
    check_output(&output)?;
    let on_signal = a.on_signal.as_deref().map(super::on_signal::signal_name).transpose()?;
    let (major, minor) = python_version(python)?;
    let tag = format!("cp{major}{minor}");
    let native_dir = candidate_dirs(&tag).into_iter().find(|d| d.join("refgraph").is_dir());
    let native = a.collector != Collector::Python && can_import(python, native_dir.as_deref(), "refgraph._native");
    let pure_dir; // kept alive until the program ends
    let dir = match (a.collector, native) {
        (Collector::Native, false) => bail!(
            "no refgraph extension for Python {major}.{minor} ({}): build it with `scripts/build-ext {major}.{minor}`, \
             or set REFGRAPH_PYTHONPATH to a folder holding it",
            python.to_string_lossy()
        ),
        (_, true) => native_dir,
        (_, false) => {
            pure_dir = pure_package()?;
            eprintln!("refgraph: using the pure-Python collector for Python {major}.{minor}");
            Some(pure_dir.path().to_path_buf())
        }
    };
    let before = modified(&output);
    let mut cmd = Command::new(python);
    cmd.args(&program.interpreter_options);
    let (mode, target) = program.launch.mode_and_target();
    cmd.arg("-c").arg("import refgraph._run as r; r.main()").arg(&output).arg(mode).arg(target);
    cmd.args(&program.args);
    if let Some(d) = &dir {
        cmd.env("PYTHONPATH", join_pythonpath(d));
    }
    if let Some(sig) = &on_signal {
        cmd.env("REFGRAPH_ON_SIGNAL", sig).env("REFGRAPH_ON_SIGNAL_OUT", super::on_signal::numbered_pattern(&output));
    }
    a.strings.apply(&mut cmd);
    let watch = super::progress::CaptureWatch::start(&mut cmd, &output);
    let status = child::run(&mut cmd, &format!("{python:?}"));
    watch.finish();
    let status = status?;
    let code = child::shell_status(status);
    // An old file of the same name must not pass for a new snapshot.
    if !output.is_file() || modified(&output) == before {
        eprintln!("refgraph: {python:?} ended ({status}) without writing {}", output.display());
        return Ok(if code == 0 { 2 } else { code });
    }
    eprintln!("refgraph: wrote {}", output.display());
    Ok(code)
}

/// Refuses an output the snapshot could not be written to: a folder, a
/// file in a folder that does not exist or cannot be written in.
fn check_output(output: &Path) -> Result<()> {
    if output.is_dir() {
        bail!("cannot write {}: it is a folder (nothing was run)", output.display());
    }
    let folder = output.parent().unwrap_or(Path::new("/"));
    if !folder.is_dir() {
        bail!("cannot write {}: there is no folder {} (nothing was run)", output.display(), folder.display());
    }
    // The snapshot is written beside its name first, then renamed.
    tempfile::Builder::new()
        .prefix(".refgraph-check-")
        .tempfile_in(folder)
        .with_context(|| format!("cannot write {}: cannot create a file in {} (nothing was run)", output.display(), folder.display()))?;
    Ok(())
}

/// Writes the pure-Python package into a fresh temporary folder.
fn pure_package() -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("refgraph-py-").tempdir().context("cannot make a temporary folder")?;
    let pkg = dir.path().join("refgraph");
    std::fs::create_dir(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;
    for (name, text) in PURE_PACKAGE {
        std::fs::write(pkg.join(name), text).with_context(|| format!("cannot write {}", pkg.join(name).display()))?;
    }
    Ok(dir)
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir().context("cannot read the current directory")?.join(p))
}
