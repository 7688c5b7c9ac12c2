//! Spill files: where a streamed capture puts its big columns (edge labels
//! and targets, node rows) while it builds them, so that its memory stays a
//! few chunks rather than the columns themselves.
//!
//! A [`Spill`] is one private file without a name (0600; on Linux an
//! `O_TMPFILE`, elsewhere unlinked as soon as made), so nothing is left
//! behind on any path, a crash included. Many [`Stream`]s share it, from
//! more than one thread: each appends whole chunks at a place it reserves,
//! and remembers where its chunks went, to read them back in order.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::format::put_varint;

/// Bytes a stream gathers before they go to the file: small next to the
/// columns, large enough that a write costs little. (Tests use small chunks,
/// so that small heaps straddle many.)
pub const CHUNK: usize = if cfg!(test) { 1 << 10 } else { 1 << 20 };

/// A private temporary file that streams append chunks to.
pub struct Spill {
    file: std::fs::File,
    end: AtomicU64,
}

impl Spill {
    /// A spill file in `dir` (the folder of the file being written: the same
    /// disk), or in the temporary folder if none can be made there.
    pub fn in_folder(dir: &Path) -> io::Result<Arc<Spill>> {
        let file = match tempfile::tempfile_in(dir) {
            Ok(f) => f,
            Err(first) => tempfile::tempfile().map_err(|_| first)?,
        };
        Ok(Arc::new(Spill { file, end: AtomicU64::new(0) }))
    }

    /// Appends `bytes` at a place of their own; returns where.
    fn append(&self, bytes: &[u8]) -> io::Result<u64> {
        let at = self.end.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.file.write_all_at(bytes, at)?;
        Ok(at)
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.end.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A column of bytes: in memory, or with a spill file, in chunks written
/// there as they fill. A write error is kept and reported by
/// [`Stream::finish`] (the capture that fills the column cannot stop at
/// every byte to ask). A clone shares the spill file and reads the same
/// chunks.
#[derive(Clone, Default)]
pub struct Stream {
    spill: Option<Arc<Spill>>,
    /// `(offset, length)` of each chunk written to the spill file.
    chunks: Vec<(u64, u32)>,
    /// What has not gone to the file (with no spill file: everything).
    pub buf: Vec<u8>,
    len: u64,
    error: Option<io::ErrorKind>,
}

impl Stream {
    /// A stream in memory.
    pub fn new() -> Stream {
        Stream::default()
    }

    /// A stream that spills to `spill`.
    pub fn spilled(spill: &Arc<Spill>) -> Stream {
        Stream { spill: Some(spill.clone()), buf: Vec::with_capacity(CHUNK + 64), ..Stream::default() }
    }

    /// Total bytes, written or not.
    pub fn len(&self) -> u64 {
        self.len + self.buf.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn put_varint(&mut self, v: u64) {
        put_varint(&mut self.buf, v);
    }

    pub fn put_u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Writes the gathered bytes to the spill file once they make a chunk.
    #[inline]
    pub fn flush_if_full(&mut self) {
        if self.buf.len() >= CHUNK && self.spill.is_some() {
            self.flush();
        }
    }

    /// Writes the gathered bytes to the spill file, if there is one.
    pub fn flush(&mut self) {
        let Some(spill) = &self.spill else { return };
        if self.buf.is_empty() || self.error.is_some() {
            self.buf.clear();
            return;
        }
        match spill.append(&self.buf) {
            Ok(at) => {
                self.chunks.push((at, self.buf.len() as u32));
                self.len += self.buf.len() as u64;
            }
            Err(e) => self.error = Some(e.kind()),
        }
        self.buf.clear();
    }

    /// Writes what remains and reports the first write error, if any.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush();
        if self.spill.is_some() {
            self.buf = Vec::new();
        }
        match self.error {
            Some(kind) => Err(io::Error::new(kind, "the temporary spill file could not be written")),
            None => Ok(()),
        }
    }

    /// Hands every byte over in order, a chunk at a time.
    pub fn for_each_chunk(&self, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let mut chunk = Vec::new();
        for &(at, len) in &self.chunks {
            chunk.resize(len as usize, 0);
            self.read_at(&mut chunk, at)?;
            f(&chunk)?;
        }
        if !self.buf.is_empty() {
            f(&self.buf)?;
        }
        Ok(())
    }

    fn read_at(&self, into: &mut [u8], at: u64) -> io::Result<()> {
        match &self.spill {
            Some(s) => s.file.read_exact_at(into, at),
            None => Err(io::Error::other("a stream without a spill file has no chunks")),
        }
    }

    /// Reads the bytes back in order.
    pub fn reader(&self) -> Reader<'_> {
        Reader { stream: self, next_chunk: 0, chunk: Vec::new(), pos: 0, in_buf: false, error: None }
    }
}

/// Reads a [`Stream`]'s bytes back in order, as varints or `u32`s. Past the
/// end (or on a read error, kept for [`Reader::error`]) it reads zeros.
pub struct Reader<'a> {
    stream: &'a Stream,
    next_chunk: usize,
    chunk: Vec<u8>,
    pos: usize,
    /// Reading the stream's unwritten bytes, after every chunk.
    in_buf: bool,
    error: Option<io::Error>,
}

impl Reader<'_> {
    fn bytes(&self) -> &[u8] {
        if self.in_buf {
            &self.stream.buf
        } else {
            &self.chunk
        }
    }

    /// Loads the next chunk; false at the end.
    #[cold]
    fn refill(&mut self) -> bool {
        self.pos = 0;
        if let Some(&(at, len)) = self.stream.chunks.get(self.next_chunk) {
            self.next_chunk += 1;
            self.chunk.resize(len as usize, 0);
            if let Err(e) = self.stream.read_at(&mut self.chunk, at) {
                self.error.get_or_insert(e);
                return false;
            }
            return true;
        }
        if !self.in_buf {
            self.in_buf = true;
            self.chunk = Vec::new();
            return !self.stream.buf.is_empty();
        }
        false
    }

    #[inline]
    pub fn byte(&mut self) -> u8 {
        if self.pos >= self.bytes().len() && !self.refill() {
            return 0;
        }
        let b = self.bytes()[self.pos];
        self.pos += 1;
        b
    }

    #[inline]
    pub fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte();
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    #[inline]
    pub fn u32(&mut self) -> u32 {
        if self.pos + 4 <= self.bytes().len() {
            let at = self.pos;
            self.pos += 4;
            let b = &self.bytes()[at..at + 4];
            return u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// The first read error met, if any.
    pub fn error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_written_from_two_threads_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::in_folder(dir.path()).unwrap();
        let fill = |base: u32| {
            let mut s = Stream::spilled(&spill);
            for v in 0..7_000u32 {
                s.put_u32(base + v);
                s.put_varint(u64::from(v) * 300);
                s.flush_if_full();
            }
            s
        };
        let (mut a, mut b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| fill(0));
            let b = scope.spawn(|| fill(1 << 30));
            (a.join().unwrap(), b.join().unwrap())
        });
        // The tails stay in memory until finished; both ways read the same.
        for (s, base) in [(&mut a, 0u32), (&mut b, 1 << 30)] {
            for finished in [false, true] {
                if finished {
                    s.finish().unwrap();
                }
                let mut r = s.reader();
                for v in 0..7_000u32 {
                    assert_eq!(r.u32(), base + v);
                    assert_eq!(r.varint(), u64::from(v) * 300);
                }
                assert!(r.error().is_none());
            }
        }
        assert!(a.chunks.len() > 2, "nothing was spilled");
        // Nothing named is left in the folder: the file never had a name.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut whole = Vec::new();
        a.for_each_chunk(|c| {
            whole.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(whole.len() as u64, a.len());
        assert_eq!(&whole[..8], &[0, 0, 0, 0, 0, 1, 0, 0][..]);
    }

    #[test]
    fn a_stream_in_memory_reads_back() {
        let mut s = Stream::new();
        for v in [0u64, 1, 127, 128, u64::MAX] {
            s.put_varint(v);
        }
        s.flush_if_full();
        let mut r = s.reader();
        for v in [0u64, 1, 127, 128, u64::MAX] {
            assert_eq!(r.varint(), v);
        }
        assert_eq!(r.varint(), 0, "past the end reads zeros");
    }
}
