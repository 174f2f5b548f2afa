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
        mine.contains(&&EventKind::Exit(ExitStatus::Code(4))),
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
fn a_closed_pipe_ends_the_recording_quietly() {
    if !probe_allowed("a_closed_pipe_ends_the_recording_quietly") {
        return;
    }
    let mut rec = Command::new(BIN)
        .args(["record", "--duration", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the first line, like `| head -1`, then close the pipe.
    let mut stdout = rec.stdout.take().unwrap();
    let mut first = [0u8; 64];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"{\"type\":\"header\""));
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
fn without_privileges_it_says_so_in_one_line() {
    let mut cmd = Command::new(BIN);
    cmd.args(["record", "--duration", "1s"]);
    if causeway::bpf::check_privileges().is_ok() {
        // Run as nobody.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(out.stdout.is_empty());
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
