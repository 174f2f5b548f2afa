//! The TCP sockets that exist when causeway starts, as the kernel lists
//! them over sock_diag netlink (what `ss -tap` reads), in every network
//! namespace a process holding a socket is in, each with the process that
//! holds it. The tree then shows the connections and listeners
//! made before the probe attached, and the probe can name their closes:
//! listing a socket gives it its cookie, and the probe reports the close
//! of every socket that has one.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::event::{
    Actor, Comm, Direction, NS_PER_TICK, ProcKey, Protocol, SeedSocket, TCP_CLOSE_WAIT,
    TCP_SYN_SENT, canonical_ip,
};

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// The older inet_diag request for TCP sockets (struct inet_diag_req),
/// which the kernel answers for IPv4 and IPv6 in one walk of its tables.
const TCPDIAG_GETSOCK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
/// struct nlmsghdr.
const HEADER_LEN: usize = 16;
/// struct inet_diag_req_v2.
const REQUEST_LEN: usize = 56;
/// struct inet_diag_req.
const COMPAT_REQUEST_LEN: usize = 60;
/// struct inet_diag_msg.
const MSG_LEN: usize = 72;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;

// TCP states (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 1;
const TCP_SYN_RECV: u8 = 3;
const TCP_LISTEN: u8 = 10;
/// Every state of a socket a process can hold: not TIME_WAIT or CLOSE
/// (over), nor NEW_SYN_RECV (a handshake in progress, no socket yet).
const STATES: u32 = (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 8)
    | (1 << 9)
    | (1 << TCP_LISTEN)
    | (1 << 11);

/// Which of the kernel's TCP sockets a listing asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// Every socket a process can hold.
    Held,
    /// Listeners only. Far cheaper: the kernel then walks its table of
    /// listeners alone, not the table of connections, whose every bucket
    /// it visits however few sockets a namespace has (that table is
    /// shared by all namespaces and sized by memory: 262,144 buckets here,
    /// about 1.5 ms a walk, against 0.06 ms for the listeners).
    Listening,
    /// Connects in flight only (`SYN_SENT`): a walk of the table of
    /// connections, but only those are read and sent.
    Connecting,
}

impl Wanted {
    fn states(self) -> u32 {
        match self {
            Wanted::Held => STATES,
            Wanted::Listening => 1 << TCP_LISTEN,
            Wanted::Connecting => 1 << TCP_SYN_SENT,
        }
    }
}

/// A TCP socket as the kernel listed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub state: u8,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub cookie: u64,
    /// The socket's inode; 0 for one no process holds yet (waiting in a
    /// listener's accept queue).
    pub inode: u64,
}

/// The kernel's TCP sockets of our network namespace, IPv4 and IPv6: those
/// `wanted`.
pub fn list_tcp(wanted: Wanted) -> io::Result<Vec<Listed>> {
    dump_tcp(&diag_socket()?, wanted)
}

/// [`list_tcp`] for network namespace `netns`, entered through process
/// `pid`, which is in it. An error if `pid` is not (its namespace changed,
/// or the pid is another process's now).
pub fn list_tcp_in(netns: u32, pid: i32, wanted: Wanted) -> io::Result<Vec<Listed>> {
    dump_tcp(&diag_socket_in(netns, pid)?, wanted)
}

/// One process in each of the network namespaces `wanted`, from /proc.
pub fn processes_in(wanted: &HashSet<u32>) -> HashMap<u32, i32> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(ns) = netns(&pid.to_string()).filter(|ns| wanted.contains(ns)) {
            out.entry(ns).or_insert(pid);
            if out.len() == wanted.len() {
                break;
            }
        }
    }
    out
}

/// A sock_diag socket: it answers for the network namespace it was made
/// in.
fn diag_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the descriptor it returns
    // is owned by `fd` alone.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor just opened and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A sock_diag socket in network namespace `netns`, that of process `pid`:
/// made by a thread of its own that enters the namespace first (setns(2)
/// moves only the calling thread), and ends with the namespace it entered.
fn diag_socket_in(netns: u32, pid: i32) -> io::Result<OwnedFd> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    let inode = std::os::unix::fs::MetadataExt::ino(&ns.metadata()?);
    if inode != u64::from(netns) {
        return Err(io::Error::other(format!(
            "process {pid} is no longer in network namespace {netns}"
        )));
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: `ns` is an open namespace descriptor for the call;
            // setns(2) changes this short-lived thread's namespace only.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            diag_socket()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the namespace thread panicked")))
    })
}

/// The TCP sockets `wanted` that the sock_diag socket `fd` lists: both
/// families in one dump (the older request, [`compat_request`]), since
/// each dump walks the kernel's tables whole and a dump per family would
/// walk them twice; one dump per family where the kernel refuses that.
fn dump_tcp(fd: &OwnedFd, wanted: Wanted) -> io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    if exchange(fd, &compat_request(1, wanted), &mut buf, &mut out).is_ok() {
        return Ok(out);
    }
    out.clear();
    for (seq, family) in [(2, AF_INET), (3, AF_INET6)] {
        exchange(fd, &request(family, seq, wanted), &mut buf, &mut out)?;
    }
    Ok(out)
}

/// Sends the dump request `req` and adds the sockets of its reply to
/// `out`. Messages of another request (`req`'s sequence number tells) are
/// skipped: what is left of an earlier dump that failed.
fn exchange(fd: &OwnedFd, req: &[u8], buf: &mut [u8], out: &mut Vec<Listed>) -> io::Result<()> {
    let seq = u32_ne(req, 8);
    // SAFETY: `req` is a valid buffer of `req.len()` bytes for the call.
    let sent = unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    loop {
        // SAFETY: `buf` is a valid, writable buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        if n == 0 || parse(&buf[..n], seq, out)? {
            return Ok(());
        }
    }
}

/// The netlink header of dump request `r` (its whole length).
fn request_header(r: &mut [u8], kind: u16, seq: u32) {
    // Below 2^32: the cast cannot truncate.
    let len = r.len() as u32;
    r[0..4].copy_from_slice(&len.to_ne_bytes());
    r[4..6].copy_from_slice(&kind.to_ne_bytes());
    r[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    r[8..12].copy_from_slice(&seq.to_ne_bytes());
    // Port id 0: the kernel.
}

/// A dump request for the TCP sockets of `family` (inet_diag_req_v2:
/// family, protocol, no extensions, the states wanted, and an all-zero
/// socket id: any).
fn request(family: u8, seq: u32, wanted: Wanted) -> [u8; HEADER_LEN + REQUEST_LEN] {
    let mut r = [0u8; HEADER_LEN + REQUEST_LEN];
    request_header(&mut r, SOCK_DIAG_BY_FAMILY, seq);
    r[HEADER_LEN] = family;
    r[HEADER_LEN + 1] = IPPROTO_TCP;
    r[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&wanted.states().to_ne_bytes());
    r
}

/// A dump request for the TCP sockets of both families (inet_diag_req:
/// family, address lengths and extensions unused here, an all-zero socket
/// id, then the states wanted). The kernel answers it with no family
/// filter (AF_UNSPEC), in messages of this request's type.
fn compat_request(seq: u32, wanted: Wanted) -> [u8; HEADER_LEN + COMPAT_REQUEST_LEN] {
    let mut r = [0u8; HEADER_LEN + COMPAT_REQUEST_LEN];
    request_header(&mut r, TCPDIAG_GETSOCK, seq);
    r[HEADER_LEN] = AF_INET;
    r[HEADER_LEN + 52..HEADER_LEN + 56].copy_from_slice(&wanted.states().to_ne_bytes());
    r
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Adds the sockets in one datagram of the reply to request `seq` to
/// `out`; true once the dump is done. A message cut short is an error; one
/// of another type or request is skipped.
fn parse(buf: &[u8], seq: u32, out: &mut Vec<Listed>) -> io::Result<bool> {
    let mut at = 0;
    while buf.len() - at >= HEADER_LEN {
        let len = u32_ne(buf, at) as usize;
        if len < HEADER_LEN || len > buf.len() - at {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a sock_diag reply was cut short",
            ));
        }
        let body = &buf[at + HEADER_LEN..at + len];
        let kind = if u32_ne(buf, at + 8) == seq {
            u16_ne(buf, at + 4)
        } else {
            0
        };
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = if body.len() >= 4 {
                    u32_ne(body, 0) as i32
                } else {
                    0
                };
                return Err(if errno < 0 {
                    io::Error::from_raw_os_error(-errno)
                } else {
                    io::Error::other("sock_diag refused the request")
                });
            }
            SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK => out.extend(listed(body)),
            _ => {}
        }
        // Messages are 4-byte aligned.
        at += (len + 3) & !3;
        at = at.min(buf.len());
    }
    Ok(false)
}

/// One struct inet_diag_msg.
fn listed(m: &[u8]) -> Option<Listed> {
    if m.len() < MSG_LEN {
        return None;
    }
    let ip = |from: usize| -> Option<IpAddr> {
        match m[0] {
            AF_INET => Some(IpAddr::V4(Ipv4Addr::new(
                m[from],
                m[from + 1],
                m[from + 2],
                m[from + 3],
            ))),
            AF_INET6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&m[from..from + 16]);
                Some(canonical_ip(IpAddr::V6(Ipv6Addr::from(a))))
            }
            _ => None,
        }
    };
    // Ports are in network order; the cookie is two host-order halves,
    // the low one first.
    let sport = u16::from_be_bytes([m[4], m[5]]);
    let dport = u16::from_be_bytes([m[6], m[7]]);
    Some(Listed {
        state: m[1],
        local: SocketAddr::new(ip(8)?, sport),
        remote: SocketAddr::new(ip(24)?, dport),
        cookie: u64::from(u32_ne(m, 44)) | u64::from(u32_ne(m, 48)) << 32,
        inode: u64::from(u32_ne(m, 68)),
    })
}

/// A socket's direction as seen from its process: a listener's, or inbound
/// when its local address and port are a listener's (it was accepted
/// there), otherwise outbound. The kernel does not keep which end
/// connected; this is what `ss` users read from the ports too.
fn direction(s: &Listed, listening: &HashSet<SocketAddr>) -> Direction {
    if s.state == TCP_LISTEN {
        return Direction::Listen;
    }
    let any = match s.local {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let port = s.local.port();
    // A dual-stack listener on [::] also accepts IPv4 connections, which
    // read as IPv4 here.
    if listening.contains(&s.local)
        || listening.contains(&SocketAddr::new(any, port))
        || listening.contains(&SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port))
    {
        Direction::Inbound
    } else {
        Direction::Outbound
    }
}

/// The process holding each socket inode, from /proc/*/fd: of several (a
/// listener shared by a server's workers, a socket inherited across a
/// fork), the one that started first, most likely the one that made it.
fn holders() -> HashMap<u64, i32> {
    let mut best: HashMap<u64, (u64, i32)> = HashMap::new();
    let Ok(all) = procfs::process::all_processes() else {
        return HashMap::new();
    };
    for p in all.flatten() {
        // A process gone meanwhile, or whose fds are unreadable, is skipped.
        let Ok(fds) = p.fd() else { continue };
        let mut mine = fds.flatten().filter_map(|f| match f.target {
            procfs::process::FDTarget::Socket(inode) => Some(inode),
            _ => None,
        });
        let Some(first) = mine.next() else { continue };
        let Ok(stat) = p.stat() else { continue };
        let me = (stat.starttime, stat.pid);
        for inode in std::iter::once(first).chain(mine) {
            let held = best.entry(inode).or_insert(me);
            *held = (*held).min(me);
        }
    }
    best.into_iter()
        .map(|(inode, (_, pid))| (inode, pid))
        .collect()
}

/// The processes holding the sockets of `inodes`, as [`holders`] picks
/// them, each as the probe's records would name it. Reads every process's
/// fds: for the few sockets the sweep finds accepted and left unused.
pub fn holders_of(inodes: &HashSet<u64>) -> HashMap<u64, Actor> {
    if inodes.is_empty() {
        return HashMap::new();
    }
    let mut cgroups = HashMap::new();
    holders()
        .into_iter()
        .filter(|(inode, _)| inodes.contains(inode))
        .filter_map(|(inode, pid)| Some((inode, actor(pid, &mut cgroups)?)))
        .collect()
}

/// Who `p` is, from /proc, as the probe's records would say (its start time
/// at /proc's resolution).
fn actor(pid: i32, cgroups: &mut HashMap<String, u64>) -> Option<Actor> {
    let p = procfs::process::Process::new(pid).ok()?;
    let stat = p.stat().ok()?;
    let pid = u32::try_from(stat.pid).ok()?;
    let ppid = u32::try_from(stat.ppid).unwrap_or(0);
    let pstart = procfs::process::Process::new(stat.ppid)
        .and_then(|pp| pp.stat())
        .map_or(0, |s| s.starttime * NS_PER_TICK);
    let (uid, gid) = p.status().map_or((0, 0), |s| (s.ruid, s.rgid));
    Some(Actor {
        proc: ProcKey::new(pid, stat.starttime * NS_PER_TICK),
        tid: pid,
        parent: ProcKey::new(ppid, pstart),
        uid,
        gid,
        cgroup: super::cgroup_id(&Path::new("/proc").join(pid.to_string()), cgroups),
        comm: Comm::from(stat.comm.as_str()),
    })
}

/// What [`scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The sockets processes hold, with their holders.
    pub sockets: Vec<SeedSocket>,
    /// The cookies of connections waiting in a listener's accept queue: no
    /// process holds them yet; the one that accepts them is known only
    /// when it uses them (see the probe's `unclaimed` table).
    pub waiting: Vec<u64>,
}

/// The network namespace of `/proc/{pid}` (`self` for ours), by its inode
/// number (what the probe reads from a socket's namespace).
pub fn netns(pid: &str) -> Option<u32> {
    let m = std::fs::metadata(format!("/proc/{pid}/ns/net")).ok()?;
    u32::try_from(std::os::unix::fs::MetadataExt::ino(&m)).ok()
}

/// The TCP sockets held by processes that started no later than `until`
/// (boot-time ns; a later process's sockets are the probe's to see), each
/// with its holder and network namespace, stamped `seen`; and the
/// connections no process holds yet, waiting to be accepted. Fails only
/// when the kernel cannot be asked; a process that vanishes meanwhile is
/// skipped.
pub fn scan(until: u64, seen: u64) -> io::Result<Scan> {
    // Holders first: a socket closed before the listing is not listed (and
    // has no cookie for its close), one opened after the holders were read
    // is the probe's, and one listed with no holder is skipped.
    let holders = holders();
    let mut seeds = Seeds {
        holders: &holders,
        actors: HashMap::new(),
        cgroups: HashMap::new(),
        until_tick: until / NS_PER_TICK,
        seen,
        out: Scan::default(),
    };
    for (netns, listed) in listings(&holders)? {
        let listening: HashSet<SocketAddr> = listed
            .iter()
            .filter(|s| s.state == TCP_LISTEN)
            .map(|s| s.local)
            .collect();
        for s in &listed {
            seeds.add(s, netns, &listening);
        }
    }
    Ok(seeds.out)
}

/// The TCP sockets of every network namespace a process holding a socket
/// is in (ours, a container's), by namespace: the kernel lists one
/// namespace per sock_diag socket. Fails only when ours cannot be listed;
/// another whose processes are gone meanwhile is skipped.
fn listings(holders: &HashMap<u64, i32>) -> io::Result<Vec<(u32, Vec<Listed>)>> {
    let ours = netns("self").unwrap_or(0);
    let mut spaces: HashMap<u32, i32> = HashMap::new();
    for &pid in holders.values() {
        if let Some(ns) = netns(&pid.to_string()) {
            spaces.entry(ns).or_insert(pid);
        }
    }
    spaces.remove(&ours);
    let mut out = vec![(ours, list_tcp(Wanted::Held)?)];
    for (ns, pid) in spaces {
        match list_tcp_in(ns, pid, Wanted::Held) {
            Ok(listed) => out.push((ns, listed)),
            Err(e) => log::warn!(
                "the TCP sockets open before the probe attached in network namespace {ns} \
                 are not shown: {e}"
            ),
        }
    }
    Ok(out)
}

/// What [`scan`] gathers, socket by socket.
struct Seeds<'a> {
    holders: &'a HashMap<u64, i32>,
    actors: HashMap<i32, Option<Actor>>,
    cgroups: HashMap<String, u64>,
    until_tick: u64,
    seen: u64,
    out: Scan,
}

impl Seeds<'_> {
    /// Adds listed socket `s` of network namespace `netns` (whose
    /// listeners are `listening`): with its holder, or as waiting to be
    /// accepted.
    fn add(&mut self, s: &Listed, netns: u32, listening: &HashSet<SocketAddr>) {
        let Some(&pid) = self.holders.get(&s.inode) else {
            if is_waiting(s) {
                self.out.waiting.push(s.cookie);
            }
            return;
        };
        let cgroups = &mut self.cgroups;
        let Some(actor) = *self
            .actors
            .entry(pid)
            .or_insert_with(|| actor(pid, cgroups))
        else {
            return;
        };
        if actor.proc.start_tick() > self.until_tick {
            return;
        }
        self.out.sockets.push(SeedSocket {
            seen: self.seen,
            actor,
            protocol: Protocol::Tcp,
            direction: direction(s, listening),
            local: s.local,
            remote: s.remote,
            cookie: s.cookie,
            netns,
            unused: false,
            connecting: s.state == TCP_SYN_SENT,
            opened: 0,
            peer_closed: s.state == TCP_CLOSE_WAIT,
        });
    }
}

/// A connection in a listener's accept queue: no process holds it (an
/// orphan, closed by its process, has left these states: an accept
/// queue's connection is established, its peer maybe gone (CLOSE_WAIT),
/// or with Fast Open still in SYN_RECV).
fn is_waiting(s: &Listed) -> bool {
    s.inode == 0 && matches!(s.state, TCP_ESTABLISHED | TCP_SYN_RECV | TCP_CLOSE_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One message of a dump reply, as the kernel would send it.
    fn diag(family: u8, state: u8, local: &[u8], sport: u16, remote: &[u8], dport: u16) -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN + MSG_LEN];
        m[0..4].copy_from_slice(&((HEADER_LEN + MSG_LEN) as u32).to_ne_bytes());
        m[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        let b = &mut m[HEADER_LEN..];
        b[0] = family;
        b[1] = state;
        b[4..6].copy_from_slice(&sport.to_be_bytes());
        b[6..8].copy_from_slice(&dport.to_be_bytes());
        b[8..8 + local.len()].copy_from_slice(local);
        b[24..24 + remote.len()].copy_from_slice(remote);
        b[44..48].copy_from_slice(&0x89ab_cdefu32.to_ne_bytes());
        b[48..52].copy_from_slice(&0x1u32.to_ne_bytes());
        b[68..72].copy_from_slice(&4242u32.to_ne_bytes());
        m
    }

    fn done() -> Vec<u8> {
        let mut m = vec![0u8; HEADER_LEN + 4];
        m[0..4].copy_from_slice(&((HEADER_LEN + 4) as u32).to_ne_bytes());
        m[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
        m
    }

    #[test]
    fn a_reply_reads_as_its_sockets_until_done() {
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[10, 0, 0, 7]);
        let mut buf = diag(
            AF_INET,
            TCP_ESTABLISHED,
            &[127, 0, 0, 1],
            40000,
            &[127, 0, 0, 1],
            8080,
        );
        buf.extend(diag(AF_INET6, TCP_LISTEN, &mapped, 22, &[0; 16], 0));
        let mut out = vec![];
        assert!(!parse(&buf, 0, &mut out).unwrap());
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].local, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(out[0].remote, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(out[0].cookie, 0x1_89ab_cdef);
        assert_eq!(out[0].inode, 4242);
        // A v4-mapped address reads as the IPv4 it is.
        assert_eq!(out[1].local, "10.0.0.7:22".parse().unwrap());
        assert_eq!(out[1].remote, "[::]:0".parse().unwrap());
        assert!(parse(&done(), 0, &mut out).unwrap());
    }

    #[test]
    fn what_is_left_of_another_request_is_skipped() {
        let mut stale = diag(AF_INET, TCP_LISTEN, &[0; 4], 80, &[0; 4], 0);
        stale[8..12].copy_from_slice(&1u32.to_ne_bytes());
        let mut stale_done = done();
        stale_done[8..12].copy_from_slice(&1u32.to_ne_bytes());
        stale.extend(stale_done);
        let mut out = vec![];
        assert!(!parse(&stale, 2, &mut out).unwrap(), "not this dump's end");
        assert!(out.is_empty());
        assert!(parse(&stale, 1, &mut out).unwrap());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn one_dump_lists_both_families_and_listeners_alone_when_asked() {
        // Our own sockets: listing them needs no root.
        let l4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let l6 = std::net::TcpListener::bind("[::1]:0").unwrap();
        let c = std::net::TcpStream::connect(l4.local_addr().unwrap()).unwrap();
        let (a, _) = l4.accept().unwrap();
        let mine = |out: &[Listed]| -> Vec<SocketAddr> {
            let ours = [
                l4.local_addr().unwrap(),
                l6.local_addr().unwrap(),
                c.local_addr().unwrap(),
            ];
            let mut m: Vec<SocketAddr> = out
                .iter()
                .filter(|s| ours.contains(&s.local) || s.local == a.local_addr().unwrap())
                .map(|s| s.local)
                .collect();
            m.sort();
            m
        };
        let fd = diag_socket().unwrap();
        let mut buf = vec![0u8; 64 << 10];
        let mut out = vec![];
        exchange(&fd, &compat_request(7, Wanted::Held), &mut buf, &mut out).unwrap();
        let mut all = vec![
            l4.local_addr().unwrap(),
            l6.local_addr().unwrap(),
            c.local_addr().unwrap(),
            a.local_addr().unwrap(),
        ];
        all.sort();
        assert_eq!(mine(&out), all, "one request, both families");
        let mut listeners = vec![l4.local_addr().unwrap(), l6.local_addr().unwrap()];
        listeners.sort();
        assert_eq!(mine(&list_tcp(Wanted::Listening).unwrap()), listeners);
        assert_eq!(mine(&list_tcp(Wanted::Held).unwrap()), all);
        // The per-family request of the fallback.
        out.clear();
        exchange(&fd, &request(AF_INET6, 8, Wanted::Held), &mut buf, &mut out).unwrap();
        assert_eq!(mine(&out), vec![l6.local_addr().unwrap()]);
    }

    #[test]
    fn a_cut_reply_or_an_error_is_an_error_not_a_socket() {
        let buf = diag(
            AF_INET,
            TCP_ESTABLISHED,
            &[127, 0, 0, 1],
            1,
            &[127, 0, 0, 1],
            2,
        );
        let mut out = vec![];
        assert!(parse(&buf[..buf.len() - 1], 0, &mut out).is_err());
        let mut err = done();
        err[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err[HEADER_LEN..].copy_from_slice(&(-libc::EPERM).to_ne_bytes());
        let e = parse(&err, 0, &mut out).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));
        assert!(out.is_empty());
    }

    #[test]
    fn direction_comes_from_the_listeners_ports() {
        let l = |a: &str| a.parse::<SocketAddr>().unwrap();
        let listening: HashSet<SocketAddr> = [l("0.0.0.0:80"), l("127.0.0.1:5432"), l("[::]:443")]
            .into_iter()
            .collect();
        let s = |state, local: &str| Listed {
            state,
            local: l(local),
            remote: l("10.0.0.9:51000"),
            cookie: 1,
            inode: 1,
        };
        let d = |state, local| direction(&s(state, local), &listening);
        assert_eq!(d(TCP_LISTEN, "0.0.0.0:80"), Direction::Listen);
        assert_eq!(d(TCP_ESTABLISHED, "10.0.0.1:80"), Direction::Inbound);
        assert_eq!(d(TCP_ESTABLISHED, "127.0.0.1:5432"), Direction::Inbound);
        assert_eq!(d(TCP_ESTABLISHED, "10.0.0.1:5432"), Direction::Outbound);
        // IPv4 through a dual-stack listener.
        assert_eq!(d(TCP_ESTABLISHED, "10.0.0.1:443"), Direction::Inbound);
        assert_eq!(d(TCP_ESTABLISHED, "10.0.0.1:40000"), Direction::Outbound);
    }

    #[test]
    fn this_processes_own_listener_is_listed_and_held_by_it() {
        // Our own fds are readable without root.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seeds = scan(u64::MAX, 7).unwrap().sockets;
        let mine = seeds
            .iter()
            .find(|s| s.local.port() == port && s.direction == Direction::Listen)
            .expect("our listener listed");
        assert_eq!(mine.actor.proc.pid, std::process::id());
        assert_ne!(mine.cookie, 0);
        assert_eq!(mine.seen, 7);
    }

    #[test]
    fn a_connection_in_our_accept_queue_is_waiting_not_held() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let cport = c.local_addr().unwrap().port();
        let queued = list_tcp(Wanted::Held)
            .unwrap()
            .into_iter()
            .find(|s| s.local.port() == port && s.remote.port() == cport)
            .expect("the accepted end listed");
        assert_eq!((queued.state, queued.inode), (TCP_ESTABLISHED, 0));
        let scan = scan(u64::MAX, 7).unwrap();
        assert!(scan.waiting.contains(&queued.cookie));
        assert!(!scan.sockets.iter().any(|s| s.cookie == queued.cookie));
        let client = scan.sockets.iter().find(|s| s.local.port() == cport);
        assert_eq!(client.map(|s| s.direction), Some(Direction::Outbound));
        let (_a, _) = l.accept().unwrap();
        let scan = super::scan(u64::MAX, 8).unwrap();
        assert!(!scan.waiting.contains(&queued.cookie), "accepted: held");
        assert!(scan.sockets.iter().any(|s| s.cookie == queued.cookie));
    }
}
