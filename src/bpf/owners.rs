//! Closes, named by their socket's owner. The probe reports a TCP close
//! without a process (most closes happen in softirq, where the current task
//! is whoever was interrupted); the connect, accept or listen with the same
//! socket cookie named the process that owns it. Joining them here keeps
//! the kernel side free of per-socket state.

use crate::event::{Comm, Direction, EventKind, Message, NetKind, ProcKey, Protocol};
use crate::hash::CookieMap;

/// Who opened a socket, as its opening record said.
#[derive(Clone, Debug)]
struct Owner {
    proc: ProcKey,
    tid: u32,
    parent: ProcKey,
    uid: u32,
    gid: u32,
    cgroup: u64,
    comm: Comm,
    direction: Direction,
}

/// Open TCP sockets by cookie. Holds one entry per socket seen opened and
/// not yet seen closed.
#[derive(Default, Debug)]
pub struct Owners {
    by_cookie: CookieMap<Owner>,
}

impl Owners {
    /// Completes a message on its way out of the probe: remembers who
    /// opened each TCP socket and gives each close that owner and the
    /// direction of what it closes. `None` for a close of a socket never
    /// seen opened (it predates the probe, was never accepted, or its
    /// opening record was lost).
    pub fn attribute(&mut self, msg: Message) -> Option<Message> {
        let Message::Event(mut ev) = msg else {
            return Some(msg);
        };
        let EventKind::Net(n) = &mut ev.kind else {
            return Some(Message::Event(ev));
        };
        if n.protocol != Protocol::Tcp {
            return Some(Message::Event(ev));
        }
        match n.kind {
            NetKind::Connect | NetKind::Accept | NetKind::Listen => {
                if n.cookie != 0 {
                    let owner = Owner {
                        proc: ev.proc,
                        tid: ev.tid,
                        parent: ev.parent,
                        uid: ev.uid,
                        gid: ev.gid,
                        cgroup: ev.cgroup,
                        comm: ev.comm,
                        direction: n.direction,
                    };
                    self.by_cookie.insert(n.cookie, owner);
                }
            }
            NetKind::Close => {
                let o = self.by_cookie.remove(&n.cookie)?;
                n.direction = o.direction;
                ev.proc = o.proc;
                ev.tid = o.tid;
                ev.parent = o.parent;
                ev.uid = o.uid;
                ev.gid = o.gid;
                ev.cgroup = o.cgroup;
                ev.comm = o.comm;
            }
            NetKind::Udp => {}
        }
        Some(Message::Event(ev))
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
    use crate::event::{Event, NetInfo};

    fn msg(kind: NetKind, direction: Direction, proc: ProcKey, comm: &str, cookie: u64) -> Message {
        Message::Event(Event {
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
        })
    }

    fn close(cookie: u64) -> Message {
        // As the probe sends it: no process, outbound by default.
        msg(
            NetKind::Close,
            Direction::Outbound,
            ProcKey::default(),
            "",
            cookie,
        )
    }

    #[test]
    fn a_close_gets_the_owner_and_direction_of_its_socket() {
        let server = ProcKey::new(300, 9_000);
        let mut o = Owners::default();
        let accept = msg(NetKind::Accept, Direction::Inbound, server, "nginx", 42);
        assert_eq!(o.attribute(accept.clone()), Some(accept));
        let Some(Message::Event(ev)) = o.attribute(close(42)) else {
            panic!("the close is kept")
        };
        assert_eq!((ev.proc, ev.tid, ev.comm.as_str()), (server, 301, "nginx"));
        assert_eq!((ev.uid, ev.gid, ev.cgroup), (1000, 100, 7));
        let EventKind::Net(n) = ev.kind else { panic!() };
        assert_eq!(n.direction, Direction::Inbound);
        assert!(o.is_empty());
    }

    #[test]
    fn unknown_and_repeated_closes_are_dropped() {
        let mut o = Owners::default();
        assert_eq!(o.attribute(close(7)), None);
        let listen = msg(
            NetKind::Listen,
            Direction::Listen,
            ProcKey::new(5, 1),
            "srv",
            8,
        );
        o.attribute(listen);
        assert!(o.attribute(close(8)).is_some());
        assert_eq!(o.attribute(close(8)), None, "a second close of one socket");
    }

    #[test]
    fn accepts_without_a_cookie_are_not_remembered() {
        let mut o = Owners::default();
        let accept = msg(
            NetKind::Accept,
            Direction::Inbound,
            ProcKey::new(5, 1),
            "srv",
            0,
        );
        assert!(o.attribute(accept).is_some());
        assert!(o.is_empty());
        assert_eq!(o.attribute(close(0)), None);
    }
}
