//! Raw ring-buffer records to [`Message`]s. The layouts come from the
//! generated skeleton (from `causeway.h`); what leaves this file is plain
//! Rust.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::ops::Deref;

use super::skel::types::{cw_close, cw_conn, cw_exec, cw_exit, cw_header, cw_signal};
use crate::event::{
    Actor, Comm, Direction, Ending, EventKind, ExecInfo, ExitStatus, Message, NetInfo, NetKind,
    ProcKey, Protocol, Sender, SignalInfo, canonical_ip,
};

// SAFETY: these are `repr(C)` structs of integers and byte arrays generated
// from causeway.h; every bit pattern is a valid value.
unsafe impl plain::Plain for cw_header {}
// SAFETY: as above.
unsafe impl plain::Plain for cw_exec {}
// SAFETY: as above.
unsafe impl plain::Plain for cw_exit {}
// SAFETY: as above.
unsafe impl plain::Plain for cw_conn {}
// SAFETY: as above.
unsafe impl plain::Plain for cw_close {}
// SAFETY: as above.
unsafe impl plain::Plain for cw_signal {}

// Record kinds, as in `enum cw_kind` in causeway.h.
const CW_FORK: u32 = 1;
const CW_EXEC: u32 = 2;
const CW_EXIT: u32 = 3;
pub(super) const CW_CONNECT: u32 = 4;
pub(super) const CW_ACCEPT: u32 = 5;
const CW_LISTEN: u32 = 6;
pub(super) const CW_CLOSE: u32 = 7;
const CW_UDP: u32 = 8;
const CW_SIGNAL: u32 = 9;
const CW_OOM: u32 = 10;

const IPPROTO_UDP: u8 = 17;

/// A record that does not decode: shorter than its kind needs, or a kind
/// this build does not know.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record read in place, or a copy of it where its bytes are not aligned
/// for it. Ring-buffer samples are 8-byte aligned, so in practice always in
/// place; the copy is on the heap so that `decode` does not carry room for
/// the largest record on its stack.
enum Record<'a, T> {
    InPlace(&'a T),
    Copied(Box<T>),
}

impl<T> Deref for Record<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Record::InPlace(r) => r,
            Record::Copied(b) => b,
        }
    }
}

/// The record as a `T`. `plain` checks both length and alignment.
fn view<'a, T: plain::Plain + Default>(
    data: &'a [u8],
    what: &str,
) -> Result<Record<'a, T>, DecodeError> {
    match plain::from_bytes::<T>(data) {
        Ok(v) => Some(Record::InPlace(v)),
        Err(plain::Error::BadAlignment) => copied(data).map(Record::Copied),
        Err(plain::Error::TooShort) => None,
    }
    .ok_or_else(|| DecodeError(format!("{what} record too short ({} bytes)", data.len())))
}

#[cold]
#[inline(never)]
fn copied<T: plain::Plain + Default>(data: &[u8]) -> Option<Box<T>> {
    let mut v = Box::<T>::default();
    plain::copy_from_bytes(&mut *v, data).ok()?;
    Some(v)
}

fn cstr(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The most bytes of a process's arguments kept (the probe's
/// `CW_ARGS_LEN`, the last field of its exec record): the start-up listing
/// keeps as many, so a hostile command line costs no more there.
pub const ARGS_LEN: usize = std::mem::size_of::<cw_exec>() - std::mem::offset_of!(cw_exec, args);

/// Splits the kernel's argv area (NUL-separated, NUL-terminated unless cut
/// short) into arguments.
pub fn split_args(area: &[u8]) -> Vec<Vec<u8>> {
    if area.is_empty() {
        return Vec::new();
    }
    let body = area.strip_suffix(&[0]).unwrap_or(area);
    body.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

// Executed file flags, as in causeway.h.
const CW_FILE_UNLINKED: u32 = 1;
const CW_FILE_CUT: u32 = 2;

/// The executed file's path from the probe's names of it (its own name
/// first, each NUL-terminated: see `struct cw_exec`): `/a/b/c`, or `b/c`
/// when the probe had no room for all of them. Empty for none.
fn file_path(names: &[u8], len: u32, flags: u32) -> Vec<u8> {
    let names = &names[..(len as usize).min(names.len())];
    let names = names.strip_suffix(&[0]).unwrap_or(names);
    if names.is_empty() {
        return Vec::new();
    }
    let mut path = Vec::with_capacity(names.len() + 1);
    for (i, name) in names.rsplit(|&b| b == 0).enumerate() {
        if i > 0 || flags & CW_FILE_CUT == 0 {
            path.push(b'/');
        }
        path.extend_from_slice(name);
    }
    path
}

/// Decodes one ring-buffer record.
pub fn decode(data: &[u8]) -> Result<Message, DecodeError> {
    // Every record starts with its kind; all but a close with a header.
    let kind = data
        .first_chunk::<4>()
        .map(|k| u32::from_ne_bytes(*k))
        .ok_or_else(|| DecodeError(format!("record too short ({} bytes)", data.len())))?;
    if kind == CW_CLOSE {
        return view::<cw_close>(data, "close").map(|c| close(&c));
    }
    let h = view::<cw_header>(data, "event")?;
    let kind = match h.kind {
        CW_FORK => EventKind::Fork,
        CW_EXEC => {
            let e = view::<cw_exec>(data, "exec")?;
            let name_len = (e.filename_len as usize).min(e.filename.len());
            let args_len = (e.args_len as usize).min(e.args.len());
            EventKind::Exec(ExecInfo {
                exe: cstr(&e.filename[..name_len]).to_vec(),
                file: file_path(&e.file, e.file_len, e.file_flags),
                deleted: e.file_flags & CW_FILE_UNLINKED != 0,
                argv: split_args(&e.args[..args_len]),
                argv_truncated: e.args_truncated != 0,
                old_tid: if e.old_tid == h.tid { 0 } else { e.old_tid },
            })
        }
        CW_EXIT => {
            let e = view::<cw_exit>(data, "exit")?;
            EventKind::Exit {
                status: ExitStatus::from_wait_status(e.exit_code),
                reaper: (e.reaper_pid != 0).then(|| ProcKey::new(e.reaper_pid, e.reaper_start)),
            }
        }
        CW_SIGNAL | CW_OOM => {
            let e = view::<cw_signal>(data, "signal")?;
            EventKind::Signal(SignalInfo {
                signal: i32::try_from(e.signal).unwrap_or(0),
                code: e.code,
                sender: (e.sender_pid != 0).then(|| Sender {
                    proc: ProcKey::new(e.sender_pid, e.sender_start),
                    uid: e.sender_uid,
                    comm: Comm::from_bytes_lossy(cstr(&e.sender_comm)),
                }),
                oom: h.kind == CW_OOM,
            })
        }
        CW_CONNECT | CW_ACCEPT | CW_LISTEN | CW_UDP => {
            let c = view::<cw_conn>(data, "connection")?;
            EventKind::Net(net(h.kind, &c))
        }
        other => return Err(DecodeError(format!("unknown record kind {other}"))),
    };
    Ok(Message::Event(actor(&h).event(h.ktime, kind)))
}

/// The process a header names, as an event's actor.
pub(super) fn actor(h: &cw_header) -> Actor {
    Actor {
        proc: ProcKey::new(h.pid, h.start),
        tid: h.tid,
        parent: ProcKey::new(h.ppid, h.pstart),
        uid: h.uid,
        gid: h.gid,
        cgroup: h.cgroup,
        comm: Comm::from_bytes_lossy(cstr(&h.comm)),
    }
}

fn net(kind: u32, c: &cw_conn) -> NetInfo {
    let addr = |ip: [u8; 16], port: u16| {
        SocketAddr::new(canonical_ip(IpAddr::V6(Ipv6Addr::from(ip))), port)
    };
    let (kind, direction) = match kind {
        CW_CONNECT => (NetKind::Connect, Direction::Outbound),
        CW_ACCEPT => (NetKind::Accept, Direction::Inbound),
        CW_LISTEN => (NetKind::Listen, Direction::Listen),
        _ => (NetKind::Udp, Direction::Outbound),
    };
    NetInfo {
        kind,
        protocol: if c.protocol == IPPROTO_UDP {
            Protocol::Udp
        } else {
            Protocol::Tcp
        },
        direction,
        local: addr(c.saddr, c.sport),
        remote: addr(c.daddr, c.dport),
        cookie: c.cookie,
        netns: c.netns,
        bytes_sent: 0,
        bytes_received: 0,
        ending: Default::default(),
        opened: c.opened,
    }
}

/// A close as the probe reports it: no process, no addresses. `Owners`
/// gives it those of the record that opened the socket.
fn close(c: &cw_close) -> Message {
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    Message::Event(Actor::default().event(
        c.ktime,
        EventKind::Net(NetInfo {
            kind: NetKind::Close,
            protocol: Protocol::Tcp,
            direction: Direction::Outbound,
            local: unspecified,
            remote: unspecified,
            cookie: c.cookie,
            // The opening record's, given by `Owners`.
            netns: 0,
            bytes_sent: c.bytes_sent,
            bytes_received: c.bytes_received,
            ending: Ending {
                error: c.error,
                from: c.from,
            },
            opened: 0,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T: plain::Plain>(v: &T) -> Vec<u8> {
        // SAFETY: T is Plain (repr(C) POD); viewing it as bytes is sound.
        unsafe { plain::as_bytes(v) }.to_vec()
    }

    fn header(kind: u32) -> cw_header {
        let mut h = cw_header {
            kind,
            tid: 101,
            ktime: 5_000,
            pid: 100,
            ppid: 1,
            start: 42,
            pstart: 7,
            uid: 1000,
            gid: 100,
            cgroup: 9,
            ..Default::default()
        };
        h.comm[..4].copy_from_slice(b"bash");
        h
    }

    #[test]
    fn exec_record_decodes_path_argv_and_thread() {
        let mut e = cw_exec {
            h: header(CW_EXEC),
            old_tid: 105,
            ..Default::default()
        };
        let args = b"ls\0-l\0\0/tmp\0";
        e.args[..args.len()].copy_from_slice(args);
        e.args_len = args.len() as u32;
        e.filename[..7].copy_from_slice(b"/bin/ls");
        e.filename_len = 7;
        let Message::Event(ev) = decode(&bytes(&e)).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(ev.proc, ProcKey::new(100, 42));
        assert_eq!(ev.parent, ProcKey::new(1, 7));
        assert_eq!(ev.comm, "bash");
        let EventKind::Exec(x) = ev.kind else {
            panic!("not an exec")
        };
        assert_eq!(x.exe, b"/bin/ls");
        // An empty argument in the middle is kept.
        assert_eq!(
            x.argv,
            vec![b"ls".to_vec(), b"-l".to_vec(), vec![], b"/tmp".to_vec()]
        );
        assert!(!x.argv_truncated);
        assert_eq!(x.old_tid, 105);
        // No names of the file given: not known.
        assert!(x.file.is_empty());
        assert!(!x.deleted);
    }

    #[test]
    fn the_executed_file_is_its_names_reversed() {
        let mut e = cw_exec {
            h: header(CW_EXEC),
            ..Default::default()
        };
        let names = b"python3.11\0bin\0usr\0";
        e.file[..names.len()].copy_from_slice(names);
        e.file_len = names.len() as u32;
        let exec = |e: &cw_exec| match decode(&bytes(e)) {
            Ok(Message::Event(ev)) => match ev.kind {
                EventKind::Exec(x) => x,
                _ => panic!("not an exec"),
            },
            _ => panic!("not an event"),
        };
        let x = exec(&e);
        assert_eq!(x.file, b"/usr/bin/python3.11");
        assert!(!x.deleted && !x.memfd());
        // A memfd: its one name, no links.
        let names = b"memfd:payload\0";
        e.file = [0; 512];
        e.file[..names.len()].copy_from_slice(names);
        e.file_len = names.len() as u32;
        e.file_flags = CW_FILE_UNLINKED;
        let x = exec(&e);
        assert_eq!(x.file, b"/memfd:payload");
        assert!(x.deleted && x.memfd());
        // Cut: the names it had room for, not said to begin at the root.
        e.file_flags = CW_FILE_CUT;
        assert_eq!(exec(&e).file, b"memfd:payload");
    }

    #[test]
    fn truncated_argv_keeps_the_partial_last_argument() {
        assert_eq!(split_args(b"a\0bc"), vec![b"a".to_vec(), b"bc".to_vec()]);
        assert!(split_args(b"").is_empty());
    }

    #[test]
    fn exit_status_code_and_signal() {
        let e = cw_exit {
            h: header(CW_EXIT),
            exit_code: 3 << 8,
            reaper_pid: 0,
            reaper_start: 0,
        };
        let Message::Event(ev) = decode(&bytes(&e)).unwrap() else {
            panic!()
        };
        assert_eq!(
            ev.kind,
            EventKind::Exit {
                status: ExitStatus::Code(3),
                reaper: None
            }
        );
        let e = cw_exit {
            h: header(CW_EXIT),
            exit_code: 9 | 0x80,
            reaper_pid: 1,
            reaper_start: 5_000_000,
        };
        let Message::Event(ev) = decode(&bytes(&e)).unwrap() else {
            panic!()
        };
        assert_eq!(
            ev.kind,
            EventKind::Exit {
                status: ExitStatus::Signal {
                    signal: 9,
                    core_dumped: true
                },
                reaper: Some(ProcKey::new(1, 5_000_000))
            }
        );
    }

    #[test]
    fn a_signal_names_its_target_in_the_header_and_its_sender() {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"kill");
        let sent = cw_signal {
            h: header(CW_SIGNAL),
            signal: 15,
            code: 0,
            sender_pid: 4242,
            sender_uid: 1000,
            sender_start: 7_000,
            sender_comm: comm,
        };
        let Message::Event(ev) = decode(&bytes(&sent)).unwrap() else {
            panic!()
        };
        assert_eq!(ev.proc, ProcKey::new(100, header(0).start), "the target");
        let EventKind::Signal(sig) = ev.kind else {
            panic!("{:?}", ev.kind)
        };
        assert_eq!((sig.signal, sig.code), (15, 0));
        let from = sig.sender.expect("a sender");
        assert_eq!((from.proc, from.uid), (ProcKey::new(4242, 7_000), 1000));
        assert_eq!(from.comm, "kill");
        // From the kernel: no sender.
        let kernel = cw_signal {
            code: 0x80,
            sender_pid: 0,
            sender_start: 0,
            sender_comm: [0; 16],
            ..sent
        };
        let Message::Event(ev) = decode(&bytes(&kernel)).unwrap() else {
            panic!()
        };
        assert!(matches!(ev.kind, EventKind::Signal(s) if s.sender.is_none() && s.code == 0x80));
        assert!(decode(&bytes(&sent)[..40]).is_err(), "cut short");
    }

    #[test]
    fn short_and_unknown_records_are_errors_not_panics() {
        assert!(decode(&[1, 2, 3]).is_err());
        assert!(decode(&[]).is_err());
        let h = header(99);
        assert!(decode(&bytes(&h)).is_err());
        let h = header(CW_EXEC);
        assert!(decode(&bytes(&h)).is_err());
    }

    #[test]
    fn a_misaligned_record_is_copied_and_decodes_the_same() {
        let e = cw_exit {
            h: header(CW_EXIT),
            exit_code: 3 << 8,
            reaper_pid: 0,
            reaper_start: 0,
        };
        let raw = bytes(&e);
        // One byte in from an 8-byte aligned buffer: misaligned for cw_exit.
        let mut buf = vec![0u64; raw.len() / 8 + 2];
        // SAFETY: viewing u64s as bytes is sound; the view is in bounds.
        let area = unsafe { plain::as_mut_bytes(&mut buf[..]) };
        area[1..=raw.len()].copy_from_slice(&raw);
        let shifted = &area[1..=raw.len()];
        assert_eq!(decode(shifted), decode(&raw));
        assert!(decode(&area[1..raw.len()]).is_err(), "one byte short");
    }

    #[test]
    fn v4_mapped_addresses_read_as_v4() {
        let mut c = cw_conn {
            h: header(CW_CONNECT),
            sport: 5555,
            dport: 80,
            protocol: 6,
            opened: 4_000,
            ..Default::default()
        };
        c.saddr = std::net::Ipv4Addr::new(127, 0, 0, 1)
            .to_ipv6_mapped()
            .octets();
        c.daddr = std::net::Ipv6Addr::LOCALHOST.octets();
        let Message::Event(ev) = decode(&bytes(&c)).unwrap() else {
            panic!()
        };
        let EventKind::Net(n) = ev.kind else { panic!() };
        assert_eq!(n.local.to_string(), "127.0.0.1:5555");
        assert_eq!(n.remote.to_string(), "[::1]:80");
        assert_eq!(n.direction, Direction::Outbound);
        // Its connect() call, before the record's own time.
        assert_eq!((ev.ktime, n.opened), (5_000, 4_000));
    }

    #[test]
    fn a_close_carries_cookie_and_payload_bytes() {
        let c = cw_close {
            kind: CW_CLOSE,
            ktime: 9_000,
            bytes_sent: 40,
            bytes_received: 300,
            cookie: 77,
            error: 111,
            from: 2,
            ..Default::default()
        };
        let Message::Event(ev) = decode(&bytes(&c)).unwrap() else {
            panic!()
        };
        assert_eq!(ev.ktime, 9_000);
        assert_eq!(ev.proc, ProcKey::default(), "named later, by Owners");
        let EventKind::Net(n) = ev.kind else { panic!() };
        assert_eq!(n.kind, NetKind::Close);
        assert_eq!(n.protocol, Protocol::Tcp);
        assert_eq!((n.bytes_sent, n.bytes_received, n.cookie), (40, 300, 77));
        assert_eq!(
            n.ending,
            Ending {
                error: 111,
                from: 2
            }
        );
        // A close cut short is an error, not a guess.
        assert!(decode(&bytes(&c)[..20]).is_err());
    }

    #[test]
    fn a_udp_record_is_udp_outbound() {
        let mut c = cw_conn {
            h: header(CW_UDP),
            protocol: IPPROTO_UDP,
            sport: 41000,
            dport: 53,
            ..Default::default()
        };
        c.daddr = std::net::Ipv4Addr::new(127, 0, 0, 53)
            .to_ipv6_mapped()
            .octets();
        c.saddr = std::net::Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets();
        let Message::Event(ev) = decode(&bytes(&c)).unwrap() else {
            panic!()
        };
        let EventKind::Net(n) = ev.kind else { panic!() };
        assert_eq!((n.kind, n.protocol), (NetKind::Udp, Protocol::Udp));
        assert_eq!(n.local.to_string(), "0.0.0.0:41000");
        assert_eq!(n.remote.to_string(), "127.0.0.53:53");
    }
}
