//! A table of the probe (a `BPF_F_MMAPABLE` array) mapped into this
//! process, read and written as 64-bit words: the probe's programs change
//! their tables with atomic operations and plain word-sized stores, which
//! [`AtomicU64`] allows.

use std::os::fd::AsRawFd;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, ensure};
use libbpf_rs::MapCore;

/// A mapped table, for as long as this lives.
pub(super) struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    /// The table's 64-bit words.
    words: usize,
}

impl Mapping {
    /// Maps `map`, an array of `entries` values of `value_size` bytes each
    /// (a multiple of 8); `what` names it in errors.
    pub(super) fn map(
        map: &impl MapCore,
        entries: usize,
        value_size: usize,
        what: &str,
    ) -> Result<Mapping> {
        ensure!(
            map.max_entries() as usize == entries
                && map.value_size() as usize == value_size
                && value_size % 8 == 0,
            "the probe's table of {what} is not the shape this program expects"
        );
        // SAFETY: sysconf only reads a configuration value.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|&p| p > 0)
            .unwrap_or(4096);
        let bytes = entries * value_size;
        let len = bytes.div_ceil(page) * page;
        // SAFETY: maps the table (a BPF_F_MMAPABLE array, whose values
        // start at offset 0, each rounded up to 8 bytes: `value_size`
        // already is) shared and read-write, at an address the kernel
        // picks; no memory of ours is passed, and failure is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error())
                .with_context(|| format!("mapping the probe's table of {what}"));
        }
        Ok(Mapping {
            ptr,
            len,
            words: bytes / 8,
        })
    }

    /// The table, as words.
    pub(super) fn words(&self) -> &[AtomicU64] {
        // SAFETY: the mapping is page-aligned (so aligned for u64), at
        // least `words` * 8 bytes long, and stays mapped until `self` is
        // dropped, which the borrow outlives not. The probe's programs
        // change it only with atomic operations and word-sized stores,
        // which AtomicU64 allows.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<AtomicU64>(), self.words) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no borrow of
        // it outlives `self`.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
