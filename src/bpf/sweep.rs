//! The sweep for closes that never came (see [`Owners::sweep`]): every
//! so often the kernel's TCP sockets are listed, in every network
//! namespace a held socket is in, and a socket missing from two listings
//! in a row is ended as `gone`.
//!
//! Listing is slow where there are many namespaces (each is a walk of the
//! kernel's tables: about 2 ms here with connections open), so it runs on
//! a thread of its own ([`Sweeper`]), and the probe thread goes on reading
//! the rings meanwhile; it applies the listing when it is done. Applying
//! it late is safe: a socket opened after a listing began may be missing
//! from it and is suspected, but the next listing begins after that and
//! lists it, and a socket is ended only when missing from both.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::time::{Duration, Instant};

use super::owners::Owners;
use super::unclaimed::{Table, UNUSED_AFTER};
use crate::event::{Actor, Direction, Event, Message, Protocol, SeedSocket, TCP_CLOSE_WAIT};
use crate::seed::sockets::{
    Listed, Wanted, holders_of, list_tcp, list_tcp_in, netns, processes_in,
};

/// How often, at most, the kernel's TCP sockets are listed to end those
/// whose close never came (see [`Owners::sweep`]): such a socket shows as
/// `gone` 10 to 20 s after it ended, later on a host with very many
/// sockets (see [`next_sweep`]).
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);
/// A sweep waits at least this many times as long as the last one took:
/// listing 100,000 sockets takes about 0.1 s of CPU here, so on such a
/// host sweeps come every 30 s and take about 0.3 % of a core.
const SWEEP_SPACING: u32 = 300;

/// How long after a sweep that took `took` the next one comes.
fn next_sweep(took: Duration) -> Duration {
    SWEEP_INTERVAL.max(took.saturating_mul(SWEEP_SPACING))
}

/// The kernel's TCP sockets, as one sweep listed them.
#[derive(Debug, Default)]
pub struct Listing {
    /// The cookies listed.
    listed: HashSet<u64>,
    /// Those of sockets found in `CLOSE_WAIT` (their peer closed its end)
    /// not said to be before, with the process holding each now, when
    /// found.
    close_wait: HashMap<u64, Option<Actor>>,
    /// The network namespaces listed, and which of their sockets.
    covered: HashMap<u32, Wanted>,
    /// Accepted sockets left unused that the listing was asked to find
    /// (see [`Unused`](super::unclaimed::Unused)), as found.
    unused: Vec<Unused>,
    /// How long listing took.
    took: Duration,
}

/// An accepted socket no process has used for a while, as listed.
#[derive(Debug)]
struct Unused {
    netns: u32,
    socket: Listed,
    /// When it was first found unused (boot-time ns).
    since: u64,
    /// The process holding it; none while it waits in its listener's
    /// accept queue.
    holder: Option<Actor>,
}

/// Lists the namespaces `wanted` (see [`Owners::namespaces`]), and finds
/// the sockets of `unused` (cookie, since) among them, and those in
/// `CLOSE_WAIT` not in `said` (already found so), with who holds each.
/// None when ours cannot be listed; another namespace that cannot be (its
/// processes are gone) is left out.
fn list(
    mut wanted: HashMap<u32, Wanted>,
    unused: HashMap<u64, u64>,
    said: HashSet<u64>,
) -> Option<Listing> {
    let started = Instant::now();
    let ours = netns("self")?;
    wanted.remove(&0);
    if !unused.is_empty() {
        // Accepted sockets are not listeners: every socket, where any is
        // looked for.
        wanted.values_mut().for_each(|w| *w = Wanted::Held);
    }
    let mut out = Listing::default();
    // The inodes of the sockets found in CLOSE_WAIT, by cookie.
    let mut close_wait = HashMap::new();
    let mut found = |ns: u32, l: Vec<Listed>, out: &mut Listing| {
        out.listed.extend(l.iter().map(|s| s.cookie));
        close_wait.extend(
            l.iter()
                .filter(|s| s.state == TCP_CLOSE_WAIT && !said.contains(&s.cookie))
                .map(|s| (s.cookie, s.inode)),
        );
        out.unused.extend(l.into_iter().filter_map(|socket| {
            Some(Unused {
                netns: ns,
                since: *unused.get(&socket.cookie)?,
                socket,
                holder: None,
            })
        }));
    };
    if let Some(w) = wanted.remove(&ours) {
        match list_tcp(w) {
            Ok(l) => {
                found(ours, l, &mut out);
                out.covered.insert(ours, w);
            }
            Err(e) => {
                log::debug!("listing the TCP sockets for the sweep: {e}");
                return None;
            }
        }
    }
    if !wanted.is_empty() {
        let others: HashSet<u32> = wanted.keys().copied().collect();
        for (ns, pid) in processes_in(&others) {
            let w = wanted.get(&ns).copied().unwrap_or(Wanted::Held);
            match list_tcp_in(ns, pid, w) {
                Ok(l) => {
                    found(ns, l, &mut out);
                    out.covered.insert(ns, w);
                }
                Err(e) => log::debug!("listing network namespace {ns} for the sweep: {e}"),
            }
        }
    }
    // Accepted, and held by a process that has not used it yet; or held
    // with the peer gone, maybe by another process than the one that
    // used it (a forking server's parent that kept its copy).
    let inodes: HashSet<u64> = (out.unused.iter().map(|u| u.socket.inode))
        .chain(close_wait.values().copied())
        .filter(|&i| i != 0)
        .collect();
    let holders = holders_of(&inodes);
    for u in &mut out.unused {
        u.holder = holders.get(&u.socket.inode).copied();
    }
    out.close_wait = close_wait
        .into_iter()
        .map(|(cookie, inode)| (cookie, holders.get(&inode).copied()))
        .collect();
    out.took = started.elapsed();
    Some(out)
}

/// The accepted sockets of `listing` left unused, as sockets listed now:
/// on the process that holds each, or, for one still in its listener's
/// accept queue, on the listener's. A socket `owners` already holds (its
/// accept came meanwhile) is left out, as is one whose listener is not
/// known.
fn unused_sockets(owners: &mut Owners, listing: &mut Listing, table: &Table) -> Vec<SeedSocket> {
    if listing.unused.is_empty() {
        return Vec::new();
    }
    // Still unused now: one used and closed since it was listed has left
    // the table (and `owners`), and must not come back as open.
    let unused = table.cookies();
    let mut out = Vec::new();
    for u in listing.unused.drain(..) {
        let s = &u.socket;
        if owners.holds(s.cookie) || !unused.contains(&s.cookie) {
            continue;
        }
        let Some(actor) = u.holder.or_else(|| owners.listener_on(u.netns, s.local)) else {
            continue;
        };
        let socket = SeedSocket {
            seen: u.since,
            actor,
            protocol: Protocol::Tcp,
            direction: Direction::Inbound,
            local: s.local,
            remote: s.remote,
            cookie: s.cookie,
            netns: u.netns,
            unused: true,
            connecting: false,
            opened: 0,
            peer_closed: u.socket.state == TCP_CLOSE_WAIT,
        };
        owners.listed(&socket);
        out.push(socket);
    }
    out
}

/// Ends the sockets `listing` shows gone, as `gone` events at `now`.
fn apply(owners: &mut Owners, listing: &Listing, now: u64) -> Vec<Event> {
    owners.sweep(&listing.listed, now, |ns, listener| {
        match listing.covered.get(&ns) {
            Some(Wanted::Held) => true,
            Some(Wanted::Listening) => listener,
            Some(Wanted::Connecting) | None => false,
        }
    })
}

/// One sweep, on the calling thread.
#[cfg(test)]
fn sweep_gone(owners: &mut Owners, now: u64) -> Vec<Event> {
    list(owners.namespaces(), HashMap::new(), HashSet::new())
        .map_or_else(Vec::new, |l| apply(owners, &l, now))
}

/// Runs the sweep's listings on a thread of their own, one at a time, at
/// most every [`SWEEP_INTERVAL`] (spaced out by [`next_sweep`]).
pub struct Sweeper {
    in_flight: Option<Receiver<Option<Listing>>>,
    last: Instant,
    every: Duration,
    /// How long the last listing took.
    took: Duration,
    /// Accepted sockets left unused, to be found by the next listing:
    /// cookie, and since when (boot-time ns).
    unused: HashMap<u64, u64>,
}

impl Sweeper {
    pub fn new() -> Self {
        Sweeper {
            in_flight: None,
            last: Instant::now(),
            every: SWEEP_INTERVAL,
            took: Duration::ZERO,
            unused: HashMap::new(),
        }
    }

    /// Starts a listing if one is due and none is running, for the
    /// sockets `owners` holds now; one is due sooner when accepted sockets
    /// left unused (`unused`: cookie, since when) are to be found, spaced
    /// out as sweeps are on a host with very many sockets.
    pub fn maybe_start(&mut self, owners: &Owners, unused: Vec<(u64, u64)>) {
        // With no socket held, no listener is known to show them on.
        if !owners.is_empty() {
            self.unused.extend(unused);
        }
        let every = if self.unused.is_empty() {
            self.every
        } else {
            UNUSED_AFTER.max(self.took.saturating_mul(SWEEP_SPACING))
        };
        if self.in_flight.is_some() || owners.is_empty() || self.last.elapsed() < every {
            return;
        }
        let wanted = owners.namespaces();
        let unused = std::mem::take(&mut self.unused);
        let said = owners.said_peer_closed();
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new()
            .name("causeway-sweep".into())
            .spawn(move || {
                // A receiver gone (the probe stopping) is no error.
                let _ = tx.send(list(wanted, unused, said));
            });
        match spawned {
            Ok(_) => self.in_flight = Some(rx),
            Err(e) => log::debug!("starting the sweep: {e}"),
        }
        self.last = Instant::now();
    }

    /// Applies the listing if it is done: the sockets it shows gone, as
    /// `gone` events at `now` (which must come after every record applied
    /// to `owners` so far, and before every one to come), and the accepted
    /// sockets it found left unused and those it found with their peer
    /// closed ([`Owners::peer_closed`]), as sockets listed.
    pub fn finish(&mut self, owners: &mut Owners, now: u64, table: Option<&Table>) -> Vec<Message> {
        let Some(rx) = &self.in_flight else {
            return Vec::new();
        };
        let listing = match rx.try_recv() {
            Err(TryRecvError::Empty) => return Vec::new(),
            Ok(l) => l,
            Err(TryRecvError::Disconnected) => None,
        };
        self.in_flight = None;
        self.last = Instant::now();
        let Some(mut listing) = listing else {
            return Vec::new();
        };
        self.every = next_sweep(listing.took);
        self.took = listing.took;
        let unused = table.map_or_else(Vec::new, |t| unused_sockets(owners, &mut listing, t));
        let gone = apply(owners, &listing, now);
        let peer_closed = owners.peer_closed(&listing.close_wait, now);
        gone.into_iter()
            .map(Message::Event)
            .chain(unused.into_iter().chain(peer_closed).map(Message::Socket))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    #[test]
    fn the_sweep_lists_every_network_namespace_a_held_socket_is_in() {
        use crate::event::{Direction, SeedSocket};
        use std::io::BufRead;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "CI=true but this test needs root (a new network namespace)"
            );
            eprintln!("skipped: needs root for a new network namespace");
            return;
        }
        // A listener in a network namespace of its own, held by a child
        // until its stdin closes.
        let script = "import os, socket, struct, sys\n\
            s = socket.socket()\n\
            s.bind(('0.0.0.0', 0))\n\
            s.listen(1)\n\
            cookie = struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 57, 8))[0]\n\
            print(os.stat('/proc/self/ns/net').st_ino, cookie, flush=True)\n\
            sys.stdin.readline()\n";
        let mut child = std::process::Command::new("unshare")
            .args(["--net", "python3", "-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("unshare --net python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the listener's namespace and cookie");
        let mut words = line
            .split_whitespace()
            .map(|w| w.parse::<u64>().expect("a number"));
        let (theirs, cookie) = (words.next().unwrap() as u32, words.next().unwrap());
        assert_ne!(Some(theirs), netns("self"), "a namespace of its own");
        let socket = |cookie, direction| SeedSocket::tcp_for_test(direction, cookie, theirs);
        let cookies = |events: &[Event]| -> Vec<u64> {
            events
                .iter()
                .filter_map(|ev| match &ev.kind {
                    EventKind::Net(n) => Some(n.cookie),
                    _ => None,
                })
                .collect()
        };
        let mut owners = Owners::default();
        owners.listed(&socket(cookie, Direction::Listen));
        // Listeners alone (listed alone): one whose close was never seen.
        owners.listed(&socket(cookie + 1_000_000_000, Direction::Listen));
        let first = sweep_gone(&mut owners, 10);
        let second = sweep_gone(&mut owners, 20);
        // Then a connection whose close was never seen: every socket of
        // the namespace is listed.
        owners.listed(&socket(cookie + 2_000_000_000, Direction::Outbound));
        let third = sweep_gone(&mut owners, 30);
        let fourth = sweep_gone(&mut owners, 40);
        drop(child.stdin.take());
        let _ = child.wait();
        assert!(first.is_empty(), "missing once is not yet gone");
        assert_eq!(
            cookies(&second),
            [cookie + 1_000_000_000],
            "the listener is still listed"
        );
        assert!(third.is_empty(), "missing once is not yet gone");
        assert_eq!(
            cookies(&fourth),
            [cookie + 2_000_000_000],
            "the listener is still listed, with the connections"
        );
        assert_eq!(owners.len(), 1);
    }

    #[test]
    fn sweeps_space_out_when_they_take_long() {
        assert_eq!(next_sweep(Duration::from_millis(5)), SWEEP_INTERVAL);
        assert_eq!(
            next_sweep(Duration::from_millis(100)),
            Duration::from_secs(30)
        );
        assert_eq!(next_sweep(Duration::MAX), Duration::MAX);
    }

    #[test]
    fn the_sweeper_lists_on_a_thread_of_its_own_and_ends_what_is_gone() {
        use crate::event::{Direction, SeedSocket};
        use std::os::fd::AsRawFd;
        // Our own namespace: listing it needs no root.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut cookie = 0u64;
        let mut len = std::mem::size_of::<u64>() as libc::socklen_t;
        // SAFETY: SO_COOKIE writes a u64 into `cookie`, whose size `len` says.
        let rc = unsafe {
            libc::getsockopt(
                l.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_COOKIE,
                (&raw mut cookie).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        let ours = netns("self").unwrap();
        let socket = |cookie, direction| SeedSocket::tcp_for_test(direction, cookie, ours);
        let mut owners = Owners::default();
        owners.listed(&socket(cookie, Direction::Listen));
        let never_closed = u64::MAX - 5;
        owners.listed(&socket(never_closed, Direction::Outbound));
        let mut sweeper = Sweeper::new();
        assert!(
            sweeper.finish(&mut owners, 1, None).is_empty(),
            "none running"
        );
        sweeper.maybe_start(&owners, Vec::new());
        assert!(sweeper.in_flight.is_none(), "not due yet");
        let mut sweep = |now| {
            sweeper.every = Duration::ZERO;
            sweeper.maybe_start(&owners, Vec::new());
            assert!(sweeper.in_flight.is_some());
            loop {
                let gone = sweeper.finish(&mut owners, now, None);
                if sweeper.in_flight.is_none() {
                    assert!(sweeper.every >= SWEEP_INTERVAL);
                    return gone;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        assert!(sweep(10).is_empty(), "missing once is not yet gone");
        let gone = sweep(20);
        let gone: Vec<(u64, u64)> = gone
            .iter()
            .filter_map(|m| match m {
                Message::Event(ev) => match &ev.kind {
                    EventKind::Net(n) => Some((n.cookie, ev.ktime)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(gone, [(never_closed, 20)], "our listener is listed");
        assert_eq!(owners.len(), 1);
    }
}
