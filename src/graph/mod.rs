//! The causal tree: every process causeway has seen, who started it, what
//! it became and how it ended, kept after it exits or is reparented.
//!
//! One thread owns a [`CausalTree`] and applies [`Message`]s to it in order.
//! Processes are identified by [`ProcKey`] (pid and start time), never by pid
//! alone. Keys from /proc only have clock-tick resolution, so a key whose
//! start is /proc's matches any process of its pid started in that tick:
//! the same process seen by the scan and by the probe is one node. Two
//! exact starts match only when equal (see [`ProcKey::same_process`]), so
//! a pid reused within one tick is a second process.

mod bound;
mod net;

pub use bound::MAX_PROCS;
pub use net::{ConnCounts, ConnId, ConnState, Connection, KEEP_CLOSED_PER_PROCESS, MAX_CONNS};

use crate::event::{
    Comm, Event, EventKind, ExecInfo, ExitStatus, Gap, Groups, Message, ProcKey, SeedProcess,
    SeedSocket, SignalInfo, Stretch,
};
use crate::hash::KeyedMap;

/// Index of a node in its tree. Stable until the tree forgets processes
/// (see [`CausalTree::node_generation`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a node hangs in the tree.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParentLink {
    /// A root: pid 1, kthreadd, or another process with no parent.
    Root,
    /// The process that started this one.
    Known(NodeId),
    /// The parent was never seen; the key is what the kernel said it was.
    /// Such nodes are listed under the "unknown parent" marker.
    Unknown(ProcKey),
}

/// One exec in a process's history.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExecRecord {
    /// Boot-time ns; `None` for the program a seeded process was running
    /// when causeway started (its exec time is not known).
    pub time: Option<u64>,
    pub info: ExecInfo,
}

/// A process.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Node {
    pub key: ProcKey,
    /// The process that forked this one; kept when the kernel reparents it.
    pub causal_parent: ParentLink,
    /// The kernel's parent as last seen. `None` after the parent exited and
    /// before any event said who adopted this process.
    pub current_parent: Option<ProcKey>,
    /// Causal children, in start order.
    pub children: Vec<NodeId>,
    pub exit_time: Option<u64>,
    pub exit: Option<ExitStatus>,
    pub uid: u32,
    pub gid: u32,
    pub cgroup: u64,
    pub comm: Comm,
    pub execs: Vec<ExecRecord>,
    /// Known from the /proc scan at start, not seen being born.
    pub seeded: bool,
    /// Found ended at the scan, its parent yet to collect it (a zombie):
    /// `exit_time` is when the scan found it so, not when it ended.
    pub defunct: bool,
    /// Ended unseen, between two recordings read as one (see [`Gap`]):
    /// running when the one before ended, at this time (boot-time ns), and
    /// not listed when the next began, at `exit_time`. How it ended is not
    /// known (`exit` is `None`). What the live view calls `gone`.
    pub gone: Option<u64>,
    /// Seeded by the /proc scan of a recording read after another (see
    /// [`Gap`]), and started after that one ended: in the stretch between
    /// them, unseen, not before causeway began.
    pub started_unseen: bool,
    /// Its fork was not seen: `causal_parent` is the parent the kernel named
    /// at its first event, which may already be an adoptive one.
    pub parent_inferred: bool,
    /// Seeded under init, which had adopted it (see
    /// [`SeedProcess::adopted`]): `causal_parent` did not start it, and who
    /// did is not known.
    pub adopted: bool,
    /// When its comm was first seen not to be its program's (see
    /// [`renamed`]), since its last exec: 0 when it had by the /proc scan.
    pub renamed_at: Option<u64>,
    /// Boot-time ns of the first message that mentioned it.
    pub first_seen: u64,
    /// Its connections the tree holds, in start order: all but those
    /// forgotten (see [`MAX_CONNS`]).
    pub conns: Vec<ConnId>,
    /// Its connections as counted when they came, forgotten ones too.
    pub conn_counts: ConnCounts,
    /// Exited children forgotten to bound the tree (see [`MAX_PROCS`]).
    pub forgotten_children: u64,
    /// Signals sent to it that can end a process, oldest first; the last
    /// [`MAX_SIGNALS`].
    pub signals: Vec<SignalRecord>,
    /// Signals it sent to other processes, of those kept: oldest first;
    /// the last [`MAX_SIGNALS`]. What a `kill`, a supervisor or a
    /// watchdog ended.
    pub sent: Vec<SentSignal>,
}

/// A signal a process sent to another.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SentSignal {
    /// Boot-time ns.
    pub time: u64,
    pub signal: i32,
    pub to: ProcKey,
}

/// Signals kept per process: who ended it is the last of them.
pub const MAX_SIGNALS: usize = 8;

/// How soon a signal a process sends itself follows the one its handler
/// passes on (boot-time ns): a handler runs at once.
pub const PASSED_ON: u64 = 1_000_000_000;

/// Which of the signals of the number that killed a process killed it
/// (see [`Node::killed_by`]), for the view and for `export --text` (which
/// reads them from a chain's JSON): `newest_first`, those signals, the
/// newest first; `time` when each was sent (boot-time ns); `own` whether
/// the process sent it itself.
pub fn killer<T: Copy>(
    newest_first: impl IntoIterator<Item = T>,
    time: impl Fn(T) -> u64,
    own: impl Fn(T) -> bool,
) -> Option<T> {
    let mut same = newest_first.into_iter();
    let last = same.next()?;
    if !own(last) {
        return Some(last);
    }
    same.take_while(|&s| time(last).saturating_sub(time(s)) <= PASSED_ON)
        .find(|&s| !own(s))
        .or(Some(last))
}

/// A signal sent to a process (see [`SignalInfo`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SignalRecord {
    /// Boot-time ns.
    pub time: u64,
    pub info: SignalInfo,
}

impl Node {
    /// The signal that killed it, when it was killed by one that was seen
    /// sent: the last of that number. When it sent that one itself, the
    /// last of that number another process or the kernel sent in the
    /// [`PASSED_ON`] before, if any: a handler that restores the default
    /// action and sends the signal on to itself (shells and many daemons
    /// do) is not the cause; whoever sent it first is. (A SIGTERM that a
    /// daemon survived long before is not.)
    pub fn killed_by(&self) -> Option<&SignalRecord> {
        let Some(ExitStatus::Signal { signal, .. }) = self.exit else {
            return None;
        };
        killer(
            self.signals
                .iter()
                .rev()
                .filter(|s| s.info.signal == signal),
            |s| s.time,
            |s| s.info.sender.is_some_and(|f| f.proc == self.key),
        )
    }

    pub fn start(&self) -> u64 {
        self.key.start
    }

    pub fn is_alive(&self) -> bool {
        self.exit_time.is_none()
    }

    /// The program this process runs now (its last exec), if any exec is
    /// known.
    pub fn current_exec(&self) -> Option<&ExecInfo> {
        self.execs.last().map(|e| &e.info)
    }

    /// How many of its execs had happened by `t` (boot-time ns): what it
    /// ran at `t` is the last of them. An exec of unknown time (the /proc
    /// scan's) counts as before any `t`.
    pub fn execs_by(&self, t: u64) -> usize {
        self.execs
            .partition_point(|e| e.time.is_none_or(|x| x <= t))
    }

    /// The name to show: the basename of the last exec, or the comm.
    pub fn display_name(&self) -> String {
        display_name(self.current_exec(), &self.comm)
    }

    /// The causal parent's id, when it is known.
    pub fn parent_id(&self) -> Option<NodeId> {
        match self.causal_parent {
            ParentLink::Known(p) => Some(p),
            _ => None,
        }
    }
}

/// The basename of `exec`'s program, or `comm` when none is known, made
/// [`printable`](crate::event::printable). The program is the file the
/// kernel executed when it is known (see [`ExecInfo::program`]), as the
/// /proc listing at start names one: the same process is named the same
/// whether seen exec'd or listed (`python3.11`, `dash`, `memfd:payload`),
/// the name it was run as beside it (see [`run_as`]).
pub fn display_name(exec: Option<&ExecInfo>, comm: &Comm) -> String {
    match exec {
        Some(exec) if !exec.program().is_empty() => printable_name(basename(exec.program())),
        _ => crate::event::printable(comm.as_str()),
    }
}

/// The name a program was run as (its `argv[0]`, what `ps` shows), when it
/// is not the program's own name: to show beside that name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum RunAs {
    /// A command name or path, unrelated to the file's name: a symlink's
    /// name (`sh` for `dash`, `ls` for `busybox`, `vi` for `vim.basic`),
    /// a script's interpreter as its `#!` line names it, or a name
    /// `exec -a` gave. Its last part, as a shell would run it.
    Alias(String),
    /// Not a command's name at all (brackets, spaces, colons), nor the
    /// program's name with more after it: a process passing for another,
    /// `[kworker/u4:2]` for `python3.11`. Whole.
    Disguise(String),
}

/// What `argv[0]` says beside the name of the program `exec` ran (see
/// [`RunAs`]); `None` when it names the program: its name or a cut of it,
/// either way (`python3` for `python3.11`), a login shell's `-bash`, or
/// the name and more after a separator (`sshd: alice [priv]`, `nginx:
/// worker process`). Where the file the kernel ran is not known (a
/// journal written before causeway recorded it), nor for a script, whose
/// `argv[0]` is its interpreter and the program named its path.
pub fn run_as(exec: &ExecInfo) -> Option<RunAs> {
    let arg0 = exec.argv.first()?;
    if exec.script() {
        return None;
    }
    let name = basename(exec.program());
    if arg0.is_empty() || name.is_empty() {
        return None;
    }
    let arg0 = arg0.strip_prefix(b"-").unwrap_or(arg0);
    let names_it = |said: &[u8]| {
        (said.starts_with(name)
            && said[name.len()..]
                .first()
                .is_none_or(|c| !c.is_ascii_alphanumeric()))
            || (!said.is_empty() && name.starts_with(said))
    };
    if names_it(basename(arg0)) || names_it(arg0) {
        return None;
    }
    let plain = arg0
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b"._+-@/".contains(&c));
    Some(if plain {
        RunAs::Alias(printable_name(basename(arg0)))
    } else {
        RunAs::Disguise(printable_name(arg0))
    })
}

/// [`renamed`] for a process running `exec`: its comm is neither the
/// program's name, nor that of the path it was exec'd by (`3` for
/// `/proc/self/fd/3`), nor a name it was run as.
pub fn renamed_exec(exec: &ExecInfo, comm: &str) -> bool {
    renamed(&exec.exe, &exec.argv, comm)
        && (exec.file.is_empty() || renamed(&exec.file, &exec.argv, comm))
}

/// The path of the `#!` script process `seed` was running when listed, if
/// it was one: the kernel names a process (its comm, 15 bytes at most)
/// after the path exec'd, which for a script is its own and becomes its
/// interpreter's `argv[1]`; a shell given a script to run (`sh
/// ./backup.sh`) is named after the shell.
fn listed_script(seed: &crate::event::SeedProcess) -> Option<&[u8]> {
    let [arg0, script, ..] = seed.argv.as_slice() else {
        return None;
    };
    let comm = seed.comm.as_str().as_bytes();
    // The name whole, or cut by the kernel (at 15 bytes, or before a
    // character it would split).
    let named = |path: &[u8]| {
        let name = basename(path);
        !comm.is_empty() && (name == comm || (comm.len() >= 12 && name.starts_with(comm)))
    };
    (!seed.exe.is_empty() && named(script) && !named(arg0)).then_some(script.as_slice())
}

/// A name's bytes as [`display_name`] shows them: bytes that are not
/// UTF-8 as `\xNN`, as `export --text` shows them.
pub fn printable_name(name: &[u8]) -> String {
    crate::event::printable_bytes(name)
}

/// Whether a process running `exe` with `argv` whose comm is `comm`
/// renamed itself (`prctl(PR_SET_NAME)`, `/proc/self/comm`): its comm,
/// what `top` and `ps -e` show, is neither its program's name, nor the
/// name it was run as, nor its script's (`argv[1]` after a `#!`
/// interpreter), nor a cut of one (the kernel keeps 15 bytes), nor one of
/// them a cut of it (a resolved `python3.11` for `python3`; a program
/// listed at start is named by its resolved path: `busybox` for `ls`,
/// `dash` for a script, which `argv` names). A miner that calls itself
/// `kworker/0:1` is one.
pub fn renamed(exe: &[u8], argv: &[Vec<u8>], comm: &str) -> bool {
    let comm = comm.as_bytes();
    // Its name, cut; or its name and more after a separator (`tmux:
    // server`), not any name that begins with it (`kworker/2:3` is no
    // program `k`'s). Compared byte for byte as the comm is kept: decoded,
    // bytes that are not UTF-8 as U+FFFD (`t\xff` is `t�`), and cut by the
    // kernel at 15 bytes, maybe within a character.
    let names = |path: &[u8]| {
        let raw = basename(path);
        let cut = String::from_utf8_lossy(&raw[..raw.len().min(15)]);
        let name = String::from_utf8_lossy(raw);
        let name = name.as_bytes();
        !name.is_empty()
            && (name.starts_with(comm)
                || cut.as_bytes() == comm
                || comm
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.first().is_none_or(|c| !c.is_ascii_alphanumeric())))
    };
    !exe.is_empty() && !comm.is_empty() && !names(exe) && !argv.iter().take(2).any(|a| names(a))
}

/// The last part of a path.
pub fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

/// A stretch no recording covered, between two recordings read as one
/// (see [`Gap`]), and what ended in it unseen.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GapEnded {
    pub stretch: Stretch,
    /// Processes running before it that the next recording did not list:
    /// they ended in it (see [`Node::gone`]).
    pub processes: u64,
    /// TCP connections open before it that the next recording did not
    /// list: they closed in it (`gone`).
    pub connections: u64,
}

/// Counters kept while applying messages.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct TreeStats {
    pub events: u64,
    pub lost: u64,
    pub alive: u64,
    /// Exited processes forgotten to bound the tree (see [`MAX_PROCS`]).
    pub forgotten: u64,
    /// Connections that ended in a failure (refused, reset...), forgotten
    /// ones too.
    pub failed_conns: u64,
    /// Processes the OOM killer chose, forgotten ones too.
    pub oom_kills: u64,
}

/// Where the index files a process: its pid and start tick, what a key
/// from /proc and the probe's key of the same process have in common.
type IdentKey = (u32, u64);

fn ident(key: ProcKey) -> IdentKey {
    (key.pid, key.start_tick())
}

/// The causal tree of processes and their connections.
#[derive(Default, Debug)]
pub struct CausalTree {
    nodes: Vec<Node>,
    /// The process of each `(pid, start tick)`, the newest when a pid was
    /// reused within one tick (see [`CausalTree::lookup`]).
    index: KeyedMap<IdentKey, NodeId>,
    /// Every process of a `(pid, start tick)` that several have, oldest
    /// first: only a pid reused within one tick, so the index stays one
    /// id a tick and a lookup one probe of it.
    same_tick: KeyedMap<IdentKey, Vec<NodeId>>,
    roots: Vec<NodeId>,
    orphans: Vec<NodeId>,
    /// Orphans waiting for a parent that may still show up (seen in a later
    /// message), by the parent's identity; each names the parent in its
    /// [`ParentLink::Unknown`].
    waiting: KeyedMap<IdentKey, Vec<NodeId>>,
    stats: TreeStats,
    last_ktime: u64,
    net: net::NetTable,
    bound: bound::ProcBound,
    /// Cgroup paths by id, as announced (see [`Message::Cgroup`]).
    cgroups: std::collections::HashMap<u64, String>,
    /// The stretches between recordings, in time order.
    gaps: Vec<GapEnded>,
    /// Init's session and group, from pid 1's listing (listed first), by
    /// which a process listed under it is told adopted.
    init_groups: Groups,
}

impl CausalTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree that holds at most `limit` connections (see [`MAX_CONNS`],
    /// the default).
    pub fn with_conn_limit(limit: usize) -> Self {
        let mut tree = Self::new();
        tree.net.set_limit(limit);
        tree
    }

    /// Builds a tree from messages in order.
    pub fn from_messages<'a>(msgs: impl IntoIterator<Item = &'a Message>) -> Self {
        let mut tree = Self::new();
        for m in msgs {
            tree.apply(m);
        }
        tree
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The path of cgroup `id` (`/system.slice/nginx.service`), when it
    /// was announced.
    pub fn cgroup_path(&self, id: u64) -> Option<&str> {
        self.cgroups.get(&id).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    pub fn nodes(&self) -> impl DoubleEndedIterator<Item = (NodeId, &Node)> + ExactSizeIterator {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (NodeId(i as u32), n))
    }

    /// Processes without a parent (pid 1, kthreadd, ...), in start order.
    pub fn roots(&self) -> &[NodeId] {
        &self.roots
    }

    /// Processes whose parent was never seen, in start order.
    pub fn orphans(&self) -> &[NodeId] {
        &self.orphans
    }

    pub fn children(&self, id: NodeId) -> &[NodeId] {
        &self.node(id).children
    }

    pub fn stats(&self) -> TreeStats {
        self.stats
    }

    /// The stretches no recording covered between the recordings applied
    /// (see [`Gap`]), in time order, with what ended in each.
    pub fn gaps(&self) -> &[GapEnded] {
        &self.gaps
    }

    /// Boot-time ns of the newest event applied.
    pub fn last_ktime(&self) -> u64 {
        self.last_ktime
    }

    /// The node for a process: the one of the same start, or, when the
    /// key's start or the node's is /proc's, of the same start tick (see
    /// [`ProcKey::same_process`]).
    pub fn find(&self, key: ProcKey) -> Option<NodeId> {
        self.lookup(key)
    }

    /// The node [`find`](CausalTree::find) means, on the path of every
    /// event: one probe of the index and one comparison of starts, unless
    /// the pid was reused within the tick. Of several it could be, the one
    /// of this very start, else the newest (a key from /proc names the one
    /// it found running).
    fn lookup(&self, key: ProcKey) -> Option<NodeId> {
        let ident = ident(key);
        let &newest = self.index.get(&ident)?;
        let found = self.nodes[newest.index()].key;
        if found.start == key.start {
            return Some(newest);
        }
        let Some(all) = self.same_tick.get(&ident) else {
            return key.same_process(found).then_some(newest);
        };
        let start = |&&id: &&NodeId| self.nodes[id.index()].key.start == key.start;
        let same = |&&id: &&NodeId| key.same_process(self.nodes[id.index()].key);
        all.iter()
            .rev()
            .find(start)
            .or_else(|| all.iter().rev().find(same))
            .copied()
    }

    /// The newest process that has (or had) this pid.
    pub fn find_pid(&self, pid: u32) -> Option<NodeId> {
        self.nodes()
            .filter(|(_, n)| n.key.pid == pid)
            .max_by_key(|(_, n)| n.key.start)
            .map(|(id, _)| id)
    }

    /// What process `id` ran at `t`: its last exec by then or, before its
    /// first, the program its parent ran when it forked it (a fork runs its
    /// parent's program until it execs). `None` when no exec is known.
    pub fn program_at(&self, id: NodeId, t: u64) -> Option<&ExecInfo> {
        let (mut cur, mut t) = (id, t);
        // Each step goes to a parent that started earlier; the bound only
        // guards against a damaged journal's cycle.
        for _ in 0..=self.nodes.len() {
            let n = self.node(cur);
            match n.execs_by(t) {
                0 => {
                    t = n.start();
                    cur = n.parent_id()?;
                }
                k => return Some(&n.execs[k - 1].info),
            }
        }
        None
    }

    /// What process `id` ran from its fork until its first exec, by name:
    /// its parent's program when it forked it, named as the parent's row
    /// names it (a fork runs its parent's program), else the parent's
    /// comm. `None` when its fork was not seen (seeded, or its parent
    /// inferred) or its parent is not in the tree.
    pub fn began_as(&self, id: NodeId) -> Option<&[u8]> {
        let n = self.node(id);
        if n.seeded || n.parent_inferred {
            return None;
        }
        let p = n.parent_id()?;
        match self.program_at(p, n.start()) {
            Some(e) if !e.program().is_empty() => Some(basename(e.program())),
            _ => Some(self.node(p).comm.as_str().as_bytes()),
        }
    }

    /// What process `id` was before its first exec ([`began_as`]), when
    /// it did something then that the tree shows: forked a child, or
    /// opened or accepted a connection (forgotten ones aside). `None` for
    /// a plain fork and exec, and for a process that has not exec'd.
    ///
    /// [`began_as`]: CausalTree::began_as
    pub fn before_exec(&self, id: NodeId) -> Option<&[u8]> {
        let n = self.node(id);
        let first = n.execs.first()?.time?;
        let forked = n
            .children
            .first()
            .is_some_and(|&c| self.node(c).start() < first);
        let connected = n.conns.first().is_some_and(|&c| self.conn(c).start < first);
        if forked || connected {
            self.began_as(id)
        } else {
            None
        }
    }

    /// The chain from the topmost known ancestor down to `id`, inclusive.
    /// The first element's link tells whether the chain reaches a root
    /// ([`ParentLink::Root`]) or stops at an unknown parent.
    pub fn ancestors(&self, id: NodeId) -> Vec<NodeId> {
        let mut chain = vec![id];
        let mut cur = id;
        while let Some(p) = self.node(cur).parent_id() {
            // A cycle is impossible (parents start before children), but a
            // damaged journal must not hang us.
            if chain.len() > self.nodes.len() {
                break;
            }
            chain.push(p);
            cur = p;
        }
        chain.reverse();
        chain
    }

    /// Whether `a` is `id` or one of its causal ancestors.
    fn is_ancestor(&self, a: NodeId, id: NodeId) -> bool {
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.node(c).parent_id();
        }
        false
    }

    /// `id` and all its causal descendants, depth first, children in start
    /// order.
    pub fn subtree(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.node(n).children.iter().rev());
        }
        out
    }

    /// Applies one message. Past [`MAX_PROCS`] processes this forgets
    /// old exited ones and renumbers the rest (see
    /// [`CausalTree::node_generation`]).
    pub fn apply(&mut self, msg: &Message) {
        match msg {
            Message::Seed(seed) => self.apply_seed(seed),
            Message::Socket(socket) => self.apply_socket(socket),
            Message::Event(ev) => self.apply_event(ev),
            Message::Lost { ktime, count } => {
                self.stats.lost += count;
                self.bump_time(*ktime);
            }
            Message::Cgroup { id, path } => {
                self.cgroups.insert(*id, path.clone());
            }
            Message::Gap(gap) => self.apply_gap(gap),
        }
        self.bound_procs();
    }

    fn bump_time(&mut self, ktime: u64) {
        self.last_ktime = self.last_ktime.max(ktime);
    }

    fn apply_seed(&mut self, seed: &SeedProcess) {
        if seed.proc.pid == 1 {
            self.init_groups = seed.groups;
        }
        let parent = match seed.parent {
            Some(p) if p.pid != 0 => ParentHint::Causal(p),
            _ => ParentHint::Root,
        };
        let existed = self.find(seed.proc).is_some();
        let id = self.get_or_insert(seed.proc, parent, seed.proc.start);
        let node = &mut self.nodes[id.index()];
        if existed && node.is_alive() {
            // Known running, and found a zombie by a later scan (the next
            // file's, the next recording's): its end was not seen (yet).
            if let Some(d) = seed.defunct {
                node.defunct = true;
                node.exit_time = Some(d.seen);
                node.exit = Some(d.status);
                self.stats.alive = self.stats.alive.saturating_sub(1);
            }
        }
        if !existed {
            node.seeded = true;
            node.started_unseen = self
                .gaps
                .last()
                .is_some_and(|g| seed.proc.start > g.stretch.from);
            node.uid = seed.uid;
            node.gid = seed.gid;
            node.cgroup = seed.cgroup;
            node.comm = seed.comm;
            node.current_parent = seed.parent;
            node.adopted = seed.adopted(self.init_groups);
            if let Some(d) = seed.defunct {
                node.defunct = true;
                node.exit_time = Some(d.seen);
                node.exit = Some(d.status);
                self.stats.alive = self.stats.alive.saturating_sub(1);
            }
        }
        // The program it was running at the scan, unless an exec was seen.
        if node.execs.is_empty() && (!seed.exe.is_empty() || !seed.argv.is_empty()) {
            // A `#!` script is listed as its interpreter's (`/usr/bin/dash`,
            // argv `/bin/sh ./backup.sh`): told by its comm, which the
            // kernel took from the script's name, and taken as exec'd by
            // that path, as it is named when seen exec'd.
            let exe = listed_script(seed).unwrap_or(&seed.exe).to_vec();
            node.execs.push(ExecRecord {
                time: None,
                info: ExecInfo {
                    exe,
                    file: seed.exe.clone(),
                    deleted: seed.exe_deleted,
                    argv: seed.argv.clone(),
                    argv_truncated: seed.argv_truncated,
                    old_tid: 0,
                },
            });
            // Renamed by the scan: before causeway began.
            if renamed(&seed.exe, &seed.argv, node.comm.as_str()) {
                node.renamed_at = Some(0);
            }
        }
    }

    /// A stretch no recording covered: every process running that the
    /// recording after it did not list ended in it, when and how unseen;
    /// every TCP connection open that it did not list closed in it
    /// (`gone`). Those it lists (the same pid and start) run on as they
    /// were.
    fn apply_gap(&mut self, gap: &Gap) {
        let stretch = &gap.stretch;
        self.bump_time(stretch.to);
        let mut listed: std::collections::HashMap<IdentKey, Vec<ProcKey>> =
            std::collections::HashMap::new();
        for &k in &gap.procs {
            listed.entry(ident(k)).or_default().push(k);
        }
        let is_listed = |n: &Node| {
            listed
                .get(&ident(n.key))
                .is_some_and(|ks| ks.iter().any(|k| k.same_process(n.key)))
        };
        let ended: Vec<NodeId> = self
            .nodes()
            .filter(|(_, n)| n.is_alive() && !is_listed(n))
            .map(|(id, _)| id)
            .collect();
        for &id in &ended {
            let node = &mut self.nodes[id.index()];
            node.exit_time = Some(stretch.to);
            node.gone = Some(stretch.from);
            self.ended(id, stretch.to, None);
        }
        let sockets: std::collections::HashSet<u64> = gap.sockets.iter().copied().collect();
        let connections = self.net_gap(stretch.to, &sockets);
        self.gaps.push(GapEnded {
            stretch: stretch.clone(),
            processes: ended.len() as u64,
            connections,
        });
    }

    fn apply_socket(&mut self, s: &SeedSocket) {
        self.bump_time(s.seen);
        // Its holder started before the probe attached, so the /proc scan
        // normally has it already; if not, it is known from here.
        let known = self.nodes.len();
        let id = self.get_or_insert(s.actor.proc, ParentHint::Current(s.actor.parent), s.seen);
        if id.index() >= known {
            let node = &mut self.nodes[id.index()];
            node.seeded = true;
            node.uid = s.actor.uid;
            node.gid = s.actor.gid;
            node.cgroup = s.actor.cgroup;
            node.comm = s.actor.comm;
        }
        self.net_socket(id, s);
    }

    fn apply_event(&mut self, ev: &Event) {
        self.stats.events += 1;
        self.bump_time(ev.ktime);
        let hint = match ev.kind {
            EventKind::Fork => ParentHint::Causal(ev.parent),
            _ => ParentHint::Current(ev.parent),
        };
        let known = self.nodes.len();
        let id = self.get_or_insert(ev.proc, hint, ev.ktime);
        // A close names its socket's owner as it was when the socket opened
        // (the probe sees most closes in softirq context): that old view of
        // the process must not overwrite a newer one.
        let snapshot =
            matches!(&ev.kind, EventKind::Net(n) if n.kind.is_end()) && id.index() < known;
        let node = &mut self.nodes[id.index()];
        // A thread's name is not its process's (a worker named by its
        // program, the last thread out at an exit): only the leader's is.
        let leader = ev.tid == ev.proc.pid || ev.tid == 0;
        let mut named = false;
        if !snapshot {
            node.uid = ev.uid;
            node.gid = ev.gid;
            node.cgroup = ev.cgroup;
            if !ev.comm.is_empty() && leader && node.comm != ev.comm {
                node.comm = ev.comm;
                named = true;
            }
        }
        // Renamed itself since its exec (an exec names it anew, below).
        if named && node.renamed_at.is_none() && !matches!(ev.kind, EventKind::Exec(_)) {
            if let Some(e) = node.execs.last() {
                if renamed_exec(&e.info, node.comm.as_str()) {
                    node.renamed_at = Some(ev.ktime);
                }
            }
        }
        match &ev.kind {
            EventKind::Fork => {
                // Seen being born: whatever the scan said, it is live.
                node.seeded = false;
                node.current_parent = Some(ev.parent);
            }
            EventKind::Exec(info) => {
                node.current_parent = Some(ev.parent);
                // The scan may already have read what this exec started
                // (it ran during the scan): the exec replaces that snapshot.
                if let [only] = node.execs.as_slice() {
                    if only.time.is_none() && only.info.argv == info.argv {
                        node.execs.clear();
                    }
                }
                node.execs.push(ExecRecord {
                    time: Some(ev.ktime),
                    info: info.clone(),
                });
                // A new program, named by the kernel anew.
                node.renamed_at = None;
            }
            EventKind::Exit { status, reaper } => {
                if node.exit_time.is_some() {
                    // A zombie at the scan, or a process a recording did
                    // not list when it began, that ended after its probe
                    // attached: its end, seen, replaces the bound.
                    if node.defunct || node.gone.is_some() {
                        node.defunct = false;
                        node.exit_time = Some(ev.ktime);
                        node.exit = Some(*status);
                        if let Some(from) = node.gone.take() {
                            if let Some(g) =
                                self.gaps.iter_mut().rev().find(|g| g.stretch.from == from)
                            {
                                g.processes = g.processes.saturating_sub(1);
                            }
                        }
                    }
                    return;
                }
                node.current_parent = Some(ev.parent);
                node.exit_time = Some(ev.ktime);
                node.exit = Some(*status);
                self.ended(id, ev.ktime, *reaper);
            }
            EventKind::Net(info) => {
                if !snapshot {
                    node.current_parent = Some(ev.parent);
                }
                self.net_event(id, ev.ktime, info);
            }
            EventKind::Signal(info) => {
                node.current_parent = Some(ev.parent);
                if info.oom {
                    self.stats.oom_kills += 1;
                }
                // The OOM killer's choice names the kernel's SIGKILL just
                // before it: one signal, now known to be the OOM killer's.
                if info.oom {
                    if let Some(last) = node.signals.last_mut() {
                        if last.info.signal == info.signal
                            && last.info.sender.is_none()
                            && !last.info.oom
                        {
                            last.info = *info;
                            return;
                        }
                    }
                }
                if node.signals.len() >= MAX_SIGNALS {
                    node.signals.remove(0);
                }
                node.signals.push(SignalRecord {
                    time: ev.ktime,
                    info: *info,
                });
                // And on the sender, when it is another process the tree
                // knows (the OOM killer's "sender" only needed memory).
                let from = info.sender.filter(|f| f.proc != ev.proc && !info.oom);
                if let Some(sender) = from.and_then(|f| self.lookup(f.proc)) {
                    let sent = &mut self.nodes[sender.index()].sent;
                    if sent.len() >= MAX_SIGNALS {
                        sent.remove(0);
                    }
                    sent.push(SentSignal {
                        time: ev.ktime,
                        signal: info.signal,
                        to: ev.proc,
                    });
                }
            }
        }
    }

    /// Finds the node for `key`, or makes it, hung under the parent the hint
    /// names.
    fn get_or_insert(&mut self, key: ProcKey, hint: ParentHint, seen: u64) -> NodeId {
        if let Some(id) = self.lookup(key) {
            // Found by its start tick, so one of the two starts is /proc's:
            // if the node's is, this exact one replaces it.
            if self.nodes[id.index()].key.start != key.start && key.start_is_exact() {
                self.learn_start(id, key.start);
            }
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        let (link, current) = match hint {
            ParentHint::Root => (ParentLink::Root, None),
            ParentHint::Causal(p) | ParentHint::Current(p) => match self.lookup(p) {
                Some(pid) => (ParentLink::Known(pid), Some(p)),
                None if p.pid == 0 => (ParentLink::Root, None),
                None => (ParentLink::Unknown(p), Some(p)),
            },
        };
        self.nodes.push(Node {
            key,
            causal_parent: link,
            current_parent: current,
            children: Vec::new(),
            exit_time: None,
            exit: None,
            uid: 0,
            gid: 0,
            cgroup: 0,
            comm: Comm::new(),
            execs: Vec::new(),
            seeded: false,
            defunct: false,
            gone: None,
            started_unseen: false,
            parent_inferred: matches!(hint, ParentHint::Current(_)),
            adopted: false,
            renamed_at: None,
            first_seen: seen,
            conns: Vec::new(),
            conn_counts: ConnCounts::default(),
            forgotten_children: 0,
            signals: Vec::new(),
            sent: Vec::new(),
        });
        if let Some(older) = self.index.insert(ident(key), id) {
            // A pid reused within the tick: both are kept apart by start.
            let all = self.same_tick.entry(ident(key)).or_default();
            if all.is_empty() {
                all.push(older);
            }
            all.push(id);
        }
        self.stats.alive += 1;
        match link {
            ParentLink::Root => insert_by_start(&mut self.roots, id, &self.nodes),
            ParentLink::Known(p) => {
                let mut kids = std::mem::take(&mut self.nodes[p.index()].children);
                insert_by_start(&mut kids, id, &self.nodes);
                self.nodes[p.index()].children = kids;
            }
            ParentLink::Unknown(p) => {
                insert_by_start(&mut self.orphans, id, &self.nodes);
                self.waiting.entry(ident(p)).or_default().push(id);
            }
        }
        // Orphans that were waiting for this process are its children,
        // unless that would close a loop: only a damaged journal names a
        // process as its own ancestor, and such a one stays an orphan.
        // Those waiting for another of its pid and tick wait on.
        if let Some(mut kids) = self.waiting.remove(&ident(key)) {
            let other = |kid: &NodeId, nodes: &[Node]| {
                !matches!(nodes[kid.index()].causal_parent,
                    ParentLink::Unknown(p) if p.same_process(key))
            };
            let others: Vec<NodeId> = kids
                .iter()
                .copied()
                .filter(|k| other(k, &self.nodes))
                .collect();
            if !others.is_empty() {
                kids.retain(|k| !other(k, &self.nodes));
                self.waiting.insert(ident(key), others);
            }
            for kid in kids {
                if self.is_ancestor(kid, id) {
                    continue;
                }
                self.orphans.retain(|&o| o != kid);
                self.nodes[kid.index()].causal_parent = ParentLink::Known(id);
                let mut siblings = std::mem::take(&mut self.nodes[id.index()].children);
                insert_by_start(&mut siblings, kid, &self.nodes);
                self.nodes[id.index()].children = siblings;
            }
        }
        id
    }

    /// Process `key`'s name as /proc gave it at `t` (the live view samples
    /// every running process): one that renamed itself and did nothing
    /// since says so here first. Taken only as a rename of the program it
    /// ran by then: a sample read before an exec whose event came first
    /// names the program before.
    pub fn sampled_comm(&mut self, key: ProcKey, comm: Comm, t: u64) {
        let Some(id) = self.find(key) else {
            return;
        };
        let node = &mut self.nodes[id.index()];
        if comm.is_empty() || node.comm == comm || !node.is_alive() || node.renamed_at.is_some() {
            return;
        }
        let Some(e) = node.execs.last().filter(|e| e.time.is_none_or(|x| x <= t)) else {
            return;
        };
        if renamed_exec(&e.info, comm.as_str()) {
            node.comm = comm;
            node.renamed_at = Some(t);
        }
    }

    /// What follows from process `id` ending at `t` (its end already set):
    /// one fewer alive; its running children were handed to `reaper` (init
    /// or a subreaper), or, not known, to whichever one their next event
    /// names; its UDP sockets end.
    fn ended(&mut self, id: NodeId, t: u64, reaper: Option<ProcKey>) {
        self.stats.alive = self.stats.alive.saturating_sub(1);
        let children = self.nodes[id.index()].children.clone();
        for c in children {
            let child = &mut self.nodes[c.index()];
            if child.is_alive() {
                child.current_parent = reaper;
            }
        }
        // A subreaper (or init of a namespace) ending hands on the orphans
        // it had adopted too, which are not its causal children: looked
        // for only when the probe said it left children (a `reaper`).
        if let Some(to) = reaper {
            let key = self.nodes[id.index()].key;
            for n in &mut self.nodes {
                if n.is_alive() && n.current_parent.is_some_and(|p| p.same_process(key)) {
                    n.current_parent = Some(to);
                }
            }
        }
        self.net_process_exited(id, t);
    }

    /// A process known by /proc's start (seeded) that an event names with
    /// its exact one: the node takes it, so that a process given the same
    /// pid later in the tick is not taken for this one. Its place among
    /// its siblings, in start order, moves within the tick.
    fn learn_start(&mut self, id: NodeId, start: u64) {
        self.nodes[id.index()].key.start = start;
        let mut list = match self.nodes[id.index()].causal_parent {
            ParentLink::Known(p) => std::mem::take(&mut self.nodes[p.index()].children),
            ParentLink::Root => std::mem::take(&mut self.roots),
            ParentLink::Unknown(_) => std::mem::take(&mut self.orphans),
        };
        list.retain(|&n| n != id);
        insert_by_start(&mut list, id, &self.nodes);
        match self.nodes[id.index()].causal_parent {
            ParentLink::Known(p) => self.nodes[p.index()].children = list,
            ParentLink::Root => self.roots = list,
            ParentLink::Unknown(_) => self.orphans = list,
        }
    }
}

#[derive(Clone, Copy)]
enum ParentHint {
    Root,
    /// The process that forked it.
    Causal(ProcKey),
    /// Only the kernel's current parent is known (no fork seen).
    Current(ProcKey),
}

/// Drops the items marked in `forget` and numbers the rest from 0, in
/// order; returns each old index's new one (`None`: dropped).
fn drop_marked<T>(items: &mut Vec<T>, forget: &[bool]) -> Vec<Option<u32>> {
    let mut kept = 0u32;
    let new: Vec<Option<u32>> = forget
        .iter()
        .map(|&f| {
            (!f).then(|| {
                kept += 1;
                kept - 1
            })
        })
        .collect();
    let mut at = 0;
    items.retain(|_| {
        at += 1;
        !forget[at - 1]
    });
    new
}

fn insert_by_start(list: &mut Vec<NodeId>, id: NodeId, nodes: &[Node]) {
    let key = |n: NodeId| {
        let node = &nodes[n.index()];
        (node.key.start, n)
    };
    let k = key(id);
    let at = list.partition_point(|&n| key(n) < k);
    list.insert(at, id);
}

#[cfg(test)]
mod tests;
