//! The private folder `attach` hands the target: the loader gdb puts into the
//! target's memory, the bootstrap it execs, the pure-Python collector, and
//! where the target writes the snapshot and a one-line status. The folder is
//! 0700 and its files 0600, owned by the target's user when that is another
//! one (so a root refgraph can attach to a service account's process).

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::process::{euid, Target};
use crate::cli::capture_args::StringsArg;
use crate::cli::run::{candidate_dirs, Collector};

const BOOTSTRAP: &str = include_str!("../../../python/refgraph/_attach.py");
const COLLECTOR: &str = include_str!("../../../python/refgraph/collector.py");
pub(crate) const GDB_DRIVER: &str = include_str!("gdb_driver.py");

/// Interpreter tags whose extension the target may load (cp27 has none).
const TAGS: &[&str] = &["cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp315"];

pub(crate) struct Workspace {
    dir: tempfile::TempDir,
}

/// What the target said about its capture.
pub(crate) struct Status(String);

/// A capture that went well.
pub(crate) struct Captured {
    pub collector: String,
    pub python: String,
    pub seconds: f64,
}

impl Workspace {
    pub(crate) fn new(target: &Target, collector: Collector, strings: StringsArg) -> Result<Workspace> {
        let dir = tempfile::Builder::new().prefix("refgraph-attach-").tempdir().context("cannot make a temporary folder")?;
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .with_context(|| format!("cannot make {} private", dir.path().display()))?;
        let ws = Workspace { dir };
        ws.write("collector.py", COLLECTOR.as_bytes())?;
        ws.write("gdb_driver.py", GDB_DRIVER.as_bytes())?;
        ws.write("loader.py", ws.loader(collector, strings).as_bytes())?;
        ws.hand_over(target)?;
        Ok(ws)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn snapshot_path(&self) -> PathBuf {
        self.path("heap.rgs")
    }

    fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        f.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
    }

    /// The target's own user must be able to read the files and write the
    /// snapshot: a root refgraph gives the folder to that user.
    fn hand_over(&self, target: &Target) -> Result<()> {
        // Only root can, and only root may trace another user's process
        // (the attach itself says so otherwise).
        if euid() != Some(0) || target.uid == 0 {
            return Ok(());
        }
        let give = |p: &Path| {
            std::os::unix::fs::chown(p, Some(target.uid), Some(target.gid))
                .with_context(|| format!("cannot give {} to user {} of process {}", p.display(), target.uid, target.pid))
        };
        give(self.dir.path())?;
        for name in ["collector.py", "loader.py"] {
            give(&self.path(name))?;
        }
        Ok(())
    }

    /// The code gdb has the target run: exec the bootstrap, carried along as
    /// a bytes literal (no file is opened in __main__'s namespace, where an
    /// unclosed one would leave a warning registry), in a namespace of its
    /// own. Valid Python 2.7 and 3.x; no exception gets out of it.
    fn loader(&self, collector: Collector, strings: StringsArg) -> String {
        let mut native = String::from("{");
        for tag in TAGS {
            let dirs: Vec<PathBuf> = candidate_dirs(tag).into_iter().filter(|d| d.join("refgraph").is_dir()).collect();
            if !dirs.is_empty() {
                let list: Vec<String> = dirs.iter().map(|d| py_bytes(d.as_os_str().as_encoded_bytes())).collect();
                let _ = write!(native, "{}:[{}],", py_bytes(tag.as_bytes()), list.join(","));
            }
        }
        native.push('}');
        let which = match collector {
            Collector::Auto => "auto",
            Collector::Native => "native",
            Collector::Python => "python",
        };
        let p = |name: &str| py_bytes(self.path(name).as_os_str().as_encoded_bytes());
        format!(
            "try:\n    exec({boot},{{'__name__':'__refgraph_attach__',\
             'CONFIG':{{b'out':{out},b'status':{status},b'collector':{which},b'collector_py':{coll},b'native':{native},b'strings':{strings}}}}})\n\
             except BaseException:\n    pass\n",
            boot = py_bytes(BOOTSTRAP.as_bytes()),
            out = p("heap.rgs"),
            status = p("status"),
            which = py_bytes(which.as_bytes()),
            coll = p("collector.py"),
            strings = if strings.no_strings { "False" } else { "True" },
        )
    }

    /// After a sys.remote_exec that timed out: the target will still run the
    /// loader file, later. It is left there, empty (so that running it does
    /// nothing and prints nothing), in the folder, which stays; the rest goes.
    pub(crate) fn leave_empty_loader(self) -> PathBuf {
        for name in ["collector.py", "gdb_driver.py"] {
            let _ = std::fs::remove_file(self.path(name));
        }
        let _ = std::fs::write(self.path("loader.py"), b"");
        self.dir.keep()
    }

    /// The status line the target wrote, if it wrote one.
    pub(crate) fn status(&self) -> Result<Status> {
        let path = self.path("status");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no status in {}", path.display()))?;
        Ok(Status(text.trim_end().to_string()))
    }

    /// Puts the snapshot where the user asked, whole or not at all.
    pub(crate) fn publish(&self, output: &Path) -> Result<()> {
        let mut from = std::fs::File::open(self.snapshot_path()).context("cannot open the snapshot the target wrote")?;
        crate_atomic_copy(&mut from, output).with_context(|| format!("cannot write {}", output.display()))
    }
}

fn crate_atomic_copy(from: &mut std::fs::File, output: &Path) -> std::io::Result<()> {
    // 0600, as every snapshot: it holds the target's strings.
    refgraph::atomic::write_file_as(output, refgraph::atomic::Access::Private, |w| std::io::copy(from, w).map(|_| ()))
}

impl Status {
    pub(crate) fn into_result(self) -> Result<Captured> {
        let parts: Vec<&str> = self.0.split('\t').collect();
        match parts.as_slice() {
            ["ok", _nodes, _edges, seconds, collector, python] => {
                Ok(Captured { collector: collector.to_string(), python: python.to_string(), seconds: seconds.parse().unwrap_or(0.0) })
            }
            ["error", message] => bail!("{message}"),
            _ => bail!("unreadable status {:?}", self.0),
        }
    }
}

/// A Python bytes literal of `b`, valid in 2.7 and 3.x, in ASCII only.
fn py_bytes(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\\' | b'\'' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_is_private_and_its_files_too() {
        use std::os::unix::fs::PermissionsExt;
        let me = Target { pid: std::process::id(), uid: euid().unwrap(), gid: 0 };
        let ws = Workspace::new(&me, Collector::Auto, StringsArg::default()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(ws.dir.path()), 0o700);
        for name in ["collector.py", "loader.py", "gdb_driver.py"] {
            assert_eq!(mode(&ws.path(name)), 0o600, "{name}");
        }
        let loader = std::fs::read_to_string(ws.path("loader.py")).unwrap();
        assert!(loader.starts_with("try:\n    exec(b'") && loader.ends_with("except BaseException:\n    pass\n"));
    }

    #[test]
    fn bytes_literals_escape_quotes_backslashes_and_non_ascii() {
        assert_eq!(py_bytes(b"/tmp/a b"), "b'/tmp/a b'");
        assert_eq!(py_bytes(b"it's\\"), "b'it\\'s\\\\'");
        assert_eq!(py_bytes("é\n".as_bytes()), "b'\\xc3\\xa9\\x0a'");
    }
}
