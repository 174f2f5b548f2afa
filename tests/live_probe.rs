//! The real probe against real processes. Needs root: without it these
//! print a skip, unless CI=true, where they fail.

mod common;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use causeway::bpf::ProbeOptions;
use causeway::event::{EventKind, ExitStatus, Message, ProcKey};
use causeway::graph::{CausalTree, NodeId};
use common::{capture, capture_with, probe_allowed};

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("cw-{tag}-{}-{nanos}", std::process::id())
}

fn argv_of(tree: &CausalTree, id: NodeId) -> Vec<String> {
    tree.node(id)
        .current_exec()
        .map(|x| {
            x.argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The node whose last exec's path ends with `name`.
fn find_exec(tree: &CausalTree, name: &str) -> Option<NodeId> {
    tree.nodes()
        .find(|(_, n)| {
            n.execs
                .iter()
                .any(|x| x.info.exe.ends_with(name.as_bytes()))
        })
        .map(|(id, _)| id)
}

#[test]
fn a_known_tree_with_a_double_forked_daemon_is_captured_exactly() {
    if !probe_allowed("a_known_tree_with_a_double_forked_daemon_is_captured_exactly") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique("tool");
    let tool = dir.path().join(&name);
    std::fs::copy("/bin/sh", &tool).unwrap();
    let marker = unique("daemon");
    // outer sh forks a child that execs the uniquely named tool (a copy of
    // sh) with known argv; the tool double-forks a `sleep` and exits 7.
    let script = "( exec sleep 0.4 & ) ; exit 7".to_string();
    let inner = format!("{} -c '{script}' {marker}; exit 0", tool.display());
    let outer_pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let op = outer_pid.clone();
    let cap = capture(
        move || {
            let mut child = Command::new("/bin/sh")
                .arg("-c")
                .arg(inner)
                .spawn()
                .unwrap();
            op.store(child.id(), std::sync::atomic::Ordering::SeqCst);
            assert!(child.wait().unwrap().success());
        },
        |t| {
            // Done once the daemon (sleep) has exited too.
            t.nodes().any(|(_, n)| {
                n.exit.is_some()
                    && n.execs
                        .iter()
                        .any(|x| x.info.argv.first().map(Vec::as_slice) == Some(b"sleep"))
                    && n.execs
                        .iter()
                        .any(|x| x.info.argv.get(1).map(Vec::as_slice) == Some(b"0.4"))
            })
        },
        Duration::from_secs(15),
    );
    let t = &cap.tree;
    assert_eq!(cap.lost(), 0);
    let outer_pid = outer_pid.load(std::sync::atomic::Ordering::SeqCst);

    let tool_node = find_exec(t, &name).expect("the tool's exec was captured");
    assert_eq!(
        argv_of(t, tool_node),
        vec![
            tool.display().to_string(),
            "-c".into(),
            script.clone(),
            marker.clone()
        ]
    );
    assert_eq!(t.node(tool_node).exit, Some(ExitStatus::Code(7)));

    // tool <- outer sh <- this test process, by identity.
    let chain = t.ancestors(tool_node);
    let n = chain.len();
    assert!(n >= 3, "chain too short: {chain:?}");
    let outer = t.node(chain[n - 2]);
    assert_eq!(outer.key.pid, outer_pid);
    assert_eq!(argv_of(t, chain[n - 2])[0], "/bin/sh");
    assert_eq!(outer.exit, Some(ExitStatus::Code(0)));
    let me = t.node(chain[n - 3]);
    assert_eq!(me.key.pid, std::process::id());
    assert!(me.seeded, "the test process predates the probe");

    // The daemon: tool -> subshell -> sleep, reparented away from the
    // subshell, which exited first; the causal chain still reaches the tool.
    let daemon = t
        .nodes()
        .find(|(_, n)| {
            n.execs
                .iter()
                .any(|x| x.info.argv == vec![b"sleep".to_vec(), b"0.4".to_vec()])
        })
        .map(|(id, _)| id)
        .expect("the daemon's exec was captured");
    let dchain = t.ancestors(daemon);
    let subshell = dchain[dchain.len() - 2];
    assert_eq!(dchain[dchain.len() - 3], tool_node);
    assert_eq!(t.node(subshell).exit, Some(ExitStatus::Code(0)));
    let d = t.node(daemon);
    assert_eq!(d.exit, Some(ExitStatus::Code(0)));
    assert_ne!(d.current_parent, Some(t.node(subshell).key), "reparented");
    assert!(d.current_parent.is_some());
}

#[test]
fn an_exec_storm_is_captured_completely() {
    if !probe_allowed("an_exec_storm_is_captured_completely") {
        return;
    }
    const N: usize = 3000;
    let marker = unique("storm");
    let m = marker.clone();
    let cap = capture(
        move || {
            let script =
                format!("i=0; while [ $i -lt {N} ]; do /bin/true {m} $i; i=$((i+1)); done");
            let st = sh(&script);
            assert!(st.success());
        },
        |_| true,
        Duration::from_secs(60),
    );
    let mut seen = vec![0u32; N];
    for msg in &cap.messages {
        if let Message::Event(ev) = msg {
            if let EventKind::Exec(x) = &ev.kind {
                if x.argv.get(1).map(Vec::as_slice) == Some(marker.as_bytes()) {
                    let i: usize = String::from_utf8_lossy(&x.argv[2]).parse().unwrap();
                    seen[i] += 1;
                }
            }
        }
    }
    assert_eq!(cap.lost(), 0, "records lost");
    let missing: Vec<usize> = (0..N).filter(|&i| seen[i] == 0).collect();
    assert!(
        missing.is_empty(),
        "{} of {N} execs missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(seen.iter().all(|&c| c == 1), "an exec was seen twice");
}

/// Re-executed as a child by the thread test: starts threads that come and
/// go, then execs from a non-leader thread. A no-op in a normal test run.
#[test]
fn workload_threads_then_exec_from_a_thread() {
    if std::env::var_os("CAUSEWAY_TEST_WORKLOAD").is_none() {
        return;
    }
    let workers: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| std::thread::sleep(Duration::from_millis(30))))
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    std::thread::spawn(|| {
        let e = Command::new("/bin/sh").args(["-c", "exit 5"]).exec();
        panic!("exec failed: {e}");
    })
    .join()
    .unwrap();
}

#[test]
fn threads_are_not_processes_and_an_exec_from_a_thread_keeps_identity() {
    if !probe_allowed("threads_are_not_processes_and_an_exec_from_a_thread_keeps_identity") {
        return;
    }
    threads_case(ProbeOptions::default());
}

/// The same with the exit program older kernels get (live-thread count
/// instead of the tracepoint's group_dead flag).
#[test]
fn threads_with_the_older_kernels_exit_program() {
    if !probe_allowed("threads_with_the_older_kernels_exit_program") {
        return;
    }
    threads_case(ProbeOptions {
        force_exit_compat: true,
        ..ProbeOptions::default()
    });
}

/// On this kernel (6.16 or later) every program loads.
#[test]
fn the_full_probe_loads_on_a_current_kernel() {
    if !probe_allowed("the_full_probe_loads_on_a_current_kernel") {
        return;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let _probe = common::one_probe();
    let src = causeway::live::Source::start().unwrap();
    let f = src.probe.features().clone();
    if version >= (6, 16) {
        assert!(f.network && f.exact_exit && f.oom_killer, "{f:?}");
        assert_eq!(f.warning(), None);
    } else {
        eprintln!("kernel {version:?}: loaded {f:?}");
    }
}

fn threads_case(options: ProbeOptions) {
    let me = std::env::current_exe().unwrap();
    let pid = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let p = pid.clone();
    let cap = capture_with(
        options,
        move || {
            let mut child = Command::new(me)
                .args([
                    "--exact",
                    "workload_threads_then_exec_from_a_thread",
                    "--test-threads=1",
                    "--nocapture",
                ])
                .env("CAUSEWAY_TEST_WORKLOAD", "1")
                .spawn()
                .unwrap();
            p.store(child.id(), std::sync::atomic::Ordering::SeqCst);
            assert_eq!(child.wait().unwrap().code(), Some(5));
        },
        |_| true,
        Duration::from_secs(20),
    );
    let pid = pid.load(std::sync::atomic::Ordering::SeqCst);
    let t = &cap.tree;
    let nodes: Vec<NodeId> = t
        .nodes()
        .filter(|(_, n)| n.key.pid == pid)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(nodes.len(), 1, "one process, whatever its threads did");
    let n = t.node(nodes[0]);
    assert!(
        n.children.is_empty(),
        "threads became processes: {:?}",
        n.children
    );
    let last = n.execs.last().expect("execs");
    assert_eq!(
        last.info.argv,
        vec![b"/bin/sh".to_vec(), b"-c".to_vec(), b"exit 5".to_vec()]
    );
    assert_ne!(
        last.info.old_tid, 0,
        "the exec came from a non-leader thread"
    );
    assert_eq!(n.exit, Some(ExitStatus::Code(5)));
    let exits = cap
        .messages
        .iter()
        .filter(|m| matches!(m, Message::Event(e) if e.proc.pid == pid && matches!(e.kind, EventKind::Exit { .. })))
        .count();
    assert_eq!(exits, 1, "one exit for the whole thread group");
    // Identity: the exit carries the same start time as the fork.
    let forks: Vec<ProcKey> = cap
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Event(e) if e.proc.pid == pid && e.kind == EventKind::Fork => Some(e.proc),
            _ => None,
        })
        .collect();
    assert_eq!(forks, vec![n.key]);
}

#[test]
fn a_signal_death_is_recorded_as_such() {
    if !probe_allowed("a_signal_death_is_recorded_as_such") {
        return;
    }
    let marker = unique("victim");
    let handled = unique("handled");
    let piped = unique("piped");
    let (m, h, p) = (marker.clone(), handled.clone(), piped.clone());
    let cap = capture(
        move || {
            // `yes` writes on after `head` has gone: the kernel's SIGPIPE,
            // in yes's own write, not one yes sent itself.
            let st = sh(&format!("yes {p} | head -c1 >/dev/null"));
            assert!(st.success());
            let st = sh(&format!("kill -KILL $$; : {m}"));
            assert!(!st.success());
            // A shell that handles SIGUSR1 sends it to itself, then exits.
            let st = sh(&format!("trap : USR1; kill -USR1 $$; exit 0; : {h}"));
            assert!(st.success());
        },
        |_| true,
        Duration::from_secs(10),
    );
    let t = &cap.tree;
    let n = t.node(ran(t, &marker));
    assert_eq!(
        n.exit,
        Some(ExitStatus::Signal {
            signal: 9,
            core_dumped: false
        })
    );
    // It killed itself: written, with itself as the sender, so that "who
    // killed it" has an answer (a `pkill` matching its own command line).
    let [sent] = n.signals.as_slice() else {
        panic!("one signal: {:?}", n.signals)
    };
    assert_eq!((sent.info.signal, sent.info.code), (9, 0), "kill()");
    assert_eq!(sent.info.sender.map(|s| s.proc), Some(n.key), "itself");
    // A signal it handles is routine: not written.
    let h = t.node(ran(t, &handled));
    assert_eq!(h.exit, Some(ExitStatus::Code(0)));
    assert!(h.signals.is_empty(), "{:?}", h.signals);
    // A broken pipe is the kernel's answer to the process's own write, as
    // a fault is: its exit says so, and no one sent it (it was written as
    // `sent by itself`).
    let yes = t.node(ran(t, &piped));
    assert_eq!(
        yes.exit,
        Some(ExitStatus::Signal {
            signal: 13,
            core_dumped: false
        })
    );
    assert!(yes.signals.is_empty(), "{:?}", yes.signals);
}

/// Runs `script` with `/bin/sh -c`; its status.
fn sh(script: &str) -> std::process::ExitStatus {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .status()
        .unwrap()
}

/// The node that ran an argv ending with `marker`.
fn ran(tree: &CausalTree, marker: &str) -> NodeId {
    tree.nodes()
        .find(|(_, n)| {
            n.execs
                .iter()
                .any(|x| x.info.argv.iter().any(|a| a.ends_with(marker.as_bytes())))
        })
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("{marker} not captured"))
}

#[test]
fn a_signal_names_the_process_or_the_kernel_that_sent_it() {
    if !probe_allowed("a_signal_names_the_process_or_the_kernel_that_sent_it") {
        return;
    }
    let victim = unique("victim");
    let killer = unique("killer");
    let hog = unique("hog");
    let big = unique("big");
    let (v, k, h, b) = (victim.clone(), killer.clone(), hog.clone(), big.clone());
    let cap = capture(
        move || {
            // sleep, killed by /bin/kill once it is sleep (the marked
            // shell execs it); the shell gets only a SIGCHLD.
            let st = sh(&format!(
                "/bin/sh -c 'exec sleep 30' {v} & p=$!; \
                 until read c < /proc/$p/comm && [ \"$c\" = sleep ]; do :; done; \
                 /bin/kill -TERM $p {k} 2>/dev/null; wait $p; exit 0"
            ));
            assert!(st.success());
            // Past its CPU limit: the kernel sends SIGXCPU.
            let st = Command::new("python3")
                .arg("-c")
                .arg(format!(
                    "import resource; resource.setrlimit(resource.RLIMIT_CPU, (1, 2))\nwhile True: pass # {h}"
                ))
                .status()
                .unwrap();
            assert!(!st.success());
            // Past its file-size limit: the kernel sends SIGXFSZ, from
            // within the process's own write.
            let file = std::env::temp_dir().join(&b);
            let st = Command::new("/bin/sh")
                .arg("-c")
                .arg(format!(
                    "ulimit -f 1; exec dd if=/dev/zero bs=4096 count=2 of={}",
                    file.display()
                ))
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            let _ = std::fs::remove_file(&file);
            assert!(!st.success());
        },
        |_| true,
        Duration::from_secs(20),
    );
    let t = &cap.tree;
    let sleep = t.node(ran(t, &victim));
    let kill = t.node(ran(t, &killer));
    assert_eq!(
        sleep.exit,
        Some(ExitStatus::Signal {
            signal: 15,
            core_dumped: false
        })
    );
    let [sent] = sleep.signals.as_slice() else {
        panic!("one signal: {:?}", sleep.signals)
    };
    assert_eq!((sent.info.signal, sent.info.code), (15, 0), "kill()");
    let from = sent.info.sender.expect("sent by a process");
    assert_eq!(from.proc, kill.key, "by /bin/kill, by identity");
    assert_eq!(from.comm, "kill");
    assert!(sent.time <= sleep.exit_time.unwrap());
    // And the killer says what it ended.
    let [ended] = kill.sent.as_slice() else {
        panic!("one signal sent: {:?}", kill.sent)
    };
    assert_eq!(
        (ended.signal, ended.to, ended.time),
        (15, sleep.key, sent.time)
    );
    // The shell that started both saw its children end: SIGCHLD is not
    // written.
    let shell = t.node(sleep.parent_id().expect("the shell"));
    assert!(shell.signals.is_empty(), "{:?}", shell.signals);
    // From the kernel: no sender.
    let python = t.node(ran(t, &hog));
    assert!(
        matches!(python.exit, Some(ExitStatus::Signal { signal: 24, .. })),
        "{:?}",
        python.exit
    );
    let xcpu = python.signals.last().expect("SIGXCPU written");
    assert_eq!((xcpu.info.signal, xcpu.info.sender), (24, None));
    assert_eq!(xcpu.info.code, 0x80, "SI_KERNEL");
    // Also from the kernel, though the process is current when it is sent
    // (it was written as `sent by itself`).
    let dd = t.node(ran(t, &big));
    assert!(
        matches!(dd.exit, Some(ExitStatus::Signal { signal: 25, .. })),
        "{:?}",
        dd.exit
    );
    let [xfsz] = dd.signals.as_slice() else {
        panic!("one signal: {:?}", dd.signals)
    };
    assert_eq!((xfsz.info.signal, xfsz.info.sender), (25, None));
    assert_eq!(xfsz.info.code, 0x80, "SI_KERNEL");
}

/// A memory cgroup of its own with a 64 MiB limit (cgroup v1's memory
/// hierarchy, else v2's), removed when dropped.
struct MemoryCgroup(std::path::PathBuf);

impl MemoryCgroup {
    fn new(name: &str) -> MemoryCgroup {
        let v1 = std::path::Path::new("/sys/fs/cgroup/memory");
        let (dir, limit) = if v1.join("memory.limit_in_bytes").exists() {
            (v1.join(name), "memory.limit_in_bytes")
        } else {
            (
                std::path::Path::new("/sys/fs/cgroup").join(name),
                "memory.max",
            )
        };
        std::fs::create_dir(&dir).expect("a memory cgroup");
        let cg = MemoryCgroup(dir);
        std::fs::write(cg.0.join(limit), "67108864").expect("its limit");
        cg
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_process_the_oom_killer_chose_is_named_as_its_victim() {
    if !probe_allowed("a_process_the_oom_killer_chose_is_named_as_its_victim") {
        return;
    }
    let marker = unique("oom");
    let cg = MemoryCgroup::new(&marker);
    let procs = cg.0.join("cgroup.procs");
    let m = marker.clone();
    let cap = capture(
        move || {
            // Joins the cgroup, then asks for 512 MiB of it.
            let st = sh(&format!(
                "echo $$ > {}; exec python3 -c 'x = bytearray(512 << 20) # {m}'",
                procs.display()
            ));
            assert!(!st.success());
        },
        |_| true,
        Duration::from_secs(20),
    );
    drop(cg);
    let t = &cap.tree;
    let id = ran(t, &marker);
    let victim = t.node(id);
    assert_eq!(
        victim.exit,
        Some(ExitStatus::Signal {
            signal: 9,
            core_dumped: false
        })
    );
    // One SIGKILL, the kernel's, named the OOM killer's; the allocation
    // that found no memory was the victim's own.
    let [kill] = victim.signals.as_slice() else {
        panic!("one signal: {:?}", victim.signals)
    };
    assert_eq!((kill.info.signal, kill.info.code), (9, 0x80));
    assert!(kill.info.oom, "{kill:?}");
    assert_eq!(kill.info.sender.map(|s| s.proc), Some(victim.key));
}

#[test]
fn a_process_s_cgroup_is_named_before_its_first_event_in_it() {
    if !probe_allowed("a_process_s_cgroup_is_named_before_its_first_event_in_it") {
        return;
    }
    // A cgroup of our own in the cgroup2 tree (wherever it is mounted); a
    // shell moves itself into it, then execs the marked program there.
    let root = causeway::cgroups::v2_root().expect("this host has a cgroup2 tree");
    let name = unique("cgroup");
    let dir = root.join(&name);
    std::fs::create_dir(&dir).expect("creating a cgroup");
    let marker = unique("in-cgroup");
    let (m, procs) = (marker.clone(), dir.join("cgroup.procs"));
    let cap = capture(
        move || {
            let st = sh(&format!(
                "echo $$ > '{}' && exec /bin/sh -c ': {m}'",
                procs.display()
            ));
            assert!(st.success());
        },
        |_| true,
        Duration::from_secs(10),
    );
    // Found by its id directly, not by listing the tree (which stays the
    // fallback); the root by its id, 1.
    let id = cap.tree.node(ran(&cap.tree, &marker)).cgroup;
    let cgroups = causeway::cgroups::Cgroups::new();
    let by_handle = cgroups.by_handle(id);
    let root = cgroups.by_handle(1);
    // Empty again once the shell has exited: the kernel lets it go then.
    let mut removed = std::fs::remove_dir(&dir);
    for _ in 0..50 {
        if removed.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        removed = std::fs::remove_dir(&dir);
    }
    let t = &cap.tree;
    let id = ran(t, &marker);
    let cgroup = t.node(id).cgroup;
    let want = format!("/{name}");
    assert_eq!(t.cgroup_path(cgroup), Some(want.as_str()));
    assert_eq!(by_handle.as_deref(), Some(want.as_str()));
    assert_eq!(root.as_deref(), Some("/"));

    // Named once, before the first message that uses it.
    let first_use = cap
        .messages
        .iter()
        .position(|m| m.cgroup() == Some(cgroup))
        .expect("a message in the cgroup");
    let named: Vec<usize> = cap
        .messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m, Message::Cgroup { id, .. } if *id == cgroup))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");
    assert!(
        named[0] < first_use,
        "named at {} used at {first_use}",
        named[0]
    );
    // The processes causeway already knew are in named cgroups too.
    let seeded = t.nodes().filter(|(_, n)| n.seeded).count();
    let unnamed: Vec<_> = t
        .nodes()
        .filter(|(_, n)| n.seeded && n.cgroup != 0 && t.cgroup_path(n.cgroup).is_none())
        .map(|(_, n)| (n.key.pid, n.cgroup))
        .collect();
    assert!(seeded > 0);
    assert!(
        unnamed.is_empty(),
        "seeded processes in unnamed cgroups: {unnamed:?}"
    );
    removed.expect("removing the test cgroup");
}

/// A shell with `marker` in its argv that waits for its standard input to
/// close, then exits `code`.
fn waiting_sh(marker: &str, code: i32) -> std::process::Child {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("read x; exit {code}; : {marker}"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Process `pid`'s start in clock ticks (/proc/PID/stat's 22nd field); the
/// comm, in parentheses, may hold anything, so the fields are read after
/// its last `)`.
fn start_tick(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 1..].split_whitespace().nth(19)?.parse().ok()
}

#[test]
fn a_pid_given_again_within_one_tick_is_a_second_process() {
    if !probe_allowed("a_pid_given_again_within_one_tick_is_a_second_process") {
        return;
    }
    // A shell runs, is reaped, and `ns_last_pid` set to its pid less one
    // gives the next fork its pid again, a few ms later (as CRIU does).
    // Any fork on the host in between takes it instead, and the two forks
    // may straddle a tick: tried until a reuse in one tick is read from
    // /proc while both run.
    let found = std::sync::Arc::new(std::sync::Mutex::new(None));
    let (f, seen) = (found.clone(), found.clone());
    let cap = capture(
        move || {
            for _ in 0..200 {
                let (m1, m2) = (unique("first"), unique("second"));
                let mut first = waiting_sh(&m1, 0);
                let pid = first.id();
                let tick = start_tick(pid);
                drop(first.stdin.take());
                first.wait().unwrap();
                std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
                let mut second = waiting_sh(&m2, 3);
                let again = second.id() == pid && tick.is_some() && start_tick(pid) == tick;
                drop(second.stdin.take());
                second.wait().unwrap();
                if again {
                    *f.lock().unwrap() = Some((pid, m1, m2));
                    return;
                }
            }
        },
        move |t| {
            let m2 = match &*seen.lock().unwrap() {
                Some((_, _, m2)) => m2.clone(),
                None => return false,
            };
            t.nodes().any(|(_, n)| {
                n.exit.is_some()
                    && n.execs
                        .iter()
                        .any(|x| x.info.argv.iter().any(|a| a.ends_with(m2.as_bytes())))
            })
        },
        Duration::from_secs(30),
    );
    let Some((pid, m1, m2)) = found.lock().unwrap().clone() else {
        panic!("no pid given again within one tick in 200 tries (the host forks too often?)")
    };
    let t = &cap.tree;
    let (a, b) = (ran(t, &m1), ran(t, &m2));
    assert_ne!(a, b, "two processes, not one");
    let (first, second) = (t.node(a), t.node(b));
    assert_eq!((first.key.pid, second.key.pid), (pid, pid));
    assert_eq!(first.key.start_tick(), second.key.start_tick());
    assert!(first.key.start < second.key.start);
    // Each with its own exec and its own end.
    assert_eq!(first.execs.len(), 1);
    assert_eq!(second.execs.len(), 1);
    assert_eq!(first.exit, Some(ExitStatus::Code(0)));
    assert_eq!(second.exit, Some(ExitStatus::Code(3)));
    assert!(first.exit_time.is_some_and(|e| e <= second.key.start));
    assert_eq!(t.find(first.key), Some(a));
    assert_eq!(t.find(second.key), Some(b));
}

/// The parent of process `pid`, from /proc.
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn an_orphan_init_adopted_before_causeway_started_is_said_adopted() {
    if !probe_allowed("an_orphan_init_adopted_before_causeway_started_is_said_adopted") {
        return;
    }
    // A job whose shell exited: init adopts it, and did not start it. The
    // shell leads a process group of its own, as a job's does, which the
    // orphan keeps: where everything is in init's session (a host whose
    // init never called setsid(), as CI's), that is what tells it.
    let out = Command::new("/bin/sh")
        .args(["-c", "sleep 120 >/dev/null 2>&1 & echo $!"])
        .process_group(0)
        .output()
        .unwrap();
    let orphan: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let waited = std::time::Instant::now();
    while ppid(orphan) != Some(1) && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        ppid(orphan),
        Some(1),
        "init should have adopted it (a subreaper between would)"
    );
    let cap = capture(
        || {},
        move |t| t.find_pid(orphan).is_some(),
        Duration::from_secs(15),
    );
    // SAFETY: kill(2) with a pid this test started, and a signal number.
    unsafe { libc::kill(orphan as i32, libc::SIGKILL) };
    let t = &cap.tree;
    let n = t.node(t.find_pid(orphan).expect("listed at start"));
    assert!(n.seeded && n.adopted, "{:?}", (n.seeded, n.adopted));
    assert_eq!(n.current_parent.map(|p| p.pid), Some(1));
    // This test process leads no session either, but its parent started it.
    let me = t.node(t.find_pid(std::process::id()).expect("this test"));
    assert!(me.seeded && !me.adopted);
}

#[test]
fn children_left_running_are_handed_to_init_or_the_nearest_subreaper() {
    if !probe_allowed("children_left_running_are_handed_to_init_or_the_nearest_subreaper") {
        return;
    }
    // A python3 that makes itself a child subreaper, and under it a shell
    // that starts a job (a shell waiting on a sleep) and exits after it (the job's exec named its
    // parent then, and nothing after): the kernel hands the job to the
    // python3, not to init. A shell started by this test does the same
    // with no subreaper above it: the job goes to init (or to whatever
    // subreaper the host has above this test, as /proc says).
    let under_reaper = unique("reaped");
    let at_init = unique("init");
    let script = format!(
        "import ctypes, subprocess, sys, time\n\
         ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)\n\
         subprocess.run(['/bin/sh', '-c', 'sh -c \"sleep 30; :\" {under_reaper} & sleep 0.3'])\n\
         print(flush=True)\n\
         time.sleep(30)\n"
    );
    let reaper = std::sync::Arc::new(std::sync::Mutex::new(None));
    let spawned = reaper.clone();
    let sh_at_init = format!("sh -c 'sleep 30; :' {at_init} & sleep 0.3");
    let cap = capture(
        move || {
            let mut python = Command::new("python3")
                .args(["-c", &script])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // Its line once the shell under it has exited.
            let mut line = String::new();
            let out = python.stdout.take().unwrap();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).unwrap();
            *spawned.lock().unwrap() = Some(python);
            sh(&sh_at_init);
        },
        |t| {
            let ended_parent = |marker: &str| {
                t.nodes().any(|(_, n)| {
                    n.exit.is_some()
                        && n.children
                            .iter()
                            .any(|&c| argv_of(t, c).last().is_some_and(|a| a.ends_with(marker)))
                })
            };
            ended_parent(&under_reaper) && ended_parent(&at_init)
        },
        Duration::from_secs(15),
    );
    let t = &cap.tree;
    let (reaped, orphan) = (ran(t, &under_reaper), ran(t, &at_init));
    let (reaped_pid, orphan_pid) = (t.node(reaped).key.pid, t.node(orphan).key.pid);
    let now_under = |id: NodeId| t.node(id).current_parent.map(|k| k.pid);
    let truth = (ppid(reaped_pid), ppid(orphan_pid));
    let mut python = reaper.lock().unwrap().take().expect("python3 started");
    let reaper_pid = python.id();
    // SAFETY: kill(2) with pids this test started, and a signal number.
    unsafe {
        libc::kill(reaped_pid as i32, libc::SIGKILL);
        libc::kill(orphan_pid as i32, libc::SIGKILL);
    }
    let _ = python.kill();
    let _ = python.wait();
    assert_eq!(
        truth.0,
        Some(reaper_pid),
        "the kernel gave it to the subreaper"
    );
    assert_eq!(now_under(reaped), truth.0);
    let python = t.find_pid(reaper_pid).expect("the subreaper");
    assert!(
        t.node(reaped)
            .current_parent
            .is_some_and(|k| k.same_process(t.node(python).key))
    );
    assert_eq!(now_under(orphan), truth.1);
    assert_ne!(now_under(orphan), Some(std::process::id()));
}

/// Whether `n` ran a program with `marker` its first argument.
fn ran_with(n: &causeway::graph::Node, marker: &str) -> bool {
    n.execs
        .iter()
        .any(|x| x.info.argv.get(1).map(Vec::as_slice) == Some(marker.as_bytes()))
}

/// The process that ran a program with `marker` its first argument, and
/// that exec's record.
fn exec_of(tree: &CausalTree, marker: &str) -> (NodeId, causeway::event::ExecInfo) {
    let (id, n) = tree
        .nodes()
        .find(|(_, n)| ran_with(n, marker))
        .unwrap_or_else(|| panic!("{marker} not captured"));
    (id, n.current_exec().cloned().expect("an exec"))
}

/// Done once the process that ran a program with `marker` its first
/// argument has exited.
fn ended(marker: &str) -> impl Fn(&CausalTree) -> bool + use<> {
    let marker = marker.to_string();
    move |t: &CausalTree| {
        t.nodes()
            .any(|(_, n)| n.exit.is_some() && ran_with(n, &marker))
    }
}

#[test]
fn an_exec_by_a_relative_path_is_named_by_the_file_the_kernel_ran() {
    if !probe_allowed("an_exec_by_a_relative_path_is_named_by_the_file_the_kernel_ran") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique("rel");
    std::fs::copy("/bin/true", dir.path().join(&name)).unwrap();
    let marker = unique("relative");
    let script = format!("cd '{}' && ./{name} {marker}", dir.path().display());
    let cap = capture(
        move || assert!(sh(&script).success()),
        ended(&marker),
        Duration::from_secs(15),
    );
    let (id, exec) = exec_of(&cap.tree, &marker);
    assert_eq!(exec.exe, format!("./{name}").as_bytes());
    // Absolute, where the kernel found it: the cwd was not recorded.
    let real = std::fs::canonicalize(dir.path().join(&name)).unwrap();
    assert_eq!(exec.file, real.as_os_str().as_encoded_bytes());
    assert!(!exec.deleted);
    assert_eq!(cap.tree.node(id).display_name(), name);
}

#[test]
fn an_exec_of_a_deleted_file_is_marked_deleted() {
    if !probe_allowed("an_exec_of_a_deleted_file_is_marked_deleted") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique("gone");
    let path = dir.path().join(&name);
    std::fs::copy("/bin/true", &path).unwrap();
    let marker = unique("deleted");
    // Opened, unlinked, then run by its descriptor (fexecve): deleted
    // before it ran.
    let code = format!(
        "import os\nfd = os.open({path:?}, os.O_RDONLY)\nos.unlink({path:?})\n\
         os.execve(fd, [{name:?}, {marker:?}], {{}})\n",
        path = path.display().to_string(),
    );
    let cap = capture(
        move || {
            let st = Command::new("python3")
                .arg("-c")
                .arg(code)
                .status()
                .unwrap();
            assert!(st.success());
        },
        ended(&marker),
        Duration::from_secs(15),
    );
    let (id, exec) = exec_of(&cap.tree, &marker);
    let real = std::fs::canonicalize(dir.path()).unwrap().join(&name);
    assert_eq!(exec.file, real.as_os_str().as_encoded_bytes());
    assert!(exec.deleted, "{exec:?}");
    assert!(!exec.memfd());
    assert_eq!(cap.tree.node(id).display_name(), name);
}

#[test]
fn a_memfd_exec_is_named_by_its_memfd_and_its_disguise_is_told() {
    if !probe_allowed("a_memfd_exec_is_named_by_its_memfd_and_its_disguise_is_told") {
        return;
    }
    let name = unique("payload");
    let marker = unique("memfd");
    let code = format!(
        "import os\nfd = os.memfd_create({name:?})\n\
         os.write(fd, open('/bin/true', 'rb').read())\n\
         os.execv('/proc/self/fd/%d' % fd, ['[kworker/u4:2]', {marker:?}])\n"
    );
    let cap = capture(
        move || {
            let st = Command::new("python3")
                .arg("-c")
                .arg(code)
                .status()
                .unwrap();
            assert!(st.success());
        },
        ended(&marker),
        Duration::from_secs(15),
    );
    let (id, exec) = exec_of(&cap.tree, &marker);
    assert!(exec.exe.starts_with(b"/proc/self/fd/"), "{exec:?}");
    assert_eq!(exec.file, format!("/memfd:{name}").as_bytes());
    assert!(exec.deleted && exec.memfd(), "{exec:?}");
    assert_eq!(cap.tree.node(id).display_name(), format!("memfd:{name}"));
    assert_eq!(
        causeway::graph::run_as(&exec),
        Some(causeway::graph::RunAs::Disguise("[kworker/u4:2]".into()))
    );
    // Its comm is the path's last part, `3`: no rename.
    assert!(!causeway::graph::renamed_exec(
        &exec,
        cap.tree.node(id).comm.as_str()
    ));
}
