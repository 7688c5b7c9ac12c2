//! Writes a [`Heap`] as an `.rgs` snapshot. Big columns are varint and delta
//! encoded, which keeps a realistic heap near 10 bytes per edge; held-from-
//! outside roots are not stored because the reader recomputes them.

use std::io::Write;
use std::path::Path;

use super::format::*;
use super::SnapshotError;
use crate::graph::{Heap, RootKind};

/// Writes `heap` to `path` atomically: the file appears whole or not at all,
/// readable by its owner only (0600: it holds the heap's strings).
pub fn write_snapshot(heap: &Heap, path: &Path) -> Result<(), SnapshotError> {
    let mut failure = None;
    let written = crate::atomic::write_file_as(path, crate::atomic::Access::Private, |w| {
        write_snapshot_to(heap, w).map_err(|e| {
            failure = Some(e.with_file(path));
            std::io::Error::other("snapshot not written")
        })
    });
    match (written, failure) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(source), None) => Err(SnapshotError::Io { file: path.display().to_string(), source }),
    }
}

/// Writes `heap` in the `.rgs` format to any writer.
pub fn write_snapshot_to(heap: &Heap, out: &mut dyn Write) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io { file: "(stream)".into(), source };
    out.write_all(&MAGIC).map_err(io)?;
    out.write_all(&VERSION.to_le_bytes()).map_err(io)?;
    let meta = serde_json::to_vec(&heap.meta).map_err(|e| SnapshotError::Corrupt {
        file: "(stream)".into(),
        offset: 0,
        what: format!("metadata cannot be written: {e}"),
    })?;
    section(out, META, &meta)?;
    section(out, TYPES, &strings(heap.type_names()))?;
    let mut labl = vec![LABELS_LZ4];
    labl.extend(lz4_flex::compress_prepend_size(&labels(heap)));
    section(out, LABELS, &labl)?;
    section(out, EDGE_NAMES, &strings(heap.edge_names()))?;
    section(out, NODES, &nodes(heap))?;
    section(out, EDGES, &edges(heap))?;
    section(out, ROOTS, &roots(heap))?;
    section(out, END, &[])?;
    Ok(())
}

fn section(out: &mut dyn Write, tag: [u8; 4], payload: &[u8]) -> Result<(), SnapshotError> {
    let io = |source| SnapshotError::Io { file: "(stream)".into(), source };
    out.write_all(&tag).map_err(io)?;
    out.write_all(&(payload.len() as u64).to_le_bytes()).map_err(io)?;
    out.write_all(payload).map_err(io)
}

fn strings(list: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    put_varint(&mut b, list.len() as u64);
    for s in list {
        put_str(&mut b, s);
    }
    b
}

fn labels(heap: &Heap) -> Vec<u8> {
    let (bytes, ends) = heap.labels().parts();
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

fn nodes(heap: &Heap) -> Vec<u8> {
    let c = heap.columns();
    let n = c.len();
    let mut b = Vec::with_capacity(n * 10);
    put_varint(&mut b, n as u64);
    let mut prev = 0u64;
    for &a in &c.addr {
        put_varint(&mut b, zigzag(a.wrapping_sub(prev) as i64));
        prev = a;
    }
    for &t in &c.type_id {
        put_varint(&mut b, u64::from(t));
    }
    for &s in &c.size {
        put_varint(&mut b, u64::from(s));
    }
    for &r in &c.refcount {
        put_varint(&mut b, u64::from(r));
    }
    b.extend_from_slice(&c.flags);
    // Label ids are mostly handed out in node order: store the step from
    // the last one seen, so a sequential id costs one byte.
    let mut last = 0i64;
    for &l in &c.label {
        if l == 0 {
            put_varint(&mut b, 0);
        } else {
            put_varint(&mut b, zigzag(i64::from(l) - (last + 1)) + 1);
            last = i64::from(l);
        }
    }
    b
}

fn edges(heap: &Heap) -> Vec<u8> {
    let (start, to, label) = heap.out_csr();
    let n = start.len().saturating_sub(1);
    let mut b = Vec::with_capacity(to.len() * 5 + n);
    put_varint(&mut b, to.len() as u64);
    for i in 0..n {
        put_varint(&mut b, u64::from(start[i + 1] - start[i]));
    }
    for i in 0..n {
        // Targets as the step from the previous target of the same node
        // (the first from the node itself): referents cluster.
        let mut prev = i as i64;
        for &t in &to[start[i] as usize..start[i + 1] as usize] {
            put_varint(&mut b, zigzag(i64::from(t) - prev));
            prev = i64::from(t);
        }
    }
    for l in label {
        put_varint(&mut b, u64::from(l.to_bits().rotate_left(3)));
    }
    b
}

fn roots(heap: &Heap) -> Vec<u8> {
    let stored: Vec<_> = heap.roots().iter().filter(|r| !matches!(r.kind, RootKind::HeldFromOutside { .. })).collect();
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
