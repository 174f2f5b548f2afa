//! Connections on the causal tree: each belongs to the process that made or
//! accepted it; when both ends are on this host, the client's and the
//! server's connections are linked, joining the two processes.

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::{CausalTree, NodeId};
use crate::event::{Direction, Ending, EventKind, Failure, NetInfo, NetKind, Protocol, SeedSocket};
use crate::hash::KeyedMap;

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
    /// A connect in flight: its `connect()` was called and it is neither
    /// established nor failed yet.
    Connecting,
    Open,
    Listening,
    Closed,
    /// Closed unseen: the kernel stopped listing it (see
    /// [`NetKind::Gone`]); its end is when that was noticed.
    Gone,
    /// Open, with its peer's end closed and its own not (`CLOSE_WAIT`):
    /// see [`Connection::peer_closed`].
    CloseWait,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Open => "open",
            ConnState::Listening => "listening",
            ConnState::Closed => "closed",
            ConnState::Gone => "gone",
            ConnState::CloseWait => "close-wait",
        }
    }
}

/// The most connections a tree holds. A busy host opens thousands a
/// second (the churn benchmark, 50,000), and each costs the tree about 130
/// bytes, more while open: kept without end, they would take gigabytes of
/// the host's memory within the hour (this limit: about 61 MiB). Once a
/// tree holds this many, it forgets closed connections until a quarter of
/// the room is free again: first the oldest of processes holding more
/// than [`KEEP_CLOSED_PER_PROCESS`] closed ones (down to that many), then
/// the oldest anywhere. Open connections and listeners are never
/// forgotten, and each process counts what it forgot
/// ([`ConnCounts::forgotten`]). `causeway record` keeps everything in its
/// journal.
pub const MAX_CONNS: usize = 500_000;

/// How many of its newest closed connections a process keeps when some
/// must be forgotten.
pub const KEEP_CLOSED_PER_PROCESS: usize = 1_000;

/// A process's connections, counted as they come: the forgotten ones too.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct ConnCounts {
    pub outbound: u64,
    pub inbound: u64,
    pub listen: u64,
    /// Not closed yet (open or listening).
    pub open: u64,
    /// Ended with a failure (refused, timed out, reset...).
    pub failed: u64,
    /// Connects in flight for a while (see [`ConnState::Connecting`]):
    /// counted in `outbound` and `open` too.
    pub connecting: u64,
    /// Open with their peer's end closed (see [`ConnState::CloseWait`]):
    /// counted in `open` too.
    pub close_wait: u64,
    /// Closed, and forgotten to bound the tree's memory: counted above,
    /// no longer in [`super::Node::conns`].
    pub forgotten: u64,
}

impl ConnCounts {
    pub fn total(&self) -> u64 {
        self.outbound + self.inbound + self.listen
    }

    fn count(&mut self, direction: Direction, by: i64) {
        let n = match direction {
            Direction::Outbound => &mut self.outbound,
            Direction::Inbound => &mut self.inbound,
            Direction::Listen => &mut self.listen,
        };
        *n = n.saturating_add_signed(by);
        self.open = self.open.saturating_add_signed(by);
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Connection {
    pub owner: NodeId,
    pub protocol: Protocol,
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// When it opened: for a connect, when `connect()` was called (when
    /// known; else when it was established, or failed).
    pub start: u64,
    pub end: Option<u64>,
    pub state: ConnState,
    /// The other end's connection, when it is a process on this host.
    pub peer: Option<ConnId>,
    pub cookie: u64,
    /// Its network namespace (see [`NetInfo::netns`]).
    pub netns: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// How it ended, from its close (see [`Ending::failure`]).
    pub ending: Ending,
    /// Listed from the kernel, not seen opened (open before causeway
    /// started, or found unused while it ran): `start` is when it was
    /// listed, and it opened before.
    pub seeded: bool,
    /// Accepted, and found unused while causeway ran (in its listener's
    /// queue, or never read), no process seen using it yet.
    pub unused: bool,
    /// When it was found with its peer's end closed and its own open
    /// (`CLOSE_WAIT`: listed so, by causeway's sweep every 10 s or more,
    /// or at start): the peer closed before then.
    pub peer_closed: Option<u64>,
}

impl Connection {
    /// How it failed, once it ended.
    pub fn failure(&self) -> Option<Failure> {
        self.ending.failure()
    }
}

/// How long after its close a connection can still be linked to its other
/// end (boot-time ns). A client may connect, send and close before the
/// server gets round to accepting; the accept then comes after the close.
pub const LINK_WINDOW_NS: u64 = 60_000_000_000;

/// One end of a TCP connection, as its other end would see it mirrored:
/// (direction, local, remote, scope). The scope is the network namespace
/// when an address is a loopback one (each namespace has its own loopback:
/// containers on one host often repeat the same loopback addresses and
/// ports at once), else 0: other addresses are the host's, and the two
/// ends of a connection between two namespaces (two containers) link.
type End = (Direction, SocketAddr, SocketAddr, u32);

fn scope(c: &Connection) -> u32 {
    if c.local.ip().is_loopback() || c.remote.ip().is_loopback() {
        c.netns
    } else {
        0
    }
}

#[derive(Debug)]
pub(super) struct NetTable {
    conns: Vec<Connection>,
    /// At most this many connections are held (see [`MAX_CONNS`]).
    limit: usize,
    /// How many connections make the next check for what to forget: the
    /// limit, or more when the last check found too little it could
    /// forget (connections still open).
    next_check: usize,
    /// Counts the forgetting: each renumbers the connections.
    generation: u64,
    /// Open connections by socket cookie, to close them. Keyed hashing: a
    /// replayed journal may be hostile and choose colliding cookies.
    by_cookie: KeyedMap<u64, ConnId>,
    /// TCP connections not yet linked to their other end, open or closed
    /// within [`LINK_WINDOW_NS`], to link the two ends of a local
    /// connection whatever order their records come in.
    unlinked: KeyedMap<End, ConnId>,
    /// Closed, unlinked connections in close order, to forget them from
    /// `unlinked` once the window has passed.
    closed_unlinked: VecDeque<(u64, ConnId)>,
    /// UDP servers (listening sockets) by port and network namespace, to
    /// link the clients that send to them; ended ones are dropped as met.
    udp_servers: KeyedMap<(u16, u32), Vec<ConnId>>,
    /// By the port and namespace it sent to, the newest UDP client not
    /// linked to a server: a server is reported as it first receives, so
    /// after the client that sent to it.
    udp_clients: KeyedMap<(u16, u32), ConnId>,
}

impl Default for NetTable {
    fn default() -> Self {
        NetTable {
            conns: Vec::new(),
            limit: MAX_CONNS,
            next_check: MAX_CONNS,
            generation: 0,
            by_cookie: KeyedMap::default(),
            unlinked: KeyedMap::default(),
            closed_unlinked: VecDeque::new(),
            udp_servers: KeyedMap::default(),
            udp_clients: KeyedMap::default(),
        }
    }
}

/// Whether a UDP client's datagrams to `to` reach a server bound to
/// `bound` (both on one port, in one namespace): the same address, or a
/// server bound to every address (`0.0.0.0`, or `::`, which takes IPv4
/// too unless the socket says otherwise).
fn reaches(to: SocketAddr, bound: SocketAddr) -> bool {
    bound.ip().is_unspecified() || bound.ip() == to.ip()
}

fn end_of(c: &Connection) -> End {
    (c.direction, c.local, c.remote, scope(c))
}

/// The end that would pair with `c`: the other direction, addresses swapped.
fn mirror_of(c: &Connection) -> Option<End> {
    let other = match c.direction {
        Direction::Outbound => Direction::Inbound,
        Direction::Inbound => Direction::Outbound,
        Direction::Listen => return None,
    };
    (c.protocol == Protocol::Tcp).then_some((other, c.remote, c.local, scope(c)))
}

impl NetTable {
    pub(super) fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(1);
        self.next_check = self.limit;
    }

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

    /// Links a UDP client `conn` (to be `id`) to the server on this host
    /// it sends to, or a UDP server to the newest client that sent to it
    /// before it was reported (its first receive), since its process
    /// `started`: the client's peer is the server (one way: a server has
    /// many clients, and no other end of its own). A client that sent
    /// before the server's process began sent to nothing.
    fn link_udp(&mut self, conn: &mut Connection, id: ConnId, ktime: u64, started: u64) {
        let conns = &self.conns;
        match conn.direction {
            Direction::Outbound => {
                let key = (conn.remote.port(), conn.netns);
                conn.peer = self.udp_servers.get_mut(&key).and_then(|servers| {
                    servers.retain(|s| conns[s.index()].end.is_none());
                    servers
                        .iter()
                        .rev()
                        .find(|s| reaches(conn.remote, conns[s.index()].local))
                        .copied()
                });
                if conn.peer.is_none() {
                    self.udp_clients.insert(key, id);
                }
            }
            Direction::Listen => {
                let key = (conn.local.port(), conn.netns);
                if let Some(client) = self.udp_clients.get(&key).copied() {
                    let c = &mut self.conns[client.index()];
                    if c.peer.is_none()
                        && reaches(c.remote, conn.local)
                        && c.start >= started
                        && ktime.saturating_sub(c.start) < LINK_WINDOW_NS
                    {
                        c.peer = Some(id);
                        self.udp_clients.remove(&key);
                    }
                }
                self.udp_servers.entry(key).or_default().push(id);
            }
            Direction::Inbound => {}
        }
    }

    /// Closes `id`; its owner when it was open until now.
    fn close(&mut self, id: ConnId, ktime: u64, info: Option<&NetInfo>) -> Option<NodeId> {
        let c = &mut self.conns[id.index()];
        if c.end.is_some() {
            return None;
        }
        c.end = Some(ktime);
        c.state = match info {
            Some(i) if i.kind == NetKind::Gone => ConnState::Gone,
            _ => ConnState::Closed,
        };
        if let Some(info) = info {
            c.bytes_sent = c.bytes_sent.max(info.bytes_sent);
            c.bytes_received = c.bytes_received.max(info.bytes_received);
            c.ending = info.ending;
        }
        if c.peer.is_none() && mirror_of(c).is_some() {
            self.closed_unlinked.push_back((ktime, id));
        }
        Some(c.owner)
    }
}

impl CausalTree {
    pub fn conn(&self, id: ConnId) -> &Connection {
        &self.net.conns[id.index()]
    }

    pub fn conns(&self) -> &[Connection] {
        &self.net.conns
    }

    /// Changes whenever connections were forgotten, which renumbers them:
    /// a [`ConnId`] held across a change may name another connection.
    pub fn conn_generation(&self) -> u64 {
        self.net.generation
    }

    /// Each connection's owner, in connection order.
    pub(super) fn net_owners(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.net.conns.iter().map(|c| c.owner)
    }

    /// Renumbers the owner of every connection.
    pub(super) fn remap_owners(&mut self, mut f: impl FnMut(&mut NodeId)) {
        for c in &mut self.net.conns {
            f(&mut c.owner);
        }
    }

    /// Closes `id` and counts it closed on its owner.
    fn close_conn(&mut self, id: ConnId, ktime: u64, info: Option<&NetInfo>) {
        let c = &self.net.conns[id.index()];
        let connecting = c.state == ConnState::Connecting;
        let close_wait = c.peer_closed.is_some();
        if let Some(owner) = self.net.close(id, ktime, info) {
            let counts = &mut self.nodes[owner.index()].conn_counts;
            counts.open = counts.open.saturating_sub(1);
            if connecting {
                counts.connecting = counts.connecting.saturating_sub(1);
            }
            if close_wait {
                counts.close_wait = counts.close_wait.saturating_sub(1);
            }
            if self.net.conns[id.index()].failure().is_some() {
                counts.failed += 1;
                self.stats.failed_conns += 1;
            }
        }
    }

    /// The process at the other end of a local connection.
    pub fn peer_process(&self, id: ConnId) -> Option<NodeId> {
        self.conn(id).peer.map(|p| self.conn(p).owner)
    }

    pub(super) fn net_event(&mut self, owner: NodeId, ktime: u64, info: &NetInfo) {
        self.net_record(owner, ktime, info, false);
    }

    /// A record of the probe, or (`seeded`) a socket listed at the start.
    fn net_record(&mut self, owner: NodeId, ktime: u64, info: &NetInfo, seeded: bool) {
        let started = self.nodes[owner.index()].key.start;
        let net = &mut self.net;
        net.expire(ktime);
        if info.kind.is_end() {
            if let Some(id) = net.by_cookie.remove(&info.cookie) {
                self.close_conn(id, ktime, Some(info));
            }
            return;
        }
        if let Some(&listed) = net.by_cookie.get(&info.cookie) {
            let c = &net.conns[listed.index()];
            if (c.seeded || c.state == ConnState::Connecting) && c.end.is_none() && info.cookie != 0
            {
                // Listed at the start while it was being opened, or before
                // its first use, or found connecting: the probe's record
                // says it better.
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
        // A connect's record comes when it is established or fails; it
        // began at its connect() call, when that is known.
        let start = if info.kind == NetKind::Connect && info.opened != 0 {
            info.opened.min(ktime)
        } else {
            ktime
        };
        let mut conn = Connection {
            owner,
            protocol: info.protocol,
            direction: info.direction,
            local: info.local,
            remote: info.remote,
            start,
            end: None,
            state,
            peer: None,
            cookie: info.cookie,
            netns: info.netns,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            seeded,
            unused: false,
            peer_closed: None,
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
        if conn.protocol == Protocol::Udp {
            net.link_udp(&mut conn, id, ktime, started);
        }
        let reused = if info.cookie != 0 {
            net.by_cookie.insert(info.cookie, id)
        } else {
            None
        };
        net.conns.push(conn);
        self.list_conn(owner, id);
        self.nodes[owner.index()]
            .conn_counts
            .count(info.direction, 1);
        if let Some(old) = reused {
            // A cookie reused after a missed close (a socket connected
            // again after a failed connect): the old record is over.
            self.close_conn(old, ktime, None);
        }
        if self.net.conns.len() >= self.net.next_check {
            self.forget_closed();
        }
    }

    /// Adds `id` to the connections of `owner`, which are in start order: a
    /// connect's record comes when it is established or fails, and it
    /// starts when its connect() was called, so one that took long comes
    /// after others that started after it.
    fn list_conn(&mut self, owner: NodeId, id: ConnId) {
        let conns = &self.net.conns;
        let start = conns[id.index()].start;
        let list = &mut self.nodes[owner.index()].conns;
        let later = list
            .iter()
            .rev()
            .take_while(|c| conns[c.index()].start > start)
            .count();
        list.insert(list.len() - later, id);
    }

    /// Forgets closed connections to bound memory (see [`MAX_CONNS`]), and
    /// renumbers the rest.
    fn forget_closed(&mut self) {
        let conns = &self.net.conns;
        let target = self.net.limit - self.net.limit / 4;
        let mut forget = vec![false; conns.len()];
        let mut left = conns.len();
        // The oldest closed connections of processes with more than a few
        // (a process's list is in start order).
        for node in &self.nodes {
            let closed = |c: &&ConnId| conns[c.index()].end.is_some();
            let mut over = node
                .conns
                .iter()
                .filter(closed)
                .count()
                .saturating_sub(KEEP_CLOSED_PER_PROCESS);
            for c in node.conns.iter().filter(closed) {
                if over == 0 || left <= target {
                    break;
                }
                forget[c.index()] = true;
                over -= 1;
                left -= 1;
            }
        }
        // Then the oldest closed connections anywhere.
        for (c, f) in conns.iter().zip(forget.iter_mut()) {
            if left <= target {
                break;
            }
            if c.end.is_some() && !*f {
                *f = true;
                left -= 1;
            }
        }
        let before = conns.len();
        // When too little could go (most are open), look again only once
        // a quarter of the room has been taken again.
        self.net.next_check = self.net.limit.max(left + self.net.limit / 4);
        if left < before {
            self.renumber(&forget);
        }
    }

    /// Drops the connections marked in `forget` and renumbers the rest,
    /// wherever the tree holds their ids.
    pub(super) fn renumber(&mut self, forget: &[bool]) {
        let net = &mut self.net;
        for (c, &f) in net.conns.iter().zip(forget) {
            if f {
                self.nodes[c.owner.index()].conn_counts.forgotten += 1;
            }
        }
        let new_id: Vec<Option<ConnId>> = super::drop_marked(&mut net.conns, forget)
            .into_iter()
            .map(|n| n.map(ConnId))
            .collect();
        let renumber = |id: &mut ConnId| match new_id[id.index()] {
            Some(new) => {
                *id = new;
                true
            }
            None => false,
        };
        for c in &mut net.conns {
            if let Some(p) = &mut c.peer {
                if !renumber(p) {
                    c.peer = None;
                }
            }
        }
        for node in &mut self.nodes {
            node.conns.retain_mut(renumber);
        }
        net.by_cookie.retain(|_, id| renumber(id));
        net.unlinked.retain(|_, id| renumber(id));
        net.closed_unlinked.retain_mut(|(_, id)| renumber(id));
        net.udp_clients.retain(|_, id| renumber(id));
        net.udp_servers.retain(|_, ids| {
            ids.retain_mut(renumber);
            !ids.is_empty()
        });
        net.generation += 1;
    }

    /// A socket listed at the start, on its holder `owner`.
    pub(super) fn net_socket(&mut self, owner: NodeId, s: &SeedSocket) {
        // Listed again while open (the next file of a rotated journal lists
        // what is still open): what was already known of it stands.
        let open = self.net.by_cookie.get(&s.cookie).copied();
        if let Some(id) =
            open.filter(|&id| s.cookie != 0 && self.net.conns[id.index()].end.is_none())
        {
            // Found with its peer closed while it ran, held by `owner`: the
            // process still holding it, which may not be the one that used
            // it first (a forking server's parent that kept its copy, a
            // child that inherited it).
            if s.peer_closed {
                let c = &self.net.conns[id.index()];
                let (was, direction) = (c.owner, c.direction);
                if was != owner {
                    self.move_counts(id, owner, direction);
                    self.net.conns[id.index()].owner = owner;
                    self.nodes[was.index()].conns.retain(|&c| c != id);
                    self.list_conn(owner, id);
                }
                self.peer_closed(id, s.seen);
            }
            return;
        }
        if let EventKind::Net(info) = s.as_event().kind {
            // A connect seen called (found in flight, or listed again in a
            // rotated journal's next file): it is known when it opened,
            // and its start is no bound.
            self.net_record(owner, s.seen, &info, s.opened == 0);
            if s.unused || s.connecting {
                if let Some(&id) = self.net.by_cookie.get(&s.cookie) {
                    let c = &mut self.net.conns[id.index()];
                    c.unused = s.unused;
                    if s.connecting && c.end.is_none() {
                        c.state = ConnState::Connecting;
                        self.nodes[owner.index()].conn_counts.connecting += 1;
                    }
                }
            }
            if s.peer_closed {
                if let Some(&id) = self.net.by_cookie.get(&s.cookie) {
                    self.peer_closed(id, s.seen);
                }
            }
        }
    }

    /// Open connection `id` found with its peer's end closed at `t`
    /// (see [`Connection::peer_closed`]); a listener has no peer, and
    /// what was found first stands.
    fn peer_closed(&mut self, id: ConnId, t: u64) {
        let c = &mut self.net.conns[id.index()];
        if c.end.is_some() || c.direction == Direction::Listen || c.peer_closed.is_some() {
            return;
        }
        c.peer_closed = Some(t);
        if c.state == ConnState::Open {
            c.state = ConnState::CloseWait;
        }
        self.nodes[c.owner.index()].conn_counts.close_wait += 1;
    }

    /// Counts open connection `id` on `owner` as `direction`, and no
    /// longer on its owner as its direction: connecting and close-wait too.
    fn move_counts(&mut self, id: ConnId, owner: NodeId, direction: Direction) {
        let c = &self.net.conns[id.index()];
        let connecting = u64::from(c.state == ConnState::Connecting);
        let close_wait = u64::from(c.peer_closed.is_some());
        let counts = &mut self.nodes[c.owner.index()].conn_counts;
        counts.count(c.direction, -1);
        counts.connecting = counts.connecting.saturating_sub(connecting);
        counts.close_wait = counts.close_wait.saturating_sub(close_wait);
        let counts = &mut self.nodes[owner.index()].conn_counts;
        counts.count(direction, 1);
        counts.connecting += connecting;
        counts.close_wait += close_wait;
    }

    /// Makes the listed connection `id` the one the probe reported now.
    fn reopen_listed(&mut self, id: ConnId, owner: NodeId, ktime: u64, info: &NetInfo) {
        let c = &self.net.conns[id.index()];
        let (was, started) = (c.owner, c.start);
        let connecting = c.state == ConnState::Connecting;
        self.move_counts(id, owner, info.direction);
        // Reported: no longer in flight.
        if connecting {
            let counts = &mut self.nodes[owner.index()].conn_counts;
            counts.connecting = counts.connecting.saturating_sub(1);
        }
        let c = &mut self.net.conns[id.index()];
        c.owner = owner;
        c.unused = false;
        if connecting {
            c.state = ConnState::Open;
        }
        // An accept is reported at the socket's first use, which can be
        // long after it was listed waiting (a hung worker): it was there
        // by the listing, and keeps that bound. A connect says when its
        // connect() was called, when the probe saw it; one listed
        // connecting at the start was called before the listing, which
        // stays its bound; another (a journal written before causeway
        // recorded connecting) is as good as its establishment.
        if info.kind == NetKind::Connect && info.opened != 0 {
            c.start = info.opened.min(ktime);
            c.seeded = false;
        } else if !((info.kind == NetKind::Accept || connecting) && c.start <= ktime) {
            c.start = ktime;
            c.seeded = false;
        }
        c.direction = info.direction;
        c.local = info.local;
        c.remote = info.remote;
        c.netns = info.netns;
        if was != owner || c.start != started {
            self.nodes[was.index()].conns.retain(|&c| c != id);
            self.list_conn(owner, id);
        }
    }

    /// Ends every TCP connection still open whose socket the recording
    /// after a gap did not list (`listed`, by cookie) as `gone` at `to`,
    /// when that recording began; returns how many. (A connection without
    /// a cookie, of a journal older than cookies, cannot be told listed
    /// or not, and stays as it was.)
    pub(super) fn net_gap(&mut self, to: u64, listed: &std::collections::HashSet<u64>) -> u64 {
        let ended: Vec<ConnId> = self
            .net
            .conns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.end.is_none()
                    && c.protocol == Protocol::Tcp
                    && c.cookie != 0
                    && !listed.contains(&c.cookie)
            })
            .map(|(i, _)| ConnId(i as u32))
            .collect();
        for &id in &ended {
            self.close_conn(id, to, None);
            let c = &mut self.net.conns[id.index()];
            c.state = ConnState::Gone;
            let cookie = c.cookie;
            if self.net.by_cookie.get(&cookie) == Some(&id) {
                self.net.by_cookie.remove(&cookie);
            }
        }
        ended.len() as u64
    }

    /// UDP sockets have no close the probe sees: they end with their process.
    pub(super) fn net_process_exited(&mut self, owner: NodeId, ktime: u64) {
        let ids = self.nodes[owner.index()].conns.clone();
        for id in ids {
            let c = &self.net.conns[id.index()];
            if c.protocol == Protocol::Udp && c.end.is_none() {
                let cookie = c.cookie;
                self.close_conn(id, ktime, None);
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
            NetKind::Connect | NetKind::Close | NetKind::Gone => {
                (Protocol::Tcp, Direction::Outbound)
            }
            NetKind::Accept => (Protocol::Tcp, Direction::Inbound),
            NetKind::Listen => (Protocol::Tcp, Direction::Listen),
            NetKind::Udp => (Protocol::Udp, Direction::Outbound),
        };
        event(
            ktime,
            proc,
            comm,
            EventKind::Net(NetInfo {
                kind,
                protocol,
                direction,
                local: addr(local),
                remote: addr(remote),
                cookie,
                netns: 1,
                bytes_sent: if kind == NetKind::Close { 5 } else { 0 },
                bytes_received: if kind == NetKind::Close { 7 } else { 0 },
                ending: Default::default(),
                opened: 0,
            }),
        )
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
        // Reported at its first use (20): it was there when listed (5),
        // which stays its start, a bound.
        assert!(c.seeded);
        assert_eq!((c.start, c.end), (5, Some(30)));
        assert_eq!(tree.conns().len(), 1, "not a second connection");
        // A connect listed while it was being made: the probe's record,
        // when it was established, says it better.
        let tree = CausalTree::from_messages(&[
            listed(SERVER, NetKind::Connect, C, S, 3),
            net(20, SERVER, "nginx", NetKind::Connect, C, S, 3),
        ]);
        let c = &tree.conns()[0];
        assert!(!c.seeded);
        assert_eq!(c.start, 20);
        // Listed as found unused while causeway ran: so, until a process
        // is seen using it.
        let unused = match listed(SERVER, NetKind::Accept, S, C, 2) {
            Message::Socket(s) => Message::Socket(SeedSocket { unused: true, ..s }),
            other => other,
        };
        let found = |until: usize| {
            let msgs = [
                net(4, SERVER, "nginx", NetKind::Listen, S, "0.0.0.0:0", 1),
                unused.clone(),
                net(20, CHILD, "worker", NetKind::Accept, S, C, 2),
            ];
            let tree = CausalTree::from_messages(&msgs[..until]);
            tree.conns()
                .iter()
                .find(|c| c.cookie == 2)
                .map(|c| c.unused)
        };
        assert_eq!(found(2), Some(true));
        assert_eq!(found(3), Some(false), "used: no longer");
        let at_start = CausalTree::from_messages(&[listed(SERVER, NetKind::Accept, S, C, 2)]);
        assert!(!at_start.conns()[0].unused, "listed at start: not known");
    }

    /// `msg`, a connect's record, saying its connect() was called at `at`.
    fn called(msg: Message, at: u64) -> Message {
        let Message::Event(mut ev) = msg else {
            unreachable!("net() makes events");
        };
        if let EventKind::Net(n) = &mut ev.kind {
            n.opened = at;
        }
        Message::Event(ev)
    }

    /// A connect of CLIENT still in flight: listed at start (`opened` 0),
    /// or found in flight at `seen`, called at `opened`.
    fn in_flight(seen: u64, opened: u64, cookie: u64) -> Message {
        let Message::Socket(s) = listed(CLIENT, NetKind::Connect, C, S, cookie) else {
            unreachable!("listed() makes sockets");
        };
        Message::Socket(SeedSocket {
            seen,
            connecting: true,
            opened,
            ..s
        })
    }

    #[test]
    fn a_connect_starts_at_its_connect_call_in_start_order() {
        // Called at 10, established at 50; another called at 20 and
        // established at 30 (its record came first).
        let other = net(30, CLIENT, "curl", NetKind::Connect, C, "127.0.0.1:8081", 2);
        let tree = CausalTree::from_messages(&[
            called(other, 20),
            called(connect(50, 1), 10),
            close(60, CLIENT, 1),
        ]);
        let client = tree.find(CLIENT).unwrap();
        let starts: Vec<(u64, u64)> = tree
            .node(client)
            .conns
            .iter()
            .map(|&c| (tree.conn(c).cookie, tree.conn(c).start))
            .collect();
        assert_eq!(starts, [(1, 10), (2, 20)], "in start order");
        let c = tree.conns().iter().find(|c| c.cookie == 1).unwrap();
        assert_eq!((c.start, c.end), (10, Some(60)));
        assert!(!c.seeded);
        // A journal written before connects carried their call: from the
        // record, as before.
        let tree = CausalTree::from_messages(&[connect(50, 1)]);
        assert_eq!(tree.conns()[0].start, 50);
    }

    #[test]
    fn a_connect_found_in_flight_is_connecting_until_its_record_says_how_it_ended() {
        let msgs = [
            in_flight(3_000, 1_000, 1),
            called(connect(9_000, 1), 1_000),
            Message::Event({
                let Message::Event(mut ev) = close(9_000, CLIENT, 1) else {
                    unreachable!()
                };
                if let EventKind::Net(n) = &mut ev.kind {
                    // Timed out while connecting.
                    n.ending = Ending {
                        error: 110,
                        from: crate::event::TCP_SYN_SENT,
                    };
                }
                ev
            }),
        ];
        let tree = CausalTree::from_messages(&msgs[..1]);
        let c = &tree.conns()[0];
        assert_eq!(
            (c.state, c.start, c.seeded),
            (ConnState::Connecting, 1_000, false)
        );
        let counts = tree.node(c.owner).conn_counts;
        assert_eq!((counts.outbound, counts.open, counts.connecting), (1, 1, 1));
        // Its record: the same connection, open, from the same start.
        let tree = CausalTree::from_messages(&msgs[..2]);
        assert_eq!(tree.conns().len(), 1, "not a second connection");
        let c = &tree.conns()[0];
        assert_eq!((c.state, c.start), (ConnState::Open, 1_000));
        let counts = tree.node(c.owner).conn_counts;
        assert_eq!((counts.outbound, counts.open, counts.connecting), (1, 1, 0));
        // Then its close: timed out, 8 µs after its connect() call.
        let tree = CausalTree::from_messages(&msgs);
        let c = &tree.conns()[0];
        assert_eq!(
            (c.state, c.start, c.end),
            (ConnState::Closed, 1_000, Some(9_000))
        );
        assert_eq!(c.failure(), Some(Failure::TimedOut));
        let counts = tree.node(c.owner).conn_counts;
        assert_eq!((counts.open, counts.connecting, counts.failed), (0, 0, 1));
        // Closed with no record of the connect's end (lost): no longer
        // connecting.
        let tree =
            CausalTree::from_messages(&[in_flight(3_000, 1_000, 1), close(9_000, CLIENT, 1)]);
        let c = &tree.conns()[0];
        assert_eq!(c.state, ConnState::Closed);
        assert_eq!(tree.node(c.owner).conn_counts.connecting, 0);
    }

    #[test]
    fn a_connect_listed_connecting_at_start_keeps_its_bound_when_established() {
        // Listed at 5 in SYN_SENT: called before then, when is not known;
        // the probe reports it when established (at 20), naming no call.
        let tree = CausalTree::from_messages(&[in_flight(5, 0, 1), connect(20, 1)]);
        let c = &tree.conns()[0];
        assert_eq!(tree.conns().len(), 1);
        assert_eq!((c.state, c.start, c.seeded), (ConnState::Open, 5, true));
        let tree = CausalTree::from_messages(&[in_flight(5, 0, 1)]);
        assert_eq!(tree.conns()[0].state, ConnState::Connecting);
        assert!(tree.conns()[0].seeded);
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

    /// `msg` (from [`net`]) with its socket in network namespace `netns`.
    fn in_netns(mut msg: Message, netns: u32) -> Message {
        if let Message::Event(Event {
            kind: EventKind::Net(n),
            ..
        }) = &mut msg
        {
            n.netns = netns;
        }
        msg
    }

    #[test]
    fn loopback_ends_link_only_within_their_network_namespace() {
        // Two containers, each with a client and a server on the same
        // loopback addresses at once; both connects come first.
        let (a_client, a_server) = (CLIENT, SERVER);
        let (b_client, b_server) = (ProcKey::new(300, 3_000), ProcKey::new(400, 4_000));
        let tree = CausalTree::from_messages(&[
            in_netns(net(10, a_client, "curl", NetKind::Connect, C, S, 1), 7),
            in_netns(net(11, b_client, "curl", NetKind::Connect, C, S, 2), 8),
            in_netns(net(12, a_server, "nginx", NetKind::Accept, S, C, 3), 7),
            in_netns(net(13, b_server, "nginx", NetKind::Accept, S, C, 4), 8),
        ]);
        let first = |p| tree.node(tree.find(p).unwrap()).conns[0];
        assert_eq!(tree.conn(first(a_server)).peer, Some(first(a_client)));
        assert_eq!(tree.conn(first(b_server)).peer, Some(first(b_client)));
    }

    #[test]
    fn other_addresses_link_across_network_namespaces() {
        // Two containers on one host, over their own addresses.
        let (c, s) = ("10.1.0.5:40000", "10.1.0.7:8080");
        let tree = CausalTree::from_messages(&[
            in_netns(net(10, CLIENT, "curl", NetKind::Connect, c, s, 1), 7),
            in_netns(net(11, SERVER, "nginx", NetKind::Accept, s, c, 2), 8),
        ]);
        let (out, inb) = linked(&tree);
        assert_eq!(tree.conn(out).peer, Some(inb));
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
        msgs.push(exit(20, CLIENT));
        let tree = CausalTree::from_messages(&msgs);
        let c = &tree.conns()[0];
        assert_eq!(c.protocol, Protocol::Udp);
        assert_eq!(c.remote, addr("127.0.0.53:53"));
        assert_eq!(c.end, Some(20));
        assert_eq!(c.state, ConnState::Closed);
    }

    /// A UDP server's listening socket, as the probe reports it when it
    /// first receives.
    fn udp_server(ktime: u64, proc: ProcKey, local: &str, cookie: u64) -> Message {
        let mut m = net(
            ktime,
            proc,
            "resolved",
            NetKind::Listen,
            local,
            "0.0.0.0:0",
            cookie,
        );
        if let Message::Event(Event {
            kind: EventKind::Net(n),
            ..
        }) = &mut m
        {
            n.protocol = Protocol::Udp;
        }
        m
    }

    fn exit(ktime: u64, proc: ProcKey) -> Message {
        event(
            ktime,
            proc,
            "x",
            EventKind::Exit {
                status: crate::event::ExitStatus::Code(0),
                reaper: None,
            },
        )
    }

    /// An event of `proc` (a child of init, root, in no cgroup).
    fn event(ktime: u64, proc: ProcKey, comm: &str, kind: EventKind) -> Message {
        Message::Event(Event {
            ktime,
            proc,
            tid: proc.pid,
            parent: ProcKey::new(1, 0),
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: comm.into(),
            kind,
        })
    }

    #[test]
    fn a_udp_client_is_linked_to_the_server_on_this_host_it_sends_to() {
        let query = |t, cookie| net(t, CLIENT, "dig", NetKind::Udp, C, "127.0.0.53:53", cookie);
        let peer = |msgs: &[Message]| {
            let tree = CausalTree::from_messages(msgs);
            let client = tree
                .conns()
                .iter()
                .position(|c| c.direction == Direction::Outbound);
            client.and_then(|i| {
                tree.peer_process(ConnId(i as u32))
                    .map(|p| tree.node(p).key)
            })
        };
        // The server is reported as it first receives: after the query.
        let usual = [
            query(5_010, 1),
            udp_server(5_011, SERVER, "127.0.0.53:53", 2),
        ];
        assert_eq!(peer(&usual), Some(SERVER));
        // Or known before it (it received earlier), bound to every address.
        let known = [udp_server(5_005, SERVER, "0.0.0.0:53", 2), query(5_010, 1)];
        assert_eq!(peer(&known), Some(SERVER));
        // Not: another address, another port, another namespace, a server
        // that ended, a server reported long after, a client that sent
        // before the server's process began (to nothing: its datagram was
        // dropped).
        for msgs in [
            vec![
                query(1_500, 1),
                udp_server(5_011, SERVER, "127.0.0.53:53", 2),
            ],
            vec![
                udp_server(5_005, SERVER, "127.0.0.1:53", 2),
                query(5_010, 1),
            ],
            vec![
                in_netns(udp_server(5_005, SERVER, "0.0.0.0:53", 2), 7),
                query(5_010, 1),
            ],
            vec![
                udp_server(5_005, SERVER, "127.0.0.53:54", 2),
                query(5_010, 1),
            ],
            vec![
                udp_server(5_005, SERVER, "0.0.0.0:53", 2),
                exit(5_007, SERVER),
                query(5_010, 1),
            ],
            vec![
                query(5_010, 1),
                udp_server(5_010 + LINK_WINDOW_NS, SERVER, "0.0.0.0:53", 2),
            ],
        ] {
            assert_eq!(peer(&msgs), None, "{msgs:?}");
        }
        // The server has no other end of its own: many clients send to it.
        let tree = CausalTree::from_messages(&usual);
        assert!(
            tree.conns()
                .iter()
                .all(|c| c.direction == Direction::Outbound || c.peer.is_none())
        );
    }

    /// `n` connections of CLIENT to S (cookies from 1), each closed when
    /// `closed(i)` says so, applied to `tree`.
    fn churn(tree: &mut CausalTree, n: u64, closed: impl Fn(u64) -> bool) {
        for i in 1..=n {
            let local = format!("127.0.0.1:{}", 1000 + i);
            tree.apply(&net(10 * i, CLIENT, "curl", NetKind::Connect, &local, S, i));
            if closed(i) {
                tree.apply(&close(10 * i + 5, CLIENT, i));
            }
        }
    }

    #[test]
    fn a_full_tree_forgets_the_oldest_closed_connections_and_keeps_open_ones() {
        let mut tree = CausalTree::with_conn_limit(40);
        // Every fifth stays open.
        churn(&mut tree, 100, |i| i % 5 != 0);
        let held = tree.conns().len();
        assert!(held <= 40, "{held} connections held");
        let node = tree.node(tree.find(CLIENT).unwrap());
        let counts = node.conn_counts;
        assert_eq!((counts.outbound, counts.open), (100, 20));
        assert_eq!(counts.forgotten as usize + node.conns.len(), 100);
        assert_eq!(node.conns.len(), held);
        // All 20 open ones are kept; the closed ones kept are the newest.
        let open: Vec<u64> = node
            .conns
            .iter()
            .map(|&c| tree.conn(c))
            .filter(|c| c.end.is_none())
            .map(|c| c.cookie)
            .collect();
        assert_eq!(open, (1..=20).map(|i| 5 * i).collect::<Vec<_>>());
        let oldest_closed_kept = node
            .conns
            .iter()
            .map(|&c| tree.conn(c))
            .filter(|c| c.end.is_some())
            .map(|c| c.cookie)
            .min()
            .unwrap();
        let kept_closed = (held - 20) as u64;
        let newer_closed = (oldest_closed_kept..=100).filter(|i| i % 5 != 0).count() as u64;
        assert_eq!(newer_closed, kept_closed, "no gap among the closed kept");
        // Ids were renumbered consistently: each conn is its owner's, and
        // closing an open one still finds it.
        for (i, c) in tree.conns().iter().enumerate() {
            assert!(tree.node(c.owner).conns.contains(&ConnId(i as u32)));
        }
        tree.apply(&close(5_000, CLIENT, 100));
        let c100 = tree.conns().iter().find(|c| c.cookie == 100).unwrap();
        assert_eq!(c100.end, Some(5_000));
        assert!(tree.conn_generation() > 0);
    }

    #[test]
    fn forgetting_keeps_links_between_what_is_kept() {
        let mut tree = CausalTree::with_conn_limit(8);
        for i in 0..10u64 {
            let (c, a) = (2 * i + 1, 2 * i + 2);
            let t = 100 * i;
            let port = format!("127.0.0.1:{}", 40_000 + i);
            tree.apply(&net(t, CLIENT, "curl", NetKind::Connect, &port, S, c));
            tree.apply(&net(t + 1, SERVER, "nginx", NetKind::Accept, S, &port, a));
            if i < 9 {
                tree.apply(&close(t + 2, CLIENT, c));
                tree.apply(&close(t + 3, SERVER, a));
            }
        }
        for (i, c) in tree.conns().iter().enumerate() {
            let p = c.peer.expect("each kept end keeps its link");
            assert_eq!(tree.conn(p).peer, Some(ConnId(i as u32)));
            assert_eq!(tree.conn(p).local, c.remote);
        }
        let open = tree.conns().iter().filter(|c| c.end.is_none()).count();
        assert_eq!(open, 2, "the last pair is open and kept");
    }

    #[test]
    fn a_tree_of_open_connections_grows_past_its_limit_without_rescanning_each_time() {
        let mut tree = CausalTree::with_conn_limit(10);
        churn(&mut tree, 30, |_| false);
        assert_eq!(
            tree.conns().len(),
            30,
            "open connections are never forgotten"
        );
        assert_eq!(tree.conn_generation(), 0, "nothing was renumbered");
        assert_eq!(
            tree.net.next_check, 32,
            "the next look is a quarter of the room later"
        );
    }

    #[test]
    fn a_quiet_process_keeps_its_old_connection_through_anothers_churn() {
        // One quiet process's old connection survives another's churn.
        let mut tree = CausalTree::with_conn_limit(4 * KEEP_CLOSED_PER_PROCESS);
        tree.apply(&connect(1, 1_000_000));
        tree.apply(&close(2, CLIENT, 1_000_000));
        let quiet = tree.find(CLIENT).unwrap();
        for i in 0..(4 * KEEP_CLOSED_PER_PROCESS as u64) {
            let local = format!("127.0.0.1:{}", 1 + i % 60_000);
            tree.apply(&net(
                10 + i,
                SERVER,
                "nginx",
                NetKind::Accept,
                S,
                &local,
                i + 1,
            ));
            tree.apply(&close(10 + i, SERVER, i + 1));
        }
        assert_eq!(tree.node(quiet).conns.len(), 1);
        let server = tree.node(tree.find(SERVER).unwrap());
        assert!(server.conn_counts.forgotten > 0);
        assert!(server.conns.len() >= KEEP_CLOSED_PER_PROCESS);
    }

    #[test]
    fn a_listed_socket_that_fills_the_tree_is_still_marked_listed() {
        let mut tree = CausalTree::with_conn_limit(8);
        churn(&mut tree, 7, |_| true);
        tree.apply(&listed(SERVER, NetKind::Listen, S, "0.0.0.0:0", 99));
        assert!(
            tree.conn_generation() > 0,
            "the listing made the tree forget"
        );
        let c = tree.conns().iter().find(|c| c.cookie == 99).unwrap();
        assert!(c.seeded);
        assert_eq!(tree.conns().iter().filter(|c| c.seeded).count(), 1);
    }

    #[test]
    fn a_gone_socket_ends_its_connection_as_gone() {
        let tree = CausalTree::from_messages(&[
            connect(10, 1),
            net(90, CLIENT, "curl", NetKind::Gone, C, S, 1),
        ]);
        let c = &tree.conns()[0];
        assert_eq!((c.state, c.end), (ConnState::Gone, Some(90)));
        assert_eq!(tree.node(c.owner).conn_counts.open, 0);
    }

    /// Socket `cookie` of `proc` found with its peer closed at `seen`.
    fn peer_closed(seen: u64, proc: ProcKey, kind: NetKind, cookie: u64) -> Message {
        let Message::Socket(s) = listed(proc, kind, S, C, cookie) else {
            unreachable!("listed() makes sockets");
        };
        Message::Socket(SeedSocket {
            seen,
            peer_closed: true,
            ..s
        })
    }

    #[test]
    fn a_connection_found_with_its_peer_closed_is_close_wait_until_it_closes() {
        let msgs = [
            net(10, SERVER, "nginx", NetKind::Accept, S, C, 2),
            peer_closed(40, SERVER, NetKind::Accept, 2),
            // A second finding says nothing new.
            peer_closed(50, SERVER, NetKind::Accept, 2),
            close(90, SERVER, 2),
        ];
        let tree = CausalTree::from_messages(&msgs[..3]);
        let [c] = tree.conns() else {
            panic!("one connection, not one per finding");
        };
        assert_eq!(
            (c.state, c.peer_closed, c.start),
            (ConnState::CloseWait, Some(40), 10)
        );
        let counts = tree.node(c.owner).conn_counts;
        assert_eq!((counts.open, counts.close_wait), (1, 1));
        let tree = CausalTree::from_messages(&msgs);
        let c = &tree.conns()[0];
        assert_eq!(
            (c.state, c.end, c.peer_closed),
            (ConnState::Closed, Some(90), Some(40))
        );
        let counts = tree.node(c.owner).conn_counts;
        assert_eq!((counts.open, counts.close_wait, counts.failed), (0, 0, 0));
        // A listener has no peer; a closed connection is not found so.
        let tree = CausalTree::from_messages(&[
            net(10, SERVER, "nginx", NetKind::Listen, S, "0.0.0.0:0", 1),
            peer_closed(40, SERVER, NetKind::Listen, 1),
        ]);
        assert_eq!(tree.conns()[0].state, ConnState::Listening);
        assert_eq!(tree.node(tree.conns()[0].owner).conn_counts.close_wait, 0);
    }

    #[test]
    fn a_connection_found_in_close_wait_is_on_the_process_holding_it() {
        // A forked worker used it first and exited; the server, its
        // parent, kept its copy: the leak is the server's.
        const WORKER: ProcKey = ProcKey::new(201, 3_000);
        let tree = CausalTree::from_messages(&[
            net(10, WORKER, "worker", NetKind::Accept, S, C, 2),
            peer_closed(40, SERVER, NetKind::Accept, 2),
            close(90, SERVER, 2),
        ]);
        let server = tree.find(SERVER).unwrap();
        let worker = tree.find(WORKER).unwrap();
        assert!(tree.node(worker).conns.is_empty());
        let [id] = tree.node(server).conns[..] else {
            panic!("the connection on the server");
        };
        let c = tree.conn(id);
        assert_eq!((c.start, c.peer_closed, c.end), (10, Some(40), Some(90)));
        for n in [server, worker] {
            let counts = tree.node(n).conn_counts;
            assert_eq!((counts.open, counts.close_wait), (0, 0));
        }
        assert_eq!(tree.node(server).conn_counts.inbound, 1);
        assert_eq!(tree.node(worker).conn_counts.inbound, 0);
    }

    #[test]
    fn a_connection_listed_in_close_wait_moves_with_its_count_to_who_uses_it() {
        // Listed at start on the server, its peer gone; a forked child is
        // then seen using it first.
        const CHILD: ProcKey = ProcKey::new(201, 3_000);
        let tree = CausalTree::from_messages(&[
            peer_closed(5, SERVER, NetKind::Accept, 2),
            net(20, CHILD, "worker", NetKind::Accept, S, C, 2),
        ]);
        let c = &tree.conns()[0];
        assert!(c.seeded);
        assert_eq!((c.state, c.peer_closed), (ConnState::CloseWait, Some(5)));
        let server = tree.find(SERVER).unwrap();
        let child = tree.find(CHILD).unwrap();
        assert_eq!(tree.node(server).conn_counts.close_wait, 0);
        assert_eq!(tree.node(child).conn_counts.close_wait, 1);
        assert_eq!(tree.node(child).conn_counts.open, 1);
    }

    #[test]
    fn a_reused_cookie_ends_the_old_connection() {
        // connect() again on a socket whose first connect failed unseen.
        let tree = CausalTree::from_messages(&[connect(10, 1), connect(20, 1)]);
        assert_eq!(tree.conns()[0].end, Some(20));
        assert_eq!(tree.conns()[1].end, None);
    }
}
