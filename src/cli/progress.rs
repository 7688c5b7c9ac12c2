//! Progress on a terminal for what takes long: reading a big snapshot, and a
//! capture that a program run under refgraph makes (`run`; `attach` can use
//! the same watcher). Drawn on stderr only when stderr is a terminal; when it
//! is piped or redirected nothing is drawn and nothing changes.
//!
//! A capture happens in another process, so it is watched through a small
//! file the bootstrap (`refgraph._run`) appends a line to: `capture` when a
//! capture starts, `done NODES EDGES SECONDS` when its snapshot is written.
//! While one runs, a spinner shows the elapsed time and how big the snapshot
//! file being written has grown. The watcher only reads files: whatever
//! happens to the program, it cannot stop or change it.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this are read without a bar (it would only flicker).
const QUIET_BELOW: u64 = 16 << 20;
const TICK: Duration = Duration::from_millis(100);

/// Whether progress may be drawn: stderr is a terminal and the user did not
/// ask for quiet (`REFGRAPH_PROGRESS=0`).
pub(crate) fn enabled() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("REFGRAPH_PROGRESS").is_none_or(|v| v != "0")
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.set_message(message);
    bar.enable_steady_tick(TICK);
    bar
}

/// Reads a whole file, with a bar of bytes on a terminal for big files.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read snapshot {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if !enabled() || size < QUIET_BELOW {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).with_context(|| format!("cannot read snapshot {}", path.display()))?;
        return Ok(bytes);
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("reading {msg} {wide_bar} {bytes}/{total_bytes} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(path.display().to_string());
    let mut bytes = Vec::with_capacity(size as usize);
    bar.wrap_read(&mut file).read_to_end(&mut bytes).with_context(|| format!("cannot read snapshot {}", path.display()))?;
    bar.finish_and_clear();
    Ok(bytes)
}

/// Runs `work` with a spinner saying `message` on a terminal.
pub(crate) fn with_spinner<T>(message: impl FnOnce() -> String, big: bool, work: impl FnOnce() -> T) -> T {
    if !enabled() || !big {
        return work();
    }
    let bar = spinner(message());
    let out = work();
    bar.finish_and_clear();
    out
}

/// Whether a file is big enough to deserve progress.
pub(crate) fn is_big(bytes: usize) -> bool {
    bytes as u64 >= QUIET_BELOW
}

/// Watches the captures of a program that refgraph started.
pub(crate) struct CaptureWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl CaptureWatch {
    /// Prepares `cmd` (the program about to start) to report its captures,
    /// and starts watching; does nothing unless progress is [`enabled`].
    /// `output` is the snapshot the program writes.
    pub(crate) fn start(cmd: &mut Command, output: &Path) -> CaptureWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let none = |stop| CaptureWatch { stop, thread: None, _dir: None };
        if !enabled() {
            cmd.env_remove("REFGRAPH_PROGRESS_FILE");
            return none(stop);
        }
        let Ok(dir) = tempfile::Builder::new().prefix("refgraph-progress-").tempdir() else { return none(stop) };
        let file = dir.path().join("progress");
        if std::fs::write(&file, b"").is_err() {
            return none(stop);
        }
        cmd.env("REFGRAPH_PROGRESS_FILE", &file);
        let (flag, output) = (stop.clone(), output.to_path_buf());
        let thread = std::thread::Builder::new().name("refgraph-progress".into()).spawn(move || watch(&file, &output, &flag)).ok();
        CaptureWatch { stop, thread, _dir: Some(dir) }
    }

    /// Stops watching (the program ended) and clears the spinner.
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CaptureWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The watcher's loop: follows the progress file's lines until told to stop.
fn watch(file: &Path, output: &Path, stop: &AtomicBool) {
    let mut seen = 0usize;
    let mut bar: Option<ProgressBar> = None;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        // Whole lines only: the bootstrap may be halfway through one.
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        for line in text[seen.min(complete)..complete].lines() {
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["capture", ..] => {
                    if let Some(b) = bar.take() {
                        b.finish_and_clear();
                    }
                    bar = Some(spinner(format!("capturing the heap into {}", output.display())));
                }
                ["done", nodes, edges, seconds] => {
                    if let Some(b) = bar.take() {
                        b.finish_and_clear();
                    }
                    eprintln!("refgraph: captured {nodes} objects, {edges} references in {seconds} s");
                }
                _ => {}
            }
        }
        seen = complete;
        if let Some(b) = &bar {
            if let Some(size) = growing_size(output) {
                b.set_message(format!("capturing the heap: writing {} ({})", output.display(), HumanBytes(size)));
            }
        }
        if stopping {
            break;
        }
        std::thread::sleep(TICK);
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// The size of the snapshot being written: the writers' temporary files
/// beside `output` (`.refgraph-*.tmp` from the Rust writer, `NAME.tmpPID`
/// from the pure-Python one).
fn growing_size(output: &Path) -> Option<u64> {
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = output.file_name()?.to_string_lossy().into_owned();
    let mut newest: Option<(std::time::SystemTime, u64)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let n = entry.file_name().to_string_lossy().into_owned();
        let ours = (n.starts_with(".refgraph-") && n.ends_with(".tmp")) || n.strip_prefix(&name).is_some_and(|r| r.starts_with(".tmp"));
        if !ours {
            continue;
        }
        if let Ok(m) = entry.metadata() {
            let at = m.modified().unwrap_or(std::time::UNIX_EPOCH);
            if newest.is_none_or(|(t, _)| at > t) {
                newest = Some((at, m.len()));
            }
        }
    }
    newest.map(|(_, size)| size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_being_written_is_found_beside_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("heap.rgs");
        assert_eq!(growing_size(&out), None);
        std::fs::write(dir.path().join("heap.rgs.tmp4242"), vec![0u8; 300]).unwrap();
        assert_eq!(growing_size(&out), Some(300));
        std::fs::write(dir.path().join("other.rgs.tmp1"), vec![0u8; 5]).unwrap();
        assert_eq!(growing_size(&out), Some(300));
    }
}
