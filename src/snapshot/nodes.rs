//! The NODE section encoded as a capture produces its rows: each column in
//! its own varint buffer (some 8 bytes an object instead of the 25 of the
//! node columns), joined when the section is written.

use super::format::{put_varint, zigzag};

/// A capture's node rows, encoded column by column as they come.
#[derive(Default)]
pub struct NodeEncoder {
    len: usize,
    last_addr: Option<u64>,
    last_label: i64,
    pub(super) addr: Vec<u8>,
    pub(super) type_id: Vec<u8>,
    pub(super) size: Vec<u8>,
    pub(super) refcount: Vec<u8>,
    pub(super) flags: Vec<u8>,
    pub(super) label: Vec<u8>,
}

/// A node row out of address order: the rows must come as a capture meets
/// them, ascending.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node at address {0:#x} comes after address {1:#x}: nodes must be in increasing address order")]
pub struct NotAscending(pub u64, pub u64);

impl NodeEncoder {
    pub fn new() -> NodeEncoder {
        NodeEncoder::default()
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
        put_varint(&mut self.addr, zigzag(addr.wrapping_sub(prev) as i64));
        self.last_addr = Some(addr);
        put_varint(&mut self.type_id, u64::from(type_id));
        put_varint(&mut self.size, size.min(u64::from(u32::MAX)));
        put_varint(&mut self.refcount, refcount.min(u64::from(u32::MAX)));
        self.flags.push(flags);
        if label == 0 {
            put_varint(&mut self.label, 0);
        } else {
            put_varint(&mut self.label, zigzag(i64::from(label) - (self.last_label + 1)) + 1);
            self.last_label = i64::from(label);
        }
        self.len += 1;
        Ok(self.len - 1)
    }
}
