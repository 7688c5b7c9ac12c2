//! Running gdb on the driver script (gdb_driver.py) and reading what it says.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::process::Target;
use super::workspace::Workspace;

/// The error when there is no gdb.
pub(crate) const MISSING: &str = "gdb is not installed, and `refgraph attach` needs it to reach into the process: \
     install it with `apt-get install gdb` (Debian, Ubuntu), `dnf install gdb` (Fedora, RHEL) or \
     `apk add gdb` (Alpine), or set REFGRAPH_GDB to a gdb binary (a Python 3.14+ target is reached without \
     gdb, through sys.remote_exec, when an interpreter of its version is at hand)";

/// What the driver reported.
pub(crate) enum Outcome {
    /// The loader ran in the target and returned this.
    Done(i64),
    /// (kind, text): see gdb_driver.py.
    Error(String, String),
}

/// gdb: REFGRAPH_GDB, else the first `gdb` on PATH.
pub(crate) fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REFGRAPH_GDB") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("gdb")).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the driver against the target; waits for gdb to detach and end.
pub(crate) fn run(gdb: &Path, target: &Target, space: &Workspace, timeout: f64) -> Result<Outcome> {
    let out = Command::new(gdb)
        .args(["-nx", "-batch", "-iex", "set auto-load off", "-iex", "set debuginfod enabled off", "-x"])
        .arg(space.path("gdb_driver.py"))
        .env("REFGRAPH_PID", target.pid.to_string())
        .env("REFGRAPH_LOADER", space.path("loader.py"))
        .env("REFGRAPH_STATUS", space.path("status"))
        .env("REFGRAPH_TIMEOUT", timeout.to_string())
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", gdb.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(outcome) = parse(&stdout) {
        return Ok(outcome);
    }
    if stderr.contains("Python scripting is not supported") {
        anyhow::bail!("{} was built without Python scripting, which `refgraph attach` needs", gdb.display());
    }
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    anyhow::bail!(
        "gdb ({}) ended ({}) without saying what happened: {}",
        gdb.display(),
        out.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )
}

/// The last `REFGRAPH …` line of the driver's output.
fn parse(stdout: &str) -> Option<Outcome> {
    let mut outcome = None;
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("REFGRAPH ") else { continue };
        let mut words = rest.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some("done"), Some(rc), _) => outcome = Some(Outcome::Done(rc.trim().parse().unwrap_or(-1))),
            // The first error is the cause; a later one is about leaving.
            (Some("error"), Some(kind), text) if !matches!(outcome, Some(Outcome::Error(..))) => {
                outcome = Some(Outcome::Error(kind.to_string(), text.unwrap_or("").to_string()))
            }
            _ => {}
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_is_the_cause() {
        let out = "noise\nREFGRAPH error timeout no safe point\nREFGRAPH error failed cannot detach\n";
        match parse(out) {
            Some(Outcome::Error(kind, text)) => assert_eq!((kind.as_str(), text.as_str()), ("timeout", "no safe point")),
            _ => panic!("no error parsed"),
        }
        assert!(matches!(parse("REFGRAPH done 0\n"), Some(Outcome::Done(0))));
        assert!(parse("gdb said nothing of ours\n").is_none());
    }
}
