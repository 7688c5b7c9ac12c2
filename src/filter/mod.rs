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
use crate::paths::{self, Decision, Direction, GraphOptions, PathOptions, RootPath};

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
            Pattern::Prefix(p) => s == p || (s.len() > p.len() && s.starts_with(p.as_str()) && s.as_bytes()[p.len()] == b'.'),
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

/// The root paths of one target as a filter lets them be seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilteredPaths {
    pub paths: Vec<RootPath>,
    /// The filter, not the heap, is why `paths` is empty: a root retains the
    /// target, but every path from one goes through an object the filter
    /// does not let pass. A front end then says so
    /// ([`ALL_PATHS_FILTERED`](crate::report::ALL_PATHS_FILTERED)) rather
    /// than "no root retains it".
    pub all_hidden: bool,
}

/// The root paths of `target` through the objects `filter` lets pass
/// ([`Filter::passes`], tested with no edge and depth 0: a path search has
/// neither), and whether the filter hid every one. No filter, or an empty
/// one, lets everything pass.
///
/// Whether the filter hid them is asked only when it left no path: then a
/// second search, unfiltered, with the same `max_depth`, looks for one path.
/// Both front ends (`refgraph path` and `backrefs --chains`; the Python
/// `root_paths`, `why` and `show_backrefs(chains=True)`) get their answer
/// here.
pub fn root_paths(heap: &Heap, target: NodeIx, opts: PathOptions, filter: Option<&Filter>) -> FilteredPaths {
    let Some(f) = filter.filter(|f| !f.is_empty()) else {
        return FilteredPaths { paths: paths::root_paths(heap, target, opts, |_| true), all_hidden: false };
    };
    let found = paths::root_paths(heap, target, opts, |node| f.passes(&Subject { heap, node, edge: None, depth: 0 }));
    let all_hidden = found.is_empty() && !paths::root_paths(heap, target, PathOptions { limit: 1, ..opts }, |_| true).is_empty();
    FilteredPaths { paths: found, all_hidden }
}

/// The options of a drawing that grows in `direction` (`show_backrefs`,
/// `show_refs`, `refgraph backrefs`). Each limit is the caller's where given,
/// else the filter's (`max-depth`, `too-many` in a filter file), else
/// objgraph's default ([`GraphOptions::DEFAULT_MAX_DEPTH`],
/// [`GraphOptions::DEFAULT_TOO_MANY`]). A drawing of referrers stops at
/// roots, as objgraph's `show_backrefs` stops at modules; a drawing of
/// referents goes on through them.
pub fn graph_options(direction: Direction, max_depth: Option<u32>, too_many: Option<usize>, filter: Option<&Filter>) -> GraphOptions {
    GraphOptions {
        direction,
        max_depth: max_depth.or(filter.and_then(|f| f.max_depth)).unwrap_or(GraphOptions::DEFAULT_MAX_DEPTH),
        too_many: too_many.or(filter.and_then(|f| f.too_many)).unwrap_or(GraphOptions::DEFAULT_TOO_MANY),
        stop_at_roots: direction == Direction::Referrers,
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
            b.add_node(&NodeData { addr, type_name: ty.into(), label: label.into(), refcount, size: addr, flags: NodeFlags(flags) });
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

    /// module -> dict -> list -> target, and a function held from outside
    /// -> target; and an unreachable list (garbage).
    fn retained() -> (Heap, NodeIx, NodeIx) {
        use crate::graph::{EdgeKind, Root, RootKind};
        let mut b = HeapBuilder::new();
        let node = |addr, ty: &str, refcount| NodeData {
            addr,
            type_name: ty.into(),
            refcount,
            flags: NodeFlags(NodeFlags::TRACKED),
            ..Default::default()
        };
        let m = b.add_node(&node(0x10, "module", 1));
        let d = b.add_node(&node(0x20, "dict", 1));
        let l = b.add_node(&node(0x30, "list", 1));
        let t = b.add_node(&node(0x40, "dict", 2));
        let f = b.add_node(&node(0x50, "function", 1));
        let garbage = b.add_node(&node(0x60, "list", 0));
        let dict = b.edge_name("__dict__");
        let globals = b.edge_name("__globals__");
        b.add_edge(m, d, dict);
        b.add_edge(d, l, EdgeLabel::new(EdgeKind::Index(0)));
        b.add_edge(l, t, EdgeLabel::new(EdgeKind::Index(3)));
        b.add_edge(f, t, globals);
        b.add_root(Root { node: m, kind: RootKind::Module { name: "app".into() } });
        let mut h = b.finish().unwrap();
        crate::roots::add_held_from_outside(&mut h);
        (h, t, garbage)
    }

    fn roots_of(h: &Heap, found: &FilteredPaths) -> Vec<u64> {
        found.paths.iter().map(|p| h.node(p.root()).addr()).collect()
    }

    #[test]
    fn root_paths_say_when_the_filter_hid_them_all() {
        let (h, t, garbage) = retained();
        let all = PathOptions::default();
        let unfiltered = root_paths(&h, t, all, None);
        assert_eq!((roots_of(&h, &unfiltered), unfiltered.all_hidden), (vec![0x50, 0x10], false));
        assert_eq!(root_paths(&h, t, all, Some(&Filter::default())), unfiltered, "an empty filter is no filter");

        let one_way = parse_str("hide type function", "t.rgf").unwrap();
        let found = root_paths(&h, t, all, Some(&one_way));
        assert_eq!((roots_of(&h, &found), found.all_hidden), (vec![0x10], false), "the other way is still there");

        let both_ways = parse_str("hide type function\nhide type list", "t.rgf").unwrap();
        let found = root_paths(&h, t, all, Some(&both_ways));
        assert_eq!((found.paths.len(), found.all_hidden), (0, true), "the filter, not the heap");

        let stop = parse_str("stop type function\nstop type list", "t.rgf").unwrap();
        assert!(root_paths(&h, t, all, Some(&stop)).all_hidden, "a stopped object is no way to a root either");

        let found = root_paths(&h, garbage, all, Some(&both_ways));
        assert_eq!((found.paths.len(), found.all_hidden), (0, false), "garbage: no root, filter or not");
    }

    #[test]
    fn whether_the_filter_hid_them_is_asked_within_the_same_depth() {
        let (h, _, _) = retained();
        // The list's one root path: module -> dict -> list, 2 references.
        let list = h.find_addr(0x30).unwrap();
        let dict = parse_str("hide type dict", "t.rgf").unwrap();
        let within = |max_depth| root_paths(&h, list, PathOptions { limit: 10, max_depth: Some(max_depth) }, Some(&dict));
        assert_eq!((within(2).paths.len(), within(2).all_hidden), (0, true), "the module is within reach; the filter hid the way");
        assert_eq!((within(1).paths.len(), within(1).all_hidden), (0, false), "the module is out of reach, filter or not");
    }

    #[test]
    fn graph_options_take_the_callers_limits_then_the_filters_then_objgraphs() {
        let f = parse_str("max-depth 7\ntoo-many 4\n", "t.rgf").unwrap();
        let depth_only = parse_str("max-depth 5\n", "t.rgf").unwrap();
        let limits = |o: GraphOptions| (o.max_depth, o.too_many);
        assert_eq!(limits(graph_options(Direction::Referrers, None, None, None)), (3, 10));
        assert_eq!(limits(graph_options(Direction::Referrers, None, None, Some(&Filter::default()))), (3, 10));
        assert_eq!(limits(graph_options(Direction::Referrers, None, None, Some(&f))), (7, 4));
        assert_eq!(limits(graph_options(Direction::Referrers, Some(2), None, Some(&f))), (2, 4));
        assert_eq!(limits(graph_options(Direction::Referrers, None, Some(20), Some(&depth_only))), (5, 20));
        assert_eq!(limits(graph_options(Direction::Referrers, Some(0), Some(0), Some(&f))), (0, 0), "0 is a limit, not unset");
        assert!(graph_options(Direction::Referrers, None, None, None).stop_at_roots);
        assert!(!graph_options(Direction::Referents, None, None, None).stop_at_roots);
        let d = graph_options(Direction::Referrers, None, None, None);
        let default = GraphOptions::default();
        assert_eq!(
            (d.direction, d.max_depth, d.too_many, d.stop_at_roots),
            (default.direction, default.max_depth, default.too_many, default.stop_at_roots)
        );
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
