//! Reads and validates `.rgs` snapshots. Nothing in a file is trusted: every
//! length is checked against the bytes that remain, every index against what
//! it indexes, and every problem is reported with the file name, the byte
//! offset and what was expected there. No input makes it panic.

use std::path::Path;

use super::format::*;
use crate::graph::{Csr, EdgeLabel, Heap, Meta, NodeColumns, NodeIx, Root, RootKind, StrPool};

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    // The OS error is part of the message and not a `source`: printed with
    // its cause chain, it would appear twice.
    #[error("cannot read snapshot {file}: {error}")]
    Read { file: String, error: std::io::Error },
    #[error("cannot write snapshot {file}: {error}")]
    Write { file: String, error: std::io::Error },
    #[error("{file}: not a refgraph snapshot (byte 0 starts with {found}, expected the .rgs magic)")]
    NotASnapshot { file: String, found: String },
    #[error("{file}: snapshot format version {version} at byte 8, {}", version_origin(*version, *supported))]
    UnsupportedVersion { file: String, version: u32, supported: u32 },
    #[error("{file}: truncated at byte {offset}: {} needs {needed} bytes, {available} remain", place(section))]
    Truncated { file: String, offset: u64, section: String, needed: u64, available: u64 },
    #[error("{file}: corrupt at byte {offset}: {what}")]
    Corrupt { file: String, offset: u64, what: String },
    #[error("{file}: damaged: section {section} at byte {offset} ({len} bytes) fails its checksum (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { file: String, section: String, offset: u64, len: u64, stored: u32, computed: u32 },
}

/// "section NODE" for a section's tag, the name itself for the headers.
fn place(section: &str) -> String {
    match section.ends_with("header") {
        true => section.to_string(),
        false => format!("section {section}"),
    }
}

/// Where a file of another version comes from, as far as this build can tell.
fn version_origin(version: u32, supported: u32) -> String {
    match version {
        1 => format!(
            "from an older refgraph (before section checksums); this refgraph reads version {supported} only: capture the heap again"
        ),
        v if v > supported && v < 1000 => format!("from a newer refgraph; this refgraph reads version {supported} only"),
        _ => format!("which no refgraph writes (this one reads version {supported}): the file is damaged"),
    }
}

impl SnapshotError {
    /// The same error about `path` (writers learn the name late).
    pub(crate) fn with_file(self, path: &Path) -> SnapshotError {
        let file = path.display().to_string();
        match self {
            SnapshotError::Write { error, .. } => SnapshotError::Write { file, error },
            SnapshotError::Corrupt { offset, what, .. } => SnapshotError::Corrupt { file, offset, what },
            other => other,
        }
    }
}

/// Reads a snapshot file.
pub fn read_snapshot(path: &Path) -> Result<Heap, SnapshotError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| SnapshotError::Read { file: name.clone(), error })?;
    read_snapshot_bytes(&bytes, &name)
}

/// A position in the file, for reading one section.
pub(super) struct Cursor<'a> {
    pub(super) file: &'a str,
    pub(super) section: &'static str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    /// Offset of `bytes[0]` in the file.
    pub(super) base: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn offset(&self) -> u64 {
        (self.base + self.pos) as u64
    }

    fn truncated(&self, needed: u64) -> SnapshotError {
        SnapshotError::Truncated {
            file: self.file.to_string(),
            offset: self.offset(),
            section: self.section.to_string(),
            needed,
            available: (self.bytes.len() - self.pos) as u64,
        }
    }

    pub(super) fn corrupt(&self, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Corrupt { file: self.file.to_string(), offset: self.offset(), what: format!("{}: {}", self.section, what.into()) }
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if self.bytes.len() - self.pos < n {
            return Err(self.truncated(n as u64));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    #[inline(always)]
    pub(super) fn varint(&mut self) -> Result<u64, SnapshotError> {
        // Most values fit in one byte: the common path is one load.
        if let Some(&b) = self.bytes.get(self.pos) {
            if b < 0x80 {
                self.pos += 1;
                return Ok(u64::from(b));
            }
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64, SnapshotError> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else { return Err(self.truncated(1)) };
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(self.corrupt("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.corrupt("varint longer than 10 bytes"));
            }
        }
    }

    pub(super) fn u32_varint(&mut self, what: &str) -> Result<u32, SnapshotError> {
        let at = self.pos;
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| {
            self.pos = at;
            self.corrupt(format!("{what} {v} does not fit in 32 bits"))
        })
    }

    /// A count of items that each take at least `min_bytes`: checked against
    /// what remains so a corrupt count cannot make us allocate terabytes.
    pub(super) fn count(&mut self, what: &str, min_bytes: usize) -> Result<usize, SnapshotError> {
        let at = self.pos;
        let n = self.varint()?;
        let room = (self.bytes.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes as u64) > room {
            self.pos = at;
            return Err(self.corrupt(format!("{what} count {n} is more than the {room} bytes left can hold")));
        }
        Ok(n as usize)
    }

    pub(super) fn str(&mut self) -> Result<&'a str, SnapshotError> {
        let n = self.count("string length", 1)?;
        let at = self.pos;
        let raw = self.take(n)?;
        std::str::from_utf8(raw).map_err(|e| {
            self.pos = at + e.valid_up_to();
            self.corrupt("string is not UTF-8")
        })
    }

    pub(super) fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn finish(&self) -> Result<(), SnapshotError> {
        if self.pos != self.bytes.len() {
            return Err(self.corrupt(format!("{} bytes left over at the end of the section", self.bytes.len() - self.pos)));
        }
        Ok(())
    }
}

/// The sections of a file, by tag, with their offsets.
pub(super) struct Sections<'a> {
    found: Vec<([u8; 4], usize, &'a [u8])>,
}

impl<'a> Sections<'a> {
    pub(super) fn get(&self, tag: [u8; 4], file: &'a str, section: &'static str) -> Result<Cursor<'a>, SnapshotError> {
        match self.found.iter().find(|(t, _, _)| *t == tag) {
            Some(&(_, base, bytes)) => Ok(Cursor { file, section, bytes, pos: 0, base }),
            None => Err(SnapshotError::Corrupt { file: file.to_string(), offset: 0, what: format!("the {section} section is missing") }),
        }
    }
}

pub(super) fn split_sections<'a>(bytes: &'a [u8], file: &'a str) -> Result<Sections<'a>, SnapshotError> {
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        let head: String = bytes.iter().take(8).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
        return Err(SnapshotError::NotASnapshot { file: file.to_string(), found: format!("\"{head}\"") });
    }
    let mut top = Cursor { file, section: "file header", bytes, pos: 8, base: 0 };
    let version = u32::from_le_bytes(top.take(4)?.try_into().unwrap_or([0; 4]));
    if version != VERSION {
        return Err(SnapshotError::UnsupportedVersion { file: file.to_string(), version, supported: VERSION });
    }
    let mut found = Vec::new();
    loop {
        top.section = "section header";
        let at = top.pos;
        let tag: [u8; 4] = top.take(4)?.try_into().unwrap_or([0; 4]);
        let len = u64::from_le_bytes(top.take(8)?.try_into().unwrap_or([0; 8]));
        let stored = u32::from_le_bytes(top.take(4)?.try_into().unwrap_or([0; 4]));
        let name = String::from_utf8_lossy(&tag).escape_debug().to_string();
        let remaining = (bytes.len() - top.pos) as u64;
        if len > remaining {
            return Err(SnapshotError::Truncated {
                file: file.to_string(),
                offset: at as u64,
                section: name,
                needed: len,
                available: remaining,
            });
        }
        let base = top.pos;
        let payload = top.take(len as usize)?;
        let computed = section_checksum(tag, payload);
        if computed != stored {
            return Err(SnapshotError::Checksum { file: file.to_string(), section: name, offset: at as u64, len, stored, computed });
        }
        if tag == END {
            top.section = "END.";
            if top.pos != bytes.len() {
                return Err(top.corrupt(format!("{} bytes after the end marker", bytes.len() - top.pos)));
            }
            return Ok(Sections { found });
        }
        if found.iter().any(|(t, _, _)| *t == tag) {
            return Err(SnapshotError::Corrupt {
                file: file.to_string(),
                offset: at as u64,
                what: format!("section {name} appears twice"),
            });
        }
        found.push((tag, base, payload));
    }
}

/// Reads a snapshot from memory; `name` is what errors call it.
pub fn read_snapshot_bytes(bytes: &[u8], name: &str) -> Result<Heap, SnapshotError> {
    let sections = split_sections(bytes, name)?;
    let meta = read_meta(&sections, name)?;
    let types = read_strings(sections.get(TYPES, name, "TYPE")?)?;
    let edge_names = read_strings(sections.get(EDGE_NAMES, name, "ENAM")?)?;
    let mut c = sections.get(NODES, name, "NODE")?;
    let nodes_at = c.offset();
    let edge_cursor = sections.get(EDGES, name, "EDGE")?;
    // The two big sections decode independently: one core each. The edge
    // decoder learns the node count from the NODE section's first varint.
    let node_count = Cursor { pos: 0, ..c }.count("node", 6)?;
    // The edge side also builds the incoming index, which needs nothing
    // from the nodes but their count.
    let (nodes, edges) = std::thread::scope(|scope| {
        let edges = scope.spawn(|| {
            read_edges(edge_cursor, node_count, edge_names.len()).map(|csr| {
                let incoming = csr.incoming(node_count);
                (csr, incoming)
            })
        });
        let nodes = read_label_section(&sections, name).and_then(|labels| {
            let nodes = read_nodes(&mut c, types.len(), labels.len())?;
            Ok((labels, nodes))
        });
        (nodes, edges.join())
    });
    let (labels, nodes) = nodes?;
    let (csr, incoming) = match edges {
        Ok(r) => r?,
        Err(_) => return Err(SnapshotError::Corrupt { file: name.to_string(), offset: 0, what: "EDGE: the decoder stopped".into() }),
    };
    let roots = read_roots(sections.get(ROOTS, name, "ROOT")?, nodes.len())?;
    let mut heap = Heap::from_parts(meta, nodes, types, labels, edge_names, csr, Some(incoming), roots)
        .map_err(|e| SnapshotError::Corrupt { file: name.to_string(), offset: nodes_at, what: format!("NODE: {e}") })?;
    crate::roots::add_held_from_outside(&mut heap);
    Ok(heap)
}

/// The label pool, from the LABL section in either encoding.
fn read_label_section(sections: &Sections<'_>, name: &str) -> Result<StrPool, SnapshotError> {
    with_label_cursor(sections, name, read_labels)
}

/// Runs `f` on the LABL payload after its encoding byte, decompressed if it
/// is compressed.
pub(super) fn with_label_cursor<R>(
    sections: &Sections<'_>,
    name: &str,
    f: impl FnOnce(Cursor<'_>) -> Result<R, SnapshotError>,
) -> Result<R, SnapshotError> {
    let mut c = sections.get(LABELS, name, "LABL")?;
    match c.u8()? {
        LABELS_RAW => f(Cursor { pos: 0, bytes: &c.bytes[1..], base: c.base + 1, ..c }),
        LABELS_LZ4 => {
            let raw = decompress_labels(&c)?;
            // Offsets in errors below are within the decompressed payload.
            f(Cursor { file: c.file, section: "LABL (decompressed)", bytes: &raw, pos: 0, base: 0 })
        }
        other => {
            c.pos = 0;
            Err(c.corrupt(format!("unknown label encoding {other}")))
        }
    }
}

/// The LZ4 block after the encoding byte, with its declared size checked
/// first: LZ4 cannot expand more than 255 times, so a larger claim is a
/// corrupt file, not an allocation to attempt.
fn decompress_labels(c: &Cursor<'_>) -> Result<Vec<u8>, SnapshotError> {
    let block = &c.bytes[1..];
    let declared = block.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match declared {
        Some(n) if n <= block.len().saturating_mul(255) => {}
        _ => return Err(c.corrupt("compressed labels declare an impossible size")),
    }
    lz4_flex::decompress_size_prepended(block).map_err(|e| c.corrupt(format!("compressed labels do not decompress: {e}")))
}

pub(super) fn read_meta(s: &Sections<'_>, name: &str) -> Result<Meta, SnapshotError> {
    let c = s.get(META, name, "META")?;
    serde_json::from_slice(c.bytes).map_err(|e| SnapshotError::Corrupt {
        file: name.to_string(),
        offset: c.base as u64,
        what: format!("META: metadata is not valid JSON (line {}, column {}): {e}", e.line(), e.column()),
    })
}

pub(super) fn read_strings(mut c: Cursor<'_>) -> Result<Vec<String>, SnapshotError> {
    let n = c.count("string", 1)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(c.str()?.to_string());
    }
    c.finish()?;
    Ok(out)
}

fn read_labels(mut c: Cursor<'_>) -> Result<StrPool, SnapshotError> {
    let n = c.count("label offset", 1)?;
    let mut ends = Vec::with_capacity(n);
    let mut acc = 0u64;
    for _ in 0..n {
        acc += c.varint()?;
        if acc > u64::from(u32::MAX) {
            return Err(c.corrupt("label offsets exceed 4 GiB"));
        }
        ends.push(acc as u32);
    }
    let at = c.offset();
    let text = c.str()?.to_string();
    c.finish()?;
    StrPool::from_parts(text, ends).ok_or_else(|| SnapshotError::Corrupt {
        file: c.file.to_string(),
        offset: at,
        what: "LABL: label offsets do not fit the label text".into(),
    })
}

fn read_nodes(c: &mut Cursor<'_>, types: usize, labels: usize) -> Result<NodeColumns, SnapshotError> {
    let n = c.count("node", 6)?;
    let mut cols = NodeColumns::default();
    cols.addr.reserve(n);
    node_addrs(c, n, |a| cols.addr.push(a))?;
    cols.type_id.reserve(n);
    node_type_ids(c, n, types, |t| cols.type_id.push(t))?;
    cols.size.reserve(n);
    node_u32s(c, n, "size", |s| cols.size.push(s))?;
    cols.refcount.reserve(n);
    node_u32s(c, n, "reference count", |r| cols.refcount.push(r))?;
    cols.flags = c.take(n)?.to_vec();
    cols.label.reserve(n);
    node_label_ids(c, n, labels, |l| cols.label.push(l))?;
    c.finish()?;
    Ok(cols)
}

// The NODE section's columns, one after the other, each checked as it is
// decoded: the full reader keeps them all, the summary reader a few.

/// The address column (deltas from the previous address).
pub(super) fn node_addrs(c: &mut Cursor<'_>, n: usize, mut f: impl FnMut(u64)) -> Result<(), SnapshotError> {
    let mut prev = 0u64;
    for _ in 0..n {
        prev = prev.wrapping_add(unzigzag(c.varint()?) as u64);
        f(prev);
    }
    Ok(())
}

pub(super) fn node_type_ids(c: &mut Cursor<'_>, n: usize, types: usize, mut f: impl FnMut(u32)) -> Result<(), SnapshotError> {
    for _ in 0..n {
        let at = c.pos;
        let t = c.u32_varint("type id")?;
        if t as usize >= types {
            c.pos = at;
            return Err(c.corrupt(format!("type id {t}, but there are {types} types")));
        }
        f(t);
    }
    Ok(())
}

/// A column of 32-bit counts (sizes, reference counts).
pub(super) fn node_u32s(c: &mut Cursor<'_>, n: usize, what: &str, mut f: impl FnMut(u32)) -> Result<(), SnapshotError> {
    for _ in 0..n {
        f(c.u32_varint(what)?);
    }
    Ok(())
}

/// The label id column (0 for none, else a delta from the last nonzero id).
pub(super) fn node_label_ids(c: &mut Cursor<'_>, n: usize, labels: usize, mut f: impl FnMut(u32)) -> Result<(), SnapshotError> {
    let mut last = 0i64;
    for _ in 0..n {
        let at = c.pos;
        let v = c.varint()?;
        let id = if v == 0 { 0 } else { last + 1 + unzigzag(v - 1) };
        if id < 0 || id as usize >= labels.max(1) {
            c.pos = at;
            return Err(c.corrupt(format!("label id {id}, but there are {labels} labels")));
        }
        if id != 0 {
            last = id;
        }
        f(id as u32);
    }
    Ok(())
}

fn read_edges(c: Cursor<'_>, n: usize, names: usize) -> Result<Csr, SnapshotError> {
    // Reserved once, from the declared count (checked against the bytes left).
    let m = Cursor { pos: 0, ..c }.count("edge", 2)?;
    let (mut to, mut label) = (Vec::with_capacity(m), Vec::with_capacity(m));
    let start = decode_edges(c, n, names, |t| to.push(t), |l| label.push(l))?;
    Ok(Csr { start, to, label })
}

/// Decodes and checks the EDGE section, handing each edge's target (in
/// edge order), then each edge's label, to the callers; returns the row starts.
pub(super) fn decode_edges(
    mut c: Cursor<'_>,
    n: usize,
    names: usize,
    mut on_target: impl FnMut(u32),
    mut on_label: impl FnMut(EdgeLabel),
) -> Result<Vec<u32>, SnapshotError> {
    let m = c.count("edge", 2)?;
    if m > u32::MAX as usize {
        return Err(c.corrupt("more than 4 G edges"));
    }
    let mut start = Vec::with_capacity(n + 1);
    start.push(0u32);
    let mut total = 0u64;
    for _ in 0..n {
        total += c.varint()?;
        if total > m as u64 {
            return Err(c.corrupt(format!("out-degrees add up to more than the {m} edges declared")));
        }
        start.push(total as u32);
    }
    if total != m as u64 {
        return Err(c.corrupt(format!("out-degrees add up to {total}, but {m} edges are declared")));
    }
    for i in 0..n {
        let mut prev = i as i64;
        for _ in start[i]..start[i + 1] {
            let at = c.pos;
            let t = prev + unzigzag(c.varint()?);
            if t < 0 || t as usize >= n {
                c.pos = at;
                return Err(c.corrupt(format!("edge from node {i} to node {t}, but there are {n} nodes")));
            }
            on_target(t as u32);
            prev = t;
        }
    }
    for _ in 0..m {
        let at = c.pos;
        let bits = c.u32_varint("edge label")?.rotate_right(3);
        let l = EdgeLabel::from_bits(bits).filter(|l| label_in_range(*l, n, names));
        match l {
            Some(l) => on_label(l),
            None => {
                c.pos = at;
                return Err(c.corrupt(format!("edge label {bits:#x} names no valid key, attribute or name")));
            }
        }
    }
    c.finish()?;
    Ok(start)
}

fn label_in_range(l: EdgeLabel, nodes: usize, names: usize) -> bool {
    // A label is stored in the one form EdgeLabel::new gives it: the kinds
    // without a payload (unknown, dict key) store 0 there.
    if EdgeLabel::new(l.kind()).to_bits() != l.to_bits() {
        return false;
    }
    match l.kind() {
        crate::graph::EdgeKind::Named(i) => (i as usize) < names,
        _ => l.referenced_node().is_none_or(|k| k.index() < nodes),
    }
}

pub(super) fn read_roots(mut c: Cursor<'_>, n: usize) -> Result<Vec<Root>, SnapshotError> {
    let count = c.count("root", 3)?;
    let mut roots = Vec::with_capacity(count);
    for _ in 0..count {
        let at = c.pos;
        let node = c.varint()?;
        if node >= n as u64 {
            c.pos = at;
            return Err(c.corrupt(format!("root node {node}, but there are {n} nodes")));
        }
        let at_kind = c.pos;
        let kind = match c.u8()? {
            ROOT_MODULE => RootKind::Module { name: c.str()?.to_string() },
            ROOT_FRAME => {
                let thread = c.varint()?;
                let depth = c.u32_varint("frame depth")?;
                RootKind::Frame { thread, depth, function: c.str()?.to_string() }
            }
            ROOT_NAMED => {
                let holder = c.str()?.to_string();
                RootKind::Named { holder, surplus: c.u32_varint("surplus")? }
            }
            k => {
                c.pos = at_kind;
                return Err(c.corrupt(format!("unknown root kind {k}")));
            }
        };
        roots.push(Root { node: NodeIx::new(node as usize), kind });
    }
    c.finish()?;
    Ok(roots)
}
