//! How commands print: `--format text|json`, and JSON documents with the
//! versioned envelope of `docs/json.md` (`"schema": 1`, the command's name).

use std::io::Write;

use anyhow::Result;
use clap::ValueEnum;
use serde::Serialize;

use refgraph::report::JsonDoc;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    /// One JSON document (docs/json.md).
    Json,
}

/// Prints `body` as the JSON document of `command`.
pub(crate) fn print_json<T: Serialize>(command: &'static str, body: T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &JsonDoc::new(command, body))?;
    writeln!(out)?;
    Ok(())
}

/// Prints text as it is.
pub(crate) fn print_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    Ok(())
}
