//! The byte-level pieces of the `.rgs` format shared by the reader and the
//! writer: magic, version, section tags, and LEB128 varints. The layout is
//! documented in `docs/snapshot-format.md`.

/// First bytes of every snapshot. The high byte and the CR LF / ^Z / LF
/// sequence catch files mangled by text-mode transfers, as PNG's magic does.
pub const MAGIC: [u8; 8] = *b"\x89RGS\r\n\x1a\n";

/// The format version this build writes and reads. Version 2 added a
/// checksum to every section header; version 1 files have none and are
/// refused with a message saying so.
pub const VERSION: u32 = 2;

pub const META: [u8; 4] = *b"META";
pub const TYPES: [u8; 4] = *b"TYPE";
pub const LABELS: [u8; 4] = *b"LABL";
pub const EDGE_NAMES: [u8; 4] = *b"ENAM";
pub const NODES: [u8; 4] = *b"NODE";
pub const EDGES: [u8; 4] = *b"EDGE";
pub const ROOTS: [u8; 4] = *b"ROOT";
pub const END: [u8; 4] = *b"END.";

/// How the LABL payload is stored: as it is (what the pure-Python collector
/// writes), or LZ4-compressed with its raw size in front (label text is half
/// of a snapshot and compresses several times over).
pub const LABELS_RAW: u8 = 0;
pub const LABELS_LZ4: u8 = 1;

/// Root kinds as stored (held-from-outside roots are recomputed on load).
pub const ROOT_MODULE: u8 = 1;
pub const ROOT_FRAME: u8 = 2;
pub const ROOT_NAMED: u8 = 3;

/// The checksum stored in a section header: CRC-32 (the polynomial of zlib,
/// gzip and PNG, so that a writer in any language has it at hand) over the
/// tag, the length as 8 little-endian bytes, then the payload.
pub fn section_checksum(tag: [u8; 4], payload: &[u8]) -> u32 {
    let mut h = SectionHasher::new(tag, payload.len() as u64);
    h.update(payload);
    h.finish()
}

/// The section checksum, computed as the payload streams past.
pub struct SectionHasher(crc32fast::Hasher);

impl SectionHasher {
    pub fn new(tag: [u8; 4], len: u64) -> SectionHasher {
        let mut h = crc32fast::Hasher::new();
        h.update(&tag);
        h.update(&len.to_le_bytes());
        SectionHasher(h)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub fn finish(self) -> u32 {
        self.0.finalize()
    }
}

/// Appends `v` as an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
