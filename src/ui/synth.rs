//! Synthetic message streams, for the view's tests, its benchmark and for
//! trying the view without root (`causeway replay` of a generated
//! journal). Deterministic: the same call gives the same messages.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::event::{
    Direction, Event, EventKind, ExecInfo, ExitStatus, Groups, Message, NetInfo, NetKind, ProcKey,
    Protocol, SeedProcess,
};
use crate::journal::Header;

/// A fixed header: host "testhost", booted at 2026-01-01T00:00:00Z.
pub fn header() -> Header {
    Header {
        version: crate::journal::FORMAT_VERSION,
        hostname: "testhost".to_string(),
        kernel: "6.1.0-test".to_string(),
        boot_time_ns: 1_767_225_600_000_000_000,
        causeway: env!("CARGO_PKG_VERSION").to_string(),
        continued: false,
        run: None,
        file: None,
    }
}

/// Builds a message stream process by process, on a clock that advances
/// 1 ms per message.
#[derive(Clone, Debug)]
pub struct Synth {
    pub messages: Vec<Message>,
    /// Boot-time ns of the next message.
    pub now: u64,
    next_pid: u32,
    next_cookie: u64,
    /// Each process's uid, so that later events about it carry it.
    uids: HashMap<ProcKey, u32>,
    /// The network namespace of the sockets that follow.
    pub netns: u32,
}

impl Default for Synth {
    fn default() -> Self {
        Self::new()
    }
}

const STEP: u64 = 1_000_000;

/// The network namespace of the synthetic sockets (the number the host's
/// own namespace usually has).
pub const HOST_NETNS: u32 = 4_026_531_840;

impl Synth {
    /// Starts at 100 s after boot.
    pub fn new() -> Self {
        Synth {
            messages: Vec::new(),
            now: 100_000_000_000,
            next_pid: 1000,
            next_cookie: 1,
            uids: HashMap::new(),
            netns: HOST_NETNS,
        }
    }

    fn tick(&mut self) -> u64 {
        let t = self.now;
        self.now += STEP;
        t
    }

    fn uid(&self, proc: ProcKey) -> u32 {
        self.uids.get(&proc).copied().unwrap_or(0)
    }

    /// A process that existed before the start (from the /proc scan).
    /// Names cgroup `id` (events here are in cgroup 42, seeds in 1).
    pub fn cgroup(&mut self, id: u64, path: &str) {
        self.messages.push(Message::Cgroup {
            id,
            path: path.to_string(),
        });
    }

    pub fn seed(
        &mut self,
        pid: u32,
        parent: Option<ProcKey>,
        comm: &str,
        argv: &[&str],
    ) -> ProcKey {
        let key = ProcKey::new(pid, pid as u64 * 10_000_000);
        self.messages.push(Message::Seed(SeedProcess {
            proc: key,
            parent,
            uid: 0,
            gid: 0,
            cgroup: 1,
            comm: comm.into(),
            exe: argv
                .first()
                .map(|a| format!("/usr/bin/{a}").into_bytes())
                .unwrap_or_default(),
            exe_deleted: false,
            argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            argv_truncated: false,
            defunct: None,
            groups: Default::default(),
        }));
        key
    }

    /// A process the scan listed running `exe` (as `/proc/PID/exe` names
    /// it), `deleted` when that file had no links.
    pub fn seed_exe(
        &mut self,
        (pid, parent): (u32, Option<ProcKey>),
        comm: &str,
        (exe, deleted): (&str, bool),
        argv: &[&str],
    ) -> ProcKey {
        let key = self.seed(pid, parent, comm, argv);
        if let Some(Message::Seed(s)) = self.messages.last_mut() {
            s.exe = exe.as_bytes().to_vec();
            s.exe_deleted = deleted;
        }
        key
    }

    fn event(&mut self, proc: ProcKey, parent: ProcKey, uid: u32, comm: &str, kind: EventKind) {
        let ktime = self.tick();
        self.uids.insert(proc, uid);
        self.messages.push(Message::Event(Event {
            ktime,
            proc,
            tid: proc.pid,
            parent,
            uid,
            gid: uid,
            cgroup: 42,
            comm: comm.into(),
            kind,
        }));
    }

    /// `parent` forks a child; returns the child's key.
    pub fn fork(&mut self, parent: ProcKey, comm: &str, uid: u32) -> ProcKey {
        let pid = self.next_pid;
        self.next_pid += 1;
        let key = ProcKey::new(pid, self.now);
        self.event(key, parent, uid, comm, EventKind::Fork);
        key
    }

    pub fn exec(&mut self, proc: ProcKey, parent: ProcKey, uid: u32, exe: &str, argv: &[&str]) {
        self.exec_file(proc, parent, uid, (exe, ""), false, argv);
    }

    /// An exec of `exe` (the path given) that ran `file` (as the probe
    /// resolves it; "" for not known, as in an older journal), `deleted`
    /// when it had no links.
    /// A chain of `depth` shells (`sh -c x`) under `under`, each the
    /// last's child: the innermost, for a row deep in the tree.
    pub fn nested(&mut self, under: ProcKey, depth: usize) -> ProcKey {
        (0..depth).fold(under, |parent, _| {
            self.spawn(parent, 0, "/bin/sh", &["sh", "-c", "x"])
        })
    }

    pub fn exec_file(
        &mut self,
        proc: ProcKey,
        parent: ProcKey,
        uid: u32,
        (exe, file): (&str, &str),
        deleted: bool,
        argv: &[&str],
    ) {
        // The kernel names it after the path given.
        let comm = exe.rsplit('/').next().unwrap_or(exe).to_string();
        let info = ExecInfo {
            exe: exe.as_bytes().to_vec(),
            file: file.as_bytes().to_vec(),
            deleted,
            argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            argv_truncated: false,
            old_tid: 0,
        };
        self.event(proc, parent, uid, &comm, EventKind::Exec(info));
    }

    /// An exec of a program named by bytes that need not be UTF-8 (the
    /// comm, as the kernel and causeway keep it: the name's first 15
    /// bytes, decoded lossily).
    pub fn exec_bytes(&mut self, proc: ProcKey, parent: ProcKey, exe: &[u8], argv: &[&[u8]]) {
        let base = exe.rsplit(|&b| b == b'/').next().unwrap_or(exe);
        let comm = String::from_utf8_lossy(&base[..base.len().min(15)]).into_owned();
        let info = ExecInfo {
            exe: exe.to_vec(),
            file: Vec::new(),
            deleted: false,
            argv: argv.iter().map(|a| a.to_vec()).collect(),
            argv_truncated: false,
            old_tid: 0,
        };
        let uid = self.uid(proc);
        self.event(proc, parent, uid, &comm, EventKind::Exec(info));
    }

    /// fork + exec.
    pub fn spawn(&mut self, parent: ProcKey, uid: u32, exe: &str, argv: &[&str]) -> ProcKey {
        let comm = exe.rsplit('/').next().unwrap_or(exe);
        let key = self.fork(parent, comm, uid);
        self.exec(key, parent, uid, exe, argv);
        key
    }

    pub fn exit(&mut self, proc: ProcKey, parent: ProcKey, status: ExitStatus) {
        let uid = self.uid(proc);
        self.event(
            proc,
            parent,
            uid,
            "",
            EventKind::Exit {
                status,
                reaper: None,
            },
        );
    }

    /// `signal` sent to `to` (whose parent is `parent`) by `from`, or by
    /// the kernel.
    pub fn signal(&mut self, to: ProcKey, parent: ProcKey, signal: i32, from: Option<ProcKey>) {
        let uid = self.uid(to);
        let sender = from.map(|p| crate::event::Sender {
            proc: p,
            uid: self.uid(p),
            comm: "kill".into(),
        });
        let code = if from.is_some() { 0 } else { 0x80 };
        let info = crate::event::SignalInfo {
            signal,
            code,
            sender,
            oom: false,
        };
        self.event(to, parent, uid, "", EventKind::Signal(info));
    }

    /// `parent` (itself a child of init, pid 1) starts a process that sends
    /// itself `signal` and dies of it (`kill $$`).
    pub fn killed_by_itself(
        &mut self,
        parent: ProcKey,
        exe: &str,
        argv: &[&str],
        signal: i32,
    ) -> ProcKey {
        let p = self.spawn(parent, 0, exe, argv);
        self.killed_by_itself_now(p, parent, signal);
        p
    }

    /// `p` sends itself `signal` and dies of it.
    fn killed_by_itself_now(&mut self, p: ProcKey, parent: ProcKey, signal: i32) {
        self.signal(p, parent, signal, Some(p));
        let status = ExitStatus::Signal {
            signal,
            core_dumped: false,
        };
        self.exit(p, parent, status);
    }

    /// The OOM killer's SIGKILL to `to`, when `trigger` needed memory: the
    /// kernel's signal, then the OOM killer's choice, as the probe sends
    /// them.
    pub fn oom_kill(&mut self, to: ProcKey, parent: ProcKey, trigger: ProcKey) {
        self.signal(to, parent, 9, None);
        let info = crate::event::SignalInfo {
            signal: 9,
            code: 0x80,
            sender: Some(crate::event::Sender {
                proc: trigger,
                uid: self.uid(trigger),
                comm: "stress".into(),
            }),
            oom: true,
        };
        let uid = self.uid(to);
        self.event(to, parent, uid, "", EventKind::Signal(info));
    }

    pub fn lost(&mut self, count: u64) {
        let ktime = self.tick();
        self.messages.push(Message::Lost { ktime, count });
    }

    /// A local TCP connection from `client` to `server` (listening on
    /// `port`), seen from both ends so the tree links them.
    pub fn local_tcp(&mut self, client: (ProcKey, ProcKey), server: (ProcKey, ProcKey), port: u16) {
        let cport = 40_000 + (self.next_cookie % 20_000) as u16;
        let c: SocketAddr = SocketAddr::from(([127, 0, 0, 1], cport));
        let s: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
        let cookie = self.next_cookie;
        self.next_cookie += 2;
        self.net(client, NetKind::Connect, Direction::Outbound, c, s, cookie);
        self.net(
            server,
            NetKind::Accept,
            Direction::Inbound,
            s,
            c,
            cookie + 1,
        );
    }

    /// A socket event for `who` = (process, its parent), in the namespace
    /// [`Synth::netns`] names ([`HOST_NETNS`] unless changed).
    pub fn net(
        &mut self,
        who: (ProcKey, ProcKey),
        kind: NetKind,
        direction: Direction,
        local: SocketAddr,
        remote: SocketAddr,
        cookie: u64,
    ) {
        let info = NetInfo {
            kind,
            protocol: Protocol::Tcp,
            direction,
            local,
            remote,
            cookie,
            netns: self.netns,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            opened: 0,
        };
        let uid = self.uid(who.0);
        self.event(who.0, who.1, uid, "", EventKind::Net(info));
    }

    /// The close of `who`'s TCP connection `cookie`, with what it carried
    /// and how it ended.
    #[allow(clippy::too_many_arguments)]
    pub fn close(
        &mut self,
        who: (ProcKey, ProcKey),
        direction: Direction,
        (local, remote): (SocketAddr, SocketAddr),
        cookie: u64,
        (bytes_sent, bytes_received): (u64, u64),
        ending: crate::event::Ending,
    ) {
        self.net(who, NetKind::Close, direction, local, remote, cookie);
        if let Some(Message::Event(e)) = self.messages.last_mut() {
            if let EventKind::Net(n) = &mut e.kind {
                n.bytes_sent = bytes_sent;
                n.bytes_received = bytes_received;
                n.ending = ending;
            }
        }
    }

    /// A second recording read after this one, 1.2 s later (a `Gap` from
    /// `rr.jsonl.1` to `rr.jsonl`), that listed `listed` when it began,
    /// and a process `cron` (pid 4321, under `parent`) that started in the
    /// stretch between, unseen, which its scan found. Returns when the
    /// stretch began and ended, and the unseen process.
    pub fn gap(&mut self, listed: Vec<ProcKey>, parent: ProcKey) -> (u64, u64, ProcKey) {
        let from = self.now;
        let to = from + 1_200_000_000;
        self.messages.push(Message::Gap(Box::new(crate::event::Gap {
            stretch: crate::event::Stretch::between("rr.jsonl.1", "rr.jsonl", from, to),
            procs: listed,
            sockets: vec![],
        })));
        let unseen = ProcKey::new(4321, from + 500_000_000);
        self.messages.push(Message::Seed(SeedProcess {
            proc: unseen,
            parent: Some(parent),
            comm: "cron".into(),
            ..Default::default()
        }));
        (from, to, unseen)
    }

    /// `who` renamed itself (`prctl(PR_SET_NAME)`) to `comm`, as its next
    /// event says: a connect to 127.0.0.1:4444 (cookie `cookie`).
    pub fn renamed(&mut self, who: (ProcKey, ProcKey), comm: &str, cookie: u64) {
        let local = SocketAddr::from(([127, 0, 0, 1], 40_444));
        let c2 = SocketAddr::from(([127, 0, 0, 1], 4444));
        self.net(
            who,
            NetKind::Connect,
            Direction::Outbound,
            local,
            c2,
            cookie,
        );
        if let Some(Message::Event(e)) = self.messages.last_mut() {
            e.comm = comm.into();
        }
    }

    /// Outbound TCP connections of `who` to 127.0.0.1:443, one per cookie
    /// (its local port derived from the cookie), each closed at once
    /// unless `open(cookie)`.
    pub fn outbound_churn(
        &mut self,
        who: (ProcKey, ProcKey),
        cookies: std::ops::Range<u64>,
        open: impl Fn(u64) -> bool,
    ) {
        let server = SocketAddr::from(([127, 0, 0, 1], 443));
        for cookie in cookies {
            // Below 61,024: the cast cannot truncate.
            let local = SocketAddr::from(([127, 0, 0, 1], 1024 + (cookie % 60_000) as u16));
            let out = Direction::Outbound;
            self.net(who, NetKind::Connect, out, local, server, cookie);
            if !open(cookie) {
                self.net(who, NetKind::Close, out, local, server, cookie);
            }
        }
    }

    pub fn listen(&mut self, who: (ProcKey, ProcKey), port: u16) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.net(
            who,
            NetKind::Listen,
            Direction::Listen,
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from(([0, 0, 0, 0], 0)),
            cookie,
        );
    }
}

/// A small host with a story: init and kthreadd from the scan, an ssh
/// session running a build whose compiler fails, a killed sleep, a web
/// server with a local client connection, a process whose parent was
/// never seen, and lost events.
/// A miner: `python3 /tmp/kw.py`, started by init, that renamed itself
/// `kworker/0:1` (as its next event, a connect to :4444, says); with the
/// synth, to add more, and its key.
pub fn renamed_miner() -> (Synth, ProcKey, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let miner = s.spawn(init, 0, "/usr/bin/python3", &["python3", "/tmp/kw.py"]);
    s.renamed((miner, init), "kworker/0:1", 9);
    (s, init, miner)
}

/// What processes ran, as the kernel has it, under init: `python3` listed
/// at start (pid 500, as `/proc/PID/exe` names it, `python3.11`) and one
/// seen exec'd; `sh -c` (`dash`), a login shell, sshd's privileged child,
/// a script; `./x` deleted before it ran, and one listed at start whose
/// file was deleted (pid 600); a python3 that exec'd a memfd as
/// `[kworker/u4:2]`. The synth, and the keys: the exec'd python3, the
/// shell, the deleted `x`, the memfd.
pub fn fileless() -> (Synth, [ProcKey; 4]) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    s.seed_exe(
        (500, Some(init)),
        "python3",
        ("/usr/bin/python3.11", false),
        &["python3", "app.py"],
    );
    s.seed_exe(
        (600, Some(init)),
        "old",
        ("/tmp/drill/old", true),
        &["./old", "300"],
    );
    let run = |s: &mut Synth, (exe, file): (&str, &str), deleted: bool, argv: &[&str]| {
        let k = s.fork(init, "systemd", 0);
        s.exec_file(k, init, 0, (exe, file), deleted, argv);
        k
    };
    let py = run(
        &mut s,
        ("/usr/bin/python3", "/usr/bin/python3.11"),
        false,
        &["python3", "app.py"],
    );
    let shell = run(
        &mut s,
        ("/bin/sh", "/usr/bin/dash"),
        false,
        &["sh", "-c", "true"],
    );
    run(&mut s, ("/bin/bash", "/usr/bin/bash"), false, &["-bash"]);
    run(
        &mut s,
        ("/usr/sbin/sshd", "/usr/sbin/sshd"),
        false,
        &["sshd: alice [priv]"],
    );
    run(
        &mut s,
        ("/opt/run.sh", "/usr/bin/dash"),
        false,
        &["/bin/sh", "/opt/run.sh"],
    );
    let x = run(&mut s, ("./x", "/tmp/drill/x"), true, &["./x", "300"]);
    let memfd = run(
        &mut s,
        ("/usr/bin/python3", "/usr/bin/python3.11"),
        false,
        &["python3", "-c", "…"],
    );
    s.exec_file(
        memfd,
        init,
        0,
        ("/proc/self/fd/3", "/memfd:payload"),
        true,
        &["[kworker/u4:2]", "-q"],
    );
    (s, [py, shell, x, memfd])
}

/// A shell (`sh`) under init that started `daemon` and exited; the daemon,
/// handed to init, then ran `daemon --fg`: `(messages, shell, daemon)`.
pub fn reparented() -> (Vec<Message>, ProcKey, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let shell = s.spawn(init, 0, "/bin/sh", &["sh"]);
    let daemon = s.spawn(shell, 0, "/usr/bin/daemon", &["daemon"]);
    s.exit(shell, init, ExitStatus::Code(0));
    s.exec(daemon, init, 0, "/usr/bin/daemon2", &["daemon2", "--fg"]);
    (s.messages, shell, daemon)
}

/// An orphan init adopted before causeway began: `python3 kw.py` (pid
/// 600) listed under init, in session 598, which it does not lead.
pub fn adopted_orphan() -> (Vec<Message>, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let orphan = s.seed(600, Some(init), "python3", &["python3", "kw.py"]);
    if let Some(Message::Seed(p)) = s.messages.last_mut() {
        p.groups = Groups {
            session: 598,
            pgid: 598,
        };
    }
    (s.messages, orphan)
}

pub fn demo() -> Vec<Message> {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd", "--system"]);
    let kthreadd = s.seed(2, None, "kthreadd", &[]);
    for i in 0..3 {
        s.seed(10 + i, Some(kthreadd), &format!("kworker/{i}:0"), &[]);
    }
    let sshd = s.seed(500, Some(init), "sshd", &["sshd", "-D"]);
    let nginx = s.seed(600, Some(init), "nginx", &["nginx", "-g", "daemon off;"]);
    s.listen((nginx, init), 8080);
    let session = s.spawn(sshd, 0, "/usr/sbin/sshd", &["sshd: alice [priv]"]);
    let bash = s.spawn(session, 1000, "/usr/bin/bash", &["-bash"]);
    let make = s.spawn(bash, 1000, "/usr/bin/make", &["make", "-j2", "all"]);
    let cc_ok = s.spawn(
        make,
        1000,
        "/usr/bin/cc",
        &["cc", "-c", "main.c", "-o", "main.o"],
    );
    s.exit(cc_ok, make, ExitStatus::Code(0));
    let cc_bad = s.spawn(make, 1000, "/usr/bin/cc", &["cc", "-c", "broken.c"]);
    s.exit(cc_bad, make, ExitStatus::Code(1));
    s.exit(make, bash, ExitStatus::Code(2));
    let sleep = s.spawn(bash, 1000, "/usr/bin/sleep", &["sleep", "1000"]);
    s.exit(
        sleep,
        bash,
        ExitStatus::Signal {
            signal: 9,
            core_dumped: false,
        },
    );
    let curl = s.spawn(
        bash,
        1000,
        "/usr/bin/curl",
        &["curl", "http://127.0.0.1:8080/"],
    );
    s.local_tcp((curl, bash), (nginx, init), 8080);
    // A process whose parent (pid 77) was never seen.
    let stray = ProcKey::new(4000, s.now);
    s.exec(
        stray,
        ProcKey::new(77, 5),
        0,
        "/usr/bin/cron-job",
        &["cron-job", "--nightly"],
    );
    s.lost(3);
    s.messages
}

/// A deterministic xorshift generator (no dependency needed for tests).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

/// A host of `n` processes: init and a few daemons, then shells and
/// builds with a realistic spread (most processes have few children, a
/// few have many), a third of them exited, some with failures.
pub fn host(n: usize, seed: u64) -> Vec<Message> {
    let mut s = Synth::new();
    let mut rng = Rng::new(seed);
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let mut procs: Vec<(ProcKey, ProcKey)> = vec![(init, ProcKey::default())];
    let names = [
        "bash", "make", "cc", "python3", "sh", "git", "ld", "cargo", "rustc",
    ];
    while procs.len() < n {
        // Prefer recent processes as parents (builds are bursts of
        // nested work), sometimes an old one (daemons spawning).
        let len = procs.len() as u64;
        let i = if rng.below(4) == 0 {
            rng.below(len.min(64))
        } else {
            len - 1 - rng.below(len.min(32))
        };
        let parent = procs[i as usize].0;
        let name = names[rng.below(names.len() as u64) as usize];
        let arg = format!("task-{}", procs.len());
        let exe = format!("/usr/bin/{name}");
        let child = s.spawn(parent, 1000, &exe, &[name, "--job", &arg]);
        procs.push((child, parent));
        if rng.below(3) == 0 {
            let status = match rng.below(10) {
                0 => ExitStatus::Code(1),
                1 => ExitStatus::Signal {
                    signal: 9,
                    core_dumped: false,
                },
                _ => ExitStatus::Code(0),
            };
            s.exit(child, parent, status);
        }
    }
    s.messages
}

/// `pkill -TERM worker` and the worker it signals, whose handler restores
/// the default action and sends SIGTERM on to itself (as shells and many
/// daemons do), so that it dies of its own signal: the messages, pkill and
/// the worker.
pub fn passed_on() -> (Vec<Message>, ProcKey, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let pkill = s.spawn(init, 0, "/usr/bin/pkill", &["pkill", "-TERM", "worker"]);
    let worker = s.spawn(init, 0, "/usr/bin/worker", &["worker"]);
    s.signal(worker, init, 15, Some(pkill));
    s.killed_by_itself_now(worker, init, 15);
    (s.messages, pkill, worker)
}

/// A script's subshell, `( python3 -c …; exec 3<>/dev/tcp/127.0.0.1/8765;
/// curl … )`, run by `bash job.sh`: the subshell (a fork of the script)
/// forks python3, opens a connection to a local server through bash's
/// `/dev/tcp`, then execs curl, its last command, which connects again.
/// The messages, the server, the subshell, python3 and the moment just
/// before the exec.
pub fn subshell() -> (Vec<Message>, ProcKey, ProcKey, ProcKey, u64) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let server = s.spawn(
        init,
        0,
        "/usr/bin/python3",
        &["python3", "-m", "http.server", "8765"],
    );
    s.listen((server, init), 8765);
    let script = s.spawn(init, 0, "/usr/bin/bash", &["bash", "job.sh"]);
    let sub = s.fork(script, "bash", 0);
    let py = s.spawn(sub, 0, "/usr/bin/python3", &["python3", "-c", "pass"]);
    s.exit(py, sub, ExitStatus::Code(0));
    s.local_tcp((sub, script), (server, init), 8765);
    let before = s.now - 1;
    let url = "http://127.0.0.1:8765/";
    s.exec(sub, script, 0, "/usr/bin/curl", &["curl", "-s", url]);
    s.local_tcp((sub, script), (server, init), 8765);
    (s.messages, server, sub, py, before)
}

/// `bash -c 'exec 3<>/dev/tcp/127.0.0.1/18081; exec sleep 3'`: bash opens
/// a connection, then becomes sleep. Its messages and the process.
pub fn between_execs() -> (Vec<Message>, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let job = s.spawn(init, 0, "/bin/bash", &["bash", "-c", "…"]);
    let (l, r) = (
        SocketAddr::from(([127, 0, 0, 1], 40_000)),
        SocketAddr::from(([127, 0, 0, 1], 18_081)),
    );
    s.net((job, init), NetKind::Connect, Direction::Outbound, l, r, 7);
    s.exec(job, init, 0, "/usr/bin/sleep", &["sleep", "3"]);
    (s.messages, job)
}
/// A crash loop: `setsid supervisor.sh` (pid 1000, under init) restarting
/// `python3 app.py` every time it ends: 57 exit 1, then two SIGSEGV and a
/// SIGABRT that dumped core among them, and the 61st still running. The
/// messages, the supervisor and the running child.
pub fn crash_loop() -> (Vec<Message>, ProcKey, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sup = s.spawn(init, 0, "/usr/bin/setsid", &["setsid", "supervisor.sh"]);
    s.exec(
        sup,
        init,
        0,
        "/tmp/supervisor.sh",
        &["/bin/sh", "/tmp/supervisor.sh"],
    );
    for i in 0..60 {
        let child = s.spawn(sup, 0, "/usr/bin/python3", &["python3", "app.py"]);
        let status = match i {
            20 | 41 => ExitStatus::Signal {
                signal: 11,
                core_dumped: false,
            },
            50 => ExitStatus::Signal {
                signal: 6,
                core_dumped: true,
            },
            _ => ExitStatus::Code(1),
        };
        s.exit(child, sup, status);
    }
    let running = s.spawn(sup, 0, "/usr/bin/python3", &["python3", "app.py"]);
    (s.messages, sup, running)
}

/// A port scan: `python3 scan.py` (under init) connecting to 127.0.0.1
/// ports `20000..20000 + ports`, each refused, and one connection to
/// 127.0.0.1:22 still open. The messages and the scanner.
pub fn port_scan(ports: u16) -> (Vec<Message>, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let scan = s.spawn(init, 0, "/usr/bin/python3", &["python3", "scan.py"]);
    let who = (scan, init);
    let out = Direction::Outbound;
    let refused = crate::event::Ending {
        error: 111,
        from: crate::event::TCP_SYN_SENT,
    };
    let host = |port| SocketAddr::from(([127, 0, 0, 1], port));
    s.net(who, NetKind::Connect, out, host(39_999), host(22), 1);
    for k in 0..ports {
        let ends = (host(40_000 + k), host(20_000 + k));
        let cookie = 100 + u64::from(k);
        s.net(who, NetKind::Connect, out, ends.0, ends.1, cookie);
        s.close(who, out, ends, cookie, (0, 0), refused);
    }
    (s.messages, scan)
}

/// A chain of `depth` processes, each the child of the one before.
pub fn chain(depth: usize) -> Vec<Message> {
    let mut s = Synth::new();
    let mut parent = s.seed(1, None, "init", &["init"]);
    for i in 1..depth {
        parent = s.spawn(parent, 0, "/bin/sh", &["sh", "-c", &format!("level {i}")]);
    }
    s.messages
}

/// About `events` events of a busy host: processes keep starting, running
/// a few children and exiting, so the tree grows by about a third of the
/// event count.
pub fn storm(events: usize, seed: u64) -> Vec<Message> {
    let mut s = Synth::new();
    let mut rng = Rng::new(seed);
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let mut live: Vec<(ProcKey, ProcKey)> = Vec::new();
    while s.messages.len() < events {
        let parent = if live.is_empty() || rng.below(8) == 0 {
            (init, ProcKey::default())
        } else {
            live[rng.below(live.len() as u64) as usize]
        };
        let child = s.spawn(parent.0, 1000, "/usr/bin/sh", &["sh", "-c", "true"]);
        live.push((child, parent.0));
        if live.len() > 256 {
            let i = rng.below(live.len() as u64) as usize;
            let (k, p) = live.swap_remove(i);
            s.exit(k, p, ExitStatus::Code(0));
        }
    }
    s.messages.truncate(events);
    s.messages
}

/// Writes messages as a journal.
pub fn write_journal(w: impl std::io::Write, msgs: &[Message]) -> std::io::Result<()> {
    let mut j = crate::journal::Writer::new(w, &header())?;
    for m in msgs {
        j.write(m)?;
    }
    j.flush()
}
