//! Plain Rust types for what the probe observes. Nothing here knows about
//! BPF: the loader decodes raw records into these at the boundary, and the
//! journal reads and writes them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

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
}

impl fmt::Display for ProcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.pid, self.start)
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
    /// The path as given to execve (bytes: Linux paths need not be UTF-8).
    pub exe: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
    /// The kernel held more argv than the probe copies.
    pub argv_truncated: bool,
    /// The thread that called exec, when it was not the group leader.
    pub old_tid: u32,
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
}

impl NetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NetKind::Connect => "connect",
            NetKind::Accept => "accept",
            NetKind::Listen => "listen",
            NetKind::Close => "close",
            NetKind::Udp => "udp",
        }
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
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Unmaps a v4-mapped IPv6 address, so it reads as the IPv4 it is.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// What happened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EventKind {
    Fork,
    Exec(ExecInfo),
    Exit(ExitStatus),
    Net(NetInfo),
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Fork => "fork",
            EventKind::Exec(_) => "exec",
            EventKind::Exit(_) => "exit",
            EventKind::Net(n) => n.kind.as_str(),
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
    pub comm: String,
    pub kind: EventKind,
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
    pub comm: String,
    pub exe: Vec<u8>,
    pub argv: Vec<Vec<u8>>,
}

/// Everything that flows from a source (probe or journal) to the tree.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    Seed(SeedProcess),
    Event(Event),
    /// Records the probe could not deliver (ring buffer full).
    Lost {
        ktime: u64,
        count: u64,
    },
}
