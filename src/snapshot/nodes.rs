//! The NODE section encoded as a capture produces its rows: each column in
//! its own varint [`Stream`] (some 8 bytes an object instead of the 25 of
//! the node columns), in memory or spilled to a file in chunks, joined when
//! the section is written.

use std::sync::Arc;

use super::format::zigzag;
use super::spill::{Spill, Stream};

/// A capture's node rows, encoded column by column as they come.
#[derive(Default)]
pub struct NodeEncoder {
    len: usize,
    last_addr: Option<u64>,
    last_label: i64,
    /// Address, type id, size, reference count, flags, label id: the
    /// NODE section's columns in its order.
    pub(super) columns: [Stream; 6],
}

/// A node row out of address order: the rows must come as a capture meets
/// them, ascending.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node at address {0:#x} comes after address {1:#x}: nodes must be in increasing address order")]
pub struct NotAscending(pub u64, pub u64);

impl NodeEncoder {
    /// Rows kept in memory.
    pub fn new() -> NodeEncoder {
        NodeEncoder::default()
    }

    /// Rows written to `spill` a chunk at a time.
    pub fn spilled(spill: &Arc<Spill>) -> NodeEncoder {
        NodeEncoder { columns: std::array::from_fn(|_| Stream::spilled(spill)), ..NodeEncoder::default() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a row (sizes and counts saturate at `u32::MAX`, as the node
    /// columns store them); returns its index.
    pub fn push(&mut self, addr: u64, type_id: u32, size: u64, refcount: u64, flags: u8, label: u32) -> Result<usize, NotAscending> {
        let prev = match self.last_addr {
            Some(last) if addr <= last => return Err(NotAscending(addr, last)),
            Some(last) => last,
            None => 0,
        };
        let [a, t, s, r, f, l] = &mut self.columns;
        a.put_varint(zigzag(addr.wrapping_sub(prev) as i64));
        self.last_addr = Some(addr);
        t.put_varint(u64::from(type_id));
        s.put_varint(size.min(u64::from(u32::MAX)));
        r.put_varint(refcount.min(u64::from(u32::MAX)));
        f.buf.push(flags);
        if label == 0 {
            l.put_varint(0);
        } else {
            l.put_varint(zigzag(i64::from(label) - (self.last_label + 1)) + 1);
            self.last_label = i64::from(label);
        }
        for c in &mut self.columns {
            c.flush_if_full();
        }
        self.len += 1;
        Ok(self.len - 1)
    }

    /// Writes what remains to the spill file; the first write error, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.columns.iter_mut().try_for_each(Stream::finish)
    }
}
