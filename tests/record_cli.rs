//! `causeway record` as a user runs it: the real binary, a real journal.

mod common;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use causeway::event::{EventKind, ExitStatus, Message};
use common::probe_allowed;

const BIN: &str = env!("CARGO_BIN_EXE_causeway");

fn wait_for_header(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|s| s.contains("\"type\":\"process\"")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("causeway record never wrote its header and seed");
}

/// Waits for the recorder and returns its status and stderr.
fn finish(rec: &mut std::process::Child) -> (std::process::ExitStatus, String) {
    let status = rec.wait().unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = rec.stderr.take() {
        e.read_to_string(&mut stderr).unwrap();
    }
    (status, stderr)
}

#[test]
fn sigterm_stops_the_recorder_and_nothing_it_saw_is_lost() {
    if !probe_allowed("sigterm_stops_the_recorder_and_nothing_it_saw_is_lost") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.jsonl");
    let mut rec = Command::new(BIN)
        .args(["record", "--output"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_header(&out);
    let marker = format!("cw-sigterm-{}", std::process::id());
    let st = Command::new("/bin/sh")
        .args(["-c", "exit 4", &marker])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(4));
    // SIGTERM right away: what the probe already had must still be written.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGTERM) };
    let (status, stderr) = finish(&mut rec);
    assert!(status.success(), "record failed: {stderr}");
    assert!(stderr.contains("recorded"), "{stderr}");

    let loaded = causeway::journal::load(&out).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert!(!loaded.header.hostname.is_empty());
    assert!(!loaded.header.kernel.is_empty());
    let events: Vec<_> = loaded
        .messages
        .iter()
        .filter_map(|m| match m {
            Message::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    let key = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Exec(i) if i.argv.last().map(Vec::as_slice) == Some(marker.as_bytes())))
        .map(|e| e.proc)
        .expect("the marked exec was recorded");
    let mine: Vec<&EventKind> = events
        .iter()
        .filter(|e| e.proc == key)
        .map(|e| &e.kind)
        .collect();
    assert!(
        mine.iter().any(|k| matches!(k, EventKind::Fork)),
        "fork missing"
    );
    assert!(
        mine.iter().any(|k| matches!(k, EventKind::Exec(_))),
        "exec missing"
    );
    assert!(
        mine.iter().any(|k| matches!(
            k,
            EventKind::Exit {
                status: ExitStatus::Code(4),
                ..
            }
        )),
        "exit missing: {mine:?}"
    );
    // Seeded processes come first (each cgroup named before its first
    // process), with the init process among them.
    let first = loaded
        .messages
        .iter()
        .find(|m| !matches!(m, Message::Cgroup { .. }));
    assert!(matches!(first, Some(Message::Seed(_))));
    assert!(
        matches!(loaded.messages.first(), Some(Message::Cgroup { .. })),
        "the first process's cgroup is named before it"
    );
    // Its closing line counts what the journal holds: the processes
    // running at start and those started since, not the first alone.
    let seeded = loaded
        .messages
        .iter()
        .filter(|m| matches!(m, Message::Seed(_)))
        .count();
    let started = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Fork))
        .count();
    assert!(started >= 1);
    let count = |n: usize| causeway::ui::format::count(n as u64);
    let said = format!(
        "recorded {} processes ({} running at start, {} started)",
        count(seeded + started),
        count(seeded),
        count(started)
    );
    assert!(stderr.contains(&said), "{said:?} not in {stderr}");
}

#[test]
fn a_socket_found_stuck_later_is_not_said_to_be_open_at_start() {
    let test = "a_socket_found_stuck_later_is_not_said_to_be_open_at_start";
    if !probe_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.jsonl");
    let mut rec = Command::new(BIN)
        .args(["record", "--output"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_header(&out);
    // A server that never accepts, made while it records: the connection
    // left in its accept queue is found unused a few seconds on, and
    // written as a `socket` line among the events.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _queued = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let ours = format!("\"local\":\"127.0.0.1:{port}\"");
    let start = Instant::now();
    while !std::fs::read_to_string(&out).is_ok_and(|s| {
        s.lines().any(|l| {
            l.starts_with("{\"type\":\"socket\"")
                && l.contains("\"unused\":true")
                && l.contains(&ours)
        })
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the queued connection was never found unused"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGTERM) };
    let (status, stderr) = finish(&mut rec);
    assert!(status.success(), "record failed: {stderr}");
    // Open at start: the `socket` lines before the first event (an unused
    // one is found, never listed). Found stuck later: the rest, each
    // socket once.
    let loaded = causeway::journal::load(&out).unwrap();
    let first_event = loaded
        .messages
        .iter()
        .position(|m| matches!(m, Message::Event(_)))
        .expect("events");
    let mut at_start = 0;
    let mut later = std::collections::HashSet::new();
    for (i, m) in loaded.messages.iter().enumerate() {
        if let Message::Socket(s) = m {
            if i < first_event && !s.unused {
                at_start += 1;
            } else {
                later.insert(s.cookie);
            }
        }
    }
    assert!(!later.is_empty());
    let counted = causeway::ui::format::counted;
    let said = format!(
        "{}, {} and ",
        counted(at_start, "socket open at start", "sockets open at start"),
        counted(
            later.len() as u64,
            "socket found stuck later",
            "sockets found stuck later"
        )
    );
    // It said `N open sockets`, the found ones among them.
    assert!(stderr.contains(&said), "{said:?} not in {stderr}");
}

#[test]
fn duration_ends_the_recording_and_stdout_is_a_journal() {
    if !probe_allowed("duration_ends_the_recording_and_stdout_is_a_journal") {
        return;
    }
    let out = Command::new(BIN)
        .args(["record", "--duration", "1s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let loaded = causeway::journal::read(&out.stdout[..]).unwrap();
    assert!(loaded.problems.is_empty());
    assert!(
        loaded
            .messages
            .iter()
            .any(|m| matches!(m, Message::Seed(s) if s.proc.pid == 1))
    );
}

#[test]
fn a_zombie_at_start_is_recorded_as_ended_and_dev_null_is_an_output() {
    let test = "a_zombie_at_start_is_recorded_as_ended_and_dev_null_is_an_output";
    if !probe_allowed(test) {
        return;
    }
    // A child of this test that exits 3 and is not waited for: a zombie
    // until it is. Its end comes before the recorder starts.
    let mut child = Command::new("/bin/sh")
        .args(["-c", "exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::proc_state(pid).as_deref() != Some("Z") {
        assert!(Instant::now() < deadline, "the child never became a zombie");
        std::thread::sleep(Duration::from_millis(10));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.jsonl");
    for output in [out.as_path(), std::path::Path::new("/dev/null")] {
        // `--output /dev/null` stopped with "Invalid argument" once.
        let o = Command::new(BIN)
            .args(["record", "--duration", "300ms", "--output"])
            .arg(output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{}: {stderr}", output.display());
        assert!(stderr.contains("recorded"), "{stderr}");
    }
    let _ = child.wait();
    let loaded = causeway::journal::load(&out).unwrap();
    let seed = loaded
        .messages
        .iter()
        .find_map(|m| match m {
            Message::Seed(s) if s.proc.pid == pid => Some(s.clone()),
            _ => None,
        })
        .expect("the zombie is among the processes found at start");
    let d = seed.defunct.expect("recorded as a zombie");
    assert_eq!(d.status, ExitStatus::Code(3));
    let tree = causeway::graph::CausalTree::from_messages(&loaded.messages);
    let node = tree.node(tree.find(seed.proc).unwrap());
    assert!(!node.is_alive(), "a zombie is not running");
    assert_eq!(node.exit, Some(ExitStatus::Code(3)));
}

/// `causeway record` writing to a pipe, for a minute at most, once its
/// header has been read from it: the recorder, and the pipe's end.
fn recorder_on_a_pipe() -> (std::process::Child, std::process::ChildStdout) {
    let mut rec = Command::new(BIN)
        .args(["record", "--duration", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = rec.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"{\"type\":\"header\""));
    (rec, stdout)
}

#[test]
fn a_closed_pipe_ends_the_recording_quietly() {
    if !probe_allowed("a_closed_pipe_ends_the_recording_quietly") {
        return;
    }
    // Read the first line, like `| head -1`, then close the pipe.
    let (mut rec, stdout) = recorder_on_a_pipe();
    drop(stdout);
    // Make some events so the recorder notices the closed pipe.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rec.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "record did not stop on a closed pipe"
        );
        let _ = Command::new("/bin/true").status();
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, stderr) = finish(&mut rec);
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn what_came_after_the_reader_left_is_counted_as_not_written() {
    if !probe_allowed("what_came_after_the_reader_left_is_counted_as_not_written") {
        return;
    }
    // A reader that takes the header, then nothing (`| sleep 45`), while
    // far more than a pipe's 64 KiB of events happen; then it leaves.
    let (mut rec, stdout) = recorder_on_a_pipe();
    for _ in 0..400 {
        Command::new("/bin/true").status().unwrap();
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(stdout);
    let (status, stderr) = finish(&mut rec);
    assert!(status.success(), "{stderr}");
    // Said, not passed over as if all had been recorded.
    assert!(
        stderr.contains("after its reader left not written"),
        "{stderr}"
    );
}

/// What a refused start says: status 1, one line on stderr (returned),
/// no journal.
fn refused(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty(), "no journal is started");
    stderr
}

#[test]
fn a_journal_is_not_written_to_a_terminal() {
    // `causeway record` typed without -o: every command line on the host
    // would scroll past on the screen.
    let (master, slave) = common::pseudo_terminal(120, 40);
    // Read, so that a journal written there would not stop the recorder.
    std::thread::spawn(move || {
        use std::io::Read;
        let mut screen = std::fs::File::from(master);
        let mut buf = [0u8; 4096];
        while let Ok(1..) = screen.read(&mut buf) {}
    });
    let out = Command::new(BIN)
        .args(["record", "--duration", "1s"])
        .stdout(slave)
        .output()
        .unwrap();
    let stderr = refused(&out);
    assert!(stderr.contains("--output FILE"), "{stderr}");
}

#[test]
fn without_privileges_it_says_so_in_one_line() {
    let mut cmd = Command::new(BIN);
    cmd.args(["record", "--duration", "1s"]);
    if causeway::bpf::check_privileges().is_ok() {
        // Run as nobody.
        cmd.uid(65534).gid(65534);
    }
    let stderr = refused(&cmd.output().unwrap());
    assert!(stderr.contains("needs root"), "{stderr}");
}

#[test]
fn in_a_nested_pid_namespace_it_refuses_in_one_line() {
    if !probe_allowed("in_a_nested_pid_namespace_it_refuses_in_one_line") {
        return;
    }
    // A container without the host's pids: its own PID namespace and /proc.
    // Before the check, this recorded causeway as pid 1 and nothing else.
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", BIN])
        .args(["record", "--duration", "1s"])
        .output()
        .unwrap();
    let stderr = refused(&out);
    assert!(stderr.contains("host's PID namespace"), "{stderr}");
    assert!(stderr.contains("--pid=host"), "{stderr}");
}

#[test]
fn without_kernel_btf_it_says_so_in_one_line() {
    if !probe_allowed("without_kernel_btf_it_says_so_in_one_line") {
        return;
    }
    // The kernel's BTF hidden in a mount namespace of the recorder's own.
    // libbpf said only "failed to load BPF skeleton 'causeway_bpf': -EIO".
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c"])
        .arg(format!(
            "mount --bind /dev/null /sys/kernel/btf/vmlinux && exec {BIN} record --duration 1s"
        ))
        .output()
        .unwrap();
    let stderr = refused(&out);
    assert!(stderr.contains("CONFIG_DEBUG_INFO_BTF"), "{stderr}");
}

/// A command run as nobody (uid and gid 65534, no groups).
fn as_nobody(args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_refused_start_leaves_no_file_behind() {
    // Root drops its privileges (setpriv) and enters a PID namespace of
    // its own (unshare) here.
    if !probe_allowed("a_refused_start_leaves_no_file_behind") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let shut = dir.path().join("shut");
    std::fs::create_dir(&shut).unwrap();
    std::fs::set_permissions(&shut, std::fs::Permissions::from_mode(0o755)).unwrap();
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };

    // Without privileges: a 0-byte j.jsonl was left where nobody may write.
    let j = open.join("j.jsonl");
    let j = j.to_str().unwrap();
    for args in [
        &["record", "--duration", "1s", "-o", j][..],
        &["live", "--record", j][..],
    ] {
        let stderr = refused(&as_nobody(args));
        assert!(stderr.contains("needs root"), "{args:?}: {stderr}");
        assert!(names(&open).is_empty(), "{args:?}: {:?}", names(&open));
    }
    // Where nobody may not write, the privileges are said, not the file's
    // `Permission denied`.
    let k = shut.join("j.jsonl");
    let stderr = refused(&as_nobody(&["record", "-o", k.to_str().unwrap()]));
    assert!(stderr.contains("needs root"), "{stderr}");
    // In a nested PID namespace: said, and no file either.
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", BIN])
        .args(["record", "--duration", "1s", "-o", j])
        .output()
        .unwrap();
    let stderr = refused(&out);
    assert!(stderr.contains("host's PID namespace"), "{stderr}");
    assert!(names(&open).is_empty(), "{:?}", names(&open));

    // An empty file that was there stays, with its permissions; one that
    // holds something is not moved aside by --rotate.
    std::fs::write(open.join("j.jsonl"), "").unwrap();
    std::fs::set_permissions(open.join("j.jsonl"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(open.join("full.jsonl"), "last night\n").unwrap();
    let full = open.join("full.jsonl");
    let full = full.to_str().unwrap();
    for args in [
        &["record", "--duration", "1s", "-o", j][..],
        &["record", "--duration", "1s", "-o", full, "--rotate", "64K"][..],
        &["live", "--record", full, "--rotate", "64K"][..],
    ] {
        let stderr = refused(&as_nobody(args));
        assert!(stderr.contains("needs root"), "{args:?}: {stderr}");
        assert_eq!(names(&open), ["full.jsonl", "j.jsonl"], "{args:?}");
    }
    let empty = std::fs::metadata(open.join("j.jsonl")).unwrap();
    assert_eq!(
        (empty.len(), empty.permissions().mode() & 0o777),
        (0, 0o644)
    );
    assert_eq!(std::fs::read_to_string(full).unwrap(), "last night\n");
}

#[test]
fn a_journal_is_not_begun_over_a_file_that_holds_something() {
    // Last night's journal, given again by mistake: refused before the
    // probe loads, the file as it was. (Refused the same way without root.)
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("incident.jsonl");
    std::fs::write(&old, "last night\n").unwrap();
    let path = old.to_str().unwrap();
    for args in [
        &["record", "--duration", "1s", "-o", path][..],
        &["live", "--record", path][..],
    ] {
        let out = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = refused(&out);
        assert!(
            stderr.contains("already exists (11 B)"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("--rotate"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "last night\n");
    }
}

#[test]
fn a_bad_duration_is_refused_before_anything_starts() {
    let out = Command::new(BIN)
        .args(["record", "--duration", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("duration"));
}

#[test]
fn a_rotating_journal_stays_bounded_and_each_file_replays_on_its_own() {
    if !probe_allowed("a_rotating_journal_stays_bounded_and_each_file_replays_on_its_own") {
        return;
    }
    // A connection open before the recording (listed at start) and one
    // made during it (a connect): both open across every rotation.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let before = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _before_peer = listener.accept().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("j.jsonl");
    let mut rec = Command::new(BIN)
        .args(["record", "--rotate", "64K", "--keep", "2", "--output"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_header(&out);
    let during = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _during_peer = listener.accept().unwrap();
    // And one left in a server's accept queue, found unused a few seconds
    // on: each later file says so again, as the recorder knows it.
    let never = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let queued = std::net::TcpStream::connect(never.local_addr().unwrap()).unwrap();
    let found = format!("\"remote\":\"{}\"", queued.local_addr().unwrap());
    let waited = Instant::now();
    while !std::fs::read_to_string(&out).is_ok_and(|j| {
        j.lines()
            .any(|l| l.contains("\"unused\":true") && l.contains(&found))
    }) {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the queued connection was never found unused"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // About a kilobyte of journal per process: enough for many files.
    let st = Command::new("/bin/sh")
        .args(["-c", "for i in $(seq 1500); do /bin/true; done"])
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(rec.id() as i32, libc::SIGTERM) };
    let (status, stderr) = finish(&mut rec);
    assert!(status.success(), "record failed: {stderr}");
    let files: u32 = stderr
        .split(" in ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no file count: {stderr}"));
    assert!(files >= 4, "{stderr}");
    // It says that --keep removed the oldest, and what the files left hold
    // (it said `in 21 files` alone, of which 3 were left).
    let held: usize = [
        out.clone(),
        causeway::record::numbered(&out, 1),
        causeway::record::numbered(&out, 2),
    ]
    .iter()
    .map(|p| {
        causeway::journal::load(p)
            .unwrap()
            .messages
            .iter()
            .filter(|m| matches!(m, Message::Event(_)))
            .count()
    })
    .sum();
    let count = |n: u64| causeway::ui::format::count(n);
    let oldest = match files - 3 {
        1 => "the oldest".to_string(),
        n => format!("the oldest {}", count(u64::from(n))),
    };
    let said = format!(
        " in {files} files ({oldest} removed by --keep 2: the 3 left hold {} of the events)",
        count(held as u64)
    );
    assert!(stderr.contains(&said), "{said:?} not in {stderr}");

    // The current file and the two kept; none older.
    let numbered = |n| causeway::record::numbered(&out, n);
    assert!(!numbered(3).exists(), "only two kept");
    let ends = |s: &std::net::TcpStream| (s.local_addr().unwrap(), s.peer_addr().unwrap());
    for path in [out.clone(), numbered(1), numbered(2)] {
        let loaded = causeway::journal::load(&path).unwrap();
        let name = path.display();
        assert!(loaded.problems.is_empty(), "{name}: {:?}", loaded.problems);
        // Four files or more were begun: each kept one continues another.
        assert!(loaded.header.continued, "{name}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{name}: readable by its owner only");
        if path != out {
            let size = std::fs::metadata(&path).unwrap().len();
            // Past its size by 64 lines at most (one a KiB of it): about
            // 400 bytes each here, up to 3 KiB for other processes' long
            // command lines, which it records too.
            assert!(
                (64 * 1024..(64 + 192) * 1024).contains(&size),
                "{name} moved aside at {size} bytes"
            );
        }
        // Opens as a journal does: processes, then sockets, then events;
        // every cgroup named before it is used.
        let mut named = std::collections::HashSet::new();
        let mut stage = 0;
        for m in &loaded.messages {
            let at = match m {
                Message::Cgroup { id, .. } => {
                    // Each named once (the /proc scan's cgroups were named
                    // again after the ones already known).
                    assert!(named.insert(*id), "{name}: cgroup {id} named twice");
                    continue;
                }
                Message::Seed(_) => 0,
                // A socket the sweep found stuck while recording (another
                // test's, left unused) comes among the events.
                Message::Socket(s) if stage == 2 && (s.unused || s.peer_closed || s.connecting) => {
                    2
                }
                Message::Socket(_) => 1,
                Message::Event(_) | Message::Lost { .. } => 2,
                Message::Gap(_) => panic!("{name}: one recording, no gap"),
            };
            assert!(at >= stage, "{name}: {m:?} out of order");
            stage = at;
            // 0: no cgroup known (an accept no process has used yet).
            if let Some(id) = m.cgroup().filter(|&id| id != 0) {
                assert!(named.contains(&id), "{name}: cgroup {id} not named: {m:?}");
            }
        }
        assert!(
            loaded
                .messages
                .iter()
                .any(|m| matches!(m, Message::Seed(s) if s.proc.pid == std::process::id())),
            "{name}: this process is not among those alive at its start"
        );
        for conn in [&before, &during] {
            let (local, peer) = ends(conn);
            assert!(
                loaded.messages.iter().any(|m| matches!(m,
                    Message::Socket(s) if s.local == local && s.remote == peer)),
                "{name}: the connection {local} → {peer} open throughout is not listed"
            );
        }
        let (peer, local) = ends(&queued);
        assert!(
            loaded.messages.iter().any(|m| matches!(m,
                Message::Socket(s) if s.local == local && s.remote == peer && s.unused)),
            "{name}: the queued connection is not listed unused"
        );
    }
    // Each header names the run and the file's place in it: the last
    // files of one run, one after the other.
    let headers: Vec<causeway::journal::Header> = [numbered(2), numbered(1), out.clone()]
        .iter()
        .map(|p| causeway::journal::load(p).unwrap().header)
        .collect();
    let last = u64::from(files);
    let places: Vec<Option<u64>> = headers.iter().map(|h| h.file).collect();
    assert_eq!(places, [Some(last - 2), Some(last - 1), Some(last)]);
    assert!(headers[0].run.is_some() && headers.iter().all(|h| h.run == headers[0].run));
    // Read together, the files are one journal: each held connection once,
    // as first seen, and every /bin/true of the files kept; nothing is
    // between them.
    let (loaded, order) = causeway::journal::load_all(&[out.clone(), numbered(1), numbered(2)])
        .expect("the kept files read as one");
    assert_eq!(order, [numbered(2), numbered(1), out.clone()]);
    assert!(!loaded.messages.iter().any(|m| matches!(m, Message::Gap(_))));
    let tree = causeway::graph::CausalTree::from_messages(&loaded.messages);
    for conn in [&before, &during] {
        let (local, peer) = ends(conn);
        let n = tree
            .nodes()
            .flat_map(|(_, node)| node.conns.iter())
            .filter(|&&c| tree.conn(c).local == local && tree.conn(c).remote == peer)
            .count();
        assert_eq!(n, 1, "{local} → {peer}");
    }
}

#[test]
fn rotating_needs_a_file_and_a_sensible_size() {
    let out = Command::new(BIN)
        .args(["record", "--rotate", "1K", "--output", "/tmp/x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 64K"));
    let out = Command::new(BIN)
        .args(["record", "--rotate", "1M"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no --output");
    let out = Command::new(BIN)
        .args(["record", "--rotate", "1M", "--output", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not stdout"), "{stderr}");

    // Keeping no renamed file would delete the journal there at start
    // (before, `--keep 0` did, and recorded on).
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    std::fs::write(&journal, "evidence\n").unwrap();
    let path = journal.to_str().unwrap();
    for args in [
        &[
            "record",
            "--duration",
            "1s",
            "--rotate",
            "64K",
            "--keep",
            "0",
            "--output",
            path,
        ][..],
        &["live", "--record", path, "--rotate", "64K", "--keep", "0"][..],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("keep at least 1"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&journal).unwrap(), "evidence\n");
    }
}

#[test]
fn the_service_unit_in_assets_runs_a_recorder() {
    if !probe_allowed("the_service_unit_in_assets_runs_a_recorder") {
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/causeway-record.service"
    ))
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut args: Vec<String> = exec.split_whitespace().skip(1).map(String::from).collect();
    // Its own arguments, writing into a temporary directory for a second.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("journal.jsonl");
    let at = args.iter().position(|a| a == "--output").expect("--output") + 1;
    args[at] = out.display().to_string();
    args.extend(["--duration".into(), "1s".into()]);
    let run = Command::new(BIN).args(&args).output().unwrap();
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let loaded = causeway::journal::load(&out).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}

#[test]
fn a_reader_that_stops_reading_does_not_keep_the_recorder() {
    let test = "a_reader_that_stops_reading_does_not_keep_the_recorder";
    if !probe_allowed(test) {
        return;
    }
    // `causeway record --duration 1s | sleep 60`: nothing reads the pipe.
    // The recorder used to wait in its write for as long as the reader
    // lived, past --duration and SIGTERM, with the probe attached.
    let rec = unread_recorder();
    // Enough processes to fill the pipe's 64 KiB.
    let st = Command::new("/bin/sh")
        .args(["-c", "for i in $(seq 1500); do /bin/true; done"])
        .status()
        .unwrap();
    assert!(st.success());
    gives_up_on_its_output(rec);
}

#[test]
fn a_reader_that_takes_nothing_of_a_long_opening_does_not_keep_the_recorder() {
    let test = "a_reader_that_takes_nothing_of_a_long_opening_does_not_keep_the_recorder";
    if !probe_allowed(test) {
        return;
    }
    // A host whose process listing alone is more than the pipe holds (many
    // processes, or long command lines): the recorder's first write of it
    // never ended, so --duration never began and nothing gave up.
    // Each listed with the 4 KiB of its command line the listing keeps:
    // 24 of them are more than a pipe's 64 KiB.
    let long = "x".repeat(1000);
    let holders: Vec<Holder> = (0..24)
        .map(|_| {
            let mut holder = Command::new("/bin/sh");
            holder.args(["-c", "sleep 60", "holder"]);
            holder.args(std::iter::repeat_n(&long, 5));
            Holder(holder.stdin(Stdio::null()).spawn().unwrap())
        })
        .collect();
    gives_up_on_its_output(unread_recorder());
    drop(holders);
}

/// A process of this test's, killed when dropped.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `causeway record --duration 1s` into a pipe that is held and never read.
fn unread_recorder() -> (std::process::Child, std::process::ChildStdout) {
    let mut rec = Command::new(BIN)
        .args(["record", "--duration", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = rec.stdout.take().unwrap();
    (rec, pipe)
}

/// Waits for the recorder to give up on its output, saying so, with
/// status 1, within a minute.
fn gives_up_on_its_output((rec, _pipe): (std::process::Child, std::process::ChildStdout)) {
    let (status, err) = ended_within(
        rec,
        Duration::from_secs(60),
        "still writing to a pipe nobody reads, a minute after --duration",
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("stopped with events not written"), "{err}");
}

/// How `rec` ended, and its stderr (piped); killed, failing the test with
/// `what`, if it runs past `limit`.
fn ended_within(
    mut rec: std::process::Child,
    limit: Duration,
    what: &str,
) -> (std::process::ExitStatus, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(st) = rec.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            let _ = rec.kill();
            let _ = rec.wait();
            panic!("{what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    rec.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, err)
}

/// A `sleep 1000` of this test's, killed when dropped (a test that fails
/// leaves none behind).
struct Sleeper(std::process::Child);

impl Sleeper {
    fn start() -> Sleeper {
        let child = Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Sleeper(child)
    }

    /// `PID@START` as `export` takes it: exactly this process, whatever
    /// else had its pid (pids are reused within seconds on a busy host).
    fn key(&self) -> String {
        let pid = self.0.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        // Field 22, the start in clock ticks (100 a second): the 20th
        // after the command's name.
        let ticks: u64 = after.split(' ').nth(19).unwrap().parse().unwrap();
        format!("{pid}@{}", ticks * 10_000_000)
    }

    fn end(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.end();
    }
}

#[test]
fn a_process_that_ended_between_two_recordings_is_not_shown_running() {
    if !probe_allowed("a_process_that_ended_between_two_recordings_is_not_shown_running") {
        return;
    }
    // As a user met it: a recorder restarted with --rotate moves the first
    // recording aside (rr.jsonl.1), and `rr.jsonl*` reads both; a sleep
    // killed between the two must not read as running. (Files large
    // enough that a busy host's events do not rotate the first recording
    // away.)
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rr.jsonl");
    let mut ended = Sleeper::start();
    let kept = Sleeper::start();
    let (ended_key, kept_key) = (ended.key(), kept.key());
    let record = || {
        let rec = Command::new(BIN)
            .args(["record", "--rotate", "1G", "--duration", "2s", "--output"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            rec.status.success(),
            "{}",
            String::from_utf8_lossy(&rec.stderr)
        );
    };
    record();
    ended.end();
    std::thread::sleep(Duration::from_millis(500));
    record();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files, [out.clone(), causeway::record::numbered(&out, 1)]);
    let export = |key: &str| {
        let out = Command::new(BIN)
            .arg("export")
            .args(&files)
            .args([key, "--text"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let text = String::from_utf8(out.stdout).unwrap();
        let pid = key.split('@').next().unwrap();
        let line = text
            .lines()
            .find(|l| l.contains(&format!("▶ {pid} sleep")))
            .unwrap_or_else(|| panic!("{key} not in the chain: {text}"))
            .to_string();
        (line, stderr)
    };
    let (line, stderr) = export(&ended_key);
    assert!(
        line.contains(
            "(running before causeway began, gone: ended unseen between recordings, after "
        ),
        "{line}\n{stderr}"
    );
    assert!(!line.contains("running)"), "{line}");
    assert!(
        stderr.contains("a gap of ")
            && stderr.contains(&format!(" between recordings ({}.1 ended ", out.display()))
            && stderr.contains(&format!(", {} began ", out.display()))
            && stderr.contains(" ended unseen in it"),
        "{stderr}"
    );
    // Listed by both: running throughout.
    let (line, _) = export(&kept_key);
    assert!(
        line.ends_with("(running before causeway began, running)"),
        "{line}"
    );
}

#[test]
fn two_recorders_given_one_file_at_once_do_not_both_write_it() {
    let test = "two_recorders_given_one_file_at_once_do_not_both_write_it";
    if !probe_allowed(test) {
        return;
    }
    // Started together, both found the file absent and wrote into it,
    // each over the other, and both said they had recorded.
    let dir = tempfile::tempdir().unwrap();
    for rotate in [false, true] {
        let out = dir.path().join(format!("race-{rotate}.jsonl"));
        let start = || {
            let mut c = Command::new(BIN);
            c.args(["record", "--duration", "2s", "--output"]).arg(&out);
            if rotate {
                c.args(["--rotate", "100M"]);
            }
            c.stderr(Stdio::piped()).spawn().unwrap()
        };
        let (a, b) = (start(), start());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let said = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
        let ok = [&a, &b].iter().filter(|o| o.status.success()).count();
        assert_eq!(
            ok,
            1,
            "one records, one is refused:\n{}\n{}",
            said(&a),
            said(&b)
        );
        let refused = if a.status.success() { &b } else { &a };
        assert!(
            said(refused).contains("another causeway is writing it"),
            "{}",
            said(refused)
        );
        assert_eq!(said(refused).lines().count(), 1, "{}", said(refused));
        let loaded = causeway::journal::load(&out).unwrap();
        assert!(
            loaded.problems.is_empty(),
            "rotate {rotate}: {:?}",
            loaded.problems
        );
        assert!(!dir.path().join(format!("race-{rotate}.jsonl.1")).exists());
    }
}

#[test]
fn a_fifo_nothing_reads_is_refused_at_once() {
    let test = "a_fifo_nothing_reads_is_refused_at_once";
    if !probe_allowed(test) {
        return;
    }
    // It waited in open() for a reader, past --duration and every signal.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let rec = Command::new(BIN)
        .args(["record", "--duration", "1s", "--output"])
        .arg(&fifo)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = ended_within(
        rec,
        Duration::from_secs(20),
        "still waiting for a reader of the FIFO",
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("a FIFO nothing reads"), "{err}");
    // With a reader, it records into it.
    let copy = dir.path().join("copy.jsonl");
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(std::fs::File::create(&copy).unwrap())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let rec = Command::new(BIN)
        .args(["record", "--duration", "1s", "--output"])
        .arg(&fifo)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        rec.status.success(),
        "{}",
        String::from_utf8_lossy(&rec.stderr)
    );
    assert!(reader.wait().unwrap().success());
    let loaded = causeway::journal::load(&copy).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}
