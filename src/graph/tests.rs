//! Scripted event sequences against the causal tree.

use super::*;
use crate::event::{Direction, ExecInfo, ExitStatus, NS_PER_TICK, NetInfo, NetKind, Protocol};

/// Builds events for a scripted scenario; times advance by 1 ms a step.
struct Script {
    now: u64,
    msgs: Vec<Message>,
}

fn key(pid: u32, start_ms: u64) -> ProcKey {
    ProcKey::new(pid, start_ms * 1_000_000)
}

impl Script {
    fn new() -> Self {
        Script {
            now: 1_000_000_000,
            msgs: Vec::new(),
        }
    }

    fn tick(&mut self) -> u64 {
        self.now += 1_000_000;
        self.now
    }

    fn event(&mut self, proc: ProcKey, tid: u32, parent: ProcKey, kind: EventKind) {
        let ktime = self.tick();
        self.msgs.push(Message::Event(Event {
            ktime,
            proc,
            tid,
            parent,
            uid: 1000,
            gid: 1000,
            cgroup: 1,
            comm: "c".into(),
            kind,
        }));
    }

    fn fork(&mut self, parent: ProcKey, child: ProcKey) {
        self.event(child, child.pid, parent, EventKind::Fork);
    }

    fn exec(&mut self, p: ProcKey, tid: u32, parent: ProcKey, exe: &str, argv: &[&str]) {
        let info = ExecInfo {
            exe: exe.as_bytes().to_vec(),
            file: Vec::new(),
            deleted: false,
            argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            argv_truncated: false,
            old_tid: if tid == p.pid { 0 } else { tid },
        };
        self.event(p, p.pid, parent, EventKind::Exec(info));
    }

    fn exit(&mut self, p: ProcKey, parent: ProcKey, code: i32) {
        self.event(
            p,
            p.pid,
            parent,
            EventKind::Exit {
                status: ExitStatus::Code(code),
                reaper: None,
            },
        );
    }

    fn seed(&mut self, p: ProcKey, parent: Option<ProcKey>, comm: &str) {
        self.msgs.push(Message::Seed(SeedProcess {
            proc: p,
            parent,
            comm: comm.into(),
            ..Default::default()
        }));
    }

    /// `n` short-lived commands of [`SHELL`], pids from 1000.
    fn short_commands(&mut self, n: u32) {
        for i in 0..n {
            let c = ProcKey::new(1000 + i, self.now + 500_000);
            self.fork(SHELL, c);
            self.exit(c, SHELL, 0);
        }
    }

    fn tree(&self) -> CausalTree {
        CausalTree::from_messages(&self.msgs)
    }
}

fn pids(tree: &CausalTree, ids: &[NodeId]) -> Vec<u32> {
    ids.iter().map(|&i| tree.node(i).key.pid).collect()
}

const INIT: ProcKey = ProcKey::new(1, 0);

#[test]
fn a_reused_pid_is_a_second_process() {
    let shell = key(100, 10);
    let first = key(200, 20);
    let second = key(200, 900);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    s.fork(shell, first);
    s.exit(first, shell, 0);
    s.fork(shell, second);
    let t = s.tree();
    let a = t.find(first).unwrap();
    let b = t.find(second).unwrap();
    assert_ne!(a, b);
    assert_eq!(t.node(a).exit, Some(ExitStatus::Code(0)));
    assert!(t.node(b).is_alive());
    assert_eq!(pids(&t, t.children(t.find(shell).unwrap())), vec![200, 200]);
    assert_eq!(t.find_pid(200), Some(b));
}

#[test]
fn a_double_forked_daemon_keeps_the_shell_that_launched_it() {
    let shell = key(100, 10);
    let launcher = key(300, 30);
    let daemon = key(301, 31);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    s.fork(shell, launcher);
    s.fork(launcher, daemon);
    s.exit(launcher, shell, 0);
    // The kernel has reparented the daemon to init by its next event.
    s.exec(
        daemon,
        daemon.pid,
        INIT,
        "/usr/sbin/mydaemon",
        &["mydaemon", "-d"],
    );
    let t = s.tree();
    let d = t.find(daemon).unwrap();
    let chain: Vec<ProcKey> = t.ancestors(d).iter().map(|&i| t.node(i).key).collect();
    assert_eq!(chain, vec![INIT, shell, launcher, daemon]);
    assert_eq!(t.node(d).current_parent, Some(INIT));
    assert_eq!(
        t.node(d).causal_parent,
        ParentLink::Known(t.find(launcher).unwrap())
    );
    assert_eq!(
        t.node(t.find(launcher).unwrap()).exit,
        Some(ExitStatus::Code(0))
    );
}

#[test]
fn a_parent_exiting_leaves_its_children_in_place() {
    let parent = key(400, 40);
    let child = key(401, 41);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.fork(INIT, parent);
    s.fork(parent, child);
    s.exit(parent, INIT, 1);
    let t = s.tree();
    let c = t.find(child).unwrap();
    let p = t.find(parent).unwrap();
    assert_eq!(t.node(c).parent_id(), Some(p));
    assert!(t.node(c).is_alive());
    // Adopted by someone the tree has not heard of yet.
    assert_eq!(t.node(c).current_parent, None);
    assert_eq!(t.node(p).exit, Some(ExitStatus::Code(1)));
    assert_eq!(t.stats().alive, 2);
    let mut s2 = Script {
        now: s.now,
        msgs: s.msgs.clone(),
    };
    s2.exit(child, INIT, 0);
    let t = s2.tree();
    assert_eq!(t.node(t.find(child).unwrap()).current_parent, Some(INIT));
}

#[test]
fn exec_inside_a_forked_child_builds_its_history() {
    let shell = key(100, 10);
    let child = key(500, 50);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, child);
    s.exec(child, child.pid, shell, "/bin/sh", &["sh", "-c", "env ls"]);
    s.exec(child, child.pid, shell, "/usr/bin/env", &["env", "ls"]);
    s.exec(child, child.pid, shell, "/bin/ls", &["ls"]);
    s.exit(child, shell, 2);
    let t = s.tree();
    let c = t.node(t.find(child).unwrap());
    let exes: Vec<&[u8]> = c.execs.iter().map(|e| e.info.exe.as_slice()).collect();
    assert_eq!(exes, vec![&b"/bin/sh"[..], b"/usr/bin/env", b"/bin/ls"]);
    assert!(c.execs.iter().all(|e| e.time.is_some()));
    assert_eq!(c.display_name(), "ls");
    assert_eq!(t.len(), 2);
}

#[test]
fn a_child_is_forked_by_the_program_its_parent_ran_then() {
    // `bash -c 'curl …; sleep 1'`: the job's fork runs the shell's program
    // until it execs bash, which forks curl, then execs sleep.
    let shell = key(100, 10);
    let mut s = Script::new();
    s.msgs.push(Message::Seed(SeedProcess {
        proc: shell,
        comm: "bash".into(),
        exe: b"/bin/bash".to_vec(),
        argv: vec![b"bash".to_vec()],
        ..Default::default()
    }));
    let job = ProcKey::new(200, s.now + 500_000);
    s.fork(shell, job);
    let early = ProcKey::new(201, s.now + 500_000);
    s.fork(job, early);
    s.exec(
        job,
        job.pid,
        shell,
        "/bin/bash",
        &["bash", "-c", "curl x; sleep 1"],
    );
    let curl = ProcKey::new(202, s.now + 500_000);
    s.fork(job, curl);
    s.exec(job, job.pid, shell, "/bin/sleep", &["sleep", "1"]);
    let late = ProcKey::new(203, s.now + 500_000);
    s.fork(job, late);
    let t = s.tree();
    let j = t.find(job).unwrap();
    let argv0 = |k: ProcKey| {
        t.program_at(j, k.start)
            .map(|e| String::from_utf8_lossy(&e.argv[0]).into_owned())
    };
    // Before its first exec it ran the shell's program, as the shell did.
    assert_eq!(argv0(early).as_deref(), Some("bash"));
    assert_eq!(t.program_at(j, early.start).unwrap().argv.len(), 1);
    assert_eq!(t.program_at(j, curl.start).unwrap().argv.len(), 3);
    assert_eq!(argv0(late).as_deref(), Some("sleep"));
    assert_eq!(t.node(j).execs_by(curl.start), 1);
    assert_eq!(t.node(j).execs_by(early.start), 0);
    // Nothing is known of what an unseen shell's parent ran.
    let s_id = t.find(shell).unwrap();
    assert!(
        t.program_at(s_id, 0).is_some(),
        "the scanned program counts at any time"
    );
    let orphan = ProcKey::new(300, s.now + 500_000);
    let mut s2 = Script {
        now: s.now,
        msgs: Vec::new(),
    };
    s2.fork(ProcKey::new(299, 1), orphan);
    let t2 = s2.tree();
    assert_eq!(t2.program_at(t2.find(orphan).unwrap(), u64::MAX), None);
}

#[test]
fn a_process_keeps_the_last_signals_sent_to_it() {
    let shell = key(100, 10);
    let victim = key(200, 20);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, victim);
    for n in 0..MAX_SIGNALS as u32 + 3 {
        let sender = crate::event::Sender {
            proc: ProcKey::new(300 + n, 30),
            uid: 0,
            comm: "kill".into(),
        };
        let info = crate::event::SignalInfo {
            signal: 15,
            code: 0,
            sender: Some(sender),
            oom: false,
        };
        s.event(victim, victim.pid, shell, EventKind::Signal(info));
    }
    let t = s.tree();
    let v = t.node(t.find(victim).unwrap());
    let senders: Vec<u32> = v
        .signals
        .iter()
        .map(|r| r.info.sender.unwrap().proc.pid)
        .collect();
    let expect: Vec<u32> = (3..MAX_SIGNALS as u32 + 3).map(|n| 300 + n).collect();
    assert_eq!(senders, expect, "the newest, oldest first");
    assert!(v.signals.windows(2).all(|w| w[0].time < w[1].time));
    assert_eq!(v.current_parent, Some(shell));
    // The senders are named, not made processes of the tree.
    assert_eq!(t.len(), 2);
}

#[test]
fn the_oom_killers_choice_names_the_kernels_sigkill_before_it() {
    let shell = key(100, 10);
    let victim = key(200, 20);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, victim);
    let kernel = |oom, sender| crate::event::SignalInfo {
        signal: 9,
        code: 0x80,
        sender,
        oom,
    };
    let trigger = crate::event::Sender {
        proc: victim,
        uid: 0,
        comm: "python3".into(),
    };
    s.event(
        victim,
        victim.pid,
        shell,
        EventKind::Signal(kernel(false, None)),
    );
    s.event(
        victim,
        victim.pid,
        shell,
        EventKind::Signal(kernel(true, Some(trigger))),
    );
    let t = s.tree();
    let v = t.node(t.find(victim).unwrap());
    let [only] = v.signals.as_slice() else {
        panic!("one SIGKILL: {:?}", v.signals)
    };
    assert!(only.info.oom && only.info.sender == Some(trigger));
    // With no kernel SIGKILL before it (lost, or from before causeway
    // started), the choice stands alone.
    let other = key(300, 30);
    s.fork(shell, other);
    s.event(
        other,
        other.pid,
        shell,
        EventKind::Signal(kernel(true, Some(trigger))),
    );
    let t = s.tree();
    assert_eq!(t.node(t.find(other).unwrap()).signals.len(), 1);
    assert_eq!(t.node(t.find(victim).unwrap()).signals.len(), 1);
}

#[test]
fn exec_from_a_thread_keeps_the_process_identity() {
    let shell = key(100, 10);
    let proc = key(600, 60);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, proc);
    // A thread (tid 605) calls execve; the kernel gives it the leader's pid.
    s.exec(proc, 605, shell, "/bin/true", &["true"]);
    s.exit(proc, shell, 0);
    let t = s.tree();
    assert_eq!(t.len(), 2);
    let n = t.node(t.find(proc).unwrap());
    assert_eq!(n.execs.len(), 1);
    assert_eq!(n.execs[0].info.old_tid, 605);
    assert_eq!(n.exit, Some(ExitStatus::Code(0)));
}

#[test]
fn events_from_threads_are_not_processes() {
    let shell = key(100, 10);
    let proc = key(700, 70);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, proc);
    // Events carrying other tids of the same thread group.
    for tid in 701..705 {
        s.event(proc, tid, shell, EventKind::Exec(ExecInfo::default()));
    }
    s.exit(proc, shell, 0);
    // A second exit (another thread's) changes nothing.
    s.exit(proc, shell, 9);
    let t = s.tree();
    assert_eq!(t.len(), 2);
    assert_eq!(t.children(t.find(shell).unwrap()).len(), 1);
    assert_eq!(
        t.node(t.find(proc).unwrap()).exit,
        Some(ExitStatus::Code(0))
    );
    assert_eq!(t.stats().alive, 1);
}

#[test]
fn a_child_of_an_unseen_parent_is_an_orphan_not_a_child_of_init() {
    let ghost = key(800, 80);
    let child = key(801, 81);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.fork(ghost, child);
    let t = s.tree();
    let c = t.find(child).unwrap();
    assert_eq!(t.node(c).causal_parent, ParentLink::Unknown(ghost));
    assert_eq!(t.orphans(), &[c]);
    assert!(t.children(t.find(INIT).unwrap()).is_empty());
    assert_eq!(t.ancestors(c), vec![c]);
}

#[test]
fn an_orphan_is_adopted_when_its_parent_shows_up_later() {
    // /proc lists pids in order; after pid wrap a child can come first.
    let parent = key(50_000, 5);
    let child = key(300, 6);
    let mut s = Script::new();
    s.seed(child, Some(parent), "child");
    s.seed(parent, None, "parent");
    let t = s.tree();
    let p = t.find(parent).unwrap();
    assert!(t.orphans().is_empty());
    assert_eq!(pids(&t, t.children(p)), vec![300]);
}

#[test]
fn a_journal_naming_a_process_its_own_ancestor_makes_no_loop() {
    // Damaged or hostile lines: a fork whose parent is the child itself,
    // and two processes that name each other as parent.
    let own = key(800, 80);
    let (a, b) = (key(900, 90), key(901, 91));
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.fork(own, own);
    s.seed(a, Some(b), "a");
    s.seed(b, Some(a), "b");
    let t = s.tree();
    for k in [own, a, b] {
        let id = t.find(k).unwrap();
        let up = t.ancestors(id);
        assert!(up.len() <= 2, "{k:?}: {up:?}");
        assert_eq!(up.iter().filter(|&&n| n == id).count(), 1, "{k:?}: {up:?}");
        assert!(t.subtree(id).len() <= 2, "{k:?}");
        assert!(!t.children(id).contains(&id), "{k:?}");
    }
    // Each stays under the unknown-parent marker or under the other, once.
    let own_id = t.find(own).unwrap();
    assert_eq!(t.node(own_id).causal_parent, ParentLink::Unknown(own));
    assert!(t.orphans().contains(&own_id));
    let (ia, ib) = (t.find(a).unwrap(), t.find(b).unwrap());
    assert_eq!(t.node(ib).causal_parent, ParentLink::Known(ia));
    assert_eq!(t.node(ia).causal_parent, ParentLink::Unknown(b));
}

#[test]
fn a_seeded_process_and_its_live_events_are_one_node() {
    // /proc has tick resolution; the probe has ns.
    let exact = ProcKey::new(900, 123 * NS_PER_TICK + 4_567_891);
    let seeded = ProcKey::new(900, 123 * NS_PER_TICK);
    let mut s = Script::new();
    s.seed(seeded, None, "server");
    s.exit(exact, INIT, 0);
    let t = s.tree();
    assert_eq!(t.len(), 1);
    let n = t.node(t.find(exact).unwrap());
    assert!(n.seeded);
    assert_eq!(n.exit, Some(ExitStatus::Code(0)));
    assert_eq!(t.find(seeded), t.find(exact), "found by either start");
}

#[test]
fn a_process_seen_born_during_the_scan_is_not_seeded_or_doubled() {
    let shell = key(100, 10);
    let child = key(1000, 100);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.seed(child, Some(shell), "sleep");
    s.fork(shell, child);
    let t = s.tree();
    assert_eq!(t.len(), 2);
    assert!(!t.node(t.find(child).unwrap()).seeded);
}

#[test]
fn children_are_kept_in_start_order_and_subtree_is_depth_first() {
    let root = key(1, 1);
    let mut s = Script::new();
    s.seed(root, None, "init");
    // Seeds can arrive out of start order.
    s.seed(key(30, 30), Some(root), "c");
    s.seed(key(10, 10), Some(root), "a");
    s.seed(key(20, 20), Some(root), "b");
    s.seed(key(11, 11), Some(key(10, 10)), "a1");
    let t = s.tree();
    let r = t.find(root).unwrap();
    assert_eq!(pids(&t, t.children(r)), vec![10, 20, 30]);
    assert_eq!(pids(&t, &t.subtree(r)), vec![1, 10, 11, 20, 30]);
}

#[test]
fn lost_records_are_counted() {
    let mut t = CausalTree::new();
    t.apply(&Message::Lost { ktime: 5, count: 3 });
    t.apply(&Message::Lost { ktime: 9, count: 4 });
    assert_eq!(t.stats().lost, 7);
    assert_eq!(t.last_ktime(), 9);
}

#[test]
fn an_exec_during_the_scan_replaces_the_scanned_snapshot() {
    let shell = key(100, 10);
    let child = key(1100, 110);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.msgs.push(Message::Seed(SeedProcess {
        proc: child,
        parent: Some(shell),
        exe: b"/usr/bin/sleep".to_vec(),
        argv: vec![b"sleep".to_vec(), b"9".to_vec()],
        ..Default::default()
    }));
    s.exec(child, child.pid, shell, "/bin/sleep", &["sleep", "9"]);
    let t = s.tree();
    let n = t.node(t.find(child).unwrap());
    assert_eq!(n.execs.len(), 1);
    assert_eq!(n.execs[0].info.exe, b"/bin/sleep");
    assert!(n.execs[0].time.is_some());
}

#[test]
fn a_late_seed_does_not_mark_a_live_process_seeded() {
    let shell = key(100, 10);
    let child = key(1200, 120);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, child);
    s.seed(child, Some(shell), "sleep");
    let t = s.tree();
    assert_eq!(t.len(), 2);
    assert!(!t.node(t.find(child).unwrap()).seeded);
}

#[test]
fn a_parent_known_only_from_a_later_event_is_marked_inferred() {
    let shell = key(100, 10);
    let seen_born = key(1300, 130);
    let unseen_fork = key(1301, 131);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.fork(shell, seen_born);
    s.exit(unseen_fork, shell, 0);
    let t = s.tree();
    assert!(!t.node(t.find(seen_born).unwrap()).parent_inferred);
    assert!(!t.node(t.find(shell).unwrap()).parent_inferred);
    let n = t.node(t.find(unseen_fork).unwrap());
    assert!(n.parent_inferred);
    assert_eq!(n.parent_id(), t.find(shell));
}

// ---- bounding the processes ---------------------------------------------

/// Every link in the tree points both ways, and the index finds each node.
fn assert_consistent(tree: &CausalTree) {
    for (id, n) in tree.nodes() {
        assert_eq!(tree.find(n.key), Some(id), "index of {}", n.key);
        match n.causal_parent {
            ParentLink::Known(p) => assert!(tree.children(p).contains(&id)),
            ParentLink::Root => assert!(tree.roots().contains(&id)),
            ParentLink::Unknown(_) => assert!(tree.orphans().contains(&id)),
        }
        for &c in &n.children {
            assert_eq!(tree.node(c).causal_parent, ParentLink::Known(id));
        }
        for &c in &n.conns {
            assert_eq!(tree.conn(c).owner, id);
        }
    }
    for c in tree.conns() {
        if let Some(p) = c.peer {
            assert_eq!(tree.conn(p).peer.map(|q| tree.conn(q).owner), Some(c.owner));
        }
    }
}

fn apply_all(tree: &mut CausalTree, s: &Script) {
    for m in &s.msgs {
        tree.apply(m);
    }
}

const SHELL: ProcKey = ProcKey::new(10, 100_000_000);

/// A live shell under init that ran `n` short-lived commands, pids from
/// 1000.
fn commands(n: u32) -> Script {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(SHELL, Some(INIT), "bash");
    s.short_commands(n);
    s
}

#[test]
fn a_full_tree_forgets_the_oldest_exited_processes_and_keeps_the_live() {
    let s = commands(1000);
    let mut tree = CausalTree::with_limits(100, MAX_CONNS);
    apply_all(&mut tree, &s);
    assert!(tree.len() <= 100, "{} held", tree.len());
    assert_consistent(&tree);
    let shell = tree.find(SHELL).expect("the live shell is kept");
    assert!(tree.find(INIT).is_some());
    // The newest commands are kept, the oldest forgotten.
    assert!(tree.find_pid(1999).is_some());
    assert!(tree.find_pid(1000).is_none());
    let kids = tree.children(shell);
    assert!(
        kids.windows(2)
            .all(|w| tree.node(w[0]).start() < tree.node(w[1]).start())
    );
    let forgotten = 1002 - tree.len() as u64;
    assert_eq!(tree.forgotten(), forgotten);
    assert_eq!(tree.stats().forgotten, forgotten);
    assert_eq!(tree.node(shell).forgotten_children, forgotten);
    assert!(tree.node_generation() > 0);
    assert_eq!(tree.stats().alive, 2);
}

#[test]
fn live_processes_are_never_forgotten_however_many() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    for i in 0..50 {
        let start = s.now + 500_000;
        s.fork(INIT, ProcKey::new(100 + i, start));
    }
    let mut tree = CausalTree::with_limits(10, MAX_CONNS);
    apply_all(&mut tree, &s);
    assert_eq!(tree.len(), 51);
    assert_eq!(tree.forgotten(), 0);
    assert_consistent(&tree);
}

#[test]
fn a_subtree_goes_whole_and_a_live_descendant_keeps_its_chain() {
    // init > shell > make (exited) > cc (exited), and make2 (exited) >
    // daemon (alive), then enough commands to force forgetting.
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(SHELL, Some(INIT), "bash");
    let make = key(20, 2_000);
    let cc = key(21, 2_001);
    let make2 = key(22, 2_002);
    let daemon = key(23, 2_003);
    s.now = 2_010_000_000;
    s.fork(SHELL, make);
    s.fork(make, cc);
    s.fork(SHELL, make2);
    s.fork(make2, daemon);
    s.exit(cc, make, 0);
    s.exit(make, SHELL, 0);
    s.exit(make2, SHELL, 0);
    s.short_commands(200);
    let mut tree = CausalTree::with_limits(40, MAX_CONNS);
    apply_all(&mut tree, &s);
    assert_consistent(&tree);
    assert!(tree.find(make).is_none() && tree.find(cc).is_none());
    let d = tree.find(daemon).expect("alive");
    let m2 = tree.find(make2).expect("the live daemon's parent");
    assert_eq!(tree.node(d).causal_parent, ParentLink::Known(m2));
    assert_eq!(pids(&tree, &tree.ancestors(d)), [1, 10, 22, 23]);
}

#[test]
fn a_pinned_process_and_its_ancestors_stay() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(SHELL, Some(INIT), "bash");
    let first = key(1000, 2_000);
    s.now = 2_000_000_000;
    s.fork(SHELL, first);
    s.exit(first, SHELL, 0);
    let mut tree = CausalTree::with_limits(20, MAX_CONNS);
    apply_all(&mut tree, &s);
    tree.pin(tree.find(first));
    let more = commands(100);
    for m in more.msgs.iter().skip(2) {
        tree.apply(m);
    }
    assert!(tree.forgotten() > 0);
    assert!(tree.find(first).is_some(), "pinned");
    assert_consistent(&tree);
}

#[test]
fn forgotten_processes_take_their_connections_and_a_live_peer_keeps_its_own() {
    // A client that connects to a live local server, closes and exits,
    // then many commands: the client and its connection are forgotten; the
    // server keeps its accepted connection, unlinked.
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(SHELL, Some(INIT), "bash");
    let server = key(30, 2_000);
    let client = key(31, 2_001);
    s.now = 2_010_000_000;
    s.fork(SHELL, server);
    s.fork(SHELL, client);
    let tcp = |kind, direction, local: &str, remote: &str| {
        EventKind::Net(NetInfo {
            kind,
            protocol: Protocol::Tcp,
            direction,
            local: local.parse().unwrap(),
            remote: remote.parse().unwrap(),
            cookie: match direction {
                Direction::Outbound => 7,
                _ => 8,
            },
            netns: 1,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            opened: 0,
        })
    };
    let (c, sv) = ("127.0.0.1:40000", "127.0.0.1:80");
    s.event(
        client,
        31,
        SHELL,
        tcp(NetKind::Connect, Direction::Outbound, c, sv),
    );
    s.event(
        server,
        30,
        SHELL,
        tcp(NetKind::Accept, Direction::Inbound, sv, c),
    );
    s.event(
        client,
        31,
        SHELL,
        tcp(NetKind::Close, Direction::Outbound, c, sv),
    );
    s.event(
        server,
        30,
        SHELL,
        tcp(NetKind::Close, Direction::Inbound, sv, c),
    );
    s.exit(client, SHELL, 0);
    s.short_commands(100);
    let mut tree = CausalTree::with_limits(30, MAX_CONNS);
    apply_all(&mut tree, &s);
    assert_consistent(&tree);
    assert!(tree.find(client).is_none());
    let sv = tree.find(server).expect("alive");
    assert_eq!(tree.conns().len(), 1);
    let conn = tree.node(sv).conns[0];
    assert_eq!(tree.conn(conn).peer, None, "its peer was forgotten");
    assert_eq!(tree.conn(conn).owner, sv);
}

#[test]
fn a_zombie_at_the_scan_is_ended_not_running() {
    let shell = key(100, 10);
    let zombie = key(200, 20);
    let late = key(201, 21);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    let found = s.now;
    for (p, status) in [(zombie, ExitStatus::Code(3)), (late, ExitStatus::Code(0))] {
        s.seed(p, Some(shell), "z");
        if let Some(Message::Seed(z)) = s.msgs.last_mut() {
            z.defunct = Some(crate::event::Defunct {
                seen: found,
                status,
            });
        }
    }
    // `late` ended after the probe attached and before the scan read it:
    // its exit was seen, and is its end.
    s.exit(late, shell, 7);
    let t = s.tree();
    let z = t.node(t.find(zombie).unwrap());
    assert!(
        !z.is_alive(),
        "its end came before the probe: never seen, not running"
    );
    assert!(z.defunct);
    assert_eq!(
        (z.exit, z.exit_time),
        (Some(ExitStatus::Code(3)), Some(found))
    );
    let l = t.node(t.find(late).unwrap());
    assert!(!l.defunct);
    assert_eq!(l.exit, Some(ExitStatus::Code(7)));
    assert_eq!(l.exit_time, Some(s.now), "the time of its exit line");
    assert_eq!(t.stats().alive, 2, "init and the shell");
}

/// A TCP event of `kind` on socket `cookie`, `local` to `remote`.
fn tcp(kind: NetKind, direction: Direction, local: &str, remote: &str, cookie: u64) -> EventKind {
    EventKind::Net(NetInfo {
        kind,
        protocol: Protocol::Tcp,
        direction,
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        cookie,
        netns: 1,
        bytes_sent: 0,
        bytes_received: 0,
        ending: Default::default(),
        opened: 0,
    })
}

/// The stretch between two recordings, the second listing `procs` and the
/// sockets `cookies` when it began at `to`.
fn gap(from: u64, to: u64, procs: &[ProcKey], cookies: &[u64]) -> Message {
    Message::Gap(Box::new(Gap {
        stretch: crate::event::Stretch::between("j.jsonl.1", "j.jsonl", from, to),
        procs: procs.to_vec(),
        sockets: cookies.to_vec(),
    }))
}

#[test]
fn what_the_next_recording_does_not_list_ended_in_the_gap_before_it() {
    let shell = key(100, 10);
    let sleeper = key(200, 1_100);
    let server = key(300, 1_200);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    s.fork(shell, sleeper);
    s.fork(shell, server);
    let (here, there) = ("127.0.0.1:8080", "0.0.0.0:0");
    s.event(
        server,
        300,
        shell,
        tcp(NetKind::Listen, Direction::Listen, here, there, 1),
    );
    s.event(
        server,
        300,
        shell,
        tcp(
            NetKind::Accept,
            Direction::Inbound,
            here,
            "10.0.0.9:5000",
            2,
        ),
    );
    let udp = EventKind::Net(NetInfo {
        kind: NetKind::Udp,
        protocol: Protocol::Udp,
        direction: Direction::Outbound,
        local: "0.0.0.0:5353".parse().unwrap(),
        remote: "10.0.0.1:53".parse().unwrap(),
        cookie: 3,
        netns: 1,
        bytes_sent: 0,
        bytes_received: 0,
        ending: Default::default(),
        opened: 0,
    });
    s.event(sleeper, 200, shell, udp);
    let ended = s.now;
    let before = s.tree();
    assert_eq!(before.stats().alive, 4);
    assert!(before.gaps().is_empty());
    // The next recording, a minute later, lists init, the shell and the
    // server (its /proc scan's start times at 10 ms) and the listener:
    // the sleeper and the accepted connection had ended by then.
    let began = ended + 60_000_000_000;
    let tick = |k: ProcKey| ProcKey::new(k.pid, k.start / NS_PER_TICK * NS_PER_TICK);
    s.msgs
        .push(gap(ended, began, &[INIT, shell, tick(server)], &[1]));
    s.now = began;
    s.seed(tick(server), Some(shell), "server");
    let t = s.tree();

    let node = |k| t.node(t.find(k).unwrap());
    let gone = node(sleeper);
    assert!(!gone.is_alive(), "not listed: ended in the gap");
    assert_eq!(gone.gone, Some(ended), "running when the first ended");
    assert_eq!(
        gone.exit_time,
        Some(began),
        "ended by the time the next began"
    );
    assert_eq!(gone.exit, None, "how is not known");
    for k in [INIT, shell, server] {
        assert!(node(k).is_alive(), "{k}: listed, running on");
        assert_eq!(node(k).gone, None);
    }
    assert_eq!(t.len(), 4, "listed again: the same nodes, none added");
    assert_eq!(t.stats().alive, 3);
    let conn = |cookie| t.conns().iter().find(|c| c.cookie == cookie).unwrap();
    assert_eq!(conn(1).state, ConnState::Listening, "listed: open");
    assert_eq!((conn(2).state, conn(2).end), (ConnState::Gone, Some(began)));
    assert_eq!(conn(3).end, Some(began), "UDP ends with its process");
    assert_eq!(node(server).conn_counts.open, 1);
    assert_eq!(
        t.gaps(),
        [GapEnded {
            stretch: crate::event::Stretch::between("j.jsonl.1", "j.jsonl", ended, began),
            processes: 1,
            connections: 1,
        }]
    );
    // Scrubbed back into the first recording, it was running.
    assert!(node(sleeper).exit_time.is_some_and(|e| e > ended));
}

#[test]
fn an_end_seen_after_a_gap_replaces_the_gap_and_a_listed_zombie_ended() {
    let shell = key(100, 10);
    let late = key(200, 1_100);
    let zombie = key(201, 1_101);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    s.fork(shell, late);
    s.fork(shell, zombie);
    let ended = s.now;
    let began = ended + 5_000_000_000;
    // The next recording's probe saw `late` exit before its scan read
    // /proc (so the scan does not list it); the scan found `zombie` ended,
    // its parent yet to collect it.
    s.msgs.push(gap(ended, began, &[INIT, shell, zombie], &[]));
    s.now = began;
    s.seed(zombie, Some(shell), "z");
    if let Some(Message::Seed(z)) = s.msgs.last_mut() {
        z.defunct = Some(crate::event::Defunct {
            seen: began,
            status: ExitStatus::Code(3),
        });
    }
    let unseen = s.tree();
    assert_eq!(unseen.gaps()[0].processes, 1);
    s.exit(late, shell, 7);
    let t = s.tree();
    let l = t.node(t.find(late).unwrap());
    assert_eq!((l.gone, l.exit), (None, Some(ExitStatus::Code(7))));
    assert_eq!(l.exit_time, Some(s.now), "its exit line's time");
    assert_eq!(t.gaps()[0].processes, 0, "none ended unseen after all");
    let z = t.node(t.find(zombie).unwrap());
    assert!(z.defunct && z.gone.is_none());
    assert_eq!(
        (z.exit, z.exit_time),
        (Some(ExitStatus::Code(3)), Some(began))
    );
    assert_eq!(t.stats().alive, 2, "init and the shell");
}

// ---- a pid reused within one tick -------------------------------------

/// An exact start `ns` into the next 10 ms tick of `s`'s clock, which is
/// moved there: the steps after it fall in the same tick for a while.
fn next_tick(s: &mut Script, ns: u64) -> u64 {
    s.now = (s.now / NS_PER_TICK + 1) * NS_PER_TICK;
    s.now + ns
}

fn signal_from(sender: ProcKey) -> EventKind {
    EventKind::Signal(crate::event::SignalInfo {
        signal: 15,
        code: 0,
        sender: Some(crate::event::Sender {
            proc: sender,
            uid: 0,
            comm: "kill".into(),
        }),
        oom: false,
    })
}

fn exes(tree: &CausalTree, id: NodeId) -> Vec<String> {
    let n = tree.node(id);
    n.execs
        .iter()
        .map(|e| String::from_utf8_lossy(&e.info.exe).into_owned())
        .collect()
}

#[test]
fn two_forks_of_one_pid_within_a_tick_are_two_processes_with_their_own_execs_and_exits() {
    // `echo $$` then `ns_last_pid` set back: the pid again 3 ms later.
    let shell = key(100, 10);
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(shell, Some(INIT), "bash");
    let first = ProcKey::new(17008, next_tick(&mut s, 123_456));
    s.fork(shell, first);
    s.exec(first, first.pid, shell, "/bin/sh", &["sh", "-c", "echo $$"]);
    s.exit(first, shell, 0);
    let second = ProcKey::new(17008, first.start + 3_000_000);
    assert_eq!(first.start_tick(), second.start_tick());
    s.fork(shell, second);
    s.exec(second, second.pid, shell, "/bin/sh", &["sh", "-c", "…"]);
    s.exec(second, second.pid, shell, "/bin/sleep", &["sleep", "2"]);
    assert_eq!(s.now / NS_PER_TICK, first.start_tick(), "all in one tick");
    s.now += 2_000_000_000;
    s.exit(second, shell, 0);
    let t = s.tree();
    assert_eq!(t.len(), 4);
    let (a, b) = (t.find(first).unwrap(), t.find(second).unwrap());
    assert_ne!(a, b);
    assert_eq!(t.node(a).key, first);
    assert_eq!(t.node(b).key, second);
    assert_eq!(exes(&t, a), ["/bin/sh"]);
    assert_eq!(exes(&t, b), ["/bin/sh", "/bin/sleep"]);
    let (ea, eb) = (t.node(a).exit_time.unwrap(), t.node(b).exit_time.unwrap());
    assert!(
        ea < second.start,
        "the first's own exit, before the second began"
    );
    assert!(eb - second.start > 2_000_000_000, "the second's own exit");
    assert_eq!(t.children(t.find(shell).unwrap()), &[a, b]);
    assert_eq!(t.find_pid(17008), Some(b));
    assert_eq!(t.stats().alive, 2);
    assert_consistent(&t);
}

#[test]
fn a_seeded_process_takes_its_exact_start_from_its_events_and_a_reuse_in_its_tick_is_another() {
    // Scanned just after it started, then seen ending; its pid is given
    // again within the tick.
    let mut s = Script::new();
    let exact = ProcKey::new(900, next_tick(&mut s, 4_567_891));
    let seeded = ProcKey::new(900, exact.start_tick() * NS_PER_TICK);
    s.seed(INIT, None, "init");
    s.seed(seeded, Some(INIT), "server");
    s.now = exact.start;
    s.exit(exact, INIT, 1);
    let again = ProcKey::new(900, exact.start + 2_000_000);
    s.fork(INIT, again);
    let t = s.tree();
    assert_eq!(t.len(), 3);
    let (old, new) = (t.find(exact).unwrap(), t.find(again).unwrap());
    assert_ne!(old, new);
    assert!(t.node(old).seeded);
    assert_eq!(t.node(old).key, exact, "the probe's start replaces /proc's");
    assert_eq!(t.node(old).exit, Some(ExitStatus::Code(1)));
    assert!(t.node(new).is_alive() && !t.node(new).seeded);
    // A key at /proc's resolution names the newest of the tick.
    assert_eq!(t.find(seeded), Some(new));
    assert_consistent(&t);
}

#[test]
fn a_process_seeded_by_a_later_file_is_the_one_of_its_tick_still_running() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    let first = ProcKey::new(700, next_tick(&mut s, 1_000));
    s.fork(INIT, first);
    s.exit(first, INIT, 0);
    let second = ProcKey::new(700, first.start + 2_500_000);
    s.fork(INIT, second);
    // The next file of a rotated journal: its scan lists the second at
    // /proc's resolution.
    let listed = ProcKey::new(700, second.start_tick() * NS_PER_TICK);
    s.seed(listed, Some(INIT), "sleep");
    let t = s.tree();
    assert_eq!(t.len(), 3);
    let (a, b) = (t.find(first).unwrap(), t.find(second).unwrap());
    assert_eq!(t.find(listed), Some(b));
    assert!(!t.node(b).seeded && t.node(b).is_alive());
    assert_eq!(t.node(a).exit, Some(ExitStatus::Code(0)));
}

#[test]
fn a_signal_is_sent_by_the_process_of_its_senders_exact_start() {
    let shell = key(100, 10);
    let target = key(200, 20);
    let mut s = Script::new();
    s.seed(shell, None, "bash");
    s.seed(target, Some(shell), "server");
    let first = ProcKey::new(300, next_tick(&mut s, 10_000));
    s.fork(shell, first);
    let second = ProcKey::new(300, first.start + 4_000_000);
    s.now = second.start;
    s.fork(shell, second);
    // The first's signal is read after the second's fork.
    s.event(target, target.pid, shell, signal_from(first));
    s.event(target, target.pid, shell, signal_from(second));
    s.event(target, target.pid, shell, signal_from(second));
    let t = s.tree();
    let sent = |k: ProcKey| t.node(t.find(k).unwrap()).sent.len();
    assert_eq!((sent(first), sent(second)), (1, 2));
}

#[test]
fn an_orphan_waits_for_its_own_parent_not_another_of_its_pid_and_tick() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    let gone = ProcKey::new(400, next_tick(&mut s, 5_000));
    let parent = ProcKey::new(400, gone.start + 1_000_000);
    let child = ProcKey::new(401, gone.start + 2_000_000);
    // The parent's fork was lost; its child is seen first.
    s.exec(child, child.pid, parent, "/bin/true", &["true"]);
    s.exit(gone, INIT, 0);
    let t = s.tree();
    let c = t.find(child).unwrap();
    assert_eq!(t.orphans(), &[c]);
    assert!(t.children(t.find(gone).unwrap()).is_empty());
    s.exit(parent, INIT, 0);
    let t = s.tree();
    let p = t.find(parent).unwrap();
    assert!(t.orphans().is_empty());
    assert_eq!(t.children(p), &[c]);
    assert!(t.children(t.find(gone).unwrap()).is_empty());
}

#[test]
fn the_next_recording_listing_a_pid_by_exact_start_does_not_keep_another_of_its_tick() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    let first = ProcKey::new(600, next_tick(&mut s, 7_000));
    s.fork(INIT, first);
    let ended = s.now;
    // Its end unseen, the pid given again in the same tick and listed.
    let second = ProcKey::new(600, first.start + 1_500_000);
    let began = ended + 1_000_000;
    s.msgs.push(gap(ended, began, &[INIT, second], &[]));
    let t = s.tree();
    let a = t.find(first).unwrap();
    assert_eq!(t.node(a).gone, Some(ended));
    assert_eq!(t.gaps()[0].processes, 1);
}

#[test]
fn forgetting_processes_keeps_each_of_a_pid_reused_within_a_tick_found_by_its_start() {
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    s.seed(SHELL, Some(INIT), "bash");
    let mut pairs = Vec::new();
    for i in 0..60 {
        let first = ProcKey::new(1000 + i, next_tick(&mut s, 1_000));
        s.fork(SHELL, first);
        s.exit(first, SHELL, 0);
        let second = ProcKey::new(1000 + i, first.start + 3_000_000);
        s.fork(SHELL, second);
        s.exit(second, SHELL, i32::try_from(i).unwrap());
        pairs.push((first, second));
    }
    let mut tree = CausalTree::with_limits(50, MAX_CONNS);
    apply_all(&mut tree, &s);
    assert!(tree.len() <= 50 && tree.forgotten() > 0);
    assert_consistent(&tree);
    let (first, second) = pairs[59];
    let (a, b) = (tree.find(first).unwrap(), tree.find(second).unwrap());
    assert_ne!(a, b);
    assert_eq!(tree.node(a).exit, Some(ExitStatus::Code(0)));
    assert_eq!(tree.node(b).exit, Some(ExitStatus::Code(59)));
    assert!(tree.find(pairs[0].0).is_none() && tree.find(pairs[0].1).is_none());
}

#[test]
fn a_seeded_process_taking_its_exact_start_moves_among_its_siblings_in_start_order() {
    // Two scanned in one tick, so in pid order until their events say
    // which began first.
    let mut s = Script::new();
    s.seed(INIT, None, "init");
    let tick = next_tick(&mut s, 0);
    let (a, b) = (ProcKey::new(50, tick), ProcKey::new(51, tick));
    s.seed(a, Some(INIT), "a");
    s.seed(b, Some(INIT), "b");
    s.exit(ProcKey::new(50, tick + 5_000_000), INIT, 0);
    s.exit(ProcKey::new(51, tick + 1_000_000), INIT, 0);
    let t = s.tree();
    assert_eq!(t.len(), 3);
    assert_eq!(pids(&t, t.children(t.find(INIT).unwrap())), vec![51, 50]);
}

#[test]
fn a_comm_that_is_not_its_programs_name_is_a_rename() {
    use super::renamed;
    fn argv(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }
    // prctl(PR_SET_NAME): a miner calling itself a kernel thread.
    assert!(renamed(
        b"/usr/bin/python3",
        &argv(&["python3", "kw.py"]),
        "kworker/0:1"
    ));
    // Its own name, cut to 15 bytes by the kernel, or its resolved path's.
    assert!(!renamed(
        b"/usr/bin/python3",
        &argv(&["python3"]),
        "python3"
    ));
    let long = b"/tmp/a-very-long-script-name.sh";
    assert!(!renamed(long, &argv(&["/bin/bash"]), "a-very-long-scr"));
    assert!(!renamed(
        b"/usr/bin/python3.11",
        &argv(&["python3"]),
        "python3"
    ));
    // Listed at start: the resolved path, and the name it was run as, or
    // the script a `#!` interpreter runs.
    assert!(!renamed(b"/bin/busybox", &argv(&["ls"]), "ls"));
    assert!(!renamed(b"/usr/bin/dash", &argv(&["/bin/sh"]), "sh"));
    let script = argv(&["/bin/sh", "/tmp/a-very-long-script-name.sh"]);
    assert!(!renamed(b"/usr/bin/dash", &script, "a-very-long-scr"));
    // A program's name and more after a separator (tmux names itself
    // `tmux: server`), but not a name that merely begins with a short
    // program's.
    assert!(!renamed(b"/usr/bin/tmux", &argv(&["tmux"]), "tmux: server"));
    assert!(renamed(
        b"/tmp/k",
        &argv(&["/tmp/k", "r.py"]),
        "kworker/2:3"
    ));
    // Run under another name (exec -a): its comm is still the program's.
    assert!(!renamed(b"/usr/bin/sleep", &argv(&["backupd"]), "sleep"));
    // Named by bytes that are not UTF-8: its comm is them decoded, as
    // causeway keeps a comm (`t\xff` is `t�`), not a new name; nor is the
    // kernel's cut within a character.
    assert!(!renamed(b"/tmp/x/t\xff", &[], "t\u{FFFD}"));
    let cut = "/tmp/aaaaaaaaaaaaaa\u{e9}".as_bytes();
    assert!(!renamed(cut, &[], "aaaaaaaaaaaaaa\u{FFFD}"));
    assert!(renamed(b"/tmp/x/t\xff", &[], "kworker/0:1"));
    // Nothing to compare.
    assert!(!renamed(b"", &argv(&["x"]), "kworker/0:1"));
    assert!(!renamed(b"/usr/bin/python3", &[], ""));
}

#[test]
fn a_rename_is_the_leaders_and_dated_and_a_threads_name_is_not_one() {
    use crate::ui::synth::Synth;
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let py = s.spawn(init, 0, "/usr/bin/python3", &["python3", "app.py"]);
    // A worker thread named by its program exits last: its name is the
    // exit event's.
    s.exit(py, init, crate::event::ExitStatus::Code(0));
    if let Some(Message::Event(e)) = s.messages.last_mut() {
        e.tid = py.pid + 3;
        e.comm = "worker-thr".into();
    }
    let tree = CausalTree::from_messages(&s.messages);
    let n = tree.node(tree.find(py).unwrap());
    assert_eq!((n.comm.as_str(), n.renamed_at), ("python3", None));
    // The leader renames itself: when is known.
    let (mut s, init, py) = crate::ui::synth::renamed_miner();
    let when = s.now;
    let tree = CausalTree::from_messages(&s.messages);
    let n = tree.node(tree.find(py).unwrap());
    assert_eq!(n.comm.as_str(), "kworker/0:1");
    assert!(n.renamed_at.is_some_and(|t| t <= when && t > py.start));
    // A new program is named anew.
    s.exec(py, init, 0, "/usr/bin/sleep", &["sleep", "1"]);
    let tree = CausalTree::from_messages(&s.messages);
    assert_eq!(tree.node(tree.find(py).unwrap()).renamed_at, None);
}

#[test]
fn a_program_is_named_by_its_file_listed_or_exec_d_and_what_it_ran_as_beside() {
    use crate::ui::synth;
    let (s, [py, shell, x, memfd]) = synth::fileless();
    let tree = CausalTree::from_messages(&s.messages);
    let name = |k: ProcKey| tree.node(tree.find(k).unwrap()).display_name();
    let listed = |pid: u32| tree.node(tree.find_pid(pid).unwrap()).display_name();
    // The same program, listed at start and seen exec'd: one name.
    assert_eq!(
        (listed(500), name(py)),
        ("python3.11".into(), "python3.11".into())
    );
    assert_eq!(name(shell), "dash");
    assert_eq!((name(x), listed(600)), ("x".into(), "old".into()));
    assert_eq!(name(memfd), "memfd:payload");
    let exec = |k: ProcKey| {
        tree.node(tree.find(k).unwrap())
            .current_exec()
            .unwrap()
            .clone()
    };
    assert!(exec(x).deleted && !exec(x).memfd());
    assert!(exec(memfd).memfd());
    let listed_exec = tree
        .node(tree.find_pid(600).unwrap())
        .current_exec()
        .unwrap();
    assert!(listed_exec.deleted);
    // What each was run as, beside its name.
    let as_of = |file: &str, argv: &[&str]| {
        run_as(&ExecInfo {
            exe: b"/given".to_vec(),
            file: file.as_bytes().to_vec(),
            argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            ..Default::default()
        })
    };
    let alias = |n: &str| Some(RunAs::Alias(n.into()));
    let none: Option<RunAs> = None;
    assert_eq!(as_of("/usr/bin/python3.11", &["python3", "app.py"]), none);
    assert_eq!(as_of("/usr/bin/python3.11", &["/usr/bin/python3"]), none);
    assert_eq!(as_of("/usr/bin/bash", &["-bash"]), none, "a login shell");
    assert_eq!(as_of("/usr/sbin/sshd", &["sshd: alice [priv]"]), none);
    assert_eq!(as_of("/usr/sbin/nginx", &["nginx: worker process"]), none);
    assert_eq!(as_of("/usr/bin/dash", &["sh", "-c", "x"]), alias("sh"));
    assert_eq!(
        as_of("/usr/bin/dash", &["/bin/sh", "/opt/run.sh"]),
        alias("sh"),
        "a script"
    );
    assert_eq!(as_of("/usr/bin/busybox", &["ls", "/tmp"]), alias("ls"));
    assert_eq!(as_of("/usr/bin/mawk", &["awk"]), alias("awk"));
    assert_eq!(as_of("/usr/bin/python3.11", &[]), none);
    // Passing for another: not a command's name.
    let disguise = |n: &str| Some(RunAs::Disguise(n.into()));
    assert_eq!(
        as_of("/usr/bin/python3.11", &["[kworker/u4:2]"]),
        disguise("[kworker/u4:2]")
    );
    assert_eq!(
        as_of("/memfd:payload", &["kworker/0:1"]),
        disguise("kworker/0:1")
    );
    // Not known what file ran (an older journal): a script's interpreter
    // is no alias of it.
    let old = ExecInfo {
        exe: b"/opt/run.sh".to_vec(),
        argv: vec![b"/bin/sh".to_vec(), b"/opt/run.sh".to_vec()],
        ..Default::default()
    };
    assert_eq!(run_as(&old), None);
    // A comm from the path exec'd (`3` of /proc/self/fd/3) is no rename.
    assert!(!renamed_exec(&exec(memfd), "3"));
    assert!(renamed_exec(&exec(memfd), "kworker/0:1"));
}

#[test]
fn a_script_is_named_by_itself_not_its_interpreter() {
    let exec = |exe: &str, file: &str, argv: &[&str]| ExecInfo {
        exe: exe.into(),
        file: file.into(),
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    // Run by its #! line: the kernel ran dash, and gave it the script.
    let script = exec(
        "./backup.sh",
        "/usr/bin/dash",
        &["/bin/sh", "./backup.sh", "--all"],
    );
    assert!(script.script());
    assert_eq!(script.program(), b"./backup.sh");
    assert_eq!(
        display_name(Some(&script), &Comm::from("backup.sh")),
        "backup.sh"
    );
    assert_eq!(run_as(&script), None);
    // The shell given the script to run: the shell is the program.
    let typed = exec("/bin/sh", "/usr/bin/dash", &["sh", "./backup.sh"]);
    assert!(!typed.script());
    assert_eq!(display_name(Some(&typed), &Comm::from("sh")), "dash");
    assert_eq!(run_as(&typed), Some(RunAs::Alias("sh".into())));
}

#[test]
fn a_script_listed_at_start_is_named_as_one_seen_exec_d() {
    let listed = |pid: u32, comm: &str, argv: &[&str]| {
        let mut seed = crate::event::SeedProcess::bare(ProcKey::new(pid, 5), comm);
        seed.exe = b"/usr/bin/dash".to_vec();
        seed.argv = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        Message::Seed(seed)
    };
    let tree = CausalTree::from_messages(&[
        // Run by its #! line: the kernel named it after the script.
        listed(10, "backup.sh", &["/bin/sh", "./backup.sh", "--all"]),
        // A shell given a script: named after the shell.
        listed(11, "sh", &["sh", "./backup.sh"]),
        // A long script name, cut to 15 bytes in the comm.
        listed(
            12,
            "nightly-rotatio",
            &["/bin/sh", "/opt/nightly-rotation.sh"],
        ),
    ]);
    let name = |pid| tree.node(tree.find_pid(pid).unwrap()).display_name();
    assert_eq!(name(10), "backup.sh");
    assert_eq!(name(11), "dash");
    assert_eq!(name(12), "nightly-rotation.sh");
    let exec = tree
        .node(tree.find_pid(10).unwrap())
        .current_exec()
        .unwrap()
        .clone();
    assert!(exec.script());
    assert_eq!(exec.file, b"/usr/bin/dash");
    assert_eq!(run_as(&exec), None);
}

#[test]
fn a_subreaper_ending_hands_on_the_orphans_it_had_adopted() {
    let mut s = Script::new();
    let init = key(1, 1);
    let (shim, job, worker) = (key(10, 2), key(20, 3), key(30, 4));
    s.fork(init, shim);
    // The shim (a subreaper) starts a job, which starts a worker and
    // exits: the worker is handed to the shim.
    s.fork(shim, job);
    s.fork(job, worker);
    s.event(
        job,
        job.pid,
        shim,
        EventKind::Exit {
            status: ExitStatus::Code(0),
            reaper: Some(shim),
        },
    );
    // The shim ends: its adopted worker goes to init.
    s.event(
        shim,
        shim.pid,
        init,
        EventKind::Exit {
            status: ExitStatus::Code(0),
            reaper: Some(init),
        },
    );
    let tree = CausalTree::from_messages(&s.msgs);
    let w = tree.node(tree.find(worker).unwrap());
    assert_eq!(w.current_parent, Some(init));
    // Its causal parent is still the job that started it.
    assert_eq!(w.parent_id().map(|p| tree.node(p).key), Some(job));
}
