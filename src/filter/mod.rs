//! Filters: which objects a drawing or a path search may show.
//!
//! A [`Filter`] is an ordered list of [`Rule`]s. For each object met on the
//! way (with the reference it was reached by and its distance from the
//! target) the **last** rule whose condition holds decides: `hide` leaves the
//! object out (and whatever lies beyond it through it), `keep` shows it even
//! if an earlier rule hid it, `stop` shows it but goes no further. No rule
//! matching means keep. Later rules override earlier ones, so filters compose
//! by concatenation, like `.gitignore` files: a shared file first, local
//! exceptions after it.
//!
//! A filter also carries the limits objgraph takes as arguments
//! (`max-depth`, `too-many`) so that a filter file can say them once.
//! Filters never run Python code: everything they test is in the snapshot.
//! Filter files (`.rgf`) are parsed by `parse`; `filters/README.md` has the
//! grammar.

#![forbid(unsafe_code)]

mod parse;

use std::fmt;

use regex::Regex;

use crate::graph::{EdgeLabel, Heap, NodeIx};
use crate::paths::Decision;

pub use parse::{parse_file, parse_str, FilterError};

/// What a rule does when its condition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Hide,
    Keep,
    Stop,
}

impl From<Action> for Decision {
    fn from(a: Action) -> Decision {
        match a {
            Action::Hide => Decision::Hide,
            Action::Keep => Decision::Keep,
            Action::Stop => Decision::Stop,
        }
    }
}

/// How a name is matched: `logging` matches `logging` and `logging.handlers`
/// (a dotted prefix), `~REGEX` is a regular expression (unanchored).
#[derive(Clone, Debug)]
pub enum Pattern {
    Prefix(String),
    Regex(Regex),
}

impl Pattern {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Prefix(p) => {
                s == p || (s.len() > p.len() && s.starts_with(p.as_str()) && s.as_bytes()[p.len()] == b'.')
            }
            Pattern::Regex(re) => re.is_match(s),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Prefix(p) => f.write_str(p),
            Pattern::Regex(re) => write!(f, "~{:?}", re.as_str()),
        }
    }
}

/// A comparison against a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Cmp {
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
        }
    }
}

/// One test on an object.
#[derive(Clone, Debug)]
pub enum Cond {
    /// The module the object belongs to (its type's module, a function's or
    /// class's module, a namespace dict's module, a module's own name).
    Module(Pattern),
    /// Its type name, short (`Logger`) or qualified (`logging.Logger`).
    Type(Pattern),
    /// Its label (`logging namespace, 108 items`, a str's text, ...).
    Label(Pattern),
    /// The label of the reference it was reached by (`__globals__`, `['x']`).
    Edge(Pattern),
    /// Compensated reference count: real references only.
    Refcount(Cmp, u64),
    /// Shallow size in bytes.
    Size(Cmp, u64),
    /// Distance from the target, in references.
    Depth(Cmp, u64),
    /// Tracked by the garbage collector.
    Tracked,
    /// One of these addresses (objgraph's `extra_ignore`).
    Address(Vec<u64>),
    /// A root (module in sys.modules, thread frame, held from outside).
    Root,
    Not(Box<Cond>),
    All(Vec<Cond>),
}

/// What a condition is tested against.
#[derive(Clone, Copy)]
pub struct Subject<'h> {
    pub heap: &'h Heap,
    pub node: NodeIx,
    /// The reference the node was reached by, if any.
    pub edge: Option<EdgeLabel>,
    pub depth: u32,
}

impl Cond {
    pub fn holds(&self, s: &Subject<'_>) -> bool {
        let n = s.heap.node(s.node);
        match self {
            Cond::Module(p) => n.module().is_some_and(|m| p.matches(m)),
            Cond::Type(p) => p.matches(n.type_name()) || p.matches(n.short_type_name()),
            Cond::Label(p) => p.matches(n.label()),
            Cond::Edge(p) => s.edge.is_some_and(|e| p.matches(&s.heap.edge_label_text(e))),
            Cond::Refcount(c, v) => !n.flags().immortal() && c.holds(n.refcount(), *v),
            Cond::Size(c, v) => c.holds(n.size(), *v),
            Cond::Depth(c, v) => c.holds(u64::from(s.depth), *v),
            Cond::Tracked => n.flags().tracked(),
            Cond::Address(list) => list.contains(&n.addr()),
            Cond::Root => s.heap.is_root(s.node),
            Cond::Not(c) => !c.holds(s),
            Cond::All(cs) => cs.iter().all(|c| c.holds(s)),
        }
    }
}

/// A condition and what to do when it holds; `origin` says where it was
/// written (`filters/seed.rgf:12`) for reports.
#[derive(Clone, Debug)]
pub struct Rule {
    pub action: Action,
    pub cond: Cond,
    pub origin: String,
}

/// An ordered list of rules plus drawing limits. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub rules: Vec<Rule>,
    pub max_depth: Option<u32>,
    pub too_many: Option<usize>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Appends another filter's rules; its limits win where it sets them.
    pub fn extend(&mut self, other: Filter) {
        self.rules.extend(other.rules);
        self.max_depth = other.max_depth.or(self.max_depth);
        self.too_many = other.too_many.or(self.too_many);
    }

    /// The rule that decides for this subject, if any.
    pub fn deciding_rule(&self, s: &Subject<'_>) -> Option<&Rule> {
        self.rules.iter().rev().find(|r| r.cond.holds(s))
    }

    pub fn decide(&self, s: &Subject<'_>) -> Decision {
        self.deciding_rule(s).map_or(Decision::Keep, |r| r.action.into())
    }

    /// May a search go through this node? (Path searches have no "stop":
    /// a stopped node is no way to a root.)
    pub fn passes(&self, s: &Subject<'_>) -> bool {
        self.decide(s) == Decision::Keep
    }

    /// What the filter would hide in a whole heap, for `filters check`:
    /// counts of hidden objects by type, most first.
    pub fn hidden_by_type(&self, heap: &Heap) -> Vec<(String, usize)> {
        let mut counts: rustc_hash::FxHashMap<&str, usize> = Default::default();
        for n in heap.nodes() {
            let s = Subject { heap, node: n.ix, edge: None, depth: 1 };
            if self.decide(&s) == Decision::Hide {
                *counts.entry(n.type_name()).or_insert(0) += 1;
            }
        }
        let mut v: Vec<(String, usize)> = counts.into_iter().map(|(k, c)| (k.to_string(), c)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{HeapBuilder, NodeData, NodeFlags};

    fn heap() -> Heap {
        let mut b = HeapBuilder::new();
        let nodes = [
            (0x10, "function", "logging.shutdown", 2, NodeFlags::TRACKED),
            (0x20, "function", "logging.info", 1, NodeFlags::TRACKED),
            (0x30, "dict", "logging namespace, 108 items", 3, NodeFlags::TRACKED),
            (0x40, "logging.handlers.RotatingFileHandler", "", 1, NodeFlags::TRACKED),
            (0x50, "str", "hello", 9, 0),
            (0x60, "graphviz.Digraph", "", 1, NodeFlags::TRACKED),
        ];
        for (addr, ty, label, refcount, flags) in nodes {
            b.add_node(&NodeData {
                addr,
                type_name: ty.into(),
                label: label.into(),
                refcount,
                size: addr,
                flags: NodeFlags(flags),
            });
        }
        let mut h = b.finish().unwrap();
        crate::roots::add_held_from_outside(&mut h);
        h
    }

    fn decide(f: &Filter, h: &Heap, addr: u64) -> Decision {
        f.decide(&Subject { heap: h, node: h.find_addr(addr).unwrap(), edge: None, depth: 1 })
    }

    #[test]
    fn dotted_prefixes_match_whole_components() {
        let p = Pattern::Prefix("logging".into());
        assert!(p.matches("logging") && p.matches("logging.handlers"));
        assert!(!p.matches("logging2") && !p.matches("xlogging"));
    }

    #[test]
    fn the_last_matching_rule_decides() {
        let h = heap();
        let f = parse_str("hide module logging\nkeep type function and refcount > 1\n", "t.rgf").unwrap();
        assert_eq!(decide(&f, &h, 0x10), Decision::Keep, "shutdown has 2 refs: kept again");
        assert_eq!(decide(&f, &h, 0x20), Decision::Hide);
        assert_eq!(decide(&f, &h, 0x40), Decision::Hide, "logging.handlers is under logging");
        assert_eq!(decide(&f, &h, 0x60), Decision::Keep, "no rule matches");
    }

    #[test]
    fn every_condition_kind_tests_what_it_says() {
        let h = heap();
        let cases = [
            ("hide type ~^graphviz\\.", 0x60, Decision::Hide),
            ("hide type Digraph", 0x60, Decision::Hide),
            ("hide label ~\"namespace, 108\"", 0x30, Decision::Hide),
            ("hide refcount <= 1", 0x20, Decision::Hide),
            ("hide refcount <= 1", 0x10, Decision::Keep),
            ("hide untracked", 0x50, Decision::Hide),
            ("hide tracked", 0x50, Decision::Keep),
            ("hide size >= 0x40", 0x40, Decision::Hide),
            ("hide size >= 0x40", 0x30, Decision::Keep),
            ("hide address 0x30, 0x40", 0x30, Decision::Hide),
            ("stop module graphviz", 0x60, Decision::Stop),
            ("hide depth >= 1", 0x60, Decision::Hide),
            ("hide depth > 1", 0x60, Decision::Keep),
            ("hide not module logging", 0x60, Decision::Hide),
            ("hide not module logging", 0x10, Decision::Keep),
        ];
        for (text, addr, want) in cases {
            let f = parse_str(text, "case.rgf").unwrap();
            assert_eq!(decide(&f, &h, addr), want, "{text} on {addr:#x}");
        }
    }

    #[test]
    fn limits_are_carried_and_later_files_win() {
        let mut a = parse_str("max-depth 5\ntoo-many 7\n", "a.rgf").unwrap();
        let b = parse_str("max-depth 100\n", "b.rgf").unwrap();
        a.extend(b);
        assert_eq!(a.max_depth, Some(100));
        assert_eq!(a.too_many, Some(7));
    }

    #[test]
    fn hidden_counts_group_by_type() {
        let h = heap();
        let f = parse_str("hide module logging", "t.rgf").unwrap();
        let counts = f.hidden_by_type(&h);
        assert_eq!(counts[0], ("function".to_string(), 2));
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), 4);
    }
}
