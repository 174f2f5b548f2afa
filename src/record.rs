//! `causeway record`: the headless recorder. Writes a journal until SIGINT,
//! SIGTERM, the end of `--duration`, or the reader going away (`| head`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::RecvTimeoutError;

use crate::event::Message;
use crate::journal::{Counts, Writer, boot_clock_ns};
use crate::live::{CHANNEL_CAPACITY, Source};

mod rotate;

pub(crate) use rotate::Rotation;
pub use rotate::{DEFAULT_KEEP, MIN_SIZE, Rotate, numbered, parse_size};

/// After writing, the recorder lets the next batches gather for this long
/// rather than waiting for each: under load, waking for every batch costs
/// more than writing it. Journal lines reach the output at most this much
/// later.
const LINGER: Duration = Duration::from_millis(20);

/// Where a journal's lines go (a file, stdout, a rotating file).
pub type Out = Box<dyn Sink>;

/// A journal's output: written to, and synced to its disk when it is a
/// file (when the recording stops, and when a rotated file is closed), so
/// that a power loss after that loses none of it.
pub trait Sink: Write + Send {
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Whether a write may wait on a reader (a pipe, a terminal, a socket)
    /// rather than a disk, so that a reader that stopped reading can keep
    /// it waiting for ever.
    fn has_a_reader(&self) -> bool {
        true
    }
}

impl Sink for std::fs::File {
    fn sync(&mut self) -> io::Result<()> {
        sync_data(self)
    }

    fn has_a_reader(&self) -> bool {
        self.metadata().is_ok_and(|m| !m.is_file())
    }
}

/// Syncs a file's data to its disk. A device or a pipe (`--output
/// /dev/null`, a FIFO) has no disk to sync to: the kernel says EINVAL,
/// and that is not an error here.
pub(crate) fn sync_data(file: &std::fs::File) -> io::Result<()> {
    match file.sync_data() {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        r => r,
    }
}

impl Sink for io::Stdout {
    fn has_a_reader(&self) -> bool {
        use std::os::fd::AsFd;
        // Redirected to a file (`> j.jsonl`): a disk, not a reader.
        self.as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .is_ok_and(|f| f.has_a_reader())
    }
}

/// What `record` wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Processes running at start (the /proc scan).
    pub processes: u64,
    /// Processes started while it recorded.
    pub started: u64,
    /// TCP sockets open at start (listed before the first event).
    pub sockets: u64,
    /// TCP sockets found stuck later (connecting, accepted and unused, or
    /// closed by their peer): not open at start, or not stuck then.
    pub found: u64,
    /// Event lines written (to a pipe: not necessarily read).
    pub events: u64,
    /// Events received once the output failed (its reader gone), not
    /// written.
    pub unwritten: u64,
    pub lost: u64,
    pub malformed: u64,
    /// CPU time (user + system, all threads) spent after start-up: probe
    /// loading and the /proc scan are not counted.
    pub cpu: Duration,
    /// Files written: more than one with `--rotate`.
    pub files: u32,
    /// Of those, the oldest removed to keep `keep` besides the current
    /// one (`--keep`).
    pub removed: u32,
    pub keep: u32,
    /// Events in the files left, when some were removed.
    pub kept_events: u64,
    /// Writing the journal failed (`live --record` on a full disk): what
    /// was counted was recorded, but its last lines are not in it.
    pub write_failed: bool,
}

/// Where `record` writes.
pub enum Output {
    /// One journal, on this writer.
    Stream(Out),
    /// A journal that moves on to a new file at a size (`--rotate`).
    Rotating(Rotate),
}

impl Summary {
    /// What a journal holds, by its writer's `counts`, in `files` files.
    pub fn of(counts: Counts, files: u32) -> Summary {
        Summary {
            processes: counts.processes,
            sockets: counts.sockets,
            found: counts.found,
            events: counts.events,
            started: counts.started,
            lost: counts.lost,
            files,
            ..Summary::default()
        }
    }

    /// What was recorded, as said when the recorder stops: `recorded 256
    /// processes (85 running at start, 171 started), 1 socket open at
    /// start and 528 events`, then what was not written or lost, if
    /// anything. Sockets found stuck later are said apart from those open
    /// at start: counted with them, a recording that began with none read
    /// as if it had begun with a dozen. With `--rotate`, the files removed
    /// by `--keep` are said, and what the files left hold: the events are
    /// what was recorded in all, most of which may be gone.
    pub fn said(&self) -> String {
        use crate::ui::format::{count, counted};
        let mut s = format!(
            "recorded {} ({} running at start, {} started), {}",
            counted(self.processes + self.started, "process", "processes"),
            count(self.processes),
            count(self.started),
            counted(
                self.sockets,
                "socket open at start",
                "sockets open at start"
            ),
        );
        if self.found > 0 {
            s += ", ";
            s += &counted(
                self.found,
                "socket found stuck later",
                "sockets found stuck later",
            );
        }
        s += " and ";
        s += &counted(self.events, "event", "events");
        if self.files > 1 {
            s += &format!(" in {} files", count(u64::from(self.files)));
        }
        if self.removed > 0 {
            s += &format!(" ({})", self.removed_said());
        }
        if self.unwritten > 0 {
            s += &format!(
                ", {} after its reader left not written",
                counted(self.unwritten, "event", "events")
            );
        }
        if self.lost > 0 {
            s += &format!(
                ", {} LOST (ring buffer full)",
                crate::ui::format::count(self.lost)
            );
        }
        if self.write_failed {
            s += ", but writing it failed: its last lines are not in it";
        }
        s
    }

    /// The files `--keep` removed, and what those left hold: `the oldest
    /// 18 removed by --keep 2: the 3 left hold 702 of the events`.
    fn removed_said(&self) -> String {
        use crate::ui::format::count;
        let oldest = if self.removed == 1 {
            "the oldest".to_string()
        } else {
            format!("the oldest {}", count(u64::from(self.removed)))
        };
        let left = self.files.saturating_sub(self.removed);
        let left = if left == 1 {
            "the one left holds".to_string()
        } else {
            format!("the {} left hold", count(u64::from(left)))
        };
        format!(
            "{oldest} removed by --keep {}: {left} {} of the events",
            self.keep,
            count(self.kept_events)
        )
    }
}

/// CPU time of this process so far, all threads.
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; getrusage fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Refuses to begin a journal (without `--rotate`) over a file that holds
/// something: `record -o` given last night's journal's name would empty
/// it. A device (`/dev/null`), a pipe or an empty file is written to.
pub fn refuse_existing(path: &Path) -> Result<()> {
    refuse_over(path, true)
}

/// Refuses a file that holds something as an output (see
/// [`refuse_existing`]); with `rotate`, says that `--rotate` would keep it
/// (`record` and `live --record` have it; `export` does not).
pub fn refuse_over(path: &Path, rotate: bool) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => {
            let keep = if rotate {
                format!(" (--rotate SIZE would keep it as {}.1)", path.display())
            } else {
                String::new()
            };
            bail!(
                "{} already exists ({}): give another file, or remove it first{keep}",
                path.display(),
                crate::ui::format::bytes(m.len()),
            )
        }
        _ => Ok(()),
    }
}

/// A journal's file that is not there yet, about to be created: removed
/// again by [`Fresh::undo`] when the start fails before anything is
/// written to it (the probe did not load), so that a refused start leaves
/// no empty file behind. A file that was there (an empty one keeps its
/// permissions) is left as it is.
#[derive(Debug)]
pub struct Fresh(Option<PathBuf>);

impl Fresh {
    /// `path` (`None` or `-`: stdout), noted when nothing is there now.
    pub fn at(path: Option<&Path>) -> Fresh {
        let absent = |p: &&Path| {
            p.as_os_str() != "-"
                && std::fs::symlink_metadata(p).is_err_and(|e| e.kind() == io::ErrorKind::NotFound)
        };
        Fresh(path.filter(absent).map(Path::to_path_buf))
    }

    /// Removes the file if this run created it and it is still empty: not
    /// when another recorder, started at the same moment, made it first
    /// (this run was refused it).
    pub fn undo(&self) {
        if let Some(p) = &self.0 {
            if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0)
                && crate::journal::created_here(p)
            {
                if let Err(e) = std::fs::remove_file(p) {
                    log::warn!("removing the empty {}: {e}", p.display());
                }
            }
        }
    }
}

/// Where the journal goes: a file, or stdout for `-` or no `--output`.
/// Unbuffered: the journal writer hands over large chunks of lines.
pub fn open_output(output: Option<&PathBuf>) -> Result<Out> {
    check_output(output)?;
    Ok(match output {
        Some(p) if p.as_os_str() != "-" => Box::new(
            crate::journal::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
        _ => Box::new(io::stdout()),
    })
}

/// Refuses an output the journal must not go to, before anything is
/// created: a file that holds something ([`refuse_existing`]), or (for
/// `-` or no `--output`) standard output on a terminal.
pub fn check_output(output: Option<&PathBuf>) -> Result<()> {
    match output {
        Some(p) if p.as_os_str() != "-" => refuse_existing(p),
        _ => {
            use std::io::IsTerminal;
            // A journal is for a file or a program: on a terminal it is a
            // flood of JSON, and every command line on the host (secrets
            // included) on the screen.
            if io::stdout().is_terminal() {
                bail!(
                    "the journal would go to the terminal: give --output FILE, or pipe it (causeway record | less)"
                );
            }
            Ok(())
        }
    }
}

/// Parses a duration such as `5s`, `250ms`, `2m`, `1h` or `1m30s`. A bare
/// number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let too_long = || anyhow!("duration {s:?} is too long");
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Duration::try_from_secs_f64(secs).map_err(|_| too_long());
        }
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let unit_end = rest[digits..]
            .find(|c: char| c.is_ascii_digit())
            .map_or(rest.len(), |i| digits + i);
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| anyhow!("bad duration {s:?} (try 5s, 250ms, 2m, 1h)"))?;
        let unit = match &rest[digits..unit_end] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            other => bail!("bad duration unit {other:?} in {s:?} (use ms, s, m or h)"),
        };
        total = Duration::try_from_secs_f64(value * unit)
            .ok()
            .and_then(|d| total.checked_add(d))
            .ok_or_else(too_long)?;
        rest = &rest[unit_end..];
    }
    Ok(total)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// How long `record`, once it is to stop, waits for its output to take
/// any byte before it gives up on it: a reader that stopped reading (`|
/// less` left open, `| sleep`) or a terminal that does not would otherwise
/// keep it, and the probe attached, past `--duration`, SIGTERM and SIGINT.
const STALLED: Duration = Duration::from_secs(10);

/// An output that counts the bytes it took, for the watch of [`record`].
struct Counting {
    inner: Out,
    taken: Arc<AtomicU64>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.taken.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Sink for Counting {
    fn sync(&mut self) -> io::Result<()> {
        self.inner.sync()
    }

    fn has_a_reader(&self) -> bool {
        self.inner.has_a_reader()
    }
}

/// What the watch of [`record`] follows.
#[derive(Default)]
struct Watch {
    /// When `--duration` ends: set once the journal's opening is written.
    deadline: std::sync::OnceLock<Instant>,
    /// `--duration`: due from the probe's start when the opening itself
    /// never gets written (a host whose listing fills the pipe).
    duration: Option<Duration>,
    /// When the probe began running: before, a slow start is not a
    /// stalled output.
    started: std::sync::OnceLock<Instant>,
    /// Bytes the output took.
    taken: Arc<AtomicU64>,
    finished: AtomicBool,
}

/// Records until stopped. `stop` is raised by SIGINT/SIGTERM handlers (or a
/// test); the recorder then drains everything the probe had and flushes.
/// An output with a reader (a pipe, a terminal: not a file, whose disk
/// may just be slow to sync) that takes no byte for [`STALLED`] once it is
/// time to stop ends the process, saying so.
pub fn record(output: Output, duration: Option<Duration>, stop: &AtomicBool) -> Result<Summary> {
    let watch = Watch {
        duration,
        ..Watch::default()
    };
    let watched = matches!(&output, Output::Stream(out) if out.has_a_reader());
    let output = match output {
        Output::Stream(out) if watched => Output::Stream(Box::new(Counting {
            inner: out,
            taken: Arc::clone(&watch.taken),
        })),
        other => other,
    };
    std::thread::scope(|scope| {
        if watched {
            let spawned = std::thread::Builder::new()
                .name("causeway-stop".into())
                .spawn_scoped(scope, || watch_stop(stop, &watch, STALLED));
            if let Err(e) = spawned {
                log::warn!("watching the output at the end: {e}");
            }
        }
        let result = record_until(output, duration, stop, &watch);
        watch.finished.store(true, Ordering::Relaxed);
        result
    })
}

/// Once the probe runs and `stop` is raised or the deadline passes: if the
/// output takes no byte for `stalled`, says so and ends the process (the
/// probe is detached as its descriptors close). Returns when finished.
fn watch_stop(stop: &AtomicBool, watch: &Watch, stalled: Duration) {
    let mut since: Option<(Instant, u64)> = None;
    while !watch.finished.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let Some(&started) = watch.started.get() else {
            continue;
        };
        // Stopped, or past --duration: from the end of the opening, or
        // from the probe's start while the opening is still being written.
        let ends = watch
            .deadline
            .get()
            .copied()
            .or_else(|| watch.duration.map(|d| started + d));
        let due = stop.load(Ordering::Relaxed) || ends.is_some_and(|d| Instant::now() >= d);
        if !due {
            continue;
        }
        let now = watch.taken.load(Ordering::Relaxed);
        match since {
            Some((at, seen)) if seen == now => {
                if at.elapsed() >= stalled && !watch.finished.load(Ordering::Relaxed) {
                    give_up(stalled);
                }
            }
            _ => since = Some((Instant::now(), now)),
        }
    }
}

/// Says why the recorder gives up on its output, and ends the process. The
/// line is written from a thread of its own: stderr may be the stuck pipe
/// itself (`2>&1 | sleep 60`), and the exit must not wait on it.
fn give_up(stalled: Duration) -> ! {
    let secs = stalled.as_secs();
    let _ = std::thread::Builder::new().spawn(move || {
        say!(
            "causeway: stopped with events not written: the journal's output took nothing for {secs} s (a reader that stopped reading?); its last line may be cut short"
        );
    });
    std::thread::sleep(Duration::from_secs(1));
    std::process::exit(1);
}

fn record_until(
    output: Output,
    duration: Option<Duration>,
    stop: &AtomicBool,
    watch: &Watch,
) -> Result<Summary> {
    let (mut rotation, out) = match output {
        Output::Stream(out) => (None, out),
        Output::Rotating(r) => {
            let (rotation, out) = Rotation::start(r)?;
            (Some(rotation), out)
        }
    };
    let src = Source::start()?;
    if let Some(w) = src.probe.features().warning() {
        say!("causeway: warning: {w}");
    }
    let started = cpu_time();
    let mut w = Writer::new(out, &src.header).context("writing the journal header")?;
    let _ = watch.started.set(Instant::now());
    let result = write_all(&mut w, &src, duration, stop, &mut rotation, &watch.deadline);
    // Whatever happened, stop the probe: drain the channel until the probe
    // thread has delivered everything and gone.
    src.probe.request_stop();
    let mut write_failed = result.is_err();
    // What could not be written once the output failed (the reader of a
    // pipe gone), counted so the summary does not pass it over.
    let (mut unwritten, mut unwritten_lost) = (0, 0);
    for batch in src.events.iter() {
        if !write_failed && w.write_batch(&batch).is_err() {
            write_failed = true;
        }
        if write_failed {
            for msg in &batch {
                match msg {
                    Message::Event(_) => unwritten += 1,
                    Message::Lost { count, .. } => unwritten_lost += count,
                    _ => {}
                }
            }
        }
        src.probe.recycle(batch);
    }
    let mut summary = rotation
        .as_ref()
        .map_or_else(|| Summary::of(w.counts(), 1), |r| r.summary(&w));
    summary.lost += unwritten_lost;
    summary.unwritten = unwritten;
    summary.malformed = src.probe.stats().malformed.load(Ordering::Relaxed);
    summary.cpu = cpu_time().saturating_sub(started);
    let probe = src.probe.stop();
    let flushed = if write_failed {
        Ok(())
    } else {
        w.flush()
            .and_then(|()| w.get_mut().sync())
            .map_err(anyhow::Error::from)
    };
    match result.and(flushed) {
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => return Err(e.context("writing the journal")),
        Ok(()) => {}
    }
    probe?;
    Ok(summary)
}

/// Writes the seeds, then batches as they come, until stopped. Each batch
/// reaches the output whole; `flush` is for an output that buffers. With a
/// rotation, moves on to a new file between batches once the file is full.
fn write_all(
    w: &mut Writer<Out>,
    src: &Source,
    duration: Option<Duration>,
    stop: &AtomicBool,
    rotation: &mut Option<Rotation>,
    ends: &std::sync::OnceLock<Instant>,
) -> Result<()> {
    let seeds = crate::live::seed_messages(src.seeds.iter().cloned());
    w.write_batch(&seeds)?;
    w.flush()?;
    if let Some(r) = rotation.as_mut() {
        r.observe(&seeds);
    }
    // --duration counts from here, once the probe runs and the journal's
    // opening is written.
    let deadline = duration.map(|d| *ends.get_or_init(|| Instant::now() + d));
    let tick = Duration::from_millis(100);
    loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        // An allocation failed and the reserve was given back: stopped as
        // on a signal, while what was received can still be written and
        // summed up.
        if crate::memory::running_low() {
            say!(
                "causeway: {}",
                crate::memory::low_said("the recording stopped")
            );
            return Ok(());
        }
        let wait = deadline.map_or(tick, |d| {
            d.saturating_duration_since(Instant::now()).min(tick)
        });
        match src.events.recv_timeout(wait) {
            Ok(batch) => {
                put(w, &batch, rotation, &src.header)?;
                src.probe.recycle(batch);
                // Write what is queued, then flush once the queue is empty.
                for batch in src.events.try_iter().take(CHANNEL_CAPACITY) {
                    put(w, &batch, rotation, &src.header)?;
                    src.probe.recycle(batch);
                }
                if src.events.is_empty() {
                    w.flush()?;
                }
                let linger = deadline.map_or(LINGER, |d| {
                    d.saturating_duration_since(Instant::now()).min(LINGER)
                });
                std::thread::sleep(linger);
            }
            Err(RecvTimeoutError::Timeout) => w.flush()?,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Writes `batch`, and lets the rotation take note of it; moves on to a
/// new file once this one is full.
pub(crate) fn put(
    w: &mut Writer<Out>,
    batch: &[Message],
    rotation: &mut Option<Rotation>,
    header: &crate::journal::Header,
) -> Result<()> {
    let Some(r) = rotation.as_mut() else {
        return Ok(w.write_batch(batch)?);
    };
    // In parts, so that a file grows past its size by a part at most (a
    // batch can hold 2,048 lines): a line for each KiB of the size, so a
    // part is about a thousandth of a file, and each part is one write.
    for part in batch.chunks(r.part_lines()) {
        w.write_batch(part)?;
        r.observe(part);
        if r.due() {
            r.rotate(w, header, boot_clock_ns()?)?;
        }
    }
    Ok(())
}

/// Raises `flag` on SIGINT and SIGTERM.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&flag))
            .context("installing the signal handlers")?;
    }
    Ok(flag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_has_a_reader_and_a_file_a_disk() {
        use std::os::fd::FromRawFd;
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("j.jsonl")).unwrap();
        assert!(!file.has_a_reader());
        let mut fds = [0; 2];
        // SAFETY: pipe writes two new descriptors into the array it is
        // given, of the length it needs.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both were just made and are owned by nothing else.
        let (r, w) = unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        };
        assert!(w.has_a_reader());
        drop(r);
    }

    #[test]
    fn sockets_found_later_are_said_apart_from_those_open_at_start() {
        let s = Summary {
            processes: 75,
            started: 19_175,
            sockets: 0,
            found: 12,
            events: 56_897,
            files: 1,
            ..Summary::default()
        };
        assert_eq!(
            s.said(),
            "recorded 19,250 processes (75 running at start, 19,175 started), \
             0 sockets open at start, 12 sockets found stuck later and 56,897 events"
        );
        // None found: not said; one of each in the singular.
        let s = Summary {
            sockets: 1,
            found: 0,
            ..s
        };
        assert!(
            s.said()
                .ends_with(", 1 socket open at start and 56,897 events"),
            "{}",
            s.said()
        );
        let s = Summary { found: 1, ..s };
        assert!(
            s.said()
                .contains(", 1 socket open at start, 1 socket found stuck later and "),
            "{}",
            s.said()
        );
    }

    #[test]
    fn files_removed_by_keep_are_said_with_what_those_left_hold() {
        let s = Summary {
            processes: 80,
            started: 4_000,
            events: 4_651,
            files: 21,
            removed: 18,
            keep: 2,
            kept_events: 702,
            lost: 5_000,
            ..Summary::default()
        };
        assert_eq!(
            s.said(),
            "recorded 4,080 processes (80 running at start, 4,000 started), \
             0 sockets open at start and 4,651 events in 21 files \
             (the oldest 18 removed by --keep 2: the 3 left hold 702 of the events), \
             5,000 LOST (ring buffer full)"
        );
        let one = Summary {
            files: 3,
            removed: 1,
            keep: 1,
            ..s
        };
        assert!(
            one.said()
                .contains(" in 3 files (the oldest removed by --keep 1: the 2 left hold 702 "),
            "{}",
            one.said()
        );
        // Nothing removed: the files alone.
        let all = Summary {
            files: 3,
            removed: 0,
            keep: 4,
            ..s
        };
        assert!(
            all.said().contains("4,651 events in 3 files, 5,000 LOST"),
            "{}",
            all.said()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        // As the README says: fractions with a unit, a bare number of seconds.
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("s").is_err());
        // Too long for a Duration: an error, not a panic.
        for huge in [
            "1e300",
            "99999999999999999999999h",
            "18446744073709551615s1s",
        ] {
            let e = parse_duration(huge).expect_err(huge);
            assert!(e.to_string().contains("too long"), "{huge}: {e}");
        }
        let e = parse_duration("abc").unwrap_err().to_string();
        assert_eq!(e, r#"bad duration "abc" (try 5s, 250ms, 2m, 1h)"#);
    }

    #[test]
    fn syncing_a_device_or_a_pipe_is_not_an_error() {
        // `record --output /dev/null` stopped with "writing the journal:
        // Invalid argument" when the sync at stop came in.
        let mut null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        null.write_all(b"x\n").unwrap();
        null.sync().unwrap();
        assert_eq!(
            null.sync_data().unwrap_err().raw_os_error(),
            Some(libc::EINVAL),
            "the kernel no longer refuses: this test tests nothing"
        );
        let (_r, w) = std::io::pipe().unwrap();
        let mut w = std::fs::File::from(std::os::fd::OwnedFd::from(w));
        w.sync().unwrap();
        // A real file still syncs.
        let dir = std::env::temp_dir().join(format!("cw-sync-{}", std::process::id()));
        let mut f = std::fs::File::create(&dir).unwrap();
        f.write_all(b"x\n").unwrap();
        f.sync().unwrap();
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn a_fresh_file_is_undone_only_while_it_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        // Created by this run and left empty (the probe did not load): removed.
        let fresh = Fresh::at(Some(&path));
        crate::journal::create(&path).unwrap();
        fresh.undo();
        assert!(!path.exists());
        // Written to: kept.
        let fresh = Fresh::at(Some(&path));
        std::fs::write(&path, "{}\n").unwrap();
        fresh.undo();
        assert!(path.exists());
        // There before, empty: kept (with its permissions).
        std::fs::write(&path, "").unwrap();
        let fresh = Fresh::at(Some(&path));
        crate::journal::create(&path).unwrap();
        fresh.undo();
        assert!(path.exists());
        // Stdout has no file to undo.
        Fresh::at(Some(Path::new("-"))).undo();
        Fresh::at(None).undo();
    }
}
