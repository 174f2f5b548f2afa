//! The live feed: the probe attached, /proc scanned, and every message in
//! order on one channel (seeds first, then events), optionally written to a
//! journal as it passes. Channels carry messages in [`Batch`]es, so one
//! channel operation moves what one poll of the probe took.
//!
//! Attach first, then scan: a process born during the scan is seen by the
//! probe and may also be read from /proc; the tree merges the two by
//! identity, and the scan leaves out what started after the probe attached.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use crossbeam_channel::{Receiver, RecvTimeoutError, Select, Sender, TryRecvError, bounded};

use crate::bpf::{Features, MAX_BATCH, Probe, ProbeOptions, ProbeStats, Spares};
use crate::event::{Batch, Gap, Message, SeedProcess, Stretch};
use crate::graph::CausalTree;
use crate::journal::{Header, Writer, boot_clock_ns};

/// Capacity of the channels between the probe and its consumers, in
/// batches (each at most [`MAX_BATCH`] messages, so at most 32,768
/// messages wait in one channel). A full channel makes the probe wait, and
/// the kernel then counts lost records; nothing is dropped silently.
pub const CHANNEL_CAPACITY: usize = 16;

/// The probe attached and /proc scanned: what a consumer of the host needs.
pub struct Source {
    pub header: Header,
    /// Events from the probe, from the moment it attached, in batches.
    /// Declared before `probe` so that dropping a `Source` disconnects the
    /// channel first: a probe waiting on a full channel then stops instead
    /// of waiting forever.
    pub events: Receiver<Batch>,
    pub probe: Probe,
    /// Processes that existed before the probe attached.
    pub seeds: Vec<SeedProcess>,
    /// When the probe had attached (boot-time ns): every event from then
    /// on is on `events`.
    pub attached: u64,
}

impl Source {
    /// Attaches the probe, then scans /proc.
    pub fn start() -> Result<Source> {
        Self::start_with(ProbeOptions::default())
    }

    /// [`Source::start`] with probe options.
    pub fn start_with(options: ProbeOptions) -> Result<Source> {
        let header = Header::for_this_host()?;
        let (tx, events) = bounded(CHANNEL_CAPACITY);
        let options = ProbeOptions {
            list_sockets: true,
            ..options
        };
        let probe = Probe::start_with(tx, options)?;
        let attached = boot_clock_ns()?;
        let seeds = crate::seed::scan(attached);
        Ok(Source {
            header,
            probe,
            seeds,
            events,
            attached,
        })
    }
}

/// A journal's messages up to `cut` (boot-time ns): with the feed's from
/// `cut` on ([`apply_from`]), where both saw the same events each is
/// applied once. Messages without a time (processes scanned, cgroup
/// names) are applied from both: again, they add only what was not known.
pub fn apply_before(tree: &mut CausalTree, journal: &[Message], cut: u64) {
    for m in journal.iter().filter(|m| m.ktime().is_none_or(|t| t < cut)) {
        tree.apply(m);
    }
}

/// The feed's messages from `cut` on (see [`apply_before`]).
pub fn apply_from(tree: &mut CausalTree, feed: &[Message], cut: u64) {
    for m in feed.iter().filter(|m| m.ktime().is_none_or(|t| t >= cut)) {
        tree.apply(m);
    }
}

/// `seeds` as messages, each cgroup named (a [`Message::Cgroup`]) before
/// the first process in it.
pub fn seed_messages(seeds: impl IntoIterator<Item = SeedProcess>) -> Vec<Message> {
    let mut cgroups = crate::cgroups::Cgroups::new();
    let mut out = Vec::new();
    for seed in seeds {
        let msg = Message::Seed(seed);
        cgroups.announce(&msg, &mut out);
        out.push(msg);
    }
    out
}

/// How a stretch between a journal whose recorder had stopped and the
/// live view names the view (a gap's `after`).
pub const LIVE_VIEW: &str = "the live view";

/// The journal a live view began with: how messages name it, and its
/// newest file (the one a recorder still running writes).
struct Recording {
    name: String,
    newest: PathBuf,
}

/// Whether a process other than this one has `path` open for writing: a
/// recorder still running. Told from /proc (each descriptor's link, then
/// its flags); when /proc cannot be read, taken as written, so that no
/// stretch is said unrecorded that may not be.
fn being_written(path: &Path) -> bool {
    let Ok(wanted) = std::fs::canonicalize(path) else {
        return false;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return true;
    };
    let me = std::process::id();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l == wanted) {
                let info = p.path().join("fdinfo").join(fd.file_name());
                let flags = std::fs::read_to_string(info).ok().and_then(|i| {
                    i.lines()
                        .find_map(|l| l.strip_prefix("flags:"))
                        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                });
                // O_WRONLY or O_RDWR; not known counts as written.
                if flags.is_none_or(|f| f & 3 != 0) {
                    return true;
                }
            }
        }
    }
    false
}

/// The stretch between the end of a recording that had stopped (`from`:
/// the last it holds) and the live view's probe attaching (`to`), as
/// between two recordings: what the probe listed then (the feed's opening,
/// in `feed`: its processes, then the sockets it listed before any event)
/// says what ended in it, unseen.
fn ended_recording_gap(feed: &[Batch], before: &str, from: u64, to: u64) -> Gap {
    let mut procs = Vec::new();
    let mut sockets = Vec::new();
    let opening = feed
        .iter()
        .flatten()
        .take_while(|m| !matches!(m, Message::Event(_)));
    for m in opening {
        match m {
            Message::Seed(s) => procs.push(s.proc),
            Message::Socket(s) => sockets.push(s.cookie),
            _ => {}
        }
    }
    Gap {
        stretch: Stretch::between(before, LIVE_VIEW, from, to),
        procs,
        sockets,
    }
}

/// A live source for the view: seeds, then events, on one channel.
pub struct LiveFeed {
    rx: Receiver<Batch>,
    header: Header,
    features: Features,
    stats: Arc<ProbeStats>,
    spares: Spares,
    probe: Option<Probe>,
    forward: Option<JoinHandle<Stopped>>,
    attached: u64,
}

impl LiveFeed {
    /// Attaches the probe, scans /proc and starts forwarding. With `record`,
    /// every message is also written to a journal at that path, rotated as
    /// `record --rotate` does with `rotate`.
    pub fn start(record: Option<&Path>, rotate: Option<(u64, u32)>) -> Result<LiveFeed> {
        if let (Some(p), None) = (record, rotate) {
            crate::record::refuse_existing(p)?;
        }
        // Before the journal's file is created: refused, none is left.
        crate::bpf::check_can_load()?;
        let fresh = crate::record::Fresh::at(record);
        let out = match (record, rotate) {
            (None, _) => None,
            (Some(p), None) => Some(JournalOut::Plain(BufWriter::new(
                crate::journal::create(p)
                    .with_context(|| format!("cannot create the journal {}", p.display()))?,
            ))),
            (Some(p), Some((size, keep))) => {
                let rotate = crate::record::Rotate {
                    path: p.to_path_buf(),
                    size,
                    keep,
                };
                let (rotation, out) = crate::record::Rotation::start(rotate)?;
                Some(JournalOut::Rotating(out, Box::new(rotation)))
            }
        };
        let src = Source::start().inspect_err(|_| fresh.undo())?;
        let journal = out
            .map(|out| Journal::new(out, &src.header))
            .transpose()
            .context("writing the journal header")?;
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        let Source {
            header,
            probe,
            seeds,
            events,
            attached,
        } = src;
        let forward = std::thread::Builder::new()
            .name("causeway-feed".into())
            .spawn(move || forward(seeds, &events, &tx, journal))
            .context("starting the feed thread")?;
        Ok(LiveFeed {
            rx,
            header,
            features: probe.features().clone(),
            stats: Arc::clone(probe.stats()),
            spares: probe.spares().clone(),
            probe: Some(probe),
            forward: Some(forward),
            attached,
        })
    }

    /// What a journal of this host (the files of a recorder still running,
    /// say) says happened before the probe attached, followed by what the
    /// feed has delivered since, as one stream of messages: the journal's
    /// lines up to the moment the probe attached, the feed's from then on.
    /// The feed is read meanwhile, so the probe never waits on it; the
    /// journal is read after a moment, so that a recorder has written what
    /// it saw until the probe attached.
    pub fn history(&self, files: &[PathBuf]) -> Result<CausalTree> {
        /// How long a recorder takes to write what it saw: its rings are
        /// read every 30 ms and its writes gather for 20 ms.
        const RECORDER_LAG: Duration = Duration::from_millis(250);
        let done = Arc::new(AtomicBool::new(false));
        let drain = {
            let (rx, done) = (self.rx.clone(), Arc::clone(&done));
            std::thread::Builder::new()
                .name("causeway-history".into())
                .spawn(move || {
                    let mut got: Vec<Batch> = Vec::new();
                    while !done.load(Ordering::Relaxed) {
                        match rx.recv_timeout(Duration::from_millis(10)) {
                            Ok(batch) => got.push(batch),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    got
                })
                .context("starting the history thread")?
        };
        std::thread::sleep(RECORDER_LAG);
        // The feed is drained until the tree has the journal's part, so
        // the probe never waits however long a large journal takes.
        let tree = self.journal_part(files);
        done.store(true, Ordering::Relaxed);
        let drained = drain
            .join()
            .map_err(|_| anyhow!("the history thread panicked"))?;
        let (mut tree, recording) = tree?;
        // A recorder that had stopped before the probe attached: what
        // ended since it stopped ended unseen, as between two recordings.
        if !being_written(&recording.newest) {
            let gap =
                ended_recording_gap(&drained, &recording.name, tree.last_ktime(), self.attached);
            tree.apply(&Message::Gap(Box::new(gap)));
        }
        for batch in &drained {
            apply_from(&mut tree, batch, self.attached);
        }
        Ok(tree)
    }

    /// The tree of what the journal `files` say happened before the probe
    /// attached, and which recording that is; refused if they are of
    /// another host or boot.
    fn journal_part(&self, files: &[PathBuf]) -> Result<(CausalTree, Recording)> {
        let (loaded, order) = crate::journal::load_all(files)?;
        let name = crate::journal::files_name(&order);
        let theirs = &loaded.header;
        if !self.header.same_boot(theirs) {
            anyhow::bail!(
                "{name} was recorded on another host or boot ({}, booted {}): \
                 `causeway replay` opens it",
                theirs.hostname,
                crate::journal::rfc3339(theirs.wall_time(0))
            );
        }
        if let Some(s) = loaded.problem_summary() {
            log::warn!("{name}: {s}");
        }
        let mut tree = CausalTree::new();
        apply_before(&mut tree, &loaded.messages, self.attached);
        if let Some(g) = crate::ui::format::gaps(
            tree.gaps(),
            theirs.boot_time_ns,
            chrono::Offset::fix(&chrono::Utc),
        ) {
            log::warn!("{name}: {g}");
        }
        let newest = order.last().cloned().unwrap_or_default();
        Ok((tree, Recording { name, newest }))
    }

    /// Seeds first, then live events, in order, in batches. Disconnected
    /// once the probe has stopped and everything was delivered.
    pub fn receiver(&self) -> &Receiver<Batch> {
        &self.rx
    }

    /// Where batches read from [`LiveFeed::receiver`] go back to the probe
    /// (see [`Spares`]).
    pub fn spares(&self) -> &Spares {
        &self.spares
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// What the probe could load on this kernel.
    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn stats(&self) -> &Arc<ProbeStats> {
        &self.stats
    }

    /// Stops the probe, flushes the journal, and reports the first error,
    /// and what the journal holds, if there is one.
    pub fn stop(mut self) -> Stopped {
        // Nobody reads any more: the feed thread keeps draining the probe
        // into the journal, so the probe never waits on a full channel.
        let (_, dead) = bounded(0);
        drop(std::mem::replace(&mut self.rx, dead));
        let probe = self.probe.take().map_or(Ok(()), Probe::stop);
        let forward = match self.forward.take().map(JoinHandle::join) {
            None => Stopped::default(),
            Some(Ok(done)) => done,
            Some(Err(_)) => Stopped {
                result: Err(anyhow!("the feed thread panicked")),
                recorded: None,
            },
        };
        Stopped {
            result: probe.and(forward.result),
            ..forward
        }
    }
}

/// How a live feed (and the view over it) ended: the first error, if any,
/// and what the journal `live --record` wrote holds, if one was begun.
/// Both: a journal written until the terminal was closed, or until an
/// error, is said as one finished by `q` is, so that its operator learns
/// where it ends and what it holds.
#[derive(Debug)]
pub struct Stopped {
    pub result: Result<()>,
    pub recorded: Option<crate::record::Summary>,
}

impl Default for Stopped {
    fn default() -> Self {
        Stopped {
            result: Ok(()),
            recorded: None,
        }
    }
}

/// Where `live --record` writes, before its header is written.
enum JournalOut {
    Plain(BufWriter<File>),
    /// Boxed, so that the two variants are about one size.
    Rotating(crate::record::Out, Box<crate::record::Rotation>),
}

/// The journal `live --record` writes as the feed passes.
enum Journal {
    Plain(Writer<BufWriter<File>>),
    Rotating {
        w: Writer<crate::record::Out>,
        /// Boxed, so that the two variants are about one size.
        rotation: Box<Option<crate::record::Rotation>>,
        header: Header,
    },
}

impl Journal {
    fn new(out: JournalOut, header: &Header) -> std::io::Result<Journal> {
        Ok(match out {
            JournalOut::Plain(out) => Journal::Plain(Writer::new(out, header)?),
            JournalOut::Rotating(out, rotation) => Journal::Rotating {
                w: Writer::new(out, header)?,
                rotation: Box::new(Some(*rotation)),
                header: header.clone(),
            },
        })
    }

    fn write(&mut self, batch: &[Message]) -> Result<()> {
        match self {
            Journal::Plain(w) => w.write_batch(batch)?,
            Journal::Rotating {
                w,
                rotation,
                header,
            } => crate::record::put(w, batch, rotation.as_mut(), header)?,
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Journal::Plain(w) => w.flush(),
            Journal::Rotating { w, .. } => w.flush(),
        }
    }

    /// What it holds; then flushes, and syncs the file to its disk. What
    /// it holds is said even when that fails (after a failed write too).
    fn finish(mut self) -> (crate::record::Summary, Result<()>) {
        let flushed = self.flush();
        match self {
            Journal::Plain(w) => {
                let summary = crate::record::Summary::of(w.counts(), 1);
                let synced = flushed.and_then(|()| {
                    w.into_inner()
                        .into_inner()
                        .map_err(|e| e.into_error())
                        .and_then(|f| f.sync_all())
                });
                (summary, synced.map_err(Into::into))
            }
            Journal::Rotating {
                mut w, rotation, ..
            } => {
                let summary = match rotation.as_ref() {
                    Some(r) => r.summary(&w),
                    None => crate::record::Summary::of(w.counts(), 1),
                };
                let synced = flushed.and_then(|()| w.get_mut().sync());
                (summary, synced.map_err(Into::into))
            }
        }
    }
}

/// Batches the view has not taken yet, kept by [`forward`] rather than
/// waited on: while the view is busy (writing a large chain, filtering a
/// large tree) the probe goes on being read and the journal written. Past
/// this many the feed waits for the view, and the kernel counts what its
/// rings then cannot hold: at most 524,288 messages held (about 100 MiB),
/// seconds of the churn benchmark's rate.
const VIEW_BACKLOG: usize = 256;

/// The view's end of [`forward`]: batches in order, those it has not
/// taken yet held in between.
struct ToView<'a> {
    tx: &'a Sender<Batch>,
    held: std::collections::VecDeque<Batch>,
    /// The view has gone: nothing more is sent.
    gone: bool,
}

impl ToView<'_> {
    /// Hands `batch` on, or holds it; waits for the view only when
    /// [`VIEW_BACKLOG`] batches are held.
    fn pass(&mut self, batch: Batch) {
        if self.gone {
            return;
        }
        self.held.push_back(batch);
        self.send_held();
        if self.held.len() > VIEW_BACKLOG {
            if let Some(b) = self.held.pop_front() {
                if self.tx.send(b).is_err() {
                    self.gone();
                }
            }
        }
    }

    /// Sends what the view has room for.
    fn send_held(&mut self) {
        while let Some(b) = self.held.pop_front() {
            match self.tx.try_send(b) {
                Ok(()) => {}
                Err(crossbeam_channel::TrySendError::Full(b)) => {
                    self.held.push_front(b);
                    return;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                    self.gone();
                    return;
                }
            }
        }
    }

    fn gone(&mut self) {
        self.gone = true;
        self.held.clear();
    }
}

/// Seeds then events to `tx`, teeing into the journal (see [`feed`]); then
/// finishes the journal, and says what it holds, however the feed ended.
fn forward(
    seeds: Vec<SeedProcess>,
    events: &Receiver<Batch>,
    tx: &Sender<Batch>,
    mut journal: Option<Journal>,
) -> Stopped {
    let fed = feed(seeds, events, tx, &mut journal);
    let Some(journal) = journal else {
        return Stopped {
            result: fed,
            recorded: None,
        };
    };
    let (mut summary, finished) = journal.finish();
    // The feed fails on writing the journal alone: its counts are of
    // lines given to it, the last of which are not in the file.
    summary.write_failed = fed.is_err() || finished.is_err();
    Stopped {
        result: fed.and(finished.context("writing the journal")),
        recorded: Some(summary),
    }
}

/// Seeds then events to `tx`, teeing into the journal; flushes the journal
/// whenever the probe has nothing more for the moment. The journal is
/// written as the probe delivers, whether or not the view keeps up.
fn feed(
    seeds: Vec<SeedProcess>,
    events: &Receiver<Batch>,
    tx: &Sender<Batch>,
    journal: &mut Option<Journal>,
) -> Result<()> {
    let mut view = ToView {
        tx,
        held: std::collections::VecDeque::new(),
        gone: false,
    };
    let pass = |batch: Batch, journal: &mut Option<Journal>, view: &mut ToView| -> Result<()> {
        if let Some(w) = journal.as_mut() {
            w.write(&batch).context("writing the journal")?;
        }
        view.pass(batch);
        Ok(())
    };
    let mut seeds = seed_messages(seeds).into_iter().peekable();
    while seeds.peek().is_some() {
        pass(seeds.by_ref().take(MAX_BATCH).collect(), journal, &mut view)?;
    }
    loop {
        let batch = match events.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                if let Some(w) = journal.as_mut() {
                    w.flush().context("writing the journal")?;
                }
                // Nothing new: what the view has not taken yet, as it
                // makes room, and the probe's next batch, whichever comes
                // first.
                let next = loop {
                    view.send_held();
                    let Some(oldest) = view.held.pop_front() else {
                        break events.recv();
                    };
                    let mut sel = Select::new();
                    let to_view = sel.send(view.tx);
                    sel.recv(events);
                    let op = sel.select();
                    if op.index() == to_view {
                        if op.send(view.tx, oldest).is_err() {
                            view.gone();
                        }
                    } else {
                        view.held.push_front(oldest);
                        break op.recv(events);
                    }
                };
                match next {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        pass(batch, journal, &mut view)?;
    }
    // The probe is done: the view gets the rest.
    while let Some(b) = view.held.pop_front() {
        if view.gone || tx.send(b).is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{
        Journal, JournalOut, apply_before, apply_from, being_written, ended_recording_gap, forward,
    };
    use crate::event::{Batch, Message, ProcKey};
    use crate::ui::synth::Synth;

    #[test]
    fn the_journal_is_written_while_the_view_takes_nothing() {
        let msgs = crate::ui::synth::host(200, 9);
        let batches: Vec<Batch> = msgs.chunks(10).map(<[Message]>::to_vec).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let journal = Journal::new(JournalOut::Plain(file), &crate::ui::synth::header()).unwrap();
        let (events_tx, events) = crossbeam_channel::unbounded::<Batch>();
        // The view's channel holds one batch, and the view is busy.
        let (tx, view) = crossbeam_channel::bounded::<Batch>(1);
        for b in &batches {
            events_tx.send(b.clone()).unwrap();
        }
        let feed = std::thread::spawn(move || forward(Vec::new(), &events, &tx, Some(journal)));
        // Every batch is taken from the probe and written, the view still
        // taking nothing (the feed used to wait on it after the first).
        let start = std::time::Instant::now();
        let written = |p: &std::path::Path| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .count()
        };
        while written(&path) < msgs.len() + 1 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "{} of {} lines written while the view is busy",
                written(&path),
                msgs.len() + 1
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // Then the view gets every batch, in order.
        drop(events_tx);
        let got: Vec<Batch> = view.iter().collect();
        assert_eq!(got, batches);
        feed.join().unwrap().result.unwrap();
    }

    #[test]
    fn a_journal_that_could_not_be_written_still_says_what_it_holds() {
        // A full disk: the error, and the summary of what was written up
        // to it (it used to be the error alone).
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = JournalOut::Plain(std::io::BufWriter::new(full));
        let journal = Journal::new(out, &crate::ui::synth::header()).unwrap();
        let msgs = crate::ui::synth::host(2000, 3);
        let (events_tx, events) = crossbeam_channel::unbounded::<Batch>();
        for b in msgs.chunks(100) {
            events_tx.send(b.to_vec()).unwrap();
        }
        drop(events_tx);
        let (tx, _view) = crossbeam_channel::unbounded::<Batch>();
        let stopped = forward(Vec::new(), &events, &tx, Some(journal));
        let e = stopped.result.expect_err("the disk is full");
        assert!(format!("{e:#}").contains("writing the journal"), "{e:#}");
        let said = stopped.recorded.expect("what it holds, said");
        assert!(said.processes + said.events > 0, "{said:?}");
        // Not as if it were all there.
        assert!(
            said.said()
                .ends_with(", but writing it failed: its last lines are not in it"),
            "{}",
            said.said()
        );
    }

    #[test]
    fn what_the_view_was_behind_on_reaches_it_while_the_probe_is_quiet() {
        let msgs = crate::ui::synth::host(100, 5);
        let batches: Vec<Batch> = msgs.chunks(10).map(<[Message]>::to_vec).collect();
        let (events_tx, events) = crossbeam_channel::unbounded::<Batch>();
        let (tx, view) = crossbeam_channel::bounded::<Batch>(1);
        for b in &batches {
            events_tx.send(b.clone()).unwrap();
        }
        let feed = std::thread::spawn(move || forward(Vec::new(), &events, &tx, None));
        // The probe sends nothing more but stays open: each batch held for
        // the view goes as the view makes room, not with the probe's next.
        let timeout = std::time::Duration::from_secs(10);
        let got: Vec<Batch> = (0..batches.len())
            .map(|i| {
                view.recv_timeout(timeout)
                    .unwrap_or_else(|e| panic!("batch {i} of {}: {e}", batches.len()))
            })
            .collect();
        assert_eq!(got, batches);
        drop(events_tx);
        feed.join().unwrap().result.unwrap();
        assert!(view.recv().is_err(), "nothing more");
    }

    #[test]
    fn history_and_feed_meet_at_the_attach_each_event_once() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "init", &["init"]);
        let a = s.spawn(init, 0, "/bin/a", &["a"]);
        let cut = s.now;
        let b = s.spawn(init, 0, "/bin/b", &["b"]);
        let all = s.messages.clone();
        // The journal has everything (the recorder kept writing); the feed
        // began a little before the cut (its programs attach one by one)
        // and has its own scan, which found one more process.
        let feed_from = all
            .iter()
            .position(|m| m.ktime().is_some_and(|t| t >= cut - 2_000_000))
            .unwrap();
        let scanned = ProcKey::new(99, 20_000_000);
        let scan = Message::Seed(crate::event::SeedProcess::bare(scanned, "init"));
        let mut feed = vec![scan];
        feed.extend(all[feed_from..].iter().cloned());
        let mut tree = crate::graph::CausalTree::new();
        apply_before(&mut tree, &all, cut);
        apply_from(&mut tree, &feed, cut);
        // Each event once: as many as the journal holds, applied in order.
        let events = all
            .iter()
            .filter(|m| matches!(m, Message::Event(_)))
            .count();
        assert_eq!(tree.stats().events, events as u64, "every event once");
        let mut twice = crate::graph::CausalTree::new();
        apply_before(&mut twice, &all, u64::MAX);
        apply_from(&mut twice, &feed, 0);
        assert!(twice.stats().events > events as u64, "the test can tell");
        assert!(tree.find(a).is_some() && tree.find(b).is_some());
        assert!(tree.find(scanned).is_some(), "the feed's scan is applied");
    }

    #[test]
    fn a_journal_is_being_written_while_another_process_holds_it_open_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, b"").unwrap();
        let holder = |file: std::fs::File, write: bool| {
            let mut c = std::process::Command::new("sleep");
            c.arg("30");
            if write {
                c.stdout(file);
            } else {
                c.stdin(file);
            }
            c.spawn().unwrap()
        };
        assert!(!being_written(&path), "nobody holds it");
        // This process's own descriptors do not count (it reads the file).
        let _mine = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        assert!(!being_written(&path));
        let mut reader = holder(std::fs::File::open(&path).unwrap(), false);
        assert!(!being_written(&path), "a reader is no recorder");
        let appending = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let mut writer = holder(appending, true);
        assert!(being_written(&path));
        for c in [&mut reader, &mut writer] {
            let _ = c.kill();
            let _ = c.wait();
        }
        assert!(!being_written(&path));
    }

    #[test]
    fn a_stopped_recordings_gap_is_told_by_the_feeds_opening() {
        let seed =
            |pid: u32| Message::Seed(crate::event::SeedProcess::bare(ProcKey::new(pid, 1), "x"));
        let socket = |cookie| {
            Message::Socket(crate::event::SeedSocket::tcp_for_test(
                crate::event::Direction::Outbound,
                cookie,
                1,
            ))
        };
        let all = crate::ui::synth::demo();
        let event = all
            .iter()
            .find(|m| matches!(m, Message::Event(_)))
            .unwrap()
            .clone();
        let feed = vec![
            vec![seed(10), seed(11)],
            vec![socket(7), socket(8)],
            vec![event, socket(9), seed(12)],
        ];
        let gap = ended_recording_gap(&feed, "j.jsonl", 100, 200);
        assert_eq!(gap.procs, [ProcKey::new(10, 1), ProcKey::new(11, 1)]);
        // A socket a sweep found later is not of the opening.
        assert_eq!(gap.sockets, [7, 8]);
        assert_eq!((gap.stretch.from, gap.stretch.to), (100, 200));
        assert_eq!(gap.stretch.before, "j.jsonl");
    }
}
