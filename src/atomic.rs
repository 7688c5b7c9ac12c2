//! Writing output files whole or not at all: the bytes go to a temporary file
//! beside the target, which is renamed over it only when complete. A failed
//! write leaves nothing behind and never a half-written file. A drawing gets
//! the permissions an ordinary create would (0666 less the umask); a
//! snapshot, which holds the heap's strings, stays private to its owner
//! (0600, the temporary file's own mode) unless the caller asks otherwise.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::Path;

/// Who may read a file written here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// 0666 less the umask, as an ordinary create.
    Ordinary,
    /// 0600: the owner only (snapshots: they hold string contents).
    Private,
}

/// Writes a file atomically with `write` filling it, with ordinary permissions.
pub fn write_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    write_file_as(path, Access::Ordinary, write)
}

/// Writes a drawing (DOT, SVG, PNG) atomically, with ordinary permissions,
/// but without waiting for the disk: a drawing is made again by running the
/// same call, and the `fsync` took longer than drawing a 3,000-box graph
/// (tens of milliseconds on a busy disk, inside the caller's process). The
/// rename still means a crashed or failed write leaves no partial file; only
/// a power cut in the kernel's write-back window could, on file systems that
/// don't flush a file renamed over another (ext4 does by default).
pub fn write_drawing(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    write_atomically(path, Access::Ordinary, false, DRAWING_BUFFER, |w| write(w))
}

/// Writes a file atomically with `write` filling it, readable as `access` says.
pub fn write_file_as(path: &Path, access: Access, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    write_file_seekable(path, access, |w| write(w))
}

/// Like [`write_file_as`], for writers that go back to fill in what they
/// learn late (a snapshot's section lengths and checksums).
pub fn write_file_seekable(
    path: &Path,
    access: Access,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_atomically(path, access, true, FILE_BUFFER, write)
}

/// Write buffers. A snapshot is written in many small pieces. A drawing
/// comes in chunks at least this big (see `render::svg`), which a buffer no
/// bigger passes straight to the file instead of copying them into pages
/// of its own first.
const FILE_BUFFER: usize = 1 << 20;
pub(crate) const DRAWING_BUFFER: usize = 64 << 10;

fn write_atomically(
    path: &Path,
    access: Access,
    sync: bool,
    buffer: usize,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        // Said plainly: the temporary file's error would name the temporary file.
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("the folder {} does not exist", dir.display())));
    }
    let mut tmp = tempfile::Builder::new().prefix(".refgraph-").suffix(".tmp").tempfile_in(dir)?;
    {
        let mut w = std::io::BufWriter::with_capacity(buffer, tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    match access {
        Access::Ordinary => set_default_permissions(tmp.as_file())?,
        Access::Private => set_private_permissions(tmp.as_file())?,
    }
    if sync {
        // On disk before the rename, so a crash never leaves an empty file under the name.
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_default_permissions(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask()))
}

/// Set, not assumed: tempfile's 0600 is its choice, not a promise.
#[cfg(unix)]
fn set_private_permissions(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private_permissions(_f: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn set_default_permissions(_f: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// The process's umask, read without changing it (`umask(2)` can only be
/// read by setting it, which would race with other threads of the program
/// refgraph runs inside).
#[cfg(unix)]
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_string())))
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_appear_whole_with_ordinary_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_file(&p, |w| w.write_all(b"hello")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"hello");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !umask());
        }
        let failed = write_file(&dir.path().join("half.txt"), |w| {
            w.write_all(b"part")?;
            Err(std::io::Error::other("stop"))
        });
        assert!(failed.is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.txt")]);
    }

    #[test]
    fn private_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("heap.rgs");
        std::fs::write(&p, b"old").unwrap();
        write_file_as(&p, Access::Private, |w| w.write_all(b"secret")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
