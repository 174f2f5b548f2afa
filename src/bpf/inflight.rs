//! Connects in flight: the probe's `connecting` and `connector` tables
//! (causeway.bpf.c), mapped into this process and read every few seconds.
//! The probe reports a connect when it is established or fails, so a
//! connect that hangs (its SYNs unanswered: a firewall that drops them, a
//! server whose accept queue is full) would show nothing until it gives
//! up, a minute or two later: and "whom is it stuck connecting to" is the
//! first question of a hang. Each slot holds the connecting process and
//! when its `connect()` was called; a connect found there for
//! [`CONNECTING_AFTER`] or longer is due to be shown (through the sweep's
//! listing, which gives its addresses), once. When it ends, the probe's
//! connect record (same cookie) says how.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use anyhow::Result;
use libbpf_rs::MapCore;

use super::decode::actor;
use super::mapped::Mapping;
use super::owners::Owners;
use super::skel::types::cw_header;
use crate::event::{Actor, Direction, Protocol, SeedSocket, TCP_SYN_SENT};
use crate::seed::sockets::{Listed, Wanted, list_tcp, list_tcp_in, netns};

/// As `SLOTS`, `CONNECT_WINDOW` and `BUSY` in causeway.bpf.c.
const SLOTS: usize = 16_384;
const CONNECT_WINDOW: usize = 4;
const TABLE: usize = SLOTS + CONNECT_WINDOW - 1;
const BUSY: u64 = u64::MAX;
/// Words of a slot of `connector` (a `cw_header`).
const HEADER_WORDS: usize = std::mem::size_of::<cw_header>() / 8;

/// How long a connect is in flight before it is shown as connecting.
pub(super) const CONNECTING_AFTER: Duration = Duration::from_secs(2);

/// A connect in flight, as its slot says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    pub cookie: u64,
    /// The process that called `connect()`.
    pub actor: Actor,
    /// When it called it (boot-time ns).
    pub opened: u64,
}

/// The probe's tables of connects in flight, mapped into this process for
/// as long as this lives.
pub(super) struct Table {
    cookies: Mapping,
    headers: Mapping,
}

impl Table {
    /// Maps `cookies` and `headers` (the probe's `connecting` and
    /// `connector`).
    pub(super) fn map(cookies: &impl MapCore, headers: &impl MapCore) -> Result<Table> {
        Ok(Table {
            cookies: Mapping::map(cookies, TABLE, 8, "connects in flight")?,
            headers: Mapping::map(headers, TABLE, HEADER_WORDS * 8, "processes connecting")?,
        })
    }

    /// The connects in flight now.
    pub(super) fn pending(&self) -> Vec<Pending> {
        pending_in(self.cookies.words(), self.headers.words())
    }

    /// Whether the connect of `cookie` is still in flight.
    pub(super) fn holds(&self, cookie: u64) -> bool {
        holds(self.cookies.words(), cookie)
    }
}

/// Each slot of `cookies` that holds a cookie, with the process and time
/// in the same slot of `headers`. A slot being written by the probe as it
/// is read (BUSY, or another cookie by the time it is read again) is left
/// for the next reading.
fn pending_in(cookies: &[AtomicU64], headers: &[AtomicU64]) -> Vec<Pending> {
    let mut out = Vec::new();
    for (slot, c) in cookies.iter().enumerate() {
        let cookie = c.load(Ordering::Acquire);
        if cookie == 0 || cookie == BUSY {
            continue;
        }
        let Some(words) = headers.get(slot * HEADER_WORDS..(slot + 1) * HEADER_WORDS) else {
            break;
        };
        let mut h = [0u64; HEADER_WORDS];
        for (w, word) in h.iter_mut().zip(words) {
            *w = word.load(Ordering::Relaxed);
        }
        // The cookie is stored after the process: the same cookie after
        // the process was read means the process read is its own.
        fence(Ordering::Acquire);
        if c.load(Ordering::Relaxed) != cookie {
            continue;
        }
        // SAFETY: viewing initialized u64s as bytes is sound.
        let bytes = unsafe { plain::as_bytes(&h[..]) };
        let Ok(header) = plain::from_bytes::<cw_header>(bytes) else {
            continue;
        };
        out.push(Pending {
            cookie,
            actor: actor(header),
            opened: header.ktime,
        });
    }
    out
}

/// Whether a slot of `cookie`'s window holds it.
fn holds(cookies: &[AtomicU64], cookie: u64) -> bool {
    // Below SLOTS: the window ends within the table.
    let first = (cookie % SLOTS as u64) as usize;
    cookies
        .get(first..first + CONNECT_WINDOW)
        .is_some_and(|w| w.iter().any(|s| s.load(Ordering::Relaxed) == cookie))
}

/// How long after a listing that took `took` the next may come: listing
/// the connects in flight walks the kernel's table of connections (about
/// 1.5 ms here); on a host where that takes long, listings are spaced
/// out as the sweep's are.
fn next_listing(took: Duration) -> Duration {
    CONNECTING_AFTER.max(took.saturating_mul(300))
}

/// Connects in flight as listed, each with its network namespace and
/// addresses; and how long listing them took.
type Found = (Vec<(u32, Listed, Pending)>, Duration);

/// Connects in flight for a while, each shown once (see the module's
/// comment): the table is read every [`CONNECTING_AFTER`], and those due
/// are looked for among the kernel's sockets on a thread of their own (a
/// listing of connects in flight alone, in the network namespace of the
/// process connecting), apart from the sweep, which on a busy host lists
/// far less often.
pub(super) struct InFlight {
    last: Instant,
    /// How long the last listing took.
    took: Duration,
    /// Handed on; forgotten once out of the table.
    shown: HashSet<u64>,
    listing: Option<Receiver<Found>>,
}

impl InFlight {
    pub(super) fn new() -> Self {
        InFlight {
            last: Instant::now(),
            took: Duration::ZERO,
            shown: HashSet::new(),
            listing: None,
        }
    }

    /// The connects a listing found still in flight, as sockets found at
    /// `now` (after every record applied to `owners` so far, and before
    /// every one to come); and the next listing started, if the table has
    /// connects due and none is running.
    pub(super) fn step(&mut self, table: &Table, owners: &mut Owners, now: u64) -> Vec<SeedSocket> {
        let mut out = Vec::new();
        if let Some(rx) = &self.listing {
            match rx.try_recv() {
                Err(TryRecvError::Empty) => return out,
                Ok((found, took)) => {
                    out = sockets(found, table, owners, now);
                    self.took = took;
                }
                Err(TryRecvError::Disconnected) => {}
            }
            self.listing = None;
        }
        if self.last.elapsed() < next_listing(self.took) {
            return out;
        }
        self.last = Instant::now();
        let due = self.due(table.pending(), now);
        if due.is_empty() {
            return out;
        }
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("causeway-connects".into())
            .spawn(move || {
                // A receiver gone (the probe stopping) is no error.
                let _ = tx.send(list(due));
            });
        match spawned {
            Ok(_) => self.listing = Some(rx),
            Err(e) => log::debug!("listing the connects in flight: {e}"),
        }
        out
    }

    /// Of the connects `found` in the table now, those in flight since
    /// [`CONNECTING_AFTER`] before `now` (boot-time ns) or earlier and not
    /// handed on before.
    fn due(&mut self, found: Vec<Pending>, now: u64) -> Vec<Pending> {
        let after = u64::try_from(CONNECTING_AFTER.as_nanos()).unwrap_or(u64::MAX);
        let cookies: HashSet<u64> = found.iter().map(|p| p.cookie).collect();
        self.shown.retain(|c| cookies.contains(c));
        found
            .into_iter()
            .filter(|p| now.saturating_sub(p.opened) >= after && self.shown.insert(p.cookie))
            .collect()
    }
}

/// Finds the connects `pending` among the sockets still connecting in the
/// network namespace of each one's process (entered through it, unless it
/// is ours). A namespace that cannot be listed is left out.
fn list(pending: Vec<Pending>) -> Found {
    let started = Instant::now();
    let ours = netns("self");
    let mut by_netns: HashMap<u32, (i32, HashMap<u64, Pending>)> = HashMap::new();
    for p in pending {
        let pid = p.actor.proc.pid;
        let (Some(ns), Ok(pid)) = (netns(&pid.to_string()), i32::try_from(pid)) else {
            continue;
        };
        by_netns
            .entry(ns)
            .or_insert_with(|| (pid, HashMap::new()))
            .1
            .insert(p.cookie, p);
    }
    let mut out = Vec::new();
    for (ns, (pid, mut pending)) in by_netns {
        let listed = if Some(ns) == ours {
            list_tcp(Wanted::Connecting)
        } else {
            list_tcp_in(ns, pid, Wanted::Connecting)
        };
        match listed {
            Ok(l) => out.extend(l.into_iter().filter_map(|s| {
                let p = pending.remove(&s.cookie)?;
                Some((ns, s, p))
            })),
            Err(e) => log::debug!("listing the connects in flight in network namespace {ns}: {e}"),
        }
    }
    (out, started.elapsed())
}

/// The connects of `found` still in flight, as sockets found at `now`,
/// connecting, on the process that called `connect()` and from when it
/// did. One whose connect record came meanwhile (`owners` holds it) or
/// that is no longer in `table` (its record is on its way) is left out.
fn sockets(
    found: Vec<(u32, Listed, Pending)>,
    table: &Table,
    owners: &mut Owners,
    now: u64,
) -> Vec<SeedSocket> {
    let mut out = Vec::new();
    for (netns, s, p) in found {
        if s.state != TCP_SYN_SENT || owners.holds(s.cookie) || !table.holds(s.cookie) {
            continue;
        }
        let socket = SeedSocket {
            seen: now,
            actor: p.actor,
            protocol: Protocol::Tcp,
            direction: Direction::Outbound,
            local: s.local,
            remote: s.remote,
            cookie: s.cookie,
            netns,
            unused: false,
            connecting: true,
            opened: p.opened,
            peer_closed: false,
        };
        owners.listed(&socket);
        out.push(socket);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ProcKey;

    fn tables() -> (Vec<AtomicU64>, Vec<AtomicU64>) {
        let words = |n| (0..n).map(|_| AtomicU64::new(0)).collect();
        (words(TABLE), words(TABLE * HEADER_WORDS))
    }

    /// Writes slot `slot` as the probe's SYN_SENT program does: the
    /// process and time, then the cookie.
    fn put(
        (cookies, headers): &(Vec<AtomicU64>, Vec<AtomicU64>),
        slot: usize,
        cookie: u64,
        pid: u32,
        opened: u64,
    ) {
        let mut h = cw_header {
            tid: pid + 1,
            ktime: opened,
            pid,
            ppid: 1,
            start: 5_000,
            pstart: 7,
            uid: 1000,
            gid: 100,
            cgroup: 9,
            ..Default::default()
        };
        h.comm[..4].copy_from_slice(b"curl");
        let mut words = [0u64; HEADER_WORDS];
        // SAFETY: viewing u64s as bytes is sound; cw_header is Plain.
        unsafe { plain::as_mut_bytes(&mut words[..]) }
            .copy_from_slice(unsafe { plain::as_bytes(&h) });
        for (i, w) in words.into_iter().enumerate() {
            headers[slot * HEADER_WORDS + i].store(w, Ordering::Relaxed);
        }
        cookies[slot].store(cookie, Ordering::Release);
    }

    #[test]
    fn a_slot_reads_as_its_process_and_connect_time() {
        let t = tables();
        put(&t, 100, 100, 4242, 9_000);
        put(&t, 101, SLOTS as u64 + 100, 4243, 9_500);
        // Being written by the probe: not read.
        t.0[200].store(BUSY, Ordering::Relaxed);
        let found = pending_in(&t.0, &t.1);
        assert_eq!(found.len(), 2);
        let p = &found[0];
        assert_eq!((p.cookie, p.opened), (100, 9_000));
        assert_eq!(p.actor.proc, ProcKey::new(4242, 5_000));
        assert_eq!(p.actor.parent, ProcKey::new(1, 7));
        assert_eq!((p.actor.tid, p.actor.uid, p.actor.gid), (4243, 1000, 100));
        assert_eq!((p.actor.cgroup, p.actor.comm.as_str()), (9, "curl"));
        assert_eq!(found[1].actor.proc.pid, 4243);
        assert!(holds(&t.0, SLOTS as u64 + 100), "in its window");
        assert!(!holds(&t.0, 2 * SLOTS as u64 + 100), "not in the table");
        // The last slot of the table, at the end of the last window.
        put(&t, TABLE - 1, SLOTS as u64 - 1, 1, 1);
        assert!(holds(&t.0, SLOTS as u64 - 1));
        assert_eq!(pending_in(&t.0, &t.1).len(), 3);
    }

    #[test]
    fn a_connect_in_flight_for_a_while_is_due_once() {
        let s = 1_000_000_000;
        let p = |cookie, opened| Pending {
            cookie,
            actor: Actor::default(),
            opened,
        };
        let mut f = InFlight::new();
        // 1 began 2 s ago, 2 just now.
        assert_eq!(
            f.due(vec![p(1, 8 * s), p(2, 10 * s)], 10 * s),
            [p(1, 8 * s)]
        );
        assert_eq!(f.due(vec![p(1, 8 * s), p(2, 10 * s)], 11 * s), []);
        assert_eq!(
            f.due(vec![p(1, 8 * s), p(2, 10 * s)], 12 * s),
            [p(2, 10 * s)]
        );
        // 1 ended, and its cookie connects again (a socket connected once
        // more after a failed connect): a new connect.
        assert_eq!(f.due(vec![p(2, 10 * s)], 13 * s), []);
        assert_eq!(f.due(vec![p(1, 12 * s)], 14 * s), [p(1, 12 * s)]);
    }
}
