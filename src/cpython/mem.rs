//! Reads this process's own memory so that a wrong address is an error, not
//! a crash.
//!
//! Owns: every read of an address that has not been proven to point at what
//! the layout says. The kernel copies the bytes (`process_vm_readv` on our own
//! pid, which checks every page), so an unmapped or unreadable address comes
//! back as [`MemError`] where a plain dereference would be SIGSEGV. Where that
//! system call is refused (EPERM under some seccomp/ptrace policies, ENOSYS on
//! old or emulated kernels) it falls back to reading `/proc/self/mem`, once
//! and for all: the choice is remembered.
//!
//! Must never: dereference a raw pointer itself, write anything, call Python
//! or allocate Python objects. The values read are a snapshot: another thread
//! may change the memory right after, so callers check what they read
//! (types, counts, ranges) before they believe it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use super::LayoutError;

/// Why memory could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    /// Some byte of `addr .. addr + len` is not mapped readable (or the range wraps).
    #[error("{len} bytes at {addr:#x} are not readable")]
    Unreadable { addr: usize, len: usize },
    /// [`read_cstr`] found no NUL in the first `max` bytes.
    #[error("no NUL within {max} bytes of {addr:#x}")]
    Unterminated { addr: usize, max: usize },
}

const UNTRIED: u8 = 0;
const VM_READV: u8 = 1;
const PROC_MEM: u8 = 2;

/// Which mechanism works in this process (decided by the first read).
static BACKEND: AtomicU8 = AtomicU8::new(UNTRIED);

/// Copies `buf.len()` bytes from `addr` into `buf`, all or nothing.
pub fn read_bytes(addr: usize, buf: &mut [u8]) -> Result<(), MemError> {
    if buf.is_empty() {
        return Ok(());
    }
    let err = MemError::Unreadable { addr, len: buf.len() };
    // The first page is never mapped; a wrapping range is never valid.
    if addr < 4096 || addr.checked_add(buf.len()).is_none() {
        return Err(err);
    }
    match BACKEND.load(Ordering::Relaxed) {
        PROC_MEM => proc_mem_read(addr, buf).then_some(()).ok_or(err),
        backend => match vm_read(addr, buf) {
            VmRead::Done => {
                if backend == UNTRIED {
                    BACKEND.store(VM_READV, Ordering::Relaxed);
                }
                Ok(())
            }
            VmRead::Fault => Err(err),
            VmRead::Refused => {
                // The call itself is unavailable, not the address: switch for good.
                BACKEND.store(PROC_MEM, Ordering::Relaxed);
                proc_mem_read(addr, buf).then_some(()).ok_or(err)
            }
        },
    }
}

enum VmRead {
    Done,
    /// A bad address (EFAULT), or a read cut short by an unmapped page.
    Fault,
    /// EPERM / ENOSYS: the system call cannot be used in this process.
    Refused,
}

fn vm_read(addr: usize, buf: &mut [u8]) -> VmRead {
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: `local` describes `buf`, which we own mutably for the call; the
    // remote range is only read, by the kernel, which validates it.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n == buf.len() as isize {
        return VmRead::Done;
    }
    if n < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if errno == libc::EPERM || errno == libc::ENOSYS {
            return VmRead::Refused;
        }
    }
    VmRead::Fault
}

fn proc_mem() -> Option<&'static File> {
    static FILE: OnceLock<Option<File>> = OnceLock::new();
    FILE.get_or_init(|| File::open("/proc/self/mem").ok()).as_ref()
}

fn proc_mem_read(addr: usize, buf: &mut [u8]) -> bool {
    // pread on /proc/self/mem: EIO for an unmapped page, never a signal.
    proc_mem().is_some_and(|f| f.read_exact_at(buf, addr as u64).is_ok())
}

/// Reads with `/proc/self/mem` only (tests of the fallback path).
#[cfg(test)]
fn read_bytes_proc(addr: usize, buf: &mut [u8]) -> Result<(), MemError> {
    if addr < 4096 {
        return Err(MemError::Unreadable { addr, len: buf.len() });
    }
    proc_mem_read(addr, buf).then_some(()).ok_or(MemError::Unreadable { addr, len: buf.len() })
}

fn read_array<const N: usize>(addr: usize) -> Result<[u8; N], MemError> {
    let mut b = [0u8; N];
    read_bytes(addr, &mut b)?;
    Ok(b)
}

pub fn read_usize(addr: usize) -> Result<usize, MemError> {
    read_array(addr).map(usize::from_ne_bytes)
}

pub fn read_isize(addr: usize) -> Result<isize, MemError> {
    read_array(addr).map(isize::from_ne_bytes)
}

pub fn read_u64(addr: usize) -> Result<u64, MemError> {
    read_array(addr).map(u64::from_ne_bytes)
}

pub fn read_i32(addr: usize) -> Result<i32, MemError> {
    read_array(addr).map(i32::from_ne_bytes)
}

pub fn read_u32(addr: usize) -> Result<u32, MemError> {
    read_array(addr).map(u32::from_ne_bytes)
}

pub fn read_u16(addr: usize) -> Result<u16, MemError> {
    read_array(addr).map(u16::from_ne_bytes)
}

pub fn read_u8(addr: usize) -> Result<u8, MemError> {
    read_array::<1>(addr).map(|b| b[0])
}

/// `n` consecutive pointer-sized words, in one read.
pub fn read_words(addr: usize, n: usize) -> Result<Vec<usize>, MemError> {
    let len = n.checked_mul(8).ok_or(MemError::Unreadable { addr, len: usize::MAX })?;
    let mut b = vec![0u8; len];
    read_bytes(addr, &mut b)?;
    Ok(b.chunks_exact(8).map(|c| usize::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect())
}

/// The bytes of the NUL-terminated string at `addr` (without the NUL), at most
/// `max` of them. Reads page by page, so a string that ends just before an
/// unmapped page is still read.
pub fn read_cstr(addr: usize, max: usize) -> Result<Vec<u8>, MemError> {
    const PAGE: usize = 4096;
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        let to_page_end = PAGE - at % PAGE;
        let chunk = to_page_end.min(max - out.len()).min(256);
        let mut b = vec![0u8; chunk];
        read_bytes(at, &mut b)?;
        if let Some(nul) = b.iter().position(|&c| c == 0) {
            out.extend_from_slice(&b[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&b);
        at = at.checked_add(chunk).ok_or(MemError::Unreadable { addr: at, len: chunk })?;
    }
    Err(MemError::Unterminated { addr, max })
}

// The same reads, as layout errors that say what was being read. Everything
// else in `cpython` uses these.

fn named<T>(r: Result<T, MemError>, addr: usize, what: &'static str) -> Result<T, LayoutError> {
    r.map_err(|_| LayoutError::Unreadable { what, addr })
}

/// A pointer-sized word.
pub fn word(addr: usize, what: &'static str) -> Result<usize, LayoutError> {
    named(read_usize(addr), addr, what)
}

pub fn i32_at(addr: usize, what: &'static str) -> Result<i32, LayoutError> {
    named(read_i32(addr), addr, what)
}

pub fn u32_at(addr: usize, what: &'static str) -> Result<u32, LayoutError> {
    named(read_u32(addr), addr, what)
}

pub fn u64_at(addr: usize, what: &'static str) -> Result<u64, LayoutError> {
    named(read_u64(addr), addr, what)
}

pub fn u8_at(addr: usize, what: &'static str) -> Result<u8, LayoutError> {
    named(read_u8(addr), addr, what)
}

pub fn isize_at(addr: usize, what: &'static str) -> Result<isize, LayoutError> {
    named(read_isize(addr), addr, what)
}

/// `n` consecutive words.
pub fn words(addr: usize, n: usize, what: &'static str) -> Result<Vec<usize>, LayoutError> {
    named(read_words(addr, n), addr, what)
}

pub fn bytes(addr: usize, len: usize, what: &'static str) -> Result<Vec<u8>, LayoutError> {
    let mut b = vec![0u8; len];
    named(read_bytes(addr, &mut b), addr, what)?;
    Ok(b)
}

/// Where a reader's bytes come from: [`Checked`] copies them through the
/// kernel (a bad address is an error), [`InPlace`] loads them directly, for
/// memory that is known to belong to live objects.
pub trait Memory {
    /// Copies `buf.len()` bytes from `addr`, all or nothing.
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), MemError>;

    /// A pointer-sized word.
    fn word(&self, addr: usize, what: &'static str) -> Result<usize, LayoutError> {
        let mut b = [0u8; 8];
        named(self.read(addr, &mut b), addr, what)?;
        Ok(usize::from_ne_bytes(b))
    }

    /// `n` consecutive words.
    fn words(&self, addr: usize, n: usize, what: &'static str) -> Result<Vec<usize>, LayoutError> {
        let b = self.bytes(addr, n.checked_mul(8).ok_or(LayoutError::Unreadable { what, addr })?, what)?;
        Ok(b.chunks_exact(8).map(|c| usize::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect())
    }

    fn bytes(&self, addr: usize, len: usize, what: &'static str) -> Result<Vec<u8>, LayoutError> {
        let mut b = vec![0u8; len];
        named(self.read(addr, &mut b), addr, what)?;
        Ok(b)
    }
}

/// Reads through [`read_bytes`]: every read is checked by the kernel.
#[derive(Clone, Copy, Debug, Default)]
pub struct Checked;

impl Memory for Checked {
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), MemError> {
        read_bytes(addr, buf)
    }
}

/// Reads by loading the bytes directly: a system call less per read (a
/// checked read costs 1.3-1.5 µs, a load nanoseconds), for the capture's
/// reads of live objects' own memory (the words before an instance, its
/// values array, its class's shared keys), once a checked read has
/// confirmed the layout they follow.
#[derive(Debug)]
pub struct InPlace {
    _private: (),
}

impl InPlace {
    /// # Safety
    /// Every address read through it, for its whole life, lies inside memory
    /// that stays allocated and unchanged meanwhile (the GIL held, no Python
    /// code running): the fields of live objects, found with a layout that
    /// was checked against this interpreter.
    pub unsafe fn new() -> InPlace {
        InPlace { _private: () }
    }
}

impl Memory for InPlace {
    fn read(&self, addr: usize, buf: &mut [u8]) -> Result<(), MemError> {
        if addr < 4096 || addr.checked_add(buf.len()).is_none() {
            return Err(MemError::Unreadable { addr, len: buf.len() });
        }
        // SAFETY: `InPlace::new`'s contract: the range is live memory that
        // nothing writes while the reader exists.
        unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_memories_read_the_same_bytes_and_refuse_the_first_page() {
        let arr = [7usize, 8, 9];
        let at = arr.as_ptr() as usize;
        // SAFETY: only `arr`, alive for the whole test, is read.
        let direct = unsafe { InPlace::new() };
        assert_eq!(direct.words(at, 3, "arr").unwrap(), Checked.words(at, 3, "arr").unwrap());
        assert_eq!(direct.word(at + 8, "arr[1]").unwrap(), 8);
        assert!(matches!(direct.word(8, "null + 8"), Err(LayoutError::Unreadable { what: "null + 8", addr: 8 })));
        assert!(Checked.word(8, "null + 8").is_err());
    }

    #[test]
    fn reads_our_own_memory() {
        let value: usize = 0x1234_5678_9abc_def0;
        let at = &value as *const usize as usize;
        assert_eq!(read_usize(at).unwrap(), value);
        assert_eq!(read_u32(at).unwrap(), 0x9abc_def0);
        assert_eq!(read_u8(at).unwrap(), 0xf0);
        let neg: i32 = -7;
        assert_eq!(read_i32(&neg as *const i32 as usize).unwrap(), -7);
        let arr = [1usize, 2, 3];
        assert_eq!(read_words(arr.as_ptr() as usize, 3).unwrap(), vec![1, 2, 3]);
        assert_eq!(words(arr.as_ptr() as usize, 0, "none").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn refuses_bad_addresses_without_crashing() {
        assert!(read_usize(0).is_err());
        assert!(read_usize(8).is_err());
        assert!(read_usize(usize::MAX - 3).is_err());
        // A kernel address and an unmapped user-space one.
        assert!(read_usize(0xffff_8000_0000_0000).is_err());
        assert!(read_usize(0x10).is_err());
        assert!(matches!(word(0, "null"), Err(LayoutError::Unreadable { what: "null", addr: 0 })));
    }

    #[test]
    fn unreadable_page_is_an_error() {
        // Two pages, the second made unreadable (not unmapped: a parallel test
        // could be given the hole): a read across the boundary fails, one
        // inside the first page works.
        // SAFETY: mmap/mprotect/munmap act on a fresh private anonymous
        // mapping of two pages that nothing else knows of; every write is
        // inside its first page, which stays PROT_READ | PROT_WRITE.
        unsafe {
            let p =
                libc::mmap(std::ptr::null_mut(), 8192, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0);
            assert_ne!(p, libc::MAP_FAILED);
            let base = p as usize;
            assert_eq!(libc::mprotect((base + 4096) as *mut libc::c_void, 4096, libc::PROT_NONE), 0);
            *((base + 4088) as *mut u64) = 42;
            assert_eq!(read_u64(base + 4088).unwrap(), 42);
            if BACKEND.load(Ordering::Relaxed) == VM_READV {
                // (/proc/self/mem may read a PROT_NONE page: it is mapped.)
                assert!(read_u64(base + 4092).is_err());
                std::ptr::write_bytes((base + 4000) as *mut u8, b'x', 96);
                assert!(matches!(read_cstr(base + 4000, 1000), Err(MemError::Unreadable { .. })));
            }
            // A C string that ends right before the unreadable page.
            let s = b"refgraph\0";
            std::ptr::copy_nonoverlapping(s.as_ptr(), (base + 4096 - s.len()) as *mut u8, s.len());
            assert_eq!(read_cstr(base + 4096 - s.len(), 64).unwrap(), b"refgraph");
            libc::munmap(p, 8192);
        }
    }

    #[test]
    fn proc_mem_fallback_reads_and_refuses() {
        let value: u64 = 0xfeed_f00d;
        let mut b = [0u8; 8];
        read_bytes_proc(&value as *const u64 as usize, &mut b).unwrap();
        assert_eq!(u64::from_ne_bytes(b), 0xfeed_f00d);
        assert!(read_bytes_proc(0xffff_8000_0000_0000, &mut b).is_err());
        assert!(read_bytes_proc(16, &mut b).is_err());
    }

    #[test]
    fn cstr_limits() {
        let s = b"hello\0world";
        assert_eq!(read_cstr(s.as_ptr() as usize, 100).unwrap(), b"hello");
        assert_eq!(read_cstr(s.as_ptr() as usize, 3), Err(MemError::Unterminated { addr: s.as_ptr() as usize, max: 3 }));
    }
}
