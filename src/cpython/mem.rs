//! Reads this process's own memory so that a wrong address is an error, not
//! a crash: `process_vm_readv` on our own pid, which the kernel checks page
//! by page, with `/proc/self/mem` as the fallback where that call is refused.

use std::io::{Read, Seek, SeekFrom};

use super::LayoutError;

/// Copies `buf.len()` bytes from `addr`.
pub fn read_bytes(addr: usize, buf: &mut [u8], what: &'static str) -> Result<(), LayoutError> {
    if buf.is_empty() {
        return Ok(());
    }
    if addr == 0 || addr.checked_add(buf.len()).is_none() {
        return Err(LayoutError::Unreadable { what, addr });
    }
    if vm_read(addr, buf) || proc_mem_read(addr, buf) {
        Ok(())
    } else {
        Err(LayoutError::Unreadable { what, addr })
    }
}

fn vm_read(addr: usize, buf: &mut [u8]) -> bool {
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: both iovecs describe valid ranges: ours is `buf`, the remote one
    // is only read by the kernel, which checks it.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    n == buf.len() as isize
}

fn proc_mem_read(addr: usize, buf: &mut [u8]) -> bool {
    let Ok(mut f) = std::fs::File::open("/proc/self/mem") else { return false };
    f.seek(SeekFrom::Start(addr as u64)).is_ok() && f.read_exact(buf).is_ok()
}

/// A pointer-sized word.
pub fn word(addr: usize, what: &'static str) -> Result<usize, LayoutError> {
    let mut b = [0u8; 8];
    read_bytes(addr, &mut b, what)?;
    Ok(usize::from_ne_bytes(b))
}

pub fn i32_at(addr: usize, what: &'static str) -> Result<i32, LayoutError> {
    let mut b = [0u8; 4];
    read_bytes(addr, &mut b, what)?;
    Ok(i32::from_ne_bytes(b))
}

pub fn u8_at(addr: usize, what: &'static str) -> Result<u8, LayoutError> {
    let mut b = [0u8; 1];
    read_bytes(addr, &mut b, what)?;
    Ok(b[0])
}

/// `n` consecutive words.
pub fn words(addr: usize, n: usize, what: &'static str) -> Result<Vec<usize>, LayoutError> {
    let mut b = vec![0u8; n * 8];
    read_bytes(addr, &mut b, what)?;
    Ok(b.chunks_exact(8).map(|c| usize::from_ne_bytes(c.try_into().unwrap_or([0; 8]))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_memory_and_refuses_bad_addresses() {
        let value: usize = 0x1234_5678_9abc_def0;
        assert_eq!(word(&value as *const usize as usize, "test").unwrap(), value);
        let arr = [1usize, 2, 3];
        assert_eq!(words(arr.as_ptr() as usize, 3, "test").unwrap(), vec![1, 2, 3]);
        assert!(word(0, "null").is_err());
        assert!(word(8, "low page").is_err());
        assert!(word(usize::MAX - 3, "wrap").is_err());
    }
}
