//! A causal chain as one JSON document, for the postmortem: the selected
//! process, every ancestor up to the root of what causeway saw, and every
//! descendant, each with its exec history, its end and its connections
//! (with the process at the other end of a local one). The format is in
//! `docs/chain.md`, its schema in `assets/chain.schema.json`.
//!
//! Building the document reads the tree and nothing else; [`write_file`]
//! is the only I/O. [`summary`] draws the same document as text.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::event::{ExitStatus, Failure, ProcKey, errno_name, signal_name, tcp_state_name};
use crate::graph::{CausalTree, ConnId, Connection, Node, NodeId, ParentLink};
use crate::journal::{Header, encode_bytes, rfc3339, wall_time};

mod text;

pub use text::summary;

pub const FORMAT_NAME: &str = "causeway-chain";
pub const FORMAT_VERSION: u32 = 1;

/// The chain through `id`: its ancestors (the root first), itself, then
/// its descendants depth first, children in start order. `exported` is
/// the boot-clock time of the export.
pub fn chain(tree: &CausalTree, header: &Header, id: NodeId, exported: u64) -> Value {
    let time = |ktime: u64| rfc3339(wall_time(header.boot_time_ns, ktime));
    let ancestors = tree.ancestors(id);
    let descendants = tree.subtree(id);
    let roles = ancestors[..ancestors.len() - 1]
        .iter()
        .map(|&a| (a, "ancestor"))
        .chain(std::iter::once((id, "selected")))
        .chain(descendants.iter().skip(1).map(|&d| (d, "descendant")));
    let roles: Vec<(NodeId, &str)> = roles.collect();
    let processes: Vec<Value> = roles
        .iter()
        .map(|&(n, role)| process(tree, n, role, &time))
        .collect();
    // The processes at the other end of the chain's local connections
    // that are not in it, once each, in the order they are first named.
    // (Sets, not scans: a chain can hold a whole busy subtree.)
    let mut named: HashSet<NodeId> = roles.iter().map(|&(n, _)| n).collect();
    let mut peers: Vec<NodeId> = Vec::new();
    for &(n, _) in &roles {
        for &c in &tree.node(n).conns {
            if let Some(p) = tree.peer_process(c) {
                if named.insert(p) {
                    peers.push(p);
                }
            }
        }
    }
    let peers: Vec<Value> = peers.iter().map(|&p| peer(tree, p, &time)).collect();
    let top = tree.node(ancestors[0]);
    // What the selected process's parent did besides: not in the chain,
    // and often the story (the download before the payload ran).
    let siblings = tree
        .node(id)
        .parent_id()
        .map_or(0, |p| tree.node(p).children.len().saturating_sub(1));
    // The large parts are moved in after: `json!` would copy each through
    // serialization (a second document's worth of allocation: half the
    // time of a whole host's chain). The placeholders keep the fields'
    // order.
    let mut doc = json!({
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "host": {
            "hostname": header.hostname,
            "kernel": header.kernel,
            "boot_time": time(0),
            "boot_time_ns": header.boot_time_ns,
        },
        "causeway": header.causeway,
        "exported": time(exported),
        "selected": key(tree.node(id).key),
        // Whether the first process is a root (pid 1, kthreadd), or the
        // chain stops at a parent causeway never saw.
        "complete": top.causal_parent == ParentLink::Root,
        // From a rotated journal's later file: its "seeded" processes were
        // running when that file began, not when recording began.
        "continued": header.continued,
        "siblings": siblings,
        "processes": null,
        "peers": null,
    });
    doc["processes"] = Value::Array(processes);
    doc["peers"] = Value::Array(peers);
    doc
}

/// A process at the other end of a connection of the chain, outside it:
/// who it is and what it ran, without its own story.
fn peer(tree: &CausalTree, id: NodeId, time: &dyn Fn(u64) -> String) -> Value {
    let n = tree.node(id);
    let exec = n.current_exec();
    json!({
        "pid": n.key.pid,
        "start": n.key.start,
        "start_time": time(n.key.start),
        "comm": n.comm.as_str(),
        "uid": n.uid,
        "cgroup_path": tree.cgroup_path(n.cgroup),
        "began_as": tree.before_exec(id).map(encode_bytes),
        "first_exe": n.execs.first().filter(|_| n.execs.len() > 1).map(|e| encode_bytes(&e.info.exe)),
        "execs_seen": n.execs.len(),
        "exe": exec.map(|e| encode_bytes(&e.exe)),
        "file": exec.filter(|e| !e.file.is_empty()).map(|e| encode_bytes(&e.file)),
        "deleted": exec.is_some_and(|e| e.deleted),
        "argv": exec.map(|e| e.argv.iter().map(|a| encode_bytes(a)).collect::<Vec<_>>()),
        "end_time": n.exit_time.map(time),
    })
}

/// The process `n` was handed to when the one that started it ended (init,
/// a subreaper), as the view's `now` says it: `{pid, start, comm}`; null
/// when its parent is still the one that started it, or not known.
fn reparented_to(tree: &CausalTree, n: &Node) -> Value {
    let started_by = match n.causal_parent {
        ParentLink::Known(p) => Some(tree.node(p).key),
        ParentLink::Unknown(k) => Some(k),
        ParentLink::Root => None,
    };
    match (n.current_parent, started_by) {
        (Some(now), Some(by)) if !now.same_process(by) => json!({
            "pid": now.pid,
            "start": now.start,
            "comm": tree.find(now).map(|id| tree.node(id).comm.as_str()),
        }),
        _ => Value::Null,
    }
}

fn key(k: ProcKey) -> Value {
    json!({ "pid": k.pid, "start": k.start })
}

/// How many closed connections of each kind (clean, failed) a process's
/// entry lists, the newest; every open one is listed too.
pub const CONNECTIONS_LISTED: usize = 1000;

/// The connections of `conns` (in start order) a process's entry lists:
/// every open one, and the newest [`CONNECTIONS_LISTED`] clean and failed
/// closed ones each. A process that made 500,000 connections would
/// otherwise make a document of hundreds of MB, and the view would stop
/// for seconds to write it; the journal keeps them all.
fn listed_connections(tree: &CausalTree, conns: &[ConnId]) -> Vec<ConnId> {
    let (mut clean, mut failed) = (0, 0);
    let mut listed: Vec<ConnId> = conns
        .iter()
        .rev()
        .copied()
        .filter(|&id| {
            let c = tree.conn(id);
            let count = match (c.end, c.failure()) {
                (None, _) => return true,
                (Some(_), None) => &mut clean,
                (Some(_), Some(_)) => &mut failed,
            };
            *count += 1;
            *count <= CONNECTIONS_LISTED
        })
        .collect();
    listed.reverse();
    listed
}

fn process(tree: &CausalTree, id: NodeId, role: &str, time: &dyn Fn(u64) -> String) -> Value {
    let n = tree.node(id);
    let parent = match n.causal_parent {
        ParentLink::Known(p) => key(tree.node(p).key),
        ParentLink::Unknown(k) => key(k),
        ParentLink::Root => Value::Null,
    };
    // Which of the parent's programs forked it: a shell that became `sleep`
    // forked its `curl` while it was still the shell.
    let parent_exec = match n.causal_parent {
        ParentLink::Known(p) => tree.node(p).execs_by(n.start()).checked_sub(1),
        _ => None,
    };
    let execs: Vec<Value> = n
        .execs
        .iter()
        .map(|e| {
            json!({
                "time": e.time.map(time),
                "ktime": e.time,
                "exe": encode_bytes(&e.info.exe),
                "file": (!e.info.file.is_empty()).then(|| encode_bytes(&e.info.file)),
                "deleted": e.info.deleted,
                "memfd": e.info.memfd(),
                "argv": e.info.argv.iter().map(|a| encode_bytes(a)).collect::<Vec<_>>(),
                "argv_truncated": e.info.argv_truncated,
            })
        })
        .collect();
    let end = n.exit_time.map(|t| {
        let mut end = json!({ "time": time(t), "ktime": t });
        if n.defunct {
            // Ended before `time`, when the scan found it a zombie.
            end["defunct"] = json!(true);
        }
        if let Some(from) = n.gone {
            // Ended unseen between two recordings: after `after`, when the
            // one before ended, and before `time`, when the next began.
            end["gone"] = json!(true);
            end["after_time"] = json!(time(from));
            end["after_ktime"] = json!(from);
        }
        match n.exit {
            Some(ExitStatus::Code(c)) => end["exit_code"] = json!(c),
            Some(ExitStatus::Signal {
                signal,
                core_dumped,
            }) => {
                end["signal"] = json!(signal);
                end["signal_name"] = json!(signal_name(signal));
                end["core_dumped"] = json!(core_dumped);
            }
            None => {}
        }
        end
    });
    let listed = listed_connections(tree, &n.conns);
    let omitted = n.conns.len() - listed.len();
    let conns: Vec<Value> = listed
        .into_iter()
        .map(|c| connection(tree, tree.conn(c), time))
        .collect();
    let signals: Vec<Value> = n
        .signals
        .iter()
        .map(|s| {
            let sender = s.info.sender.map(|from| {
                json!({
                    "pid": from.proc.pid,
                    "start": from.proc.start,
                    "uid": from.uid,
                    "comm": from.comm.as_str(),
                })
            });
            json!({
                "time": time(s.time),
                "ktime": s.time,
                "signal": s.info.signal,
                "signal_name": signal_name(s.info.signal),
                "code": s.info.code,
                "oom_killer": s.info.oom,
                "sender": sender,
            })
        })
        .collect();
    let sent: Vec<Value> = n
        .sent
        .iter()
        .map(|s| {
            json!({
                "time": time(s.time),
                "ktime": s.time,
                "signal": s.signal,
                "signal_name": signal_name(s.signal),
                "to": key(s.to),
                "to_comm": tree.find(s.to).map(|id| tree.node(id).comm.as_str()),
            })
        })
        .collect();
    // Lists moved in after, not copied through `json!` (see `chain`).
    let mut p = json!({
        "role": role,
        "pid": n.key.pid,
        "start": n.key.start,
        "start_time": time(n.key.start),
        "parent": parent,
        "parent_seen": matches!(n.causal_parent, ParentLink::Known(_) | ParentLink::Root),
        // Adopted by init before causeway began: init did not start it.
        "parent_inferred": n.parent_inferred || n.adopted,
        "adopted": n.adopted,
        "reparented_to": reparented_to(tree, n),
        "parent_exec": parent_exec,
        "seeded": n.seeded,
        "started_unseen": n.started_unseen,
        "comm": n.comm.as_str(),
        "uid": n.uid,
        "gid": n.gid,
        "cgroup": n.cgroup,
        "cgroup_path": tree.cgroup_path(n.cgroup),
        // What it was forked as, when it did something before its first
        // exec: the view's `bash→curl`.
        "began_as": tree.before_exec(id).map(encode_bytes),
        "execs": null,
        "end": null,
        "signals": null,
        "signals_sent": null,
        "connections": null,
        "forgotten_connections": n.conn_counts.forgotten,
        "omitted_connections": omitted,
        "forgotten_children": n.forgotten_children,
    });
    p["execs"] = Value::Array(execs);
    p["end"] = end.unwrap_or(Value::Null);
    p["signals"] = Value::Array(signals);
    p["signals_sent"] = Value::Array(sent);
    p["connections"] = Value::Array(conns);
    p
}

fn connection(tree: &CausalTree, c: &Connection, time: &dyn Fn(u64) -> String) -> Value {
    let peer = c.peer.map(|p| key(tree.node(tree.conn(p).owner).key));
    json!({
        "protocol": c.protocol.as_str(),
        "direction": c.direction.as_str(),
        "local": c.local.to_string(),
        "remote": c.remote.to_string(),
        "state": c.state.as_str(),
        "start": c.start,
        "start_time": time(c.start),
        "end": c.end,
        "end_time": c.end.map(time),
        "bytes_sent": c.bytes_sent,
        "bytes_received": c.bytes_received,
        "failure": c.failure().map(Failure::as_str),
        "error": (c.ending.error != 0).then(|| errno_name(c.ending.error)),
        "closed_from": tcp_state_name(c.ending.from),
        "cookie": c.cookie,
        "netns": c.netns,
        "seeded": c.seeded,
        "peer_closed": c.peer_closed,
        "peer_closed_time": c.peer_closed.map(time),
        "peer": peer,
    })
}

/// The document as text: indented, ending with a newline.
pub fn to_text(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string());
    s.push('\n');
    s
}

/// Writes the document to a new file in `dir`, named after the selected
/// process (`causeway-chain-PID-START.json`, then `-2`, `-3`, ... rather
/// than overwrite), and its [`summary`] beside it with `.txt` for `.json`;
/// returns the JSON file's path.
pub fn write_file(dir: &Path, doc: &Value) -> Result<PathBuf> {
    let pid = doc["selected"]["pid"].as_u64().unwrap_or(0);
    let start = doc["selected"]["start"].as_u64().unwrap_or(0);
    // Readable by their owner only, as journals: they hold command lines.
    let new = |path: &Path| {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    };
    for n in 1..1000 {
        let stem = match n {
            1 => format!("causeway-chain-{pid}-{start}"),
            n => format!("causeway-chain-{pid}-{start}-{n}"),
        };
        let json = dir.join(format!("{stem}.json"));
        let txt = json.with_extension("txt");
        if txt.exists() {
            continue;
        }
        let mut file = match new(&json) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", json.display())),
        };
        file.write_all(to_text(doc).as_bytes())
            .with_context(|| format!("writing {}", json.display()))?;
        new(&txt)
            .and_then(|mut f| f.write_all(summary(doc).as_bytes()))
            .with_context(|| format!("writing {}", txt.display()))?;
        return Ok(json);
    }
    anyhow::bail!("too many chains of pid {pid} in {}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::synth;

    fn demo() -> CausalTree {
        CausalTree::from_messages(&synth::demo())
    }

    fn roles(doc: &Value) -> Vec<(String, u64)> {
        doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["role"].as_str().unwrap().to_string(),
                    p["pid"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn by_pid(doc: &Value, pid: u64) -> &Value {
        doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid} not in the chain"))
    }

    #[test]
    fn a_chain_is_the_ancestors_the_selection_and_its_descendants_in_order() {
        let tree = demo();
        // The demo: systemd > sshd > sshd session (1000) > bash (1001) >
        // make (1002) > cc, cc; bash > sleep, curl; nginx is elsewhere.
        let bash = tree.find_pid(1001).unwrap();
        let doc = chain(&tree, &synth::header(), bash, tree.last_ktime());
        let expect = [
            ("ancestor", 1),
            ("ancestor", 500),
            ("ancestor", 1000),
            ("selected", 1001),
            ("descendant", 1002),
            ("descendant", 1003),
            ("descendant", 1004),
            ("descendant", 1005),
            ("descendant", 1006),
        ];
        assert_eq!(
            roles(&doc),
            expect.map(|(r, p)| (r.to_string(), p)).to_vec()
        );
        assert_eq!(doc["format"], "causeway-chain");
        assert_eq!(doc["complete"], true);
        assert_eq!(doc["selected"]["pid"], 1001);
        assert_eq!(doc["host"]["hostname"], "testhost");
        let make = by_pid(&doc, 1002);
        assert_eq!(make["end"]["exit_code"], 2);
        assert_eq!(make["execs"][0]["argv"], json!(["make", "-j2", "all"]));
        assert_eq!(make["parent"]["pid"], 1001);
        let sleep = by_pid(&doc, 1005);
        assert_eq!(sleep["end"]["signal_name"], "SIGKILL");
        // curl's connection names nginx, at the other end, by identity.
        let curl = by_pid(&doc, 1006);
        let conn = &curl["connections"][0];
        assert_eq!(
            (conn["direction"].as_str(), conn["remote"].as_str()),
            (Some("outbound"), Some("127.0.0.1:8080"))
        );
        let nginx = tree.node(tree.find_pid(600).unwrap()).key;
        assert_eq!(conn["peer"], key(nginx));
        // nginx is not in bash's chain: it is listed among the peers.
        assert_eq!(doc["peers"].as_array().unwrap().len(), 1);
        assert_eq!(doc["peers"][0]["pid"], 600);
        assert_eq!(doc["peers"][0]["comm"], "nginx");
        assert_eq!(doc["peers"][0]["argv"][0], "nginx");
        assert!(by_pid(&doc, 1)["end"].is_null(), "systemd runs");
    }

    #[test]
    fn each_process_names_its_cgroup_when_it_was_named() {
        let mut s = synth::Synth::new();
        // The seed is in cgroup 1 (never named); events are in cgroup 42.
        let init = s.seed(1, None, "systemd", &["systemd"]);
        s.cgroup(42, "/system.slice/backup.service");
        let job = s.spawn(init, 0, "/usr/bin/tar", &["tar", "c", "/"]);
        let tree = CausalTree::from_messages(&s.messages);
        let doc = chain(
            &tree,
            &synth::header(),
            tree.find(job).unwrap(),
            tree.last_ktime(),
        );
        let job = by_pid(&doc, u64::from(job.pid));
        assert_eq!(job["cgroup"], json!(42));
        assert_eq!(job["cgroup_path"], json!("/system.slice/backup.service"));
        assert_eq!(by_pid(&doc, 1)["cgroup_path"], Value::Null);
    }

    #[test]
    fn each_process_names_the_program_its_parent_forked_it_from() {
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let job = s.fork(init, "systemd", 0);
        let early = s.fork(job, "systemd", 0);
        s.exec(
            job,
            init,
            0,
            "/bin/bash",
            &["bash", "-c", "curl x; sleep 9"],
        );
        let curl = s.spawn(job, 0, "/usr/bin/curl", &["curl", "x"]);
        s.exec(job, init, 0, "/usr/bin/sleep", &["sleep", "9"]);
        let late = s.spawn(job, 0, "/usr/bin/true", &["true"]);
        let tree = CausalTree::from_messages(&s.messages);
        let id = tree.find(job).unwrap();
        let doc = chain(&tree, &synth::header(), id, tree.last_ktime());
        let parent_exec = |k: ProcKey| by_pid(&doc, u64::from(k.pid))["parent_exec"].clone();
        assert_eq!(parent_exec(curl), json!(0), "forked by bash, not sleep");
        assert_eq!(parent_exec(late), json!(1));
        assert_eq!(parent_exec(early), Value::Null, "before its first exec");
        assert_eq!(parent_exec(job), json!(0), "systemd's scanned program");
        assert_eq!(by_pid(&doc, 1)["parent_exec"], Value::Null, "a root");
    }

    #[test]
    fn a_connection_says_how_it_ended() {
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl"]);
        let ends = |port: u16| {
            let ip = [10, 0, 0, 7];
            (
                std::net::SocketAddr::from((ip, 40_000 + port)),
                std::net::SocketAddr::from((ip, port)),
            )
        };
        let out = crate::event::Direction::Outbound;
        for (port, error, from) in [(1, 111, 2), (2, 0, 9)] {
            let (l, r) = ends(port);
            s.net(
                (curl, init),
                crate::event::NetKind::Connect,
                out,
                l,
                r,
                port.into(),
            );
            let ending = crate::event::Ending { error, from };
            s.close((curl, init), out, ends(port), port.into(), (0, 0), ending);
        }
        let (l, r) = ends(3);
        s.net((curl, init), crate::event::NetKind::Connect, out, l, r, 3);
        let tree = CausalTree::from_messages(&s.messages);
        let id = tree.find(curl).unwrap();
        let doc = chain(&tree, &synth::header(), id, tree.last_ktime());
        let conns = &by_pid(&doc, u64::from(curl.pid))["connections"];
        let ending = |i: usize| {
            let c = &conns[i];
            (
                c["failure"].clone(),
                c["error"].clone(),
                c["closed_from"].clone(),
            )
        };
        assert_eq!(
            ending(0),
            (json!("refused"), json!("ECONNREFUSED"), json!("SYN_SENT"))
        );
        assert_eq!(ending(1), (Value::Null, Value::Null, json!("LAST_ACK")));
        assert_eq!(ending(2), (Value::Null, Value::Null, Value::Null), "open");
    }

    #[test]
    fn a_process_says_who_signalled_it() {
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let sleep = s.spawn(init, 0, "/usr/bin/sleep", &["sleep", "300"]);
        let killer = s.spawn(init, 0, "/usr/bin/kill", &["kill", "1000"]);
        s.signal(sleep, init, 1, None);
        s.signal(sleep, init, 9, Some(killer));
        let tree = CausalTree::from_messages(&s.messages);
        let id = tree.find(sleep).unwrap();
        let doc = chain(&tree, &synth::header(), id, tree.last_ktime());
        let signals = &by_pid(&doc, u64::from(sleep.pid))["signals"];
        assert_eq!(signals[0]["signal_name"], "SIGHUP");
        assert!(signals[0]["sender"].is_null(), "the kernel");
        assert_eq!(signals[1]["signal"], 9);
        assert_eq!(signals[1]["sender"]["pid"], killer.pid);
        assert_eq!(signals[1]["sender"]["start"], killer.start);
        assert_eq!(signals[1]["sender"]["comm"], "kill");
        assert_eq!(by_pid(&doc, 1)["signals"], json!([]));
        // The killer's side, in its own chain.
        let doc = chain(
            &tree,
            &synth::header(),
            tree.find(killer).unwrap(),
            tree.last_ktime(),
        );
        let sent = &by_pid(&doc, u64::from(killer.pid))["signals_sent"];
        assert_eq!(sent.as_array().map(Vec::len), Some(1), "{sent}");
        assert_eq!(sent[0]["signal_name"], "SIGKILL");
        assert_eq!(
            sent[0]["to"],
            json!({"pid": sleep.pid, "start": sleep.start})
        );
        assert_eq!(by_pid(&doc, 1)["signals_sent"], json!([]));
    }

    /// The fields the table under `heading` in docs/chain.md names, in
    /// its order (a row may name several: "`pid`, `start`, `start_time`").
    fn documented_fields(heading: &str) -> Vec<String> {
        let doc = include_str!("../../docs/chain.md");
        let section = doc.split(heading).nth(1).expect("the heading");
        let section = section.split("\n## ").next().unwrap();
        section
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .flat_map(|l| l.split(" |").next().unwrap().split(", "))
            .map(|f| f.trim_matches('`').to_string())
            .collect()
    }

    #[test]
    fn fields_come_in_the_order_the_format_documents() {
        let tree = demo();
        let curl = tree.find_pid(1006).unwrap();
        let doc = chain(&tree, &synth::header(), curl, tree.last_ktime());
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&doc), documented_fields("## Top level"));
        let curl = by_pid(&doc, 1006);
        assert_eq!(keys(curl), documented_fields("## A process"));
        assert_eq!(
            keys(&curl["connections"][0]),
            documented_fields("## A connection")
        );
    }

    #[test]
    fn a_process_with_many_connections_lists_the_open_and_the_newest() {
        use crate::event::{Direction, Ending, NetKind};
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "init", &["init"]);
        let client = s.spawn(init, 0, "/usr/bin/client", &["client"]);
        let who = (client, init);
        // 1,500 clean ones, then 1,200 refused, then 3 left open.
        s.outbound_churn(who, 1..1501, |_| false);
        let server = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
        for cookie in 2000..3200u64 {
            let local = std::net::SocketAddr::from(([127, 0, 0, 1], cookie as u16));
            let out = Direction::Outbound;
            s.net(who, NetKind::Connect, out, local, server, cookie);
            let refused = Ending {
                error: 111,
                from: 2,
            };
            s.close(who, out, (local, server), cookie, (0, 0), refused);
        }
        s.outbound_churn(who, 5000..5003, |_| true);
        let mut tree = CausalTree::with_limits(usize::MAX, usize::MAX);
        for m in &s.messages {
            tree.apply(m);
        }
        let id = tree.find(client).unwrap();
        let doc = chain(&tree, &synth::header(), id, tree.last_ktime());
        let p = by_pid(&doc, u64::from(client.pid));
        let conns = p["connections"].as_array().unwrap();
        assert_eq!(conns.len(), 3 + 1000 + 1000);
        assert_eq!(p["omitted_connections"], 500 + 200);
        let cookies: Vec<u64> = conns
            .iter()
            .map(|c| c["cookie"].as_u64().unwrap())
            .collect();
        assert!(cookies.windows(2).all(|w| w[0] < w[1]), "in start order");
        assert_eq!(cookies[0], 501, "the oldest 500 clean ones left out");
        assert_eq!(cookies[1000], 2200, "the oldest 200 failed ones left out");
        assert_eq!(&cookies[2000..], [5000, 5001, 5002], "every open one");
        let text = super::text::summary(&doc);
        assert!(
            text.contains(
                "(and 700 older closed connections not listed here; the journal has them)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_chain_that_stops_at_an_unseen_parent_says_so() {
        let tree = demo();
        let stray = tree.find_pid(4000).unwrap();
        let doc = chain(&tree, &synth::header(), stray, tree.last_ktime());
        assert_eq!(roles(&doc), [("selected".to_string(), 4000)]);
        assert_eq!(doc["complete"], false);
        let p = by_pid(&doc, 4000);
        assert_eq!(
            (p["parent"]["pid"].as_u64(), p["parent_seen"].as_bool()),
            (Some(77), Some(false))
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_hex_as_in_the_journal() {
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "init", &["init"]);
        let odd = s.spawn(init, 0, "/bin/x", &["x"]);
        let mut tree = CausalTree::from_messages(&s.messages);
        let mut msg = s.messages.last().unwrap().clone();
        if let crate::event::Message::Event(ev) = &mut msg {
            if let crate::event::EventKind::Exec(x) = &mut ev.kind {
                x.argv = vec![b"x".to_vec(), vec![0xff, 0x00, b'a']];
            }
            ev.ktime += 1;
        }
        tree.apply(&msg);
        let doc = chain(&tree, &synth::header(), tree.find(odd).unwrap(), 0);
        let argv = &by_pid(&doc, u64::from(odd.pid))["execs"][1]["argv"];
        assert_eq!(argv, &json!(["x", {"hex": "ff0061"}]));
    }

    /// The shipped schema and the document agree on every object's fields:
    /// those it requires are there, and no others; and what the writer
    /// always writes is required (only an end's fields are written when
    /// they apply: how it ended, defunct, gone).
    #[test]
    fn documents_have_what_the_schema_requires_and_nothing_else() {
        let schema: Value =
            serde_json::from_str(include_str!("../../assets/chain.schema.json")).unwrap();
        let fields = |v: &Value| -> Vec<String> {
            let mut f: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            f.sort();
            f
        };
        let check = |obj: &Value, def: &Value, what: &str| {
            let known: Vec<String> = def["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            for f in fields(obj) {
                assert!(known.contains(&f), "{what} has {f}, unknown to the schema");
            }
            let required = def["required"].as_array().unwrap();
            for r in required {
                assert!(obj.get(r.as_str().unwrap()).is_some(), "{what} lacks {r}");
            }
            if what != "an end" {
                for f in fields(obj) {
                    assert!(
                        required.iter().any(|r| r == f.as_str()),
                        "{what} always has {f}, which the schema does not require"
                    );
                }
            }
        };
        let mut tree = demo();
        // And a signal one process sent another.
        let key_of = |pid| tree.node(tree.find_pid(pid).unwrap()).key;
        let (init, sshd, nginx) = (key_of(1), key_of(500), key_of(600));
        let mut s = synth::Synth::new();
        s.now = tree.last_ktime() + 1_000;
        s.signal(sshd, init, 15, Some(nginx));
        for m in &s.messages {
            tree.apply(m);
        }
        // And a process ended unseen between two recordings.
        let (running, _) = tree
            .nodes()
            .find(|(_, n)| n.is_alive() && n.parent_id().is_some())
            .expect("a process running");
        let key = tree.node(running).key;
        let (from, to) = (tree.last_ktime(), tree.last_ktime() + 1_000_000_000);
        let listed = tree
            .nodes()
            .map(|(_, n)| n.key)
            .filter(|&k| k != key)
            .collect();
        tree.apply(&crate::event::Message::Gap(Box::new(crate::event::Gap {
            stretch: crate::event::Stretch::between("a", "b", from, to),
            procs: listed,
            sockets: vec![],
        })));
        assert!(tree.node(running).gone.is_some());
        // And a connection found with its peer closed.
        let mut sock =
            crate::event::SeedSocket::tcp_for_test(crate::event::Direction::Inbound, 9_998, 0);
        sock.actor.proc = key;
        sock.seen = to;
        sock.peer_closed = true;
        tree.apply(&crate::event::Message::Socket(sock));
        let states: Vec<_> = tree.conns().iter().map(|c| c.state).collect();
        assert!(states.contains(&crate::graph::ConnState::CloseWait));
        let mut signals = 0;
        for (id, _) in tree.nodes() {
            let doc = chain(&tree, &synth::header(), id, tree.last_ktime());
            check(&doc, &schema, "the document");
            check(&doc["host"], &schema["properties"]["host"], "host");
            let defs = &schema["$defs"];
            for p in doc["peers"].as_array().unwrap() {
                check(p, &defs["peer"], "a peer");
            }
            for p in doc["processes"].as_array().unwrap() {
                check(p, &defs["process"], "a process");
                for e in p["execs"].as_array().unwrap() {
                    check(e, &defs["exec"], "an exec");
                }
                if !p["end"].is_null() {
                    check(&p["end"], &defs["end"], "an end");
                }
                for g in p["signals"].as_array().unwrap() {
                    check(g, &defs["signal"], "a signal");
                    signals += 1;
                }
                for g in p["signals_sent"].as_array().unwrap() {
                    check(g, &defs["sent_signal"], "a signal sent");
                }
                for c in p["connections"].as_array().unwrap() {
                    check(c, &defs["connection"], "a connection");
                    let states = defs["connection"]["properties"]["state"]["enum"]
                        .as_array()
                        .unwrap();
                    assert!(states.contains(&c["state"]), "state {}", c["state"]);
                }
            }
        }
        assert!(signals > 0, "the demo has a signal to check");
    }

    #[test]
    fn files_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let tree = demo();
        let doc = chain(&tree, &synth::header(), tree.find_pid(1001).unwrap(), 0);
        let first = write_file(dir.path(), &doc).unwrap();
        let second = write_file(dir.path(), &doc).unwrap();
        assert_ne!(first, second);
        let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let start = doc["selected"]["start"].as_u64().unwrap();
        assert_eq!(name(&first), format!("causeway-chain-1001-{start}.json"));
        assert_eq!(name(&second), format!("causeway-chain-1001-{start}-2.json"));
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&second).unwrap()).unwrap();
        assert_eq!(back, doc);
        // Readable by their owner only: they hold command lines.
        use std::os::unix::fs::PermissionsExt;
        for p in [&first, &first.with_extension("txt")] {
            let mode = std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", p.display());
        }
        let missing = dir.path().join("no/such/dir");
        let e = write_file(&missing, &doc).unwrap_err();
        assert!(format!("{e:#}").contains("creating"), "{e:#}");
    }
}
