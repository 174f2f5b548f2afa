//! Plain Rust types for what the probe observes. Nothing here knows about
//! BPF: the loader decodes raw records into these at the boundary, and the
//! journal reads and writes them.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::ops::Deref;

/// Nanoseconds in one `clock_t` tick as /proc reports start times
/// (`USER_HZ` is 100 on every Linux architecture).
pub const NS_PER_TICK: u64 = 10_000_000;

/// The identity of a process: its thread-group id and the start time of its
/// group leader (boot-time ns). A reused pid gives a different key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct ProcKey {
    pub pid: u32,
    pub start: u64,
}

impl ProcKey {
    pub const fn new(pid: u32, start: u64) -> Self {
        Self { pid, start }
    }

    /// The start time at /proc's resolution: what a key seeded from /proc
    /// and the same key seen by the probe have in common.
    pub const fn start_tick(self) -> u64 {
        self.start / NS_PER_TICK
    }

    /// Whether the start is the probe's, to the ns, rather than /proc's (a
    /// whole number of ticks). Told by the value alone, as the journal
    /// says (docs/journal.md): an exact start falls on a tick once in 10⁷
    /// processes, and is then matched as /proc's would be.
    pub const fn start_is_exact(self) -> bool {
        self.start % NS_PER_TICK != 0
    }

    /// Whether the two can name one process: the same pid and start, or,
    /// when either start is /proc's, the same pid and start tick. Two
    /// exact starts in one tick are two processes: a pid reused within
    /// 10 ms (a small `pid_max` with churn, `clone3` with `set_tid`,
    /// `ns_last_pid`).
    pub const fn same_process(self, other: ProcKey) -> bool {
        self.pid == other.pid
            && (self.start == other.start
                || (self.start_tick() == other.start_tick()
                    && !(self.start_is_exact() && other.start_is_exact())))
    }
}

impl fmt::Display for ProcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.pid, self.start)
    }
}

/// A process's short name (the kernel's `comm`), held inline: valid UTF-8
/// of at most [`Comm::CAPACITY`] bytes, copied without allocating.
#[derive(Clone, Copy)]
pub struct Comm {
    len: u8,
    /// Only `bytes[..len]` is the name; it is always whole UTF-8 chars.
    /// The rest is zero, so equal names have equal arrays.
    bytes: [u8; Comm::CAPACITY],
}

impl Comm {
    /// Room for any kernel comm (at most 15 bytes) after lossy UTF-8
    /// conversion, which can turn each byte into U+FFFD (3 bytes). Longer
    /// names (from /proc or a journal) are cut at a char boundary.
    pub const CAPACITY: usize = 47;

    /// The empty name.
    pub const fn new() -> Self {
        Comm {
            len: 0,
            bytes: [0; Comm::CAPACITY],
        }
    }

    /// From raw bytes: invalid UTF-8 becomes U+FFFD, as in
    /// [`String::from_utf8_lossy`]; what does not fit is cut.
    pub fn from_bytes_lossy(bytes: &[u8]) -> Self {
        let mut comm = Comm::new();
        // Almost always: short and ASCII.
        if bytes.len() <= Comm::CAPACITY && bytes.is_ascii() {
            comm.bytes[..bytes.len()].copy_from_slice(bytes);
            // At most CAPACITY, which fits in a u8.
            comm.len = bytes.len() as u8;
            return comm;
        }
        for chunk in bytes.utf8_chunks() {
            if !comm.push(chunk.valid()) || (!chunk.invalid().is_empty() && !comm.push("\u{FFFD}"))
            {
                break;
            }
        }
        comm
    }

    /// Appends as much of `s` as fits, cut at a char boundary. False when
    /// something did not fit.
    fn push(&mut self, s: &str) -> bool {
        let len = usize::from(self.len);
        let room = Comm::CAPACITY - len;
        let take = if s.len() <= room {
            s.len()
        } else {
            (0..=room)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0)
        };
        self.bytes[len..len + take].copy_from_slice(&s.as_bytes()[..take]);
        // At most CAPACITY, which fits in a u8.
        self.len = (len + take) as u8;
        take == s.len()
    }

    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // SAFETY: `bytes[..len]` is only ever written by `push`, which
        // copies a prefix of a `&str` that ends at a char boundary, and by
        // `from_bytes_lossy` from bytes it checked are ASCII: it is valid
        // UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

impl Default for Comm {
    fn default() -> Self {
        Comm::new()
    }
}

impl Deref for Comm {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Comm {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Comm {
    /// Cut at a char boundary if longer than [`Comm::CAPACITY`].
    fn from(s: &str) -> Self {
        let mut comm = Comm::new();
        comm.push(s);
        comm
    }
}

impl fmt::Display for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Comm {
    fn eq(&self, other: &Self) -> bool {
        // Fixed-size compares (no call), valid as the unused bytes are zero.
        self.len == other.len && self.bytes == other.bytes
    }
}

impl Eq for Comm {}

impl PartialEq<str> for Comm {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Comm {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for Comm {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// How a process ended, decoded from the kernel's wait status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    Code(i32),
    Signal { signal: i32, core_dumped: bool },
}

impl ExitStatus {
    /// Decodes a wait status as the kernel stores it in `task->exit_code`.
    pub fn from_wait_status(status: u32) -> Self {
        let signal = (status & 0x7f) as i32;
        if signal == 0 {
            ExitStatus::Code(((status >> 8) & 0xff) as i32)
        } else {
            ExitStatus::Signal {
                signal,
                core_dumped: status & 0x80 != 0,
            }
        }
    }

    /// True for a zero exit code.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ExitStatus::Code(c) => write!(f, "exit {c}"),
            ExitStatus::Signal {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by {}", signal_name(signal))?;
                if core_dumped {
                    write!(f, " (core dumped)")?;
                }
                Ok(())
            }
        }
    }
}

/// The conventional name of a signal number, `SIG42` for unnamed ones.
/// `c` as a terminal may be given it: control characters (escape
/// sequences, newlines, bells) and the invisible formatting characters that
/// reorder or hide text (bidirectional overrides and isolates, zero-width
/// characters) become `?`, so that a process cannot choose how its own
/// name or arguments are drawn, nor disguise them.
pub fn printable_char(c: char) -> char {
    let hidden = matches!(
        c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    );
    if c.is_control() || hidden { '?' } else { c }
}

/// `s` with each char made [`printable_char`].
pub fn printable(s: &str) -> String {
    s.chars().map(printable_char).collect()
}

/// Bytes as [`printable`] text, those that are not UTF-8 as `\xNN` (a
/// U+FFFD would not tell them from the character): a name as the view and
/// `export --text` show it, alike.
pub fn printable_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.extend(chunk.valid().chars().map(printable_char));
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

pub fn signal_name(signal: i32) -> String {
    const NAMES: [&str; 32] = [
        "SIG0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("SIG{signal}"), |s| (*s).to_string())
}

/// One exec: the program a process became.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ExecInfo {
    /// The path as given to execve (bytes: Linux paths need not be UTF-8):
    /// maybe relative, a symlink, `/proc/self/fd/3`. For the program a
    /// process ran when causeway began, `/proc/PID/exe`'s path, as `file`.
    pub exe: Vec<u8>,
    /// The file the kernel executed, by its path from its mount
    /// namespace's root, symlinks resolved (`/usr/bin/python3.11`,
    /// `/memfd:payload`); for a `#!` script, its interpreter. Empty when
    /// not known (a journal written before causeway recorded it). One that
    /// does not begin with `/` is the end of a path the probe cut.
    pub file: Vec<u8>,
    /// The file had no links when it was executed (or, for one running
    /// when causeway began, when it was listed): deleted, or a memfd.
    pub deleted: bool,
    pub argv: Vec<Vec<u8>>,
    /// The kernel held more argv than the probe copies.
    pub argv_truncated: bool,
    /// The thread that called exec, when it was not the group leader.
    pub old_tid: u32,
}

impl ExecInfo {
    /// The program it runs, as it is named: `file` when known, else the
    /// path given to exec; for a `#!` script, the script (`./backup.sh`,
    /// not the `dash` that runs it: what an operator knows it by).
    pub fn program(&self) -> &[u8] {
        if self.file.is_empty() || self.script() {
            &self.exe
        } else {
            &self.file
        }
    }

    /// Exec'd as a `#!` script: the kernel ran its interpreter (`file`)
    /// and gave it the script's path, the path exec'd, as `argv[1]`.
    pub fn script(&self) -> bool {
        self.argv.get(1) == Some(&self.exe) && self.argv.first() != Some(&self.exe)
    }

    /// Ran a memfd (`memfd_create`): a program with no file on any disk.
    pub fn memfd(&self) -> bool {
        self.deleted && self.file.starts_with(b"/memfd:")
    }
}

/// Transport protocol of a connection.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// Which way a connection was made, from the process's side.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Outbound,
    Inbound,
    Listen,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound",
            Direction::Inbound => "inbound",
            Direction::Listen => "listen",
        }
    }
}

/// What the probe saw happen to a socket.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NetKind {
    Connect,
    Accept,
    Listen,
    Close,
    Udp,
    /// A TCP socket the kernel no longer lists, whose close was never
    /// seen: found by causeway's sweep, at the time it noticed.
    Gone,
}

impl NetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetKind::Connect => "connect",
            NetKind::Accept => "accept",
            NetKind::Listen => "listen",
            NetKind::Close => "close",
            NetKind::Udp => "udp",
            NetKind::Gone => "gone",
        }
    }

    /// Whether this ends a socket's story: a close, seen or not.
    pub fn is_end(self) -> bool {
        matches!(self, NetKind::Close | NetKind::Gone)
    }
}

/// A socket-level fact, attributed to the process in the event header.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NetInfo {
    pub kind: NetKind,
    pub protocol: Protocol,
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The kernel's socket cookie: ties a close to its connect or accept.
    pub cookie: u64,
    /// The socket's network namespace, by its inode number (as
    /// `/proc/PID/ns/net` shows it); 0 when unknown (a journal written
    /// before causeway recorded it). Loopback addresses are per namespace.
    pub netns: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// How a TCP connection ended (its close only).
    pub ending: Ending,
    /// A TCP connect's: when `connect()` was called (boot-time ns), where
    /// the event's own time is when it was established or failed; 0 when
    /// not known (it began before the probe attached, or a journal written
    /// before causeway recorded it), and for the others.
    pub opened: u64,
}

/// How a TCP connection ended, as its close found it: the error the kernel
/// left on the socket and the state it closed from. All zero when not
/// known (other records, a `gone` socket, an older journal).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ending {
    /// The socket's error, an errno (`ECONNREFUSED`...); 0 for none.
    pub error: u16,
    /// The TCP state it closed from, in the kernel's numbering (see
    /// [`tcp_state_name`]); 0 when not known.
    pub from: u8,
}

/// How a TCP connection failed, when it did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failure {
    /// The peer answered the connect with a reset: nothing listens there.
    Refused,
    /// No answer: the connect's SYNs, or data, were never acknowledged.
    TimedOut,
    /// The network said the host or the network cannot be reached.
    Unreachable,
    /// The peer reset an established connection.
    Reset,
    /// Reset from this side: closed with data unread, `SO_LINGER` 0, or
    /// killed (`ss -K`).
    Aborted,
    /// Closed while still connecting, with no error: the process gave up
    /// (its own timeout) or exited.
    Abandoned,
    /// Any other error (an errno).
    Error(u16),
}

const TCP_ESTABLISHED: u8 = 1;
/// The TCP state of a connect in flight.
pub const TCP_SYN_SENT: u8 = 2;
/// The TCP state of a connection whose peer closed its end first and
/// whose process has not closed it yet.
pub const TCP_CLOSE_WAIT: u8 = 8;
/// The TCP state of a connection closed after its peer closed first: its
/// own FIN sent, waiting for the peer's last ACK.
const TCP_LAST_ACK: u8 = 9;
const EPIPE: u16 = 32;
const ENETDOWN: u16 = 100;
const ENETUNREACH: u16 = 101;
const ECONNABORTED: u16 = 103;
const ECONNRESET: u16 = 104;
const ETIMEDOUT: u16 = 110;
const ECONNREFUSED: u16 = 111;
const EHOSTDOWN: u16 = 112;
const EHOSTUNREACH: u16 = 113;

impl Ending {
    /// How it failed; `None` for a clean close, or when nothing is known.
    pub fn failure(self) -> Option<Failure> {
        Some(match self.error {
            // Closed after the peer had closed its end and gone: the reset
            // answers this side's late FIN (a leak cleaned up after the
            // peer's socket expired), and nothing was lost by it.
            ECONNRESET | EPIPE if self.from == TCP_LAST_ACK => return None,
            ECONNREFUSED => Failure::Refused,
            ETIMEDOUT => Failure::TimedOut,
            ENETDOWN | ENETUNREACH | EHOSTDOWN | EHOSTUNREACH => Failure::Unreachable,
            ECONNRESET | EPIPE => Failure::Reset,
            // Killed from this host (`ss -K`: the kernel's tcp_abort).
            ECONNABORTED => Failure::Aborted,
            0 => match self.from {
                TCP_SYN_SENT => Failure::Abandoned,
                TCP_ESTABLISHED | TCP_CLOSE_WAIT => Failure::Aborted,
                _ => return None,
            },
            e => Failure::Error(e),
        })
    }
}

impl Failure {
    /// What the view and the chain call it.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Refused => "refused",
            Failure::TimedOut => "timed out",
            Failure::Unreachable => "unreachable",
            Failure::Reset => "reset",
            Failure::Aborted => "aborted",
            Failure::Abandoned => "abandoned",
            Failure::Error(_) => "error",
        }
    }
}

/// The kernel's TCP states, by number (`include/net/tcp_states.h`).
const TCP_STATES: [&str; 13] = [
    "",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

/// A TCP state's name (`SYN_SENT`), `None` for 0 or a number the kernel
/// does not use.
pub fn tcp_state_name(state: u8) -> Option<&'static str> {
    TCP_STATES
        .get(usize::from(state))
        .copied()
        .filter(|s| !s.is_empty())
}

/// The number of a TCP state named by [`tcp_state_name`].
pub fn tcp_state_number(name: &str) -> Option<u8> {
    (1..TCP_STATES.len())
        .find(|&i| TCP_STATES[i] == name)
        .and_then(|i| u8::try_from(i).ok())
}

/// The symbolic name of a Linux errno a connection can end with
/// (`ECONNREFUSED`), or `E` and its number for others.
pub fn errno_name(errno: u16) -> String {
    let name = match errno {
        1 => "EPERM",
        13 => "EACCES",
        EPIPE => "EPIPE",
        71 => "EPROTO",
        90 => "EMSGSIZE",
        ENETDOWN => "ENETDOWN",
        ENETUNREACH => "ENETUNREACH",
        102 => "ENETRESET",
        103 => "ECONNABORTED",
        ECONNRESET => "ECONNRESET",
        105 => "ENOBUFS",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNREFUSED => "ECONNREFUSED",
        EHOSTDOWN => "EHOSTDOWN",
        EHOSTUNREACH => "EHOSTUNREACH",
        n => return format!("E{n}"),
    };
    name.to_string()
}

/// Unmaps a v4-mapped IPv6 address, so it reads as the IPv4 it is.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A signal that can end a process, sent to the event's process by another
/// process or by the kernel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignalInfo {
    pub signal: i32,
    /// The siginfo's `si_code`: 0 `kill()`, -1 `sigqueue()`, -6 `tgkill()`,
    /// 0x80 the kernel.
    pub code: i32,
    /// Who sent it; `None` when the kernel did (the terminal's Ctrl-C or
    /// hangup, the OOM killer, a resource limit). For the OOM killer's
    /// choice ([`SignalInfo::oom`]), the process whose allocation found no
    /// memory.
    pub sender: Option<Sender>,
    /// The OOM killer chose this process: the `SIGKILL` it was just sent is
    /// the OOM killer's.
    pub oom: bool,
}

/// The process that sent a signal, as it was then.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Sender {
    pub proc: ProcKey,
    pub uid: u32,
    pub comm: Comm,
}

/// What happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EventKind {
    Fork,
    Exec(ExecInfo),
    /// The process ended (its last thread exited).
    Exit {
        status: ExitStatus,
        /// The process the kernel handed its running children to (its
        /// nearest child-subreaper ancestor, else init); `None` when it
        /// left none, or not known (a journal written before causeway
        /// recorded it).
        reaper: Option<ProcKey>,
    },
    Net(NetInfo),
    /// The process was sent a signal.
    Signal(SignalInfo),
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Fork => "fork",
            EventKind::Exec(_) => "exec",
            EventKind::Exit { .. } => "exit",
            EventKind::Net(n) => n.kind.as_str(),
            EventKind::Signal(_) => "signal",
        }
    }
}

/// One observed event, with the process it concerns.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event {
    /// Boot-time ns (CLOCK_BOOTTIME) when it happened.
    pub ktime: u64,
    pub proc: ProcKey,
    pub tid: u32,
    /// For a fork, the process that forked; otherwise the current parent.
    pub parent: ProcKey,
    pub uid: u32,
    pub gid: u32,
    pub cgroup: u64,
    pub comm: Comm,
    pub kind: EventKind,
}

/// Who did something, as an event's header says: the process, the thread,
/// the parent, credentials and name. Kept apart from an event where one
/// event's actor is remembered for another (a close is given its socket's
/// opener) or compared across events (the journal writer reuses the
/// formatted fields while they stay the same).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Actor {
    pub proc: ProcKey,
    pub tid: u32,
    pub parent: ProcKey,
    pub uid: u32,
    pub gid: u32,
    pub cgroup: u64,
    pub comm: Comm,
}

impl Actor {
    /// The actor of `ev`.
    pub fn of(ev: &Event) -> Self {
        Actor {
            proc: ev.proc,
            tid: ev.tid,
            parent: ev.parent,
            uid: ev.uid,
            gid: ev.gid,
            cgroup: ev.cgroup,
            comm: ev.comm,
        }
    }

    /// `*self == Actor::of(ev)`, without making one.
    pub fn is_of(&self, ev: &Event) -> bool {
        self.tid == ev.tid
            && self.proc == ev.proc
            && self.parent == ev.parent
            && self.uid == ev.uid
            && self.gid == ev.gid
            && self.cgroup == ev.cgroup
            && self.comm == ev.comm
    }

    /// An event of this actor: `kind`, at `ktime`.
    pub fn event(&self, ktime: u64, kind: EventKind) -> Event {
        Event {
            ktime,
            proc: self.proc,
            tid: self.tid,
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            cgroup: self.cgroup,
            comm: self.comm,
            kind,
        }
    }

    /// Makes this the actor of `ev`.
    pub fn give_to(&self, ev: &mut Event) {
        ev.proc = self.proc;
        ev.tid = self.tid;
        ev.parent = self.parent;
        ev.uid = self.uid;
        ev.gid = self.gid;
        ev.cgroup = self.cgroup;
        ev.comm = self.comm;
    }
}

/// A process that already existed when causeway started, read from /proc.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SeedProcess {
    pub proc: ProcKey,
    /// The parent at scan time; `None` for pid 1 and kernel thread roots.
    pub parent: Option<ProcKey>,
    pub uid: u32,
    pub gid: u32,
    pub cgroup: u64,
    pub comm: Comm,
    /// What `/proc/PID/exe` names, without the ` (deleted)` it adds to a
    /// file with no links.
    pub exe: Vec<u8>,
    /// That file had no links when listed: deleted, or a memfd.
    pub exe_deleted: bool,
    pub argv: Vec<Vec<u8>>,
    /// Its arguments were longer than the probe keeps of an exec's
    /// ([`crate::bpf::ARGS_LEN`]): `argv` holds the first of them, the last
    /// one maybe cut.
    pub argv_truncated: bool,
    /// It had already ended, and its parent had not yet collected how (a
    /// zombie, `Z` in `ps`): the probe never sees its end.
    pub defunct: Option<Defunct>,
    /// Its session and process group, against which one under init is
    /// told adopted or started by it (see [`SeedProcess::adopted`]).
    pub groups: Groups,
}

/// A process's session and process group, each by its leader's pid (`ps -o
/// sid,pgid`); 0 when not known (a journal written before causeway recorded
/// it), and the session 0 is also the kernel's: init's, on a host whose
/// init never called `setsid()` (a VM's or container's), and all it starts
/// without one.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Groups {
    pub session: u32,
    pub pgid: u32,
}

impl SeedProcess {
    /// A process listed by its identity and name alone, under no parent
    /// (made-up scenarios: tests, the demo).
    pub fn bare(proc: ProcKey, comm: &str) -> SeedProcess {
        SeedProcess {
            proc,
            parent: None,
            uid: 0,
            gid: 0,
            cgroup: 1,
            comm: comm.into(),
            exe: Vec::new(),
            exe_deleted: false,
            argv: Vec::new(),
            argv_truncated: false,
            defunct: None,
            groups: Groups::default(),
        }
    }

    /// Whether init adopted it (`init`: pid 1's groups): its parent is pid
    /// 1 and init did not start it. An orphan: a daemon that double-forked,
    /// a job whose shell exited. Who started it is not known.
    ///
    /// Init starts each service in a session of its own (systemd, as
    /// `setsid`): one in another's session that it does not lead was
    /// adopted. One in init's own session (0 on a host whose init never
    /// called `setsid()`) is told by its process group instead: init starts
    /// each in a group of its own or in init's, and an orphan stays in its
    /// job's.
    pub fn adopted(&self, init: Groups) -> bool {
        let (pid, g) = (self.proc.pid, self.groups);
        if pid == 1 || self.parent.is_none_or(|p| p.pid != 1) {
            return false;
        }
        if g.session != 0 && g.session != init.session {
            return g.session != pid;
        }
        g.pgid != 0 && g.pgid != pid && g.pgid != init.pgid
    }
}

/// A process found ended at the /proc scan.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Defunct {
    /// When the scan found it so (boot-time ns): it ended before then.
    pub seen: u64,
    pub status: ExitStatus,
}

/// A TCP socket that already existed when causeway started, as the kernel
/// listed it, and the process that held it then.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SeedSocket {
    /// When it was listed (boot-time ns): it opened before then.
    pub seen: u64,
    pub actor: Actor,
    pub protocol: Protocol,
    /// Listen; else inbound when its local port is a listener's, else
    /// outbound (the kernel does not keep which end connected).
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// The kernel's socket cookie: a later close has the same one.
    pub cookie: u64,
    /// Its network namespace (see [`NetInfo::netns`]).
    pub netns: u32,
    /// Accepted, and found unused while recording (in its listener's
    /// queue, or never read): not listed at start.
    pub unused: bool,
    /// Still connecting (`SYN_SENT`): listed at start so, or found so
    /// while recording, a connect in flight for a few seconds.
    pub connecting: bool,
    /// When its `connect()` was called (boot-time ns), when known (a
    /// connect in flight found while recording); else 0.
    pub opened: u64,
    /// Its peer has closed its end and its process has not
    /// (`CLOSE_WAIT`): listed so at start, or found so by a sweep while
    /// recording (`seen` is when).
    pub peer_closed: bool,
}

impl SeedSocket {
    /// A TCP socket listed at time 1, of no process in particular, between
    /// two loopback ends: for tests of what happens to listed sockets.
    #[cfg(test)]
    pub fn tcp_for_test(direction: Direction, cookie: u64, netns: u32) -> Self {
        SeedSocket {
            seen: 1,
            actor: Actor::default(),
            protocol: Protocol::Tcp,
            direction,
            local: SocketAddr::from(([127, 0, 0, 1], 1)),
            remote: SocketAddr::from(([127, 0, 0, 1], 2)),
            cookie,
            netns,
            unused: false,
            connecting: false,
            opened: 0,
            peer_closed: false,
        }
    }

    /// The socket as the event that would have opened it, at `seen`.
    pub fn as_event(&self) -> Event {
        let kind = match self.direction {
            Direction::Listen => NetKind::Listen,
            Direction::Inbound => NetKind::Accept,
            Direction::Outbound => NetKind::Connect,
        };
        self.actor.event(
            self.seen,
            EventKind::Net(NetInfo {
                kind,
                protocol: self.protocol,
                direction: self.direction,
                local: self.local,
                remote: self.remote,
                cookie: self.cookie,
                netns: self.netns,
                bytes_sent: 0,
                bytes_received: 0,
                ending: Default::default(),
                opened: self.opened,
            }),
        )
    }

    /// The socket an event of the journal's `socket` line describes.
    pub fn from_event(ev: &Event) -> Option<SeedSocket> {
        let EventKind::Net(n) = &ev.kind else {
            return None;
        };
        Some(SeedSocket {
            seen: ev.ktime,
            actor: Actor::of(ev),
            protocol: n.protocol,
            direction: n.direction,
            local: n.local,
            remote: n.remote,
            cookie: n.cookie,
            netns: n.netns,
            unused: false,
            connecting: false,
            opened: n.opened,
            peer_closed: false,
        })
    }
}

/// Messages in the order they happened, as the channels from the probe
/// carry them: one batch per ring-buffer poll, so each channel operation
/// moves many messages.
pub type Batch = Vec<Message>;

/// Everything that flows from a source (probe or journal) to the tree.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    Seed(SeedProcess),
    /// A socket that existed when causeway started; after the processes.
    Socket(SeedSocket),
    Event(Event),
    /// Records the probe could not deliver (ring buffer full).
    Lost {
        ktime: u64,
        count: u64,
    },
    /// The path of cgroup `id` in the cgroup2 tree
    /// (`/system.slice/nginx.service`), sent before the first message that
    /// uses the id (see [`crate::cgroups`]).
    Cgroup {
        id: u64,
        path: String,
    },
    /// The journal read goes on with another recording after a stretch no
    /// recording covers (see [`Gap`]). Made by the journal reader, never
    /// written.
    Gap(Box<Gap>),
}

/// A stretch no recording covers, between two recordings read as one (a
/// recorder restarted; journals of two runs given together), or between
/// two files of one run with files missing between them. Made by the
/// journal reader and put before the lines of the recording after it:
/// what that recording found running and open when it began says what had
/// ended in the stretch, unseen.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Gap {
    pub stretch: Stretch,
    /// The processes the recording after listed when it began (its
    /// `process` lines: running, or ended and not yet collected).
    pub procs: Vec<ProcKey>,
    /// The TCP sockets it listed open then, by cookie (its opening
    /// `socket` lines).
    pub sockets: Vec<u64>,
}

/// Where a [`Gap`] is: between which recordings, from when to when.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Stretch {
    /// How messages name the recording before it and the one after: a
    /// file, or a file from a line (`both.jsonl from line 4812`).
    pub before: String,
    pub after: String,
    /// The last time the recording before holds, and the first the one
    /// after holds (boot-time ns).
    pub from: u64,
    pub to: u64,
    /// When the two are files of one run with files missing between
    /// them: which files of the run they are (their headers' `file`).
    /// `None`: two recordings.
    pub files: Option<(u64, u64)>,
    /// When the recording after is a file of a run after its first (the
    /// first of that run read): its number. The run's files 1 to it − 1
    /// were not read (removed by `--keep`, or not given), so the stretch
    /// was recorded in part: only not by what was read.
    pub first_read: Option<u64>,
}

impl Stretch {
    /// The stretch between two whole recordings, `before` ending at
    /// `from` and `after` beginning at `to`.
    pub fn between(before: &str, after: &str, from: u64, to: u64) -> Stretch {
        Stretch {
            before: before.to_string(),
            after: after.to_string(),
            from,
            to,
            files: None,
            first_read: None,
        }
    }
}

impl Message {
    /// When it happened (boot-time ns), for what has a time: not a scanned
    /// process, nor a cgroup's name.
    pub fn ktime(&self) -> Option<u64> {
        match self {
            Message::Socket(s) => Some(s.seen),
            Message::Event(ev) => Some(ev.ktime),
            Message::Lost { ktime, .. } => Some(*ktime),
            Message::Gap(gap) => Some(gap.stretch.to),
            Message::Seed(_) | Message::Cgroup { .. } => None,
        }
    }

    /// The cgroup of the process this message is about, if it has one.
    pub fn cgroup(&self) -> Option<u64> {
        match self {
            Message::Seed(s) => Some(s.cgroup),
            Message::Socket(s) => Some(s.actor.cgroup),
            Message::Event(ev) => Some(ev.cgroup),
            Message::Lost { .. } | Message::Cgroup { .. } | Message::Gap(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_from_proc_matches_its_tick_and_two_exact_ones_only_themselves() {
        let scanned = ProcKey::new(7, 42 * NS_PER_TICK);
        let first = ProcKey::new(7, 42 * NS_PER_TICK + 1_234);
        let second = ProcKey::new(7, 42 * NS_PER_TICK + 9_999_999);
        assert!(!scanned.start_is_exact() && first.start_is_exact());
        assert!(scanned.same_process(first) && second.same_process(scanned));
        assert!(first.same_process(first));
        assert!(!first.same_process(second) && !second.same_process(first));
        let next_tick = ProcKey::new(7, 43 * NS_PER_TICK + 1);
        assert!(!scanned.same_process(next_tick));
        assert!(!scanned.same_process(ProcKey::new(8, scanned.start)));
    }

    #[test]
    fn a_process_under_init_that_leads_no_session_was_adopted() {
        let seed = |pid: u32, parent: u32, session: u32, pgid: u32| SeedProcess {
            proc: ProcKey::new(pid, 1),
            parent: Some(ProcKey::new(parent, 1)),
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: Comm::new(),
            exe: Vec::new(),
            exe_deleted: false,
            argv: Vec::new(),
            argv_truncated: false,
            defunct: None,
            groups: Groups { session, pgid },
        };
        let systemd = Groups {
            session: 1,
            pgid: 1,
        };
        // A job whose shell exited; a daemon that double-forked.
        assert!(seed(500, 1, 400, 400).adopted(systemd));
        assert!(seed(500, 1, 400, 450).adopted(systemd));
        // A service: init starts each in a session of its own.
        assert!(!seed(500, 1, 500, 500).adopted(systemd));
        // Its parent started it; not known (an older journal).
        assert!(!seed(500, 300, 400, 400).adopted(systemd));
        assert!(!seed(500, 1, 0, 0).adopted(systemd));
        assert!(!seed(1, 0, 0, 0).adopted(systemd));
        // In init's session, started by it without `setsid()`.
        assert!(!seed(500, 1, 1, 1).adopted(systemd));
        // An init that never called setsid() (a VM's, a container's): all
        // it starts is in the kernel's session 0, each in a group of its own
        // or in init's; a job whose shell exited stays in its job's group.
        let vm = Groups::default();
        assert!(!seed(500, 1, 0, 500).adopted(vm));
        assert!(!seed(500, 1, 0, 0).adopted(vm));
        assert!(seed(520, 1, 0, 500).adopted(vm));
        // ...and one in a session of its own there is as before.
        assert!(!seed(530, 1, 530, 530).adopted(vm));
        assert!(seed(540, 1, 530, 530).adopted(vm));
    }

    #[test]
    fn a_close_names_how_the_connection_failed() {
        let failure = |error, from| Ending { error, from }.failure();
        let state = |name| tcp_state_number(name).unwrap();
        assert_eq!(failure(111, state("SYN_SENT")), Some(Failure::Refused));
        assert_eq!(failure(110, state("SYN_SENT")), Some(Failure::TimedOut));
        assert_eq!(failure(110, state("ESTABLISHED")), Some(Failure::TimedOut));
        assert_eq!(failure(113, state("SYN_SENT")), Some(Failure::Unreachable));
        assert_eq!(failure(101, state("SYN_SENT")), Some(Failure::Unreachable));
        assert_eq!(failure(104, state("ESTABLISHED")), Some(Failure::Reset));
        assert_eq!(failure(32, state("CLOSE_WAIT")), Some(Failure::Reset));
        // Closed long after the peer did (its socket gone): no failure.
        assert_eq!(failure(104, state("LAST_ACK")), None);
        assert_eq!(failure(0, state("ESTABLISHED")), Some(Failure::Aborted));
        assert_eq!(failure(0, state("CLOSE_WAIT")), Some(Failure::Aborted));
        // `ss -K`.
        assert_eq!(failure(103, state("ESTABLISHED")), Some(Failure::Aborted));
        assert_eq!(failure(0, state("SYN_SENT")), Some(Failure::Abandoned));
        assert_eq!(failure(71, state("ESTABLISHED")), Some(Failure::Error(71)));
        for clean in ["FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK", "SYN_RECV"] {
            assert_eq!(failure(0, state(clean)), None, "{clean}");
        }
        assert_eq!(failure(0, 0), None, "nothing known");
        assert_eq!(errno_name(111), "ECONNREFUSED");
        assert_eq!(errno_name(4000), "E4000");
    }

    #[test]
    fn tcp_states_are_named_as_the_kernel_numbers_them() {
        assert_eq!(tcp_state_name(2), Some("SYN_SENT"));
        assert_eq!(tcp_state_name(9), Some("LAST_ACK"));
        assert_eq!(tcp_state_name(0), None);
        assert_eq!(tcp_state_name(13), None);
        for n in 1..=12 {
            let name = tcp_state_name(n).unwrap();
            assert_eq!(tcp_state_number(name), Some(n));
        }
        assert_eq!(tcp_state_number("BOUND_INACTIVE"), None);
        assert_eq!(tcp_state_number(""), None);
    }

    #[test]
    fn comm_reads_as_the_str_it_holds() {
        let c = Comm::from("bash");
        assert_eq!(c, "bash");
        assert_eq!(c.as_str(), "bash");
        assert_eq!(c.len(), 4);
        assert_eq!(format!("{c} {c:?}"), "bash \"bash\"");
        assert_eq!(Comm::default(), "");
        assert!(Comm::new().is_empty());
        assert_eq!(
            Comm::from_bytes_lossy(b"kworker/0:1"),
            Comm::from("kworker/0:1")
        );
    }

    #[test]
    fn invalid_bytes_become_replacement_chars_like_from_utf8_lossy() {
        for raw in [
            &b"caf\xc3\xa9"[..],
            b"\xff\xfe",
            b"a\xc3",
            b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80",
        ] {
            let c = Comm::from_bytes_lossy(raw);
            assert_eq!(c.as_str(), String::from_utf8_lossy(raw), "{raw:?}");
        }
    }

    #[test]
    fn a_long_name_is_cut_at_a_char_boundary() {
        let long = "é".repeat(40);
        let c = Comm::from(long.as_str());
        assert_eq!(c.len(), Comm::CAPACITY - 1);
        assert!(long.starts_with(c.as_str()));
        let c = Comm::from_bytes_lossy(&[0xff; 64]);
        assert_eq!(c.as_str(), "\u{FFFD}".repeat(Comm::CAPACITY / 3));
        let ascii = "x".repeat(100);
        assert_eq!(Comm::from(ascii.as_str()).len(), Comm::CAPACITY);
    }
}
