//! Writing journal lines. Lines are formatted by hand (no intermediate JSON
//! tree): the recorder writes one per kernel event and must keep up. What
//! consecutive lines share (the time up to the second, a thread's process
//! fields) is formatted once and reused.

use std::io::{self, Write};
use std::net::SocketAddr;

use super::{FORMAT_NAME, Header, rfc3339, wall_time};
use crate::event::{
    Actor, Direction, Ending, Event, EventKind, ExitStatus, Message, NetKind, Protocol,
    SeedProcess, errno_name, signal_name, tcp_state_name,
};
use crate::hash::CookieSet;

/// Writes a journal: the header first, then one line per message.
pub struct Writer<W: Write> {
    out: W,
    clock: WallClock,
    idents: Idents,
    line: Vec<u8>,
    counts: Counts,
    /// The cgroups named so far: each once per file (the /proc scan's and
    /// the probe's are named by two threads, which do not know of each
    /// other's).
    cgroups: std::collections::BTreeSet<u64>,
    /// No event line has been written yet: a `socket` line now is one of
    /// the sockets open when the file began (as a reader takes it, see
    /// `docs/journal.md`), not one found stuck later.
    opening: bool,
    /// The sockets found stuck after the opening (connecting, accepted and
    /// unused, or closed by their peer), by cookie: one found so twice (an
    /// unused connection its client then gave up on) is one socket.
    found: CookieSet,
}

/// Lines written, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// `process` lines: processes from the /proc scan.
    pub processes: u64,
    /// `socket` lines of the opening (before the first event line): TCP
    /// sockets open when the file began.
    pub sockets: u64,
    /// Sockets of the `socket` lines after the opening (and of `unused`
    /// ones in it): found stuck while it recorded, each counted once.
    pub found: u64,
    /// Event lines.
    pub events: u64,
    /// `fork` lines: processes started while it recorded.
    pub started: u64,
    /// What the `lost` lines add up to.
    pub lost: u64,
}

/// Formats boot-time stamps as RFC 3339 wall-clock strings. The part up to
/// the second is formatted once per second and reused: the recorder writes
/// one per event.
struct WallClock {
    boot_time_ns: i64,
    second: i64,
    /// `"2026-11-27T17:26:00.` for `second`.
    prefix: Vec<u8>,
}

impl WallClock {
    fn new(boot_time_ns: i64) -> Self {
        WallClock {
            boot_time_ns,
            second: i64::MIN,
            prefix: Vec::new(),
        }
    }

    /// Appends `"2026-11-27T17:26:00.231834849Z"` (with the quotes): the
    /// same as [`wall_time`] formatted by chrono, which splits the
    /// nanoseconds the same way.
    fn push(&mut self, line: &mut Vec<u8>, ktime: u64) {
        let ns = self
            .boot_time_ns
            .saturating_add(i64::try_from(ktime).unwrap_or(i64::MAX));
        let second = ns.div_euclid(NS_PER_SEC);
        if second != self.second {
            self.second = second;
            self.prefix.clear();
            let t = wall_time(self.boot_time_ns, ktime);
            // Writing into a Vec cannot fail.
            let _ = write!(self.prefix, "\"{}.", t.format("%Y-%m-%dT%H:%M:%S"));
        }
        line.extend_from_slice(&self.prefix);
        // The nanoseconds, zero-padded: the first digit, then eight.
        // Below 10^9: the casts cannot truncate.
        let nanos = ns.rem_euclid(NS_PER_SEC) as u32;
        line.push(b'0' + (nanos / 100_000_000) as u8);
        digits8_padded(line, nanos % 100_000_000);
        line.extend_from_slice(b"Z\"");
    }
}

const NS_PER_SEC: i64 = 1_000_000_000;

/// About how many bytes of lines [`Writer::write_batch`] gathers before
/// handing them to its output.
const CHUNK: usize = 256 * 1024;

/// How many threads' process fields [`Idents`] keeps.
const IDENT_SLOTS: usize = 8;

/// The fields naming an event's process and thread, `"pid"` to `"comm"`,
/// formatted once per thread and reused while they stay the same: a
/// thread's events come in runs (and a close repeats its socket owner's
/// fields), and these are most of a line's numbers. One slot per thread
/// id modulo [`IDENT_SLOTS`].
#[derive(Default)]
struct Idents {
    slots: [IdentSlot; IDENT_SLOTS],
}

#[derive(Default)]
struct IdentSlot {
    /// What `text` was formatted from.
    key: Option<Actor>,
    text: Vec<u8>,
}

impl Idents {
    fn push(&mut self, line: &mut Vec<u8>, ev: &Event) {
        let slot = &mut self.slots[ev.tid as usize % IDENT_SLOTS];
        if !slot.key.as_ref().is_some_and(|k| k.is_of(ev)) {
            slot.text.clear();
            ident_fields(&mut slot.text, ev);
            slot.key = Some(Actor::of(ev));
        }
        line.extend_from_slice(&slot.text);
    }
}

impl<W: Write> Writer<W> {
    /// Starts a journal by writing its header line.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        let mut line = Vec::with_capacity(512);
        line.extend_from_slice(br#"{"type":"header","format":"#);
        json_str(&mut line, FORMAT_NAME);
        write!(line, r#","version":{},"hostname":"#, header.version)?;
        json_str(&mut line, &header.hostname);
        line.extend_from_slice(br#","kernel":"#);
        json_str(&mut line, &header.kernel);
        line.extend_from_slice(br#","boot_time":"#);
        json_str(&mut line, &rfc3339(wall_time(header.boot_time_ns, 0)));
        write!(
            line,
            r#","boot_time_ns":{},"causeway":"#,
            header.boot_time_ns
        )?;
        json_str(&mut line, &header.causeway);
        if header.continued {
            line.extend_from_slice(br#","continued":true"#);
        }
        if let Some(run) = header.run {
            write!(line, r#","run":{run}"#)?;
        }
        if let Some(file) = header.file {
            write!(line, r#","file":{file}"#)?;
        }
        line.extend_from_slice(b"}\n");
        out.write_all(&line)?;
        Ok(Writer {
            out,
            clock: WallClock::new(header.boot_time_ns),
            idents: Idents::default(),
            counts: Counts::default(),
            line,
            cgroups: Default::default(),
            opening: true,
            found: CookieSet::default(),
        })
    }

    /// Appends one message as one line.
    pub fn write(&mut self, msg: &Message) -> io::Result<()> {
        self.line.clear();
        self.format(msg);
        self.out.write_all(&self.line)
    }

    /// Appends messages, one line each: [`Writer::write`] for each, but the
    /// lines reach the output in chunks of about 256 KiB, not one by one
    /// (an output that buffers itself passes chunks that size through
    /// without copying them).
    pub fn write_batch(&mut self, msgs: &[Message]) -> io::Result<()> {
        self.line.clear();
        for msg in msgs {
            self.format(msg);
            if self.line.len() >= CHUNK {
                self.out.write_all(&self.line)?;
                self.line.clear();
            }
        }
        self.out.write_all(&self.line)
    }

    /// Lines written so far, by kind.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The sockets found stuck after the opening, by cookie (what
    /// [`Counts::found`] counts).
    pub fn found(&self) -> &CookieSet {
        &self.found
    }

    /// Formats `msg` as a line at the end of `self.line`.
    fn format(&mut self, msg: &Message) {
        if let Message::Cgroup { id, .. } = msg {
            if !self.cgroups.insert(*id) {
                return;
            }
        }
        let line = &mut self.line;
        match msg {
            Message::Seed(p) => {
                self.counts.processes += 1;
                seed_line(line, p);
            }
            Message::Socket(socket) => {
                // An unused connection is found by a sweep, never listed
                // at start (a reader passes over it in an opening too).
                if self.opening && !socket.unused {
                    self.counts.sockets += 1;
                } else if self.found.insert(socket.cookie) {
                    self.counts.found += 1;
                }
                let ev = socket.as_event();
                line.extend_from_slice(br#"{"type":"socket","time":"#);
                event_fields(line, &mut self.clock, &mut self.idents, &ev);
                if socket.unused || socket.connecting || socket.peer_closed {
                    // In place of the line's closing brace.
                    line.pop();
                    if socket.unused {
                        line.extend_from_slice(br#","unused":true"#);
                    }
                    if socket.connecting {
                        line.extend_from_slice(br#","connecting":true"#);
                    }
                    if socket.peer_closed {
                        line.extend_from_slice(br#","peer_closed":true"#);
                    }
                    line.push(b'}');
                }
            }
            Message::Event(ev) => {
                self.opening = false;
                self.counts.events += 1;
                self.counts.started += u64::from(matches!(ev.kind, EventKind::Fork));
                event_line(line, &mut self.clock, &mut self.idents, ev);
            }
            Message::Lost { ktime, count } => {
                self.counts.lost += count;
                line.extend_from_slice(br#"{"type":"lost","time":"#);
                json_str(line, &rfc3339(wall_time(self.clock.boot_time_ns, *ktime)));
                field(line, br#","ktime":"#, *ktime);
                field(line, br#","count":"#, *count);
                line.push(b'}');
            }
            Message::Cgroup { id, path } => {
                field(line, br#"{"type":"cgroup","id":"#, *id);
                line.extend_from_slice(br#","path":"#);
                json_str(line, path);
                line.push(b'}');
            }
            // What a reader made of two recordings read as one: not a
            // line of either.
            Message::Gap(_) => return,
        }
        line.push(b'\n');
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// The output (to sync it, say); lines are written to it whole, so
    /// nothing of this writer's is pending there.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }
}

/// The eight decimal digits of `n` (below 10^8, zero-padded) as ASCII, in
/// memory order when stored little-endian: computed in parallel lanes of
/// one u64 (two 4-digit halves, then four 2-digit quarters, then eight
/// digits), with multiplications in place of divisions, and no digit
/// depending on the one before. Each lane's quotient by 100 (then 10) is a
/// multiply and a shift, exact for the lane's range (below 10,000, then
/// below 100).
fn digits8(n: u32) -> u64 {
    let (hi, lo) = (u64::from(n / 10_000), u64::from(n % 10_000));
    let v = hi | (lo << 32);
    let hundreds = ((v * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let v = hundreds | ((v - hundreds * 100) << 16);
    let tens = ((v * 103) >> 10) & 0x000f_000f_000f_000f;
    let v = tens | ((v - tens * 10) << 8);
    v | 0x3030_3030_3030_3030
}

/// Appends all eight digits of `n` (below 10^8), zero-padded.
fn digits8_padded(line: &mut Vec<u8>, n: u32) {
    line.extend_from_slice(&digits8(n).to_le_bytes());
}

/// Appends `n` (below 10^8) without leading zeros: the eight digits are
/// stored whole (a fixed-size store, no call to `memcpy`), shifted so the
/// first significant one comes first, and the line is cut after the last.
fn digits8_trimmed(line: &mut Vec<u8>, n: u32) {
    let len = n.checked_ilog10().map_or(1, |l| l as usize + 1);
    let at = line.len();
    line.extend_from_slice(&(digits8(n) >> (8 * (8 - len))).to_le_bytes());
    line.truncate(at + len);
}

const E8: u64 = 100_000_000;

/// Appends the decimal digits of `v`, in chunks of eight (see `digits8`).
fn decimal(line: &mut Vec<u8>, v: u64) {
    // Each chunk is below 10^8: the casts cannot truncate.
    if v < E8 {
        digits8_trimmed(line, v as u32);
    } else if v < E8 * E8 {
        digits8_trimmed(line, (v / E8) as u32);
        digits8_padded(line, (v % E8) as u32);
    } else {
        let low = v % (E8 * E8);
        digits8_trimmed(line, (v / (E8 * E8)) as u32);
        digits8_padded(line, (low / E8) as u32);
        digits8_padded(line, (low % E8) as u32);
    }
}

/// Appends `name` (already quoted, with its leading comma and colon) and an
/// unsigned integer.
fn field(line: &mut Vec<u8>, name: &[u8], value: impl Into<u64>) {
    line.extend_from_slice(name);
    decimal(line, value.into());
}

/// Appends `name` and a signed integer (rare: exit codes and signals).
fn signed_field(line: &mut Vec<u8>, name: &[u8], value: i32) {
    line.extend_from_slice(name);
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

fn bool_field(line: &mut Vec<u8>, name: &[u8], value: bool) {
    line.extend_from_slice(name);
    line.extend_from_slice(if value { b"true" } else { b"false" });
}

/// Each byte value's decimal digits (padded with zeros) and their count.
const OCTETS: [([u8; 3], u8); 256] = {
    let mut table = [([0; 3], 0); 256];
    let mut i = 0;
    while i < 256 {
        // Each is a single decimal digit: the casts cannot truncate.
        let (a, b, c) = ((i / 100) as u8, (i / 10 % 10) as u8, (i % 10) as u8);
        table[i] = if i >= 100 {
            ([b'0' + a, b'0' + b, b'0' + c], 3)
        } else if i >= 10 {
            ([b'0' + b, b'0' + c, 0], 2)
        } else {
            ([b'0' + c, 0, 0], 1)
        };
        i += 1;
    }
    table
};

/// Appends one byte of an IPv4 address, as `decimal` would.
fn octet(line: &mut Vec<u8>, o: u8) {
    let (digits, len) = OCTETS[usize::from(o)];
    let at = line.len();
    line.extend_from_slice(&digits);
    line.truncate(at + usize::from(len));
}

/// `1.2.3.4:80` or `[::1]:80`: digits and punctuation only, so no JSON
/// escaping is needed.
fn addr(line: &mut Vec<u8>, a: SocketAddr) {
    match a {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            for o in [a, b, c] {
                octet(line, o);
                line.push(b'.');
            }
            octet(line, d);
        }
        SocketAddr::V6(v6) => {
            // Writing into a Vec cannot fail.
            let _ = write!(line, "[{}]", v6.ip());
        }
    }
    line.push(b':');
    decimal(line, a.port().into());
}

/// Appends `s` as a JSON string, exactly as serde_json writes it. serde_json
/// escapes only `"`, `\` and the control characters below U+0020, so a
/// string without those is copied as it is.
fn json_str(line: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        line.reserve(s.len() + 2);
        line.push(b'"');
        line.extend_from_slice(s.as_bytes());
        line.push(b'"');
    } else {
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *line, s);
    }
}

/// A byte string as [`super::encode_bytes`] encodes it: a string when it
/// is UTF-8, else `{"hex":"..."}`.
fn json_bytes(line: &mut Vec<u8>, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => json_str(line, s),
        Err(_) => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            line.extend_from_slice(br#"{"hex":""#);
            for &byte in b {
                line.push(HEX[usize::from(byte >> 4)]);
                line.push(HEX[usize::from(byte & 0xf)]);
            }
            line.extend_from_slice(br#""}"#);
        }
    }
}

fn json_argv(line: &mut Vec<u8>, argv: &[Vec<u8>]) {
    line.push(b'[');
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        json_bytes(line, a);
    }
    line.push(b']');
}

fn seed_line(line: &mut Vec<u8>, p: &SeedProcess) {
    field(line, br#"{"type":"process","pid":"#, p.proc.pid);
    field(line, br#","start":"#, p.proc.start);
    if let Some(parent) = p.parent {
        field(line, br#","ppid":"#, parent.pid);
        field(line, br#","pstart":"#, parent.start);
    }
    field(line, br#","uid":"#, p.uid);
    field(line, br#","gid":"#, p.gid);
    field(line, br#","cgroup":"#, p.cgroup);
    line.extend_from_slice(br#","comm":"#);
    json_str(line, &p.comm);
    line.extend_from_slice(br#","exe":"#);
    json_bytes(line, &p.exe);
    if p.exe_deleted {
        line.extend_from_slice(br#","deleted":true"#);
    }
    line.extend_from_slice(br#","argv":"#);
    json_argv(line, &p.argv);
    if p.argv_truncated {
        line.extend_from_slice(br#","argv_truncated":true"#);
    }
    if let Some(d) = p.defunct {
        field(line, br#","defunct":"#, d.seen);
        exit_fields(line, d.status);
    }
    if p.groups.session != 0 {
        field(line, br#","sid":"#, p.groups.session);
    }
    if p.groups.pgid != 0 {
        field(line, br#","pgid":"#, p.groups.pgid);
    }
    line.push(b'}');
}

/// How a process ended, as an exit line says it.
fn exit_fields(line: &mut Vec<u8>, status: ExitStatus) {
    match status {
        ExitStatus::Code(c) => signed_field(line, br#","exit_code":"#, c),
        ExitStatus::Signal {
            signal,
            core_dumped,
        } => {
            signed_field(line, br#","signal":"#, signal);
            line.extend_from_slice(br#","signal_name":"#);
            json_str(line, &signal_name(signal));
            bool_field(line, br#","core_dumped":"#, core_dumped);
        }
    }
}

/// The start of an event's line, up to its time: the type names are
/// constants, written without escaping.
fn event_open(kind: &EventKind) -> &'static [u8] {
    match kind {
        EventKind::Fork => br#"{"type":"fork","time":"#,
        EventKind::Exec(_) => br#"{"type":"exec","time":"#,
        EventKind::Exit { .. } => br#"{"type":"exit","time":"#,
        EventKind::Net(n) => match n.kind {
            NetKind::Connect => br#"{"type":"connect","time":"#,
            NetKind::Accept => br#"{"type":"accept","time":"#,
            NetKind::Listen => br#"{"type":"listen","time":"#,
            NetKind::Close => br#"{"type":"close","time":"#,
            NetKind::Udp => br#"{"type":"udp","time":"#,
            NetKind::Gone => br#"{"type":"gone","time":"#,
        },
        EventKind::Signal(_) => br#"{"type":"signal","time":"#,
    }
}

/// A connection's protocol and direction, up to the opening quote of its
/// local address.
fn net_open(protocol: Protocol, direction: Direction) -> (&'static [u8], &'static [u8]) {
    let protocol: &[u8] = match protocol {
        Protocol::Tcp => br#","protocol":"tcp""#,
        Protocol::Udp => br#","protocol":"udp""#,
    };
    let direction: &[u8] = match direction {
        Direction::Outbound => br#","direction":"outbound","local":""#,
        Direction::Inbound => br#","direction":"inbound","local":""#,
        Direction::Listen => br#","direction":"listen","local":""#,
    };
    (protocol, direction)
}

/// `"pid"` to `"comm"` of an event: see [`Idents`].
fn ident_fields(line: &mut Vec<u8>, ev: &Event) {
    field(line, br#","pid":"#, ev.proc.pid);
    field(line, br#","tid":"#, ev.tid);
    field(line, br#","start":"#, ev.proc.start);
    field(line, br#","ppid":"#, ev.parent.pid);
    field(line, br#","pstart":"#, ev.parent.start);
    field(line, br#","uid":"#, ev.uid);
    field(line, br#","gid":"#, ev.gid);
    field(line, br#","cgroup":"#, ev.cgroup);
    line.extend_from_slice(br#","comm":"#);
    json_str(line, &ev.comm);
}

fn event_line(line: &mut Vec<u8>, clock: &mut WallClock, idents: &mut Idents, ev: &Event) {
    line.extend_from_slice(event_open(&ev.kind));
    event_fields(line, clock, idents, ev);
}

/// An event line's fields from its time on, after its opening
/// ([`event_open`]).
fn event_fields(line: &mut Vec<u8>, clock: &mut WallClock, idents: &mut Idents, ev: &Event) {
    clock.push(line, ev.ktime);
    field(line, br#","ktime":"#, ev.ktime);
    idents.push(line, ev);
    match &ev.kind {
        EventKind::Fork => {}
        EventKind::Exec(x) => {
            line.extend_from_slice(br#","exe":"#);
            json_bytes(line, &x.exe);
            if !x.file.is_empty() {
                line.extend_from_slice(br#","executed":"#);
                json_bytes(line, &x.file);
            }
            if x.deleted {
                line.extend_from_slice(br#","deleted":true"#);
            }
            line.extend_from_slice(br#","argv":"#);
            json_argv(line, &x.argv);
            bool_field(line, br#","argv_truncated":"#, x.argv_truncated);
            field(line, br#","old_tid":"#, x.old_tid);
        }
        EventKind::Exit { status, reaper } => {
            exit_fields(line, *status);
            if let Some(r) = reaper {
                field(line, br#","reaper":{"pid":"#, r.pid);
                field(line, br#","start":"#, r.start);
                line.push(b'}');
            }
        }
        EventKind::Signal(sig) => {
            signed_field(line, br#","signal":"#, sig.signal);
            line.extend_from_slice(br#","signal_name":"#);
            json_str(line, &signal_name(sig.signal));
            signed_field(line, br#","code":"#, sig.code);
            if sig.oom {
                line.extend_from_slice(br#","oom_killer":true"#);
            }
            match &sig.sender {
                Some(from) => {
                    field(line, br#","sender":{"pid":"#, from.proc.pid);
                    field(line, br#","start":"#, from.proc.start);
                    field(line, br#","uid":"#, from.uid);
                    line.extend_from_slice(br#","comm":"#);
                    json_str(line, &from.comm);
                    line.push(b'}');
                }
                None => line.extend_from_slice(br#","sender":null"#),
            }
        }
        EventKind::Net(n) => {
            let (protocol, direction) = net_open(n.protocol, n.direction);
            line.extend_from_slice(protocol);
            line.extend_from_slice(direction);
            addr(line, n.local);
            line.extend_from_slice(br#"","remote":""#);
            addr(line, n.remote);
            field(line, br#"","cookie":"#, n.cookie);
            field(line, br#","netns":"#, n.netns);
            if n.opened != 0 {
                field(line, br#","opened":"#, n.opened);
            }
            if n.kind.is_end() {
                field(line, br#","bytes_sent":"#, n.bytes_sent);
                field(line, br#","bytes_received":"#, n.bytes_received);
                ending(line, n.ending);
            }
        }
    }
    line.push(b'}');
}

/// How a close ended, when known: the state it closed from, and its error.
fn ending(line: &mut Vec<u8>, e: Ending) {
    if let Some(state) = tcp_state_name(e.from) {
        line.extend_from_slice(br#","closed_from":""#);
        line.extend_from_slice(state.as_bytes());
        line.push(b'"');
    }
    if e.error != 0 {
        field(line, br#","error":"#, e.error);
        line.extend_from_slice(br#","error_name":"#);
        json_str(line, &errno_name(e.error));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Comm, NetInfo, ProcKey};

    fn serde(s: &str) -> Vec<u8> {
        serde_json::to_vec(s).unwrap()
    }

    fn ours(s: &str) -> Vec<u8> {
        let mut line = Vec::new();
        json_str(&mut line, s);
        line
    }

    #[test]
    fn sockets_found_stuck_later_are_not_counted_as_open_at_start() {
        use crate::event::SeedSocket;
        use crate::ui::synth::{Synth, header};
        let sock = |cookie, f: fn(&mut SeedSocket)| {
            let mut s = SeedSocket::tcp_for_test(Direction::Outbound, cookie, 1);
            f(&mut s);
            Message::Socket(s)
        };
        let mut s = Synth::new();
        let init = s.seed(1, None, "init", &["init"]);
        let mut msgs = s.messages.clone();
        // The opening: two listed (one of them connecting), and an unused
        // connection a sweep found before any event (never listed).
        msgs.push(sock(1, |_| {}));
        msgs.push(sock(2, |s| s.connecting = true));
        msgs.push(sock(3, |s| s.unused = true));
        s.messages.clear();
        s.spawn(init, 0, "/bin/true", &["true"]);
        msgs.extend(s.messages.iter().cloned());
        // Later: a connect in flight, the unused one found again closed by
        // its peer, and one listed at start found so too.
        msgs.push(sock(4, |s| s.connecting = true));
        msgs.push(sock(3, |s| s.peer_closed = true));
        msgs.push(sock(1, |s| s.peer_closed = true));
        let mut w = Writer::new(Vec::new(), &header()).unwrap();
        w.write_batch(&msgs).unwrap();
        let c = w.counts();
        assert_eq!(c.sockets, 2, "listed at start: {c:?}");
        assert_eq!(c.found, 3, "found stuck later, each once: {c:?}");
        let mut found: Vec<u64> = w.found().iter().copied().collect();
        found.sort_unstable();
        assert_eq!(found, [1, 3, 4]);
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "bash",
            "wé\"ird",
            "\"",
            "\\",
            "a\\\"b",
            "tab\there",
            "nl\n",
            "nul\0x",
            "\u{1}\u{1f}",
            "\u{7f}",
            " ~",
            "日本語",
            "\u{FFFD}\u{FFFD}",
            "emoji 😀",
            "</script>",
        ] {
            assert_eq!(ours(s), serde(s), "{s:?}");
        }
        for c in (0..0x3000u32)
            .chain(0x1_F600..0x1_F650)
            .filter_map(char::from_u32)
        {
            let s = format!("a{c}b");
            assert_eq!(ours(&s), serde(&s), "{c:?}");
        }
    }

    #[test]
    fn a_comm_with_every_kind_of_byte_round_trips() {
        for raw in [
            &b"qu\"ote"[..],
            b"back\\slash",
            b"ctl\x01\x1b[31m",
            b"caf\xc3\xa9",
            b"\xff\xfe bad",
        ] {
            let comm = Comm::from_bytes_lossy(raw);
            let mut line = Vec::new();
            json_str(&mut line, &comm);
            let back: String = serde_json::from_slice(&line).unwrap();
            assert_eq!(comm, back.as_str());
        }
    }

    #[test]
    fn byte_strings_are_written_as_encode_bytes_says() {
        for b in [
            &b""[..],
            b"plain",
            b"q\"\\",
            b"\xff\x00\x80",
            b"caf\xc3\xa9",
            b"\xc3",
        ] {
            let mut line = Vec::new();
            json_bytes(&mut line, b);
            assert_eq!(
                line,
                serde_json::to_vec(&crate::journal::encode_bytes(b)).unwrap()
            );
        }
    }

    #[test]
    fn decimals_match_to_string() {
        let mut values = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            let v = 10u64.pow(p);
            values.extend([v - 1, v, v + 1]);
        }
        for v in values {
            let mut line = b"x".to_vec();
            decimal(&mut line, v);
            assert_eq!(line, format!("x{v}").into_bytes());
        }
    }

    #[test]
    fn eight_digit_chunks_match_to_string() {
        // Every value below 20,000, where the lanes' carries are, then a
        // stride through the rest of the range, and its top.
        let values = (0..20_000).chain((20_000..100_000_000).step_by(9_973));
        for n in values.chain([99_999_999]) {
            let mut line = vec![];
            digits8_padded(&mut line, n);
            assert_eq!(line, format!("{n:08}").into_bytes());
            line.clear();
            digits8_trimmed(&mut line, n);
            assert_eq!(line, n.to_string().into_bytes());
        }
    }

    #[test]
    fn constant_fragments_match_the_names() {
        let net = |kind| {
            EventKind::Net(NetInfo {
                kind,
                protocol: Protocol::Tcp,
                direction: Direction::Outbound,
                local: "127.0.0.1:1".parse().unwrap(),
                remote: "127.0.0.1:2".parse().unwrap(),
                cookie: 0,
                netns: 0,
                bytes_sent: 0,
                bytes_received: 0,
                ending: Default::default(),
                opened: 0,
            })
        };
        let kinds = [
            EventKind::Fork,
            EventKind::Exec(Default::default()),
            EventKind::Exit {
                status: ExitStatus::Code(0),
                reaper: None,
            },
            net(NetKind::Connect),
            net(NetKind::Accept),
            net(NetKind::Listen),
            net(NetKind::Close),
            net(NetKind::Udp),
            net(NetKind::Gone),
        ];
        for k in kinds {
            let want = format!(r#"{{"type":"{}","time":"#, k.name());
            assert_eq!(event_open(&k), want.as_bytes());
        }
        for p in [Protocol::Tcp, Protocol::Udp] {
            for d in [Direction::Outbound, Direction::Inbound, Direction::Listen] {
                let (a, b) = net_open(p, d);
                let want = format!(
                    r#","protocol":"{}","direction":"{}","local":""#,
                    p.as_str(),
                    d.as_str()
                );
                assert_eq!([a, b].concat(), want.as_bytes());
            }
        }
    }

    #[test]
    fn times_match_chrono_across_seconds() {
        let boot = 1_700_000_000_999_999_998;
        let mut clock = WallClock::new(boot);
        for ktime in [0, 1, 2, 3, 1_000_000_000, 999_999_999, 5, u64::MAX] {
            let mut line = Vec::new();
            clock.push(&mut line, ktime);
            let want = serde_json::to_vec(&rfc3339(wall_time(boot, ktime))).unwrap();
            assert_eq!(line, want, "{ktime}");
        }
    }

    #[test]
    fn reused_process_fields_are_those_of_the_line() {
        let base = Event {
            ktime: 1,
            proc: ProcKey::new(10, 20),
            tid: 11,
            parent: ProcKey::new(1, 2),
            uid: 0,
            gid: 0,
            cgroup: 5,
            comm: Comm::from("a"),
            kind: EventKind::Fork,
        };
        let mut variants = vec![base.clone()];
        let mut each = |f: &dyn Fn(&mut Event)| {
            let mut e = base.clone();
            f(&mut e);
            variants.push(e);
        };
        each(&|e| e.proc.pid = 12);
        each(&|e| e.proc.start = 21);
        each(&|e| e.tid = 11 + IDENT_SLOTS as u32);
        each(&|e| e.parent.pid = 3);
        each(&|e| e.parent.start = 4);
        each(&|e| e.uid = 1000);
        each(&|e| e.gid = 100);
        each(&|e| e.cgroup = 6);
        each(&|e| e.comm = Comm::from("b"));
        each(&|e| e.comm = Comm::from("a\""));
        let fresh = |e: &Event| {
            let mut line = Vec::new();
            event_line(&mut line, &mut WallClock::new(0), &mut Idents::default(), e);
            line
        };
        let (mut clock, mut idents) = (WallClock::new(0), Idents::default());
        // Every variant after every other, through one cache.
        for a in &variants {
            for b in &variants {
                for e in [a, b, b] {
                    let mut line = Vec::new();
                    event_line(&mut line, &mut clock, &mut idents, e);
                    assert_eq!(line, fresh(e));
                }
            }
        }
    }

    #[test]
    fn a_net_line_is_what_serde_json_reads_back() {
        let ev = Event {
            ktime: 7,
            proc: ProcKey::new(1, 2),
            tid: 3,
            parent: ProcKey::new(4, 5),
            uid: 6,
            gid: 7,
            cgroup: 8,
            comm: Comm::from("c\"1"),
            kind: EventKind::Net(NetInfo {
                kind: NetKind::Close,
                protocol: Protocol::Udp,
                direction: Direction::Inbound,
                local: "0.0.0.0:0".parse().unwrap(),
                remote: "[::1]:65535".parse().unwrap(),
                cookie: u64::MAX,
                netns: u32::MAX,
                bytes_sent: 0,
                bytes_received: 10,
                ending: Default::default(),
                opened: 0,
            }),
        };
        let mut line = Vec::new();
        event_line(
            &mut line,
            &mut WallClock::new(0),
            &mut Idents::default(),
            &ev,
        );
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["type"], "close");
        assert_eq!(v["comm"], "c\"1");
        assert_eq!(v["protocol"], "udp");
        assert_eq!(v["direction"], "inbound");
        assert_eq!(v["local"], "0.0.0.0:0");
        assert_eq!(v["remote"], "[::1]:65535");
        assert_eq!(v["cookie"], u64::MAX);
        assert_eq!(v["netns"], u32::MAX);
        assert_eq!(v["bytes_received"], 10);
    }
}
