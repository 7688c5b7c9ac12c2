//! Where refgraph's own memory comes from: the system allocator, except that
//! large blocks (4 MiB and up: edge arrays, node columns, indexes) are mapped
//! directly and marked for transparent huge pages.
//!
//! Why: a capture or a snapshot load fills a few hundred MB within a second
//! or two. With 4 KiB pages that is some 150 000 page faults on the 1000-call
//! seed heap, and on the virtual machines this project is measured on the
//! kernel's page clearing (`clear_page_erms`) was 40 % of the capture's time
//! (perf); with 2 MiB pages the same memory is faulted in 500 times fewer
//! steps. Where the kernel has huge pages switched off (`never`), the advice
//! is ignored and the blocks behave as ordinary anonymous mappings, which is
//! what the system allocator returns for blocks this size anyway.
//!
//! Python's own allocations are not affected: this allocator serves only the
//! Rust code compiled into refgraph.
//!
//! Who installs it: the binaries, not the library. The `refgraph` command
//! declares it as its `#[global_allocator]` in `src/main.rs`, and the Python
//! extension module (the cdylib built with `--features python`) in
//! `src/python/mod.rs` (when both are in one build, as with
//! `cargo build --features python`, the command takes the extension's, since
//! a program has one global allocator). The library itself declares none, so
//! a crate that links refgraph keeps whatever allocator it chose; it may
//! install this one the same way. (The tests below call it directly, whatever
//! allocator the test binary runs on.)
//!
//! [`Prefault`] moves the rest of that cost off the thread that holds the
//! GIL: another core asks the kernel to fault in a vector's unused capacity
//! before the capture's writer reaches it.

use std::alloc::{GlobalAlloc, Layout, System};

/// The allocator the `refgraph` command and the extension module install as
/// their global one (see the module docs).
pub struct Allocator;

/// Blocks from this size up are mapped directly.
const LARGE: usize = 4 << 20;
/// A huge page. Mapping lengths are rounded up to it, so that the kernel can
/// place (and align) the whole mapping on huge pages.
const HUGE_PAGE: usize = 2 << 20;
/// Mappings are page-aligned; larger alignments go to the system allocator.
const PAGE: usize = 4096;

fn is_large(size: usize, align: usize) -> bool {
    size >= LARGE && align <= PAGE
}

/// The length of the mapping that holds a block of `size` bytes; the same
/// for the same size, so that freeing unmaps exactly what was mapped.
fn mapped_len(size: usize) -> usize {
    size.div_ceil(HUGE_PAGE) * HUGE_PAGE
}

/// A private anonymous mapping for a block of `size` bytes, or null.
fn map(size: usize) -> *mut u8 {
    let len = mapped_len(size);
    // SAFETY: a new anonymous mapping overlaps nothing of ours.
    let p = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    if p == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    // Advice only: if it is refused the mapping still works, on small pages.
    // SAFETY: `p .. p + len` is the mapping just made.
    unsafe { libc::madvise(p, len, libc::MADV_HUGEPAGE) };
    p.cast()
}

/// # Safety
/// `p` came from [`map`] or [`remap`] for a block of `size` bytes, and is
/// used no more.
unsafe fn unmap(p: *mut u8, size: usize) {
    // SAFETY: the caller's contract: exactly the mapping made for `size`.
    unsafe { libc::munmap(p.cast(), mapped_len(size)) };
}

/// # Safety
/// `p` came from [`map`] or [`remap`] for a block of `old` bytes; on
/// success it is used no more (the block moves to the result).
unsafe fn remap(p: *mut u8, old: usize, new: usize) -> *mut u8 {
    let (old_len, new_len) = (mapped_len(old), mapped_len(new));
    if old_len == new_len {
        return p;
    }
    // The advice belongs to the mapping and moves with it.
    // SAFETY: the caller's contract: `p .. p + old_len` is one mapping of ours.
    let q = unsafe { libc::mremap(p.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
    if q == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    q.cast()
}

// SAFETY: every block is either the system allocator's (small or unusually
// aligned) or a private anonymous mapping of `mapped_len(size)` bytes, and
// which one is decided by the layout alone, which the caller passes back
// unchanged to `dealloc` and `realloc`. Mappings are page-aligned and
// zero-filled.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            map(layout.size())
        } else {
            // SAFETY: `GlobalAlloc::alloc`'s contract, passed on.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(layout.size(), layout.align()) {
            // Fresh anonymous mappings are zero-filled.
            map(layout.size())
        } else {
            // SAFETY: `GlobalAlloc::alloc_zeroed`'s contract, passed on.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if is_large(layout.size(), layout.align()) {
            // SAFETY: a large layout's block is a mapping made by `map`/`remap`.
            unsafe { unmap(p, layout.size()) }
        } else {
            // SAFETY: a small layout's block is the system allocator's.
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        match (is_large(layout.size(), align), is_large(new_size, align)) {
            // SAFETY: the system allocator's block, `realloc`'s contract passed on.
            (false, false) => unsafe { System.realloc(p, layout, new_size) },
            // SAFETY: a mapping of ours for `layout.size()` bytes.
            (true, true) => unsafe { remap(p, layout.size(), new_size) },
            _ => {
                // Crossing the threshold: a new block of the other kind.
                // SAFETY: `realloc`'s contract: `new_size`, rounded up to
                // `align`, does not overflow, and `align` is a valid alignment.
                let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, align) };
                // SAFETY: `new_layout` has a non-zero size (`realloc`'s contract).
                let q = unsafe { self.alloc(new_layout) };
                if !q.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least
                    // this long; `p` is then freed with the layout it came with.
                    unsafe {
                        std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                        self.dealloc(p, layout);
                    }
                }
                q
            }
        }
    }
}

/// Ranges of memory to fault in ahead of their writer, a step at a time, on
/// a core with nothing better to do.
///
/// The ranges are the columns of one table, which its writer fills row by
/// row, so they are kept at the same share done: the least done range takes
/// the next step. (Faulting in one column after another would leave the
/// writer to fault in the others itself.)
///
/// It uses `MADV_POPULATE_WRITE`, which faults pages in as a write would
/// but changes no byte, so it is sound while another thread writes the
/// same memory. Should a range be freed meanwhile (its vector grew and
/// moved), the kernel answers with an error and that range is dropped;
/// where the kernel is older than 5.14 every range stops at once. Either way
/// only time is lost, never data.
pub struct Prefault {
    ranges: Vec<Ahead>,
}

struct Ahead {
    start: usize,
    next: usize,
    end: usize,
}

impl Ahead {
    fn share_done(&self) -> f64 {
        if self.next >= self.end {
            return 1.0;
        }
        (self.next - self.start) as f64 / (self.end - self.start) as f64
    }
}

impl Prefault {
    /// Bytes faulted in per step: small enough that a step does not keep
    /// other work on the same core waiting long.
    const STEP: usize = 4 << 20;

    /// The ranges `(address, bytes)`, as [`spare_capacity`] gives them.
    ///
    /// [`spare_capacity`]: crate::graph::spare_capacity
    pub fn new(ranges: impl IntoIterator<Item = (usize, usize)>) -> Prefault {
        // madvise takes whole pages; the page holding `addr` may already
        // hold data, which populating leaves as it is.
        let ranges = ranges.into_iter().map(|(addr, len)| Ahead { start: addr & !(PAGE - 1), next: addr & !(PAGE - 1), end: addr + len });
        Prefault { ranges: ranges.collect() }
    }

    /// Faults in the next step; false once there is nothing left to do.
    pub fn step(&mut self) -> bool {
        self.step_to(1.0)
    }

    /// Faults in the next step of the least done range, unless every range
    /// already has `share` (0 to 1) of its bytes done; false if it did not.
    pub fn step_to(&mut self, share: f64) -> bool {
        let least = self.ranges.iter_mut().filter(|r| r.next < r.end).min_by(|a, b| a.share_done().total_cmp(&b.share_done()));
        let Some(r) = least.filter(|r| r.share_done() < share) else { return false };
        let len = Self::STEP.min(r.end - r.next).next_multiple_of(PAGE);
        // SAFETY: populating changes no memory contents (see the type's docs).
        let done = unsafe { libc::madvise(r.next as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) } == 0;
        r.next = if done { r.next + len } else { r.end };
        true
    }

    pub fn run(mut self) {
        while self.step() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block from [`Allocator`] itself: the test binary does not install
    /// it as its global allocator (only refgraph's binaries do), so a `Vec`
    /// here would not reach it.
    struct Block {
        p: *mut u8,
        layout: Layout,
    }

    impl Block {
        fn new(size: usize, align: usize, zeroed: bool) -> Block {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: the layout has a non-zero size.
            let p = unsafe {
                if zeroed {
                    Allocator.alloc_zeroed(layout)
                } else {
                    Allocator.alloc(layout)
                }
            };
            assert!(!p.is_null(), "out of memory for {size} bytes");
            Block { p, layout }
        }

        fn bytes(&mut self) -> &mut [u8] {
            // SAFETY: `p` holds `layout.size()` bytes, initialised by
            // alloc_zeroed or by `fill` before they are read.
            unsafe { std::slice::from_raw_parts_mut(self.p, self.layout.size()) }
        }

        /// Every byte set to a pattern that no byte of a zeroed block has.
        fn fill(&mut self) {
            for (i, b) in self.bytes().iter_mut().enumerate() {
                *b = (i % 251) as u8 | 1;
            }
        }

        fn realloc(&mut self, new_size: usize) {
            // SAFETY: `p` came from Allocator with `layout`.
            let q = unsafe { Allocator.realloc(self.p, self.layout, new_size) };
            assert!(!q.is_null(), "out of memory for {new_size} bytes");
            self.p = q;
            self.layout = Layout::from_size_align(new_size, self.layout.align()).unwrap();
        }
    }

    impl Drop for Block {
        fn drop(&mut self) {
            // SAFETY: `p` came from Allocator with `layout`.
            unsafe { Allocator.dealloc(self.p, self.layout) }
        }
    }

    fn is_pattern(bytes: &[u8]) -> bool {
        bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8 | 1)
    }

    #[test]
    fn blocks_cross_the_threshold_both_ways_and_keep_their_bytes() {
        let small = LARGE / 2;
        let mut b = Block::new(small, 8, false);
        b.fill();
        b.realloc(2 * LARGE); // grows past the threshold: system -> mapping
        assert!(is_pattern(&b.bytes()[..small]));
        assert_eq!(b.p as usize % PAGE, 0, "a mapping is page-aligned");
        b.fill();
        b.realloc(LARGE + 1); // mapping -> smaller mapping (mremap)
        b.realloc(5 * LARGE); // mapping -> larger mapping (mremap)
        assert!(is_pattern(&b.bytes()[..LARGE + 1]));
        b.realloc(10); // mapping -> system
        assert!(is_pattern(b.bytes()));
    }

    #[test]
    fn prefaulting_keeps_what_was_written() {
        let mut v: Vec<u8> = Vec::with_capacity(3 * LARGE + 5);
        v.extend((0..LARGE + 3).map(|i| i as u8));
        let before = v.clone();
        Prefault::new([crate::graph::spare_capacity(&v)]).run();
        assert_eq!(v, before);
        v.resize(v.capacity(), 7);
        assert!(v[LARGE + 3..].iter().all(|&b| b == 7));
    }

    /// A block asked for zeroed is zero even where a block of the same
    /// layout was just written and freed.
    ///
    /// Memory that is only ever allocated zeroed proves nothing: a fresh
    /// anonymous mapping is zero whatever `alloc_zeroed` does, so the test
    /// this replaces (`vec![0u64; LARGE]`) passed with `alloc` in place of
    /// `alloc_zeroed`. Here each layout is first allocated, dirtied and freed,
    /// so that an allocator that hands blocks back for reuse returns the
    /// dirty bytes unless it clears them. The system allocator does reuse
    /// small blocks (glibc's tcache: this test fails if the small path calls
    /// `System.alloc`), and for large blocks it guards the mapping path
    /// against a future cache of freed mappings that forgets to clear them.
    #[test]
    fn zeroed_blocks_are_zero_where_a_dirty_block_was_just_freed() {
        let layouts = [
            (24, 8),           // system, small: reused from glibc's tcache
            (4096, 4096),      // system, aligned
            (LARGE / 2, 8),    // system, below the threshold
            (LARGE, 8),        // mapping
            (LARGE + 1, 8),    // mapping, rounded up to a huge page
            (LARGE, 2 * PAGE), // system: too aligned to map
        ];
        for (size, align) in layouts {
            for _ in 0..3 {
                let mut dirty = Block::new(size, align, false);
                dirty.fill();
                drop(dirty);
                let mut zeroed = Block::new(size, align, true);
                let nonzero = zeroed.bytes().iter().filter(|&&b| b != 0).count();
                assert_eq!(nonzero, 0, "{nonzero} of {size} bytes (align {align}) not zeroed");
            }
        }
    }
}
