//! Fake memory for the tests of this module: zeroed, 8-aligned blocks that
//! the test owns and fills without `unsafe`, which the code under test then
//! reads through [`mem`](super::mem) at their real addresses, as it would
//! read the interpreter's.

pub(crate) struct Fake {
    blocks: Vec<Box<[u64]>>,
}

impl Fake {
    pub(crate) fn new() -> Fake {
        Fake { blocks: Vec::new() }
    }

    /// A zeroed block of at least `bytes` bytes; its address. Blocks never
    /// move (each is its own allocation) and live as long as the `Fake`.
    pub(crate) fn alloc(&mut self, bytes: usize) -> usize {
        let b = vec![0u64; bytes.div_ceil(8).max(1)].into_boxed_slice();
        let addr = b.as_ptr() as usize;
        self.blocks.push(b);
        addr
    }

    /// Writes `bytes` at `addr`, which must lie inside one block.
    pub(crate) fn put(&mut self, addr: usize, bytes: &[u8]) {
        let block = self
            .blocks
            .iter_mut()
            .find(|b| {
                let start = b.as_ptr() as usize;
                addr >= start && addr + bytes.len() <= start + b.len() * 8
            })
            .unwrap_or_else(|| panic!("{addr:#x} (+{}) is in no fake block", bytes.len()));
        let start = block.as_ptr() as usize;
        for (i, &byte) in bytes.iter().enumerate() {
            let at = addr - start + i;
            let mut word = block[at / 8].to_ne_bytes();
            word[at % 8] = byte;
            block[at / 8] = u64::from_ne_bytes(word);
        }
    }

    pub(crate) fn put_usize(&mut self, addr: usize, v: usize) {
        self.put(addr, &v.to_ne_bytes());
    }

    pub(crate) fn put_isize(&mut self, addr: usize, v: isize) {
        self.put(addr, &v.to_ne_bytes());
    }

    pub(crate) fn put_u64(&mut self, addr: usize, v: u64) {
        self.put(addr, &v.to_ne_bytes());
    }

    pub(crate) fn put_i32(&mut self, addr: usize, v: i32) {
        self.put(addr, &v.to_ne_bytes());
    }

    pub(crate) fn put_u8(&mut self, addr: usize, v: u8) {
        self.put(addr, &[v]);
    }

    /// A NUL-terminated copy of `s`; its address.
    pub(crate) fn cstr(&mut self, s: &str) -> usize {
        let at = self.alloc(s.len() + 1);
        self.put(at, s.as_bytes());
        at
    }

    /// An object of `bytes` bytes whose `ob_type` is `ty`.
    pub(crate) fn object(&mut self, bytes: usize, ty: usize) -> usize {
        let o = self.alloc(bytes.max(16));
        self.put_usize(o + super::objects::OB_TYPE, ty);
        o
    }
}
