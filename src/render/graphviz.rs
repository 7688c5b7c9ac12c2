//! Running Graphviz `dot`: finding it on the PATH and piping DOT text
//! through it. The DOT goes in on stdin (no temporary file to clean up) and
//! dot's stderr comes back in the error, because that is where Graphviz says
//! what went wrong.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::RenderError;

/// Where `dot` is, if it is on the PATH.
pub(crate) fn find_dot() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| executable_in(&dir, "dot"))
}

fn executable_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let names = if cfg!(windows) { vec![format!("{name}.exe")] } else { vec![name.to_string()] };
    names.into_iter().map(|n| dir.join(n)).find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Runs `dot -T<format>` on `dot_text` and returns what it printed.
pub(crate) fn run(dot: &Path, dot_text: &str, format: &str) -> Result<Vec<u8>, RenderError> {
    let mut child = Command::new(dot)
        .arg(format!("-T{format}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| spawn_error(dot, source))?;
    // Feed stdin from another thread: on a big graph dot starts writing
    // before it has read everything, and both pipes would fill up.
    let feeder = child.stdin.take().map(|mut stdin| {
        let input = dot_text.to_owned();
        std::thread::spawn(move || stdin.write_all(input.as_bytes()))
    });
    let out = child.wait_with_output().map_err(|source| spawn_error(dot, source))?;
    let fed = feeder.map(|f| f.join());
    if !out.status.success() {
        return Err(RenderError::GraphvizFailed {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    // dot exiting happily without having read all of its input would be
    // odd; report it rather than return a drawing of half a graph.
    match fed {
        Some(Ok(Err(source))) => Err(spawn_error(dot, source)),
        Some(Err(_)) => Err(spawn_error(dot, io::Error::other("the thread writing to dot's stdin panicked"))),
        _ => Ok(out.stdout),
    }
}

fn spawn_error(dot: &Path, source: io::Error) -> RenderError {
    if source.kind() == io::ErrorKind::NotFound {
        RenderError::GraphvizMissing
    } else {
        RenderError::Io { path: dot.display().to_string(), source }
    }
}
