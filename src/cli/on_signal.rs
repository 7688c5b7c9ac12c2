//! `refgraph run --on-signal SIG`: the program writes a snapshot each time
//! it receives SIG, beside the final one: `-o heap.rgs` gives heap.1.rgs,
//! heap.2.rgs, … in the order the signals arrive. refgraph's bootstrap
//! (python/refgraph/_run.py) installs a Python handler for SIG, so the
//! snapshot is taken in the main thread between two bytecodes, with the GIL.

use std::path::Path;

use anyhow::{bail, Result};

/// Signals a Python handler can take (not KILL or STOP, nor the faults).
const CATCHABLE: &[&str] = &[
    "HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TERM", "CHLD", "CONT", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
    "WINCH", "IO", "PWR", "SYS",
];

/// `USR2`, `sigusr2`, `SIGUSR2` -> `SIGUSR2`, or an error naming the signals allowed.
pub(crate) fn signal_name(text: &str) -> Result<String> {
    let upper = text.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if !CATCHABLE.contains(&bare) {
        bail!("--on-signal {text:?}: not a signal a Python program can handle; use one of {}", CATCHABLE.join(", "));
    }
    Ok(format!("SIG{bare}"))
}

/// The path pattern of the snapshots taken on signal, with `%d` where the
/// number goes (and `%` doubled, for Python's `%` formatting).
pub(crate) fn numbered_pattern(output: &Path) -> String {
    let escape = |s: &str| s.replace('%', "%%");
    let stem = output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match output.extension() {
        Some(ext) => format!("{}.%d.{}", escape(&stem), escape(&ext.to_string_lossy())),
        None => format!("{}.%d", escape(&stem)),
    };
    let dir = output.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    if dir.is_empty() {
        name
    } else {
        format!("{}/{name}", escape(dir.trim_end_matches('/')))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_are_normalised_and_checked() {
        assert_eq!(signal_name("usr2").unwrap(), "SIGUSR2");
        assert_eq!(signal_name("SIGHUP").unwrap(), "SIGHUP");
        let err = signal_name("KILL").unwrap_err().to_string();
        assert!(err.contains("not a signal") && err.contains("USR2"), "{err}");
    }

    #[test]
    fn snapshots_on_signal_are_numbered_before_the_extension() {
        assert_eq!(numbered_pattern(Path::new("/tmp/heap.rgs")), "/tmp/heap.%d.rgs");
        assert_eq!(numbered_pattern(Path::new("heap")), "heap.%d");
        assert_eq!(numbered_pattern(Path::new("/a%b/x.rgs")), "/a%%b/x.%d.rgs");
    }
}
