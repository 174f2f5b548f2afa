//! Connections already waiting in a listener's accept queue when the probe
//! starts: marked in the probe's `unclaimed` table, so that the process
//! that accepts and first uses one is reported as accepting it, as for a
//! connection that arrives later. The table is mapped into this process,
//! and each cookie takes a slot with the same compare-and-swap the probe's
//! programs use (`claim_slot` in causeway.bpf.c), so a program marking or
//! freeing a slot at the same moment is never overwritten.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, ensure};
use libbpf_rs::MapCore;

/// As `SLOTS` and `ACCEPT_WINDOW` in causeway.bpf.c.
const SLOTS: u64 = 16_384;
const ACCEPT_WINDOW: usize = 8;
const TABLE: usize = SLOTS as usize + ACCEPT_WINDOW - 1;

/// Marks each of `cookies` in `map` (the probe's `unclaimed` table).
/// Returns how many found every slot of their window taken, and were left
/// unmarked (a program would take the first slot and count the socket in
/// it lost: at start, leaving the newcomer out is the smaller loss).
pub(super) fn mark(map: &impl MapCore, cookies: &[u64]) -> Result<usize> {
    if cookies.is_empty() {
        return Ok(0);
    }
    ensure!(
        map.max_entries() as usize == TABLE && map.value_size() == 8,
        "the probe's table of unclaimed sockets is not the shape this program expects"
    );
    // SAFETY: sysconf only reads a configuration value.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096);
    let len = (TABLE * 8).div_ceil(page) * page;
    // SAFETY: maps the table (a BPF_F_MMAPABLE array, whose values start
    // at offset 0) shared and read-write, at an address the kernel picks;
    // no memory of ours is passed, and failure is checked below.
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
            .context("mapping the probe's table of unclaimed sockets");
    }
    // SAFETY: the mapping is page-aligned (so aligned for u64), at least
    // TABLE * 8 bytes long, and stays mapped until the munmap below, after
    // the last use of `table`. The probe's programs change it only with
    // atomic operations and word-sized stores, which AtomicU64 allows.
    let table = unsafe { std::slice::from_raw_parts(ptr.cast::<AtomicU64>(), TABLE) };
    let missed = cookies.iter().filter(|&&c| !claim(table, c)).count();
    // SAFETY: unmaps exactly the mapping made above; `table` is not used
    // after this.
    unsafe { libc::munmap(ptr, len) };
    Ok(missed)
}

/// Takes the first slot of `cookie`'s window that is free, or finds the
/// one already its own, as `claim_slot` does; false when the whole window
/// is taken by other sockets.
fn claim(table: &[AtomicU64], cookie: u64) -> bool {
    // Below SLOTS: the window ends within the table.
    let first = (cookie % SLOTS) as usize;
    table[first..first + ACCEPT_WINDOW].iter().any(|slot| {
        let v = slot.load(Ordering::Relaxed);
        v == cookie
            || (v == 0
                && slot
                    .compare_exchange(0, cookie, Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<AtomicU64> {
        (0..TABLE).map(|_| AtomicU64::new(0)).collect()
    }

    fn values(t: &[AtomicU64], from: usize, n: usize) -> Vec<u64> {
        t[from..from + n]
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .collect()
    }

    #[test]
    fn a_cookie_takes_the_first_free_slot_of_its_window_once() {
        let t = table();
        let c = 3 * SLOTS + 100;
        t[100].store(7, Ordering::Relaxed);
        assert!(claim(&t, c));
        assert!(claim(&t, c), "already marked");
        assert_eq!(values(&t, 100, 3), [7, c, 0]);
    }

    #[test]
    fn a_full_window_leaves_the_cookie_unmarked_and_the_others_alone() {
        let t = table();
        let first = SLOTS as usize - 1;
        for (i, slot) in t[first..].iter().enumerate() {
            slot.store(1000 + i as u64, Ordering::Relaxed);
        }
        let before = values(&t, first, ACCEPT_WINDOW);
        assert!(!claim(&t, 5 * SLOTS + SLOTS - 1), "the last window, full");
        assert_eq!(values(&t, first, ACCEPT_WINDOW), before);
        t[first + ACCEPT_WINDOW - 1].store(0, Ordering::Relaxed);
        assert!(
            claim(&t, SLOTS - 1),
            "the window's last slot, at the table's end"
        );
        assert_eq!(t[TABLE - 1].load(Ordering::Relaxed), SLOTS - 1);
    }
}
