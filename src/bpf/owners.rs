//! Closes, named by their socket's owner. The probe reports a TCP close
//! without a process or addresses (most closes happen in softirq, where the
//! current task is whoever was interrupted, and a small record is cheaper
//! for the traced code); the connect, accept or listen with the same socket
//! cookie named the process that owns it and the socket's addresses.
//! Joining them here keeps the kernel side free of per-socket state.
//!
//! An accepted socket that ended before any process used it (reset by its
//! peer) is reported naming no process; it is given to the process
//! listening on its address.
//!
//! A close can also never come: under load the kernel ends a few sockets
//! by a path its tracepoint does not see (see the README), and a close
//! record can be lost. [`Owners::sweep`] ends those that the kernel no
//! longer lists.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::event::{Actor, Direction, Event, EventKind, NetInfo, NetKind, Protocol, SeedSocket};
use crate::hash::CookieMap;
use crate::seed::sockets::Wanted;

/// Who opened a socket, as its opening record said.
#[derive(Clone, Debug)]
struct Owner {
    actor: Actor,
    direction: Direction,
    local: SocketAddr,
    remote: SocketAddr,
    netns: u32,
}

/// Open TCP sockets by cookie. Holds one entry per socket seen opened and
/// not yet seen closed.
#[derive(Default, Debug)]
pub struct Owners {
    by_cookie: CookieMap<Owner>,
    /// The open listener on each local address of each network namespace
    /// (the latest, when several share one), by cookie.
    listening: HashMap<(u32, SocketAddr), u64>,
    /// Sockets the last sweep did not find listed, by cookie.
    suspects: HashSet<u64>,
    /// Sockets said to be in `CLOSE_WAIT` (see [`Owners::peer_closed`]),
    /// by cookie.
    peer_closed: HashSet<u64>,
}

impl Owners {
    /// Completes an event on its way out of the probe: remembers who
    /// opened each TCP socket and gives each close that owner, and the
    /// direction and addresses of what it closes. False for a close of a
    /// socket never seen opened (it predates the probe, was never accepted,
    /// or its opening record was lost): there is nobody to give it to.
    /// An accept naming no process is given the listener's; false when
    /// there is none (it closed first, or was never seen).
    pub fn attribute(&mut self, ev: &mut Event) -> bool {
        let EventKind::Net(n) = &ev.kind else {
            return true;
        };
        if n.protocol != Protocol::Tcp {
            return true;
        }
        match n.kind {
            NetKind::Accept if ev.proc.pid == 0 => {
                let Some(listener) = self.listener_on(n.netns, n.local) else {
                    return false;
                };
                listener.give_to(ev);
                self.remember(ev);
            }
            // A connect that began before the probe attached: the socket
            // was listed then, connecting, on the process holding it.
            NetKind::Connect if ev.proc.pid == 0 => {
                let Some(o) = self.by_cookie.get(&n.cookie) else {
                    return false;
                };
                o.actor.give_to(ev);
                self.remember(ev);
            }
            NetKind::Connect | NetKind::Accept | NetKind::Listen => self.remember(ev),
            NetKind::Close => {
                let Some(o) = self.forget(n.cookie) else {
                    return false;
                };
                o.actor.give_to(ev);
                if let EventKind::Net(n) = &mut ev.kind {
                    n.direction = o.direction;
                    n.local = o.local;
                    n.remote = o.remote;
                    n.netns = o.netns;
                }
            }
            NetKind::Udp | NetKind::Gone => {}
        }
        true
    }

    /// Ends the sockets whose close never came: those missing from the
    /// kernel's list (`listed`: the cookies of its TCP sockets, read at
    /// `now`, after every record taken so far was attributed) at this sweep
    /// and the one before, if `in_listing(netns, listener)` says the
    /// kernel's list covers a socket of their network namespace (it covers
    /// some, and some only for listeners). A socket that closed just before
    /// a listing has its close attributed before the next. Returns a `gone`
    /// event for each, at `now`.
    pub fn sweep(
        &mut self,
        listed: &HashSet<u64>,
        now: u64,
        in_listing: impl Fn(u32, bool) -> bool,
    ) -> Vec<Event> {
        let before = std::mem::take(&mut self.suspects);
        let mut gone = Vec::new();
        for (&cookie, o) in &self.by_cookie {
            if listed.contains(&cookie) {
                continue;
            }
            if !before.contains(&cookie) {
                self.suspects.insert(cookie);
            } else if in_listing(o.netns, o.direction == Direction::Listen) {
                gone.push(cookie);
            }
        }
        gone.into_iter()
            .filter_map(|cookie| {
                let o = self.forget(cookie)?;
                Some(o.actor.event(
                    now,
                    EventKind::Net(NetInfo {
                        kind: NetKind::Gone,
                        protocol: Protocol::Tcp,
                        direction: o.direction,
                        local: o.local,
                        remote: o.remote,
                        cookie,
                        netns: o.netns,
                        bytes_sent: 0,
                        bytes_received: 0,
                        ending: Default::default(),
                        opened: 0,
                    }),
                ))
            })
            .collect()
    }

    /// The held sockets a listing found in `CLOSE_WAIT` (`close_wait`, by
    /// cookie: their peer closed its end, their process has not), as
    /// sockets listed at `now` with [`SeedSocket::peer_closed`]; each once.
    /// Each is on the process found holding it (when found, and another
    /// than the one that opened or first used it), whose its close will be.
    pub fn peer_closed(
        &mut self,
        close_wait: &HashMap<u64, Option<Actor>>,
        now: u64,
    ) -> Vec<SeedSocket> {
        let mut out: Vec<SeedSocket> = close_wait
            .iter()
            .filter(|(c, _)| !self.peer_closed.contains(c))
            .filter_map(|(&cookie, holder)| {
                let o = self.by_cookie.get_mut(&cookie)?;
                // The holder's start is /proc's, to the tick.
                if let Some(h) = holder.filter(|h| !h.proc.same_process(o.actor.proc)) {
                    o.actor = h;
                }
                Some(SeedSocket {
                    seen: now,
                    actor: o.actor,
                    protocol: Protocol::Tcp,
                    direction: o.direction,
                    local: o.local,
                    remote: o.remote,
                    cookie,
                    netns: o.netns,
                    unused: false,
                    connecting: false,
                    opened: 0,
                    peer_closed: true,
                })
            })
            .collect();
        out.sort_unstable_by_key(|s| s.cookie);
        self.peer_closed.extend(out.iter().map(|s| s.cookie));
        out
    }

    /// The sockets said to be in `CLOSE_WAIT`, by cookie.
    pub fn said_peer_closed(&self) -> HashSet<u64> {
        self.peer_closed.clone()
    }

    /// Takes the socket `cookie` out, and out of the listeners.
    fn forget(&mut self, cookie: u64) -> Option<Owner> {
        // On every close: most hosts have none.
        if !self.peer_closed.is_empty() {
            self.peer_closed.remove(&cookie);
        }
        let o = self.by_cookie.remove(&cookie)?;
        let at = (o.netns, o.local);
        if o.direction == Direction::Listen && self.listening.get(&at) == Some(&cookie) {
            self.listening.remove(&at);
        }
        Some(o)
    }

    /// Remembers who holds a socket listed when the probe attached, for
    /// its close (and, for a listener, its unused accepts).
    pub fn listed(&mut self, s: &SeedSocket) {
        self.remember(&s.as_event());
        if s.peer_closed {
            self.peer_closed.insert(s.cookie);
        }
    }

    /// Remembers who opened the socket of an opening record.
    fn remember(&mut self, ev: &Event) {
        let EventKind::Net(n) = &ev.kind else {
            return;
        };
        if n.cookie == 0 {
            return;
        }
        if n.kind == NetKind::Listen {
            self.listening.insert((n.netns, n.local), n.cookie);
        }
        let owner = Owner {
            actor: Actor::of(ev),
            direction: n.direction,
            local: n.local,
            remote: n.remote,
            netns: n.netns,
        };
        self.by_cookie.insert(n.cookie, owner);
    }

    /// Whether the socket `cookie` is held: seen opened and not closed.
    pub fn holds(&self, cookie: u64) -> bool {
        self.by_cookie.contains_key(&cookie)
    }

    /// Who listens, in network namespace `netns`, where an accepted
    /// socket's local address says: on that address, else on any address
    /// of its family with its port, else (for IPv4, shown unmapped) on any
    /// IPv6 address with its port.
    pub fn listener_on(&self, netns: u32, local: SocketAddr) -> Option<Actor> {
        let port = local.port();
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        let wildcards = match local {
            SocketAddr::V4(_) => [SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), any6],
            SocketAddr::V6(_) => [any6, any6],
        };
        std::iter::once(local)
            .chain(wildcards)
            .find_map(|a| self.listening.get(&(netns, a)))
            .and_then(|cookie| self.by_cookie.get(cookie))
            .map(|o| o.actor)
    }

    /// The network namespaces of the sockets held, each with what a
    /// listing of it needs to show: listeners alone where those are all
    /// the namespace's sockets held (a far cheaper listing), else every
    /// socket.
    pub fn namespaces(&self) -> HashMap<u32, Wanted> {
        let mut out = HashMap::new();
        for o in self.by_cookie.values() {
            let w = if o.direction == Direction::Listen {
                Wanted::Listening
            } else {
                Wanted::Held
            };
            let e = out.entry(o.netns).or_insert(w);
            if w == Wanted::Held {
                *e = w;
            }
        }
        out
    }

    /// Sockets seen opened and not yet closed.
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{NetInfo, ProcKey};

    fn ev(kind: NetKind, direction: Direction, proc: ProcKey, comm: &str, cookie: u64) -> Event {
        Event {
            ktime: 1,
            proc,
            tid: proc.pid + 1,
            parent: ProcKey::new(1, 5),
            uid: 1000,
            gid: 100,
            cgroup: 7,
            comm: comm.into(),
            kind: EventKind::Net(NetInfo {
                kind,
                protocol: Protocol::Tcp,
                direction,
                local: "127.0.0.1:80".parse().unwrap(),
                remote: "127.0.0.1:5000".parse().unwrap(),
                cookie,
                netns: 1,
                bytes_sent: 0,
                bytes_received: 0,
                ending: Default::default(),
                opened: 0,
            }),
        }
    }

    fn close(cookie: u64) -> Event {
        // As the probe sends it: no process, no addresses, outbound.
        let mut c = ev(
            NetKind::Close,
            Direction::Outbound,
            ProcKey::default(),
            "",
            cookie,
        );
        if let EventKind::Net(n) = &mut c.kind {
            n.local = "0.0.0.0:0".parse().unwrap();
            n.remote = n.local;
            n.bytes_sent = 40;
        }
        c
    }

    #[test]
    fn a_close_gets_the_owner_direction_and_addresses_of_its_socket() {
        let server = ProcKey::new(300, 9_000);
        let mut o = Owners::default();
        let mut accept = ev(NetKind::Accept, Direction::Inbound, server, "nginx", 42);
        let before = accept.clone();
        assert!(o.attribute(&mut accept));
        assert_eq!(accept, before, "an opening record passes unchanged");
        let mut c = close(42);
        assert!(o.attribute(&mut c), "the close is kept");
        assert_eq!((c.proc, c.tid, c.comm.as_str()), (server, 301, "nginx"));
        assert_eq!((c.uid, c.gid, c.cgroup), (1000, 100, 7));
        let EventKind::Net(n) = c.kind else { panic!() };
        assert_eq!(n.direction, Direction::Inbound);
        assert_eq!(n.local, "127.0.0.1:80".parse().unwrap());
        assert_eq!(n.remote, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(n.bytes_sent, 40, "the close's own bytes");
        assert!(o.is_empty());
    }

    #[test]
    fn unknown_and_repeated_closes_are_dropped() {
        let mut o = Owners::default();
        assert!(!o.attribute(&mut close(7)));
        let mut listen = ev(
            NetKind::Listen,
            Direction::Listen,
            ProcKey::new(5, 1),
            "srv",
            8,
        );
        o.attribute(&mut listen);
        assert!(o.attribute(&mut close(8)));
        assert!(!o.attribute(&mut close(8)), "a second close of one socket");
    }

    /// An opening record of `proc` on `local`.
    fn on(kind: NetKind, proc: ProcKey, local: &str, cookie: u64) -> Event {
        let direction = match kind {
            NetKind::Listen => Direction::Listen,
            NetKind::Connect => Direction::Outbound,
            _ => Direction::Inbound,
        };
        let mut e = ev(kind, direction, proc, "srv", cookie);
        if let EventKind::Net(n) = &mut e.kind {
            n.local = local.parse().unwrap();
        }
        e
    }

    /// An accept as the probe reports one no process used: no process.
    fn unused_accept(local: &str, cookie: u64) -> Event {
        on(NetKind::Accept, ProcKey::default(), local, cookie)
    }

    #[test]
    fn an_unused_accept_goes_to_the_process_listening_on_its_address() {
        let (any, exact, v6) = (ProcKey::new(5, 1), ProcKey::new(6, 1), ProcKey::new(7, 1));
        let mut o = Owners::default();
        o.attribute(&mut on(NetKind::Listen, any, "0.0.0.0:80", 1));
        o.attribute(&mut on(NetKind::Listen, exact, "127.0.0.2:80", 2));
        o.attribute(&mut on(NetKind::Listen, v6, "[::]:8080", 3));
        // A connect from a port does not listen on it.
        o.attribute(&mut on(NetKind::Connect, exact, "127.0.0.1:81", 4));
        for (local, cookie, owner) in [
            ("127.0.0.1:80", 10, any),
            ("127.0.0.2:80", 11, exact),
            ("127.0.0.1:8080", 12, v6),
            ("[::1]:8080", 13, v6),
        ] {
            let mut a = unused_accept(local, cookie);
            assert!(o.attribute(&mut a), "{local}");
            assert_eq!((a.proc, a.comm.as_str()), (owner, "srv"), "{local}");
            let mut c = close(cookie);
            assert!(o.attribute(&mut c), "its close follows it");
            assert_eq!(c.proc, owner);
            let EventKind::Net(n) = c.kind else { panic!() };
            assert_eq!(n.local, local.parse().unwrap());
        }
        // On a port nobody listens on (any more): nobody to give it to.
        assert!(!o.attribute(&mut unused_accept("127.0.0.1:81", 14)));
        assert!(!o.attribute(&mut close(14)));
        assert!(o.attribute(&mut close(1)), "the listener closes");
        assert!(!o.attribute(&mut unused_accept("127.0.0.1:80", 15)));
        assert!(!o.attribute(&mut unused_accept("[::1]:80", 16)));
    }

    #[test]
    fn a_connect_begun_before_the_probe_goes_to_the_socket_listed_then() {
        let holder = ProcKey::new(9, 3);
        let listed = on(NetKind::Connect, holder, "127.0.0.1:40000", 5);
        let mut o = Owners::default();
        o.listed(&SeedSocket::from_event(&listed).unwrap());
        // As the probe reports it: no process, no slot of its own.
        let mut c = on(NetKind::Connect, ProcKey::default(), "127.0.0.1:40000", 5);
        assert!(o.attribute(&mut c));
        assert_eq!((c.proc, c.comm.as_str()), (holder, "srv"));
        // One whose socket was never listed (its slot was lost): nobody's.
        let mut lost = on(NetKind::Connect, ProcKey::default(), "127.0.0.1:40001", 6);
        assert!(!o.attribute(&mut lost));
        assert!(!o.holds(6));
    }

    #[test]
    fn a_listener_listed_at_start_takes_unused_accepts() {
        let holder = ProcKey::new(9, 3);
        let listed = on(NetKind::Listen, holder, "0.0.0.0:22", 5);
        let mut o = Owners::default();
        o.listed(&SeedSocket::from_event(&listed).unwrap());
        let mut a = unused_accept("10.0.0.1:22", 6);
        assert!(o.attribute(&mut a));
        assert_eq!(a.proc, holder);
    }

    /// Owners that saw nginx (300) accept the connection `cookie`: the
    /// owners, and nginx.
    fn nginx_accepted(cookie: u64) -> (Owners, ProcKey) {
        let server = ProcKey::new(300, 9_000);
        let mut o = Owners::default();
        o.attribute(&mut ev(
            NetKind::Accept,
            Direction::Inbound,
            server,
            "nginx",
            cookie,
        ));
        (o, server)
    }

    fn cookies(c: &[u64]) -> HashSet<u64> {
        c.iter().copied().collect()
    }

    #[test]
    fn a_socket_missing_from_two_listings_in_a_row_is_gone() {
        let (mut o, server) = nginx_accepted(42);
        o.attribute(&mut on(NetKind::Listen, server, "0.0.0.0:80", 7));
        // Missing once: only suspected.
        assert!(o.sweep(&cookies(&[]), 200, |_, _| true).is_empty());
        let gone = o.sweep(&cookies(&[]), 300, |_, _| true);
        assert_eq!(gone.len(), 2);
        let g = gone
            .iter()
            .find(|g| matches!(&g.kind, EventKind::Net(n) if n.cookie == 42));
        let g = g.expect("the accepted socket is gone");
        assert_eq!((g.ktime, g.proc, g.comm.as_str()), (300, server, "nginx"));
        let EventKind::Net(n) = &g.kind else { panic!() };
        assert_eq!((n.kind, n.direction), (NetKind::Gone, Direction::Inbound));
        assert_eq!(n.local, "127.0.0.1:80".parse().unwrap());
        assert_eq!((n.bytes_sent, n.bytes_received), (0, 0));
        assert!(o.is_empty());
        assert!(!o.attribute(&mut close(42)), "a late close finds nothing");
        assert!(
            !o.attribute(&mut unused_accept("127.0.0.1:80", 9)),
            "no listener"
        );
    }

    /// Sockets found in `CLOSE_WAIT`, their holders not known.
    fn unheld(c: &[u64]) -> HashMap<u64, Option<Actor>> {
        c.iter().map(|&c| (c, None)).collect()
    }

    #[test]
    fn a_held_socket_found_in_close_wait_is_said_so_once() {
        let (mut o, server) = nginx_accepted(42);
        // 43 is not held: nobody to say it of.
        let found = o.peer_closed(&unheld(&[42, 43]), 200);
        let [s] = &found[..] else {
            panic!("one socket: {found:?}");
        };
        assert!(s.peer_closed && !s.unused && !s.connecting);
        assert_eq!((s.seen, s.cookie, s.actor.proc), (200, 42, server));
        assert_eq!(
            (s.direction, s.remote),
            (Direction::Inbound, "127.0.0.1:5000".parse().unwrap())
        );
        assert!(o.peer_closed(&unheld(&[42]), 300).is_empty(), "said once");
        // Closed, and its cookie met again: a new story.
        assert!(o.attribute(&mut close(42)));
        o.attribute(&mut ev(
            NetKind::Accept,
            Direction::Inbound,
            server,
            "nginx",
            42,
        ));
        assert_eq!(o.peer_closed(&unheld(&[42]), 400).len(), 1);
        // Listed so at start: already said.
        let mut listed = SeedSocket::tcp_for_test(Direction::Outbound, 50, 1);
        listed.peer_closed = true;
        o.listed(&listed);
        assert!(o.peer_closed(&unheld(&[50]), 500).is_empty());
        // Held by another process than the one that used it (a forking
        // server's parent kept its copy): on that one, and so its close.
        let parent = ProcKey::new(299, 8_000);
        o.attribute(&mut ev(
            NetKind::Accept,
            Direction::Inbound,
            server,
            "worker",
            60,
        ));
        let mut holder = Actor {
            proc: parent,
            ..Actor::default()
        };
        let found = o.peer_closed(&HashMap::from([(60, Some(holder))]), 600);
        assert_eq!(found[0].actor.proc, parent);
        let mut c = close(60);
        assert!(o.attribute(&mut c));
        assert_eq!(c.proc, parent);
        // Found held by the same process, to /proc's tick: its exact start stays.
        o.attribute(&mut ev(
            NetKind::Accept,
            Direction::Inbound,
            server,
            "nginx",
            61,
        ));
        holder.proc = ProcKey::new(server.pid, server.start_tick() * crate::event::NS_PER_TICK);
        let found = o.peer_closed(&HashMap::from([(61, Some(holder))]), 700);
        assert_eq!(found[0].actor.proc, server);
    }

    #[test]
    fn a_socket_listed_again_or_outside_the_listing_is_not_gone() {
        let mut o = Owners::default();
        for cookie in [1, 2] {
            o.attribute(&mut ev(
                NetKind::Connect,
                Direction::Outbound,
                ProcKey::new(5, 1),
                "c",
                cookie,
            ));
        }
        assert!(o.sweep(&cookies(&[1, 2]), 20, |_, _| true).is_empty());
        // 1 missing once, then listed again (a listing cut short): kept.
        assert!(o.sweep(&cookies(&[2]), 30, |_, _| true).is_empty());
        assert!(o.sweep(&cookies(&[1, 2]), 40, |_, _| true).is_empty());
        assert!(o.sweep(&cookies(&[]), 50, |_, _| true).is_empty());
        // In another network namespace, which the listing does not show:
        // never gone.
        assert!(o.sweep(&cookies(&[]), 60, |_, _| false).is_empty());
        assert!(o.sweep(&cookies(&[]), 70, |_, _| false).is_empty());
        assert_eq!(o.len(), 2);
        assert_eq!(o.sweep(&cookies(&[]), 80, |_, _| true).len(), 2);
    }

    #[test]
    fn a_namespace_of_listeners_alone_is_listed_for_listeners_alone() {
        let mut o = Owners::default();
        let socket = SeedSocket::tcp_for_test;
        o.listed(&socket(Direction::Listen, 1, 7));
        o.listed(&socket(Direction::Listen, 2, 8));
        o.listed(&socket(Direction::Inbound, 3, 8));
        o.listed(&socket(Direction::Outbound, 4, 9));
        let ns = o.namespaces();
        assert_eq!(ns.len(), 3);
        assert_eq!(ns[&7], Wanted::Listening);
        assert_eq!(ns[&8], Wanted::Held);
        assert_eq!(ns[&9], Wanted::Held);
        // A listing of listeners alone ends no other socket.
        let listeners_only = |_, listener: bool| listener;
        assert!(o.sweep(&cookies(&[]), 10, listeners_only).is_empty());
        let gone = o.sweep(&cookies(&[]), 20, listeners_only);
        let mut gone: Vec<u64> = gone
            .iter()
            .filter_map(|g| match &g.kind {
                EventKind::Net(n) => Some(n.cookie),
                _ => None,
            })
            .collect();
        gone.sort();
        assert_eq!(gone, [1, 2]);
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn accepts_without_a_cookie_are_not_remembered() {
        let mut o = Owners::default();
        let mut accept = ev(
            NetKind::Accept,
            Direction::Inbound,
            ProcKey::new(5, 1),
            "srv",
            0,
        );
        assert!(o.attribute(&mut accept));
        assert!(o.is_empty());
        assert!(!o.attribute(&mut close(0)));
    }
}
