//! A causal chain as text, for pasting into a postmortem or a chat: the
//! chain drawn as a tree, one line per process (what it ran, when it
//! started, how it ended), its connections and the signals sent to it
//! under it. Drawn from the JSON document ([`super::chain`]), so the two
//! always agree; the format is described in `docs/chain.md`.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::journal::decode_bytes;
use crate::ui::format;

/// At most this many characters of a command line.
const ARGV_MAX: usize = 100;

/// How a process running when the journal began is said to have started.
const SEEDED: &str = "running before causeway began";
/// The same, in a chain whose first file read continues an earlier one.
const SEEDED_CONTINUED: &str = "running when the journal file began";

/// The chain document `doc` as text, ending with a newline.
pub fn summary(doc: &Value) -> String {
    let empty = Vec::new();
    let procs = doc["processes"].as_array().unwrap_or(&empty);
    let peers = doc["peers"].as_array().unwrap_or(&empty);
    let key = |v: &Value| (v["pid"].as_u64(), v["start"].as_u64());
    let index: HashMap<_, usize> = procs.iter().enumerate().map(|(i, p)| (key(p), i)).collect();
    // Children in the document's order (start order), by parent.
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); procs.len()];
    let mut tops = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        match index.get(&key(&p["parent"])) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => tops.push(i),
        }
    }
    // Who is at the other end of a connection: a process of the chain or
    // one of its peers.
    let name_of = |k: &Value| -> Option<String> {
        let p = index
            .get(&key(k))
            .map(|&i| &procs[i])
            .or_else(|| peers.iter().find(|p| key(p) == key(k)))?;
        Some(format!("{} {}{}", p["pid"], program(p), unit(p)))
    };

    let mut out = String::new();
    let selected = doc["selected"]["pid"].as_u64().unwrap_or(0);
    let host = doc["host"]["hostname"].as_str().unwrap_or("");
    let _ = writeln!(
        out,
        "causeway chain of pid {selected} on {}, as of {} (times UTC)",
        format::text(host.as_bytes(), 64),
        doc["exported"].as_str().unwrap_or("?")
    );
    if doc["complete"] == Value::Bool(false) {
        let _ = writeln!(
            out,
            "(it begins at a process whose parent causeway never saw)"
        );
    }
    out.push('\n');
    // A rotated journal's later file began with what was running then.
    let seeded = if doc["continued"] == Value::Bool(true) {
        SEEDED_CONTINUED
    } else {
        SEEDED
    };
    // (process, its guide, the guide of the lines under it, its depth)
    let mut stack: Vec<(usize, String, String, usize)> = tops
        .iter()
        .rev()
        .map(|&i| (i, String::new(), String::new(), 0))
        .collect();
    while let Some((i, guide, rest, depth)) = stack.pop() {
        let p = &procs[i];
        let parent = index.get(&key(&p["parent"])).map(|&j| &procs[j]);
        out.push_str(&guide);
        if depth > MAX_INDENT {
            // Indented no further: a chain thousands deep would make lines
            // of tens of KiB, and the whole text hundreds of MiB.
            let _ = write!(out, "[depth {depth}] ");
        }
        out.push_str(&process_line(p, parent, seeded));
        out.push('\n');
        let kids = &children[i];
        let below = if kids.is_empty() { "   " } else { "│  " };
        let kid_values: Vec<&Value> = kids.iter().map(|&k| &procs[k]).collect();
        for line in details(p, &kid_values, &name_of) {
            let _ = writeln!(out, "{rest}{below}  {line}");
        }
        for (n, &k) in kids.iter().enumerate().rev() {
            let last = n + 1 == kids.len();
            let (g, r) = if last {
                ("└─ ", "   ")
            } else {
                ("├─ ", "│  ")
            };
            let under = if depth >= MAX_INDENT {
                rest.clone()
            } else {
                format!("{rest}{r}")
            };
            stack.push((k, format!("{rest}{g}"), under, depth + 1));
        }
    }
    let forgotten: u64 = procs
        .iter()
        .filter_map(|p| p["forgotten_children"].as_u64())
        .sum();
    if forgotten > 0 {
        let _ = writeln!(
            out,
            "\n({forgotten} exited children were forgotten by the view to bound its memory; the journal has them)"
        );
    }
    // What its parent did besides is not in the chain: say where it is
    // (not for init's or kthreadd's: every service, every kernel thread).
    let parent = procs
        .iter()
        .find(|p| key(p) == key(&doc["selected"]))
        .map(|p| &p["parent"])
        .and_then(|k| index.get(&key(k)).map(|&i| &procs[i]))
        .filter(|p| !matches!(p["pid"].as_u64(), Some(1 | 2)));
    if let (Some(n), Some(parent)) = (doc["siblings"].as_u64().filter(|&n| n > 0), parent) {
        let _ = writeln!(
            out,
            "\n({} {} had {}, not in this chain: export {} for them)",
            parent["pid"],
            program(parent),
            format::counted(n, "other child", "other children"),
            parent["pid"]
        );
    }
    out
}

/// Levels of the tree indented; deeper ones are drawn at this indent,
/// with their depth.
const MAX_INDENT: usize = 40;

/// The name a process is known by: the basename of what it ran last, else
/// its comm; with what it began as when it has been something else since,
/// as the view's row says it (`bash→sleep`, `sudo→…→python3`): its first
/// exec, or what it was forked as when it did something before that exec
/// (`began_as`).
fn program(p: &Value) -> String {
    // The basename of an `exe`.
    let base = |exe: &Value| {
        decode_bytes(exe).filter(|x| !x.is_empty()).map(|x| {
            let name = x.rsplit(|&b| b == b'/').next().unwrap_or(&x).to_vec();
            format::text(&name, 40)
        })
    };
    let comm = format::text(p["comm"].as_str().unwrap_or("?").as_bytes(), 40);
    // A peer has its last `exe` (and its first, `first_exe`, when it ran
    // more than one); a process of the chain its `execs`.
    let execs = p["execs"].as_array();
    let last = match execs.and_then(|e| e.last()) {
        Some(e) => base(program_of(e)),
        None => base(program_of(p)),
    };
    let last = format::name(last.unwrap_or(comm));
    // How many programs it ran (a peer from a chain written before
    // `execs_seen`: one, when it ran any).
    let ran = execs.map_or_else(
        || {
            p["execs_seen"]
                .as_u64()
                .map_or(usize::from(!p["exe"].is_null()), |n| n as usize)
        },
        Vec::len,
    );
    let first = match execs.map(Vec::as_slice) {
        Some([first, _, ..]) => base(program_of(first)),
        Some(_) => None,
        None if ran >= 2 => base(&p["first_exe"]),
        None => None,
    };
    let (first, between) = match (began_as(p), first) {
        (Some(began), _) if ran >= 1 => (began, ran >= 2),
        (None, Some(first)) => (first, ran >= 3),
        _ => return last,
    };
    let via = if between { "→…→" } else { "→" };
    format!("{first}{via}{last}")
}

/// The file an exec (or a peer's last one) ran: its `file` when known
/// (the kernel's, symlinks resolved), else its `exe`; a `#!` script by
/// its own path (see [`crate::event::ExecInfo::program`]); as the view
/// names it.
fn program_of(exec: &Value) -> &Value {
    let argv = &exec["argv"];
    let script = argv.get(1) == Some(&exec["exe"]) && argv.get(0) != Some(&exec["exe"]);
    if exec["file"].is_null() || script {
        &exec["exe"]
    } else {
        &exec["file"]
    }
}

/// After the name of what process `p` ran last: ` (deleted)` when that
/// file had no links, and the name it was run as when not its own (see
/// [`crate::graph::run_as`]): ` (as sh)`, ` (argv0 [kworker/u4:2])`.
fn run_as(p: &Value) -> String {
    let exec = match p["execs"].as_array() {
        Some(execs) => match execs.last() {
            Some(e) => e,
            None => return String::new(),
        },
        None => p,
    };
    let mut out = String::new();
    if exec["deleted"] == Value::Bool(true) {
        out.push_str(" (deleted)");
    }
    let info = crate::event::ExecInfo {
        exe: decode_bytes(&exec["exe"]).unwrap_or_default(),
        file: decode_bytes(&exec["file"]).unwrap_or_default(),
        argv: (exec["argv"].as_array().into_iter().flatten())
            .take(2)
            .filter_map(decode_bytes)
            .collect(),
        ..Default::default()
    };
    match crate::graph::run_as(&info) {
        Some(crate::graph::RunAs::Alias(name)) => {
            let _ = write!(out, " (as {})", format::text(name.as_bytes(), 40));
        }
        Some(crate::graph::RunAs::Disguise(name)) => {
            let _ = write!(out, " (argv0 {})", format::text(name.as_bytes(), 40));
        }
        None => {}
    }
    out
}

/// The name process `p` gave itself, when it renamed itself (see
/// [`crate::graph::renamed`]) after the last program it ran, or (never
/// exec'd) after it was forked running `forked_as`.
fn renamed_to(p: &Value, forked_as: Option<&[u8]>) -> Option<String> {
    let comm = p["comm"].as_str()?;
    if let Some(program) = forked_as {
        return crate::graph::renamed(program, &[], comm)
            .then(|| format::text(comm.as_bytes(), 40));
    }
    let exec = p["execs"].as_array()?.last()?;
    let argv: Vec<Vec<u8>> = (exec["argv"].as_array().into_iter().flatten())
        .take(2)
        .filter_map(decode_bytes)
        .collect();
    let info = crate::event::ExecInfo {
        exe: decode_bytes(&exec["exe"])?,
        file: decode_bytes(&exec["file"]).unwrap_or_default(),
        argv,
        ..Default::default()
    };
    crate::graph::renamed_exec(&info, comm).then(|| format::text(comm.as_bytes(), 40))
}

/// What process `p` was when it opened a connection at `start`, when that
/// is not what it runs last: what it was forked as, before its first exec
/// (`began_as`), or the program it ran then, between two execs; as the
/// view's connection line says it.
fn opened_as(p: &Value, start: u64) -> Option<String> {
    let execs = p["execs"].as_array()?;
    let first = execs.first()?["ktime"].as_u64()?;
    if start < first {
        return began_as(p);
    }
    let k = execs.partition_point(|e| e["ktime"].as_u64().is_none_or(|x| x <= start));
    (k > 0 && k < execs.len())
        .then(|| decode_bytes(&execs[k - 1]["exe"]))
        .flatten()
        .filter(|x| !x.is_empty())
        .map(|x| format::text(x.rsplit(|&b| b == b'/').next().unwrap_or(&x), 40))
}

/// What a process was forked as, when it did something before its first
/// exec (`began_as`).
fn began_as(p: &Value) -> Option<String> {
    decode_bytes(&p["began_as"]).map(|b| format::text(&b, 40))
}

/// ` ⟨nginx.service⟩`: the last part of a process's cgroup path, when it
/// is known and not the root's; else nothing.
fn unit(p: &Value) -> String {
    p["cgroup_path"]
        .as_str()
        .and_then(crate::cgroups::unit)
        .map(|u| format!(" ⟨{}⟩", format::text(u.as_bytes(), 40)))
        .unwrap_or_default()
}

/// `▶ 4151 curl ⟨web.service⟩  -s http://…  started 13:11:36.361, exit 7 after 50ms`
fn process_line(p: &Value, parent: Option<&Value>, seeded: &str) -> String {
    let mut line = String::new();
    if p["role"] == "selected" {
        line.push_str("▶ ");
    }
    // Forked and never exec'd: named by what it was forked as, its
    // parent's program then, as the view names it.
    let fork_seen = p["seeded"] != Value::Bool(true) && p["parent_inferred"] != Value::Bool(true);
    let forked_as = parent
        .filter(|_| fork_seen && p["execs"].as_array().is_some_and(Vec::is_empty))
        .and_then(|q| q["execs"].get(usize::try_from(p["parent_exec"].as_u64()?).ok()?))
        .and_then(|e| decode_bytes(&e["exe"]))
        .map(|exe| crate::graph::basename(&exe).to_vec());
    match &forked_as {
        Some(name) => {
            let _ = write!(
                line,
                "{} {}",
                p["pid"],
                format::name(format::text(name, 40))
            );
        }
        None => {
            let _ = write!(line, "{} {}{}", p["pid"], program(p), run_as(p));
        }
    }
    // Renamed itself (what top shows; maybe a disguise).
    if let Some(comm) = renamed_to(p, forked_as.as_deref()) {
        let _ = write!(line, " (comm {comm})");
    }
    if parent.map(|q| &q["cgroup"]) != Some(&p["cgroup"]) {
        line.push_str(&unit(p));
    }
    let args: Vec<Vec<u8>> = p["execs"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["argv"].as_array())
        .map(|a| a.iter().skip(1).filter_map(decode_bytes).collect())
        .unwrap_or_default();
    if !args.is_empty() {
        let _ = write!(line, "  {}", format::argv(&args, ARGV_MAX));
    }
    let started = if p["started_unseen"] == Value::Bool(true) {
        format!(
            "started {} between recordings, unseen",
            clock(&p["start_time"])
        )
    } else if p["adopted"] == Value::Bool(true) {
        // An orphan init adopted: it did not start it.
        format!("{seeded}, an orphan adopted by 1: who started it is not known")
    } else if p["seeded"] == Value::Bool(true) {
        seeded.to_string()
    } else {
        format!("started {}", clock(&p["start_time"]))
    };
    let _ = write!(line, "  ({started}");
    // Handed to init or a subreaper when the one that started it ended.
    let now = &p["reparented_to"];
    if let Some(pid) = now["pid"].as_u64() {
        let _ = write!(line, ", reparented to {pid}");
        if let Some(comm) = now["comm"].as_str() {
            let _ = write!(line, " {}", format::text(comm.as_bytes(), 40));
        }
    }
    match &p["end"] {
        Value::Null => line.push_str(", running)"),
        end => {
            let after = end["ktime"]
                .as_u64()
                .zip(p["start"].as_u64())
                .filter(|_| p["seeded"] != Value::Bool(true))
                .map(|(e, s)| format!(" after {}", format::duration(e.saturating_sub(s))))
                .filter(|_| end["gone"] != Value::Bool(true))
                .unwrap_or_else(|| {
                    if end["gone"] == Value::Bool(true) {
                        format!(
                            " between recordings, after {} and before {}",
                            clock(&end["after_time"]),
                            clock(&end["time"])
                        )
                    } else if end["defunct"] == Value::Bool(true) {
                        format!(
                            " before {}, a zombie its parent had not collected",
                            clock(&end["time"])
                        )
                    } else {
                        format!(" at {}", clock(&end["time"]))
                    }
                });
            let how = match (end["exit_code"].as_i64(), end["signal_name"].as_str()) {
                (_, Some(sig)) if end["core_dumped"] == Value::Bool(true) => {
                    format!("killed by {sig} (core dumped)")
                }
                (_, Some(sig)) => format!("killed by {sig}"),
                (Some(code), _) => format!("exit {code}"),
                _ if end["gone"] == Value::Bool(true) => "gone: ended unseen".to_string(),
                _ => "ended".to_string(),
            };
            let _ = write!(line, ", {how}{after})");
        }
    }
    line
}

/// The lines under a process: who killed it, how its children (`kids`,
/// those in the chain) ended, the signals it sent, its connections.
fn details(p: &Value, kids: &[&Value], name_of: &dyn Fn(&Value) -> Option<String>) -> Vec<String> {
    let mut lines = Vec::new();
    // As the view says it (Node::killed_by).
    let own = |s: &&Value| s["sender"]["pid"] == p["pid"] && s["sender"]["start"] == p["start"];
    let killer = p["end"]["signal"].as_i64().and_then(|sig| {
        let same = p["signals"]
            .as_array()?
            .iter()
            .rev()
            .filter(|s| s["signal"].as_i64() == Some(sig));
        crate::graph::killer(same, |s| s["ktime"].as_u64().unwrap_or(0), |s| own(&s))
    });
    if let Some(s) = killer {
        let from = match (&s["sender"], s["oom_killer"] == Value::Bool(true)) {
            (_, true) => "the OOM killer".to_string(),
            (Value::Null, false) => "the kernel".to_string(),
            _ if own(&s) => "itself".to_string(),
            (sender, false) => format!(
                "{} {} (uid {})",
                sender["pid"],
                format::text(sender["comm"].as_str().unwrap_or("?").as_bytes(), 40),
                sender["uid"]
            ),
        };
        lines.push(format!(
            "{} sent by {from} at {}",
            s["signal_name"].as_str().unwrap_or("?"),
            clock(&s["time"])
        ));
    }
    lines.extend(children_ended(kids));
    // What it ended: the signals it sent to others.
    for s in p["signals_sent"].as_array().into_iter().flatten() {
        let to = name_of(&s["to"]).unwrap_or_else(|| {
            let comm = s["to_comm"].as_str().unwrap_or("?");
            format!("{} {}", s["to"]["pid"], format::text(comm.as_bytes(), 40))
        });
        lines.push(format!(
            "sent {} to {to} at {}",
            s["signal_name"].as_str().unwrap_or("?"),
            clock(&s["time"])
        ));
    }
    for c in p["connections"].as_array().into_iter().flatten() {
        let dir = match c["direction"].as_str() {
            Some("outbound") => "out",
            Some("inbound") => "in ",
            Some("listen") => "listen",
            _ => "?",
        };
        let proto = c["protocol"].as_str().unwrap_or("?");
        let local = c["local"].as_str().unwrap_or("?");
        let mut line = if c["direction"] == "listen" {
            format!("{dir} {proto} {local}")
        } else {
            let remote = c["remote"].as_str().unwrap_or("?");
            let (a, b) = if c["direction"] == "inbound" {
                (remote, local)
            } else {
                (local, remote)
            };
            format!("{dir} {proto} {a} → {b}")
        };
        let state = match (c["failure"].as_str(), c["state"].as_str()) {
            (Some(f), _) => f.to_string(),
            (None, Some(s)) => s.to_string(),
            _ => "?".to_string(),
        };
        // Listed, not seen opened: it opened by then, and lasted at least
        // so long (as the view marks it).
        let (by, least) = if c["seeded"] == Value::Bool(true) {
            ("≤", "≥")
        } else {
            ("", "")
        };
        let _ = write!(line, "  from {by}{}", clock(&c["start_time"]));
        if let (Some(s), Some(e)) = (c["start"].as_u64(), c["end"].as_u64()) {
            let _ = write!(
                line,
                " for {least}{}",
                format::duration(e.saturating_sub(s))
            );
        }
        let _ = write!(line, ", {state}");
        // Found with its peer's end closed (CLOSE_WAIT) by then.
        if c["peer_closed_time"].is_string() {
            let _ = write!(line, " (peer closed by {})", clock(&c["peer_closed_time"]));
        }
        let count = |k: &str| c[k].as_u64().unwrap_or(0);
        if let Some(carried) = format::carried(
            proto == "tcp",
            c["state"] == "closed",
            c["direction"] == "listen",
            !c["failure"].is_null(),
            (count("bytes_sent"), count("bytes_received")),
        ) {
            let _ = write!(line, ", {carried}");
        }
        // Opened before its process exec'd: by what it was forked as; or
        // between two execs: by the program it ran then.
        if let Some(by) = c["start"].as_u64().and_then(|s| opened_as(p, s)) {
            let _ = write!(line, " (as {by})");
        }
        if let Some(peer) = name_of(&c["peer"]) {
            let _ = write!(line, "  (peer {peer})");
        }
        lines.push(line);
    }
    if let Some(n) = p["omitted_connections"].as_u64().filter(|&n| n > 0) {
        lines.push(format!(
            "(and {n} older closed connections not listed here; the journal has them)"
        ));
    }
    if let Some(n) = p["forgotten_connections"].as_u64().filter(|&n| n > 0) {
        lines.push(format!(
            "(and {n} older closed connections the view forgot)"
        ));
    }
    lines
}

/// `children 61: 57 exit 1, 2 killed by SIGSEGV; 1 running`: how the
/// children `kids` ended, tallied, once
/// [`CHILDREN_TALLIED`](format::CHILDREN_TALLIED) of them have (a crash
/// loop). Each child keeps its own line too: its pid, start and lifetime
/// are its own, and a postmortem loses nothing.
fn children_ended(kids: &[&Value]) -> Option<String> {
    let running = kids.iter().filter(|k| k["end"].is_null()).count() as u64;
    let ended: Vec<String> = (kids.iter())
        .map(|k| &k["end"])
        .filter(|end| !end.is_null())
        .map(|end| {
            let sig = end["signal_name"].as_str();
            match (end["exit_code"].as_i64(), sig) {
                (_, Some(sig)) if end["core_dumped"] == Value::Bool(true) => {
                    format!("killed by {sig} (core dumped)")
                }
                (_, Some(sig)) => format!("killed by {sig}"),
                (Some(code), _) => format!("exit {code}"),
                _ if end["gone"] == Value::Bool(true) => "gone".to_string(),
                _ => "ended".to_string(),
            }
        })
        .collect();
    ((ended.len() as u64) >= format::CHILDREN_TALLIED)
        .then(|| format!("children {}", format::children_ended(ended, running, 8)))
}

/// The time of day of an RFC 3339 time, to the millisecond
/// (`13:11:36.361`).
fn clock(t: &Value) -> String {
    t.as_str()
        .and_then(|s| s.get(11..23))
        .unwrap_or("?")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Direction, Ending, ExitStatus, Message, NetKind};
    use crate::graph::CausalTree;
    use crate::ui::synth::{self, Synth};

    fn text_of(msgs: &[Message], pid: u32) -> String {
        let tree = CausalTree::from_messages(msgs);
        let id = tree.find_pid(pid).expect("in the tree");
        summary(&super::super::chain(
            &tree,
            &synth::header(),
            id,
            tree.last_ktime(),
        ))
    }

    #[test]
    fn a_process_handed_to_init_says_so() {
        let (msgs, shell, daemon) = synth::reparented();
        let tree = CausalTree::from_messages(&msgs);
        let id = tree.find_pid(daemon.pid).unwrap();
        let doc = super::super::chain(&tree, &synth::header(), id, tree.last_ktime());
        let of = |pid: u32| {
            doc["processes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["pid"] == pid)
                .unwrap()
                .clone()
        };
        let selected = of(daemon.pid);
        assert_eq!(selected["reparented_to"]["pid"], 1);
        assert_eq!(selected["reparented_to"]["comm"], "systemd");
        assert_eq!(selected["parent"]["pid"], shell.pid);
        let text = text_of(&msgs, daemon.pid);
        assert!(
            text.contains(", reparented to 1 systemd, running)"),
            "{text}"
        );
        // Its parent, started by init and under it still: none.
        assert_eq!(of(shell.pid)["reparented_to"], Value::Null);
    }

    #[test]
    fn the_chain_is_drawn_as_a_tree_with_what_each_process_did() {
        let want = "\
causeway chain of pid 1001 on testhost, as of 2026-01-01T00:01:40.022000000Z (times UTC)

1 systemd  --system  (running before causeway began, running)
└─ 500 sshd  -D  (running before causeway began, running)
   └─ 1000 sshd  (started 00:01:40.001, running)
      └─ ▶ 1001 bash  (started 00:01:40.003, running)
         ├─ 1002 make  -j2 all  (started 00:01:40.005, exit 2 after 8ms)
         │  ├─ 1003 cc  -c main.c -o main.o  (started 00:01:40.007, exit 0 after 2ms)
         │  └─ 1004 cc  -c broken.c  (started 00:01:40.010, exit 1 after 2ms)
         ├─ 1005 sleep  1000  (started 00:01:40.014, killed by SIGKILL after 2ms)
         └─ 1006 curl  http://127.0.0.1:8080/  (started 00:01:40.017, running)
                 out tcp 127.0.0.1:40002 → 127.0.0.1:8080  from 00:01:40.019, open  (peer 600 nginx)
";
        assert_eq!(text_of(&synth::demo(), 1001), want);
    }

    #[test]
    fn a_program_named_with_spaces_is_quoted_before_its_arguments() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let odd = s.spawn(init, 0, "/tmp/my evil prog", &["my evil prog", "30"]);
        let text = text_of(&s.messages, odd.pid);
        assert!(
            text.contains(&format!("▶ {} 'my evil prog'  30  (started", odd.pid)),
            "{text}"
        );
    }

    #[test]
    fn a_connection_opened_between_two_execs_says_by_which_program() {
        let (msgs, job) = synth::between_execs();
        let text = text_of(&msgs, job.pid);
        let row = text
            .lines()
            .find(|l| l.contains("127.0.0.1:18081"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(row.ends_with(", open (as bash)"), "{row}");
    }

    #[test]
    fn a_program_named_by_bytes_that_are_not_utf8_is_no_rename() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let odd = s.fork(init, "systemd", 0);
        s.exec_bytes(odd, init, b"/tmp/x/t\xff", &[b"/tmp/x/t\xff"]);
        let text = text_of(&s.messages, odd.pid);
        assert!(
            text.contains(&format!("▶ {} t\\xff  (started", odd.pid)),
            "{text}"
        );
        assert!(!text.contains("(comm"), "{text}");
    }

    #[test]
    fn a_crash_loop_is_summarised_and_every_child_kept() {
        let (msgs, sup, running) = synth::crash_loop();
        let text = text_of(&msgs, sup.pid);
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(&format!("▶ {} setsid→supervisor.sh", sup.pid)))
            .unwrap_or_else(|| panic!("{text}"));
        // Right under the supervisor's own line.
        assert_eq!(
            lines[at + 1].trim_start_matches(['│', ' ']),
            "children 61: 57 exit 1, 2 killed by SIGSEGV, 1 killed by SIGABRT (core dumped); 1 running",
            "{text}"
        );
        // The postmortem loses nothing: every child has its line.
        let children = lines
            .iter()
            .filter(|l| l.contains(" python3  app.py  (started"))
            .count();
        assert_eq!(children, 61, "{text}");
        assert!(text.contains(&format!("{} python3  app.py  (started", running.pid)));
        // Exported from a child, its siblings are not in the chain: the
        // text says where they are, and sums up none it does not hold.
        let text = text_of(&msgs, running.pid);
        assert!(!text.contains("children "), "{text}");
        assert!(text.contains("had 60 other children"), "{text}");
        // A process with two children that ended: no summary.
        assert!(!text_of(&synth::demo(), 1001).contains("children "));
    }

    #[test]
    fn a_chain_that_stops_at_an_unseen_parent_says_so() {
        // The demo's pid 4000: its parent, 77, was never seen.
        let text = text_of(&synth::demo(), 4000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[1],
            "(it begins at a process whose parent causeway never saw)"
        );
        assert!(lines[3].starts_with("▶ 4000 "), "{text}");
        assert!(!text_of(&synth::demo(), 1001).contains("never saw"));
    }

    #[test]
    fn the_process_at_the_other_end_is_named_with_its_service() {
        // nginx's last event (its listen) was in cgroup 42.
        let mut msgs = synth::demo();
        msgs.push(Message::Cgroup {
            id: 42,
            path: "/system.slice/nginx.service".into(),
        });
        let tree = CausalTree::from_messages(&msgs);
        let id = tree.find_pid(1006).expect("curl");
        let doc = super::super::chain(&tree, &synth::header(), id, tree.last_ktime());
        assert_eq!(doc["peers"][0]["pid"], 600);
        assert_eq!(
            doc["peers"][0]["cgroup_path"],
            "/system.slice/nginx.service"
        );
        let text = summary(&doc);
        assert!(text.contains("(peer 600 nginx ⟨nginx.service⟩)"), "{text}");
    }

    #[test]
    fn a_peer_outside_the_chain_is_named_as_its_own_line_would_name_it() {
        // A server started through a shim (bash, then env, then python3)
        // and a client of it, each outside the other's chain.
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let srv = s.spawn(init, 0, "/bin/bash", &["bash", "shim"]);
        s.exec(srv, init, 0, "/usr/bin/env", &["env", "python3"]);
        s.exec(srv, init, 0, "/usr/bin/python3", &["python3", "srv.py"]);
        let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl", "x"]);
        let (c, l) = (
            std::net::SocketAddr::from(([127, 0, 0, 1], 40_001)),
            std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        s.net((curl, init), NetKind::Connect, Direction::Outbound, c, l, 5);
        s.net((srv, init), NetKind::Accept, Direction::Inbound, l, c, 6);
        let text = text_of(&s.messages, curl.pid);
        let own = text_of(&s.messages, srv.pid);
        let line = format!("{} bash→…→python3  srv.py", srv.pid);
        assert!(own.contains(&line), "{own}");
        assert!(
            text.contains(&format!("(peer {} bash→…→python3)", srv.pid)),
            "{text}"
        );
        // Two programs: first→last; one: its own.
        let mut s2 = Synth::new();
        let init = s2.seed(1, None, "systemd", &["systemd"]);
        let srv = s2.spawn(init, 0, "/bin/bash", &["bash", "shim"]);
        s2.exec(srv, init, 0, "/usr/bin/python3", &["python3", "srv.py"]);
        let curl = s2.spawn(init, 0, "/usr/bin/curl", &["curl", "x"]);
        s2.net((curl, init), NetKind::Connect, Direction::Outbound, c, l, 5);
        s2.net((srv, init), NetKind::Accept, Direction::Inbound, l, c, 6);
        let text = text_of(&s2.messages, curl.pid);
        assert!(
            text.contains(&format!("(peer {} bash→python3)", srv.pid)),
            "{text}"
        );
    }

    #[test]
    fn a_fileless_program_and_a_disguise_are_said_in_its_line() {
        let (s, [_, shell, x, memfd]) = synth::fileless();
        let text = text_of(&s.messages, memfd.pid);
        let line = format!(
            "▶ {} python3.11→memfd:payload (deleted) (argv0 [kworker/u4:2])  -q",
            memfd.pid
        );
        assert!(text.contains(&line), "{text}");
        assert!(!text.contains("(comm"), "{text}");
        let text = text_of(&s.messages, x.pid);
        assert!(
            text.contains(&format!("▶ {} x (deleted)  300", x.pid)),
            "{text}"
        );
        let text = text_of(&s.messages, shell.pid);
        assert!(
            text.contains(&format!("▶ {} dash (as sh)  -c true", shell.pid)),
            "{text}"
        );
        // The chain's JSON says it too.
        let tree = CausalTree::from_messages(&s.messages);
        let doc = super::super::chain(
            &tree,
            &synth::header(),
            tree.find(memfd).unwrap(),
            tree.last_ktime(),
        );
        let exec = doc["processes"][1]["execs"][1].clone();
        assert_eq!(exec["file"], "/memfd:payload");
        assert_eq!(exec["exe"], "/proc/self/fd/3");
        assert_eq!(
            (exec["deleted"].clone(), exec["memfd"].clone()),
            (true.into(), true.into())
        );
    }

    #[test]
    fn a_process_that_renamed_itself_is_told_by_what_it_calls_itself() {
        let (mut s, _, miner) = synth::renamed_miner();
        let kid = s.fork(miner, "kworker/0:1", 0);
        let text = text_of(&s.messages, miner.pid);
        let line = format!("▶ {} python3 (comm kworker/0:1)  /tmp/kw.py", miner.pid);
        assert!(text.contains(&line), "{text}");
        // Its child, never exec'd: named by what it was forked as.
        let line = format!("{} python3 (comm kworker/0:1)  (started", kid.pid);
        assert!(text.contains(&line), "{text}");
        assert!(!text_of(&synth::demo(), 1001).contains("(comm"));
    }

    #[test]
    fn an_orphan_init_adopted_is_not_said_to_be_its_child() {
        let (msgs, orphan) = synth::adopted_orphan();
        let tree = CausalTree::from_messages(&msgs);
        let doc = super::super::chain(&tree, &synth::header(), tree.find(orphan).unwrap(), 0);
        let p = &doc["processes"][1];
        assert_eq!(
            (&p["adopted"], &p["parent_inferred"]),
            (&Value::Bool(true), &Value::Bool(true))
        );
        let text = summary(&doc);
        assert!(
            text.contains("(running before causeway began, an orphan adopted by 1: who started it is not known, running)"),
            "{text}"
        );
        // A service, its session's leader: as before.
        assert!(!text_of(&synth::demo(), 1001).contains("adopted"));
    }

    #[test]
    fn what_the_parent_did_besides_is_pointed_to() {
        // A script downloads a payload, then runs it: the payload's chain
        // leaves the download out, and says where it is.
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let script = s.spawn(init, 0, "/tmp/upd.sh", &["/bin/sh", "/tmp/upd.sh"]);
        s.spawn(script, 0, "/usr/bin/curl", &["curl", "-o", "/tmp/p"]);
        s.spawn(script, 0, "/usr/bin/chmod", &["chmod", "+x", "/tmp/p"]);
        let payload = s.spawn(script, 0, "/tmp/p", &["/tmp/p"]);
        let text = text_of(&s.messages, payload.pid);
        let said = format!(
            "({} upd.sh had 2 other children, not in this chain: export {} for them)",
            script.pid, script.pid
        );
        assert!(text.ends_with(&format!("{said}\n")), "{text}");
        assert!(!text.contains("curl"), "{text}");
        // An only child: nothing to point to.
        assert!(!text_of(&s.messages, script.pid).contains("other child"));
    }

    #[test]
    fn a_service_a_failed_connection_and_a_kill_are_told() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let job = s.spawn(init, 0, "/bin/bash", &["bash", "-c", "curl x; sleep 9"]);
        let curl = s.spawn(job, 0, "/usr/bin/curl", &["curl", "x"]);
        let ends = (
            std::net::SocketAddr::from(([10, 0, 0, 7], 40_001)),
            std::net::SocketAddr::from(([10, 0, 0, 7], 80)),
        );
        let out = Direction::Outbound;
        s.net((curl, job), NetKind::Connect, out, ends.0, ends.1, 5);
        let refused = Ending {
            error: 111,
            from: 2,
        };
        s.close((curl, job), out, ends, 5, (0, 0), refused);
        s.exit(curl, job, ExitStatus::Code(7));
        s.exec(job, init, 0, "/usr/bin/sleep", &["sleep", "9"]);
        let kill = s.spawn(init, 0, "/usr/bin/kill", &["kill", "-TERM"]);
        s.signal(job, init, 15, Some(kill));
        let term = ExitStatus::Signal {
            signal: 15,
            core_dumped: false,
        };
        s.exit(job, init, term);
        // Events are in cgroup 42, the scan's process in cgroup 1.
        s.cgroup(42, "/system.slice/backup.service");
        let text = text_of(&s.messages, job.pid);
        let want = "
1 systemd  (running before causeway began, running)
└─ ▶ 1000 bash→sleep ⟨backup.service⟩  9  (started 00:01:40.000, killed by SIGTERM after 11ms)
   │    SIGTERM sent by 1002 kill (uid 0) at 00:01:40.010
   └─ 1001 curl  x  (started 00:01:40.002, exit 7 after 4ms)
           out tcp 10.0.0.7:40001 → 10.0.0.7:80  from 00:01:40.004 for 1ms, refused
";
        assert!(text.ends_with(want), "{text}");
    }

    #[test]
    fn a_closed_connection_says_what_it_carried_as_the_view_does() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl"]);
        let out = Direction::Outbound;
        let ends = |port: u16| {
            (
                std::net::SocketAddr::from(([10, 0, 0, 2], 40_000 + port)),
                std::net::SocketAddr::from(([10, 0, 0, 7], port)),
            )
        };
        // Closed cleanly after carrying something; refused; still open.
        for (cookie, port) in [(1, 443), (2, 81), (3, 80)] {
            let (l, r) = ends(port);
            s.net((curl, init), NetKind::Connect, out, l, r, cookie);
        }
        let clean = Ending { error: 0, from: 5 };
        s.close((curl, init), out, ends(443), 1, (844, 12 << 10), clean);
        let refused = Ending {
            error: 111,
            from: 2,
        };
        s.close((curl, init), out, ends(81), 2, (0, 0), refused);
        let text = text_of(&s.messages, curl.pid);
        let row = |port: &str| {
            text.lines()
                .find(|l| l.contains(&format!("10.0.0.7:{port} ")))
                .unwrap_or_else(|| panic!("{port}: {text}"))
        };
        assert!(row("443").contains(", closed, ↑844 B ↓12 KiB"), "{text}");
        assert!(row("81").ends_with(", refused"), "nothing carried: {text}");
        assert!(row("80").ends_with(", open"), "not known yet: {text}");
    }

    #[test]
    fn a_process_ended_between_recordings_says_so_in_both() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let sleep = s.spawn(init, 0, "/usr/bin/sleep", &["sleep", "1000"]);
        // Started in the stretch, unseen: the next recording's scan found it.
        let (from, _, unseen) = s.gap(vec![init], init);
        let tree = CausalTree::from_messages(&s.messages);
        let cron = tree.find(unseen).unwrap();
        let doc = crate::export::chain(&tree, &synth::header(), cron, tree.last_ktime());
        assert_eq!(doc["processes"][1]["started_unseen"], true);
        let text = summary(&doc);
        assert!(
            text.contains(
                "▶ 4321 cron  (started 00:01:40.502 between recordings, unseen, running)"
            ),
            "{text}"
        );
        let id = tree.find(sleep).unwrap();
        let doc = crate::export::chain(&tree, &synth::header(), id, tree.last_ktime());
        let end = &doc["processes"][1]["end"];
        assert_eq!(end["gone"], true);
        assert_eq!(end["after_ktime"], from);
        assert_eq!(end["ktime"], from + 1_200_000_000);
        assert!(end.get("exit_code").is_none() && end.get("signal").is_none());
        let text = summary(&doc);
        assert!(
            text.contains(
                "▶ 1000 sleep  1000  (started 00:01:40.000, gone: ended unseen between \
                 recordings, after 00:01:40.002 and before 00:01:41.202)"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_continued_journal_file_says_when_it_began() {
        let msgs = crate::ui::synth::demo();
        let mut tree = CausalTree::new();
        for m in &msgs {
            tree.apply(m);
        }
        let id = tree.find_pid(1006).expect("curl");
        let header = crate::journal::Header {
            continued: true,
            ..crate::ui::synth::header()
        };
        let doc = crate::export::chain(&tree, &header, id, tree.last_ktime());
        assert_eq!(doc["continued"], true);
        let text = summary(&doc);
        assert!(
            text.contains("(running when the journal file began"),
            "{text}"
        );
        assert!(!text.contains("before causeway began"), "{text}");
    }

    #[test]
    fn a_process_that_killed_itself_sent_the_signal_itself() {
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let sh = s.killed_by_itself(init, "/bin/sh", &["sh", "-c", "kill $$"], 15);
        let text = text_of(&s.messages, sh.pid);
        assert!(text.contains("SIGTERM sent by itself at"), "{text}");
    }

    #[test]
    fn a_listed_connection_says_its_times_are_bounds() {
        use crate::event::{Direction, SeedSocket};
        let mut s = Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let srv = s.spawn(init, 0, "/usr/bin/srv", &["srv"]);
        // Found waiting, unused: listed, not seen opened.
        let mut sock = SeedSocket::tcp_for_test(Direction::Inbound, 77, 0);
        sock.actor.proc = srv;
        sock.actor.tid = srv.pid;
        sock.actor.parent = init;
        sock.seen = s.now;
        s.messages.push(Message::Socket(sock.clone()));
        let text = text_of(&s.messages, srv.pid);
        assert!(text.contains("  from ≤"), "{text}");
        // Found with its peer closed, by when.
        sock.peer_closed = true;
        s.messages.pop();
        s.messages.push(Message::Socket(sock));
        let text = text_of(&s.messages, srv.pid);
        let row = text
            .lines()
            .find(|l| l.contains("  from ≤"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            row.contains(", close-wait (peer closed by 00:01:40."),
            "{row}"
        );
    }

    #[test]
    fn a_chain_thousands_deep_is_indented_only_so_far() {
        let msgs = synth::chain(3000);
        let tree = CausalTree::from_messages(&msgs);
        let deepest = tree.nodes().last().map(|(_, n)| n.key.pid).unwrap();
        let text = text_of(&msgs, deepest);
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(widest < 300, "a line {widest} characters wide");
        assert!(text.contains("[depth 2999] "), "the depth is said");
        assert!(text.lines().count() > 3000, "every process is there");
    }

    #[test]
    fn a_subshell_that_exec_d_its_last_command_says_what_it_forked_as() {
        let (msgs, server, sub, py, _) = synth::subshell();
        let text = text_of(&msgs, sub.pid);
        let script = sub.pid - 1;
        let want = format!(
            "\
└─ {script} bash  job.sh  (started 00:01:40.003, running)
   └─ ▶ {} bash→curl  -s http://127.0.0.1:8765/  (started 00:01:40.005, running)
      │    out tcp 127.0.0.1:40002 → 127.0.0.1:8765  from 00:01:40.009, open (as bash)  (peer {} python3)
      │    out tcp 127.0.0.1:40004 → 127.0.0.1:8765  from 00:01:40.012, open  (peer {} python3)
      └─ {} python3  -c pass  (started 00:01:40.006, exit 0 after 2ms)
",
            sub.pid, server.pid, server.pid, py.pid
        );
        assert!(text.ends_with(&want), "{text}");
        // The server's peer, outside its chain, is named as the subshell's
        // own line names it.
        let text = text_of(&msgs, server.pid);
        let peer = format!("(peer {} bash→curl)", sub.pid);
        assert_eq!(text.matches(&peer).count(), 2, "{text}");
    }

    #[test]
    fn a_signal_passed_on_by_a_handler_names_who_sent_it_first() {
        let (msgs, pkill, w) = synth::passed_on();
        let text = text_of(&msgs, w.pid);
        let line = format!("SIGTERM sent by {} kill (uid 0) at", pkill.pid);
        assert!(text.contains(&line), "{text}");
        assert!(!text.contains("sent by itself"), "{text}");
        // The sender's chain says what it ended.
        let text = text_of(&msgs, pkill.pid);
        let line = format!("sent SIGTERM to {} worker at", w.pid);
        assert!(text.contains(&line), "{text}");
    }

    /// docs/chain.md shows what `--text` says of a process running when
    /// the journal (or a rotated journal's file) began, as it says it.
    #[test]
    fn the_documented_start_wordings_are_the_ones_written() {
        let doc = include_str!("../../docs/chain.md")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for said in [SEEDED, SEEDED_CONTINUED] {
            let line = format!("({said}, running)");
            assert!(doc.contains(&line), "docs/chain.md lacks {line}");
        }
    }
}
