//! Running out of memory: under an address-space limit (`ulimit -v`,
//! `prlimit --as`, a service's `LimitAS=`) or on a host out of memory.
//!
//! An allocation that fails aborts a Rust program: the standard library
//! prints `memory allocation of N bytes failed` and calls abort(3), and on
//! stable Rust nothing can be run in between. The view's terminal would
//! be left in its modes and a `--record` journal cut short. So:
//!
//! - at start, a reserve of address space ([`RESERVE_LEN`], mapped but
//!   never touched) is set aside: a limit too low to leave it is refused
//!   at once, in one line ([`explain`]);
//! - when an allocation fails, [`Parachute`] (the program's allocator, the
//!   system's otherwise) gives the reserve back and tries again, and says
//!   so ([`running_low`]): the view then ends as on an error, its journal
//!   finished and summed up;
//! - if memory runs out again before the end, the abort is left to happen;
//!   the fatal-signal handler (`ui::fatal`) puts the terminal back and says
//!   [`oom_line`] there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// Address space set aside at start and given back when an allocation
/// fails: enough for the view to end and its journal to be finished.
pub const RESERVE_LEN: usize = 16 << 20;

static RESERVE: AtomicPtr<libc::c_void> = AtomicPtr::new(std::ptr::null_mut());
/// The reserve was given back: memory is running out.
static LOW: AtomicBool = AtomicBool::new(false);
/// The size of the last allocation that failed (0: none did).
static FAILED: AtomicUsize = AtomicUsize::new(0);
/// The address-space limit in bytes, read at start (0: none).
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// The system's allocator, which gives back the reserve and tries again
/// when an allocation fails. Every call goes to [`System`] unchanged; only
/// a null it returns costs anything more.
pub struct Parachute;

/// Gives back the reserve, if it is still held; true if it was.
fn release(size: usize) -> bool {
    FAILED.store(size, Ordering::SeqCst);
    let p = RESERVE.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if p.is_null() {
        return false;
    }
    // SAFETY: `p` is the start of the RESERVE_LEN bytes `reserve` mapped,
    // taken out of RESERVE above so that it is unmapped once; nothing ever
    // points into it (it is PROT_NONE).
    unsafe { libc::munmap(p, RESERVE_LEN) };
    LOW.store(true, Ordering::SeqCst);
    true
}

// SAFETY: every method passes its arguments to `System` under the same
// contract it was called with; a retry is the same call again.
unsafe impl GlobalAlloc for Parachute {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for the trait: `layout` has a non-zero size.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() && release(layout.size()) {
            // SAFETY: the same call again.
            return unsafe { System.alloc(layout) };
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for the trait.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() && release(layout.size()) {
            // SAFETY: the same call again.
            return unsafe { System.alloc_zeroed(layout) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`,
        // with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for the trait; a failed realloc leaves `ptr` as it
        // was, so it can be tried again.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() && release(new_size) {
            // SAFETY: the same call again.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        p
    }
}

/// Sets the reserve aside (once); refused when the address space cannot
/// hold it: causeway would not run for long.
pub fn reserve() -> anyhow::Result<()> {
    LIMIT.store(address_space_limit().unwrap_or(0), Ordering::SeqCst);
    if !RESERVE.load(Ordering::SeqCst).is_null() {
        return Ok(());
    }
    let p = map_none(RESERVE_LEN).map_err(|e| {
        anyhow::Error::new(e).context("setting aside memory to end cleanly should it run out")
    })?;
    if RESERVE
        .compare_exchange(std::ptr::null_mut(), p, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // SAFETY: `p` was just mapped with this length and is not shared.
        unsafe { libc::munmap(p, RESERVE_LEN) };
    }
    Ok(())
}

/// Maps `len` bytes of address space that can never be touched: it counts
/// against an address-space limit, and costs no memory.
fn map_none(len: usize) -> std::io::Result<*mut libc::c_void> {
    // SAFETY: a new anonymous mapping at an address the kernel picks;
    // nothing is read or written through it.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(p)
    }
}

/// Whether `len` more bytes of address space can be mapped now: said as
/// ENOMEM if not. (For what libbpf maps, where its own error is garbled.)
pub fn room_for(len: usize) -> std::io::Result<()> {
    let p = map_none(len)?;
    // SAFETY: `p` was just mapped with this length and is not shared.
    unsafe { libc::munmap(p, len) };
    Ok(())
}

/// The reserve was given back (an allocation failed): the view should end
/// while it can still finish its journal.
pub fn running_low() -> bool {
    LOW.load(Ordering::SeqCst)
}

/// This process's address-space limit (RLIMIT_AS) in bytes, if it has one.
pub fn address_space_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Where the limit comes from, said after it.
fn limited(limit: Option<u64>) -> String {
    match limit {
        Some(l) => format!(
            "causeway's address space is limited to {} MB by ulimit -v, prlimit --as or LimitAS=: \
             raise the limit",
            l / 1_000_000
        ),
        None => "the host is out of memory".to_string(),
    }
}

/// The error that ends the view when memory runs low.
pub fn low_error() -> anyhow::Error {
    anyhow::anyhow!(low_said("the view ended"))
}

/// What running low made causeway do (`the view ended`, `the recording
/// stopped`), said with why.
pub fn low_said(what: &str) -> String {
    format!(
        "out of memory: an allocation of {} bytes failed, and {what} while it still could ({})",
        FAILED.load(Ordering::SeqCst),
        limited(address_space_limit())
    )
}

/// One line for an error that is the lack of memory (ENOMEM, as libbpf
/// garbles it too, or a thread that could not get a stack under an
/// address-space limit): what failed, then why.
pub fn explain(e: &anyhow::Error) -> Option<String> {
    let limit = address_space_limit();
    let short = e.chain().any(|cause| {
        let text = cause.to_string();
        let io = cause.downcast_ref::<std::io::Error>();
        let code = io.and_then(std::io::Error::raw_os_error);
        code.is_some_and(|c| c.abs() == libc::ENOMEM)
            || io.is_some_and(|io| io.kind() == std::io::ErrorKind::OutOfMemory)
            || text.ends_with("(os error 12)")
            || text.ends_with("(os error -12)")
            // pthread_create says EAGAIN when a stack cannot be mapped.
            || (limit.is_some() && code == Some(libc::EAGAIN) && e.to_string().contains("thread"))
    });
    short.then(|| format!("not enough memory: {} failed ({})", e, limited(limit)))
}

/// What an abort after memory ran out says, once the terminal is back:
/// written by the fatal-signal handler, so built without allocating into
/// `buf`; the length used. None if no allocation failed.
pub fn oom_line(buf: &mut [u8; 256]) -> Option<usize> {
    let failed = FAILED.load(Ordering::SeqCst);
    if failed == 0 {
        return None;
    }
    let mut w = Fixed { buf, len: 0 };
    w.put(b"causeway: out of memory: an allocation of ");
    w.num(failed as u64);
    w.put(b" bytes failed");
    match LIMIT.load(Ordering::SeqCst) {
        0 => w.put(b" (the host is out of memory)\n"),
        l => {
            w.put(b" (causeway's address space is limited to ");
            w.num(l / 1_000_000);
            w.put(b" MB by ulimit -v, prlimit --as or LimitAS=)\n");
        }
    }
    Some(w.len)
}

/// Bytes put into a fixed buffer, cut at its end.
struct Fixed<'a> {
    buf: &'a mut [u8; 256],
    len: usize,
}

impl Fixed<'_> {
    fn put(&mut self, b: &[u8]) {
        for &c in b {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = c;
                self.len += 1;
            }
        }
    }

    fn num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_after_an_abort_says_what_failed_without_allocating() {
        let mut buf = [0u8; 256];
        assert_eq!(oom_line(&mut buf), None, "nothing failed yet");
        FAILED.store(240_048, Ordering::SeqCst);
        LIMIT.store(152_000_000, Ordering::SeqCst);
        let n = oom_line(&mut buf).expect("a line");
        assert_eq!(
            std::str::from_utf8(&buf[..n]).expect("text"),
            "causeway: out of memory: an allocation of 240048 bytes failed \
             (causeway's address space is limited to 152 MB by ulimit -v, prlimit --as or LimitAS=)\n"
        );
        FAILED.store(0, Ordering::SeqCst);
        LIMIT.store(0, Ordering::SeqCst);
    }

    #[test]
    fn running_low_says_what_it_stopped() {
        let said = low_said("the recording stopped");
        assert!(
            said.starts_with("out of memory: an allocation of "),
            "{said}"
        );
        assert!(
            said.contains("and the recording stopped while it still could ("),
            "{said}"
        );
        assert!(
            low_error()
                .to_string()
                .contains("and the view ended while it still could")
        );
    }

    #[test]
    fn a_lack_of_memory_is_said_in_one_line_however_it_came() {
        let nomem = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOMEM))
            .context("setting up the ring buffer");
        let line = explain(&nomem).expect("said as memory");
        assert!(
            line.starts_with("not enough memory: setting up the ring buffer failed ("),
            "{line}"
        );
        assert!(!line.contains('\n'));
        // libbpf's negative errno, as it reaches us in a release build.
        let garbled = anyhow::Error::new(std::io::Error::from_raw_os_error(-libc::ENOMEM))
            .context("setting up the ring buffer");
        assert!(explain(&garbled).is_some(), "{garbled:#}");
        let other = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::EACCES))
            .context("setting up the ring buffer");
        assert_eq!(explain(&other), None);
    }
}
