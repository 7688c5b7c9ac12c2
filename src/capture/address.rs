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
//!
//! A capture's edges are recorded in two halves by two cores: the walking
//! core writes each edge's label ([`EdgeRows`]) and sends its referent's
//! address to the core that builds the set, which writes down where in the
//! set the referent went, as a 4-byte [`Code`] ([`Referents`]). Once every
//! member is known, a code turns into a node index with one lookup and no
//! search, in place.

use std::sync::Arc;

use crate::graph::{BuildError, Csr, EdgeKind, EdgeLabel, NodeIx};
use crate::snapshot::spill::{Spill, Stream};
use crate::snapshot::EdgeEncoder;

/// Edges a streamed capture keeps in memory (per half) before it writes
/// them to its spill file: 1 MiB of labels, 1 MiB of codes (in tests, a few
/// hundred edges, so that small heaps straddle many chunks).
const SPILL_EDGES: usize = if cfg!(test) { 1 << 8 } else { 1 << 18 };

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

impl Page {
    /// The number of the member in `slot`, once numbered; none if the slot
    /// is empty.
    #[inline]
    fn number_of(&self, slot: usize) -> Option<u32> {
        let (w, s) = (slot / 64, slot % 64);
        let word = self.bits[w];
        if word & (1 << s) == 0 {
            return None;
        }
        let below = (word & ((1u64 << s) - 1)).count_ones();
        Some(self.base + u32::from(self.before_word[w]) + below)
    }
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

    /// Adds `addr` and tells where it went; [`Code::NONE`] if it cannot be
    /// a member, or the set has more pages than a code can name.
    pub fn insert_coded(&mut self, addr: u64) -> Code {
        if self.insert(addr).is_err() {
            return Code::NONE;
        }
        // `insert` succeeded, so the page is there.
        let Some(page) = self.dir.slot(addr >> PAGE_SHIFT) else { return Code::NONE };
        if page >= Code::MAX_PAGES {
            return Code::NONE;
        }
        Code(page << (PAGE_SHIFT - SLOT_SHIFT) | ((addr >> SLOT_SHIFT) as u32 & (SLOTS_PER_PAGE as u32 - 1)))
    }

    /// Adds a chunk of the walk's referents (see [`tag_key`]) and writes
    /// down each one's code, in order.
    pub fn insert_referents(&mut self, chunk: &[u64], out: &mut Referents) {
        for &a in chunk {
            let addr = a & !KEY_TAG;
            let code = self.insert_coded(addr);
            // An aligned address gets no code only when pages run out.
            out.too_many_pages |= code == Code::NONE && split(addr).is_ok();
            if a & KEY_TAG == 0 {
                out.targets.push(code.0);
            } else {
                out.keys.push(code);
            }
        }
        if out.targets.len() >= SPILL_EDGES {
            out.spill_targets();
        }
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
        self.set.pages[self.set.dir.slot(page)? as usize].number_of(slot)
    }

    /// The number of the member coded `code`, if it is (still) a member.
    #[inline]
    pub fn index_of_code(&self, code: Code) -> Option<u32> {
        let shift = PAGE_SHIFT - SLOT_SHIFT;
        let page = self.set.pages.get((code.0 >> shift) as usize)?;
        page.number_of((code.0 as usize) & (SLOTS_PER_PAGE - 1))
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

/// Where an address went in an [`AddressSet`]: its page's position in the
/// set and its slot in the page. Pages keep their positions as the set
/// grows, so a code written during the walk stays good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(u32);

impl Code {
    /// No member: an address that cannot be an object.
    pub const NONE: Code = Code(u32::MAX);
    /// Pages a code can name: 32 GiB of pages holding objects, past the
    /// 512 M nodes a heap may have anyway.
    const MAX_PAGES: u32 = (u32::MAX >> (PAGE_SHIFT - SLOT_SHIFT)) - 1;
}

/// Marks a referent sent to [`AddressSet::insert_referents`] as the key
/// node a label names rather than an edge's target (addresses are 8-byte
/// aligned, so the low bit is free).
const KEY_TAG: u64 = 1;

/// `addr` as a key to send to [`AddressSet::insert_referents`].
pub fn tag_key(addr: u64) -> u64 {
    addr | KEY_TAG
}

/// The walk's half of its edges: one row per source, sources in
/// increasing address order, each edge's label. The targets are in
/// [`Referents`], in the same order.
#[derive(Clone, Default)]
pub struct EdgeRows {
    labels: Vec<EdgeLabel>,
    /// End of each row in `labels`.
    row_end: Vec<u32>,
    /// Keys named so far: a `DictValue` or `Attr` label holds a position
    /// among them until numbering.
    keys: usize,
    /// Streamed: rows go to a spill file (and `row_end` stays empty).
    spill: Option<RowSpill>,
}

/// A streamed capture's edge labels, written out a chunk at a time.
#[derive(Clone)]
struct RowSpill {
    /// Each label's bits, as little-endian `u32`s.
    labels: Stream,
    /// Each row's length, as varints.
    lengths: Stream,
    rows: usize,
    edges: u64,
    /// Where the open row starts in the labels still in memory.
    row_start: usize,
}

impl RowSpill {
    fn end_row(&mut self, labels: &mut Vec<EdgeLabel>) {
        self.lengths.put_varint((labels.len() - self.row_start) as u64);
        self.lengths.flush_if_full();
        self.rows += 1;
        self.row_start = labels.len();
        if labels.len() >= SPILL_EDGES {
            self.spill(labels);
        }
    }

    fn spill(&mut self, labels: &mut Vec<EdgeLabel>) {
        self.edges += labels.len() as u64;
        for l in labels.drain(..) {
            self.labels.put_u32(l.to_bits());
        }
        self.labels.flush();
        self.row_start = 0;
    }
}

impl EdgeRows {
    pub fn with_capacity(rows: usize, edges: usize) -> EdgeRows {
        EdgeRows { labels: Vec::with_capacity(edges), row_end: Vec::with_capacity(rows), keys: 0, spill: None }
    }

    /// Rows written to `spill` as the walk goes, a chunk at a time.
    pub fn spilled(spill: &Arc<Spill>) -> EdgeRows {
        let rows = RowSpill { labels: Stream::spilled(spill), lengths: Stream::spilled(spill), rows: 0, edges: 0, row_start: 0 };
        EdgeRows { labels: Vec::with_capacity(SPILL_EDGES + 1024), row_end: Vec::new(), keys: 0, spill: Some(rows) }
    }

    /// Where the next labels will be written, as `(address, bytes)`.
    pub fn spare(&self) -> (usize, usize) {
        crate::graph::spare_capacity(&self.labels)
    }

    /// Adds an edge to the current row; its target goes to the address set.
    pub fn push(&mut self, label: EdgeLabel) {
        self.labels.push(label);
    }

    /// Closes the current row: the edges of the next source follow.
    pub fn end_row(&mut self) {
        match &mut self.spill {
            None => self.row_end.push(self.labels.len() as u32),
            Some(s) => s.end_row(&mut self.labels),
        }
    }

    /// A stand-in node for the next key sent to the address set (tagged
    /// with [`tag_key`]), for a `DictValue` or `Attr` label.
    pub fn key(&mut self) -> NodeIx {
        self.keys += 1;
        NodeIx::new(self.keys - 1)
    }

    /// The edge index over numbered nodes. `row_sources[i]` is the address
    /// of row `i`'s source. Edges to addresses that are not members are
    /// dropped (observers, and whatever could not be an object); a label
    /// whose key is not a member loses its key. Both halves are consumed and
    /// become the index's columns, resolved in place: a large heap has tens
    /// of millions of edges.
    pub fn resolve(
        self,
        referents: Referents,
        numbering: &Numbering,
        row_sources: impl IntoIterator<Item = u64>,
    ) -> Result<Csr, BuildError> {
        let EdgeRows { mut labels, row_end, keys, .. } = self;
        let Referents { targets: mut to, keys: key_codes, too_many_pages, .. } = referents;
        if too_many_pages {
            return Err(BuildError::TooLarge("more than 32 GiB of memory pages hold objects"));
        }
        if to.len() != labels.len() || key_codes.len() != keys {
            return Err(BuildError::BadEdges("the walk and the address set saw different referents"));
        }
        let n = numbering.len();
        let mut start = Vec::with_capacity(n + 1);
        start.push(0);
        let (mut row_start, mut kept) = (0, 0);
        for (source, &row_end) in row_sources.into_iter().zip(&row_end) {
            let from = numbering.index_of(source).ok_or(BuildError::NoSuchAddress(source))? as usize;
            if from < start.len() - 1 {
                return Err(BuildError::NotAscending(source, source));
            }
            start.resize(from + 1, kept as u32);
            for e in row_start..row_end as usize {
                if let Some(t) = numbering.index_of_code(Code(to[e])) {
                    // `kept <= e`: this writes behind the reading edge.
                    labels[kept] = resolve_label(labels[e], &key_codes, numbering);
                    to[kept] = t;
                    kept += 1;
                }
            }
            start.push(kept as u32);
            row_start = row_end as usize;
        }
        start.resize(n + 1, kept as u32);
        to.truncate(kept);
        to.shrink_to_fit();
        labels.truncate(kept);
        labels.shrink_to_fit();
        Ok(Csr { start, to, label: labels })
    }
}

/// Why a streamed capture's edges could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("the capture's temporary spill file failed: {0}")]
    Spill(#[from] std::io::Error),
}

impl EdgeRows {
    /// [`EdgeRows::resolve`] for rows and referents that were spilled
    /// ([`EdgeRows::spilled`], [`Referents::spilled`]): the edges are read
    /// back in order and go to `out`, encoded, a row at a time.
    pub fn resolve_into(
        self,
        referents: Referents,
        numbering: &Numbering,
        row_sources: impl IntoIterator<Item = u64>,
        out: &mut EdgeEncoder,
    ) -> Result<(), ResolveError> {
        let EdgeRows { mut labels, keys, spill, .. } = self;
        let Referents { targets, keys: key_codes, too_many_pages, spill: target_spill } = referents;
        let (Some(mut rows), Some(mut codes)) = (spill, target_spill) else {
            return Err(BuildError::BadEdges("the edges were not spilled").into());
        };
        if too_many_pages {
            return Err(BuildError::TooLarge("more than 32 GiB of memory pages hold objects").into());
        }
        rows.spill(&mut labels);
        drop(labels);
        rows.labels.finish()?;
        rows.lengths.finish()?;
        codes.spill(targets);
        codes.stream.finish()?;
        if rows.edges != codes.edges || key_codes.len() != keys {
            return Err(BuildError::BadEdges("the walk and the address set saw different referents").into());
        }
        let (mut lengths, mut labels, mut targets) = (rows.lengths.reader(), rows.labels.reader(), codes.stream.reader());
        for source in row_sources.into_iter().take(rows.rows) {
            let from = numbering.index_of(source).ok_or(BuildError::NoSuchAddress(source))? as usize;
            if !out.start_row(from) {
                return Err(BuildError::NotAscending(source, source).into());
            }
            for _ in 0..lengths.varint() {
                let label = EdgeLabel::from_bits(labels.u32()).unwrap_or(EdgeLabel::UNKNOWN);
                if let Some(t) = numbering.index_of_code(Code(targets.u32())) {
                    out.push(t, resolve_label(label, &key_codes, numbering));
                }
            }
        }
        for r in [&mut lengths, &mut labels, &mut targets] {
            if let Some(e) = r.error() {
                return Err(e.into());
            }
        }
        out.finish(numbering.len())?;
        Ok(())
    }
}

/// The address set's half of the walk's edges: each referent's [`Code`],
/// in the order the walk met them.
#[derive(Clone, Default)]
pub struct Referents {
    /// Codes of the edges' targets, as plain words: they become the node
    /// indices of the edge index, in place.
    targets: Vec<u32>,
    /// Codes of the keys that labels name.
    keys: Vec<Code>,
    too_many_pages: bool,
    /// Streamed: the targets' codes go to a spill file in chunks.
    spill: Option<CodeSpill>,
}

/// A streamed capture's target codes, written out a chunk at a time.
#[derive(Clone)]
struct CodeSpill {
    stream: Stream,
    edges: u64,
}

impl CodeSpill {
    fn spill(&mut self, targets: Vec<u32>) -> Vec<u32> {
        self.edges += targets.len() as u64;
        for &t in &targets {
            self.stream.put_u32(t);
        }
        self.stream.flush();
        targets
    }
}

impl Referents {
    pub fn with_capacity(edges: usize) -> Referents {
        Referents { targets: Vec::with_capacity(edges), ..Referents::default() }
    }

    /// Codes written to `spill` as they come, a chunk at a time.
    pub fn spilled(spill: &Arc<Spill>) -> Referents {
        let codes = CodeSpill { stream: Stream::spilled(spill), edges: 0 };
        Referents { targets: Vec::with_capacity(SPILL_EDGES + super::MEMBER_CHUNK), spill: Some(codes), ..Referents::default() }
    }

    /// Writes the codes so far to the spill file, if there is one.
    fn spill_targets(&mut self) {
        if let Some(s) = &mut self.spill {
            let mut t = s.spill(std::mem::take(&mut self.targets));
            t.clear();
            self.targets = t;
        }
    }
}

/// `label` with its key stand-in replaced by the key's node.
fn resolve_label(label: EdgeLabel, keys: &[Code], numbering: &Numbering) -> EdgeLabel {
    let key = |k: NodeIx| numbering.index_of_code(keys[k.index()]).map(|i| NodeIx::new(i as usize));
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
        let addrs =
            [0x7f00_0000_1008, 0x10, 0x7f00_0000_1000, 0x5555_0000_0ff8, 0x7f00_0000_0ff8, 0x5555_0000_0000, 0x4000_0000, 0x3fff_fff8];
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
        let mut set = AddressSet::new();
        let codes: Vec<Code> = addrs.iter().map(|&a| set.insert_coded(a)).collect();
        let n = set.number();
        for (&a, &code) in addrs.iter().zip(&codes) {
            assert_eq!(n.index_of_code(code), n.index_of(a), "{a:#x}");
        }
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
        let mut rows = EdgeRows::default();
        // What the walking core sends the address set, in order.
        let mut sent = Vec::new();
        // Row of `b`: to a, to an observer (removed once the walk is over),
        // to an address no object can have, and a dict value named by `key`.
        rows.push(EdgeLabel::new(EdgeKind::Index(0)));
        sent.push(a);
        rows.push(EdgeLabel::UNKNOWN);
        sent.push(gone);
        rows.push(EdgeLabel::UNKNOWN);
        sent.push(0x6004);
        let k = rows.key();
        sent.push(tag_key(key));
        rows.push(EdgeLabel::new(EdgeKind::DictValue(k)));
        sent.push(c);
        rows.end_row();
        // Row of `c`: its value under a key that is not a member.
        let lost = rows.key();
        sent.push(tag_key(gone));
        rows.push(EdgeLabel::new(EdgeKind::DictValue(lost)));
        sent.push(b);
        rows.end_row();

        let mut set = AddressSet::new();
        let mut referents = Referents::default();
        set.insert(b).unwrap();
        set.insert(c).unwrap();
        // In chunks, as the walk sends them.
        set.insert_referents(&sent[..3], &mut referents);
        set.insert_referents(&sent[3..], &mut referents);
        assert!(set.remove(gone));
        let n = set.number();
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![a, b, c, key]);

        let csr = rows.clone().resolve(referents.clone(), &n, [b, c]).unwrap();
        assert_eq!(csr.start, vec![0, 0, 2, 3, 3]);
        assert_eq!(csr.to, vec![0, 2, 1]);
        assert_eq!(csr.label[0].kind(), EdgeKind::Index(0));
        assert_eq!(csr.label[1].kind(), EdgeKind::DictValue(NodeIx::new(3)));
        assert_eq!(csr.label[2], EdgeLabel::UNKNOWN);
        assert!(matches!(rows.clone().resolve(referents.clone(), &n, [c, b]), Err(BuildError::NotAscending(..))));
        assert_eq!(rows.clone().resolve(referents.clone(), &n, [gone, c]).err(), Some(BuildError::NoSuchAddress(gone)));
        // Halves that disagree are an error, never a wrong graph.
        let mut short = referents;
        short.targets.pop();
        assert!(matches!(rows.resolve(short, &n, [b, c]), Err(BuildError::BadEdges(_))));
    }
}
