//! Supervising the program `refgraph run` starts. While it runs, the
//! signals that ask a process to end (SIGTERM, SIGINT, SIGHUP, SIGQUIT) no
//! longer end refgraph: they are passed on to the child, refgraph waits for
//! it, and its status comes back the way a shell reports it (a death by
//! signal N as 128 + N), so nothing is left running behind refgraph.
//!
//! A signal the kernel sent (Ctrl-C, Ctrl-\ or a hang-up at the terminal)
//! went to the whole foreground process group, the child included, so it is
//! not sent a second time; one sent by a process (`kill`, a supervisor) is.

use std::process::{Child, Command, ExitStatus};

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::iterator::SignalsInfo;
use signal_hook::low_level::siginfo::{Cause, Origin};

/// The signals passed on to the child.
const FORWARDED: [i32; 4] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT];

/// Starts `cmd`, passes the ending signals on to it until it ends, and
/// returns how it ended.
pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<ExitStatus> {
    // Registered before the child starts, so that a signal arriving in
    // between waits in the queue rather than ending refgraph.
    let mut signals = SignalsInfo::<WithOrigin>::new(FORWARDED).context("cannot watch for signals")?;
    let handle = signals.handle();
    let mut child: Child = cmd.spawn().with_context(|| format!("cannot start {what}"))?;
    let pid = rustix::process::Pid::from_raw(child.id() as i32);
    let forwarder = std::thread::spawn(move || {
        for origin in signals.forever() {
            if let (true, Some(pid), Some(sig)) = (from_a_process(&origin), pid, rustix::process::Signal::from_named_raw(origin.signal)) {
                // The child may have just ended; nothing else to do then.
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    let status = child.wait().with_context(|| format!("cannot wait for {what}"));
    handle.close();
    let _ = forwarder.join();
    status
}

/// Whether a signal was sent by a process rather than by the kernel on the
/// terminal's behalf (which reaches the child by itself).
fn from_a_process(origin: &Origin) -> bool {
    !matches!(origin.cause, Cause::Kernel)
}

/// The exit status a shell would report: the code, or 128 + the signal.
pub(crate) fn shell_status(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_a_shell_reads_them() {
        let sh = |script: &str| shell_status(Command::new("sh").args(["-c", script]).status().unwrap());
        assert_eq!(sh("exit 3"), 3);
        assert_eq!(sh("kill -TERM $$"), 128 + SIGTERM);
    }
}
