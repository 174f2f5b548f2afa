//! Connections on the causal tree: each belongs to the process that made or
//! accepted it; when both ends are on this host, the client's and the
//! server's connections are linked, joining the two processes.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use super::{CausalTree, NodeId};
use crate::event::{Direction, EventKind, NetInfo, NetKind, Protocol, SeedSocket};

/// Index of a connection in its tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ConnId(pub u32);

impl ConnId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConnState {
    Open,
    Listening,
    Closed,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Open => "open",
            ConnState::Listening => "listening",
            ConnState::Closed => "closed",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Connection {
    pub owner: NodeId,
    pub protocol: Protocol,
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub start: u64,
    pub end: Option<u64>,
    pub state: ConnState,
    /// The other end's connection, when it is a process on this host.
    pub peer: Option<ConnId>,
    pub cookie: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Open before causeway started (listed then): `start` is when it was
    /// listed, not when it opened.
    pub seeded: bool,
}

/// How long after its close a connection can still be linked to its other
/// end (boot-time ns). A client may connect, send and close before the
/// server gets round to accepting; the accept then comes after the close.
pub const LINK_WINDOW_NS: u64 = 60_000_000_000;

/// One end of a TCP connection, as its other end would see it mirrored:
/// (direction, local, remote).
type End = (Direction, SocketAddr, SocketAddr);

#[derive(Default, Debug)]
pub(super) struct NetTable {
    conns: Vec<Connection>,
    /// Open connections by socket cookie, to close them. Default hashing:
    /// a replayed journal may be hostile and choose colliding cookies.
    by_cookie: HashMap<u64, ConnId>,
    /// TCP connections not yet linked to their other end, open or closed
    /// within [`LINK_WINDOW_NS`], to link the two ends of a local
    /// connection whatever order their records come in.
    unlinked: HashMap<End, ConnId>,
    /// Closed, unlinked connections in close order, to forget them from
    /// `unlinked` once the window has passed.
    closed_unlinked: VecDeque<(u64, ConnId)>,
}

fn end_of(c: &Connection) -> End {
    (c.direction, c.local, c.remote)
}

/// The end that would pair with `c`: the other direction, addresses swapped.
fn mirror_of(c: &Connection) -> Option<End> {
    let other = match c.direction {
        Direction::Outbound => Direction::Inbound,
        Direction::Inbound => Direction::Outbound,
        Direction::Listen => return None,
    };
    (c.protocol == Protocol::Tcp).then_some((other, c.remote, c.local))
}

impl NetTable {
    /// Forgets closed connections whose other end can no longer show up.
    fn expire(&mut self, now: u64) {
        while let Some(&(closed, id)) = self.closed_unlinked.front() {
            if now.saturating_sub(closed) < LINK_WINDOW_NS {
                break;
            }
            self.closed_unlinked.pop_front();
            let end = end_of(&self.conns[id.index()]);
            if self.unlinked.get(&end) == Some(&id) {
                self.unlinked.remove(&end);
            }
        }
    }

    fn close(&mut self, id: ConnId, ktime: u64, info: Option<&NetInfo>) {
        let c = &mut self.conns[id.index()];
        if c.end.is_some() {
            return;
        }
        c.end = Some(ktime);
        c.state = ConnState::Closed;
        if let Some(info) = info {
            c.bytes_sent = c.bytes_sent.max(info.bytes_sent);
            c.bytes_received = c.bytes_received.max(info.bytes_received);
        }
        if c.peer.is_none() && mirror_of(c).is_some() {
            self.closed_unlinked.push_back((ktime, id));
        }
    }
}

impl CausalTree {
    pub fn conn(&self, id: ConnId) -> &Connection {
        &self.net.conns[id.index()]
    }

    pub fn conns(&self) -> &[Connection] {
        &self.net.conns
    }

    /// The process at the other end of a local connection.
    pub fn peer_process(&self, id: ConnId) -> Option<NodeId> {
        self.conn(id).peer.map(|p| self.conn(p).owner)
    }

    pub(super) fn net_event(&mut self, owner: NodeId, ktime: u64, info: &NetInfo) {
        let net = &mut self.net;
        net.expire(ktime);
        if info.kind == NetKind::Close {
            if let Some(id) = net.by_cookie.remove(&info.cookie) {
                net.close(id, ktime, Some(info));
            }
            return;
        }
        if let Some(&listed) = net.by_cookie.get(&info.cookie) {
            let c = &net.conns[listed.index()];
            if c.seeded && c.end.is_none() && info.cookie != 0 {
                // Listed at the start while it was being opened, or before
                // its first use: the probe's record says it better.
                self.reopen_listed(listed, owner, ktime, info);
                return;
            }
        }
        let id = ConnId(net.conns.len() as u32);
        let state = if info.kind == NetKind::Listen {
            ConnState::Listening
        } else {
            ConnState::Open
        };
        let mut conn = Connection {
            owner,
            protocol: info.protocol,
            direction: info.direction,
            local: info.local,
            remote: info.remote,
            start: ktime,
            end: None,
            state,
            peer: None,
            cookie: info.cookie,
            bytes_sent: 0,
            bytes_received: 0,
            seeded: false,
        };
        if let Some(mirror) = mirror_of(&conn) {
            if let Some(peer) = net.unlinked.remove(&mirror) {
                conn.peer = Some(peer);
                net.conns[peer.index()].peer = Some(id);
            } else {
                // A newer connection with the same tuple replaces an older,
                // unlinked one as the candidate.
                net.unlinked.insert(end_of(&conn), id);
            }
        }
        if info.cookie != 0 {
            if let Some(old) = net.by_cookie.insert(info.cookie, id) {
                // A cookie reused after a missed close (a socket connected
                // again after a failed connect): the old record is over.
                net.close(old, ktime, None);
            }
        }
        net.conns.push(conn);
        self.nodes[owner.index()].conns.push(id);
    }

    /// A socket listed at the start, on its holder `owner`.
    pub(super) fn net_socket(&mut self, owner: NodeId, s: &SeedSocket) {
        let EventKind::Net(info) = s.as_event().kind else {
            return;
        };
        let before = self.net.conns.len();
        self.net_event(owner, s.seen, &info);
        if let Some(c) = self.net.conns.get_mut(before) {
            c.seeded = true;
        }
    }

    /// Makes the listed connection `id` the one the probe reported now.
    fn reopen_listed(&mut self, id: ConnId, owner: NodeId, ktime: u64, info: &NetInfo) {
        let was = self.net.conns[id.index()].owner;
        if was != owner {
            self.nodes[was.index()].conns.retain(|&c| c != id);
            self.nodes[owner.index()].conns.push(id);
        }
        let c = &mut self.net.conns[id.index()];
        c.owner = owner;
        c.start = ktime;
        c.seeded = false;
        c.direction = info.direction;
        c.local = info.local;
        c.remote = info.remote;
    }

    /// UDP sockets have no close the probe sees: they end with their process.
    pub(super) fn net_process_exited(&mut self, owner: NodeId, ktime: u64) {
        let ids = self.nodes[owner.index()].conns.clone();
        for id in ids {
            let c = &self.net.conns[id.index()];
            if c.protocol == Protocol::Udp && c.end.is_none() {
                let cookie = c.cookie;
                self.net.close(id, ktime, None);
                if self.net.by_cookie.get(&cookie) == Some(&id) {
                    self.net.by_cookie.remove(&cookie);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Message, ProcKey, SeedSocket};

    const CLIENT: ProcKey = ProcKey::new(100, 1_000);
    const SERVER: ProcKey = ProcKey::new(200, 2_000);

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn net(
        ktime: u64,
        proc: ProcKey,
        comm: &str,
        kind: NetKind,
        local: &str,
        remote: &str,
        cookie: u64,
    ) -> Message {
        let (protocol, direction) = match kind {
            NetKind::Connect | NetKind::Close => (Protocol::Tcp, Direction::Outbound),
            NetKind::Accept => (Protocol::Tcp, Direction::Inbound),
            NetKind::Listen => (Protocol::Tcp, Direction::Listen),
            NetKind::Udp => (Protocol::Udp, Direction::Outbound),
        };
        Message::Event(Event {
            ktime,
            proc,
            tid: proc.pid,
            parent: ProcKey::new(1, 0),
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: comm.into(),
            kind: EventKind::Net(NetInfo {
                kind,
                protocol,
                direction,
                local: addr(local),
                remote: addr(remote),
                cookie,
                bytes_sent: if kind == NetKind::Close { 5 } else { 0 },
                bytes_received: if kind == NetKind::Close { 7 } else { 0 },
            }),
        })
    }

    const C: &str = "127.0.0.1:40000";
    const S: &str = "127.0.0.1:8080";

    fn connect(t: u64, cookie: u64) -> Message {
        net(t, CLIENT, "curl", NetKind::Connect, C, S, cookie)
    }
    fn accept(t: u64, cookie: u64) -> Message {
        net(t, SERVER, "nginx", NetKind::Accept, S, C, cookie)
    }
    fn close(t: u64, proc: ProcKey, cookie: u64) -> Message {
        net(t, proc, "old-comm", NetKind::Close, C, S, cookie)
    }

    fn linked(tree: &CausalTree) -> (ConnId, ConnId) {
        let client = tree.find(CLIENT).unwrap();
        let server = tree.find(SERVER).unwrap();
        let out = tree.node(client).conns[0];
        let inb = tree.node(server).conns[0];
        assert_eq!(tree.conn(out).direction, Direction::Outbound);
        assert_eq!(tree.conn(inb).direction, Direction::Inbound);
        (out, inb)
    }

    /// A socket listed at the start, held by `proc`: what `kind` would
    /// have opened it.
    fn listed(proc: ProcKey, kind: NetKind, local: &str, remote: &str, cookie: u64) -> Message {
        let Message::Event(ev) = net(5, proc, "held", kind, local, remote, cookie) else {
            unreachable!("net() makes events");
        };
        Message::Socket(SeedSocket::from_event(&ev).expect("a network event"))
    }

    #[test]
    fn listed_sockets_hang_on_their_holders_linked_and_close() {
        let tree = CausalTree::from_messages(&[
            listed(CLIENT, NetKind::Connect, C, S, 1),
            listed(SERVER, NetKind::Accept, S, C, 2),
            close(30, CLIENT, 1),
        ]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.conn(out).peer, Some(inb));
        for id in [out, inb] {
            assert!(tree.conn(id).seeded);
            assert_eq!(tree.conn(id).start, 5);
        }
        assert_eq!(tree.conn(out).end, Some(30));
        assert_eq!(tree.conn(inb).state, ConnState::Open);
    }

    #[test]
    fn the_probes_record_of_a_listed_socket_replaces_the_listing() {
        // Listed on the server before its first use; the probe then saw a
        // forked child use it first.
        const CHILD: ProcKey = ProcKey::new(201, 3_000);
        let tree = CausalTree::from_messages(&[
            listed(SERVER, NetKind::Accept, S, C, 2),
            net(20, CHILD, "worker", NetKind::Accept, S, C, 2),
            close(30, CHILD, 2),
        ]);
        let server = tree.find(SERVER).unwrap();
        let child = tree.find(CHILD).unwrap();
        assert!(tree.node(server).conns.is_empty());
        let [id] = tree.node(child).conns[..] else {
            panic!("one connection on the child");
        };
        let c = tree.conn(id);
        assert!(!c.seeded);
        assert_eq!((c.start, c.end), (20, Some(30)));
        assert_eq!(tree.conns().len(), 1, "not a second connection");
    }

    #[test]
    fn connect_then_accept_links_the_two_processes() {
        let tree = CausalTree::from_messages(&[connect(10, 1), accept(20, 2)]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.conn(out).peer, Some(inb));
        assert_eq!(tree.conn(inb).peer, Some(out));
        assert_eq!(tree.peer_process(out), tree.find(SERVER));
        assert_eq!(tree.peer_process(inb), tree.find(CLIENT));
    }

    #[test]
    fn accept_before_connect_still_links() {
        let tree = CausalTree::from_messages(&[accept(10, 2), connect(20, 1)]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.peer_process(out), tree.find(SERVER));
        assert_eq!(tree.peer_process(inb), tree.find(CLIENT));
    }

    #[test]
    fn client_closing_before_the_accept_still_links() {
        let tree = CausalTree::from_messages(&[
            connect(10, 1),
            close(15, CLIENT, 1),
            accept(20, 2),
            close(25, SERVER, 2),
        ]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.conn(out).peer, Some(inb));
        assert_eq!(tree.conn(out).end, Some(15));
        assert_eq!(tree.conn(out).state, ConnState::Closed);
        assert_eq!(tree.conn(out).bytes_sent, 5);
        assert_eq!(tree.conn(out).bytes_received, 7);
        assert_eq!(tree.conn(inb).end, Some(25));
    }

    #[test]
    fn a_close_long_before_the_accept_does_not_link() {
        let late = 15 + LINK_WINDOW_NS;
        let tree =
            CausalTree::from_messages(&[connect(10, 1), close(15, CLIENT, 1), accept(late, 2)]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.conn(out).peer, None);
        assert_eq!(tree.conn(inb).peer, None);
        assert!(tree.net.closed_unlinked.is_empty());
    }

    #[test]
    fn same_direction_mirrors_do_not_link() {
        // Two connects whose tuples mirror each other (a simultaneous open
        // seen from both sides) are not client and server.
        let tree = CausalTree::from_messages(&[
            connect(10, 1),
            net(20, SERVER, "x", NetKind::Connect, S, C, 2),
        ]);
        assert!(tree.conns().iter().all(|c| c.peer.is_none()));
    }

    #[test]
    fn a_reused_tuple_links_the_newest_pair() {
        let tree = CausalTree::from_messages(&[
            connect(10, 1),
            accept(11, 2),
            close(12, CLIENT, 1),
            close(13, SERVER, 2),
            connect(20, 3),
            accept(21, 4),
        ]);
        let c = tree.conns();
        assert_eq!(c[0].peer, Some(ConnId(1)));
        assert_eq!(c[2].peer, Some(ConnId(3)));
        assert_eq!(c[3].peer, Some(ConnId(2)));
    }

    #[test]
    fn a_close_does_not_overwrite_what_the_process_became() {
        let tree = CausalTree::from_messages(&[
            connect(10, 1),
            net(20, CLIENT, "new-comm", NetKind::Udp, C, "127.0.0.1:53", 0),
            close(30, CLIENT, 1),
        ]);
        let node = tree.node(tree.find(CLIENT).unwrap());
        assert_eq!(node.comm, "new-comm");
        assert_eq!(tree.conns()[0].end, Some(30));
    }

    #[test]
    fn a_close_can_introduce_a_process() {
        // The close may be the first record of its owner a journal holds.
        let tree = CausalTree::from_messages(&[close(30, CLIENT, 1)]);
        let node = tree.node(tree.find(CLIENT).unwrap());
        assert_eq!(node.comm, "old-comm");
        assert!(node.conns.is_empty());
    }

    #[test]
    fn listen_and_close() {
        let tree = CausalTree::from_messages(&[
            net(10, SERVER, "nginx", NetKind::Listen, S, "0.0.0.0:0", 9),
            net(20, SERVER, "nginx", NetKind::Close, S, "0.0.0.0:0", 9),
        ]);
        let c = &tree.conns()[0];
        assert_eq!(c.direction, Direction::Listen);
        assert_eq!(c.state, ConnState::Closed);
        assert_eq!(c.end, Some(20));
        assert!(tree.net.unlinked.is_empty());
        assert!(tree.net.closed_unlinked.is_empty());
    }

    #[test]
    fn udp_ends_with_its_process() {
        let mut msgs = vec![net(10, CLIENT, "dig", NetKind::Udp, C, "127.0.0.53:53", 0)];
        msgs.push(Message::Event(Event {
            ktime: 20,
            proc: CLIENT,
            tid: CLIENT.pid,
            parent: ProcKey::new(1, 0),
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: "dig".into(),
            kind: EventKind::Exit(crate::event::ExitStatus::Code(0)),
        }));
        let tree = CausalTree::from_messages(&msgs);
        let c = &tree.conns()[0];
        assert_eq!(c.protocol, Protocol::Udp);
        assert_eq!(c.remote, addr("127.0.0.53:53"));
        assert_eq!(c.end, Some(20));
        assert_eq!(c.state, ConnState::Closed);
    }

    #[test]
    fn a_reused_cookie_ends_the_old_connection() {
        // connect() again on a socket whose first connect failed unseen.
        let tree = CausalTree::from_messages(&[connect(10, 1), connect(20, 1)]);
        assert_eq!(tree.conns()[0].end, Some(20));
        assert_eq!(tree.conns()[1].end, None);
    }
}
