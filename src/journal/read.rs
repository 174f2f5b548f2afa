//! Reading journals, including damaged ones: every valid line is kept, and
//! every line that is not is reported with its number and the reason.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

use super::{FORMAT_NAME, FORMAT_VERSION, Header};
use crate::event::{
    Comm, Defunct, Direction, Ending, Event, EventKind, ExecInfo, ExitStatus, Gap, Groups, Message,
    NetInfo, NetKind, ProcKey, Protocol, SeedProcess, SeedSocket, Sender, SignalInfo, Stretch,
    canonical_ip, tcp_state_number,
};

/// Lines longer than this are not journal lines; they are skipped without
/// being held in memory.
pub const MAX_LINE: usize = 1 << 20;

/// How far past [`MAX_LINE`] a line of a device or a pipe (of anything
/// but a file, which ends) is skipped in search of its end: a stretch of
/// zeros or other garbage is passed over and the lines after it read.
/// What goes on longer without a newline (`/dev/zero`, a pipe with no end)
/// ends the reading there.
pub const MAX_SKIP: usize = 64 << 20;

/// A line that was skipped, and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Problem {
    /// 1-based line number.
    pub line: u64,
    pub reason: String,
    /// The file, when several were read as one ([`load_all`]).
    pub file: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file} ")?;
        }
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Lines of one kind that were read, but not as they stood: how many, and
/// where the first was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    /// The first one's line, and its file when several were read as one.
    pub first: Option<(u64, Option<String>)>,
}

impl Tally {
    fn add(&mut self, line: u64) {
        self.count += 1;
        self.first.get_or_insert((line, None));
    }

    /// Adds `other`, read from `file` (`None`: the same file, its lines
    /// numbered as `self`'s are). The first is the first read, or in one
    /// file the first line.
    fn merge(&mut self, other: Tally, file: Option<&str>) {
        self.count += other.count;
        let theirs = other
            .first
            .map(|(line, _)| (line, file.map(str::to_string)));
        match (&self.first, theirs) {
            (None, theirs) => self.first = theirs,
            (Some((mine, f)), Some((line, g))) if *f == g && line < *mine => {
                self.first = Some((line, g));
            }
            _ => {}
        }
    }

    fn name_file(&mut self, file: &str) {
        if let Some((_, f)) = &mut self.first {
            *f = Some(file.to_string());
        }
    }

    /// How many, as `one` or `many` says it (`"duplicate line"`,
    /// `"duplicate lines"`), and where the first was.
    fn describe(&self, one: &str, many: &str) -> Option<String> {
        let (line, file) = self.first.as_ref()?;
        let at = match file {
            Some(f) => format!("{f} line {line}"),
            None => format!("line {line}"),
        };
        Some(if self.count == 1 {
            format!("a {one} ({at})")
        } else {
            format!("{} {many} (the first at {at})", self.count)
        })
    }
}

/// A whole journal, as far as it could be read.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub header: Header,
    pub messages: Vec<Message>,
    pub problems: Vec<Problem>,
    /// Lines read, including the header and skipped ones.
    pub lines: u64,
    /// Event lines that repeat one read before (same text), skipped.
    pub duplicates: Tally,
    /// Event lines that came before an earlier time than the line before
    /// them; each file's events are read in time order.
    pub out_of_order: Tally,
}

impl Loaded {
    /// A one-line account of what was skipped or read out of place, if
    /// anything was.
    pub fn problem_summary(&self) -> Option<String> {
        let damaged = self.problems.first().map(|first| {
            if self.problems.len() == 1 {
                format!("skipped {first}")
            } else {
                format!(
                    "skipped {} damaged lines; first at {first}",
                    self.problems.len()
                )
            }
        });
        let parts: Vec<String> = [
            damaged,
            self.duplicates
                .describe("duplicate line", "duplicate lines")
                .map(|d| format!("skipped {d}")),
            self.out_of_order
                .describe("line out of time order", "lines out of time order")
                .map(|d| format!("{d}: read in time order")),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// Loads a journal file whole: as it was written, or compressed with gzip
/// (`journal.jsonl.1.gz`, as logrotate or a copy off the host leaves it).
/// A file that holds several recordings joined one after the other (`cat
/// a.jsonl b.jsonl`) is read as [`load_all`] reads them given as files.
pub fn load(path: &Path) -> Result<Loaded> {
    load_all(&[path.to_path_buf()]).map(|(loaded, _)| loaded)
}

/// The recordings in a file, each with the line its header is on: one, or
/// several joined one after the other.
fn load_parts(path: &Path) -> Result<Vec<(u64, Loaded)>> {
    const BUF: usize = 1 << 20;
    let file = if is_stdin(path) {
        stdin_file()?
    } else {
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?
    };
    // A file's garbage ends where the file does: a line of it, however
    // long, is skipped and the lines after it read. A device or a pipe may
    // never end.
    let skip = match file.metadata() {
        Ok(m) if m.is_file() => usize::MAX,
        _ => MAX_SKIP,
    };
    let mut input = BufReader::with_capacity(BUF, file);
    let start = input
        .fill_buf()
        .with_context(|| format!("cannot read {}", shown(path)))?;
    let not_journal = || format!("{} is not a causeway journal", shown(path));
    match compression(start) {
        None => read_parts(input, skip).with_context(not_journal),
        Some("gzip") => read_parts(
            BufReader::with_capacity(BUF, flate2::bufread::MultiGzDecoder::new(input)),
            skip,
        )
        .with_context(not_journal),
        Some(other) => bail!(
            "{} is compressed with {other}: decompress it first (`{other} -d`), then read that",
            shown(path)
        ),
    }
}

/// Whether `path` is `-`: the journal on standard input (`zcat
/// j.jsonl.gz | causeway export - PID`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How messages name a journal's file: `standard input` for `-`.
fn shown(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Standard input as a file (the same open file, from where it stands):
/// read as a journal's file is, a redirected file as a file, a pipe as a
/// pipe. Refused when it is a terminal, where no journal comes from.
fn stdin_file() -> Result<File> {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!(
            "`-` reads a journal from standard input, which is a terminal here: \
             pipe one in (`zcat j.jsonl.gz | causeway export - PID`, `< j.jsonl`) or name its file"
        );
    }
    let fd = stdin
        .as_fd()
        .try_clone_to_owned()
        .context("cannot read standard input")?;
    Ok(File::from(fd))
}

/// The compression a file's first bytes say it has, if any.
fn compression(start: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 5] = [
        (&[0x1f, 0x8b], "gzip"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
        (b"BZh", "bzip2"),
        (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| start.starts_with(magic))
        .map(|&(_, name)| name)
}

/// What a journal is called on screen and in messages: its file's name; for several files, the
/// first and the last read (`j.jsonl.2 … j.jsonl (3 files)`).
pub fn files_name(paths: &[PathBuf]) -> String {
    let name = |p: &PathBuf| {
        if is_stdin(p) {
            return shown(p);
        }
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    match paths {
        [] => String::new(),
        [one] => name(one),
        [first, .., last] => format!("{} … {} ({} files)", name(first), name(last), paths.len()),
    }
}

/// One recording read from a file, from its header on. A file holds one,
/// or several joined one after the other (`cat a.jsonl b.jsonl`, a second
/// recorder appending to the first's file): each is read as if it were a
/// file of its own.
struct Part {
    path: PathBuf,
    /// How messages name its file.
    name: String,
    /// The line of the file its header is on: 1 for a file's first.
    line: u64,
    loaded: Loaded,
}

impl Part {
    /// How a message names it: by its file, and for a recording that
    /// begins further on in its file, by the line it begins at too.
    fn label(&self) -> String {
        match self.line {
            1 => self.name.clone(),
            line => format!("{} from line {line}", self.name),
        }
    }
}

/// Loads the files of one recording (a journal and the files `--rotate`
/// moved aside, given in any order) as one journal: in time order (by the
/// first time each holds), each file's lines after the one before. The
/// lines each file opens with (the processes alive and the sockets open
/// when it began) add only what the files before did not already say. A
/// skipped line's reason names its file. A file that holds several
/// recordings joined is read as that many files. Returns the paths in the
/// order read.
pub fn load_all(paths: &[PathBuf]) -> Result<(Loaded, Vec<PathBuf>)> {
    let mut parts = Vec::with_capacity(paths.len());
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        // A file named twice (`j.jsonl j.jsonl*`) is read once; so is
        // standard input (`-`, not a file `-` there may be).
        let same = if is_stdin(path) {
            path.clone()
        } else {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())
        };
        if seen.insert(same) {
            let name = shown(path);
            for (line, loaded) in load_parts(path)? {
                parts.push(Part {
                    path: path.clone(),
                    name: name.clone(),
                    line,
                    loaded,
                });
            }
        }
    }
    merge(parts)
}

/// The recordings `parts` (of files, or joined in one) as one journal, if
/// they are of one recording; see [`load_all`].
fn merge(mut parts: Vec<Part>) -> Result<(Loaded, Vec<PathBuf>)> {
    parts.sort_by_key(|p| began(&p.loaded).unwrap_or(u64::MAX));
    // The same recording twice (`j.jsonl.1` and the `j.jsonl.1.gz`
    // logrotate made of it, or a copy taken while it was written, or a
    // file joined to itself): the longer is read, once. Two files of one
    // recording never begin alike: each begins with its own scan.
    let mut kept: Vec<Part> = Vec::with_capacity(parts.len());
    for part in parts {
        if let Some(last) = kept.last_mut() {
            let (a, b) = (&last.loaded.messages, &part.loaded.messages);
            if last.loaded.header == part.loaded.header && (a.starts_with(b) || b.starts_with(a)) {
                if b.len() > a.len() {
                    *last = part;
                }
                continue;
            }
        }
        kept.push(part);
    }
    if let Some((first, rest)) = kept.split_first() {
        for part in rest {
            let (a, b) = (&first.loaded.header, &part.loaded.header);
            if a.same_boot(b) {
                continue;
            }
            if part.path == first.path {
                let ((x, hx), (y, hy)) = if first.line < part.line {
                    ((first.line, a), (part.line, b))
                } else {
                    ((part.line, b), (first.line, a))
                };
                bail!(
                    "{} holds recordings of different hosts or boots ({} from line {x}, {} from \
                     line {y}): split it before line {y} and replay each part on its own",
                    part.name,
                    boot_of(hx, hy),
                    boot_of(hy, hx)
                );
            }
            bail!(
                "{} and {} were recorded on different hosts or boots ({} and {}): \
                 replay them one at a time",
                first.label(),
                part.label(),
                boot_of(a, b),
                boot_of(b, a)
            );
        }
    }
    // Times compare only within one boot: checked after the boots.
    refuse_overlaps(&kept)?;
    // A skipped line is named by its file when there are several; in one,
    // its number says where it is.
    let several = kept.windows(2).any(|w| w[0].path != w[1].path);
    // Where a recording follows another after a stretch none covers, the
    // reader is told so before its lines (see `Gap`).
    let gaps: Vec<Option<Gap>> = kept.windows(2).map(|w| gap(&w[0], &w[1])).collect();
    let total: usize = kept.iter().map(|p| p.loaded.messages.len()).sum::<usize>() + gaps.len();
    let mut parts = kept.into_iter();
    let Some(first) = parts.next() else {
        bail!("no journal to read");
    };
    let mut order = vec![first.path];
    let mut all = first.loaded;
    if several {
        for p in &mut all.problems {
            p.file = Some(first.name.clone());
        }
        all.duplicates.name_file(&first.name);
        all.out_of_order.name_file(&first.name);
    }
    // Made room for once: a large journal is not copied again each time
    // its vector grows.
    all.messages
        .reserve_exact(total.saturating_sub(all.messages.len()));
    for (part, gap) in parts.zip(gaps) {
        let file = several.then_some(part.name.as_str());
        let loaded = part.loaded;
        if let Some(gap) = gap {
            all.messages.push(Message::Gap(Box::new(gap)));
        }
        all.problems
            .extend(loaded.problems.into_iter().map(|p| Problem {
                file: file.map(str::to_string),
                ..p
            }));
        all.messages.extend(loaded.messages);
        all.lines += loaded.lines;
        all.duplicates.merge(loaded.duplicates, file);
        all.out_of_order.merge(loaded.out_of_order, file);
        if !order.contains(&part.path) {
            order.push(part.path);
        }
    }
    if !several {
        // One file's recordings joined out of time order: its skipped
        // lines are still said in the file's order.
        all.problems.sort_by_key(|p| p.line);
    }
    Ok((all, order))
}

/// When a recording (or a file of one) began, as far as it says: the
/// first time it holds; for one that holds none (its process list alone:
/// nothing happened while it ran) and begins a run, when its recorder
/// began (its header's `run`). Recordings are read in this order.
fn began(l: &Loaded) -> Option<u64> {
    l.messages
        .iter()
        .find_map(Message::ktime)
        .or(l.header.run.filter(|_| !l.header.continued))
}

/// The stretch between recording `prev` and `next`, the one after it in
/// time, if none covers it: `next` is another recording (its header does
/// not continue `prev`'s run: a recorder restarted, or another run's
/// file), or a file of the same run with files missing between them (by
/// the numbers their headers give; journals written before causeway
/// numbered its files do not tell). What `next` listed when it began
/// comes with it, and, when it is another recording, whether it is a
/// file of its run after the first (the run's earlier files not read).
/// `None` when `next` continues `prev` as `record --rotate` wrote it.
fn gap(prev: &Part, next: &Part) -> Option<Gap> {
    let (a, b) = (&prev.loaded.header, &next.loaded.header);
    let files = if a.same_run(b) {
        match (a.file, b.file) {
            (Some(x), Some(y)) if y > x.saturating_add(1) => Some((x, y)),
            _ => return None,
        }
    } else {
        None
    };
    // Another recording, read from a later file of its run: it began
    // before this file did, in files not read.
    let first_read = b.file.filter(|&y| files.is_none() && b.continued && y > 1);
    let messages = &next.loaded.messages;
    let times = prev.loaded.messages.iter().filter_map(Message::ktime);
    let last = times.max().or_else(|| began(&prev.loaded));
    let to = began(&next.loaded).or(last).unwrap_or(0);
    // A damaged time in `prev` later than `next` began (one line's, which
    // the overlap check lets pass) is not where it ended.
    let from = last.unwrap_or(to).min(to);
    // Its opening: the processes, then the sockets, before any event.
    let opening = messages
        .iter()
        .take_while(|m| !matches!(m, Message::Event(_)));
    let mut procs = Vec::new();
    let mut sockets = Vec::new();
    for m in opening {
        match m {
            Message::Seed(s) => procs.push(s.proc),
            Message::Socket(s) => sockets.push(s.cookie),
            _ => {}
        }
    }
    Some(Gap {
        stretch: Stretch {
            before: prev.label(),
            after: next.label(),
            from,
            to,
            files,
            first_read,
        },
        procs,
        sockets,
    })
}

/// Which host and boot `h` is, told apart from `other`: its host name,
/// and when it booted if `other` is of the same host.
fn boot_of(h: &Header, other: &Header) -> String {
    if h.hostname == other.hostname {
        format!("{} booted {}", h.hostname, super::rfc3339(h.wall_time(0)))
    } else {
        h.hostname.clone()
    }
}

/// How far a file's first event may be before the last of the file before
/// it in one recording: the probe's order is time order but for programs
/// that interrupted one another on one CPU, sub-µs apart.
const ORDER_SLACK: u64 = 1_000_000;

/// The first and last time of a file's events, if it has any. `gone` lines
/// are left out (older journals could stamp them up to a socket listing's
/// length early).
/// The earliest and latest tenth of a percent (one event at least, of a
/// file of five or more) are left out too: one line whose time is damaged
/// must not make a whole rotated journal read as two recordings.
fn event_span(l: &Loaded) -> Option<(u64, u64)> {
    let mut times: Vec<u64> = l
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Event(ev) if !is_gone(ev) => Some(ev.ktime),
            _ => None,
        })
        .collect();
    if !times.is_sorted() {
        times.sort_unstable();
    }
    let n = times.len();
    let k = if n >= 5 { (n / 1000).max(1) } else { 0 };
    Some((*times.get(k)?, *times.get(n.checked_sub(1 + k)?)?))
}

/// Whether `ev` is a `gone` line.
fn is_gone(ev: &Event) -> bool {
    matches!(&ev.kind, EventKind::Net(n) if n.kind == NetKind::Gone)
}

/// Refuses recordings (in time order, each once) whose events overlap in
/// time: one recorder's files follow one another, so two that overlap are
/// two recordings, and read as one they would double every fact both hold.
fn refuse_overlaps(parts: &[Part]) -> Result<()> {
    let mut latest: Option<(u64, &Part)> = None;
    for part in parts {
        let Some((first, last)) = event_span(&part.loaded) else {
            continue;
        };
        if let Some((end, earlier)) = latest {
            if first.saturating_add(ORDER_SLACK) < end {
                if earlier.path == part.path {
                    let (x, y) = (earlier.line.min(part.line), earlier.line.max(part.line));
                    bail!(
                        "{} holds two recordings that overlap in time (from line {x} and from \
                         line {y}), not one rotated journal: split it before line {y} and open \
                         each part on its own",
                        part.name
                    );
                }
                bail!(
                    "{} and {} overlap in time: two recordings, not one rotated journal; \
                     open them one at a time",
                    earlier.label(),
                    part.label()
                );
            }
        }
        if latest.is_none_or(|(end, _)| last > end) {
            latest = Some((last, part));
        }
    }
    Ok(())
}

/// Reads a journal. Fails only if the input is not a causeway journal at
/// all (no valid header on its first line), or holds several recordings
/// joined that are not one (as [`load_all`] refuses files); damage is
/// reported in [`Loaded::problems`].
pub fn read(input: impl BufRead) -> Result<Loaded> {
    let parts = read_parts(input, MAX_SKIP)?
        .into_iter()
        .map(|(line, loaded)| Part {
            path: PathBuf::new(),
            name: "the journal".to_string(),
            line,
            loaded,
        })
        .collect();
    merge(parts).map(|(loaded, _)| loaded)
}

/// A recording being read: what its [`Loaded`] will hold.
struct Reading {
    header: Header,
    /// The line its header is on.
    line: u64,
    messages: Vec<Message>,
    /// The line of each event line read, in order.
    event_lines: Vec<u64>,
    problems: Vec<Problem>,
}

/// A header this causeway cannot read, after the first line (a newer
/// format's): its line, why, and how many lines after it were skipped.
type Unreadable = Option<(u64, String, u64)>;

impl Reading {
    fn new(header: Header, line: u64) -> Self {
        Reading {
            header,
            line,
            messages: Vec::new(),
            event_lines: Vec::new(),
            problems: Vec::new(),
        }
    }

    fn push(&mut self, msg: Message, line: u64) {
        if matches!(msg, Message::Event(_)) {
            self.event_lines.push(line);
        }
        self.messages.push(msg);
    }

    fn problem(&mut self, line: u64, reason: String) {
        self.problems.push(Problem {
            line,
            reason,
            file: None,
        });
    }

    /// Says what was skipped after a header this causeway cannot read,
    /// if there was one: its lines end here.
    fn end_unreadable(&mut self, unreadable: &mut Unreadable) {
        if let Some((line, why, after)) = unreadable.take() {
            let lines = if after == 1 { "line" } else { "lines" };
            self.problem(
                line,
                format!(
                    "a header this causeway cannot read ({why}), and the {after} {lines} after \
                     it up to the next header or the end"
                ),
            );
        }
    }

    /// The recording read, its last line `last`: its events in time order.
    fn finish(mut self, last: u64) -> (u64, Loaded) {
        let (duplicates, out_of_order) = in_time_order(&mut self.messages, &self.event_lines);
        let loaded = Loaded {
            header: self.header,
            messages: self.messages,
            problems: self.problems,
            lines: (last + 1).saturating_sub(self.line),
            duplicates,
            out_of_order,
        };
        (self.line, loaded)
    }
}

/// Reads the recordings in `input`, each with the line its header is on:
/// one, or several joined one after the other, each from its header on.
/// Fails only if the input does not begin with a causeway header. An
/// over-long line is skipped for at most `skip` bytes past [`MAX_LINE`] in
/// search of its end.
fn read_parts(mut input: impl BufRead, skip: usize) -> Result<Vec<(u64, Loaded)>> {
    let mut buf = Vec::new();
    let mut lineno = 0u64;
    // The first line is given up on as soon as it is too long: a header
    // is a few hundred bytes.
    let header = match next_line(&mut input, &mut buf, 0)? {
        None => bail!("the file is empty"),
        Some(Line::TooLong | Line::Endless) => {
            bail!("its first line is not a causeway header (over 1 MiB long)")
        }
        Some(Line::Complete | Line::Unterminated) => {
            lineno += 1;
            let line = without_bom(&buf);
            match parse_header(line) {
                Ok(header) => header,
                // A journal whose beginning is missing: say how to read it.
                Err(_) if matches!(parse_line(line), Ok(Some(Parsed::Message(_)))) => bail!(
                    "its first line is a journal line, not a causeway header: its beginning is \
                     missing (cut?). Put the header line of a journal of the same host and \
                     boot first: (head -1 OTHER.jsonl; cat FILE) > whole.jsonl"
                ),
                Err(e) => return Err(e),
            }
        }
    };
    let mut parts = Vec::new();
    let mut part = Reading::new(header, lineno);
    let mut unreadable: Unreadable = None;
    loop {
        let kind = match next_line(&mut input, &mut buf, skip) {
            Ok(Some(kind)) => kind,
            Ok(None) => break,
            // A disk's read error, a compressed file cut short or damaged:
            // what was read before it is kept.
            Err(e) => {
                part.end_unreadable(&mut unreadable);
                part.problem(lineno + 1, format!("the rest could not be read: {e:#}"));
                break;
            }
        };
        lineno += 1;
        let parsed = match kind {
            Line::Endless => {
                part.end_unreadable(&mut unreadable);
                part.problem(
                    lineno,
                    format!(
                        "over {} MiB without a newline: the rest is not read",
                        (MAX_LINE + MAX_SKIP) >> 20
                    ),
                );
                break;
            }
            Line::TooLong => Err(format!("line longer than {MAX_LINE} bytes")),
            Line::Complete | Line::Unterminated if buf.iter().all(u8::is_ascii_whitespace) => {
                Ok(None)
            }
            Line::Complete | Line::Unterminated => parse_line(without_bom(&buf)).map_err(|e| {
                if kind == Line::Unterminated {
                    format!("cut short (the writer stopped mid-line?): {e}")
                } else {
                    e
                }
            }),
        };
        match parsed {
            // Another recording begins: read as a file of its own would be.
            Ok(Some(Parsed::Header(Ok(header)))) => {
                part.end_unreadable(&mut unreadable);
                let done = std::mem::replace(&mut part, Reading::new(header, lineno));
                parts.push(done.finish(lineno - 1));
            }
            // A newer format's recording: its lines are not read as this
            // one's, up to the next header.
            Ok(Some(Parsed::Header(Err(why @ HeaderError::Version(_))))) => {
                part.end_unreadable(&mut unreadable);
                unreadable = Some((lineno, why.to_string(), 0));
            }
            // A header line damaged (or not ours): one bad line; what
            // follows is read as before.
            Ok(Some(Parsed::Header(Err(why)))) if unreadable.is_none() => {
                part.problem(lineno, format!("a header line that is {why}"));
            }
            Ok(Some(Parsed::Header(Err(_)))) => {
                if let Some((_, _, after)) = &mut unreadable {
                    *after += 1;
                }
            }
            _ if unreadable.is_some() => {
                if let Some((_, _, after)) = &mut unreadable {
                    *after += 1;
                }
            }
            Ok(Some(Parsed::Message(msg))) => part.push(msg, lineno),
            Ok(None) => {}
            Err(reason) => part.problem(lineno, reason),
        }
    }
    part.end_unreadable(&mut unreadable);
    parts.push(part.finish(lineno));
    Ok(parts)
}

/// Puts a file's events in time order and drops the exact repeats of one
/// (a block of lines pasted twice, two copies of a file joined): applied
/// as they stood, a repeat doubles what it says (an exec twice, a listener
/// that never closes) and a line out of its place changes what is known
/// at each moment (a comm, a parent). `event_lines` holds each event's
/// line. The other lines (processes, sockets and cgroups at the start of
/// a file, lost records) stay where they are, and the events stay in the
/// places events held: only which event is in which place changes.
/// Returns the repeats skipped and the lines found out of time order.
///
/// The probe writes events in time order, but for programs that
/// interrupted one another on one CPU, sub-µs apart; and older journals
/// could stamp a `gone` line up to a socket listing's length early. Those
/// are put in order without being counted. Costs one pass
/// for a journal in order; out of order, a sort of indices and no copy of
/// a line.
fn in_time_order(messages: &mut Vec<Message>, event_lines: &[u64]) -> (Tally, Tally) {
    /// How many earlier events of the same time a repeat is looked for
    /// among: a real journal has a handful at most.
    const SAME_TIME: usize = 64;
    let (mut duplicates, mut out_of_order) = (Tally::default(), Tally::default());
    let slots: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m, Message::Event(_)))
        .map(|(i, _)| i)
        .collect();
    let time = |m: &Message| match m {
        Message::Event(ev) => ev.ktime,
        _ => 0,
    };
    let t = |k: usize| time(&messages[slots[k]]);
    let n = slots.len();
    if (1..n).all(|k| t(k - 1) < t(k)) {
        return (duplicates, out_of_order);
    }
    // `order[j]`: the event (by its place among the events) that goes in
    // the j-th event place. Stable: events of one time keep their order.
    let mut order: Vec<usize> = (0..n).collect();
    let sorted = (1..n).all(|k| t(k - 1) <= t(k));
    if !sorted {
        order.sort_by_key(|&k| t(k));
    }
    // A repeat has its original's time, so in time order it is among the
    // events just before it; the later in the file is the repeat.
    let mut repeat = vec![false; n];
    let mut run = 0;
    for j in 1..n {
        if t(order[j]) != t(order[run]) {
            run = j;
            continue;
        }
        let this = &messages[slots[order[j]]];
        repeat[order[j]] = (run.max(j.saturating_sub(SAME_TIME))..j)
            .any(|i| !repeat[order[i]] && messages[slots[order[i]]] == *this);
    }
    // Counted in the file's order, repeats left out.
    let mut before: Option<u64> = None;
    for k in 0..n {
        let Message::Event(ev) = &messages[slots[k]] else {
            continue;
        };
        let line = event_lines.get(k).copied().unwrap_or(0);
        if repeat[k] {
            duplicates.add(line);
            continue;
        }
        if is_gone(ev) {
            continue;
        }
        if before.is_some_and(|b| ev.ktime.saturating_add(ORDER_SLACK) < b) {
            out_of_order.add(line);
        }
        before = Some(ev.ktime);
    }
    if !sorted {
        // Each event to its place in time order, following the cycles of
        // the permutation: swaps, no copies.
        let mut placed = vec![false; n];
        for start in 0..n {
            let mut j = start;
            while !placed[j] {
                placed[j] = true;
                let from = order[j];
                if from == start {
                    break;
                }
                messages.swap(slots[j], slots[from]);
                j = from;
            }
        }
    }
    if duplicates.count > 0 {
        let mut drop = vec![false; messages.len()];
        for (j, &k) in order.iter().enumerate() {
            drop[slots[j]] = repeat[k];
        }
        let mut i = 0;
        messages.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }
    (duplicates, out_of_order)
}

/// `line` without the UTF-8 byte order mark an editor may have put at the
/// start of the file (or of a file joined to another: at a line's start).
fn without_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Line {
    Complete,
    /// The last line, with no newline: possibly cut short.
    Unterminated,
    TooLong,
    /// Over [`MAX_LINE`] and `skip` more bytes without a newline: read no
    /// further.
    Endless,
}

/// Reads the next line into `buf` (without its newline); a line over
/// [`MAX_LINE`] is consumed but not kept, up to `skip` bytes past that.
fn next_line(input: &mut impl BufRead, buf: &mut Vec<u8>, skip: usize) -> Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    // Bytes of this line consumed.
    let mut len = 0usize;
    loop {
        if too_long && len > MAX_LINE.saturating_add(skip) {
            return Ok(Some(Line::Endless));
        }
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the journal"),
        };
        if chunk.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => None,
                (true, true) => Some(Line::TooLong),
                (true, false) => Some(Line::Unterminated),
            });
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > MAX_LINE {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        len = len.saturating_add(take);
        input.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Some(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            }));
        }
    }
}

fn parse_header(line: &[u8]) -> Result<Header> {
    let raw: Raw = serde_json::from_slice(line)
        .map_err(|_| anyhow::anyhow!("its first line is not a causeway header"))?;
    header_of(raw).map_err(|e| match e {
        HeaderError::NotOurs => anyhow::anyhow!("its first line is not a causeway header"),
        e @ HeaderError::Version(_) => anyhow::anyhow!("it is {e}"),
    })
}

/// Why a `header` line cannot be read.
#[derive(Debug)]
enum HeaderError {
    /// Not a causeway journal's.
    NotOurs,
    /// A format version this causeway does not read.
    Version(u32),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::NotOurs => write!(f, "not a causeway journal's"),
            HeaderError::Version(v) => write!(
                f,
                "journal format version {v}; this causeway reads version {FORMAT_VERSION}"
            ),
        }
    }
}

/// The header a `header` line says.
fn header_of(raw: Raw) -> Result<Header, HeaderError> {
    if raw.ty != "header" || raw.format.as_deref() != Some(FORMAT_NAME) {
        return Err(HeaderError::NotOurs);
    }
    let version = raw.version.unwrap_or(0);
    if version == 0 || version > FORMAT_VERSION {
        return Err(HeaderError::Version(version));
    }
    Ok(Header {
        version,
        hostname: raw.hostname.unwrap_or_default(),
        kernel: raw.kernel.unwrap_or_default(),
        boot_time_ns: raw.boot_time_ns.unwrap_or(0),
        causeway: raw.causeway.unwrap_or_default(),
        continued: raw.continued.unwrap_or(false),
        run: raw.run,
        file: raw.file,
    })
}

/// One line as JSON, every field optional: which ones must be present
/// depends on the type, and unknown fields are ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Raw {
    #[serde(rename = "type")]
    ty: String,
    format: Option<String>,
    version: Option<u32>,
    hostname: Option<String>,
    kernel: Option<String>,
    boot_time_ns: Option<i64>,
    causeway: Option<String>,
    continued: Option<bool>,
    run: Option<u64>,
    file: Option<u64>,
    ktime: Option<u64>,
    pid: Option<u32>,
    tid: Option<u32>,
    start: Option<u64>,
    ppid: Option<u32>,
    pstart: Option<u64>,
    uid: Option<u32>,
    gid: Option<u32>,
    cgroup: Option<u64>,
    comm: Option<String>,
    exe: Option<JBytes>,
    /// An `exec` line's: the file the kernel executed.
    executed: Option<JBytes>,
    /// An `exec` or `process` line's: that file had no links.
    deleted: Option<bool>,
    argv: Option<Vec<JBytes>>,
    argv_truncated: Option<bool>,
    old_tid: Option<u32>,
    exit_code: Option<i32>,
    signal: Option<i32>,
    core_dumped: Option<bool>,
    /// A `socket` line's: found unused while recording.
    unused: Option<bool>,
    /// A `socket` line's: still connecting.
    connecting: Option<bool>,
    /// A `socket` line's: its peer closed its end (`CLOSE_WAIT`).
    peer_closed: Option<bool>,
    /// A `connect` line's (or a `socket` line's): when `connect()` was
    /// called.
    opened: Option<u64>,
    defunct: Option<u64>,
    /// A `process` line's: its session.
    sid: Option<u32>,
    /// A `process` line's: its process group.
    pgid: Option<u32>,
    protocol: Option<String>,
    direction: Option<String>,
    local: Option<String>,
    remote: Option<String>,
    cookie: Option<u64>,
    netns: Option<u32>,
    bytes_sent: Option<u64>,
    bytes_received: Option<u64>,
    error: Option<u16>,
    closed_from: Option<String>,
    code: Option<i32>,
    sender: Option<RawSender>,
    /// An `exit` line's: who its running children were handed to.
    reaper: Option<RawProc>,
    oom_killer: Option<bool>,
    count: Option<u64>,
    id: Option<u64>,
    path: Option<String>,
}

/// A process named by pid and start (an exit's `reaper`).
#[derive(Deserialize)]
struct RawProc {
    pid: u32,
    start: u64,
}

/// A signal's `sender`.
#[derive(Deserialize)]
struct RawSender {
    pid: u32,
    start: u64,
    uid: Option<u32>,
    comm: Option<String>,
}

fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("missing \"{field}\""))
}

/// What a line after the first says.
enum Parsed {
    Message(Message),
    /// Another recording begins (two journals joined in one file).
    Header(Result<Header, HeaderError>),
}

/// What a line says, `None` for a line of a type this version does not
/// know (a newer writer's), or an error saying what is wrong with it.
fn parse_line(line: &[u8]) -> Result<Option<Parsed>, String> {
    let raw: Raw = serde_json::from_slice(line).map_err(|e| format!("not valid JSON ({e})"))?;
    if raw.ty == "header" {
        return Ok(Some(Parsed::Header(header_of(raw))));
    }
    Ok(parse_message(raw)?.map(Parsed::Message))
}

/// The message a line other than a header says, `None` for one of a type
/// this version does not know.
fn parse_message(raw: Raw) -> Result<Option<Message>, String> {
    let kind = match raw.ty.as_str() {
        "process" => return seed(raw).map(|s| Some(Message::Seed(s))),
        "lost" => {
            return Ok(Some(Message::Lost {
                ktime: raw.ktime.unwrap_or(0),
                count: need(raw.count, "count")?,
            }));
        }
        "cgroup" => {
            return Ok(Some(Message::Cgroup {
                id: need(raw.id, "id")?,
                path: need(raw.path, "path")?,
            }));
        }
        "" => return Err("no \"type\"".to_string()),
        "fork" => EventKind::Fork,
        "exec" => EventKind::Exec(ExecInfo {
            exe: raw.exe.clone().map(|b| b.0).unwrap_or_default(),
            file: raw.executed.clone().map(|b| b.0).unwrap_or_default(),
            deleted: raw.deleted.unwrap_or(false),
            argv: raw
                .argv
                .clone()
                .map(|a| a.into_iter().map(|b| b.0).collect())
                .unwrap_or_default(),
            argv_truncated: raw.argv_truncated.unwrap_or(false),
            old_tid: raw.old_tid.unwrap_or(0),
        }),
        "exit" => EventKind::Exit {
            status: exit_status(&raw)?,
            reaper: raw.reaper.as_ref().map(|r| ProcKey::new(r.pid, r.start)),
        },
        "signal" => EventKind::Signal(SignalInfo {
            signal: need(raw.signal, "signal")?,
            code: raw.code.unwrap_or(0),
            sender: raw.sender.as_ref().map(|s| Sender {
                proc: ProcKey::new(s.pid, s.start),
                uid: s.uid.unwrap_or(0),
                comm: s.comm.as_deref().map(Comm::from).unwrap_or_default(),
            }),
            oom: raw.oom_killer.unwrap_or(false),
        }),
        "connect" | "accept" | "listen" | "close" | "gone" | "udp" | "socket" => {
            EventKind::Net(net(&raw)?)
        }
        _ => return Ok(None),
    };
    let ev = Event {
        ktime: need(raw.ktime, "ktime")?,
        proc: ProcKey::new(need(raw.pid, "pid")?, need(raw.start, "start")?),
        tid: raw.tid.or(raw.pid).unwrap_or(0),
        parent: ProcKey::new(raw.ppid.unwrap_or(0), raw.pstart.unwrap_or(0)),
        uid: raw.uid.unwrap_or(0),
        gid: raw.gid.unwrap_or(0),
        cgroup: raw.cgroup.unwrap_or(0),
        comm: raw.comm.as_deref().map(Comm::from).unwrap_or_default(),
        kind,
    };
    if raw.ty == "socket" {
        return Ok(SeedSocket::from_event(&ev).map(|s| {
            Message::Socket(SeedSocket {
                unused: raw.unused.unwrap_or(false),
                connecting: raw.connecting.unwrap_or(false),
                peer_closed: raw.peer_closed.unwrap_or(false),
                ..s
            })
        }));
    }
    Ok(Some(Message::Event(ev)))
}

/// How a process ended: an exit line's status, or a defunct process's.
fn exit_status(raw: &Raw) -> Result<ExitStatus, String> {
    Ok(match (raw.exit_code, raw.signal) {
        (_, Some(signal)) if signal != 0 => ExitStatus::Signal {
            signal,
            core_dumped: raw.core_dumped.unwrap_or(false),
        },
        (Some(code), _) => ExitStatus::Code(code),
        _ => return Err("an end without \"exit_code\" or \"signal\"".to_string()),
    })
}

fn seed(raw: Raw) -> Result<SeedProcess, String> {
    let defunct = match raw.defunct {
        Some(seen) => Some(Defunct {
            seen,
            status: exit_status(&raw)?,
        }),
        None => None,
    };
    Ok(SeedProcess {
        defunct,
        argv_truncated: raw.argv_truncated.unwrap_or(false),
        proc: ProcKey::new(need(raw.pid, "pid")?, need(raw.start, "start")?),
        parent: raw.ppid.map(|p| ProcKey::new(p, raw.pstart.unwrap_or(0))),
        uid: raw.uid.unwrap_or(0),
        gid: raw.gid.unwrap_or(0),
        cgroup: raw.cgroup.unwrap_or(0),
        comm: raw.comm.as_deref().map(Comm::from).unwrap_or_default(),
        exe: raw.exe.map(|b| b.0).unwrap_or_default(),
        exe_deleted: raw.deleted.unwrap_or(false),
        argv: raw
            .argv
            .map(|a| a.into_iter().map(|b| b.0).collect())
            .unwrap_or_default(),
        groups: Groups {
            session: raw.sid.unwrap_or(0),
            pgid: raw.pgid.unwrap_or(0),
        },
    })
}

fn net(raw: &Raw) -> Result<NetInfo, String> {
    let kind = match raw.ty.as_str() {
        "connect" => NetKind::Connect,
        "accept" => NetKind::Accept,
        "listen" => NetKind::Listen,
        "close" => NetKind::Close,
        "gone" => NetKind::Gone,
        _ => NetKind::Udp,
    };
    let protocol = match raw.protocol.as_deref() {
        Some("tcp") => Protocol::Tcp,
        Some("udp") => Protocol::Udp,
        other => return Err(format!("unknown protocol {other:?}")),
    };
    let direction = match raw.direction.as_deref() {
        Some("outbound") => Direction::Outbound,
        Some("inbound") => Direction::Inbound,
        Some("listen") => Direction::Listen,
        other => return Err(format!("unknown direction {other:?}")),
    };
    let addr = |field: &Option<String>, name: &str| -> Result<SocketAddr, String> {
        let s = need(field.as_deref(), name)?;
        let a: SocketAddr = s
            .parse()
            .map_err(|_| format!("\"{name}\" is not an address:port: {s:?}"))?;
        Ok(SocketAddr::new(canonical_ip(a.ip()), a.port()))
    };
    Ok(NetInfo {
        kind,
        protocol,
        direction,
        local: addr(&raw.local, "local")?,
        remote: addr(&raw.remote, "remote")?,
        cookie: raw.cookie.unwrap_or(0),
        netns: raw.netns.unwrap_or(0),
        bytes_sent: raw.bytes_sent.unwrap_or(0),
        bytes_received: raw.bytes_received.unwrap_or(0),
        // A state this version does not know (a newer kernel's) is as
        // good as none.
        ending: Ending {
            error: raw.error.unwrap_or(0),
            from: raw
                .closed_from
                .as_deref()
                .and_then(tcp_state_number)
                .unwrap_or(0),
        },
        opened: raw.opened.unwrap_or(0),
    })
}

/// A byte string as the journal writes it: a string, or `{"hex": ...}`.
#[derive(Clone, Debug, Default)]
struct JBytes(Vec<u8>);

impl<'de> Deserialize<'de> for JBytes {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JBytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or {\"hex\": ...}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<JBytes, E> {
                Ok(JBytes(s.as_bytes().to_vec()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JBytes, A::Error> {
                let mut out = None;
                while let Some(k) = map.next_key::<String>()? {
                    if k == "hex" {
                        let v = serde_json::Value::String(map.next_value::<String>()?);
                        out = super::decode_bytes(&serde_json::json!({ "hex": v }));
                        if out.is_none() {
                            return Err(de::Error::custom("\"hex\" is not hex"));
                        }
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                out.map(JBytes)
                    .ok_or_else(|| de::Error::custom("missing \"hex\""))
            }
        }
        d.deserialize_any(V)
    }
}
