//! The network half of the probe against real sockets on loopback. Needs
//! root: without it these print a skip, unless CI=true, where they fail.
//!
//! Workloads are small python3 scripts run as child processes; each prints
//! its identity (pid and start time in clock ticks, as /proc has it) and
//! the ports it used, so every assertion names a process by `ProcKey`
//! (pid AND start), never by pid alone.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway::event::{Direction, Failure, Message, Protocol};
use causeway::graph::{CausalTree, ConnId, ConnState, Connection, NodeId};
use causeway::journal::{self, Header, Writer};
use common::{capture, probe_allowed};
use serde_json::Value;

/// Prints `{"pid":..,"tick":..}` plus extra fields as one JSON line.
const PRELUDE: &str = r#"
import json, os, socket, sys
def me(**extra):
    st = open('/proc/self/stat').read().rsplit(')', 1)[1].split()
    return dict(pid=os.getpid(), tick=int(st[19]), **extra)
def say(**extra):
    # One write per line: processes that share stdout cannot interleave.
    os.write(1, (json.dumps(me(**extra)) + '\n').encode())
def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET
def recv_exactly(s, n):
    data = b''
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
marked = None
def mark():
    # A moment in the journal: a child forked, which exits at once.
    global marked
    marked = os.fork()
    if marked == 0:
        os._exit(0)
    os.waitpid(marked, 0)
"#;

/// argv: host. Listens, says its port, accepts one connection, reads 40
/// bytes, answers 300, waits for the client to close, closes.
const SERVER: &str = r#"
host = sys.argv[1]
s = socket.socket(family(host))
s.bind((host, 0))
s.listen(8)
say(port=s.getsockname()[1])
a, _ = s.accept()
assert len(recv_exactly(a, 40)) == 40
a.sendall(b'x' * 300)
recv_exactly(a, 1)
a.close()
s.close()
"#;

/// argv: host port. Connects, sends 40 bytes, reads 300, marks the moment
/// (the server has received by then), closes, says its local port and the
/// mark.
const CLIENT: &str = r#"
host, port = sys.argv[1], int(sys.argv[2])
c = socket.socket(family(host))
c.connect((host, port))
local = c.getsockname()[1]
c.sendall(b'ping' * 10)
assert len(recv_exactly(c, 300)) == 300
mark()
c.close()
say(port=local, mark=marked)
"#;

/// A minimal io_uring for python3 (which has no binding): one request at a
/// time, submitted and waited for with io_uring_enter(2), the rings mapped
/// as the kernel's ABI lays them out.
const URING: &str = r#"
import ctypes, mmap, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class Ring:
    SETUP, ENTER, GETEVENTS = 425, 426, 1
    ACCEPT, CONNECT, CLOSE, SEND, RECV = 13, 16, 19, 26, 27
    def __init__(self, entries=4):
        p = ctypes.create_string_buffer(120)
        self.fd = libc.syscall(self.SETUP, entries, p)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), 'io_uring_setup')
        n_sq, n_cq = struct.unpack_from('II', p.raw, 0)
        # io_sqring_offsets: head tail ring_mask ring_entries flags dropped array
        self.so = struct.unpack_from('7I', p.raw, 40)
        # io_cqring_offsets: head tail ring_mask ring_entries overflow cqes
        self.co = struct.unpack_from('6I', p.raw, 80)
        self.sq = mmap.mmap(self.fd, self.so[6] + 4 * n_sq, offset=0)
        self.cq = mmap.mmap(self.fd, self.co[5] + 16 * n_cq, offset=0x8000000)
        self.sqes = mmap.mmap(self.fd, 64 * n_sq, offset=0x10000000)
    def u32(self, m, at):
        return struct.unpack_from('I', m, at)[0]
    def op(self, opcode, fd, addr=0, length=0, off=0):
        tail = self.u32(self.sq, self.so[1])
        i = tail & self.u32(self.sq, self.so[2])
        # struct io_uring_sqe: opcode, flags, ioprio, fd, off, addr, len,
        # op flags, user_data, the rest zero.
        self.sqes[64 * i:64 * (i + 1)] = struct.pack(
            'BBHiQQIIQ24x', opcode, 0, 0, fd, off, addr, length, 0, 1)
        struct.pack_into('I', self.sq, self.so[6] + 4 * i, i)
        struct.pack_into('I', self.sq, self.so[1], tail + 1)
        head = self.u32(self.cq, self.co[0])
        submit = 1
        while self.u32(self.cq, self.co[1]) == head:
            if libc.syscall(self.ENTER, self.fd, submit, 1, self.GETEVENTS, None, 0) < 0:
                raise OSError(ctypes.get_errno(), 'io_uring_enter')
            submit = 0
        at = self.co[5] + 16 * (head & self.u32(self.cq, self.co[2]))
        res = struct.unpack_from('Qi', self.cq, at)[1]
        struct.pack_into('I', self.cq, self.co[0], head + 1)
        if res < 0:
            raise OSError(-res, 'io_uring op %d' % opcode)
        return res
    def connect(self, fd, host, port):
        if ':' in host:
            sa = struct.pack('=HHI16sI', socket.AF_INET6, socket.htons(port), 0,
                             socket.inet_pton(socket.AF_INET6, host), 0)
        else:
            sa = struct.pack('=HH4s8x', socket.AF_INET, socket.htons(port),
                             socket.inet_aton(host))
        b = ctypes.create_string_buffer(sa, len(sa))
        self.op(self.CONNECT, fd, ctypes.addressof(b), 0, len(sa))
    def send_all(self, fd, data):
        b = ctypes.create_string_buffer(data, len(data))
        done = 0
        while done < len(data):
            done += self.op(self.SEND, fd, ctypes.addressof(b) + done, len(data) - done)
    def recv_exactly(self, fd, n):
        b = ctypes.create_string_buffer(n)
        got = 0
        while got < n:
            k = self.op(self.RECV, fd, ctypes.addressof(b) + got, n - got)
            if k == 0:
                break
            got += k
        return b.raw[:got]
"#;

/// SERVER, but accepting, receiving, sending and closing through io_uring:
/// no accept, recv or send syscall.
const URING_SERVER: &str = r#"
host = sys.argv[1]
s = socket.socket(family(host))
s.bind((host, 0))
s.listen(8)
say(port=s.getsockname()[1])
r = Ring()
listener = s.detach()
a = r.op(Ring.ACCEPT, listener)
assert len(r.recv_exactly(a, 40)) == 40
r.send_all(a, b'x' * 300)
r.recv_exactly(a, 1)
r.op(Ring.CLOSE, a)
r.op(Ring.CLOSE, listener)
"#;

/// CLIENT, but connecting, sending, receiving and closing through io_uring.
const URING_CLIENT: &str = r#"
host, port = sys.argv[1], int(sys.argv[2])
c = socket.socket(family(host)).detach()
r = Ring()
r.connect(c, host, port)
name = socket.socket(fileno=os.dup(c))
local = name.getsockname()[1]
name.close()
r.send_all(c, b'ping' * 10)
assert len(r.recv_exactly(c, 300)) == 300
mark()
r.op(Ring.CLOSE, c)
say(port=local, mark=marked)
"#;

/// Network namespaces for the scripts after it: `new_netns()` moves the
/// process into a new one, its loopback up, and returns its inode number.
const NETNS: &str = r#"
import ctypes, fcntl, struct
libc = ctypes.CDLL(None, use_errno=True)
def new_netns():
    if libc.unshare(0x40000000) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNET)')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifreq = fcntl.ioctl(s, 0x8913, struct.pack('16sH22x', b'lo', 0))
    flags = struct.unpack('16sH22x', ifreq)[1]
    fcntl.ioctl(s, 0x8914, struct.pack('16sH22x', b'lo', flags | 1))
    s.close()
    return os.stat('/proc/self/ns/net').st_ino
def cookie(s):
    SO_COOKIE = 57
    return struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]
"#;

/// Two network namespaces of its own, each with a listener and a client on
/// the same loopback addresses and ports (127.0.0.1:40000 to
/// 127.0.0.1:8080): both connect, then each listener accepts and reads a
/// byte. Says each namespace's inode and its two sockets' cookies.
const NETNS_TWINS: &str = r#"
twins = []
for _ in range(2):
    ns = new_netns()
    s = socket.socket()
    s.bind(('127.0.0.1', 8080))
    s.listen(8)
    c = socket.socket()
    c.bind(('127.0.0.1', 40000))
    c.connect(('127.0.0.1', 8080))
    twins.append((ns, s, c))
out = []
for ns, s, c in twins:
    a, _ = s.accept()
    c.sendall(b'x')
    assert a.recv(1) == b'x'
    out.append(dict(netns=ns, connect=cookie(c), accept=cookie(a)))
    for x in (a, c, s):
        x.close()
say(twins=out)
"#;

/// Listens; a forked child connects and says who it is; the parent accepts
/// and says who it is.
const FORKED: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
port = s.getsockname()[1]
child = os.fork()
if child == 0:
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'hi')
    c.close()
    say(role='child', port=port)
    os._exit(0)
a, _ = s.accept()
recv_exactly(a, 2)
a.close()
os.waitpid(child, 0)
say(role='parent', port=port)
"#;

/// A server that forks per connection: the parent accepts, a child serves
/// (reads the request, answers) and the parent only closes its copy. A
/// forked client connects, sends 5 bytes and reads 7.
const FORK_PER_CONNECTION: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
port = s.getsockname()[1]
client = os.fork()
if client == 0:
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(b'hello')
    recv_exactly(c, 7)
    c.close()
    say(role='client', port=port)
    os._exit(0)
a, _ = s.accept()
handler = os.fork()
if handler == 0:
    s.close()
    recv_exactly(a, 5)
    a.sendall(b'welcome')
    recv_exactly(a, 1)  # returns empty at the client's close
    a.close()
    say(role='handler', port=port)
    os._exit(0)
a.close()
os.waitpid(client, 0)
os.waitpid(handler, 0)
s.close()
say(role='server', port=port)
"#;

/// argv: port4 port6. Sends one datagram over IPv4 to 127.0.0.1:port4 and
/// another to port4+1 (the socket's second destination: not reported),
/// connects an IPv6 socket to [::1]:port6 and sends on it, and sends with
/// sendmsg from an IPv6 socket to port4 v4-mapped.
const UDP: &str = r#"
p4, p6 = int(sys.argv[1]), int(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b'query', ('127.0.0.1', p4))
u.sendto(b'query', ('127.0.0.1', p4 + 1))
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.connect(('::1', p6))
u6.send(b'query')
m = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
m.sendmsg([b'query'], [], 0, ('::ffff:127.0.0.1', p4))
say(local4=u.getsockname()[1], local6=u6.getsockname()[1], localm=m.getsockname()[1])
"#;

/// A client connects and resets (SO_LINGER 0) before the server accepts;
/// the server accepts the dead connection anyway. Then a connect to the
/// closed listener's port is refused, and the same socket connects again,
/// to a second listener, which closes first.
const RESET_AND_REFUSED: &str = r#"
import struct, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
port = s.getsockname()[1]
c = socket.create_connection(('127.0.0.1', port))
local = c.getsockname()[1]
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.close()
time.sleep(0.05)
a, _ = s.accept()
a.close()
s.close()
r = socket.socket()
try:
    r.connect(('127.0.0.1', port))
    raise SystemExit('the connect should be refused')
except ConnectionRefusedError:
    pass
refused = r.getsockname()[1]
s2 = socket.socket()
s2.bind(('127.0.0.1', 0))
s2.listen(8)
port2 = s2.getsockname()[1]
r.connect(('127.0.0.1', port2))
again = r.getsockname()[1]
a2, _ = s2.accept()
a2.close()
assert r.recv(1) == b''
r.close()
s2.close()
say(port=port, reset=local, refused=refused, port2=port2, again=again)
"#;

/// argv: n. A connect waits in SYN_SENT (its listener's accept queue is
/// full, so its SYNs are dropped) while n connect/accept/close cycles churn
/// on a second listener; then the queue is drained, the waiting connect's
/// SYN is retried and it is accepted.
const WAITING_CONNECT: &str = r#"
import select, time
n = int(sys.argv[1])
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
port = s.getsockname()[1]
filler = socket.create_connection(('127.0.0.1', port))
time.sleep(0.05)
w = socket.socket()
w.setblocking(False)
w.connect_ex(('127.0.0.1', port))
time.sleep(0.05)
SYN_SENT = 2
assert w.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == SYN_SENT
c2 = socket.socket()
c2.bind(('127.0.0.1', 0))
c2.listen(128)
for _ in range(n):
    c = socket.create_connection(c2.getsockname())
    a, _ = c2.accept()
    c.close()
    a.close()
c2.close()
assert w.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == SYN_SENT
a, _ = s.accept()
# The SYN is sent again after 1, 2, 4, 8, 16, 32 s: after a long wait for
# the probe, the next may be half a minute off.
select.select([], [w], [], 120)
assert w.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
b, _ = s.accept()
waiting = w.getsockname()[1]
for x in (filler, a, w, b, s):
    x.close()
say(port=port, waiting=waiting)
"#;

/// argv: n. n connect/accept/close cycles against one listener.
const CHURN: &str = r#"
n = int(sys.argv[1])
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(128)
port = s.getsockname()[1]
for _ in range(n):
    c = socket.create_connection(('127.0.0.1', port))
    a, _ = s.accept()
    c.close()
    a.close()
s.close()
say(port=port)
"#;

fn python(script: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(format!("{PRELUDE}{script}"));
    cmd.stdout(Stdio::piped());
    cmd
}

/// Runs to completion; its last line of output, parsed.
fn run(mut cmd: Command) -> Value {
    let out = cmd.output().expect("python3 runs");
    assert!(out.status.success(), "workload failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a line of output")).expect("JSON")
}

/// A process the workload reported: pid and /proc start tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Who {
    pid: u32,
    tick: u64,
}

fn who(v: &Value) -> Who {
    Who {
        pid: v["pid"].as_u64().expect("pid") as u32,
        tick: v["tick"].as_u64().expect("tick"),
    }
}

fn port(v: &Value, field: &str) -> u16 {
    v[field].as_u64().expect("a port") as u16
}

/// The node of exactly this process (pid and start), asserting identity.
fn node_of(tree: &CausalTree, w: Who) -> NodeId {
    let id = tree
        .nodes()
        .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no node for pid {} start tick {}", w.pid, w.tick));
    let key = tree.node(id).key;
    assert_eq!((key.pid, key.start_tick()), (w.pid, w.tick));
    id
}

fn conns_of(tree: &CausalTree, id: NodeId, direction: Direction) -> Vec<ConnId> {
    tree.node(id)
        .conns
        .iter()
        .copied()
        .filter(|&c| tree.conn(c).direction == direction)
        .collect()
}

/// Captures `cmd`, a workload whose last line reports its identity, until
/// that process's connections are as many as `enough` asks and all closed.
/// The report and the capture.
fn capture_conns_of(
    cmd: Command,
    enough: impl Fn(usize) -> bool,
    deadline: Duration,
) -> (Value, common::Capture) {
    let out: Arc<Mutex<Option<Value>>> = Arc::default();
    let o = Arc::clone(&out);
    let cap = capture(
        move || *o.lock().unwrap() = Some(run(cmd)),
        |t| {
            let Some(v) = out.lock().unwrap().clone() else {
                return false;
            };
            let w = who(&v);
            t.nodes()
                .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
                .is_some_and(|(_, n)| {
                    enough(n.conns.len()) && n.conns.iter().all(|&c| t.conn(c).end.is_some())
                })
        },
        deadline,
    );
    let v = out.lock().unwrap().clone().expect("the workload reported");
    (v, cap)
}

fn addr(s: String) -> SocketAddr {
    s.parse().expect("an address")
}

/// Server and client reports, once the workload has them.
type Reports = Arc<Mutex<Option<(Value, Value)>>>;

/// One server process and one client process on `host`: each side's
/// connection belongs to the right process, the two are linked, and every
/// socket is closed with its byte counts.
fn client_and_server(test: &str, server_host: &'static str, client_host: &'static str) {
    client_and_server_with(test, SERVER.into(), CLIENT.into(), server_host, client_host);
}

/// [`client_and_server`] with other scripts for the two sides, speaking
/// the same protocol as SERVER and CLIENT.
fn client_and_server_with(
    test: &str,
    server_script: String,
    client_script: String,
    server_host: &'static str,
    client_host: &'static str,
) {
    if !probe_allowed(test) {
        return;
    }
    let reports: Reports = Arc::default();
    let r = Arc::clone(&reports);
    let cap = capture(
        move || {
            let mut server = python(&server_script)
                .arg(server_host)
                .spawn()
                .expect("server");
            let mut line = String::new();
            BufReader::new(server.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("the server says its port");
            let s: Value = serde_json::from_str(&line).expect("JSON");
            let mut client = python(&client_script);
            client.arg(client_host).arg(port(&s, "port").to_string());
            let c = run(client);
            assert!(server.wait().expect("server exits").success());
            *r.lock().unwrap() = Some((s, c));
        },
        |t| {
            // Done when all three sockets of the server and the client's
            // are closed.
            let Some((s, c)) = reports.lock().unwrap().clone() else {
                return false;
            };
            let closed = |w: Who| {
                t.nodes()
                    .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
                    .map_or(0, |(_, n)| {
                        n.conns.iter().filter(|&&c| t.conn(c).end.is_some()).count()
                    })
            };
            closed(who(&s)) >= 2 && closed(who(&c)) >= 1
        },
        Duration::from_secs(20),
    );
    let (s, c) = reports
        .lock()
        .unwrap()
        .clone()
        .expect("the workload reported");
    let tree = &cap.tree;
    let server = node_of(tree, who(&s));
    let client = node_of(tree, who(&c));
    let sport = port(&s, "port");
    let cport = port(&c, "port");

    let listens = conns_of(tree, server, Direction::Listen);
    assert_eq!(listens.len(), 1, "one listening socket");
    let l = tree.conn(listens[0]);
    assert_eq!(l.local, addr(format!("{}:{sport}", bracket(server_host))));
    assert_eq!(l.state, ConnState::Closed);
    assert!(l.end.is_some_and(|e| e >= l.start));

    let outs = conns_of(tree, client, Direction::Outbound);
    assert_eq!(outs.len(), 1, "one connect by the client: {outs:?}");
    let out = tree.conn(outs[0]);
    let server_addr = addr(format!("{}:{sport}", bracket(client_host)));
    let client_addr = addr(format!("{}:{cport}", bracket(client_host)));
    assert_eq!(out.protocol, Protocol::Tcp);
    assert_eq!(out.remote, server_addr);
    assert_eq!(out.local, client_addr);
    assert_eq!(out.owner, client);

    let ins = conns_of(tree, server, Direction::Inbound);
    assert_eq!(ins.len(), 1, "one accept by the server");
    let inb = tree.conn(ins[0]);
    assert_eq!(inb.local, server_addr);
    assert_eq!(inb.remote, client_addr);
    assert_eq!(inb.owner, server);
    // Seen when the server first received on it, before the client's mark:
    // not only as the connection ended.
    let mark = c["mark"].as_u64().expect("the mark's pid") as u32;
    let mark = tree
        .nodes()
        .find(|(_, n)| n.key.pid == mark && n.parent_id() == Some(client))
        .map(|(_, n)| n.key.start)
        .expect("the client's mark");
    assert!(
        inb.start < mark,
        "the accept came at {}, after the client's mark at {mark}",
        inb.start
    );

    // Linked both ways, joining the two processes.
    assert_eq!(out.peer, Some(ins[0]));
    assert_eq!(inb.peer, Some(outs[0]));
    assert_eq!(tree.peer_process(outs[0]), Some(server));
    assert_eq!(tree.peer_process(ins[0]), Some(client));

    for (c, sent, received) in [(out, 40, 300), (inb, 300, 40)] {
        assert_eq!(c.state, ConnState::Closed);
        assert!(c.end.is_some_and(|e| e >= c.start), "{c:?}");
        assert_eq!((c.bytes_sent, c.bytes_received), (sent, received), "{c:?}");
    }
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// Written to a journal and read back, the capture gives the same messages
/// (but for a cgroup named again: the writer names each once) and the
/// same connections, links included.
fn journal_round_trip(cap: &common::Capture) {
    let header = Header::for_this_host().expect("a header");
    let mut w = Writer::new(Vec::new(), &header).expect("a journal");
    for m in &cap.messages {
        w.write(m).expect("written");
    }
    let loaded = journal::read(&w.into_inner()[..]).expect("read back");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let mut named = std::collections::HashSet::new();
    let written: Vec<_> = cap
        .messages
        .iter()
        .filter(|m| match m {
            Message::Cgroup { id, .. } => named.insert(*id),
            _ => true,
        })
        .collect();
    if let Some((a, b)) = loaded.messages.iter().zip(&written).find(|(a, b)| a != *b) {
        panic!("messages differ after a round trip: {a:?} read back, {b:?} written");
    }
    assert_eq!(loaded.messages.len(), written.len());
    let replayed = CausalTree::from_messages(&loaded.messages);
    assert_eq!(replayed.conns(), cap.tree.conns());
}

// The kernel's TCP states and the errnos a close can carry, as numbered
// in include/net/tcp_states.h and errno-base.h.
const TCP_ESTABLISHED: u8 = 1;
const TCP_SYN_SENT: u8 = 2;
const TCP_FIN_WAIT1: u8 = 4;
const TCP_FIN_WAIT2: u8 = 5;
const TCP_LAST_ACK: u8 = 9;
const ECONNRESET: u16 = 104;
const ECONNREFUSED: u16 = 111;

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[test]
fn tcp_over_ipv4_is_attributed_linked_and_closed() {
    client_and_server(
        "tcp_over_ipv4_is_attributed_linked_and_closed",
        "127.0.0.1",
        "127.0.0.1",
    );
}

#[test]
fn tcp_over_ipv6_is_attributed_linked_and_closed() {
    client_and_server(
        "tcp_over_ipv6_is_attributed_linked_and_closed",
        "::1",
        "::1",
    );
}

#[test]
fn an_ipv4_client_of_a_dual_stack_server_reads_as_ipv4_on_both_ends() {
    // The server's socket is IPv6 and sees the client v4-mapped; the
    // journal and the tree show plain IPv4, so the two ends still link.
    client_and_server(
        "an_ipv4_client_of_a_dual_stack_server_reads_as_ipv4_on_both_ends",
        "::",
        "127.0.0.1",
    );
}

#[test]
fn connections_made_through_io_uring_are_attributed_linked_and_closed() {
    // Connect, accept, send, receive and close as io_uring requests: the
    // accept is attributed at its first use all the same, and nothing
    // depends on a syscall's own tracepoint.
    for host in ["127.0.0.1", "::1"] {
        client_and_server_with(
            "connections_made_through_io_uring_are_attributed_linked_and_closed",
            format!("{URING}{URING_SERVER}"),
            format!("{URING}{URING_CLIENT}"),
            host,
            host,
        );
    }
}

#[test]
fn loopback_connections_link_within_their_network_namespace() {
    let test = "loopback_connections_link_within_their_network_namespace";
    if !probe_allowed(test) {
        return;
    }
    // Two listens, two connects and two accepts, all closed.
    let script = format!("{NETNS}{NETNS_TWINS}");
    let (v, cap) = capture_conns_of(python(&script), |n| n >= 6, Duration::from_secs(20));
    let tree = &cap.tree;
    let node = node_of(tree, who(&v));
    let by_cookie = |cookie: &Value| {
        let cookie = cookie.as_u64().expect("a cookie");
        let id = *tree
            .node(node)
            .conns
            .iter()
            .find(|&&c| tree.conn(c).cookie == cookie)
            .unwrap_or_else(|| panic!("no connection with cookie {cookie}"));
        (id, tree.conn(id))
    };
    let twins = v["twins"].as_array().expect("two namespaces");
    assert_eq!(twins.len(), 2);
    let mut tuples = Vec::new();
    for t in twins {
        let netns = t["netns"].as_u64().expect("an inode") as u32;
        let (out_id, out) = by_cookie(&t["connect"]);
        let (in_id, inb) = by_cookie(&t["accept"]);
        assert_eq!(out.direction, Direction::Outbound);
        assert_eq!(inb.direction, Direction::Inbound);
        assert_eq!((out.netns, inb.netns), (netns, netns));
        // Linked to the other end in the same namespace, not to its twin.
        assert_eq!(out.peer, Some(in_id), "{out:?}");
        assert_eq!(inb.peer, Some(out_id), "{inb:?}");
        tuples.push((out.local, out.remote));
    }
    assert_eq!(
        tuples[0], tuples[1],
        "both namespaces used the same addresses"
    );
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

#[test]
fn a_connect_from_a_forked_child_belongs_to_the_child() {
    let test = "a_connect_from_a_forked_child_belongs_to_the_child";
    if !probe_allowed(test) {
        return;
    }
    let out: Arc<Mutex<Option<(Value, Value)>>> = Arc::default();
    let o = Arc::clone(&out);
    let cap = capture(
        move || {
            let text = python(FORKED).output().expect("python3 runs");
            assert!(text.status.success(), "{text:?}");
            let lines: Vec<Value> = String::from_utf8_lossy(&text.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .collect();
            let find = |role: &str| {
                lines
                    .iter()
                    .find(|v| v["role"] == role)
                    .cloned()
                    .expect("both report")
            };
            *o.lock().unwrap() = Some((find("parent"), find("child")));
        },
        |t| {
            let Some((p, _)) = out.lock().unwrap().clone() else {
                return false;
            };
            let p = who(&p);
            t.nodes()
                .find(|(_, n)| n.key.pid == p.pid && n.key.start_tick() == p.tick)
                .is_some_and(|(_, n)| n.conns.iter().all(|&c| t.conn(c).end.is_some()))
        },
        Duration::from_secs(20),
    );
    let (p, c) = out.lock().unwrap().clone().expect("the workload reported");
    let tree = &cap.tree;
    let parent = node_of(tree, who(&p));
    let child = node_of(tree, who(&c));
    assert_ne!(parent, child);
    assert_eq!(tree.node(child).parent_id(), Some(parent));

    let outs = conns_of(tree, child, Direction::Outbound);
    assert_eq!(outs.len(), 1, "the child's connect");
    assert_eq!(tree.conn(outs[0]).remote.port(), port(&p, "port"));
    assert!(
        conns_of(tree, parent, Direction::Outbound).is_empty(),
        "nothing outbound is the parent's"
    );
    let ins = conns_of(tree, parent, Direction::Inbound);
    assert_eq!(ins.len(), 1, "the parent's accept");
    assert_eq!(tree.peer_process(outs[0]), Some(parent));
    assert_eq!(tree.peer_process(ins[0]), Some(child));
    assert!(tree.conn(outs[0]).end.is_some());
    assert_eq!(tree.conn(outs[0]).bytes_sent, 2);
}

#[test]
fn an_accepted_connection_served_by_a_forked_child_belongs_to_the_child() {
    let test = "an_accepted_connection_served_by_a_forked_child_belongs_to_the_child";
    if !probe_allowed(test) {
        return;
    }
    let out: Arc<Mutex<Option<Vec<Value>>>> = Arc::default();
    let o = Arc::clone(&out);
    let cap = capture(
        move || {
            let text = python(FORK_PER_CONNECTION).output().expect("python3 runs");
            assert!(text.status.success(), "{text:?}");
            let lines: Vec<Value> = String::from_utf8_lossy(&text.stdout)
                .lines()
                .map(|l| serde_json::from_str(l).expect("JSON"))
                .collect();
            *o.lock().unwrap() = Some(lines);
        },
        |t| {
            let Some(lines) = out.lock().unwrap().clone() else {
                return false;
            };
            lines.iter().map(who).all(|w| {
                t.nodes()
                    .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
                    .is_some_and(|(_, n)| {
                        !n.conns.is_empty() && n.conns.iter().all(|&c| t.conn(c).end.is_some())
                    })
            })
        },
        Duration::from_secs(20),
    );
    let lines = out.lock().unwrap().clone().expect("the workload reported");
    let role = |r: &str| {
        let v = lines
            .iter()
            .find(|v| v["role"] == r)
            .unwrap_or_else(|| panic!("the {r} reported"));
        node_of(&cap.tree, who(v))
    };
    let tree = &cap.tree;
    let (server, handler, client) = (role("server"), role("handler"), role("client"));
    assert_eq!(tree.node(handler).parent_id(), Some(server));
    assert!(
        conns_of(tree, server, Direction::Inbound).is_empty(),
        "the accepting parent never used the connection"
    );
    assert_eq!(conns_of(tree, server, Direction::Listen).len(), 1);
    let ins = conns_of(tree, handler, Direction::Inbound);
    assert_eq!(ins.len(), 1, "the connection the child served");
    let outs = conns_of(tree, client, Direction::Outbound);
    assert_eq!(outs.len(), 1);
    assert_eq!(tree.peer_process(outs[0]), Some(handler));
    assert_eq!(tree.peer_process(ins[0]), Some(client));
    let inb = tree.conn(ins[0]);
    assert_eq!(inb.local.port(), port(&lines[0], "port"));
    assert_eq!((inb.bytes_received, inb.bytes_sent), (5, 7));
    assert_eq!(inb.state, ConnState::Closed);
    journal_round_trip(&cap);
}

#[test]
fn udp_shows_each_sockets_first_destination() {
    let test = "udp_shows_each_sockets_first_destination";
    if !probe_allowed(test) {
        return;
    }
    // Receivers, so the datagrams are delivered rather than refused.
    let r4 = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let r6 = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let (p4, p6) = (
        r4.local_addr().unwrap().port(),
        r6.local_addr().unwrap().port(),
    );
    let out: Arc<Mutex<Option<Value>>> = Arc::default();
    let o = Arc::clone(&out);
    let cap = capture(
        move || {
            let mut cmd = python(UDP);
            cmd.arg(p4.to_string()).arg(p6.to_string());
            *o.lock().unwrap() = Some(run(cmd));
        },
        |_| out.lock().unwrap().is_some(),
        Duration::from_secs(20),
    );
    let v = out.lock().unwrap().clone().expect("the workload reported");
    let tree = &cap.tree;
    let id = node_of(tree, who(&v));
    let udp: Vec<_> = tree
        .node(id)
        .conns
        .iter()
        .map(|&c| tree.conn(c))
        .filter(|c| c.protocol == Protocol::Udp)
        .collect();
    let remotes: Vec<SocketAddr> = udp.iter().map(|c| c.remote).collect();
    assert_eq!(
        remotes,
        vec![
            addr(format!("127.0.0.1:{p4}")),
            addr(format!("[::1]:{p6}")),
            addr(format!("127.0.0.1:{p4}")),
        ],
        "one destination per socket, the first"
    );
    assert_eq!(udp[0].local.port(), port(&v, "local4"));
    assert_eq!(udp[1].local, addr(format!("[::1]:{}", port(&v, "local6"))));
    assert_eq!(udp[2].local, addr(format!("[::]:{}", port(&v, "localm"))));
    assert!(udp.iter().all(|c| c.direction == Direction::Outbound));
    // Their process exited: so did they.
    assert!(udp.iter().all(|c| c.end.is_some()));
}

#[test]
fn a_reset_before_accept_and_a_refused_connect_are_closed() {
    let test = "a_reset_before_accept_and_a_refused_connect_are_closed";
    if !probe_allowed(test) {
        return;
    }
    let (v, cap) = capture_conns_of(
        python(RESET_AND_REFUSED),
        |n| n == 7,
        Duration::from_secs(20),
    );
    let tree = &cap.tree;
    let id = node_of(tree, who(&v));
    let port = port(&v, "port");
    let reset = v["reset"].as_u64().unwrap() as u16;
    let refused = v["refused"].as_u64().unwrap() as u16;
    let outs = conns_of(tree, id, Direction::Outbound);
    let ins = conns_of(tree, id, Direction::Inbound);
    assert_eq!(
        outs.len(),
        3,
        "the reset connect, the refused one, the retry"
    );
    assert_eq!(
        ins.len(),
        2,
        "the accepts of the reset and the retried connections"
    );
    let by_port = |p: u16| {
        outs.iter()
            .copied()
            .find(|&c| tree.conn(c).local.port() == p)
            .unwrap_or_else(|| panic!("a connect from port {p}"))
    };
    // The client's close came before the server's accept: still linked.
    let r = by_port(reset);
    assert_eq!(tree.conn(r).peer, Some(ins[0]));
    assert!(tree.conn(r).end.unwrap() <= tree.conn(ins[0]).start);
    // The client reset it (SO_LINGER 0) from ESTABLISHED, with no error of
    // its own; the server's end got the reset: ECONNRESET.
    let ending = |c: &Connection| (c.failure(), c.ending.error, c.ending.from);
    assert_eq!(
        ending(tree.conn(r)),
        (Some(Failure::Aborted), 0, TCP_ESTABLISHED)
    );
    let inb = tree.conn(ins[0]);
    assert_eq!(inb.remote.port(), reset);
    assert_eq!(inb.state, ConnState::Closed);
    assert_eq!(
        ending(inb),
        (Some(Failure::Reset), ECONNRESET, TCP_ESTABLISHED)
    );
    // The refused connect is a connect, closed at once, linked to nothing.
    let f = tree.conn(by_port(refused));
    assert_eq!(f.remote.port(), port);
    assert_eq!(f.state, ConnState::Closed);
    assert_eq!(f.peer, None);
    assert_eq!((f.bytes_sent, f.bytes_received), (0, 0));
    assert_eq!(
        ending(f),
        (Some(Failure::Refused), ECONNREFUSED, TCP_SYN_SENT)
    );
    // The same socket connecting again is a new connect of the same
    // process, linked to the second listener's accept.
    let again = tree.conn(by_port(v["again"].as_u64().unwrap() as u16));
    assert_eq!(again.remote.port(), v["port2"].as_u64().unwrap() as u16);
    let peer = again.peer.expect("the retry is linked to its accept");
    assert_eq!(tree.conn(peer).direction, Direction::Inbound);
    assert_eq!(again.state, ConnState::Closed);
    // Both ends of the retry closed cleanly: the server first (its end
    // through FIN_WAIT), the client after it (through LAST_ACK).
    let (failure, error, from) = ending(tree.conn(peer));
    assert_eq!((failure, error), (None, 0));
    assert!([TCP_FIN_WAIT1, TCP_FIN_WAIT2].contains(&from), "{from}");
    assert_eq!(ending(again), (None, 0, TCP_LAST_ACK));
    journal_round_trip(&cap);
}

#[test]
fn a_connect_waiting_through_heavy_churn_is_still_reported() {
    let test = "a_connect_waiting_through_heavy_churn_is_still_reported";
    if !probe_allowed(test) {
        return;
    }
    // More sockets than the probe's tables have sets, several times over.
    const N: usize = 12_000;
    let mut cmd = python(WAITING_CONNECT);
    cmd.arg(N.to_string());
    let (v, cap) = capture_conns_of(cmd, |n| n >= 2 * N + 6, Duration::from_secs(60));
    // What the kernel could not deliver is counted: a miss below is then
    // that, not a record dropped silently.
    assert_eq!(cap.lost(), 0, "records lost");
    let tree = &cap.tree;
    let id = node_of(tree, who(&v));
    let waiting = port(&v, "waiting");
    assert_eq!(conns_of(tree, id, Direction::Outbound).len(), N + 2);
    assert_eq!(conns_of(tree, id, Direction::Inbound).len(), N + 2);
    // Churn connects may reuse its local port, towards the other listener.
    let w = conns_of(tree, id, Direction::Outbound)
        .into_iter()
        .find(|&c| {
            let c = tree.conn(c);
            c.local.port() == waiting && c.remote.port() == port(&v, "port")
        })
        .expect("the connect that waited is reported");
    let peer = tree.conn(w).peer.expect("linked to its accept");
    assert_eq!(tree.conn(peer).remote.port(), waiting);
    assert_eq!(cap.lost(), 0);
}

#[test]
fn connection_churn_is_captured_completely() {
    let test = "connection_churn_is_captured_completely";
    if !probe_allowed(test) {
        return;
    }
    const N: usize = 2000;
    let mut cmd = python(CHURN);
    cmd.arg(N.to_string());
    let (v, cap) = capture_conns_of(cmd, |n| n == 2 * N + 1, Duration::from_secs(60));
    let tree = &cap.tree;
    let id = node_of(tree, who(&v));
    let lport = port(&v, "port");
    let outs = conns_of(tree, id, Direction::Outbound);
    let ins = conns_of(tree, id, Direction::Inbound);
    assert_eq!(cap.lost(), 0, "no record lost");
    assert_eq!(outs.len(), N, "every connect");
    assert_eq!(ins.len(), N, "every accept");
    assert_eq!(conns_of(tree, id, Direction::Listen).len(), 1);
    for &c in outs.iter().chain(&ins) {
        let conn = tree.conn(c);
        assert_eq!(conn.state, ConnState::Closed, "{conn:?}");
        assert!(conn.peer.is_some(), "linked: {conn:?}");
        assert_eq!(tree.peer_process(c), Some(id));
    }
    assert!(outs.iter().all(|&c| tree.conn(c).remote.port() == lport));
    // Every connect and every accept exactly once: distinct client ports.
    let mut ports: Vec<u16> = outs.iter().map(|&c| tree.conn(c).local.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), N);
    journal_round_trip(&cap);
}

/// Listens, says its port, accepts one connection, says so, then waits for
/// a line on stdin before closing both.
const HELD_SERVER: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
say(port=s.getsockname()[1])
a, _ = s.accept()
say(accepted=a.getpeername()[1])
sys.stdin.readline()
a.close()
s.close()
"#;

/// A script of this file started with its stdin piped, and its reports.
fn started(script: &str, args: &[String]) -> (Child, ScriptOut) {
    let mut cmd = python(script);
    cmd.args(args).stdin(Stdio::piped());
    let mut child = cmd.spawn().expect("python3 runs");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, lines)
}

type ScriptOut = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// The next report of a script.
fn next(lines: &mut ScriptOut) -> Value {
    let line = lines.next().expect("a report").expect("readable");
    serde_json::from_str(&line).expect("JSON")
}

/// argv: port. Connects, says its local port, then waits for a line on
/// stdin before closing.
const HELD_CLIENT: &str = r#"
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
say(port=c.getsockname()[1])
sys.stdin.readline()
c.close()
"#;

/// A server script (`server`: listens, says its port) and HELD_CLIENT
/// connected to it, both started before the probe attaches.
struct Held {
    server: Child,
    server_out: ScriptOut,
    client: Child,
    lport: u16,
    cport: u16,
    /// The server and the client.
    s: Who,
    c: Who,
}

fn held(server: &str) -> Held {
    let (server, mut server_out) = started(server, &[]);
    let listening = next(&mut server_out);
    let lport = port(&listening, "port");
    let (client, mut client_out) = started(HELD_CLIENT, &[lport.to_string()]);
    let connected = next(&mut client_out);
    Held {
        server,
        server_out,
        client,
        lport,
        cport: port(&connected, "port"),
        s: who(&listening),
        c: who(&connected),
    }
}

#[test]
fn connections_open_before_causeway_started_are_listed_and_closed() {
    let test = "connections_open_before_causeway_started_are_listed_and_closed";
    if !probe_allowed(test) {
        return;
    }
    // Both ends connected before the probe attaches.
    let Held {
        mut server,
        mut server_out,
        mut client,
        lport,
        cport,
        s,
        c,
    } = held(HELD_SERVER);
    assert_eq!(port(&next(&mut server_out), "accepted"), cport);

    let mut stdins = vec![
        server.stdin.take().expect("stdin"),
        client.stdin.take().expect("stdin"),
    ];
    let cap = capture(
        move || {
            use std::io::Write;
            for stdin in &mut stdins {
                stdin.write_all(b"close\n").expect("told to close");
            }
            assert!(server.wait().expect("server ran").success());
            assert!(client.wait().expect("client ran").success());
        },
        move |t| {
            [s, c].iter().all(|&w| {
                t.nodes()
                    .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
                    .is_some_and(|(_, n)| {
                        !n.conns.is_empty() && n.conns.iter().all(|&c| t.conn(c).end.is_some())
                    })
            })
        },
        Duration::from_secs(60),
    );
    let tree = &cap.tree;
    let (sid, cid) = (node_of(tree, s), node_of(tree, c));
    let one = |id, d| {
        let found = conns_of(tree, id, d);
        let all: Vec<_> = tree.node(id).conns.iter().map(|&c| tree.conn(c)).collect();
        assert_eq!(found.len(), 1, "one {d:?} connection among {all:?}");
        tree.conn(found[0]).clone()
    };
    let listen = one(sid, Direction::Listen);
    let inbound = one(sid, Direction::Inbound);
    let outbound = one(cid, Direction::Outbound);
    let lo = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    assert_eq!(listen.local, lo(lport));
    assert_eq!((inbound.local, inbound.remote), (lo(lport), lo(cport)));
    assert_eq!((outbound.local, outbound.remote), (lo(cport), lo(lport)));
    for conn in [&listen, &inbound, &outbound] {
        assert!(conn.seeded, "listed, not seen opening: {conn:?}");
        assert_eq!(
            conn.state,
            ConnState::Closed,
            "its close was seen: {conn:?}"
        );
    }
    assert_eq!(
        tree.peer_process(node_conn(tree, cid, Direction::Outbound)),
        Some(sid),
        "the client is linked to the server"
    );
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// In a network namespace of its own, listens, connects to itself and
/// accepts; says the namespace, the listener's port and the client's,
/// then closes all three when told to on stdin.
const HELD_IN_NETNS: &str = r#"
ns = new_netns()
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
c = socket.create_connection(s.getsockname())
a, _ = s.accept()
say(netns=ns, port=s.getsockname()[1], client=c.getsockname()[1])
sys.stdin.readline()
for x in (c, a, s):
    x.close()
"#;

#[test]
fn connections_open_before_causeway_started_in_a_container_are_listed() {
    let test = "connections_open_before_causeway_started_in_a_container_are_listed";
    if !probe_allowed(test) {
        return;
    }
    // Held in another network namespace (as a container's would be)
    // before the probe attaches.
    let (mut child, mut out) = started(&format!("{NETNS}{HELD_IN_NETNS}"), &[]);
    let v = next(&mut out);
    let w = who(&v);
    let mut stdin = child.stdin.take().expect("stdin");
    let cap = capture(
        move || {
            use std::io::Write;
            stdin.write_all(b"close\n").expect("told to close");
            assert!(child.wait().expect("it ran").success());
        },
        move |t| {
            t.nodes()
                .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
                .is_some_and(|(_, n)| {
                    n.conns.len() >= 3 && n.conns.iter().all(|&c| t.conn(c).end.is_some())
                })
        },
        Duration::from_secs(20),
    );
    let tree = &cap.tree;
    let id = node_of(tree, w);
    let netns = v["netns"].as_u64().expect("an inode") as u32;
    let lo = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    let (lport, cport) = (port(&v, "port"), port(&v, "client"));
    let one = |d| {
        let found = conns_of(tree, id, d);
        assert_eq!(found.len(), 1, "one {d:?} connection");
        tree.conn(found[0]).clone()
    };
    let (listen, inbound, outbound) = (
        one(Direction::Listen),
        one(Direction::Inbound),
        one(Direction::Outbound),
    );
    assert_eq!(listen.local, lo(lport));
    assert_eq!((inbound.local, inbound.remote), (lo(lport), lo(cport)));
    assert_eq!((outbound.local, outbound.remote), (lo(cport), lo(lport)));
    for conn in [&listen, &inbound, &outbound] {
        assert!(conn.seeded, "listed, not seen opening: {conn:?}");
        assert_eq!(conn.netns, netns, "{conn:?}");
        assert_eq!(
            conn.state,
            ConnState::Closed,
            "its close was seen: {conn:?}"
        );
    }
    assert_eq!(
        outbound.peer,
        Some(node_conn(tree, id, Direction::Inbound)),
        "the two ends are linked"
    );
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// Listens and says its port; accepts only when told to on stdin, then
/// sends a byte (the connection's first use), says the peer's port, and
/// closes when told to.
const LATE_ACCEPTOR: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
say(port=s.getsockname()[1])
sys.stdin.readline()
a, _ = s.accept()
a.sendall(b'x')
say(accepted=a.getpeername()[1])
sys.stdin.readline()
a.close()
s.close()
"#;

#[test]
fn a_connection_waiting_to_be_accepted_at_start_shows_when_accepted() {
    let test = "a_connection_waiting_to_be_accepted_at_start_shows_when_accepted";
    if !probe_allowed(test) {
        return;
    }
    // Connected before the probe attaches, and left in the accept queue.
    let Held {
        mut server,
        mut server_out,
        mut client,
        lport,
        cport,
        s,
        c,
    } = held(LATE_ACCEPTOR);

    let mut server_in = server.stdin.take().expect("stdin");
    let mut client_in = client.stdin.take().expect("stdin");
    let cap = capture(
        move || {
            use std::io::Write;
            server_in.write_all(b"accept\n").expect("told to accept");
            assert_eq!(port(&next(&mut server_out), "accepted"), cport);
            server_in.write_all(b"close\n").expect("told to close");
            client_in.write_all(b"close\n").expect("told to close");
            assert!(server.wait().expect("server ran").success());
            assert!(client.wait().expect("client ran").success());
        },
        move |t| {
            t.nodes()
                .find(|(_, n)| n.key.pid == s.pid && n.key.start_tick() == s.tick)
                .is_some_and(|(_, n)| {
                    n.conns.iter().any(|&i| {
                        let conn = t.conn(i);
                        conn.direction == Direction::Inbound && conn.end.is_some()
                    })
                })
        },
        Duration::from_secs(60),
    );
    let tree = &cap.tree;
    let sid = node_of(tree, s);
    let inbound = conns_of(tree, sid, Direction::Inbound);
    let all: Vec<_> = tree.node(sid).conns.iter().map(|&i| tree.conn(i)).collect();
    assert_eq!(inbound.len(), 1, "one inbound connection among {all:?}");
    let conn = tree.conn(inbound[0]);
    let lo = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
    assert_eq!((conn.local, conn.remote), (lo(lport), lo(cport)));
    assert!(!conn.seeded, "reported when accepted, not listed: {conn:?}");
    assert_eq!(
        conn.state,
        ConnState::Closed,
        "its close was seen: {conn:?}"
    );
    assert_eq!(
        tree.peer_process(inbound[0]),
        Some(node_of(tree, c)),
        "the server is linked to the client"
    );
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

fn node_conn(tree: &CausalTree, id: NodeId, d: Direction) -> ConnId {
    conns_of(tree, id, d)[0]
}

/// Listens without binding first (the kernel picks the port at listen()),
/// says its port, and closes when told to on stdin.
const UNBOUND_LISTENER: &str = r#"
s = socket.socket()
s.listen(8)
say(port=s.getsockname()[1])
sys.stdin.readline()
s.close()
"#;

#[test]
fn a_listener_never_bound_shows_the_port_the_kernel_chose() {
    unbound_listener(
        "a_listener_never_bound_shows_the_port_the_kernel_chose",
        UNBOUND_LISTENER.into(),
    );
}

#[test]
fn a_listener_never_bound_in_a_container_shows_the_port_the_kernel_chose() {
    // Read from its own network namespace's list of sockets.
    unbound_listener(
        "a_listener_never_bound_in_a_container_shows_the_port_the_kernel_chose",
        format!("{NETNS}new_netns()\n{UNBOUND_LISTENER}"),
    );
}

/// `script` (UNBOUND_LISTENER, maybe in another network namespace): its
/// listener shows the port the kernel chose, and closes.
fn unbound_listener(test: &str, script: String) {
    use std::sync::atomic::{AtomicBool, Ordering};
    if !probe_allowed(test) {
        return;
    }
    let report: Arc<Mutex<Option<Value>>> = Arc::default();
    let seen = Arc::new(AtomicBool::new(false));
    let (r, s) = (Arc::clone(&report), Arc::clone(&seen));
    // The listener stays open until the tree has its port (or 20 s): the
    // port is read from the kernel while the listener exists.
    let work = move || {
        use std::io::Write;
        let mut child = python(&script)
            .stdin(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = lines.next().expect("a report").expect("readable");
        *r.lock().unwrap() = Some(serde_json::from_str(&line).expect("JSON"));
        let waited = std::time::Instant::now();
        while !s.load(Ordering::Relaxed) && waited.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"close\n").expect("told to close");
        assert!(child.wait().expect("ran").success());
    };
    let rep = Arc::clone(&report);
    let cap = capture(
        work,
        move |t| {
            let Some(v) = rep.lock().unwrap().clone() else {
                return false;
            };
            let w = who(&v);
            let Some((_, n)) = t
                .nodes()
                .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
            else {
                return false;
            };
            if n.conns
                .iter()
                .any(|&c| t.conn(c).local.port() == port(&v, "port"))
            {
                seen.store(true, Ordering::Relaxed);
            }
            !n.conns.is_empty() && n.conns.iter().all(|&c| t.conn(c).end.is_some())
        },
        Duration::from_secs(60),
    );
    let v = report
        .lock()
        .unwrap()
        .clone()
        .expect("the workload reported");
    let tree = &cap.tree;
    let id = node_of(tree, who(&v));
    let listen = conns_of(tree, id, Direction::Listen);
    assert_eq!(listen.len(), 1);
    let l = tree.conn(listen[0]);
    assert_eq!(l.local.port(), port(&v, "port"), "{l:?}");
    assert_eq!(l.state, ConnState::Closed);
}

/// Listens; on a line on stdin accepts one connection and says its peer's
/// port, then uses nothing (a hung worker) until the next line.
const IDLE_SERVER: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
say(port=s.getsockname()[1])
sys.stdin.readline()
a, _ = s.accept()
say(accepted=a.getpeername()[1])
sys.stdin.readline()
a.close()
s.close()
"#;

/// argv: port. Connects twice, sends on both, says both local ports, and
/// closes when told to on stdin.
const TWO_CLIENTS: &str = r#"
p = int(sys.argv[1])
c1 = socket.create_connection(('127.0.0.1', p))
c2 = socket.create_connection(('127.0.0.1', p))
c1.sendall(b'x' * 1000)
c2.sendall(b'x' * 1000)
say(ports=[c1.getsockname()[1], c2.getsockname()[1]])
sys.stdin.readline()
c1.close()
c2.close()
"#;

#[test]
fn connections_accepted_and_left_unused_or_left_queued_show() {
    let test = "connections_accepted_and_left_unused_or_left_queued_show";
    if !probe_allowed(test) {
        return;
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    // A server that accepts one connection and never reads it, with a
    // second one left in its accept queue: the probe reports an accept at
    // the socket's first use, so neither used to show until it ended.
    // The server, and the clients' ports.
    type Report = Option<(Who, Vec<u16>)>;
    let report: Arc<Mutex<Report>> = Arc::default();
    let seen = Arc::new(AtomicBool::new(false));
    let (r, s) = (Arc::clone(&report), Arc::clone(&seen));
    let work = move || {
        use std::io::Write;
        let (mut server, mut server_out) = started(IDLE_SERVER, &[]);
        let listening = next(&mut server_out);
        let lport = port(&listening, "port");
        let (mut client, mut client_out) = started(TWO_CLIENTS, &[lport.to_string()]);
        let ports: Vec<u16> =
            serde_json::from_value(next(&mut client_out)["ports"].clone()).expect("two ports");
        let mut server_in = server.stdin.take().expect("stdin");
        server_in.write_all(b"accept\n").expect("told to accept");
        assert_eq!(port(&next(&mut server_out), "accepted"), ports[0]);
        *r.lock().unwrap() = Some((who(&listening), ports));
        let waited = std::time::Instant::now();
        while !s.load(Ordering::Relaxed) && waited.elapsed() < Duration::from_secs(50) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut client_in = client.stdin.take().expect("stdin");
        client_in.write_all(b"close\n").expect("told to close");
        server_in.write_all(b"close\n").expect("told to close");
        assert!(client.wait().expect("client ran").success());
        assert!(server.wait().expect("server ran").success());
    };
    let (rep, shown) = (Arc::clone(&report), Arc::clone(&seen));
    let cap = capture(
        work,
        move |t| {
            let Some((w, _)) = rep.lock().unwrap().clone() else {
                return false;
            };
            let Some((_, n)) = t
                .nodes()
                .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)
            else {
                return false;
            };
            let inbound = |open: bool| {
                n.conns
                    .iter()
                    .filter(|&&i| {
                        let c = t.conn(i);
                        // While open, marked unused: no process used them.
                        c.direction == Direction::Inbound
                            && c.end.is_none() == open
                            && (!open || c.unused)
                    })
                    .count()
            };
            if inbound(true) == 2 {
                shown.store(true, Ordering::Relaxed);
            }
            shown.load(Ordering::Relaxed) && inbound(false) == 2
        },
        Duration::from_secs(60),
    );
    assert!(seen.load(Ordering::Relaxed), "both shown while open");
    let (s, ports) = report.lock().unwrap().clone().expect("reported");
    let tree = &cap.tree;
    let sid = node_of(tree, s);
    let inbound = conns_of(tree, sid, Direction::Inbound);
    let mut remote: Vec<u16> = inbound
        .iter()
        .map(|&i| tree.conn(i).remote.port())
        .collect();
    remote.sort_unstable();
    let mut want = ports.clone();
    want.sort_unstable();
    assert_eq!(remote, want, "both connections, each once, on the server");
    for &i in &inbound {
        let c = tree.conn(i);
        assert_eq!(c.state, ConnState::Closed, "{c:?}");
        assert!(
            tree.peer_process(i).is_some(),
            "linked to the client: {c:?}"
        );
    }
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// A UDP server: binds, says its port, answers one datagram, says who sent
/// it. argv: none.
const UDP_SERVER: &str = r#"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', 0))
say(port=s.getsockname()[1])
data, peer = s.recvfrom(100)
s.sendto(b'answer', peer)
say(peer=peer[1])
"#;

/// argv: port. Sends a query, reads the answer.
const UDP_CLIENT: &str = r#"
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.sendto(b'query', ('127.0.0.1', int(sys.argv[1])))
c.recvfrom(100)
say(local=c.getsockname()[1])
"#;

#[test]
fn a_udp_server_shows_where_it_receives() {
    let test = "a_udp_server_shows_where_it_receives";
    if !probe_allowed(test) {
        return;
    }
    type Report = Option<(Value, Value, Value)>;
    let out: Arc<Mutex<Report>> = Arc::default();
    let o = Arc::clone(&out);
    let cap = capture(
        move || {
            let (mut server, mut server_out) = started(UDP_SERVER, &[]);
            let bound = next(&mut server_out);
            let mut client = python(UDP_CLIENT);
            client.arg(port(&bound, "port").to_string());
            let sent = run(client);
            let answered = next(&mut server_out);
            assert!(server.wait().expect("server ran").success());
            *o.lock().unwrap() = Some((bound, answered, sent));
        },
        |_| out.lock().unwrap().is_some(),
        Duration::from_secs(20),
    );
    let (bound, answered, sent) = out.lock().unwrap().clone().expect("reported");
    let tree = &cap.tree;
    let udp = |v: &Value, d: Direction| -> Vec<Connection> {
        let id = node_of(tree, who(v));
        tree.node(id)
            .conns
            .iter()
            .map(|&c| tree.conn(c).clone())
            .filter(|c| c.protocol == Protocol::Udp && c.direction == d)
            .collect()
    };
    let lport = port(&bound, "port");
    let cport = port(&sent, "local");
    assert_eq!(port(&answered, "peer"), cport);
    // The server: where it receives, listening until it exits. Its answer
    // is no connection it made: reported as one, it showed the server as a
    // client, and its listening socket as closed at the answer.
    let listening = udp(&bound, Direction::Listen);
    assert_eq!(listening.len(), 1, "{listening:?}");
    assert_eq!(listening[0].local, addr(format!("127.0.0.1:{lport}")));
    let server = tree.node(node_of(tree, who(&bound)));
    assert_eq!(listening[0].end, server.exit_time, "{listening:?}");
    let answers = udp(&bound, Direction::Outbound);
    assert!(answers.is_empty(), "{answers:?}");
    // The client sent first: a destination, not a server, for its answer.
    let dest = udp(&sent, Direction::Outbound);
    assert_eq!(dest.len(), 1, "{dest:?}");
    assert_eq!(dest[0].remote, addr(format!("127.0.0.1:{lport}")));
    assert!(udp(&sent, Direction::Listen).is_empty());
    // Linked to the server it sent to, on this host.
    assert_eq!(
        dest[0].peer.map(|p| tree.conn(p).owner),
        Some(node_of(tree, who(&bound))),
        "{dest:?}"
    );
    journal_round_trip(&cap);
}

/// A connect that hangs: a listener's accept queue (`listen(0)`: one
/// connection) is filled by a connection nobody accepts, so the kernel
/// drops the SYNs of the next (`tcp_abort_on_overflow` 0, the default)
/// and it stays in SYN_SENT. Defines `boot_ns()` and `hang()`, which
/// returns the listener, the filler and the hanging socket, and the boot
/// clock just before and after the hanging connect() was called.
const HANG: &str = r#"
import select, time
SYN_SENT = 2
def boot_ns():
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)
def state(s):
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
def wait_line():
    # Not for ever: a test that never says so fails, and does not hang.
    # Two minutes: the script starts before its test's probe, which may
    # wait its turn behind the other tests' (a line timed out and then
    # read at the next wait would skip a step).
    if select.select([sys.stdin], [], [], 120)[0]:
        sys.stdin.readline()
def hang():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(0)
    filler = socket.create_connection(s.getsockname())
    time.sleep(0.05)
    w = socket.socket()
    w.setblocking(False)
    before = boot_ns()
    w.connect_ex(s.getsockname())
    after = boot_ns()
    time.sleep(0.05)
    assert state(w) == SYN_SENT, 'the connect was answered: no hang here'
    return s, filler, w, before, after
"#;

/// A connect established at once, to a listener of its own; then one that
/// hangs, until a line on stdin says to give up on it: it is closed still
/// connecting.
const HANGING_CLIENT: &str = r#"
quick_l = socket.socket()
quick_l.bind(('127.0.0.1', 0))
quick_l.listen(8)
quick = socket.create_connection(quick_l.getsockname())
s, filler, w, before, after = hang()
say(port=s.getsockname()[1], quick=quick.getsockname()[1], hanging=w.getsockname()[1],
    before=before, after=after)
wait_line()
assert state(w) == SYN_SENT
w.close()
ended = boot_ns()
for x in (filler, s, quick, quick_l):
    x.close()
say(ended=ended)
"#;

/// What a hanging-connect test waits on: the script's reports, and when
/// the tree first showed the connect connecting (its latest event's time
/// then).
#[derive(Default)]
struct Hang {
    first: Option<Value>,
    last: Option<Value>,
    /// The script's stdin, until it is told to go on.
    stdin: Option<std::process::ChildStdin>,
    seen_connecting: Option<u64>,
}

/// The outbound connection of `w` from local port `port`, if the tree has
/// it.
fn conn_from(tree: &CausalTree, w: Who, port: u16) -> Option<&Connection> {
    let (_, n) = tree
        .nodes()
        .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)?;
    n.conns
        .iter()
        .map(|&c| tree.conn(c))
        .find(|c| c.direction == Direction::Outbound && c.local.port() == port)
}

#[test]
fn a_connect_that_hangs_shows_connecting_and_keeps_its_start_when_it_ends() {
    let test = "a_connect_that_hangs_shows_connecting_and_keeps_its_start_when_it_ends";
    if !probe_allowed(test) {
        return;
    }
    let hang: Arc<Mutex<Hang>> = Arc::default();
    let h = Arc::clone(&hang);
    let cap = capture(
        move || {
            let (mut child, mut out) = started(&format!("{HANG}{HANGING_CLIENT}"), &[]);
            let first = next(&mut out);
            {
                let mut h = h.lock().unwrap();
                h.first = Some(first);
                h.stdin = child.stdin.take();
            }
            let last = next(&mut out);
            assert!(child.wait().expect("the client ran").success());
            h.lock().unwrap().last = Some(last);
        },
        |t| {
            use std::io::Write;
            let mut h = hang.lock().unwrap();
            let Some(first) = h.first.clone() else {
                return false;
            };
            let c = conn_from(t, who(&first), port(&first, "hanging"));
            if h.seen_connecting.is_none() && c.is_some_and(|c| c.state == ConnState::Connecting) {
                h.seen_connecting = Some(t.last_ktime());
                if let Some(mut stdin) = h.stdin.take() {
                    stdin.write_all(b"give up\n").expect("told to give up");
                }
            }
            h.last.is_some() && c.is_some_and(|c| c.end.is_some())
        },
        Duration::from_secs(40),
    );
    let h = hang.lock().unwrap();
    let first = h.first.clone().expect("the client reported");
    let seen = h
        .seen_connecting
        .expect("the hanging connect was shown connecting while it hung");
    let ended = h.last.as_ref().expect("the client ended")["ended"]
        .as_u64()
        .unwrap();
    let (before, after) = (
        first["before"].as_u64().unwrap(),
        first["after"].as_u64().unwrap(),
    );
    let tree = &cap.tree;
    let w = who(&first);
    let c = conn_from(tree, w, port(&first, "hanging")).expect("the hanging connect");
    // It started at its connect() call, not when it ended; it was shown
    // while it hung (the script gives up on it only once told it was, or
    // after 30 s), once in flight for 2 s.
    assert!(
        (before..=after).contains(&c.start),
        "start {} not within connect() [{before}, {after}]: {c:?}",
        c.start
    );
    assert!(
        seen >= c.start + 2_000_000_000,
        "shown after 2 s, not before"
    );
    assert_eq!(c.state, ConnState::Closed);
    assert_eq!(c.failure(), Some(Failure::Abandoned), "{c:?}");
    assert!(!c.seeded, "its connect() was seen: {c:?}");
    let end = c.end.expect("ended");
    assert!(end <= ended && end > seen, "{c:?}");
    assert_eq!(c.remote.port(), port(&first, "port"));
    // One connection for it, not one for being connecting and another for
    // its end.
    let id = node_of(tree, w);
    let same: Vec<_> = tree
        .node(id)
        .conns
        .iter()
        .filter(|&&i| tree.conn(i).cookie == c.cookie)
        .collect();
    assert_eq!(same.len(), 1);
    // The quick connect: from its connect() call, which comes before its
    // establishment (the record's own time).
    let q = conn_from(tree, w, port(&first, "quick")).expect("the quick connect");
    let established = cap
        .messages
        .iter()
        .find_map(|m| match m {
            causeway::event::Message::Event(ev) => match &ev.kind {
                causeway::event::EventKind::Net(n)
                    if n.kind == causeway::event::NetKind::Connect && n.cookie == q.cookie =>
                {
                    Some((ev.ktime, n.opened))
                }
                _ => None,
            },
            _ => None,
        })
        .expect("the quick connect's record");
    assert_eq!(q.start, established.1, "{q:?}");
    assert!(
        q.start < established.0 && q.start < before,
        "{q:?} {established:?}"
    );
    assert!(!c.seeded && q.state == ConnState::Closed);
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// A connect that hangs from before causeway starts: after a line on
/// stdin the filler is accepted, and the hanging connect's next SYN is
/// answered; after another, everything is closed.
const HUNG_BEFORE: &str = r#"
s, filler, w, before, after = hang()
say(port=s.getsockname()[1], hanging=w.getsockname()[1])
wait_line()
a, _ = s.accept()
# The SYN is sent again after 1, 2, 4, 8, 16, 32 s: after a long wait for
# the probe, the next may be half a minute off.
select.select([], [w], [], 120)
assert w.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
say(established=boot_ns())
wait_line()
for x in (w, a, filler, s):
    x.close()
"#;

#[test]
fn a_connect_hanging_when_causeway_starts_is_listed_connecting_then_open() {
    let test = "a_connect_hanging_when_causeway_starts_is_listed_connecting_then_open";
    if !probe_allowed(test) {
        return;
    }
    use std::io::Write;
    let (mut child, mut out) = started(&format!("{HANG}{HUNG_BEFORE}"), &[]);
    let first = next(&mut out);
    let (w, hanging) = (who(&first), port(&first, "hanging"));
    let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
    // Once the tree shows it listed connecting: accept, so that it is
    // established; once it shows it open: close.
    let said = Arc::new(Mutex::new(Vec::<ConnState>::new()));
    let (s2, said2) = (Arc::clone(&stdin), Arc::clone(&said));
    let established: Arc<Mutex<Option<Value>>> = Arc::default();
    let e2 = Arc::clone(&established);
    let cap = capture(
        move || {
            *e2.lock().unwrap() = Some(next(&mut out));
            assert!(child.wait().expect("the script ran").success());
        },
        move |t| {
            let Some(c) = conn_from(t, w, hanging) else {
                return false;
            };
            let mut said = said2.lock().unwrap();
            let state = c.state;
            if said.last() != Some(&state) {
                said.push(state);
                if matches!(state, ConnState::Connecting | ConnState::Open) {
                    s2.lock().unwrap().write_all(b"go on\n").expect("told");
                }
            }
            c.end.is_some()
        },
        // The next SYN may come a minute after the accept (see the script).
        Duration::from_secs(150),
    );
    let said = said.lock().unwrap().clone();
    assert_eq!(
        said,
        [ConnState::Connecting, ConnState::Open, ConnState::Closed],
        "the states it showed, in order"
    );
    let tree = &cap.tree;
    let c = conn_from(tree, w, hanging).expect("the connect");
    assert!(c.seeded, "listed at start: its start is a bound: {c:?}");
    assert_ne!(c.ending.from, TCP_SYN_SENT, "established: {c:?}");
    assert_eq!(c.remote.port(), port(&first, "port"));
    let established = established.lock().unwrap().clone().expect("established");
    assert!(c.start < established["established"].as_u64().unwrap());
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

/// A server that leaks a connection: accepts one, reads it to its end
/// (the client closed), says the client's port, and keeps it open, in
/// `CLOSE_WAIT`, until told on stdin.
const LEAKY_SERVER: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
say(port=s.getsockname()[1])
a, peer = s.accept()
while a.recv(100):
    pass
say(peer_closed=peer[1])
sys.stdin.readline()
a.close()
s.close()
"#;

/// argv: port. Connects, sends, closes.
const ONE_SHOT_CLIENT: &str = r#"
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
c.sendall(b'x')
c.close()
"#;

/// Process `w`'s inbound connection from port `port`.
fn inbound_from(tree: &CausalTree, w: Who, port: u16) -> Option<ConnId> {
    let (_, n) = tree
        .nodes()
        .find(|(_, n)| n.key.pid == w.pid && n.key.start_tick() == w.tick)?;
    n.conns.iter().copied().find(|&c| {
        let c = tree.conn(c);
        c.direction == Direction::Inbound && c.remote.port() == port
    })
}

/// A connection whose client closed and whose server (`server`, a script
/// like LEAKY_SERVER) holds it (`CLOSE_WAIT`) shows `close-wait` on the
/// server until the server closes it, then closed from `LAST_ACK`, keeping
/// when its peer was found closed. `before`: the leak happens before
/// causeway starts (found by the listing at start); else while it runs
/// (found by the sweep). A server that says a `worker` handed the
/// connection to one that used it first: it is the server's all the same.
fn close_wait_shows(test: &str, before: bool, server: &'static str) {
    if !probe_allowed(test) {
        return;
    }
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    // The server, the client's port and the worker.
    type Leak = (Who, u16, Option<Who>);
    let leak = move || {
        let (server, mut server_out) = started(server, &[]);
        let listening = next(&mut server_out);
        let mut client = python(ONE_SHOT_CLIENT);
        client.arg(port(&listening, "port").to_string());
        assert!(client.status().expect("client ran").success());
        let mut said = next(&mut server_out);
        let worker = said.get("worker").map(|_| who(&said));
        if worker.is_some() {
            said = next(&mut server_out);
        }
        (
            server,
            (who(&listening), port(&said, "peer_closed"), worker),
        )
    };
    let report: Arc<Mutex<Option<Leak>>> = Arc::default();
    let seen = Arc::new(AtomicBool::new(false));
    let mut early = before.then(leak);
    if let Some((_, l)) = &early {
        *report.lock().unwrap() = Some(*l);
    }
    let (r, s) = (Arc::clone(&report), Arc::clone(&seen));
    let work = move || {
        let (mut server, _) = early.take().unwrap_or_else(|| {
            let (server, l) = leak();
            *r.lock().unwrap() = Some(l);
            (server, l)
        });
        // The sweep lists the kernel's sockets every 10 s.
        let waited = std::time::Instant::now();
        while !s.load(Ordering::Relaxed) && waited.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut server_in = server.stdin.take().expect("stdin");
        server_in.write_all(b"close\n").expect("told to close");
        assert!(server.wait().expect("server ran").success());
    };
    let (rep, shown) = (Arc::clone(&report), Arc::clone(&seen));
    let cap = capture(
        work,
        move |t| {
            let Some((w, cport, _)) = *rep.lock().unwrap() else {
                return false;
            };
            let Some(c) = inbound_from(t, w, cport).map(|c| t.conn(c)) else {
                return false;
            };
            if c.state == ConnState::CloseWait {
                shown.store(true, Ordering::Relaxed);
            }
            shown.load(Ordering::Relaxed) && c.end.is_some()
        },
        Duration::from_secs(90),
    );
    assert!(seen.load(Ordering::Relaxed), "shown close-wait while held");
    let (s, cport, worker) = report.lock().unwrap().expect("reported");
    let tree = &cap.tree;
    let id = inbound_from(tree, s, cport).expect("the leaked connection, on the server");
    let c = tree.conn(id);
    assert_eq!(c.state, ConnState::Closed, "{c:?}");
    assert_eq!(c.ending.from, TCP_LAST_ACK, "the peer closed first: {c:?}");
    let (found, end) = (c.peer_closed.expect("when found"), c.end.expect("ended"));
    assert!(c.start <= found && found <= end, "{c:?}");
    let server = node_of(tree, s);
    assert_eq!(tree.node(server).conn_counts.close_wait, 0, "closed since");
    if let Some(w) = worker {
        assert!(
            inbound_from(tree, w, cport).is_none(),
            "no longer on the worker, which used it first"
        );
        assert_eq!(tree.node(node_of(tree, w)).conn_counts.inbound, 0);
    }
    if before {
        // Listed at start so: found when it was listed.
        assert!(c.seeded && c.peer_closed == Some(c.start), "{c:?}");
    } else {
        assert!(!c.seeded && found > c.start, "found by a sweep: {c:?}");
        assert!(
            tree.peer_process(id).is_some(),
            "linked to the client: {c:?}"
        );
    }
    assert_eq!(cap.lost(), 0);
    journal_round_trip(&cap);
}

#[test]
fn a_connection_its_peer_closed_and_its_server_holds_shows_close_wait() {
    close_wait_shows(
        "a_connection_its_peer_closed_and_its_server_holds_shows_close_wait",
        false,
        LEAKY_SERVER,
    );
}

#[test]
fn a_connection_in_close_wait_when_causeway_starts_is_listed_so() {
    close_wait_shows(
        "a_connection_in_close_wait_when_causeway_starts_is_listed_so",
        true,
        LEAKY_SERVER,
    );
}

#[test]
fn a_connection_in_close_wait_is_on_the_process_still_holding_it() {
    close_wait_shows(
        "a_connection_in_close_wait_is_on_the_process_still_holding_it",
        false,
        FORGETFUL_FORKING_SERVER,
    );
}

/// A forking server whose worker serves a connection to its end and
/// exits, while the server forgets to close its own copy: the leak is
/// the server's. Says its port, then the worker's identity, then the
/// client's port once the worker is done; closes when told on stdin.
const FORGETFUL_FORKING_SERVER: &str = r#"
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(8)
say(port=s.getsockname()[1])
a, peer = s.accept()
pid = os.fork()
if pid == 0:
    while a.recv(100):
        pass
    a.close()
    say(worker=True)
    os._exit(0)
os.waitpid(pid, 0)
say(peer_closed=peer[1])
sys.stdin.readline()
a.close()
s.close()
"#;
