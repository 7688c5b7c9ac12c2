//! Capture options shared by the commands that snapshot a process (`run`,
//! `attach`), so each is spelled and passed on the same way.

use std::process::Command;

/// `--no-strings`.
#[derive(clap::Args, Clone, Copy, Default)]
pub(crate) struct StringsArg {
    /// Leave string contents out of the snapshot: a str's label becomes its length (len=12).
    /// Kept: dict keys and attribute names, module, function and type names (docs/snapshot-format.md).
    #[arg(long)]
    pub no_strings: bool,
}

impl StringsArg {
    /// Tells the bootstrap in the target (`refgraph._run`) through the environment.
    pub(crate) fn apply(self, cmd: &mut Command) {
        if self.no_strings {
            cmd.env("REFGRAPH_NO_STRINGS", "1");
        } else {
            cmd.env_remove("REFGRAPH_NO_STRINGS");
        }
    }
}
