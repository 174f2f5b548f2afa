//! Closes, named by their socket's owner. The probe reports a TCP close
//! without a process or addresses (most closes happen in softirq, where the
//! current task is whoever was interrupted, and a small record is cheaper
//! for the traced code); the connect, accept or listen with the same socket
//! cookie named the process that owns it and the socket's addresses.
//! Joining them here keeps the kernel side free of per-socket state.

use std::net::SocketAddr;

use crate::event::{Actor, Direction, Event, EventKind, NetKind, Protocol, SeedSocket};
use crate::hash::CookieMap;

/// Who opened a socket, as its opening record said.
#[derive(Clone, Debug)]
struct Owner {
    actor: Actor,
    direction: Direction,
    local: SocketAddr,
    remote: SocketAddr,
}

/// Open TCP sockets by cookie. Holds one entry per socket seen opened and
/// not yet seen closed.
#[derive(Default, Debug)]
pub struct Owners {
    by_cookie: CookieMap<Owner>,
}

impl Owners {
    /// Completes an event on its way out of the probe: remembers who
    /// opened each TCP socket and gives each close that owner, and the
    /// direction and addresses of what it closes. False for a close of a
    /// socket never seen opened (it predates the probe, was never accepted,
    /// or its opening record was lost): there is nobody to give it to.
    pub fn attribute(&mut self, ev: &mut Event) -> bool {
        let EventKind::Net(n) = &ev.kind else {
            return true;
        };
        if n.protocol != Protocol::Tcp {
            return true;
        }
        match n.kind {
            NetKind::Connect | NetKind::Accept | NetKind::Listen => {
                if n.cookie != 0 {
                    let owner = Owner {
                        actor: Actor::of(ev),
                        direction: n.direction,
                        local: n.local,
                        remote: n.remote,
                    };
                    self.by_cookie.insert(n.cookie, owner);
                }
            }
            NetKind::Close => {
                let Some(o) = self.by_cookie.remove(&n.cookie) else {
                    return false;
                };
                o.actor.give_to(ev);
                if let EventKind::Net(n) = &mut ev.kind {
                    n.direction = o.direction;
                    n.local = o.local;
                    n.remote = o.remote;
                }
            }
            NetKind::Udp => {}
        }
        true
    }

    /// Remembers who holds a socket listed when the probe attached, for
    /// its close.
    pub fn listed(&mut self, s: &SeedSocket) {
        self.attribute(&mut s.as_event());
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
                bytes_sent: 0,
                bytes_received: 0,
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
