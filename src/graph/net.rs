//! Connections on the causal tree: each belongs to the process that made or
//! accepted it; when both ends are on this host, the client's and the
//! server's connections are linked, joining the two processes.

use std::collections::HashMap;
use std::net::SocketAddr;

use super::{CausalTree, NodeId};
use crate::event::{Direction, NetInfo, NetKind, Protocol};

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
}

type Tuple = (Protocol, SocketAddr, SocketAddr);

#[derive(Default, Debug)]
pub(super) struct NetTable {
    conns: Vec<Connection>,
    /// Open connections by socket cookie, to close them.
    by_cookie: HashMap<u64, ConnId>,
    /// Open, not yet linked TCP connections by (local, remote), to link
    /// the two ends of a local connection.
    unlinked: HashMap<Tuple, ConnId>,
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
        match info.kind {
            NetKind::Close => {
                if let Some(id) = net.by_cookie.remove(&info.cookie) {
                    let c = &mut net.conns[id.index()];
                    c.end = Some(ktime);
                    c.state = ConnState::Closed;
                    c.bytes_sent = c.bytes_sent.max(info.bytes_sent);
                    c.bytes_received = c.bytes_received.max(info.bytes_received);
                    net.unlinked.remove(&(c.protocol, c.local, c.remote));
                }
            }
            NetKind::Connect | NetKind::Accept | NetKind::Listen | NetKind::Udp => {
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
                };
                if info.protocol == Protocol::Tcp && info.direction != Direction::Listen {
                    let mirror = (info.protocol, info.remote, info.local);
                    if let Some(peer) = net.unlinked.remove(&mirror) {
                        conn.peer = Some(peer);
                        net.conns[peer.index()].peer = Some(id);
                    } else {
                        net.unlinked
                            .insert((info.protocol, info.local, info.remote), id);
                    }
                }
                if info.cookie != 0 {
                    if let Some(old) = net.by_cookie.insert(info.cookie, id) {
                        // A UDP socket reported again, or a cookie reused
                        // after a missed close: the old record is over.
                        let c = &mut net.conns[old.index()];
                        if c.end.is_none() {
                            c.end = Some(ktime);
                            c.state = ConnState::Closed;
                        }
                    }
                }
                net.conns.push(conn);
                self.nodes[owner.index()].conns.push(id);
            }
        }
    }

    /// UDP sockets have no close the probe sees: they end with their process.
    pub(super) fn net_process_exited(&mut self, owner: NodeId, ktime: u64) {
        let ids = self.nodes[owner.index()].conns.clone();
        for id in ids {
            let c = &mut self.net.conns[id.index()];
            if c.protocol == Protocol::Udp && c.end.is_none() {
                c.end = Some(ktime);
                c.state = ConnState::Closed;
                self.net.by_cookie.remove(&c.cookie);
            }
        }
    }
}
