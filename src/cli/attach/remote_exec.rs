//! Attaching without gdb, where the target is CPython 3.14 or newer:
//! `sys.remote_exec(pid, script)` (PEP 768), run by an interpreter of the
//! target's version, has the target run the loader at its next safe point,
//! in the main thread. That point comes when the main thread runs Python
//! code: a target blocked in input() or time.sleep() gets there only when
//! the call returns (gdb reaches it at once).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::process::{ptrace_advice, Target};
use super::workspace::Workspace;

/// The first version with sys.remote_exec.
const FIRST: (u32, u32) = (3, 14);

/// An interpreter of the target's own version that has sys.remote_exec, if
/// the target is CPython 3.14+ (told by its executable's or libpython's name).
pub(crate) fn interpreter_for(pid: u32) -> Option<PathBuf> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    if let Some(exe) = &exe {
        let name = exe.file_name()?.to_string_lossy().into_owned();
        if let Some(v) = version_in(&name, "python") {
            return (v >= FIRST && exe.is_file()).then(|| exe.clone());
        }
    }
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let v = maps.lines().find_map(|l| version_in(l.rsplit('/').next()?, "libpython"))?;
    if v < FIRST {
        return None;
    }
    let name = format!("python{}.{}", v.0, v.1);
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(&name)).find(|p| p.is_file())
}

/// `python3.14` / `libpython3.14.so.1.0` -> (3, 14).
fn version_in(name: &str, prefix: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(prefix)?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Schedules the loader with sys.remote_exec and waits for the target's status.
pub(crate) fn run(python: &Path, target: &Target, space: Workspace, timeout: f64) -> Result<Workspace> {
    let out = Command::new(python)
        .args(["-I", "-c", "import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])"])
        .arg(target.pid.to_string())
        .arg(space.path("loader.py"))
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        if last.starts_with("PermissionError") {
            bail!("sys.remote_exec may not reach process {}: {last}\n{}", target.pid, ptrace_advice(target.pid));
        }
        if last.starts_with("ProcessLookupError") {
            bail!("process {} is gone: {last}", target.pid);
        }
        bail!("sys.remote_exec({}) failed ({}): {last}", target.pid, python.display());
    }
    let deadline = Instant::now() + Duration::from_secs_f64(timeout);
    let status = space.path("status");
    while !status.exists() {
        if !Path::new(&format!("/proc/{}", target.pid)).exists() {
            bail!("process {} exited before or during the capture; no snapshot was written", target.pid);
        }
        if Instant::now() > deadline {
            let left = space.leave_empty_loader();
            bail!(
                "gave up after {timeout} s: process {} ran no Python code in its main thread to run the capture \
                 (blocked in a call?); it was left running, with the script still scheduled: it will run {}, \
                 now empty, and do nothing (remove that folder after). gdb reaches a blocked process at once.",
                target.pid,
                left.join("loader.py").display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::version_in;

    #[test]
    fn versions_from_interpreter_and_library_names() {
        assert_eq!(version_in("python3.14", "python"), Some((3, 14)));
        assert_eq!(version_in("python3.15d", "python"), Some((3, 15)));
        assert_eq!(version_in("libpython3.14.so.1.0", "libpython"), Some((3, 14)));
        assert_eq!(version_in("python3", "python"), None);
    }
}
