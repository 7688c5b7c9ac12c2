//! Filter options shared by `path` and `backrefs`, and `refgraph filters check`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use refgraph::filter::{self, Filter, Subject};
use refgraph::graph::{EdgeLabel, Heap, NodeIx};
use refgraph::paths::Decision;

/// `--filter FILE`, `--hide EXPR`, `--keep EXPR`.
#[derive(clap::Args, Default)]
pub(crate) struct FilterArgs {
    /// A filter file (.rgf); repeatable, applied in order.
    #[arg(long = "filter", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Hide objects matching a condition, e.g. 'module logging and refcount <= 1' (after the files).
    #[arg(long, value_name = "EXPR")]
    hide: Vec<String>,
    /// Show objects matching a condition even if hidden before (after --hide).
    #[arg(long, value_name = "EXPR")]
    keep: Vec<String>,
}

impl FilterArgs {
    /// The combined filter: files in order, then `--hide`, then `--keep`.
    pub(crate) fn build(&self) -> Result<Filter> {
        let mut f = Filter::default();
        for path in &self.files {
            f.extend(filter::parse_file(path).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        for (flag, exprs) in [("hide", &self.hide), ("keep", &self.keep)] {
            for expr in exprs {
                let text = format!("{flag} {expr}");
                f.extend(filter::parse_str(&text, &format!("--{flag}")).map_err(|e| anyhow::anyhow!("{e}"))?);
            }
        }
        Ok(f)
    }
}

/// A drawing's decision for a node met through `edge` at `depth`.
pub(crate) fn decide(f: &Filter, heap: &Heap, node: NodeIx, edge: EdgeLabel, depth: u32) -> Decision {
    f.decide(&Subject { heap, node, edge: Some(edge), depth })
}

/// Check filter files: parse them and, given a snapshot, say what they would hide.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Filter files (.rgf) to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A snapshot to count what the filters would hide in.
    #[arg(long)]
    snapshot: Option<PathBuf>,
    /// How many types and modules to list.
    #[arg(long, default_value_t = 15)]
    top: usize,
    #[arg(long, value_enum, default_value_t = super::output::Format::Text)]
    format: super::output::Format,
}

/// The body of `filters check --format json` (docs/json.md).
#[derive(serde::Serialize)]
struct CheckJson {
    files: Vec<String>,
    rules: usize,
    max_depth: Option<u32>,
    too_many: Option<usize>,
    /// With `--snapshot`: what the filters hide there.
    #[serde(skip_serializing_if = "Option::is_none")]
    hidden: Option<Hidden>,
}

#[derive(serde::Serialize)]
struct Hidden {
    snapshot: String,
    objects: usize,
    of: usize,
    by_type: Vec<Count>,
    by_module: Vec<Count>,
}

#[derive(serde::Serialize)]
struct Count {
    name: String,
    hidden: usize,
}

#[derive(clap::Subcommand)]
pub(crate) enum FiltersCommand {
    Check(CheckArgs),
}

pub(crate) fn run(cmd: FiltersCommand) -> Result<i32> {
    let FiltersCommand::Check(a) = cmd;
    let args = FilterArgs { files: a.files.clone(), ..Default::default() };
    let f = args.build()?;
    let json = a.format == super::output::Format::Json;
    if !json {
        for path in &a.files {
            println!("{}: ok", path.display());
        }
        println!("{} rules; max-depth {}; too-many {}", f.rules.len(), opt(f.max_depth), opt(f.too_many));
    }
    let mut doc = CheckJson {
        files: a.files.iter().map(|p| p.display().to_string()).collect(),
        rules: f.rules.len(),
        max_depth: f.max_depth,
        too_many: f.too_many,
        hidden: None,
    };
    let Some(snap) = &a.snapshot else {
        return if json { super::output::print_json("filters check", doc).map(|_| 0) } else { Ok(0) };
    };
    let heap = super::load(snap).with_context(|| "for filters check")?;
    let by_type = f.hidden_by_type(&heap);
    let total: usize = by_type.iter().map(|t| t.1).sum();
    if !json {
        println!("on {}: hides {total} of {} objects", snap.display(), heap.node_count());
        println!("{:>10}  type", "hidden");
        for (ty, n) in by_type.iter().take(a.top) {
            println!("{n:>10}  {ty}");
        }
    }
    let mut by_module: rustc_hash::FxHashMap<&str, usize> = Default::default();
    for n in heap.nodes() {
        let s = Subject { heap: &heap, node: n.ix, edge: None, depth: 1 };
        if f.decide(&s) == Decision::Hide {
            *by_module.entry(n.module().unwrap_or("(no module)")).or_insert(0) += 1;
        }
    }
    let mut by_module: Vec<_> = by_module.into_iter().collect();
    by_module.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if json {
        let counts =
            |rows: &mut dyn Iterator<Item = (String, usize)>| rows.take(a.top).map(|(name, hidden)| Count { name, hidden }).collect();
        doc.hidden = Some(Hidden {
            snapshot: snap.display().to_string(),
            objects: total,
            of: heap.node_count(),
            by_type: counts(&mut by_type.iter().map(|(t, n)| (t.to_string(), *n))),
            by_module: counts(&mut by_module.iter().map(|(m, n)| (m.to_string(), *n))),
        });
        super::output::print_json("filters check", doc)?;
        return Ok(0);
    }
    println!("{:>10}  module", "hidden");
    for (m, n) in by_module.iter().take(a.top) {
        println!("{n:>10}  {m}");
    }
    Ok(0)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("not set".to_string(), |v| v.to_string())
}
