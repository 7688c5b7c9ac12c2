//! Selectors: how a user names objects in a snapshot on the command line.
//!
//! - `0x7f3a2c1b0e40` — the object at that address;
//! - `TYPE` — every object of that type, by short (`Logger`) or qualified
//!   (`logging.Logger`) name;
//! - `TYPE~REGEX` — those whose label matches REGEX (`dict~^logging namespace`);
//! - `~REGEX` — any type, label matching.

#![forbid(unsafe_code)]

use regex::Regex;

use crate::graph::{Heap, NodeIx};

/// A parsed selector.
#[derive(Clone, Debug)]
pub enum Selector {
    Address(u64),
    Type { type_name: Option<String>, label: Option<Regex> },
}

/// Why a selector could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("selector {selector:?}: {what}")]
    Invalid { selector: String, what: String },
    // The regex error is folded into one line of the message and is no
    // `source`: a cause chain would print it a second time.
    #[error("selector {selector:?}: bad regular expression after '~': {what}")]
    Regex { selector: String, what: String },
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectError> {
        let invalid = |what: &str| SelectError::Invalid { selector: text.to_string(), what: what.to_string() };
        let t = text.trim();
        if t.is_empty() {
            return Err(invalid("empty; expected 0xADDR, TYPE or TYPE~REGEX"));
        }
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            return u64::from_str_radix(hex, 16).map(Selector::Address).map_err(|_| invalid("not a hexadecimal address"));
        }
        if let Ok(dec) = t.parse::<u64>() {
            return Ok(Selector::Address(dec));
        }
        let (ty, re) = match t.split_once('~') {
            Some((ty, re)) => (ty.trim(), Some(re)),
            None => (t, None),
        };
        if !ty.is_empty() && !ty.chars().all(|c| c.is_alphanumeric() || "._-<>".contains(c)) {
            return Err(invalid("a type name has only letters, digits, '_' and '.'"));
        }
        let label = re
            .map(|r| Regex::new(r).map_err(|e| SelectError::Regex { selector: text.to_string(), what: regex_problem(&e) }))
            .transpose()?;
        let type_name = (!ty.is_empty()).then(|| ty.to_string());
        if type_name.is_none() && label.is_none() {
            return Err(invalid("expected 0xADDR, TYPE or TYPE~REGEX"));
        }
        Ok(Selector::Type { type_name, label })
    }

    /// Does this node match?
    pub fn matches(&self, heap: &Heap, ix: NodeIx) -> bool {
        let n = heap.node(ix);
        match self {
            Selector::Address(a) => n.addr() == *a,
            Selector::Type { type_name, label } => {
                type_name.as_deref().is_none_or(|t| type_matches(n.type_name(), t))
                    && label.as_ref().is_none_or(|re| re.is_match(n.label()))
            }
        }
    }

    /// Every matching node, in heap order.
    pub fn select(&self, heap: &Heap) -> Vec<NodeIx> {
        match self {
            Selector::Address(a) => heap.find_addr(*a).into_iter().collect(),
            _ => heap.nodes().filter(|n| self.matches(heap, n.ix)).map(|n| n.ix).collect(),
        }
    }
}

/// A regex error in one line: the regex crate's message is several lines
/// (the pattern, a caret, then `error: what`); the last of them says it.
fn regex_problem(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().rev().find_map(|l| l.trim().strip_prefix("error: "));
    last.map(str::to_string).unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Type names of the heap close to `wanted` (a misspelt selector), closest
/// first. Short names are compared (a qualified `wanted` also needs its
/// module to match), and so are their tails at a word start, so that
/// `Loger` finds `RootLogger` too. None if `wanted` names a type of the heap.
pub fn near_type_names<'h>(heap: &'h Heap, wanted: &str) -> Vec<&'h str> {
    if heap.type_names().iter().any(|t| type_matches(t, wanted)) {
        return Vec::new();
    }
    let (module, short) = match wanted.rsplit_once('.') {
        Some((m, s)) => (Some(m), s),
        None => (None, wanted),
    };
    let short = short.to_lowercase();
    // Up to a third of the name may differ: "Loger" finds "Logger", "dcit" finds "dict".
    let most = (short.chars().count() / 3).max(1);
    let mut near: Vec<(usize, &str)> = heap
        .type_names()
        .iter()
        .filter_map(|full| {
            let (m, name) = match full.rsplit_once('.') {
                Some((m, s)) => (Some(m), s),
                None => (None, full.as_str()),
            };
            if module.is_some() && module != m {
                return None;
            }
            let d = word_tails(name).map(|tail| strsim::damerau_levenshtein(&short, &tail.to_lowercase())).min()?;
            let shown = if module.is_some() { full.as_str() } else { name };
            (d <= most).then_some((d, shown))
        })
        .collect();
    near.sort_unstable();
    near.dedup_by_key(|n| n.1);
    near.into_iter().take(3).map(|n| n.1).collect()
}

/// `RootLogger`, `Logger`: the name and its tails that start a word.
fn word_tails(name: &str) -> impl Iterator<Item = &str> {
    name.char_indices().filter(move |&(i, c)| i == 0 || c.is_uppercase() || name[..i].ends_with('_')).map(move |(i, _)| &name[i..])
}

/// `logging.Logger` matches `Logger` and `logging.Logger`, not `ger`.
fn type_matches(full: &str, wanted: &str) -> bool {
    full == wanted || full.strip_suffix(wanted).is_some_and(|head| head.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{HeapBuilder, NodeData};

    fn heap() -> Heap {
        let mut b = HeapBuilder::new();
        for (addr, ty, label) in [
            (0x10, "dict", "logging namespace, 108 items"),
            (0x20, "dict", "len=3"),
            (0x30, "logging.Logger", ""),
            (0x38, "logging.RootLogger", ""),
            (0x40, "function", "logging.shutdown"),
        ] {
            b.add_node(&NodeData { addr, type_name: ty.into(), label: label.into(), ..Default::default() });
        }
        b.finish().unwrap()
    }

    fn addrs(h: &Heap, sel: &str) -> Vec<u64> {
        Selector::parse(sel).unwrap().select(h).iter().map(|&n| h.node(n).addr()).collect()
    }

    #[test]
    fn selects_by_address_type_and_label() {
        let h = heap();
        assert_eq!(addrs(&h, "0x20"), vec![0x20]);
        assert_eq!(addrs(&h, "dict"), vec![0x10, 0x20]);
        assert_eq!(addrs(&h, "dict~^logging namespace"), vec![0x10]);
        assert_eq!(addrs(&h, "Logger"), vec![0x30]);
        assert_eq!(addrs(&h, "logging.Logger"), vec![0x30]);
        assert_eq!(addrs(&h, "ger"), Vec::<u64>::new());
        assert_eq!(addrs(&h, "~shutdown$"), vec![0x40]);
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        let e = Selector::parse("dict~(").unwrap_err().to_string();
        assert_eq!(e, "selector \"dict~(\": bad regular expression after '~': unclosed group");
        let e = Selector::parse("0xzz").unwrap_err().to_string();
        assert!(e.contains("hexadecimal"), "{e}");
        assert!(Selector::parse("").is_err());
        assert!(Selector::parse("a b").is_err());
    }

    #[test]
    fn misspelt_types_find_near_names() {
        let h = heap();
        assert_eq!(near_type_names(&h, "Loger"), vec!["Logger", "RootLogger"]);
        assert_eq!(near_type_names(&h, "logger"), vec!["Logger", "RootLogger"]);
        assert_eq!(near_type_names(&h, "logging.Loger"), vec!["logging.Logger", "logging.RootLogger"]);
        assert!(near_type_names(&h, "other.Loger").is_empty());
        assert_eq!(near_type_names(&h, "dcit"), vec!["dict"]);
        assert!(near_type_names(&h, "Frobnicator").is_empty());
        assert!(near_type_names(&h, "Logger").is_empty());
    }
}
