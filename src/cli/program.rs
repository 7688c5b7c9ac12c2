//! What `refgraph run` is asked to run: the words after the interpreter,
//! read as Python reads them. Interpreter options (`-u`, `-X dev`, `-W
//! error`) come first and stay the interpreter's; then a script, `-c CODE`
//! or `-m MODULE`; everything after belongs to the program. A script that
//! does not exist is refused here, before anything runs.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use anyhow::{bail, Result};

/// How the program is given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Launch {
    Script(PathBuf),
    Code(OsString),
    Module(OsString),
}

impl Launch {
    /// The bootstrap's name for the mode, and its argument.
    pub(crate) fn mode_and_target(&self) -> (&'static str, &OsStr) {
        match self {
            Launch::Script(p) => ("script", p.as_os_str()),
            Launch::Code(c) => ("code", c),
            Launch::Module(m) => ("module", m),
        }
    }
}

/// The words after the interpreter, sorted out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Program {
    pub interpreter_options: Vec<OsString>,
    pub launch: Launch,
    pub args: Vec<OsString>,
}

/// Options of the interpreter that take the next word as their value.
const WITH_VALUE: [&str; 3] = ["-X", "-W", "-Q"];

/// Reads `words` (after the interpreter) as Python's command line.
pub(crate) fn parse(words: &[OsString]) -> Result<Program> {
    let mut interpreter_options = Vec::new();
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        let text = word.to_string_lossy();
        let launch = match text.as_ref() {
            "-c" | "-m" => {
                let Some(value) = rest.next() else { bail!("{text} needs a value after it, as in Python") };
                let launch = if text == "-c" { Launch::Code(value.clone()) } else { Launch::Module(value.clone()) };
                Some(launch)
            }
            t if t.starts_with("-c") => Some(Launch::Code(t[2..].into())),
            t if t.starts_with("-m") && t.len() > 2 => Some(Launch::Module(t[2..].into())),
            "-" => bail!("reading the program from standard input is not supported; give a script, -c CODE or -m MODULE"),
            "--" => {
                let Some(script) = rest.next() else { bail!("no script after --") };
                Some(Launch::Script(script.into()))
            }
            t if WITH_VALUE.contains(&t) => {
                interpreter_options.push(word.clone());
                interpreter_options.extend(rest.next().cloned());
                None
            }
            t if t.starts_with('-') => {
                interpreter_options.push(word.clone());
                None
            }
            _ => Some(Launch::Script(word.into())),
        };
        if let Some(launch) = launch {
            if let Launch::Script(path) = &launch {
                check_script(path)?;
            }
            return Ok(Program { interpreter_options, launch, args: rest.cloned().collect() });
        }
    }
    bail!("no program to run: give a script, -c CODE or -m MODULE after the interpreter")
}

/// Python runs a file, or a folder or zip file holding `__main__.py`.
fn check_script(path: &std::path::Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() && !path.join("__main__.py").is_file() => {
            bail!("{}: a folder without __main__.py, so nothing to run (nothing was run)", path.display())
        }
        Ok(_) => Ok(()),
        Err(e) => bail!("cannot run {}: {e} (nothing was run)", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn code_and_module_take_their_value_and_leave_the_rest_to_the_program() {
        let p = parse(&words(&["-u", "-X", "dev", "-c", "print(1)", "a", "-m"])).unwrap();
        assert_eq!(p.interpreter_options, words(&["-u", "-X", "dev"]));
        assert_eq!(p.launch, Launch::Code("print(1)".into()));
        assert_eq!(p.args, words(&["a", "-m"]));
        let p = parse(&words(&["-m", "pkg.mod", "--flag"])).unwrap();
        assert_eq!(p.launch, Launch::Module("pkg.mod".into()));
        assert_eq!(p.args, words(&["--flag"]));
        assert_eq!(parse(&words(&["-mjson.tool"])).unwrap().launch, Launch::Module("json.tool".into()));
    }

    #[test]
    fn a_missing_script_is_refused_by_name() {
        let err = parse(&words(&["no/such/script.py", "x"])).unwrap_err().to_string();
        assert!(err.contains("no/such/script.py") && err.contains("nothing was run"), "{err}");
        assert!(parse(&words(&["-u"])).is_err());
        assert!(parse(&words(&["-c"])).is_err());
        assert!(parse(&words(&["-"])).is_err());
    }
}
