//! The view scrubbed back in time: the tree as it was at a moment, from
//! what the tree holds now. A process shows if it had started by then; it
//! was running if it had not yet exited; it ran the last program it had
//! exec'd (before its first, what it was forked as); its connections are
//! those opened by then, open if not yet closed. Pure functions of the
//! tree and the moment (`None`: now).

use crate::event::ExitStatus;
use crate::graph::{
    CausalTree, ConnCounts, ConnId, ConnState, Connection, ExecRecord, Node, NodeId, printable_name,
};

/// A process as it was at a moment.
pub struct NodeAt<'a> {
    pub node: &'a Node,
    /// When it exited, if it had by then.
    pub exit_time: Option<u64>,
    pub exit: Option<ExitStatus>,
    /// The programs it had run by then (all of them now).
    pub execs: &'a [ExecRecord],
    /// The connections it had opened by then (all it holds now).
    pub conns: &'a [ConnId],
    tree: &'a CausalTree,
    id: NodeId,
}

impl NodeAt<'_> {
    pub fn is_alive(&self) -> bool {
        self.exit_time.is_none()
    }

    /// The name to show, as [`Node::display_name`] but of what it ran by
    /// then: before an exec, what it was forked as (its parent's program:
    /// its comm is the later program's, or, one that never exec'd, maybe
    /// a name it or its parent gave itself, or its parent's thread's).
    pub fn display_name(&self) -> String {
        if self.execs.is_empty() {
            if let Some(name) = self.tree.began_as(self.id) {
                return printable_name(name);
            }
        }
        crate::graph::display_name(self.current_exec(), &self.node.comm)
    }

    /// What it began as, when it had become something else by then, to
    /// go before its name: `bash→` (`bash→…→` when more programs came
    /// between). It began as its first exec, or as what it was forked as
    /// when it did something before that exec that the tree shows (see
    /// [`CausalTree::before_exec`]): the shell that forked children
    /// before it became `sleep`, or before its last command was exec'd.
    pub fn began(&self) -> Option<String> {
        let before = self.tree.before_exec(self.id);
        let (first, between) = match (before, self.execs) {
            (Some(name), [_, rest @ ..]) => (printable_name(name), !rest.is_empty()),
            (None, [first, _, rest @ ..]) => (
                crate::graph::display_name(Some(&first.info), &self.node.comm),
                !rest.is_empty(),
            ),
            _ => return None,
        };
        let via = if between { "→…→" } else { "→" };
        Some(format!("{first}{via}"))
    }

    /// Its name with what it began as ([`NodeAt::began`]), as its row
    /// names it: `bash→curl`.
    pub fn full_name(&self) -> String {
        let mut name = self.began().unwrap_or_default();
        name.push_str(&self.display_name());
        name
    }

    /// The name it gave itself, when it had renamed itself by `at` (see
    /// [`crate::graph::renamed`], [`Node::renamed_at`]) while running what
    /// it ran by then (its comm is as last seen: scrubbed back to before
    /// an exec, or a rename, it says nothing then).
    pub fn renamed_to(&self, at: Option<u64>) -> Option<String> {
        let comm = self.node.comm.as_str();
        // Forked and never exec'd: against what it was forked as (a
        // miner's child keeps the name the miner gave itself).
        if self.node.execs.is_empty() {
            let program = self.tree.began_as(self.id)?;
            return crate::graph::renamed(program, &[], comm)
                .then(|| crate::event::printable(comm));
        }
        if self.execs.len() < self.node.execs.len() {
            return None;
        }
        let since = self.node.renamed_at?;
        if at.is_some_and(|t| t < since) {
            return None;
        }
        let exec = self.current_exec()?;
        crate::graph::renamed_exec(exec, comm).then(|| crate::event::printable(comm))
    }

    /// What it was run as by then, when not its program's name (see
    /// [`crate::graph::run_as`]).
    pub fn run_as(&self) -> Option<crate::graph::RunAs> {
        crate::graph::run_as(self.current_exec()?)
    }

    /// The program it ran by then had no links (deleted, or a memfd).
    pub fn deleted(&self) -> bool {
        self.current_exec().is_some_and(|e| e.deleted)
    }

    /// What it ran last by then.
    pub fn current_exec(&self) -> Option<&crate::event::ExecInfo> {
        self.execs.last().map(|e| &e.info)
    }

    /// Its connections counted as of then; now, the tree's own counts
    /// (forgotten ones included).
    pub fn counts(&self, tree: &CausalTree, at: Option<u64>) -> ConnCounts {
        if at.is_none() {
            return self.node.conn_counts;
        }
        let mut counts = ConnCounts::default();
        for &c in self.conns {
            let c = tree.conn(c);
            match c.direction {
                crate::event::Direction::Outbound => counts.outbound += 1,
                crate::event::Direction::Inbound => counts.inbound += 1,
                crate::event::Direction::Listen => counts.listen += 1,
            }
            if conn_end(c, at).is_none() {
                counts.open += 1;
                match conn_state(c, at) {
                    ConnState::Connecting => counts.connecting += 1,
                    ConnState::CloseWait => counts.close_wait += 1,
                    _ => {}
                }
            } else if c.failure().is_some() {
                counts.failed += 1;
            }
        }
        counts
    }
}

/// Process `id` as it was at `at`.
pub fn node_at(tree: &CausalTree, id: NodeId, at: Option<u64>) -> NodeAt<'_> {
    let node = tree.node(id);
    let Some(t) = at else {
        return NodeAt {
            node,
            exit_time: node.exit_time,
            exit: node.exit,
            execs: &node.execs,
            conns: &node.conns,
            tree,
            id,
        };
    };
    let ended = node.exit_time.filter(|&e| e <= t);
    // Both lists are in time order (an exec of unknown time, from the
    // /proc scan, comes first).
    let execs = node.execs_by(t);
    let conns = node.conns.partition_point(|&c| tree.conn(c).start <= t);
    NodeAt {
        node,
        exit_time: ended,
        exit: ended.and(node.exit),
        execs: &node.execs[..execs],
        conns: &node.conns[..conns],
        tree,
        id,
    }
}

/// What the process of connection `id` was when it opened it, when that
/// was before its first exec and the exec had come by `at`: `bash` for
/// the connection a subshell opened before its last command (`curl`)
/// was exec'd.
pub fn opened_as(tree: &CausalTree, id: ConnId, at: Option<u64>) -> Option<String> {
    let c = tree.conn(id);
    let owner = node_at(tree, c.owner, at);
    let first = owner.execs.first()?.time?;
    if c.start < first {
        return tree.before_exec(c.owner).map(printable_name);
    }
    // Opened between two execs: by the program it ran then, when it ran
    // another after (by the moment shown).
    let k = owner
        .execs
        .partition_point(|e| e.time.is_none_or(|x| x <= c.start));
    (k > 0 && k < owner.execs.len())
        .then(|| crate::graph::display_name(Some(&owner.execs[k - 1].info), &owner.node.comm))
}

/// When the connection closed, if it had by `at`.
pub fn conn_end(c: &Connection, at: Option<u64>) -> Option<u64> {
    match at {
        None => c.end,
        Some(t) => c.end.filter(|&e| e <= t),
    }
}

/// Its state at `at`. A connect still in flight now was in flight then,
/// and so was one that failed later without being established (it closed
/// from `SYN_SENT`). One found with its peer closed was so from then.
pub fn conn_state(c: &Connection, at: Option<u64>) -> ConnState {
    let never_established = c.end.is_some() && c.ending.from == crate::event::TCP_SYN_SENT;
    let peer_closed = c.peer_closed.is_some_and(|p| at.is_none_or(|t| p <= t));
    match (conn_end(c, at), c.direction) {
        (Some(_), _) => c.state,
        (None, crate::event::Direction::Listen) => ConnState::Listening,
        (None, _) if c.state == ConnState::Connecting || never_established => ConnState::Connecting,
        (None, _) if peer_closed => ConnState::CloseWait,
        (None, _) => ConnState::Open,
    }
}

/// How many processes were running at `t` (started by then and not yet
/// exited), and how many had started by then. One walk over the tree (on
/// a scrub, not per frame).
pub fn alive_at(tree: &CausalTree, t: u64) -> (u64, u64) {
    tree.nodes()
        .filter(|(_, n)| n.key.start <= t)
        .fold((0, 0), |(alive, started), (_, n)| {
            (
                alive + u64::from(n.exit_time.is_none_or(|e| e > t)),
                started + 1,
            )
        })
}

/// The latest moment before `t` (`forward`: the earliest after) at which
/// a process started, exec'd or ended, not before `floor`.
pub fn step(tree: &CausalTree, t: u64, forward: bool, floor: u64) -> Option<u64> {
    let moments = tree.nodes().flat_map(|(_, n)| lived(n));
    nearest(moments, t, forward, floor)
}

/// [`step`] within the subtree of process `id`: the moments it and its
/// descendants started, exec'd, ended, were sent a signal, or opened or
/// closed a connection. On a busy host `[` `]` stop at every process's;
/// these, at what the chain under inquiry did.
pub fn step_in(tree: &CausalTree, id: NodeId, t: u64, forward: bool, floor: u64) -> Option<u64> {
    let moments = tree.subtree(id).into_iter().flat_map(|d| {
        let n = tree.node(d);
        let conns = n.conns.iter().flat_map(|&c| {
            let c = tree.conn(c);
            std::iter::once(c.start).chain(c.end)
        });
        lived(n)
            .chain(n.signals.iter().map(|s| s.time))
            .chain(conns)
            .collect::<Vec<_>>()
    });
    nearest(moments, t, forward, floor)
}

/// What happened at moment `t` under process `id` (one of the moments
/// [`step_in`] stops at): `4242 curl connected to 10.0.0.7:443`. Presses
/// of `(` a few µs apart would look like nothing happened without it.
pub fn what_happened(tree: &CausalTree, id: NodeId, t: u64) -> Option<String> {
    use crate::event::Direction;
    tree.subtree(id).into_iter().find_map(|d| {
        let n = tree.node(d);
        let who = || format!("{} {}", n.key.pid, node_at(tree, d, Some(t)).full_name());
        if !n.seeded && n.key.start == t {
            return Some(format!("{} started", who()));
        }
        if let Some(e) = n.execs.iter().find(|e| e.time == Some(t)) {
            let name = crate::graph::display_name(Some(&e.info), &n.comm);
            return Some(format!("{} exec'd {name}", n.key.pid));
        }
        if n.exit_time == Some(t) {
            // And how: a crash loop's children, one by one.
            let how = match n.exit {
                _ if n.gone.is_some() => "ended unseen between recordings (gone)".to_string(),
                Some(status) => format!("ended: {status}"),
                None => "ended".to_string(),
            };
            return Some(format!("{} {how}", who()));
        }
        if let Some(s) = n.signals.iter().find(|s| s.time == t) {
            let signal = crate::event::signal_name(s.info.signal);
            return Some(format!("{} was sent {signal}", who()));
        }
        n.conns.iter().find_map(|&c| {
            let c = tree.conn(c);
            let what = match c.direction {
                Direction::Outbound => format!("to {}", c.remote),
                Direction::Inbound => format!("from {}", c.remote),
                Direction::Listen => format!("listening on {}", c.local),
            };
            if c.start == t {
                let verb = match c.direction {
                    Direction::Outbound => "connected",
                    Direction::Inbound => "accepted a connection",
                    Direction::Listen => "began",
                };
                Some(format!("{} {verb} {what}", who()))
            } else if c.end == Some(t) {
                Some(format!("{}: its connection {what} ended", who()))
            } else {
                None
            }
        })
    })
}

/// When process `n` started (seen), exec'd and ended.
fn lived(n: &crate::graph::Node) -> impl Iterator<Item = u64> + '_ {
    let start = (!n.seeded).then_some(n.key.start);
    let execs = n.execs.iter().filter_map(|e| e.time);
    start.into_iter().chain(execs).chain(n.exit_time)
}

/// Of `moments`, the latest before `t` and not before `floor`, or
/// (`forward`) the earliest after it.
fn nearest(moments: impl Iterator<Item = u64>, t: u64, forward: bool, floor: u64) -> Option<u64> {
    if forward {
        moments.filter(|&m| m > t).min()
    } else {
        moments.filter(|&m| m < t && m >= floor).max()
    }
}

/// The earliest moment the view can go back to: just before the first
/// event causeway saw. (Processes from the /proc scan count from their
/// start, which says nothing of what happened before causeway began.)
pub fn floor(tree: &CausalTree) -> u64 {
    tree.nodes()
        .filter(|(_, n)| !n.seeded)
        .map(|(_, n)| n.first_seen)
        .min()
        .unwrap_or_else(|| tree.last_ktime())
        .saturating_sub(1)
}

/// The moment `text` names, as boot-time ns, for `t` (go to a time):
/// `-5m` or `-1h30m` (that long before `now`), `14:02` or `14:02:30` (the
/// latest such time of day, in zone `tz`, not after `now`), or a date and
/// time, `2026-12-07 14:02[:30]` (also with a `T`). `now` is the view's
/// now (a replay's: its journal's end). Refused with a reason a user can
/// act on.
pub fn parse_moment(
    text: &str,
    now: u64,
    header: &crate::journal::Header,
    tz: chrono::FixedOffset,
) -> Result<u64, String> {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
    let text = text.trim();
    let hint =
        || format!("\"{text}\" is not a time: try 14:02, 14:02:30.250, -5m or 2026-12-07 14:02");
    if let Some(ago) = text.strip_prefix('-') {
        let d = crate::record::parse_duration(ago).map_err(|_| hint())?;
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        return Ok(now.saturating_sub(ns));
    }
    let time = |s: &str| {
        NaiveTime::parse_from_str(s, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S%.f"))
            .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
            .ok()
    };
    let now_local = header.wall_time(now).with_timezone(&tz);
    let wanted: NaiveDateTime = match text.split_once([' ', 'T']) {
        Some((date, t)) => {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| hint())?;
            date.and_time(time(t).ok_or_else(hint)?)
        }
        None => {
            let t = time(text).ok_or_else(hint)?;
            let today = now_local.date_naive().and_time(t);
            // Not after now: a time of day later than now is yesterday's.
            if today > now_local.naive_local() {
                today - chrono::Duration::days(1)
            } else {
                today
            }
        }
    };
    let wall = tz
        .from_local_datetime(&wanted)
        .single()
        .ok_or_else(hint)?
        .timestamp_nanos_opt()
        .ok_or_else(hint)?;
    let since_boot = wall.saturating_sub(header.boot_time_ns);
    u64::try_from(since_boot).map_err(|_| format!("{text} is before this host booted"))
}
