//! How `top` and `diff` group a snapshot's objects (`--by`, `--limit`,
//! `--tracked`): one set of options, spelled and documented once.

use refgraph::stats::{self, Scope};

/// The grouping options, flattened into each command's arguments.
#[derive(clap::Args)]
pub(crate) struct Grouping {
    /// What to group the objects by.
    #[arg(long, value_enum, default_value_t = By::Type)]
    pub by: By,
    /// How many rows to print (0: all).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Count only objects the garbage collector tracks, as objgraph does.
    #[arg(long)]
    pub tracked: bool,
}

impl Grouping {
    pub(crate) fn scope(&self) -> Scope {
        if self.tracked {
            Scope::TRACKED
        } else {
            Scope::ALL
        }
    }

    /// How many of `len` rows to print.
    pub(crate) fn shown(&self, len: usize) -> usize {
        if self.limit == 0 {
            len
        } else {
            self.limit.min(len)
        }
    }
}

/// How objects are ranked: a grouping of [`stats::By`], or retained size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum By {
    /// The type's qualified name, most objects first.
    Type,
    /// Namespaces per module, most first, as the seed's showMemoryByModule counts them: module namespaces by their __name__, class dicts by their __module__ (one per copy of a module, plus one per class; `refgraph modules` tells the copies apart).
    Module,
    /// The qualified name of a function, method or class, most objects first.
    Qualname,
    /// The type, most bytes (total shallow size) first.
    Size,
    /// The objects keeping the most memory alive (dominator tree), each with its root paths.
    Retained,
}

impl By {
    /// The grouping this ranking counts by; `None` for retained size, which ranks objects.
    pub(crate) fn grouping(self) -> Option<stats::By> {
        match self {
            By::Type => Some(stats::By::Type),
            By::Module => Some(stats::By::Module),
            By::Qualname => Some(stats::By::Qualname),
            By::Size => Some(stats::By::Size),
            By::Retained => None,
        }
    }

    /// The groupings that count (all but retained size), for commands that
    /// compare counts: their `--by` offers only these.
    pub(crate) fn counting() -> impl clap::builder::TypedValueParser<Value = By> {
        use clap::builder::TypedValueParser;
        use clap::ValueEnum;
        let names: Vec<clap::builder::PossibleValue> =
            By::value_variants().iter().filter(|b| b.grouping().is_some()).filter_map(|b| b.to_possible_value()).collect();
        clap::builder::PossibleValuesParser::new(names).map(|s| By::from_str(&s, false).unwrap_or(By::Type))
    }
}

/// The column title of a grouping's key.
pub(crate) fn key_title(by: stats::By) -> &'static str {
    match by {
        stats::By::Type | stats::By::Size => "type",
        stats::By::Module => "module",
        stats::By::Qualname => "qualname",
    }
}

/// What a grouping's rows are ordered by.
pub(crate) fn order(by: stats::By) -> &'static str {
    match by {
        stats::By::Size => "total size",
        _ => "count",
    }
}
