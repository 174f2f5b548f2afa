//! What `/` finds: a process by its pid, name, argv or cgroup, or by an address
//! one of its connections has at either end.
//!
//! The question an operator brings is often an address, not a name: "who
//! is talking to 10.0.0.7", "who listens on 5432". A query that reads as an
//! address matches connections exactly; one that merely looks like part of
//! one (`10.0.`, `fe80:`) matches the written addresses by substring; a
//! plain word or number matches processes only, so that a pid is not
//! drowned by every port that contains its digits.
//!
//! The other question is "what failed": `!` finds processes that exited
//! non-zero or were killed, and those with a connection that failed;
//! `!refused`, `!reset`, `!timed out` (or `!timeout`), `!unreachable`,
//! `!aborted`, `!abandoned` or an errno name (`!econnreset`) find those
//! whose connections failed that way. And what is stuck: `!connecting`
//! finds those with a connect still unanswered, `!unused` those holding
//! an accepted connection nobody has read, `!close-wait` those holding a
//! connection whose peer has closed its end (a leak).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::at::{conn_end, conn_state};
use super::format;
use crate::event::{Direction, ExitStatus, Failure, errno_name, signal_name};
use crate::graph::{
    ConnState, Connection, Node, RunAs, basename, display_name, run_as as run_as_of,
};

/// A parsed search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The query in lower case, for names and argv.
    needle: String,
    pid: Option<u32>,
    addr: AddrQuery,
    /// `!…`: failures only; names, pids and addresses are not searched.
    failed: Option<Failed>,
}

/// What a `!` query finds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failed {
    /// `!`: a failed exit, or any failed connection.
    Any,
    /// `!refused`, `!econnreset`: connections that failed that way (the
    /// word in lower case); `!killed`, `!sigsegv`, `!core`, `!oom`:
    /// processes that died so.
    How(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum AddrQuery {
    /// Not an address: connections are not searched.
    None,
    /// `:443`: either end's port.
    Port(u16),
    /// `10.0.0.7`, `::1`, `[::1]`: either end's address, any port.
    Ip(IpAddr),
    /// `10.0.0.7:443`, `[::1]:80`: either end, exactly.
    Socket(SocketAddr),
    /// Anything else with a `.` or `:` in it: part of an end as written
    /// (`10.0.0.7:443`, `[::1]:80`), ignoring case.
    Text(String),
}

/// Whether `node` died as `how` says: `killed` by any signal, by the
/// signal named (`sigkill`), with a core dump (`core`), or by the OOM
/// killer (`oom`).
fn died_so(node: &Node, how: &str) -> bool {
    let Some(ExitStatus::Signal {
        signal,
        core_dumped,
    }) = node.exit
    else {
        return false;
    };
    match how {
        "killed" => true,
        "core" => core_dumped,
        "oom" => node.killed_by().is_some_and(|s| s.info.oom),
        name => signal_name(signal).eq_ignore_ascii_case(name),
    }
}

/// The words `!` takes, besides an errno's name and a signal's, as an
/// unknown one is answered.
const KINDS: &str = "refused reset timeout unreachable aborted abandoned error killed oom core connecting unused close-wait";

/// Whether `how` (in lower case) is a failure [`Query::matches_process`]
/// or [`Query::matches_conn`] can find: a way a connection fails, an
/// errno's name, a way a process dies, or a signal's name.
fn known_kind(how: &str) -> bool {
    let ways = [
        Failure::Refused,
        Failure::TimedOut,
        Failure::Unreachable,
        Failure::Reset,
        Failure::Aborted,
        Failure::Abandoned,
        Failure::Error(0),
    ];
    // Linux's errnos end at 4095, its signals at 64.
    ways.iter().any(|f| f.as_str() == how)
        || matches!(
            how,
            "killed" | "core" | "oom" | "connecting" | "unused" | "close-wait"
        )
        || (1..=64).any(|s| signal_name(s).eq_ignore_ascii_case(how))
        || (1..=4095).any(|e| errno_name(e).eq_ignore_ascii_case(how))
}

/// v4-mapped IPv6 addresses are shown, and stored, as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

impl Query {
    pub fn parse(q: &str) -> Self {
        let q = q.trim();
        if let Some(how) = q.strip_prefix('!') {
            let how = match how.trim().to_lowercase() {
                h if h.is_empty() => Failed::Any,
                h if h == "timeout" => Failed::How(Failure::TimedOut.as_str().to_string()),
                h if matches!(h.as_str(), "closewait" | "close_wait" | "close wait") => {
                    Failed::How(ConnState::CloseWait.as_str().to_string())
                }
                h => Failed::How(h),
            };
            return Query {
                needle: String::new(),
                pid: None,
                addr: AddrQuery::None,
                failed: Some(how),
            };
        }
        let needle = q.to_lowercase();
        let addr = if let Some(port) = q.strip_prefix(':').and_then(|p| p.parse().ok()) {
            AddrQuery::Port(port)
        } else if let Ok(s) = q.parse::<SocketAddr>() {
            AddrQuery::Socket(SocketAddr::new(canonical(s.ip()), s.port()))
        } else if let Ok(ip) = q
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(q)
            .parse::<IpAddr>()
        {
            AddrQuery::Ip(canonical(ip))
        } else if q.contains(['.', ':']) {
            AddrQuery::Text(needle.clone())
        } else {
            AddrQuery::None
        };
        Query {
            pid: q.parse().ok(),
            needle,
            addr,
            failed: None,
        }
    }

    /// For a `!word` that names no failure (a typo: `!refsued`), what to
    /// say: finding nothing would read as "none refused".
    pub fn unknown_kind(&self) -> Option<String> {
        match &self.failed {
            Some(Failed::How(how)) if !known_kind(how) => Some(format!(
                "unknown failure kind \"{how}\" (one of: {KINDS}, an errno or a signal: econnreset, sigsegv)"
            )),
            _ => None,
        }
    }

    /// Whether the query names the process: its pid, or plain text (not
    /// an address or a failure) in the name of a program it ran. A new
    /// search goes first to a process it names, then to any it finds (a
    /// mention in some argv: `CURL_CA_BUNDLE` for `curl`, `kill -9 4242`
    /// for `4242`).
    pub fn names(&self, node: &Node) -> bool {
        if let Some(pid) = self.pid {
            return node.key.pid == pid;
        }
        // Text with a dot or a colon may be a name (`kworker/0:1`,
        // `python3.11`) as well as part of an address.
        let address = !matches!(self.addr, AddrQuery::None | AddrQuery::Text(_));
        if self.failed.is_some() || address || self.needle.is_empty() {
            return false;
        }
        self.in_a_name(node)
    }

    /// Of a process the query [`names`](Query::names), whether the query
    /// is its name whole (case aside), or its pid: its program's name, the
    /// name it was run as or the one it gave itself. A search goes to such
    /// a one before one whose name merely holds the query: `/kworker/0:1`
    /// to the process calling itself that, not the kernel's
    /// `kworker/0:1H-kblockd`.
    pub fn names_whole(&self, node: &Node) -> bool {
        if self.pid.is_some() {
            return true;
        }
        let is = |text: &str| text.to_lowercase() == self.needle;
        is(node.comm.as_str())
            || is(&node.display_name())
            || node.execs.iter().any(|e| {
                is(&display_name(Some(&e.info), &node.comm))
                    || e.info
                        .argv
                        .first()
                        .is_some_and(|a| is(&String::from_utf8_lossy(basename(a))))
            })
    }

    /// The needle in its name, or the name of a program it ran, or the
    /// name a program was run as (its `argv[0]`, what `ps` shows: `exec
    /// -a mydaemon bash`; a login shell's `-bash` is `bash`).
    fn in_a_name(&self, node: &Node) -> bool {
        let has = |text: &str| text.to_lowercase().contains(&self.needle);
        if node.execs.is_empty() {
            return has(&node.display_name());
        }
        // What top shows: a name it gave itself (`prctl`).
        if has(node.comm.as_str()) {
            return true;
        }
        node.execs.iter().any(|e| {
            // Looked at only when it is not the program's own name (it
            // seldom is another), as every search looks at every process.
            let run_as = e.info.argv.first().and_then(|a| {
                let name = basename(a);
                let name = name.strip_prefix(b"-").unwrap_or(name);
                (name != basename(e.info.program())).then(|| String::from_utf8_lossy(name))
            });
            // A deleted program is found as its row shows it:
            // `memfd:payload (deleted)`; a disguise whole.
            let mut name = display_name(Some(&e.info), &node.comm);
            if e.info.deleted {
                name.push_str(" (deleted)");
            }
            let disguise = match run_as_of(&e.info) {
                Some(RunAs::Disguise(d)) => Some(d),
                _ => None,
            };
            has(&name) || run_as.is_some_and(|a| has(&a)) || disguise.is_some_and(|d| has(&d))
        })
    }

    /// Whether connections are searched at all.
    pub fn searches_conns(&self) -> bool {
        self.addr != AddrQuery::None || self.failed.is_some()
    }

    /// The process itself: its pid, its name, the name or an argument
    /// of any program it ran (a shell that became `sleep` is still found by
    /// the command line it began with), or the path of its cgroup
    /// (`cgroup`: `nginx.service`, `docker-3f2a`); for `!`, a failed exit
    /// by `at` (`None`: now).
    pub fn matches_process(&self, node: &Node, cgroup: Option<&str>, at: Option<u64>) -> bool {
        if let Some(failed) = &self.failed {
            let ended = node.exit_time.is_some_and(|e| at.is_none_or(|t| e <= t));
            return ended
                && match failed {
                    Failed::Any => format::is_failure(node.exit),
                    Failed::How(how) => died_so(node, how),
                };
        }
        if self.pid == Some(node.key.pid) {
            return true;
        }
        let has = |text: &str| text.to_lowercase().contains(&self.needle);
        if cgroup.is_some_and(has) {
            return true;
        }
        if self.in_a_name(node) {
            return true;
        }
        // A query with a space in it is part of a command line: matched
        // against the arguments joined.
        let spaced = self.needle.contains(' ');
        node.execs.iter().any(|e| {
            if spaced {
                let line: Vec<_> = e
                    .info
                    .argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a))
                    .collect();
                has(&line.join(" "))
            } else {
                e.info.argv.iter().any(|a| has(&String::from_utf8_lossy(a)))
            }
        })
    }

    /// One of its connections, as it was at `at` (`None`: now). A
    /// listener's remote end (`0.0.0.0:0`) is not an address anyone talked
    /// to, and is never matched.
    pub fn matches_conn(&self, c: &Connection, at: Option<u64>) -> bool {
        // Stuck, not failed: a connect unanswered, a connection unread.
        match &self.failed {
            Some(Failed::How(how)) if how == "connecting" => {
                return conn_state(c, at) == ConnState::Connecting;
            }
            Some(Failed::How(how)) if how == "unused" => {
                return c.unused
                    && matches!(conn_state(c, at), ConnState::Open | ConnState::CloseWait);
            }
            Some(Failed::How(how)) if how == "close-wait" => {
                return conn_state(c, at) == ConnState::CloseWait;
            }
            _ => {}
        }
        if let Some(failed) = &self.failed {
            let Some(failure) = conn_end(c, at).and(c.failure()) else {
                return false;
            };
            return match failed {
                Failed::Any => true,
                Failed::How(how) => {
                    failure.as_str() == how
                        || (c.ending.error != 0
                            && errno_name(c.ending.error).eq_ignore_ascii_case(how))
                }
            };
        }
        let ends: &[SocketAddr] = if c.direction == Direction::Listen {
            std::slice::from_ref(&c.local)
        } else {
            &[c.local, c.remote]
        };
        match &self.addr {
            AddrQuery::None => false,
            AddrQuery::Port(p) => ends.iter().any(|a| a.port() == *p),
            AddrQuery::Ip(ip) => ends.iter().any(|a| a.ip() == *ip),
            AddrQuery::Socket(s) => ends.contains(s),
            AddrQuery::Text(t) => {
                let mut text = String::new();
                ends.iter().any(|a| {
                    text.clear();
                    // Writing into a String cannot fail.
                    let _ = write!(text, "{a}");
                    text.to_lowercase().contains(t.as_str())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Protocol;
    use crate::graph::{ConnState, NodeId};

    fn conn(direction: Direction, local: &str, remote: &str) -> Connection {
        Connection {
            owner: NodeId(0),
            protocol: Protocol::Tcp,
            direction,
            local: local.parse().expect("local"),
            remote: remote.parse().expect("remote"),
            start: 1,
            end: None,
            state: ConnState::Open,
            peer: None,
            cookie: 1,
            netns: 1,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            seeded: false,
            unused: false,
            peer_closed: None,
        }
    }

    fn finds(q: &str, c: &Connection) -> bool {
        Query::parse(q).matches_conn(c, None)
    }

    #[test]
    fn a_port_matches_either_end_exactly() {
        let c = conn(Direction::Outbound, "10.0.0.2:40120", "10.0.0.7:443");
        assert!(finds(":443", &c));
        assert!(finds(":40120", &c));
        assert!(!finds(":44", &c), "not a prefix");
        assert!(!finds(":4431", &c));
    }

    #[test]
    fn an_address_matches_either_end_at_any_port_and_v4_mapped_as_v4() {
        let c = conn(Direction::Inbound, "10.0.0.2:22", "192.168.1.50:51000");
        assert!(finds("192.168.1.50", &c));
        assert!(finds("10.0.0.2", &c));
        assert!(finds("::ffff:192.168.1.50", &c));
        assert!(!finds("192.168.1.5", &c), "exact, not a prefix");
        let v6 = conn(Direction::Outbound, "[2001:db8::1]:40000", "[::1]:80");
        assert!(finds("::1", &v6));
        assert!(finds("[::1]", &v6));
        assert!(finds("2001:DB8::1", &v6));
    }

    #[test]
    fn an_end_matches_exactly() {
        let c = conn(Direction::Outbound, "127.0.0.1:40000", "127.0.0.1:8080");
        assert!(finds("127.0.0.1:8080", &c));
        assert!(!finds("127.0.0.1:808", &c));
        let v6 = conn(Direction::Outbound, "[::1]:40000", "[::1]:8080");
        assert!(finds("[::1]:8080", &v6));
        assert!(!finds("[::1]:8081", &v6));
    }

    #[test]
    fn part_of_an_address_matches_by_substring() {
        let c = conn(Direction::Outbound, "10.0.0.2:40120", "10.20.30.40:443");
        assert!(finds("10.20.", &c));
        assert!(finds(".30.40:4", &c));
        assert!(!finds("10.21.", &c));
        let v6 = conn(Direction::Outbound, "[fe80::1]:40000", "[fe80::2]:80");
        assert!(finds("FE80:", &v6), "ignoring case");
    }

    #[test]
    fn a_word_or_a_number_does_not_search_connections() {
        let c = conn(Direction::Outbound, "127.0.0.1:40000", "127.0.0.1:8080");
        assert!(!Query::parse("8080").searches_conns());
        assert!(!finds("8080", &c));
        assert!(!finds("curl", &c));
    }

    #[test]
    fn a_process_is_found_by_any_program_it_ran() {
        let mut s = crate::ui::synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let job = s.spawn(init, 0, "/bin/bash", &["bash", "-c", "curl -s X; sleep 9"]);
        s.exec(job, init, 0, "/usr/bin/sleep", &["sleep", "9"]);
        let forked = s.fork(init, "worker", 0);
        let tree = crate::graph::CausalTree::from_messages(&s.messages);
        let node = |k| tree.node(tree.find(k).expect("in the tree"));
        let finds = |q: &str, k| Query::parse(q).matches_process(node(k), None, None);
        assert!(finds("sleep", job), "what it runs now");
        assert!(finds("bash", job), "the program it began as");
        assert!(finds("curl -s x", job), "the command line it began with");
        assert!(finds("sleep 9", job), "arguments joined");
        assert!(finds("-c curl", job), "across arguments");
        assert!(!finds("sleep  9", job));
        assert!(!finds("python", job));
        assert!(finds(&job.pid.to_string(), job));
        assert!(finds("work", forked), "no exec: its comm");
        assert!(!finds("bash", forked));
    }

    #[test]
    fn a_process_is_found_by_its_cgroup_path() {
        let mut s = crate::ui::synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let job = s.spawn(init, 0, "/usr/bin/tar", &["tar", "c", "/"]);
        s.cgroup(42, "/system.slice/docker-3f2a9c.scope");
        let tree = crate::graph::CausalTree::from_messages(&s.messages);
        let finds = |q: &str, k| {
            let node = tree.node(tree.find(k).expect("in the tree"));
            Query::parse(q).matches_process(node, tree.cgroup_path(node.cgroup), None)
        };
        assert!(finds("docker-3f2a", job));
        assert!(finds("system.slice/docker", job));
        assert!(!finds("docker-3f2a", init), "init's cgroup was never named");
        assert!(!finds("nginx.service", job));
    }

    #[test]
    fn a_bang_finds_what_is_stuck() {
        let open = conn(Direction::Outbound, "127.0.0.1:40000", "10.88.0.2:81");
        let connecting = Connection {
            state: ConnState::Connecting,
            ..open.clone()
        };
        let unused = Connection {
            unused: true,
            ..conn(Direction::Inbound, "127.0.0.1:8080", "127.0.0.1:40000")
        };
        let timed_out = Connection {
            end: Some(10),
            state: ConnState::Closed,
            ending: crate::event::Ending {
                error: 110,
                from: 2,
            },
            ..connecting.clone()
        };
        let finds = |q: &str, c: &Connection, at| Query::parse(q).matches_conn(c, at);
        assert!(finds("!connecting", &connecting, None));
        assert!(!finds("!connecting", &open, None) && !finds("!connecting", &unused, None));
        // Until it timed out, it was connecting; then it was not.
        assert!(finds("!connecting", &timed_out, Some(9)));
        assert!(!finds("!connecting", &timed_out, None));
        assert!(finds("!unused", &unused, None) && !finds("!unused", &open, None));
        assert!(Query::parse("!connecting").unknown_kind().is_none());
        // Its peer gave up on it, from when that was found; not before,
        // and not once it closed. Said as `ss` says it, or without the dash.
        let leaked = Connection {
            state: ConnState::CloseWait,
            peer_closed: Some(20),
            ..unused.clone()
        };
        let closed = Connection {
            end: Some(30),
            state: ConnState::Closed,
            ..leaked.clone()
        };
        for q in ["!close-wait", "!closewait", "!CLOSE_WAIT"] {
            assert!(finds(q, &leaked, None), "{q}");
            assert!(Query::parse(q).unknown_kind().is_none(), "{q}");
        }
        assert!(
            !finds("!close-wait", &leaked, Some(19)) && finds("!close-wait", &closed, Some(25))
        );
        assert!(!finds("!close-wait", &closed, None) && !finds("!close-wait", &open, None));
        // Unused as well: its server never read it.
        assert!(finds("!unused", &leaked, None));
        // Neither is a failure.
        assert!(!finds("!", &connecting, None) && !finds("!", &unused, None));
        assert!(!finds("!", &leaked, None));
    }

    #[test]
    fn a_bang_finds_failures_and_only_failures() {
        let ended = |error, from| Connection {
            end: Some(10),
            state: ConnState::Closed,
            ending: crate::event::Ending { error, from },
            ..conn(Direction::Outbound, "127.0.0.1:40000", "127.0.0.1:8080")
        };
        let refused = ended(111, 2);
        let reset = ended(104, 1);
        let clean = ended(0, 5);
        let open = conn(Direction::Outbound, "127.0.0.1:40000", "127.0.0.1:8080");
        let finds = |q: &str, c: &Connection| Query::parse(q).matches_conn(c, None);
        assert!(finds("!", &refused) && finds("!", &reset));
        assert!(!finds("!", &clean) && !finds("!", &open));
        assert!(finds("!refused", &refused) && !finds("!refused", &reset));
        assert!(finds("! Reset", &reset), "ignoring case and spaces");
        assert!(finds("!ECONNRESET", &reset) && !finds("!econnreset", &refused));
        assert!(!finds("!timeout", &refused));
        assert!(finds("!timeout", &ended(110, 2)));
        assert!(finds("!timed out", &ended(110, 2)));
        assert!(!finds("!nonsense", &refused));
        // Scrubbed back to before it ended, it had not failed yet.
        assert!(!Query::parse("!").matches_conn(&refused, Some(9)));
        assert!(Query::parse("!").matches_conn(&refused, Some(10)));
        assert!(Query::parse("!").searches_conns());
    }

    #[test]
    fn a_bang_with_a_word_that_is_no_failure_says_so() {
        let unknown = |q: &str| Query::parse(q).unknown_kind();
        for known in [
            "!",
            "!refused",
            "! Reset",
            "!timeout",
            "!timed out",
            "!unreachable",
            "!aborted",
            "!abandoned",
            "!error",
            "!ECONNRESET",
            "!e999",
            "!killed",
            "!oom",
            "!core",
            "!SIGSEGV",
            "!sigterm",
            "!sig34",
            "refsued",
            "",
        ] {
            assert_eq!(unknown(known), None, "{known}");
        }
        let said = unknown("!Refsued").unwrap_or_default();
        assert!(
            said.starts_with("unknown failure kind \"refsued\" (one of: refused reset timeout"),
            "{said}"
        );
        assert!(said.contains("econnreset, sigsegv)"), "{said}");
        for bad in ["!bogus", "!term", "!e", "!sig"] {
            assert!(unknown(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_bang_finds_a_process_that_failed_and_not_by_its_name() {
        let mut s = crate::ui::synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let bad = s.spawn(init, 0, "/usr/bin/make", &["make", "!"]);
        let good = s.spawn(init, 0, "/usr/bin/true", &["true"]);
        let running = s.spawn(init, 0, "/usr/bin/sleep", &["sleep"]);
        let before = s.now - 1;
        s.exit(bad, init, crate::event::ExitStatus::Code(2));
        s.exit(good, init, crate::event::ExitStatus::Code(0));
        let tree = crate::graph::CausalTree::from_messages(&s.messages);
        let node = |k| tree.node(tree.find(k).expect("in the tree"));
        let finds = |k, at| Query::parse("!").matches_process(node(k), None, at);
        assert!(finds(bad, None));
        assert!(!finds(bad, Some(before)), "not failed yet");
        assert!(!finds(good, None) && !finds(running, None));
        assert!(!Query::parse("!refused").matches_process(node(bad), None, None));
        assert!(!Query::parse("!make").matches_process(node(bad), None, None));
    }

    #[test]
    fn a_bang_finds_how_a_process_died() {
        let mut s = crate::ui::synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let spawn = |s: &mut crate::ui::synth::Synth, name| {
            s.spawn(init, 0, &format!("/usr/bin/{name}"), &[name])
        };
        let (segv, term, oom, failed) = (
            spawn(&mut s, "crash"),
            spawn(&mut s, "daemon"),
            spawn(&mut s, "hog"),
            spawn(&mut s, "make"),
        );
        let signal = |signal, core_dumped| ExitStatus::Signal {
            signal,
            core_dumped,
        };
        s.exit(segv, init, signal(11, true));
        let kill = spawn(&mut s, "kill");
        s.signal(term, init, 15, Some(kill));
        s.exit(term, init, signal(15, false));
        s.oom_kill(oom, init, oom);
        s.exit(oom, init, signal(9, false));
        s.exit(failed, init, ExitStatus::Code(2));
        let tree = crate::graph::CausalTree::from_messages(&s.messages);
        let found = |q: &str| -> Vec<u32> {
            let q = Query::parse(q);
            tree.nodes()
                .filter(|(_, n)| q.matches_process(n, None, None))
                .map(|(_, n)| n.key.pid)
                .collect()
        };
        assert_eq!(found("!killed"), [segv.pid, term.pid, oom.pid]);
        assert_eq!(found("!SIGTERM"), [term.pid]);
        assert_eq!(found("!sigsegv"), [segv.pid]);
        assert_eq!(found("!core"), [segv.pid]);
        assert_eq!(found("!oom"), [oom.pid]);
        assert_eq!(found("!"), [segv.pid, term.pid, oom.pid, failed.pid]);
        assert!(found("!refused").is_empty());
    }

    #[test]
    fn a_listeners_unset_remote_end_is_not_matched() {
        let l = conn(Direction::Listen, "0.0.0.0:8080", "0.0.0.0:0");
        assert!(finds(":8080", &l));
        assert!(finds("0.0.0.0", &l), "listening on every address");
        assert!(!finds(":0", &l));
        let out = conn(Direction::Outbound, "10.0.0.2:40000", "0.0.0.0:0");
        assert!(finds(":0", &out), "other directions: both ends");
    }
}
