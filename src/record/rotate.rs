//! `causeway record --rotate SIZE`: a journal of bounded size, for a
//! recorder left running. Once the journal reaches SIZE it is renamed
//! `FILE.1` (the one before becomes `FILE.2`, and so on; the oldest beyond
//! `--keep` is overwritten) and a new `FILE` begins.
//!
//! Each file replays on its own: a new one opens as a journal does, with a
//! header, the cgroup names known so far, a `process` line for each process
//! alive then (a fresh /proc scan) and a `socket` line for each TCP socket
//! open then (the connects, accepts, listeners and listed sockets written
//! so far whose close has not been). What happened before it began is in
//! the file before.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

use super::Out;
use crate::event::{EventKind, Message, NetKind, Protocol, SeedSocket};
use crate::hash::{CookieMap, CookieSet};
use crate::journal::{Counts, Header, Writer};

/// How many rotated files `--keep` keeps unless told.
pub const DEFAULT_KEEP: u32 = 4;

/// The smallest `--rotate` size: a file must hold more than its opening.
pub const MIN_SIZE: u64 = 64 * 1024;

/// Where a rotating journal goes, how large each file grows, and how many
/// rotated files are kept besides the current one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotate {
    pub path: PathBuf,
    pub size: u64,
    pub keep: u32,
}

/// Parses a size such as `64K`, `100M`, `1G` or `1.5G` (powers of 1024; a
/// `B` or `iB` after the unit is allowed); a bare number is bytes.
pub fn parse_size(s: &str) -> Result<u64> {
    let lower = s.trim().to_ascii_lowercase();
    let t = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let scale: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => bail!("bad size {s:?} (try 64K, 100M, 1G)"),
    };
    let value: f64 = digits
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| anyhow::anyhow!("bad size {s:?} (try 64K, 100M, 1G)"))?;
    let bytes = value * scale as f64;
    if bytes >= u64::MAX as f64 {
        bail!("size {s:?} is too large");
    }
    Ok(bytes as u64)
}

/// `path` with `.n` appended: `j.jsonl.2`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Moves each rotated file one number up (the one numbered `keep` is
/// replaced by the one below it) and `path` to `path.1`. Only the run of
/// files `path.1`, `path.2`... that exists is moved, so a large `keep`
/// costs nothing.
fn shift(path: &Path, keep: u32) -> io::Result<()> {
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    let mut there = 0;
    while there < keep - 1 && numbered(path, there + 1).exists() {
        there += 1;
    }
    for n in (1..=there).rev() {
        std::fs::rename(numbered(path, n), numbered(path, n + 1))?;
    }
    std::fs::rename(path, numbered(path, 1))
}

/// A file that counts the bytes written to it.
struct Counted {
    file: File,
    bytes: Arc<AtomicU64>,
}

impl super::Sink for Counted {
    fn sync(&mut self) -> io::Result<()> {
        super::sync_data(&self.file)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The state of a rotating journal: the current file's size, and what a
/// new file must open with.
pub struct Rotation {
    rotate: Rotate,
    bytes: Arc<AtomicU64>,
    /// Nothing but the current file's opening has been written to it.
    fresh: bool,
    cgroups: BTreeMap<u64, String>,
    open: CookieMap<SeedSocket>,
    /// Lines of the first file, once it is finished: what existed at start.
    first: Option<Counts>,
    /// Events and lost records of the files already finished.
    events: u64,
    started: u64,
    lost: u64,
    /// The sockets the finished files found stuck after their openings:
    /// one found so in two files (connecting in one, closed by its peer
    /// in the next) is one socket.
    found: CookieSet,
    /// The events of each finished file still on disk, oldest first: at
    /// most `keep` (the older ones were removed).
    kept: VecDeque<u64>,
    files: u32,
    /// Said once that a file's opening takes most of `--rotate`.
    warned: bool,
}

/// A warning when a file's opening (the process list and open sockets it
/// begins with) of `opening` bytes leaves less than half of `size` for
/// what happens: rotations then come seconds apart, and `--keep` files
/// hold little history.
fn opening_warning(opening: u64, size: u64) -> Option<String> {
    (opening.saturating_mul(2) > size).then(|| {
        format!(
            "each journal file begins with {} KiB of what is running, over half of --rotate's {} KiB: \
             files will hold little history; give a larger size",
            opening / 1024,
            size / 1024
        )
    })
}

impl Rotation {
    /// Creates the first file; the journal writer writes to what this
    /// returns. A journal already there (a recorder restarted) is moved
    /// aside first, as at a rotation, not overwritten.
    pub fn start(rotate: Rotate) -> Result<(Rotation, Out)> {
        let path = &rotate.path;
        // Another recorder writing it: moving its file aside would leave
        // it writing the renamed one, beside this one's.
        if crate::journal::held_by_another(path) {
            bail!(
                "cannot record to {}: another causeway is writing it",
                path.display()
            );
        }
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0) {
            shift(path, rotate.keep).with_context(|| format!("moving {} aside", path.display()))?;
        }
        let bytes = Arc::new(AtomicU64::new(0));
        let out = create(&rotate.path, &bytes)?;
        let r = Rotation {
            rotate,
            bytes,
            fresh: true,
            cgroups: BTreeMap::new(),
            open: CookieMap::default(),
            first: None,
            events: 0,
            started: 0,
            lost: 0,
            found: CookieSet::default(),
            kept: VecDeque::new(),
            files: 1,
            warned: false,
        };
        Ok((r, out))
    }

    /// Takes note of what was just written: cgroup names, and TCP sockets
    /// opened and closed.
    pub fn observe(&mut self, msgs: &[Message]) {
        for msg in msgs {
            match msg {
                Message::Cgroup { id, path } => {
                    self.cgroups.insert(*id, path.clone());
                }
                Message::Socket(s) if s.protocol == Protocol::Tcp => {
                    match self.open.get_mut(&s.cookie) {
                        // Found with its peer closed, on the process
                        // holding it: the rest of what was known of it
                        // stands (when its connect() was called).
                        Some(known) if s.peer_closed => {
                            known.peer_closed = true;
                            known.actor = s.actor;
                        }
                        _ => {
                            self.open.insert(s.cookie, s.clone());
                        }
                    }
                }
                Message::Event(ev) => {
                    self.fresh = false;
                    let EventKind::Net(n) = &ev.kind else {
                        continue;
                    };
                    if n.protocol != Protocol::Tcp {
                        continue;
                    }
                    match n.kind {
                        NetKind::Connect | NetKind::Accept | NetKind::Listen => {
                            if let Some(s) = SeedSocket::from_event(ev) {
                                self.open.insert(n.cookie, s);
                            }
                        }
                        NetKind::Close | NetKind::Gone => {
                            self.open.remove(&n.cookie);
                        }
                        NetKind::Udp => {}
                    }
                }
                Message::Socket(_) | Message::Seed(_) | Message::Lost { .. } | Message::Gap(_) => {}
            }
        }
    }

    /// Whether the current file has reached its size (and holds events:
    /// a file is never left with its opening alone).
    pub fn due(&self) -> bool {
        !self.fresh && self.bytes.load(Ordering::Relaxed) >= self.rotate.size
    }

    /// Finishes the current file and starts the next, as of boot time
    /// `now`; `w` then writes to the new file.
    pub fn rotate(&mut self, w: &mut Writer<Out>, header: &Header, now: u64) -> Result<()> {
        let path = &self.rotate.path;
        w.flush()?;
        w.get_mut().sync()?;
        let done = w.counts();
        shift(path, self.rotate.keep)
            .with_context(|| format!("moving {} aside", path.display()))?;
        let out = create(path, &self.bytes)?;
        // The old file is closed when its writer is dropped here. The new
        // one is the next file of this run: `files` were begun before it.
        let continued = Header {
            continued: true,
            file: Some(u64::from(self.files) + 1),
            ..header.clone()
        };
        let old = std::mem::replace(w, Writer::new(out, &continued)?);
        self.found.extend(old.found());
        drop(old);
        self.first.get_or_insert(done);
        self.events += done.events;
        self.started += done.started;
        self.lost += done.lost;
        self.kept.push_back(done.events);
        while self.kept.len() > usize::try_from(self.rotate.keep).unwrap_or(usize::MAX) {
            self.kept.pop_front();
        }
        self.files += 1;
        let mut opening: Vec<Message> = self
            .cgroups
            .iter()
            .map(|(&id, path)| Message::Cgroup {
                id,
                path: path.clone(),
            })
            .collect();
        // The scan names the cgroups of its processes: those already named
        // above are not named again.
        let known = &self.cgroups;
        opening.extend(
            crate::live::seed_messages(crate::seed::scan(now))
                .into_iter()
                .filter(
                    |m| !matches!(m, Message::Cgroup { id, path } if known.get(id) == Some(path)),
                ),
        );
        let mut open: Vec<SeedSocket> = self.open.values().cloned().collect();
        open.sort_unstable_by_key(|s| s.cookie);
        opening.extend(open.into_iter().map(|s| {
            // Still unused, connecting or closed by its peer: said so
            // again, as the recorder knows it.
            Message::Socket(SeedSocket { seen: now, ..s })
        }));
        w.write_batch(&opening)?;
        w.flush()?;
        self.observe(&opening);
        self.fresh = true;
        if !self.warned {
            let written = self.bytes.load(Ordering::Relaxed);
            if let Some(w) = opening_warning(written, self.rotate.size) {
                say!("causeway: warning: {w}");
                self.warned = true;
            }
        }
        Ok(())
    }

    /// What was recorded in all, given the current file's writer: the
    /// processes and sockets that existed at start (the first file's), and
    /// the events, lost records and sockets found stuck of every file.
    pub fn total(&self, current: &Writer<Out>) -> Counts {
        let now = current.counts();
        let first = self.first.unwrap_or(now);
        let found_now = current
            .found()
            .iter()
            .filter(|c| !self.found.contains(c))
            .count();
        Counts {
            processes: first.processes,
            sockets: first.sockets,
            found: self.found.len() as u64 + found_now as u64,
            events: self.events + now.events,
            started: self.started + now.started,
            lost: self.lost + now.lost,
        }
    }

    /// What was recorded in all (see [`Rotation::total`]), in how many
    /// files, and how many of those `--keep` removed, with the events the
    /// files left hold.
    pub fn summary(&self, current: &Writer<Out>) -> super::Summary {
        let mut s = super::Summary::of(self.total(current), self.files);
        s.keep = self.rotate.keep;
        s.removed = self.removed();
        s.kept_events = current.counts().events + self.kept.iter().sum::<u64>();
        s
    }

    /// How many of this run's files were removed to keep `--keep` besides
    /// the current one.
    fn removed(&self) -> u32 {
        self.files
            .saturating_sub(self.rotate.keep.saturating_add(1))
    }

    /// How many lines to write between looks at the size: one per KiB of
    /// it, 16 to 1,024.
    pub fn part_lines(&self) -> usize {
        usize::try_from(self.rotate.size / 1024)
            .unwrap_or(usize::MAX)
            .clamp(16, 1024)
    }
}

fn create(path: &Path, bytes: &Arc<AtomicU64>) -> Result<Out> {
    let file = crate::journal::create(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    bytes.store(0, Ordering::Relaxed);
    Ok(Box::new(Counted {
        file,
        bytes: Arc::clone(bytes),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opening_over_half_the_size_is_warned_of() {
        assert_eq!(opening_warning(30 << 10, 64 << 10), None);
        let w = opening_warning(127 << 10, 64 << 10).expect("a warning");
        assert!(w.contains("127 KiB") && w.contains("64 KiB"), "{w}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64K").unwrap(), 65_536);
        assert_eq!(parse_size("100M").unwrap(), 100 << 20);
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_size("2mb").unwrap(), 2 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "G", "1X", "-1M", "1e400", "nanM", "1 parsec"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shifting_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let read = |p: PathBuf| std::fs::read_to_string(p).ok();
        for round in 1..=4 {
            std::fs::write(&path, format!("{round}")).unwrap();
            shift(&path, 2).unwrap();
        }
        assert_eq!(read(path.clone()), None);
        assert_eq!(read(numbered(&path, 1)).as_deref(), Some("4"));
        assert_eq!(read(numbered(&path, 2)).as_deref(), Some("3"));
        assert_eq!(read(numbered(&path, 3)), None);
        // However many may be kept, only the files there are moved (trying
        // every number up to u32::MAX would take hours).
        std::fs::write(&path, "5").unwrap();
        shift(&path, u32::MAX).unwrap();
        assert_eq!(read(numbered(&path, 1)).as_deref(), Some("5"));
        assert_eq!(read(numbered(&path, 2)).as_deref(), Some("4"));
        assert_eq!(read(numbered(&path, 3)).as_deref(), Some("3"));
        // Nothing kept: the file goes.
        std::fs::write(&path, "6").unwrap();
        shift(&path, 0).unwrap();
        assert_eq!(read(path.clone()), None);
        assert_eq!(read(numbered(&path, 1)).as_deref(), Some("5"));
    }

    #[test]
    fn a_socket_found_with_its_peer_closed_keeps_what_was_known_of_it() {
        use crate::event::{Direction, SeedSocket};
        let dir = tempfile::tempdir().unwrap();
        let rotate = Rotate {
            path: dir.path().join("j.jsonl"),
            size: MIN_SIZE,
            keep: 1,
        };
        let (mut r, _) = Rotation::start(rotate).unwrap();
        // A connect found in flight, with its connect() call's time; then
        // found with its peer closed.
        let mut connecting = SeedSocket::tcp_for_test(Direction::Outbound, 5, 1);
        connecting.connecting = true;
        connecting.opened = 3;
        let mut closed = SeedSocket::tcp_for_test(Direction::Outbound, 5, 1);
        closed.seen = 9;
        closed.peer_closed = true;
        // Held by another process by then.
        closed.actor.proc = crate::event::ProcKey::new(77, 1);
        r.observe(&[Message::Socket(connecting), Message::Socket(closed.clone())]);
        let known = &r.open[&5];
        assert!(known.peer_closed);
        assert_eq!(known.actor.proc.pid, 77);
        assert_eq!((known.opened, known.seen), (3, 1));
        // Not known before: as found.
        closed.cookie = 6;
        r.observe(&[Message::Socket(closed.clone())]);
        assert_eq!(r.open[&6], closed);
    }

    #[test]
    fn the_summary_counts_every_file_and_says_what_keep_removed() {
        use crate::event::{Direction, SeedSocket};
        use crate::ui::synth::{Synth, header};
        let dir = tempfile::tempdir().unwrap();
        let rotate = Rotate {
            path: dir.path().join("j.jsonl"),
            size: MIN_SIZE,
            keep: 2,
        };
        let (mut r, out) = Rotation::start(rotate).unwrap();
        let h = header();
        let mut w = Writer::new(out, &h).unwrap();
        let mut s = Synth::new();
        let init = s.seed(1, None, "init", &["init"]);
        let listed = SeedSocket::tcp_for_test(Direction::Outbound, 1, 1);
        let mut opening = std::mem::take(&mut s.messages);
        opening.push(Message::Socket(listed));
        let write = |w: &mut Writer<Out>, r: &mut Rotation, msgs: &[Message]| {
            w.write_batch(msgs).unwrap();
            r.observe(msgs);
        };
        write(&mut w, &mut r, &opening);
        // A connection found unused in the first file and closed by its
        // peer in the second: one socket found stuck. A connect in
        // flight found in the second and again in the last: one more.
        let stuck = |cookie, f: fn(&mut SeedSocket)| {
            let mut s = SeedSocket::tcp_for_test(Direction::Inbound, cookie, 1);
            f(&mut s);
            Message::Socket(s)
        };
        let later = [
            vec![stuck(7, |s| s.unused = true)],
            vec![
                stuck(7, |s| s.peer_closed = true),
                stuck(8, |s| s.connecting = true),
            ],
            vec![],
            vec![],
            vec![stuck(8, |s| s.peer_closed = true)],
        ];
        // Five files, the n-th with n spawns (two events each).
        let mut events = Vec::new();
        for (n, found) in later.iter().enumerate() {
            if n > 0 {
                r.rotate(&mut w, &h, s.now).unwrap();
            }
            for _ in 0..=n {
                s.spawn(init, 0, "/bin/true", &["true"]);
            }
            let mut msgs = std::mem::take(&mut s.messages);
            msgs.extend(found.iter().cloned());
            write(&mut w, &mut r, &msgs);
            events.push(2 * (n as u64 + 1));
        }
        let said = r.summary(&w);
        assert_eq!(
            (said.processes, said.sockets, said.found),
            (1, 1, 2),
            "what the first file listed; each socket found stuck once: {said:?}"
        );
        assert_eq!(said.events, events.iter().sum::<u64>());
        assert_eq!((said.files, said.removed, said.keep), (5, 2, 2));
        assert_eq!(said.kept_events, events[2..].iter().sum::<u64>());
        assert!(!numbered(&dir.path().join("j.jsonl"), 3).exists());
    }

    #[test]
    fn a_restarted_recorder_moves_the_journal_it_finds_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "earlier").unwrap();
        let rotate = Rotate {
            path: path.clone(),
            size: MIN_SIZE,
            keep: 3,
        };
        let (_, mut out) = Rotation::start(rotate.clone()).unwrap();
        out.write_all(b"now").unwrap();
        drop(out);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(path.clone()), "now");
        assert_eq!(read(numbered(&path, 1)), "earlier");
        // An empty one is simply reused.
        std::fs::write(&path, "").unwrap();
        drop(Rotation::start(rotate).unwrap());
        assert_eq!(read(numbered(&path, 1)), "earlier");
        assert!(!numbered(&path, 2).exists());
    }
}
