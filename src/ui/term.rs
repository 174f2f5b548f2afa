//! The terminal and the event loop: one thread reads the terminal, the
//! feed arrives on a channel, a tick measures the status figures, and the
//! screen is redrawn when something changed, at most ~30 times a second.

use std::io::{IsTerminal, Stdout, Write};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, select};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use super::app::App;
use super::keys::{key_to_action, mouse_to_action};
use crate::event::Message;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);
/// How often the status figures are measured.
const TICK: Duration = Duration::from_millis(250);
/// Most messages applied before the loop looks at the keyboard again...
const BATCH: usize = 20_000;
/// ...or this long, whichever comes first.
const BATCH_TIME: Duration = Duration::from_millis(8);

type Term = Terminal<CrosstermBackend<Stdout>>;

/// Puts the terminal back as it was: cooked mode, main screen, cursor,
/// no mouse reports. Safe to call more than once.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = out.flush();
}

/// Restores the terminal when dropped: on return, on error and on unwind.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic prints its message on a restored terminal, not into the
/// alternate screen in raw mode.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

fn enter() -> Result<(Guard, Term)> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the view needs a terminal (standard input and output are not both one); \
             `causeway record` writes a journal without it"
        );
    }
    install_panic_hook();
    enable_raw_mode().context("cannot put the terminal in raw mode")?;
    // From here on, the guard undoes whatever succeeded.
    let guard = Guard;
    execute!(
        std::io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )
    .context("cannot set up the terminal")?;
    let term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .context("cannot set up the terminal")?;
    Ok((guard, term))
}

/// Reads the terminal on its own thread until told to stop.
///
/// crossterm's reader spins forever once the terminal hangs up (a read of
/// 0 bytes or EIO is retried in a loop: crossterm issue #793, PR #1067
/// not released as of 0.29), so the thread waits for input
/// with its own poll(2) on the terminal, which reports the hangup, and
/// calls crossterm only when there are bytes to parse. Resizes come from
/// SIGWINCH, watched here too for the same reason.
struct Input {
    rx: Receiver<std::io::Result<Event>>,
    stop: Arc<AtomicBool>,
    /// Disconnected when the thread has ended.
    done: Receiver<()>,
    thread: Option<JoinHandle<()>>,
    winch: Option<signal_hook::SigId>,
}

enum Ready {
    Input,
    Hangup,
    Timeout,
}

/// Waits up to `ms` for the terminal (standard input, which `enter`
/// checked is one, and which crossterm then reads) to have input.
fn tty_ready(ms: i32) -> std::io::Result<Ready> {
    let mut fd = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `fd` is one valid, writable pollfd and the count says one.
    let rc = unsafe { libc::poll(&mut fd, 1, ms) };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(Ready::Timeout)
        } else {
            Err(e)
        };
    }
    Ok(if rc == 0 {
        Ready::Timeout
    } else if fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Ready::Hangup
    } else {
        Ready::Input
    })
}

/// Reads what is there: one event, then whatever crossterm has already
/// parsed (several keys can arrive in one read).
fn read_events(tx: &crossbeam_channel::Sender<std::io::Result<Event>>) -> bool {
    let mut ev = event::read();
    loop {
        let failed = ev.is_err();
        if tx.send(ev).is_err() || failed {
            return false;
        }
        match event::poll(Duration::ZERO) {
            Ok(true) => ev = event::read(),
            Ok(false) => return true,
            Err(e) => ev = Err(e),
        }
    }
}

impl Input {
    fn start() -> Result<Input> {
        let (tx, rx) = crossbeam_channel::bounded(256);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(0);
        let stop = Arc::new(AtomicBool::new(false));
        let resized = Arc::new(AtomicBool::new(false));
        let winch =
            signal_hook::flag::register(signal_hook::consts::SIGWINCH, Arc::clone(&resized))
                .context("watching terminal resizes")?;
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("causeway-input".into())
            .spawn(move || {
                let _done = done_tx;
                while !flag.load(Ordering::Relaxed) {
                    match tty_ready(50) {
                        Ok(Ready::Timeout) => {}
                        Ok(Ready::Input) => {
                            if !read_events(&tx) {
                                break;
                            }
                        }
                        Ok(Ready::Hangup) => {
                            let gone = std::io::Error::new(
                                std::io::ErrorKind::BrokenPipe,
                                "the terminal was closed",
                            );
                            let _ = tx.send(Err(gone));
                            break;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    }
                    if resized.swap(false, Ordering::Relaxed) {
                        let ev =
                            ratatui::crossterm::terminal::size().map(|(w, h)| Event::Resize(w, h));
                        if tx.send(ev).is_err() {
                            break;
                        }
                    }
                }
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                signal_hook::low_level::unregister(winch);
                return Err(e).context("starting the terminal input thread");
            }
        };
        Ok(Input {
            rx,
            stop,
            done,
            thread: Some(thread),
            winch: Some(winch),
        })
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(id) = self.winch.take() {
            signal_hook::low_level::unregister(id);
        }
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

/// SIGTERM, SIGHUP and SIGINT set a flag the loop checks: the view then
/// ends normally and the terminal is restored. A second one while the
/// first is handled exits at once.
struct Signals {
    flag: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

const SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
];

impl Signals {
    fn register() -> Result<Signals> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut signals = Signals {
            flag: Arc::clone(&flag),
            ids: Vec::new(),
        };
        for sig in SIGNALS {
            // Handlers run in order: a second signal, with the flag already
            // set by the first, ends the process at once.
            signals.ids.push(
                signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag))
                    .context("installing signal handlers")?,
            );
            signals.ids.push(
                signal_hook::flag::register(sig, Arc::clone(&flag))
                    .context("installing signal handlers")?,
            );
        }
        Ok(signals)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        // signal-hook keeps its handler installed, which would leave these
        // signals ignored from now on: give them back their default action.
        let always = Arc::new(AtomicBool::new(true));
        for sig in SIGNALS {
            let _ = signal_hook::flag::register_conditional_default(sig, Arc::clone(&always));
        }
    }
}

/// Resident memory of this process, from /proc/self/statm.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value; no memory is passed.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096))
}

/// Runs the view until the user quits, a signal asks, or the terminal
/// fails. `feed` is the live message channel (none for a replay).
pub fn run(app: &mut App, feed: Option<&Receiver<Message>>) -> Result<()> {
    let signals = Signals::register()?;
    let (_guard, mut term) = enter()?;
    let input = Input::start()?;
    let size = term.size().context("reading the terminal size")?;
    app.resize(size.width, size.height);

    let never = crossbeam_channel::never();
    let mut feed = feed.unwrap_or(&never);
    let ticker = crossbeam_channel::tick(TICK);
    let mut meter = None;
    tick(app, &mut meter);

    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if signals.flag.load(Ordering::Relaxed) || app.quit {
            break;
        }
        let now = Instant::now();
        let due = last_draw.map_or(now, |t| t + FRAME);
        if dirty && now >= due {
            term.draw(|f| super::render::draw(f, app))
                .context("drawing the view")?;
            last_draw = Some(now);
            dirty = false;
        }
        let wait = if dirty {
            due.saturating_duration_since(Instant::now())
        } else {
            TICK
        };
        select! {
            recv(input.rx) -> ev => match ev {
                Ok(Ok(ev)) => dirty |= on_terminal_event(app, ev),
                Ok(Err(e)) => return Err(e).context("reading the terminal"),
                Err(_) => bail!("the terminal input thread stopped"),
            },
            recv(feed) -> msg => match msg {
                Ok(msg) => {
                    app.apply(&msg);
                    drain(app, feed);
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
            recv(ticker) -> _ => {
                let before = (app.status, app.now);
                tick(app, &mut meter);
                // Live: ages and the new-process highlight move with the
                // clock, once a second is enough for them.
                dirty |= app.status != before.0
                    || (app.is_live() && app.now / 1_000_000_000 != before.1 / 1_000_000_000);
            },
            default(wait) => {},
        }
    }
    drop(input);
    drop(term);
    Ok(())
}

/// Applies what is waiting on the feed, within the batch limits.
fn drain(app: &mut App, feed: &Receiver<Message>) {
    let start = Instant::now();
    for i in 0..BATCH {
        match feed.try_recv() {
            Ok(msg) => app.apply(&msg),
            Err(_) => break,
        }
        if i % 256 == 255 && start.elapsed() >= BATCH_TIME {
            break;
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
