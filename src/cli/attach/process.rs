//! What /proc says about the process to attach to: that it exists, whose it
//! is, and why tracing it may be forbidden.

use std::path::Path;

use anyhow::{bail, Result};

/// A running process to attach to.
pub(crate) struct Target {
    pub pid: u32,
    /// Real user and group ids.
    pub uid: u32,
    pub gid: u32,
}

impl Target {
    /// The process `pid`, or an error saying it does not exist.
    pub(crate) fn find(pid: u32) -> Result<Target> {
        if pid == std::process::id() {
            bail!("process {pid} is refgraph itself");
        }
        let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("no process with pid {pid}"),
            Err(e) => bail!("cannot read /proc/{pid}/status: {e}"),
        };
        if field(&status, "State:").is_some_and(|s| s.starts_with('Z')) {
            bail!("process {pid} has exited (it is a zombie waiting for its parent)");
        }
        let first = |name| field(&status, name).and_then(|v| v.split_whitespace().next()?.parse().ok());
        Ok(Target { pid, uid: first("Uid:").unwrap_or(0), gid: first("Gid:").unwrap_or(0) })
    }
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

/// Our effective user id.
pub(crate) fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    field(&status, "Uid:")?.split_whitespace().nth(1)?.parse().ok()
}

/// What may stand in the way of ptrace, as far as this machine tells.
pub(crate) fn ptrace_advice(pid: u32) -> String {
    let mut out = Vec::new();
    if let Ok(tracer) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        if let Some(t) = field(&tracer, "TracerPid:").filter(|t| *t != "0") {
            out.push(format!("process {t} is already tracing it (a debugger or profiler): detach that first."));
        }
    }
    let scope = Path::new("/proc/sys/kernel/yama/ptrace_scope");
    match std::fs::read_to_string(scope).map(|s| s.trim().to_string()) {
        Ok(s) if s == "1" => out.push(
            "/proc/sys/kernel/yama/ptrace_scope is 1: only a parent may trace its children. Run refgraph as root, \
             or allow tracing with `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`."
                .into(),
        ),
        Ok(s) if s == "2" => {
            out.push("/proc/sys/kernel/yama/ptrace_scope is 2: only a process with CAP_SYS_PTRACE may trace. Run refgraph as root.".into())
        }
        Ok(s) if s == "3" => out.push("/proc/sys/kernel/yama/ptrace_scope is 3: tracing is disabled until the next reboot.".into()),
        _ => {}
    }
    out.push(
        "Run refgraph as the process's user or as root with CAP_SYS_PTRACE; in a container, start it with \
         --cap-add=SYS_PTRACE (docker/podman) and run refgraph inside the same container."
            .into(),
    );
    out.join("\n")
}
