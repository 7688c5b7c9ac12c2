//! Writes a [`Heap`] as an `.rgs` snapshot. Big columns are varint and delta
//! encoded, which keeps a realistic heap near 10 bytes per edge; held-from-
//! outside roots are not stored because the reader recomputes them.
//!
//! Sections are encoded through a [`SectionSink`]: in memory, for any writer
//! ([`write_snapshot_to`]), or streamed to a seekable file in chunks, each
//! header filled in when its section ends ([`write_parts`], which also frees
//! each column of a capture as soon as it is written).

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use super::format::*;
use super::spill::Stream;
use super::{EdgeEncoder, NodeEncoder, SnapshotError};
use crate::graph::{BuiltParts, EdgeLabel, Heap, Meta, Root, RootKind, StrPool};

/// Bytes a streamed section gathers before they go to the file.
const CHUNK: usize = 1 << 20;

/// Writes `heap` to `path` atomically: the file appears whole or not at all,
/// readable by its owner only (0600: it holds the heap's strings).
pub fn write_snapshot(heap: &Heap, path: &Path) -> Result<(), SnapshotError> {
    write_atomically(path, |w| {
        let mut sink = Streamed::new(w);
        write_heap(heap, &mut sink)
    })
}

/// Writes what a capture built to `path` atomically, streaming each section
/// and freeing each column once written: the memory it needs beyond the
/// parts is a chunk, not a copy of the file.
///
/// With `encoded`, the nodes and edges are those rows (a streaming capture
/// encodes them as it meets them, into a spill file), and the parts' node
/// columns and edges are empty.
pub fn write_parts(parts: BuiltParts, encoded: Option<(NodeEncoder, EdgeEncoder)>, path: &Path) -> Result<(), SnapshotError> {
    let mut parts = Some((parts, encoded));
    write_atomically(path, |w| {
        let (parts, encoded) = parts.take().ok_or_else(|| stream_error(std::io::Error::other("written twice")))?;
        let mut sink = Streamed::new(w);
        match encoded {
            Some((nodes, edges)) => write_encoded(parts, nodes, edges, &mut sink),
            None => write_owned(parts, &mut sink),
        }
    })
}

/// Writes `heap` in the `.rgs` format to any writer.
pub fn write_snapshot_to(heap: &Heap, out: &mut dyn Write) -> Result<(), SnapshotError> {
    let mut sink = InMemory { out, tag: [0; 4], buf: Vec::new() };
    write_heap(heap, &mut sink)
}

fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> Result<(), SnapshotError>,
) -> Result<(), SnapshotError> {
    let mut failure = None;
    let written = crate::atomic::write_file_seekable(path, crate::atomic::Access::Private, |w| {
        write(w).map_err(|e| {
            failure = Some(e.with_file(path));
            std::io::Error::other("snapshot not written")
        })
    });
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(error), None) => Err(SnapshotError::Write { file: path.display().to_string(), error }),
    }
}

fn stream_error(error: std::io::Error) -> SnapshotError {
    SnapshotError::Write { file: "(stream)".into(), error }
}

/// Where encoded sections go. Encoders append to [`SectionSink::buf`] and
/// call [`SectionSink::spill`] when it holds a chunk.
trait SectionSink {
    /// The file header (magic and version).
    fn start(&mut self) -> Result<(), SnapshotError>;
    fn begin(&mut self, tag: [u8; 4]) -> Result<(), SnapshotError>;
    fn buf(&mut self) -> &mut Vec<u8>;
    fn spill(&mut self) -> Result<(), SnapshotError>;
    fn end(&mut self) -> Result<(), SnapshotError>;

    fn section(&mut self, tag: [u8; 4], payload: &[u8]) -> Result<(), SnapshotError> {
        self.begin(tag)?;
        self.buf().extend_from_slice(payload);
        self.end()
    }
}

/// Each section whole in memory, then written with its header.
struct InMemory<'a> {
    out: &'a mut dyn Write,
    tag: [u8; 4],
    buf: Vec<u8>,
}

impl SectionSink for InMemory<'_> {
    fn start(&mut self) -> Result<(), SnapshotError> {
        self.out.write_all(&MAGIC).map_err(stream_error)?;
        self.out.write_all(&VERSION.to_le_bytes()).map_err(stream_error)
    }

    fn begin(&mut self, tag: [u8; 4]) -> Result<(), SnapshotError> {
        self.tag = tag;
        self.buf.clear();
        Ok(())
    }

    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn spill(&mut self) -> Result<(), SnapshotError> {
        Ok(())
    }

    fn end(&mut self) -> Result<(), SnapshotError> {
        let payload = std::mem::take(&mut self.buf);
        self.out.write_all(&self.tag).map_err(stream_error)?;
        self.out.write_all(&(payload.len() as u64).to_le_bytes()).map_err(stream_error)?;
        self.out.write_all(&section_checksum(self.tag, &payload).to_le_bytes()).map_err(stream_error)?;
        self.out.write_all(&payload).map_err(stream_error)
    }
}

/// Sections streamed to a seekable file in chunks: a header's room is left
/// when the section begins, and filled in (length, checksum) when it ends.
struct Streamed<'a, W: Write + Seek> {
    out: &'a mut W,
    tag: [u8; 4],
    header_at: u64,
    len: u64,
    crc: crc32fast::Hasher,
    buf: Vec<u8>,
}

impl<'a, W: Write + Seek> Streamed<'a, W> {
    fn new(out: &'a mut W) -> Self {
        Streamed { out, tag: [0; 4], header_at: 0, len: 0, crc: crc32fast::Hasher::new(), buf: Vec::with_capacity(CHUNK + 64) }
    }
}

impl<W: Write + Seek> SectionSink for Streamed<'_, W> {
    fn start(&mut self) -> Result<(), SnapshotError> {
        self.out.write_all(&MAGIC).map_err(stream_error)?;
        self.out.write_all(&VERSION.to_le_bytes()).map_err(stream_error)
    }

    fn begin(&mut self, tag: [u8; 4]) -> Result<(), SnapshotError> {
        self.tag = tag;
        self.header_at = self.out.stream_position().map_err(stream_error)?;
        self.len = 0;
        self.crc = crc32fast::Hasher::new();
        self.buf.clear();
        self.out.write_all(&[0; 16]).map_err(stream_error)
    }

    fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn spill(&mut self) -> Result<(), SnapshotError> {
        self.crc.update(&self.buf);
        self.len += self.buf.len() as u64;
        self.out.write_all(&self.buf).map_err(stream_error)?;
        self.buf.clear();
        Ok(())
    }

    fn end(&mut self) -> Result<(), SnapshotError> {
        self.spill()?;
        // The checksum covers the header's tag and length first: hashed
        // now, and the payload's hash appended to it.
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.tag);
        crc.update(&self.len.to_le_bytes());
        crc.combine(&std::mem::take(&mut self.crc));
        let end = self.out.stream_position().map_err(stream_error)?;
        self.out.seek(SeekFrom::Start(self.header_at)).map_err(stream_error)?;
        self.out.write_all(&self.tag).map_err(stream_error)?;
        self.out.write_all(&self.len.to_le_bytes()).map_err(stream_error)?;
        self.out.write_all(&crc.finalize().to_le_bytes()).map_err(stream_error)?;
        self.out.seek(SeekFrom::Start(end)).map_err(stream_error)?;
        Ok(())
    }
}

/// Spills the sink's buffer when it holds a chunk.
fn full(s: &mut dyn SectionSink) -> Result<(), SnapshotError> {
    if s.buf().len() >= CHUNK {
        s.spill()?;
    }
    Ok(())
}

fn write_heap(heap: &Heap, s: &mut dyn SectionSink) -> Result<(), SnapshotError> {
    write_head(s, &heap.meta, heap.type_names(), heap.labels(), heap.edge_names())?;
    let c = heap.columns();
    s.begin(NODES)?;
    put_varint(s.buf(), c.len() as u64);
    addrs(s, &c.addr)?;
    u32s(s, &c.type_id)?;
    u32s(s, &c.size)?;
    u32s(s, &c.refcount)?;
    flags(s, &c.flags)?;
    label_ids(s, &c.label)?;
    s.end()?;
    let (start, to, label) = heap.out_csr();
    s.begin(EDGES)?;
    edge_rows(s, start, to)?;
    edge_labels(s, label)?;
    s.end()?;
    write_tail(s, heap.roots())
}

/// The file from a streamed capture: its parts, and its node rows and edges
/// already encoded (in a spill file, copied over a chunk at a time).
fn write_encoded(parts: BuiltParts, nodes: NodeEncoder, edges: EdgeEncoder, s: &mut dyn SectionSink) -> Result<(), SnapshotError> {
    let BuiltParts { meta, types, labels, edge_names, roots, .. } = parts;
    write_head(s, &meta, &types, &labels, &edge_names)?;
    drop(labels);
    s.begin(NODES)?;
    put_varint(s.buf(), nodes.len() as u64);
    for column in &nodes.columns {
        copy_stream(s, column)?;
    }
    s.end()?;
    drop(nodes);
    s.begin(EDGES)?;
    put_varint(s.buf(), edges.len());
    for column in [&edges.degrees, &edges.targets, &edges.labels] {
        copy_stream(s, column)?;
    }
    s.end()?;
    write_tail(s, &roots)
}

/// Appends a stream's bytes to the open section.
fn copy_stream(s: &mut dyn SectionSink, column: &Stream) -> Result<(), SnapshotError> {
    let mut spilled = Ok(());
    let copied = column.for_each_chunk(|chunk| {
        s.buf().extend_from_slice(chunk);
        spilled = s.spill();
        spilled.as_ref().map_err(|_| std::io::Error::other("snapshot not written")).copied()
    });
    spilled?;
    copied.map_err(|e| SnapshotError::Write {
        file: "(stream)".into(),
        error: std::io::Error::other(format!("reading the temporary spill file: {e}")),
    })
}

/// The same file from a capture's own parts, each column freed once written.
fn write_owned(parts: BuiltParts, s: &mut dyn SectionSink) -> Result<(), SnapshotError> {
    let BuiltParts { meta, nodes, types, labels, edge_names, csr, roots } = parts;
    write_head(s, &meta, &types, &labels, &edge_names)?;
    drop(labels);
    s.begin(NODES)?;
    put_varint(s.buf(), nodes.len() as u64);
    let crate::graph::NodeColumns { addr, type_id, size, refcount, flags: node_flags, label } = nodes;
    addrs(s, &addr)?;
    drop(addr);
    for column in [type_id, size, refcount] {
        u32s(s, &column)?;
    }
    flags(s, &node_flags)?;
    drop(node_flags);
    label_ids(s, &label)?;
    drop(label);
    write_edges_owned(csr, roots, s)
}

/// Ends the NODE section, then writes the edges (freed as written) and the rest.
fn write_edges_owned(csr: crate::graph::Csr, roots: Vec<Root>, s: &mut dyn SectionSink) -> Result<(), SnapshotError> {
    s.end()?;
    s.begin(EDGES)?;
    let crate::graph::Csr { start, to, label } = csr;
    edge_rows(s, &start, &to)?;
    drop((start, to));
    edge_labels(s, &label)?;
    drop(label);
    s.end()?;
    write_tail(s, &roots)
}

fn write_head(
    s: &mut dyn SectionSink,
    meta: &Meta,
    types: &[String],
    labels: &StrPool,
    edge_names: &[String],
) -> Result<(), SnapshotError> {
    s.start()?;
    let meta = serde_json::to_vec(meta).map_err(|e| SnapshotError::Corrupt {
        file: "(stream)".into(),
        offset: 0,
        what: format!("metadata cannot be written: {e}"),
    })?;
    s.section(META, &meta)?;
    s.section(TYPES, &strings(types))?;
    // The label pool holds each text once: small next to the columns.
    let mut labl = vec![LABELS_LZ4];
    labl.extend(lz4_flex::compress_prepend_size(&label_pool(labels)));
    s.section(LABELS, &labl)?;
    s.section(EDGE_NAMES, &strings(edge_names))
}

fn write_tail(s: &mut dyn SectionSink, roots: &[Root]) -> Result<(), SnapshotError> {
    s.section(ROOTS, &roots_payload(roots))?;
    s.section(END, &[])
}

fn strings(list: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    put_varint(&mut b, list.len() as u64);
    for s in list {
        put_str(&mut b, s);
    }
    b
}

fn label_pool(labels: &StrPool) -> Vec<u8> {
    let (bytes, ends) = labels.parts();
    let mut b = Vec::with_capacity(bytes.len() + ends.len() * 2 + 16);
    put_varint(&mut b, ends.len() as u64);
    let mut prev = 0u32;
    for &e in ends {
        put_varint(&mut b, u64::from(e - prev));
        prev = e;
    }
    put_str(&mut b, bytes);
    b
}

fn addrs(s: &mut dyn SectionSink, addr: &[u64]) -> Result<(), SnapshotError> {
    let mut prev = 0u64;
    for &a in addr {
        put_varint(s.buf(), zigzag(a.wrapping_sub(prev) as i64));
        prev = a;
        full(s)?;
    }
    Ok(())
}

fn u32s(s: &mut dyn SectionSink, column: &[u32]) -> Result<(), SnapshotError> {
    for &v in column {
        put_varint(s.buf(), u64::from(v));
        full(s)?;
    }
    Ok(())
}

fn flags(s: &mut dyn SectionSink, column: &[u8]) -> Result<(), SnapshotError> {
    for chunk in column.chunks(CHUNK) {
        s.buf().extend_from_slice(chunk);
        full(s)?;
    }
    Ok(())
}

fn label_ids(s: &mut dyn SectionSink, column: &[u32]) -> Result<(), SnapshotError> {
    // Label ids are mostly handed out in node order: store the step from
    // the last one seen, so a sequential id costs one byte.
    let mut last = 0i64;
    for &l in column {
        if l == 0 {
            put_varint(s.buf(), 0);
        } else {
            put_varint(s.buf(), zigzag(i64::from(l) - (last + 1)) + 1);
            last = i64::from(l);
        }
        full(s)?;
    }
    Ok(())
}

fn edge_rows(s: &mut dyn SectionSink, start: &[u32], to: &[u32]) -> Result<(), SnapshotError> {
    let n = start.len().saturating_sub(1);
    put_varint(s.buf(), to.len() as u64);
    for i in 0..n {
        put_varint(s.buf(), u64::from(start[i + 1] - start[i]));
        full(s)?;
    }
    for i in 0..n {
        // Targets as the step from the previous target of the same node
        // (the first from the node itself): referents cluster.
        let mut prev = i as i64;
        for &t in &to[start[i] as usize..start[i + 1] as usize] {
            put_varint(s.buf(), zigzag(i64::from(t) - prev));
            prev = i64::from(t);
        }
        full(s)?;
    }
    Ok(())
}

fn edge_labels(s: &mut dyn SectionSink, label: &[EdgeLabel]) -> Result<(), SnapshotError> {
    for l in label {
        put_varint(s.buf(), u64::from(l.to_bits().rotate_left(3)));
        full(s)?;
    }
    Ok(())
}

fn roots_payload(roots: &[Root]) -> Vec<u8> {
    let stored: Vec<_> = roots.iter().filter(|r| !matches!(r.kind, RootKind::HeldFromOutside { .. })).collect();
    let mut b = Vec::new();
    put_varint(&mut b, stored.len() as u64);
    for r in stored {
        put_varint(&mut b, r.node.index() as u64);
        match &r.kind {
            RootKind::Module { name } => {
                b.push(ROOT_MODULE);
                put_str(&mut b, name);
            }
            RootKind::Frame { thread, depth, function } => {
                b.push(ROOT_FRAME);
                put_varint(&mut b, *thread);
                put_varint(&mut b, u64::from(*depth));
                put_str(&mut b, function);
            }
            RootKind::Named { holder, surplus } => {
                b.push(ROOT_NAMED);
                put_str(&mut b, holder);
                put_varint(&mut b, u64::from(*surplus));
            }
            RootKind::HeldFromOutside { .. } => {}
        }
    }
    b
}
