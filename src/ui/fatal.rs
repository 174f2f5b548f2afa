//! The terminal put back on a fatal signal: SIGQUIT, SIGABRT (an abort, as
//! when memory runs out), SIGSEGV, SIGBUS, SIGILL, SIGFPE. Nothing of the
//! program can run then but an async-signal-safe handler: it writes bytes
//! prepared in advance to the terminal and gives it back the settings it
//! had when the view began (saved then), and the signal then takes its
//! default action: the process ends by it, core dump included.
//!
//! A fault the kernel raised (a bad address) happens again when the handler
//! returns: the handler that was there before (the standard library's,
//! which tells a stack overflow) is put back for it.

use std::cell::UnsafeCell;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// The fatal signals whose default action would leave the terminal as the
/// view had set it.
pub const FATAL: [libc::c_int; 6] = [
    libc::SIGQUIT,
    libc::SIGABRT,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// What restores the screen: CAN (ends an escape sequence a frame may have
/// been cut in), then mouse reports off, the main screen, the cursor shown:
/// what crossterm's DisableMouseCapture, LeaveAlternateScreen and
/// cursor::Show write.
pub const RESTORE: &[u8] =
    b"\x18\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l\x1b[?1049l\x1b[?25h";

/// Written once, before [`ARMED`] is first set, and read only by a handler
/// that saw it set.
struct Saved(UnsafeCell<Option<libc::termios>>);

// SAFETY: written only by `arm` while ARMED is false (and handlers that
// saw it false do not read it), read only after ARMED is seen true; `arm`
// is called from the view's thread alone.
unsafe impl Sync for Saved {}

static SAVED: Saved = Saved(UnsafeCell::new(None));

/// The previous actions, for faults handed back to them; written before
/// the handlers are installed, read by them.
struct Previous(UnsafeCell<[Option<libc::sigaction>; FATAL.len()]>);

// SAFETY: written once under INSTALL before any handler of ours exists,
// only read afterwards.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(UnsafeCell::new([None; FATAL.len()]));
static INSTALL: Once = Once::new();

/// The terminal is in the view's modes and the handler is to put it back.
static ARMED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers (once) and arms them with the terminal's
/// settings as they are now, before the view changes them (standard
/// input, which `enter` checked is a terminal).
pub fn arm() {
    install();
    // SAFETY: a termios is plain data; tcgetattr fills it from fd 0.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        (libc::tcgetattr(libc::STDIN_FILENO, &mut t) == 0).then_some(t)
    };
    ARMED.store(false, Ordering::SeqCst);
    // SAFETY: ARMED is false: no handler reads SAVED now (see `Saved`).
    unsafe { *SAVED.0.get() = saved };
    ARMED.store(true, Ordering::SeqCst);
}

/// The terminal is back as it was: the handlers do nothing more to it.
pub fn disarm() {
    ARMED.store(false, Ordering::SeqCst);
}

/// The settings the terminal had when the view began, in raw mode (as
/// crossterm sets it: cfmakeraw), to set again after the process was
/// stopped (the shell put the terminal back in its own modes meanwhile).
pub fn raw_again() -> std::io::Result<()> {
    // SAFETY: SAVED is written only by `arm`, on this (the view's) thread.
    let Some(mut t) = (unsafe { *SAVED.0.get() }) else {
        return Err(std::io::Error::other(
            "the terminal's settings were not read",
        ));
    };
    // SAFETY: cfmakeraw changes the local copy; tcsetattr reads it.
    let rc = unsafe {
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Puts the terminal back if the view has it: async-signal-safe (write(2),
/// tcsetattr(3) and atomics only). Then, if memory ran out, says so (what
/// the standard library said of it was on the view's screen, now gone).
pub fn put_back() {
    if !ARMED.swap(false, Ordering::SeqCst) {
        return;
    }
    write_all(libc::STDOUT_FILENO, RESTORE);
    // SAFETY: ARMED was true: SAVED is written and stays so (see `Saved`).
    if let Some(t) = unsafe { &*SAVED.0.get() } {
        // SAFETY: tcsetattr reads a valid termios.
        unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
    }
    let mut line = [0u8; 256];
    if let Some(n) = crate::memory::oom_line(&mut line) {
        // SAFETY: isatty only asks the kernel about fd 2.
        if unsafe { libc::isatty(libc::STDERR_FILENO) } == 1 {
            write_all(libc::STDERR_FILENO, &line[..n]);
        }
    }
}

/// write(2) until all of `bytes` is written or it fails.
fn write_all(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid buffer of the length given.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => bytes = &bytes[n.min(bytes.len())..],
            _ => {
                if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return;
            }
        }
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: PREVIOUS is written here only, before any handler of ours
        // is installed (see `Previous`).
        let previous = unsafe { &mut *PREVIOUS.0.get() };
        for (i, &sig) in FATAL.iter().enumerate() {
            // SAFETY: a sigaction is plain data; sigaction(2) fills `old`
            // and reads `new`, whose handler is an extern "C" fn of the
            // SA_SIGINFO form and whose mask is emptied first.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                    continue;
                }
                // Ignored when causeway started (a SIGQUIT of a background
                // job, say): left so.
                if old.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                previous[i] = Some(old);
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_fatal as *const () as libc::sighandler_t;
                // On the alternate stack the standard library sets up for
                // each thread: a stack overflow is such a signal too.
                new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(sig, &new, std::ptr::null_mut());
            }
        }
    });
}

extern "C" fn on_fatal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    put_back();
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = if info.is_null() {
        0
    } else {
        unsafe { (*info).si_code }
    };
    let fault = matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE
    );
    let i = FATAL.iter().position(|&s| s == sig);
    // SAFETY: PREVIOUS is only read once handlers are installed.
    let previous = i.and_then(|i| unsafe { (*PREVIOUS.0.get())[i] });
    // SAFETY: sigaction(2) and raise(3) are async-signal-safe; the actions
    // given are the one saved at install or a zeroed one with SIG_DFL.
    unsafe {
        if fault && code > 0 {
            // A fault (si_code > 0: the kernel's): the instruction runs
            // again on return, to the previous handler.
            if let Some(old) = previous {
                libc::sigaction(sig, &old, std::ptr::null_mut());
                return;
            }
        }
        // Sent (kill, abort(3)): the default action, once this handler
        // returns and the signal is no longer blocked.
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        libc::raise(sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::DisableMouseCapture;
    use ratatui::crossterm::terminal::LeaveAlternateScreen;
    use ratatui::crossterm::{cursor, execute};

    #[test]
    fn the_handlers_bytes_are_what_the_view_writes_to_leave() {
        let mut bytes = Vec::new();
        execute!(
            bytes,
            DisableMouseCapture,
            LeaveAlternateScreen,
            cursor::Show
        )
        .expect("ok");
        assert_eq!(RESTORE[0], 0x18, "CAN first");
        assert_eq!(&RESTORE[1..], &bytes[..]);
    }
}
