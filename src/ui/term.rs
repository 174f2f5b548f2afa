//! The terminal and the event loop: one thread reads the terminal, the
//! feed arrives on a channel, a tick measures the status figures, and the
//! screen is redrawn when something changed, at most ~30 times a second.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Mutex, Once};
use std::thread::JoinHandle;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, Sender, select};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use super::app::App;
use super::keys::{key_to_action, mouse_to_action};
use crate::bpf::Spares;
use crate::event::Batch;

/// Shortest time between two frames when the user did something...
const FRAME: Duration = Duration::from_millis(33);
/// ...and when only the feed or the clock changed what is shown: a busy
/// host changes the tree all the time, and a frame of a big tree costs
/// about a millisecond (`cargo bench --bench ui_frame`), so redrawing for
/// every batch at the keyboard's pace would spend a few percent of a core
/// on frames nobody can read that fast.
const FEED_FRAME: Duration = Duration::from_millis(100);
/// How often the status figures are measured.
const TICK: Duration = Duration::from_millis(250);
/// Most messages applied before the loop looks at the keyboard again
/// (checked between batches, so it can be passed by one batch)...
const BATCH: usize = 20_000;
/// ...or this long, whichever comes first.
const BATCH_TIME: Duration = Duration::from_millis(8);

type Term = Terminal<CrosstermBackend<Screen>>;

/// Frames queued for the terminal beyond which the view draws no more
/// until they are written: a couple of full frames of a large terminal.
const MAX_QUEUED: usize = 256 * 1024;

/// The terminal's output, written by a thread of its own: the view hands
/// each frame over and goes on applying the probe's events however long
/// the terminal takes to accept it. A terminal that stops reading (an SSH
/// link that stalls, a laptop asleep) used to stop the view's thread in
/// its write; the probe then waited on the view, and the kernel dropped
/// records, the journal of `live --record` included. Now the view skips
/// frames while more than [`MAX_QUEUED`] bytes wait, and draws the tree as
/// it is once the terminal is back.
struct Screen {
    buf: Vec<u8>,
    tx: Sender<Vec<u8>>,
}

/// Bytes handed to the screen's thread and not yet written.
static QUEUED: AtomicUsize = AtomicUsize::new(0);

/// How long the view waits, as it ends, for a terminal that takes nothing
/// of what is left to write (the piece of a frame being written, then the
/// bytes that restore it) before leaving it as it is: after a signal, an
/// error or a hang-up, when nobody may be reading it...
const RESTORE_WAIT: Duration = Duration::from_secs(2);
/// ...and after the user quit with a key, when the terminal was read a
/// moment ago: a slow link (a pty, an SSH channel) takes its bytes in
/// bursts, seconds apart.
const RESTORE_WAIT_QUIT: Duration = Duration::from_secs(15);

/// The user quit with a key: [`RESTORE_WAIT_QUIT`] applies.
static QUIT_BY_KEY: AtomicBool = AtomicBool::new(false);

/// The view is ending: the screen's thread writes no more frames (it
/// counts them off unwritten), only the piece it is writing is finished.
static ENDING: AtomicBool = AtomicBool::new(false);

fn restore_wait() -> Duration {
    if QUIT_BY_KEY.load(Ordering::SeqCst) {
        RESTORE_WAIT_QUIT
    } else {
        RESTORE_WAIT
    }
}

/// The screen's thread writes a frame in pieces of this size.
const WRITE_PIECE: usize = 4096;

/// Ends the screen's writing: frames not begun are dropped (the screen
/// they would draw is about to be left), and the piece being written is
/// waited for, so that nothing lands after the restoring bytes. False if
/// the terminal took none of it within [`restore_wait`] (it is not
/// reading).
fn drain_screen() -> bool {
    ENDING.store(true, Ordering::SeqCst);
    let mut last = QUEUED.load(Ordering::Acquire);
    let mut since = Instant::now();
    while last > 0 {
        std::thread::sleep(Duration::from_millis(2));
        let now = QUEUED.load(Ordering::Acquire);
        if now < last {
            (last, since) = (now, Instant::now());
        } else if since.elapsed() >= restore_wait() {
            return false;
        }
    }
    true
}

/// Writes the bytes that restore the terminal (main screen, cursor, no
/// mouse reports), giving the terminal [`restore_wait`] to take them.
/// False if it did not: the write is left to a thread of its own, so that
/// a terminal that has stopped reading (a stalled SSH link) does not hold
/// causeway's end, and with it the end of a `--record` journal, until it
/// reads again.
fn write_restore() -> bool {
    let mut bytes = Vec::new();
    if execute!(
        bytes,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    )
    .is_err()
    {
        return false;
    }
    // A handle of its own, not the process-wide stdout lock, which a write
    // left waiting would hold.
    let Ok(mut out) = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
    else {
        return false;
    };
    let (done, wait) = crossbeam_channel::bounded(1);
    let bytes = Arc::new(bytes);
    let (theirs, mut mine) = (Arc::clone(&bytes), out.try_clone().ok());
    let write = move || {
        let _ = out.write_all(&theirs);
        let _ = done.send(());
    };
    match std::thread::Builder::new()
        .name("causeway-restore".into())
        .spawn(write)
    {
        Ok(_) => wait.recv_timeout(restore_wait()).is_ok(),
        // No thread to be had (memory running out): written from here,
        // rather than leave the terminal in the view's modes.
        Err(_) => mine
            .as_mut()
            .is_some_and(|out| out.write_all(&bytes).is_ok()),
    }
}

/// Why the terminal refused a write of the screen's thread, once it did.
static SCREEN_ERROR: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// A write to a terminal that was closed (its window, the ssh link) fails
/// with EIO: said as the hangup the input thread reports, whichever of
/// the two notices first.
fn closed_if_hung_up(e: std::io::Error) -> std::io::Error {
    if e.raw_os_error() == Some(libc::EIO) {
        std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the terminal was closed")
    } else {
        e
    }
}

/// More than [`MAX_QUEUED`] bytes wait for the terminal.
fn screen_behind() -> bool {
    QUEUED.load(Ordering::Acquire) > MAX_QUEUED
}

impl Screen {
    fn start() -> Result<Screen> {
        ENDING.store(false, Ordering::SeqCst);
        QUIT_BY_KEY.store(false, Ordering::SeqCst);
        let (tx, rx) = crossbeam_channel::unbounded::<Vec<u8>>();
        // A handle of its own on the terminal: `std::io::stdout()` is one
        // lock for the whole process, which a write blocked on a stalled
        // terminal would hold against restoring it.
        let mut out = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .context("opening the terminal for the screen's thread")?;
        std::thread::Builder::new()
            .name("causeway-screen".into())
            .spawn(move || {
                let mut ok = true;
                for chunk in rx {
                    // In pieces, each counted off as written: a slow
                    // terminal is seen to make progress within a frame.
                    for piece in chunk.chunks(WRITE_PIECE) {
                        if ok && !ENDING.load(Ordering::SeqCst) {
                            if let Err(e) = out.write_all(piece) {
                                ok = false;
                                if let Ok(mut f) = SCREEN_ERROR.lock() {
                                    *f = Some(e);
                                }
                            }
                        }
                        QUEUED.fetch_sub(piece.len(), Ordering::AcqRel);
                    }
                }
            })
            .context("starting the screen's thread")?;
        Ok(Screen {
            buf: Vec::with_capacity(64 * 1024),
            tx,
        })
    }
}

impl Write for Screen {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(64 * 1024));
        QUEUED.fetch_add(chunk.len(), Ordering::AcqRel);
        self.tx
            .send(chunk)
            .map_err(|_| std::io::Error::other("the screen's thread has ended"))
    }
}

/// Whether the terminal is in the view's modes (raw, alternate screen,
/// mouse), so that restoring happens once: leaving the alternate screen a
/// second time would move the cursor back over what was printed since
/// (a panic message, say).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back as it was: cooked mode, main screen, cursor,
/// no mouse reports. Does nothing if it is not in the view's modes.
pub fn restore_terminal() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    // A terminal that takes neither the last frames nor the restoring bytes
    // is not reading: causeway ends without waiting for it, and says no
    // more on it (each line would wait as long). Leaving raw mode does not
    // wait on the terminal.
    let drained = drain_screen();
    let _ = disable_raw_mode();
    if !(drained && write_restore()) {
        crate::TERMINAL_STALLED.store(true, Ordering::SeqCst);
    }
    crate::VIEW_ON_SCREEN.store(false, Ordering::SeqCst);
    super::fatal::disarm();
}

/// Restores the terminal when dropped: on return, on error and on unwind.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Set by the panic hook: the loop then ends (a panic on another thread,
/// such as the feed's, must not leave the view running).
static PANICKED: AtomicBool = AtomicBool::new(false);
/// The thread that runs the view.
static VIEW_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
/// Panic messages from other threads while the view was on screen,
/// printed once the terminal is restored.
static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A panic prints its message on a restored terminal, not into the
/// alternate screen in raw mode. On the view's thread: restore, then the
/// usual message (unwinding follows). On another thread while the view is
/// up: the message is kept and the view stops, restores the terminal and
/// prints it (restoring from here would race with the view's drawing).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let here = std::thread::current();
            let on_view = VIEW_THREAD
                .lock()
                .map(|t| *t == Some(here.id()))
                .unwrap_or(true);
            if ACTIVE.load(Ordering::SeqCst) && !on_view {
                let msg = crate::cli::panic_line(info);
                if let Ok(mut p) = PENDING.lock() {
                    p.push(msg);
                }
                PANICKED.store(true, Ordering::SeqCst);
                return;
            }
            restore_terminal();
            PANICKED.store(true, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// A terminal that says it cannot move its cursor or clear its screen
/// (`TERM=dumb`: an editor's shell buffer): the view's escape sequences
/// would be printed as text there.
fn dumb_terminal(term: Option<&std::ffi::OsStr>) -> bool {
    term.is_some_and(|t| t == "dumb")
}

/// Takes the terminal for the view; `without` says what does the view's
/// work where there is no terminal.
fn enter(without: &str) -> Result<(Guard, Term)> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!("the view needs a terminal (standard input and output are not both one); {without}");
    }
    if dumb_terminal(std::env::var_os("TERM").as_deref()) {
        bail!(
            "the view needs a terminal that can move its cursor, and TERM=dumb says this one cannot (an editor's shell?); {without}"
        );
    }
    install_panic_hook();
    if let Ok(mut t) = VIEW_THREAD.lock() {
        *t = Some(std::thread::current().id());
    }
    // The terminal's settings as they are, for a fatal signal to put back.
    super::fatal::arm();
    enable_raw_mode().context("cannot put the terminal in raw mode")?;
    // From here on, the guard undoes whatever succeeded.
    ACTIVE.store(true, Ordering::SeqCst);
    crate::VIEW_ON_SCREEN.store(true, Ordering::SeqCst);
    let guard = Guard;
    execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )
    .context("cannot set up the terminal")?;
    let screen = Screen::start()?;
    let term =
        Terminal::new(CrosstermBackend::new(screen)).context("cannot set up the terminal")?;
    Ok((guard, term))
}

/// Sets the view's modes again after the process was stopped and resumed
/// (raw mode, the alternate screen, mouse reports, no cursor), and has the
/// next frame drawn in full.
fn reenter(term: &mut Term) -> Result<()> {
    super::fatal::raw_again()?;
    execute!(
        term.backend_mut(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )?;
    term.clear()?;
    Ok(())
}

/// Reads the terminal on its own thread until told to stop.
///
/// crossterm's reader spins forever once the terminal hangs up (a read of
/// 0 bytes or EIO is retried in a loop: crossterm issue #793, PR #1067
/// not released as of 0.29), so the thread waits for input
/// with its own poll(2) on the terminal, which reports the hangup, and
/// calls crossterm only when there are bytes to parse.
///
/// Resizes are read here too, from a signalfd: SIGWINCH is blocked in
/// every thread from the start ([`hold_resize_signal`]). crossterm's reader
/// watches SIGWINCH as well when the signal is delivered, and when a
/// resize and a key woke its (edge-triggered) poll together, it returned
/// the resize and lost the terminal's readiness: the key then waited in
/// the terminal until another came, and `q` after resizing an SSH window
/// did nothing.
struct Input {
    rx: Receiver<std::io::Result<Incoming>>,
    stop: Arc<AtomicBool>,
    /// Disconnected when the thread has ended.
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

/// What the input thread reads: the terminal's events, and the process
/// resumed after it was stopped.
enum Incoming {
    Event(Event),
    /// SIGCONT: the process was stopped (`kill -STOP`, Ctrl-Z in a shell
    /// that does not leave raw mode) and goes on. Its shell put the
    /// terminal back in its own modes meanwhile (line mode, echo, the main
    /// screen): the view sets its own again and draws in full.
    Resumed,
}

/// Blocks SIGWINCH and SIGCONT in the calling thread and so in every
/// thread it starts later: the view's input thread reads them from a
/// signalfd (see [`Input`]). (A blocked SIGCONT still resumes a stopped
/// process.) Called first thing, before any thread is started.
pub fn hold_resize_signal() {
    let set = winch_set();
    // SAFETY: pthread_sigmask is given a valid set and a null old-set
    // pointer.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        log::warn!(
            "blocking SIGWINCH: {}; a key after a resize may wait for the next",
            std::io::Error::from_raw_os_error(rc)
        );
    }
}

/// A signalfd that reads SIGWINCH, non-blocking; the signal is blocked in
/// the calling thread too, should [`hold_resize_signal`] not have run.
fn resize_fd() -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    hold_resize_signal();
    let set = winch_set();
    // SAFETY: signalfd(-1, ...) makes a new descriptor from a valid set.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just made and is owned by nothing else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// The signal set of SIGWINCH and SIGCONT.
fn winch_set() -> libc::sigset_t {
    // SAFETY: a sigset_t is plain data, initialised by sigemptyset before
    // use; the calls are given a valid pointer to it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGWINCH);
        libc::sigaddset(&mut set, libc::SIGCONT);
        set
    }
}

#[derive(Default)]
struct Ready {
    input: bool,
    resized: bool,
    resumed: bool,
    hangup: bool,
}

/// Waits up to `ms` for the terminal (standard input, which `enter`
/// checked is one, and which crossterm then reads) to have input, or for
/// a resize on `winch` (which is then drained).
fn tty_ready(winch: &std::os::fd::OwnedFd, ms: i32) -> std::io::Result<Ready> {
    use std::os::fd::AsRawFd;
    let mut fds = [
        libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: winch.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is two valid, writable pollfds and the count says two.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(Ready::default())
        } else {
            Err(e)
        };
    }
    let (mut resized, mut resumed) = (false, false);
    if fds[1].revents & libc::POLLIN != 0 {
        // SAFETY: a signalfd_siginfo is plain data.
        let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
        let len = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reads into `info`, of exactly the length given, from a
        // descriptor `winch` owns; non-blocking, so it ends at EAGAIN.
        while unsafe { libc::read(winch.as_raw_fd(), (&raw mut info).cast(), len) } > 0 {
            match info.ssi_signo as i32 {
                libc::SIGCONT => resumed = true,
                _ => resized = true,
            }
        }
    }
    Ok(Ready {
        input: fds[0].revents & libc::POLLIN != 0,
        resized,
        resumed,
        hangup: fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
    })
}

/// Reads what is there: one event, then whatever crossterm has already
/// parsed (several keys can arrive in one read), a key it split after Esc
/// put back together ([`rejoin_escapes`](super::keys::rejoin_escapes)).
fn read_events(tx: &crossbeam_channel::Sender<std::io::Result<Incoming>>) -> bool {
    /// Events taken in one go at most, so each reaches the view soon.
    const BURST: usize = 64;
    let mut burst = Vec::new();
    let mut failed = None;
    match event::read() {
        Ok(ev) => burst.push(ev),
        Err(e) => failed = Some(e),
    }
    while failed.is_none() && burst.len() < BURST {
        match event::poll(Duration::ZERO) {
            Ok(true) => match event::read() {
                Ok(ev) => burst.push(ev),
                Err(e) => failed = Some(e),
            },
            Ok(false) => break,
            Err(e) => failed = Some(e),
        }
    }
    for ev in super::keys::rejoin_escapes(burst) {
        if tx.send(Ok(Incoming::Event(ev))).is_err() {
            return false;
        }
    }
    match failed {
        Some(e) => {
            let _ = tx.send(Err(e));
            false
        }
        None => true,
    }
}

impl Input {
    fn start() -> Result<Input> {
        let (tx, rx) = crossbeam_channel::bounded(256);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let stop = Arc::new(AtomicBool::new(false));
        let winch = resize_fd().context("watching terminal resizes")?;
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("causeway-input".into())
            .spawn(move || {
                let _done = done_tx;
                while !flag.load(Ordering::Relaxed) {
                    let ready = match tty_ready(&winch, 50) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    };
                    if ready.hangup {
                        let gone = std::io::Error::new(
                            std::io::ErrorKind::BrokenPipe,
                            "the terminal was closed",
                        );
                        let _ = tx.send(Err(gone));
                        break;
                    }
                    if ready.input && !read_events(&tx) {
                        break;
                    }
                    if ready.resumed && tx.send(Ok(Incoming::Resumed)).is_err() {
                        break;
                    }
                    // Resumed too: the window may have changed meanwhile.
                    if ready.resized || ready.resumed {
                        let ev = ratatui::crossterm::terminal::size()
                            .map(|(w, h)| Incoming::Event(Event::Resize(w, h)));
                        if tx.send(ev).is_err() {
                            break;
                        }
                    }
                }
            })
            .context("starting the terminal input thread")?;
        Ok(Input {
            rx,
            stop,
            done,
            thread: Some(thread),
        })
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // The thread checks the flag every 50 ms; should it be stuck in a
        // read anyway, leave it rather than hang the exit.
        let ended = matches!(
            self.done.recv_timeout(Duration::from_millis(500)),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        );
        if let Some(t) = self.thread.take() {
            if ended {
                let _ = t.join();
            }
        }
    }
}

/// SIGTERM, SIGHUP and SIGINT end the view: the first is kept
/// ([`caught_signal`]) and the loop, which checks it, ends normally, the
/// terminal restored and a `--record` journal finished; the process then
/// ends by that signal ([`end_by_caught_signal`]). They stay handled from
/// before the view starts until the process exits: the journal is finished
/// after the view ends, and a SIGHUP that came then (a shell passes its
/// own on to its jobs, after the kernel's, when the terminal closes) used
/// to kill the process with its journal unfinished, as the handlers were
/// gone with the view. A second SIGTERM or SIGINT, after one of these two,
/// ends the process at once (the terminal put back); a second SIGHUP is
/// the same hangup said twice, and changes nothing.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
];

/// What a signal does, given the one caught before (0: none): whether it
/// is kept as the one the view ends by, and whether it ends the process
/// at once.
fn on_signal(before: i32, sig: i32) -> (bool, bool) {
    let urgent = |s| s == libc::SIGTERM || s == libc::SIGINT;
    match before {
        0 => (true, false),
        b => (false, urgent(b) && urgent(sig)),
    }
}

/// Installs the handlers of [`SIGNALS`], once; they stay until the
/// process exits.
pub fn handle_signals() -> Result<()> {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    for sig in SIGNALS {
        let action = move || {
            let before = CAUGHT.load(Ordering::SeqCst);
            let (keep, at_once) = on_signal(before, sig);
            if keep {
                let _ = CAUGHT.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
            }
            if at_once {
                super::fatal::put_back();
                signal_hook::low_level::exit(128 + sig);
            }
        };
        // SAFETY: the action uses atomics, write(2), tcsetattr(3) and
        // _exit(2) only, all async-signal-safe; it allocates nothing.
        unsafe { signal_hook::low_level::register(sig, action) }
            .context("installing signal handlers")?;
    }
    let _ = INSTALLED.set(());
    Ok(())
}

/// The first of SIGTERM, SIGHUP and SIGINT received since
/// [`handle_signals`], if any.
pub fn caught_signal() -> Option<i32> {
    Some(CAUGHT.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// If a signal ended the view, ends the process by it, as its default
/// action would have (status 128+n to a shell: 130, 143, 129), now that
/// everything is finished. Returns if none was caught.
pub fn end_by_caught_signal() {
    if let Some(sig) = caught_signal() {
        let _ = signal_hook::low_level::emulate_default_handler(sig);
        // Should the signal not end it (it cannot be raised): the same
        // status.
        std::process::exit(128 + sig);
    }
}

/// This process's own memory, from /proc/self/statm: resident pages less
/// those shared with files (RssAnon), what grows with the tree. The
/// program's own file pages and the mapped ring buffers (32 MiB) are
/// left out: they were 68 of 70 MiB of the resident total here at start
/// (RssFile against RssAnon in /proc/PID/status, one look), and made a
/// small tree look big.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_whitespace().skip(1);
    let resident: u64 = fields.next()?.parse().ok()?;
    let shared: u64 = fields.next()?.parse().ok()?;
    let pages = resident.saturating_sub(shared);
    // SAFETY: sysconf only reads a configuration value; no memory is passed.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096))
}

/// Runs the view until the user quits, a signal asks, or the terminal
/// fails. `feed` is the live message channel, and where its batches go back
/// once applied (none for a replay).
pub fn run(app: &mut App, feed: Option<(&Receiver<Batch>, &Spares)>) -> Result<()> {
    let result = run_view(app, feed);
    // The terminal is restored by now: say what other threads panicked with.
    let pending = PENDING.lock().map(|mut p| std::mem::take(&mut *p));
    for msg in pending.unwrap_or_default() {
        say!("{msg}");
    }
    crate::say_held();
    result
}

fn run_view(app: &mut App, feed: Option<(&Receiver<Batch>, &Spares)>) -> Result<()> {
    handle_signals()?;
    let without = match app.source {
        super::app::SourceKind::Live => "`causeway record` writes a journal without it",
        super::app::SourceKind::Replay { .. } => {
            "`causeway export FILE PID --text` draws a process's chain without it"
        }
    };
    let (_guard, term) = enter(without)?;
    // Never dropped: ratatui's Terminal shows the cursor when dropped and
    // prints with `eprintln!` if that fails, which panics when the
    // terminal has closed (and that panic, on the way out, aborted). The
    // guard restores the terminal, the cursor too, ignoring errors.
    let mut term = std::mem::ManuallyDrop::new(term);
    let input = Input::start()?;
    let size = term.size().context("reading the terminal size")?;
    app.resize(size.width, size.height);

    let never = crossbeam_channel::never();
    let (mut feed, spares) = match feed {
        Some((rx, spares)) => (rx, Some(spares)),
        None => (&never, None),
    };
    let ticker = crossbeam_channel::tick(TICK);
    let mut meter = None;
    tick(app, &mut meter);
    let mut usage = Usage::start(app);
    let mut exports = Exports::new();

    let mut dirty = true;
    // The user changed something since the last frame.
    let mut urgent = false;
    let mut last_draw: Option<Instant> = None;
    loop {
        if PANICKED.load(Ordering::SeqCst) {
            bail!("an internal error stopped the view (its message is printed above)");
        }
        if caught_signal().is_some() {
            break;
        }
        if crate::memory::running_low() {
            return Err(crate::memory::low_error());
        }
        if app.quit {
            QUIT_BY_KEY.store(true, Ordering::SeqCst);
            break;
        }
        if let Some(e) = SCREEN_ERROR.lock().ok().and_then(|mut e| e.take()) {
            return Err(closed_if_hung_up(e)).context("writing to the terminal");
        }
        let now = Instant::now();
        let due = draw_due(last_draw, urgent).unwrap_or(now);
        // A terminal not keeping up: no frame until it has taken what it
        // has, and the events go on being applied meanwhile.
        let behind = screen_behind();
        if dirty && now >= due && !behind {
            term.draw(|f| super::render::draw(f, app))
                .context("drawing the view")?;
            last_draw = Some(now);
            dirty = false;
            urgent = false;
        }
        let wait = if dirty && behind {
            FRAME
        } else if dirty {
            due.saturating_duration_since(Instant::now())
        } else {
            TICK
        };
        select! {
            recv(input.rx) -> ev => match ev {
                Ok(Ok(Incoming::Event(ev))) => {
                    let changed = on_terminal_event(app, ev);
                    exports.start(app);
                    dirty |= changed;
                    urgent |= changed;
                }
                Ok(Ok(Incoming::Resumed)) => {
                    reenter(&mut term).context("setting the terminal up again")?;
                    dirty = true;
                    urgent = true;
                }
                Ok(Err(e)) => return Err(e).context("reading the terminal"),
                Err(_) => bail!("the terminal input thread stopped"),
            },
            recv(feed) -> batch => match batch {
                Ok(batch) => {
                    drain(app, batch, feed, spares);
                    app.settle();
                    dirty = true;
                }
                Err(_) => {
                    feed = &never;
                    app.status.feed_closed = true;
                    app.settle();
                    dirty = true;
                }
            },
            recv(usage.answers) -> answer => {
                match answer {
                    Ok(answer) => {
                        usage.answered(app, answer);
                        dirty = true;
                    }
                    // No sampling thread (a replay), or it ended: wait on
                    // it no more.
                    Err(_) => usage.stop(),
                }
            },
            recv(exports.done) -> said => {
                if let Ok(said) = said {
                    app.flash = Some(said);
                    dirty = true;
                }
            },
            recv(ticker) -> _ => {
                let before = (app.status, app.now);
                tick(app, &mut meter);
                usage.ask(app);
                // Live: ages and the new-process highlight move with the
                // clock, once a second is enough for them.
                dirty |= app.status != before.0
                    || (app.is_live() && app.now / 1_000_000_000 != before.1 / 1_000_000_000);
            },
            default(wait) => {},
        }
    }
    drop(input);
    Ok(())
}

/// When the next frame may be drawn, after one drawn at `last` (`None`:
/// at once): soon after something the user did (`urgent`), later after
/// what only the feed or the clock changed.
fn draw_due(last: Option<Instant>, urgent: bool) -> Option<Instant> {
    last.map(|t| t + if urgent { FRAME } else { FEED_FRAME })
}

/// Chains being written to their files. A chain is built on the view's
/// thread (from the tree, as the view shows it) and written on a thread of
/// its own: a whole host's is tens of MB, about a second and a half to
/// format and write, and the view goes on meanwhile. Each says in the
/// footer where it went (or why not) when done.
struct Exports {
    tx: Sender<String>,
    done: Receiver<String>,
    writing: Vec<JoinHandle<()>>,
}

impl Exports {
    fn new() -> Self {
        let (tx, done) = crossbeam_channel::unbounded();
        Exports {
            tx,
            done,
            writing: Vec::new(),
        }
    }

    /// Starts writing the causal chain the view asked for, if any, into
    /// the current directory.
    fn start(&mut self, app: &mut App) {
        let Some(id) = app.export.take() else {
            return;
        };
        if id.index() >= app.tree.len() {
            return;
        }
        let doc = crate::export::chain(&app.tree, &app.header, id, app.now_ktime());
        let n = doc["processes"].as_array().map_or(0, Vec::len);
        let counted = super::format::counted(n as u64, "process", "processes");
        app.flash = Some(format!("writing the chain of {counted}…"));
        let tx = self.tx.clone();
        let write = move || {
            let written = std::env::current_dir()
                .context("finding the current directory")
                .and_then(|dir| crate::export::write_file(&dir, &doc));
            let _ = tx.send(match written {
                Ok(path) => format!(
                    "chain of {counted} written to {} (and as text, .txt)",
                    path.display()
                ),
                Err(e) => format!("export failed: {e:#}"),
            });
        };
        self.writing.retain(|t| !t.is_finished());
        match std::thread::Builder::new()
            .name("causeway-export".into())
            .spawn(write)
        {
            Ok(t) => self.writing.push(t),
            Err(e) => app.flash = Some(format!("export failed: cannot start its thread: {e}")),
        }
    }
}

/// However the view ends, the chains still being written are finished:
/// a file cut short by the exit would look whole.
impl Drop for Exports {
    fn drop(&mut self) {
        for t in self.writing.drain(..) {
            let _ = t.join();
        }
    }
}

/// Applies `first`, then what is waiting on the feed, within the limits,
/// handing each batch back once applied.
fn drain(app: &mut App, first: Batch, feed: &Receiver<Batch>, spares: Option<&Spares>) {
    let start = Instant::now();
    let mut applied = 0;
    let mut batch = first;
    loop {
        for msg in &batch {
            app.apply(msg);
        }
        applied += batch.len();
        if let Some(spares) = spares {
            spares.recycle(batch);
        }
        if applied >= BATCH || start.elapsed() >= BATCH_TIME {
            break;
        }
        match feed.try_recv() {
            Ok(next) => batch = next,
            Err(_) => break,
        }
    }
}

fn on_terminal_event(app: &mut App, ev: Event) -> bool {
    match ev {
        Event::Key(key) => match key_to_action(key, app.input_mode()) {
            Some(a) => {
                app.handle(a);
                true
            }
            None => false,
        },
        Event::Mouse(m) => match mouse_to_action(m) {
            Some(a) => {
                app.handle(a);
                true
            }
            None => false,
        },
        Event::Resize(w, h) => {
            app.resize(w, h);
            true
        }
        _ => false,
    }
}

/// Events per second and memory, measured about once a second.
struct Meter {
    at: Instant,
    events: u64,
}

fn tick(app: &mut App, meter: &mut Option<Meter>) {
    if app.is_live() {
        if let Ok(now) = crate::journal::boot_clock_ns() {
            app.now = now;
        }
    }
    let events = app.tree.stats().events;
    let elapsed = match meter {
        Some(m) if m.at.elapsed() < Duration::from_secs(1) => return,
        Some(m) => Some((m.at.elapsed(), m.events)),
        None => None,
    };
    if let (true, Some((dt, before))) = (app.is_live(), elapsed) {
        app.status.rate = Some(events.saturating_sub(before) as f64 / dt.as_secs_f64());
    }
    app.status.mem = resident_bytes();
    *meter = Some(Meter {
        at: Instant::now(),
        events,
    });
}

/// How often the live view samples what its running processes cost.
const USAGE_EVERY: Duration = Duration::from_secs(2);

/// A sample waits at least this many times as long as the last one took:
/// reading `/proc/PID/stat` costs 20–26 µs a process on this project's
/// VM (`bench/usage_cost.sh`), so a host of 2,000 processes is sampled
/// about every 5 s, not every 2, and sampling never takes more than 1 %
/// of a CPU.
const USAGE_SPACING: u32 = 100;

/// The live view's sampling of what its running processes cost (see
/// [`crate::usage`]), on a thread of its own so that the view never waits
/// for `/proc`; nothing in a replay.
struct Usage {
    /// Processes to sample go out; samples, with what each took, come back.
    ask: Option<Sender<Vec<crate::event::ProcKey>>>,
    answers: Receiver<(crate::usage::Sample, u64, Duration)>,
    /// A sample was asked for and has not come back.
    waiting: bool,
    last: Option<Instant>,
    took: Duration,
}

impl Usage {
    fn start(app: &App) -> Usage {
        let (ask, asked) = crossbeam_channel::bounded::<Vec<crate::event::ProcKey>>(1);
        let (answer, answers) = crossbeam_channel::bounded(1);
        let spawned = app.is_live().then(|| {
            std::thread::Builder::new()
                .name("causeway-usage".into())
                .spawn(move || {
                    let mut sampler = crate::usage::Sampler::new();
                    for running in asked {
                        let start = Instant::now();
                        let now = crate::journal::boot_clock_ns().unwrap_or(0);
                        let sample = sampler.sample(&running, now);
                        if answer.send((sample, now, start.elapsed())).is_err() {
                            return;
                        }
                    }
                })
        });
        // Without the thread (a replay, or none could be started) the view
        // goes on without the figures.
        let (ask, answers) = match spawned {
            Some(Ok(_)) => (Some(ask), answers),
            _ => (None, crossbeam_channel::never()),
        };
        Usage {
            ask,
            answers,
            waiting: false,
            last: None,
            took: Duration::ZERO,
        }
    }

    /// Asks for a sample when one is due (at once, a second later, then
    /// every [`USAGE_EVERY`], spaced out by [`USAGE_SPACING`]).
    fn ask(&mut self, app: &App) {
        let Some(ask) = self.ask.as_ref() else {
            return;
        };
        let every = if app.usage.values().all(|u| u.cpu.is_none()) {
            Duration::from_secs(1)
        } else {
            USAGE_EVERY
        };
        let every = every.max(self.took * USAGE_SPACING);
        if self.waiting || self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        if ask.try_send(crate::usage::running(&app.tree)).is_ok() {
            self.waiting = true;
            self.last = Some(Instant::now());
        }
    }

    /// No more samples.
    fn stop(&mut self) {
        self.ask = None;
        self.answers = crossbeam_channel::never();
    }

    /// Takes a sample that came back.
    fn answered(
        &mut self,
        app: &mut App,
        (sample, now, took): (crate::usage::Sample, u64, Duration),
    ) {
        self.waiting = false;
        self.took = took;
        app.sampled(sample, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dumb_terminal_is_refused_and_others_are_not() {
        assert!(dumb_terminal(Some(std::ffi::OsStr::new("dumb"))));
        for t in ["xterm-256color", "linux", "screen", "tmux-256color", ""] {
            assert!(!dumb_terminal(Some(std::ffi::OsStr::new(t))), "{t}");
        }
        assert!(!dumb_terminal(None));
    }

    #[test]
    fn a_write_to_a_closed_terminal_says_it_was_closed() {
        let hung = closed_if_hung_up(std::io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(hung.to_string(), "the terminal was closed");
        let other = closed_if_hung_up(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(other.raw_os_error(), Some(libc::ENOSPC));
    }

    #[test]
    fn what_the_user_did_is_drawn_sooner_than_what_the_feed_changed() {
        assert_eq!(draw_due(None, false), None, "the first frame at once");
        let t = Instant::now();
        assert_eq!(draw_due(Some(t), true), Some(t + FRAME));
        assert_eq!(draw_due(Some(t), false), Some(t + FEED_FRAME));
        assert!(FRAME < FEED_FRAME);
    }

    #[test]
    fn the_view_applies_each_batch_and_hands_it_back_to_the_probe() {
        let msgs = crate::ui::synth::host(50, 7);
        let (half, rest) = msgs.split_at(msgs.len() / 2);
        let (feed_tx, feed) = crossbeam_channel::bounded(4);
        let (spares, back) = Spares::channel(4);
        let first = half.to_vec();
        let capacity = first.capacity();
        feed_tx.send(rest.to_vec()).expect("send");
        let mut app = crate::ui::tests::live(&[]);
        drain(&mut app, first, &feed, Some(&spares));
        let whole = crate::ui::tests::live(&msgs);
        assert_eq!(app.tree.len(), whole.tree.len());
        assert_eq!(app.tree.stats().events, whole.tree.stats().events);
        let returned: Vec<Batch> = back.try_iter().collect();
        assert_eq!(returned.len(), 2, "both batches handed back");
        assert!(returned.iter().all(Vec::is_empty));
        assert_eq!(returned[0].capacity(), capacity, "the same allocation");
    }
}
