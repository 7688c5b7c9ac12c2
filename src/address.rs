//! Object addresses numbered in address order, the capture's address index.
//!
//! A capture meets every object many times (once per reference to it) and
//! must turn each address into a node index. A general hash table of millions
//! of entries costs two cache misses per lookup; here the addresses are
//! grouped by 4 KiB page, each page is a 512-bit map of 8-byte slots, and a
//! two-level table finds a page's map. The maps of a whole heap take about 1 %
//! of the heap's memory and stay mostly in the processor's cache, and because
//! members are numbered in address order, a member's index is the count of
//! members before it: the page's base plus a popcount.
//!
//! Python objects are at least 16 bytes long and 8-byte aligned, so two
//! objects never share a slot and an address is recovered exactly from its
//! page and slot.

use crate::graph::{BuildError, Csr, EdgeKind, EdgeLabel, NodeIx};

const SLOT_SHIFT: u32 = 3;
const PAGE_SHIFT: u32 = 12;
const SLOTS_PER_PAGE: usize = 1 << (PAGE_SHIFT - SLOT_SHIFT);
const WORDS: usize = SLOTS_PER_PAGE / 64;
/// One directory covers 1 GiB of address space: 2^18 pages.
const DIR_SHIFT: u32 = 30;
const DIR_PAGES: usize = 1 << (DIR_SHIFT - PAGE_SHIFT);

/// Why an address cannot be a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("address {0:#x} is not 8-byte aligned")]
    Misaligned(u64),
}

#[derive(Clone)]
struct Page {
    bits: [u64; WORDS],
    /// Members in this page before word `w` (filled by numbering).
    before_word: [u16; WORDS],
    /// Members in all pages below this one (filled by numbering).
    base: u32,
    number: u64,
}

/// Page number -> page, in two levels: a sorted list of 1 GiB directories,
/// each a flat array of page slots (0 = no page, else page position + 1).
/// The arrays are zeroed by the allocator, so untouched parts cost no memory.
#[derive(Clone, Default)]
struct Directory {
    dirs: Vec<(u64, Box<[u32]>)>,
}

impl Directory {
    #[inline]
    fn slot(&self, page: u64) -> Option<u32> {
        let key = page >> (DIR_SHIFT - PAGE_SHIFT);
        let d = self.dirs.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        match self.dirs[d].1[(page as usize) & (DIR_PAGES - 1)] {
            0 => None,
            s => Some(s - 1),
        }
    }

    fn slot_mut(&mut self, page: u64) -> &mut u32 {
        let key = page >> (DIR_SHIFT - PAGE_SHIFT);
        let d = match self.dirs.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(d) => d,
            Err(d) => {
                self.dirs.insert(d, (key, vec![0u32; DIR_PAGES].into_boxed_slice()));
                d
            }
        };
        &mut self.dirs[d].1[(page as usize) & (DIR_PAGES - 1)]
    }
}

fn split(addr: u64) -> Result<(u64, usize), AddressError> {
    if addr & ((1 << SLOT_SHIFT) - 1) != 0 {
        return Err(AddressError::Misaligned(addr));
    }
    Ok((addr >> PAGE_SHIFT, ((addr >> SLOT_SHIFT) as usize) & (SLOTS_PER_PAGE - 1)))
}

/// A growing set of addresses. [`AddressSet::number`] freezes it.
#[derive(Clone, Default)]
pub struct AddressSet {
    dir: Directory,
    pages: Vec<Page>,
    len: usize,
}

impl AddressSet {
    pub fn new() -> AddressSet {
        AddressSet::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `addr`; true if it was not a member yet.
    pub fn insert(&mut self, addr: u64) -> Result<bool, AddressError> {
        let (page, slot) = split(addr)?;
        let next = self.pages.len() as u32;
        let entry = self.dir.slot_mut(page);
        if *entry == 0 {
            *entry = next + 1;
            self.pages.push(Page { bits: [0; WORDS], before_word: [0; WORDS], base: 0, number: page });
        }
        let p = &mut self.pages[(*entry - 1) as usize];
        let (w, bit) = (slot / 64, 1u64 << (slot % 64));
        let new = p.bits[w] & bit == 0;
        p.bits[w] |= bit;
        self.len += usize::from(new);
        Ok(new)
    }

    /// Removes `addr`; true if it was a member.
    pub fn remove(&mut self, addr: u64) -> bool {
        let Ok((page, slot)) = split(addr) else { return false };
        let Some(e) = self.dir.slot(page) else { return false };
        let p = &mut self.pages[e as usize];
        let (w, bit) = (slot / 64, 1u64 << (slot % 64));
        let was = p.bits[w] & bit != 0;
        p.bits[w] &= !bit;
        self.len -= usize::from(was);
        was
    }

    pub fn contains(&self, addr: u64) -> bool {
        let Ok((page, slot)) = split(addr) else { return false };
        self.dir.slot(page).is_some_and(|e| self.pages[e as usize].bits[slot / 64] & (1 << (slot % 64)) != 0)
    }

    /// Numbers the members from 0 in increasing address order.
    pub fn number(mut self) -> Numbering {
        let mut order: Vec<u32> = (0..self.pages.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.pages[i as usize].number);
        let mut base = 0u32;
        for &i in &order {
            let p = &mut self.pages[i as usize];
            p.base = base;
            let mut in_page = 0u16;
            for w in 0..WORDS {
                p.before_word[w] = in_page;
                in_page += p.bits[w].count_ones() as u16;
            }
            base += u32::from(in_page);
        }
        Numbering { set: self, order }
    }
}

/// A frozen [`AddressSet`] whose members are numbered in address order.
#[derive(Clone)]
pub struct Numbering {
    set: AddressSet,
    /// Page positions in increasing page number.
    order: Vec<u32>,
}

impl Numbering {
    pub fn len(&self) -> usize {
        self.set.len
    }

    pub fn is_empty(&self) -> bool {
        self.set.len == 0
    }

    /// The number of `addr`: how many members lie below it.
    #[inline]
    pub fn index_of(&self, addr: u64) -> Option<u32> {
        let (page, slot) = split(addr).ok()?;
        let p = &self.set.pages[self.set.dir.slot(page)? as usize];
        let (w, s) = (slot / 64, slot % 64);
        let word = p.bits[w];
        if word & (1 << s) == 0 {
            return None;
        }
        let below = (word & ((1u64 << s) - 1)).count_ones();
        Some(p.base + u32::from(p.before_word[w]) + below)
    }

    /// The members in increasing order (so the n-th has number n).
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.order.iter().flat_map(move |&i| {
            let p = &self.set.pages[i as usize];
            let page_addr = p.number << PAGE_SHIFT;
            (0..WORDS).flat_map(move |w| {
                let mut word = p.bits[w];
                std::iter::from_fn(move || {
                    if word == 0 {
                        return None;
                    }
                    let b = word.trailing_zeros() as u64;
                    word &= word - 1;
                    Some(page_addr + ((w as u64 * 64 + b) << SLOT_SHIFT))
                })
            })
        })
    }
}

/// Edges recorded by referent address before the nodes are numbered: one
/// row per source, sources in increasing address order.
#[derive(Clone, Default)]
pub struct AddressedEdges {
    targets: Vec<u64>,
    labels: Vec<EdgeLabel>,
    /// End of each row in `targets`.
    row_end: Vec<u32>,
    /// Addresses of the key nodes that `DictValue` and `Attr` labels name;
    /// until numbering, such a label holds a position in this list.
    keys: Vec<u64>,
}

impl AddressedEdges {
    pub fn with_capacity(rows: usize, edges: usize) -> AddressedEdges {
        AddressedEdges {
            targets: Vec::with_capacity(edges),
            labels: Vec::with_capacity(edges),
            row_end: Vec::with_capacity(rows),
            keys: Vec::new(),
        }
    }

    /// Where the next edges will be written, as `(address, bytes)`.
    pub fn spare(&self) -> [(usize, usize); 2] {
        [crate::graph::spare_capacity(&self.targets), crate::graph::spare_capacity(&self.labels)]
    }

    /// Adds an edge to the current row.
    pub fn push(&mut self, target: u64, label: EdgeLabel) {
        self.targets.push(target);
        self.labels.push(label);
    }

    /// Closes the current row: the edges of the next source follow.
    pub fn end_row(&mut self) {
        self.row_end.push(self.targets.len() as u32);
    }

    /// A stand-in node for the key at `addr`, for a `DictValue` or `Attr`
    /// label pushed to this list.
    pub fn key(&mut self, addr: u64) -> NodeIx {
        self.keys.push(addr);
        NodeIx::new(self.keys.len() - 1)
    }

    /// The edge index over numbered nodes. `row_sources[i]` is the address
    /// of row `i`'s source. Edges to addresses that are not members are
    /// dropped (observers, and whatever could not be an object); a label
    /// whose key is not a member loses its key. Consumes the list: labels
    /// are resolved in place and the addresses freed as soon as possible,
    /// since a large heap has tens of millions of edges.
    pub fn resolve(self, numbering: &Numbering, row_sources: impl IntoIterator<Item = u64>) -> Result<Csr, BuildError> {
        let AddressedEdges { targets, mut labels, row_end, keys } = self;
        let n = numbering.len();
        let mut start = Vec::with_capacity(n + 1);
        let mut to = Vec::with_capacity(targets.len());
        start.push(0);
        let mut row_start = 0;
        for (source, &row_end) in row_sources.into_iter().zip(&row_end) {
            let from = numbering.index_of(source).ok_or(BuildError::NoSuchAddress(source))? as usize;
            if from < start.len() - 1 {
                return Err(BuildError::NotAscending(source, source));
            }
            start.resize(from + 1, to.len() as u32);
            for e in row_start..row_end as usize {
                if let Some(t) = numbering.index_of(targets[e]) {
                    // `to.len() <= e`: this writes behind the reading edge.
                    labels[to.len()] = resolve_label(labels[e], &keys, numbering);
                    to.push(t);
                }
            }
            start.push(to.len() as u32);
            row_start = row_end as usize;
        }
        drop(targets);
        start.resize(n + 1, to.len() as u32);
        labels.truncate(to.len());
        labels.shrink_to_fit();
        Ok(Csr { start, to, label: labels })
    }
}

/// `label` with its key stand-in replaced by the key's node.
fn resolve_label(label: EdgeLabel, keys: &[u64], numbering: &Numbering) -> EdgeLabel {
    let key = |k: NodeIx| numbering.index_of(keys[k.index()]).map(|i| NodeIx::new(i as usize));
    match label.kind() {
        EdgeKind::DictValue(k) => key(k).map_or(EdgeLabel::UNKNOWN, |n| EdgeLabel::new(EdgeKind::DictValue(n))),
        EdgeKind::Attr(k) => key(k).map_or(EdgeLabel::UNKNOWN, |n| EdgeLabel::new(EdgeKind::Attr(n))),
        _ => label,
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(addrs: &[u64]) -> Numbering {
        let mut s = AddressSet::new();
        for &a in addrs {
            s.insert(a).unwrap();
        }
        s.number()
    }

    #[test]
    fn numbers_in_address_order_across_pages_and_directories() {
        let addrs = [
            0x7f00_0000_1008,
            0x10,
            0x7f00_0000_1000,
            0x5555_0000_0ff8,
            0x7f00_0000_0ff8,
            0x5555_0000_0000,
            0x4000_0000,
            0x3fff_fff8,
        ];
        let n = numbered(&addrs);
        let mut sorted = addrs.to_vec();
        sorted.sort_unstable();
        assert_eq!(n.iter().collect::<Vec<_>>(), sorted);
        for (i, &a) in sorted.iter().enumerate() {
            assert_eq!(n.index_of(a), Some(i as u32), "{a:#x}");
        }
        assert_eq!(n.index_of(0x18), None);
        assert_eq!(n.index_of(0x7f00_0000_2000), None);
        assert_eq!(n.index_of(0x11), None);
    }

    #[test]
    fn dense_page_counts_every_slot() {
        let addrs: Vec<u64> = (0..512u64).map(|s| 0x10_0000 + s * 8).collect();
        let n = numbered(&addrs);
        assert_eq!(n.len(), 512);
        assert_eq!(n.index_of(0x10_0000 + 511 * 8), Some(511));
        assert_eq!(n.index_of(0x10_0000 + 64 * 8), Some(64));
    }

    #[test]
    fn insert_remove_contains() {
        let mut s = AddressSet::new();
        assert_eq!(s.insert(0x1000), Ok(true));
        assert_eq!(s.insert(0x1000), Ok(false));
        assert_eq!(s.insert(0x1003), Err(AddressError::Misaligned(0x1003)));
        assert!(s.insert(0x2008).unwrap());
        assert!(s.contains(0x2008));
        assert!(s.remove(0x2008));
        assert!(!s.remove(0x2008));
        assert!(!s.contains(0x2008));
        assert_eq!(s.len(), 1);
        let n = s.number();
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![0x1000]);
        assert_eq!(n.index_of(0x2008), None);
    }

    #[test]
    fn agrees_with_a_sorted_list_on_pseudo_random_addresses() {
        // A fixed linear congruential sequence: clustered like heap arenas,
        // with some addresses repeated.
        let mut x: u64 = 12345;
        let mut addrs = Vec::new();
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let region = [0x5555_0000_0000u64, 0x7f12_3400_0000, 0x7ffd_0000_0000][(x >> 60) as usize % 3];
            addrs.push(region + ((x >> 20) % (1 << 24)) * 8);
        }
        let n = numbered(&addrs);
        let mut sorted = addrs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(n.len(), sorted.len());
        assert!(n.iter().eq(sorted.iter().copied()));
        for (i, &a) in sorted.iter().enumerate().step_by(7) {
            assert_eq!(n.index_of(a), Some(i as u32));
            assert_eq!(n.index_of(a + 8).is_some(), sorted.binary_search(&(a + 8)).is_ok());
        }
    }

    #[test]
    fn resolves_rows_drops_non_members_and_names_keys() {
        let (a, b, c, gone, key) = (0x1000u64, 0x2000u64, 0x3000u64, 0x4000u64, 0x5000u64);
        let mut edges = AddressedEdges::default();
        // Row of `b`: to a, to a dropped address, and a dict value named by `key`.
        edges.push(a, EdgeLabel::new(EdgeKind::Index(0)));
        edges.push(gone, EdgeLabel::UNKNOWN);
        let k = edges.key(key);
        edges.push(c, EdgeLabel::new(EdgeKind::DictValue(k)));
        edges.end_row();
        // Row of `c`: its value under a key that is not a member.
        let lost = edges.key(gone);
        edges.push(b, EdgeLabel::new(EdgeKind::DictValue(lost)));
        edges.end_row();
        let n = numbered(&[a, b, c, key]);
        let csr = edges.clone().resolve(&n, [b, c]).unwrap();
        assert_eq!(csr.start, vec![0, 0, 2, 3, 3]);
        assert_eq!(csr.to, vec![0, 2, 1]);
        assert_eq!(csr.label[0].kind(), EdgeKind::Index(0));
        assert_eq!(csr.label[1].kind(), EdgeKind::DictValue(NodeIx::new(3)));
        assert_eq!(csr.label[2], EdgeLabel::UNKNOWN);
        assert!(matches!(edges.clone().resolve(&n, [c, b]), Err(BuildError::NotAscending(..))));
        assert_eq!(edges.resolve(&n, [gone, c]).err(), Some(BuildError::NoSuchAddress(gone)));
    }
}
