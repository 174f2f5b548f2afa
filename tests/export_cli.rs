//! `causeway export`: a process's causal chain from a journal, as a user
//! runs it. Needs no privileges.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use causeway::ui::synth;

const BIN: &str = env!("CARGO_BIN_EXE_causeway");

fn journal(dir: &Path) -> PathBuf {
    write_journal(dir, "demo.jsonl", &synth::demo())
}

fn write_journal(dir: &Path, name: &str, msgs: &[causeway::event::Message]) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create journal");
    synth::write_journal(std::io::BufWriter::new(f), msgs).expect("write journal");
    path
}

fn export(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("export")
        .args(args)
        .output()
        .expect("run causeway")
}

fn pids(doc: &serde_json::Value) -> Vec<u64> {
    doc["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p["pid"].as_u64().expect("pid"))
        .collect()
}

#[test]
fn a_pid_gives_its_chain_on_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let out = export(&[j.to_str().unwrap(), "1006"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    // curl: systemd > sshd > session > bash > curl; no children.
    assert_eq!(pids(&doc), [1, 500, 1000, 1001, 1006]);
    assert_eq!(doc["processes"][4]["role"], "selected");
    assert_eq!(doc["processes"][4]["connections"][0]["peer"]["pid"], 600);

    // PID@START names one process exactly, and -o writes a file.
    let start = doc["selected"]["start"].as_u64().unwrap();
    let file = dir.path().join("chain.json");
    let out = export(&[
        j.to_str().unwrap(),
        &format!("1006@{start}"),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(again, doc);
}

#[test]
fn text_draws_the_chain_for_a_postmortem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let out = export(&[j.to_str().unwrap(), "1006", "--text"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        text.starts_with("causeway chain of pid 1006 on testhost"),
        "{text}"
    );
    assert!(
        text.contains("\n1 systemd  --system  (running before causeway began, running)\n"),
        "{text}"
    );
    assert!(
        text.contains("└─ ▶ 1006 curl  http://127.0.0.1:8080/  (started "),
        "{text}"
    );
    assert!(
        text.contains("out tcp 127.0.0.1:40002 → 127.0.0.1:8080"),
        "{text}"
    );
    assert!(text.contains("(peer 600 nginx)"), "{text}");
}

#[test]
fn an_unknown_process_or_a_bad_argument_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let out = export(&[j.to_str().unwrap(), "31337"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("causeway: no process 31337 in "), "{err}");
    assert!(out.stdout.is_empty());

    assert!(err.contains("`causeway replay` it and `/`"), "{err}");

    // A pid that is there, with a start it did not have: the starts it had.
    let doc: serde_json::Value =
        serde_json::from_slice(&export(&[j.to_str().unwrap(), "1006"]).stdout).expect("JSON");
    let start = doc["selected"]["start"].as_u64().expect("start");
    let out = export(&[
        j.to_str().unwrap(),
        &format!("1006@{}", start + 1_000_000_000),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!(
            "causeway: no process 1006 started at {} in demo.jsonl; pid 1006 is there as 1006@{start}",
            start + 1_000_000_000
        )
    );

    // A pid used by many processes: the first few, and how many more.
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let mut starts = Vec::new();
    for _ in 0..8 {
        // Starts at least /proc's 10 ms apart: told apart however read.
        s.now += 20_000_000;
        let worker = causeway::event::ProcKey::new(700, s.now);
        starts.push(worker.start);
        s.exec(worker, init, 0, "/usr/bin/worker", &["worker"]);
        s.exit(worker, init, causeway::event::ExitStatus::Code(0));
    }
    let reused = write_journal(dir.path(), "reused.jsonl", &s.messages);
    let out = export(&[reused.to_str().unwrap(), "700@5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    let named: Vec<String> = starts[..5].iter().map(|s| format!("700@{s}")).collect();
    assert!(
        err.trim_end().ends_with(&format!(
            "pid 700 is there as {} and 3 more",
            named.join(", ")
        )),
        "{err}"
    );

    let out = export(&[j.to_str().unwrap(), "12x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a PID or PID@START"));

    let out = export(&[dir.path().join("missing.jsonl").to_str().unwrap(), "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_chain_is_never_written_over_a_journal_it_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let other = write_journal(dir.path(), "other.jsonl", &synth::demo());
    let evidence = std::fs::read(&j).expect("journal");
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&j, &link).expect("symlink");
    let hard = dir.path().join("hard.jsonl");
    std::fs::hard_link(&j, &hard).expect("hard link");
    let dotted = dir.path().join(".").join("demo.jsonl");
    // Before, each of these exited 0 with the chain in place of the journal.
    for out in [&j, &link, &hard, &dotted] {
        let got = export(&[
            other.to_str().unwrap(),
            j.to_str().unwrap(),
            "1006",
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(1), "-o {}: {err}", out.display());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("would overwrite the journal"), "{err}");
        assert_eq!(std::fs::read(&j).expect("journal"), evidence, "kept");
    }
    // Another file, new or not, is written.
    let chain = dir.path().join("chain.json");
    let got = export(&[j.to_str().unwrap(), "1006", "-o", chain.to_str().unwrap()]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(chain.exists());
}

#[test]
fn an_output_that_holds_something_is_refused_with_what_export_can_do() {
    // `-o` given last time's chain: refused, the file as it was. The hint
    // was record's, `--rotate SIZE would keep it as chain.json.1`, and
    // export has no --rotate.
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let chain = dir.path().join("chain.json");
    std::fs::write(&chain, "last time\n").expect("write");
    let got = export(&[j.to_str().unwrap(), "1006", "-o", chain.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists (10 B)"), "{err}");
    assert!(!err.contains("--rotate"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&chain).expect("kept"),
        "last time\n"
    );
    // An empty one is written to.
    std::fs::write(&chain, "").expect("empty");
    let got = export(&[j.to_str().unwrap(), "1006", "-o", chain.to_str().unwrap()]);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(std::fs::metadata(&chain).expect("written").len() > 0);
}

#[test]
fn the_chain_is_drawn_on_a_terminal() {
    // `causeway export j.jsonl 1006 --text` typed at a shell: the text is
    // for reading there. It was refused as a journal would be ("the
    // journal would go to the terminal").
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let (master, slave) = common::pseudo_terminal(200, 50);
    let screen = std::thread::spawn(move || {
        use std::io::Read;
        let mut screen = std::fs::File::from(master);
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = screen.read(&mut buf) {
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let got = Command::new(BIN)
        .args(["export", j.to_str().unwrap(), "1006", "--text"])
        .stdout(slave)
        .output()
        .expect("run causeway");
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "{err}");
    assert!(screen.join().expect("screen").contains("1006 curl"));
}

#[test]
fn a_forgotten_pid_is_said_to_be_missing() {
    // `causeway export j.jsonl`: it said `invalid value 'j.jsonl' for
    // '<PID[@START]>': "j.jsonl" is not a PID`, and a usage hint.
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let other = write_journal(dir.path(), "other.jsonl", &synth::demo());
    for args in [
        vec![j.to_str().unwrap()],
        vec![j.to_str().unwrap(), other.to_str().unwrap()],
        vec!["-"],
    ] {
        let got = export(&args);
        let err = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("causeway: export: the process is missing"),
            "{err}"
        );
        assert!(err.contains("PID"), "{err}");
        assert!(!err.contains("is not a PID"), "{err}");
    }
    // A word that is no file is still not a PID.
    let got = export(&[j.to_str().unwrap(), "12x"]);
    assert_eq!(got.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&got.stderr).contains("is not a PID or PID@START"));
}

#[test]
fn the_files_of_a_rotated_journal_export_as_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = journal(dir.path());
    // The same messages in two files, as a rotation cuts them: the second
    // continues the first.
    let msgs = synth::demo();
    let cut = msgs.len() / 2;
    let (a, b) = (dir.path().join("j.jsonl.1"), dir.path().join("j.jsonl"));
    let continued = causeway::journal::Header {
        continued: true,
        ..synth::header()
    };
    for (path, part, header) in [
        (&a, &msgs[..cut], synth::header()),
        (&b, &msgs[cut..], continued),
    ] {
        let f = std::fs::File::create(path).expect("create");
        let mut w = causeway::journal::Writer::new(f, &header).expect("header");
        w.write_batch(part).expect("write");
        w.flush().expect("flush");
    }
    for pid in ["1006", "600", "1003"] {
        let one = export(&[whole.to_str().unwrap(), pid]);
        let two = export(&[b.to_str().unwrap(), a.to_str().unwrap(), pid]);
        assert!(
            two.status.success(),
            "{}",
            String::from_utf8_lossy(&two.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&one.stdout),
            String::from_utf8_lossy(&two.stdout),
            "pid {pid}"
        );
    }
}

#[test]
fn a_reader_that_stops_early_ends_it_quietly() {
    use std::io::Read;
    // A whole host's chain: far more than a pipe holds.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "host.jsonl", &synth::host(2000, 4));
    // `causeway export host.jsonl 1 | head -c 100`
    let mut child = Command::new(BIN)
        .arg("export")
        .arg(&path)
        .arg("1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run causeway");
    let mut head = [0u8; 100];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut head)
        .expect("the chain's start");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(String::from_utf8_lossy(&head).contains("causeway-chain"));
}

#[test]
fn a_journal_on_standard_input_is_read_from_dash() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let j = journal(dir.path());
    let want = export(&[j.to_str().unwrap(), "1006", "--text"]);
    assert!(want.status.success());
    let run = |args: &[&str], stdin: Stdio| {
        Command::new(BIN)
            .args(args)
            .stdin(stdin)
            .output()
            .expect("run causeway")
    };
    // `causeway export - 1006 --text < j.jsonl` (before: `cannot open -`).
    let file = || Stdio::from(std::fs::File::open(&j).expect("journal"));
    let got = run(&["export", "-", "1006", "--text"], file());
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(got.stdout, want.stdout);
    // `zcat j.jsonl.gz | causeway export - 1006 --text`: a pipe, and a
    // gzipped one read as it is.
    let plain = std::fs::read(&j).expect("journal");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    let gz = gz.finish().expect("gzip");
    for bytes in [plain.clone(), gz] {
        let mut child = Command::new(BIN)
            .args(["export", "-", "1006", "--text"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run causeway");
        let mut stdin = child.stdin.take().expect("stdin");
        let feeder = std::thread::spawn(move || stdin.write_all(&bytes));
        let got = child.wait_with_output().expect("wait");
        feeder.join().expect("feeder").expect("written");
        assert!(
            got.status.success(),
            "{}",
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(got.stdout, want.stdout);
    }
    // What is not found is said of standard input.
    let got = run(&["export", "-", "31337"], file());
    let err = String::from_utf8_lossy(&got.stderr);
    assert!(
        err.starts_with("causeway: no process 31337 in standard input"),
        "{err}"
    );
    // The chain is not written over the file redirected in.
    let got = run(&["export", "-", "1006", "-o", j.to_str().unwrap()], file());
    let err = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(1), "{err}");
    assert!(err.contains("would overwrite the journal"), "{err}");
    assert_eq!(std::fs::read(&j).expect("journal"), plain, "kept");

    // The view reads its keys from standard input: `-` is refused there,
    // in one line, before anything else (no probe loaded, no root needed).
    for args in [
        &["replay", "-"][..],
        &["replay", j.to_str().unwrap(), "-"],
        &["live", "--history", "-"],
    ] {
        let got = run(args, file());
        let err = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("needs a journal's file, not `-`: standard input is the view's keyboard"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn a_pid_given_again_within_one_tick_exports_as_two_processes() {
    // `X=$(sh -c 'echo $$')`, then `ns_last_pid` set to X-1 and
    // `sh -c '…; exec sleep 2'`: pid X again, 3 ms later, in the same
    // 10 ms of /proc's clock.
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    s.now += 1_234_567;
    let first = causeway::event::ProcKey::new(17008, s.now);
    s.exec(first, init, 0, "/bin/sh", &["sh", "-c", "echo $$"]);
    s.exit(first, init, causeway::event::ExitStatus::Code(0));
    s.now += 1_000_000;
    let second = causeway::event::ProcKey::new(17008, s.now);
    assert_eq!(first.start_tick(), second.start_tick());
    s.exec(second, init, 0, "/bin/sh", &["sh", "-c", "exec sleep 2"]);
    s.exec(second, init, 0, "/bin/sleep", &["sleep", "2"]);
    s.now += 2_000_000_000;
    s.exit(second, init, causeway::event::ExitStatus::Code(0));
    let dir = tempfile::tempdir().expect("tempdir");
    let j = write_journal(dir.path(), "main.jsonl", &s.messages);
    let chain = |process: String| -> serde_json::Value {
        let out = export(&[j.to_str().unwrap(), &process]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let execs = |doc: &serde_json::Value| -> Vec<String> {
        doc["processes"][1]["execs"]
            .as_array()
            .expect("execs")
            .iter()
            .map(|e| e["exe"].as_str().expect("exe").to_string())
            .collect()
    };
    let a = chain(format!("17008@{}", first.start));
    assert_eq!(a["selected"]["start"], first.start);
    assert_eq!(execs(&a), ["/bin/sh"]);
    assert_eq!(a["processes"][1]["end"]["ktime"], first.start + 1_000_000);
    let b = chain(format!("17008@{}", second.start));
    assert_eq!(b["selected"]["start"], second.start);
    assert_eq!(execs(&b), ["/bin/sh", "/bin/sleep"]);
    assert_eq!(
        b["processes"][1]["end"]["ktime"],
        second.start + 2_002_000_000
    );
    // The pid alone: the newest of the two, as for any reused pid.
    assert_eq!(chain("17008".to_string()), b);
    let text = |process: String| {
        let out = export(&[j.to_str().unwrap(), &process, "--text"]);
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    let a = text(format!("17008@{}", first.start));
    assert!(a.contains("▶ 17008 sh  -c 'echo $$'  (started "), "{a}");
    assert!(a.contains(", exit 0 after 1ms)"), "{a}");
    let b = text("17008".to_string());
    assert!(b.contains("▶ 17008 sh→sleep  2  (started "), "{b}");
    assert!(b.contains(", exit 0 after 2.0s)"), "{b}");
}

#[test]
fn a_name_with_escape_sequences_is_written_out_not_acted_on() {
    // A file a glob picked up (`journal.jsonl*`), named to retitle the
    // terminal; an argument the same.
    let dir = tempfile::tempdir().expect("tempdir");
    let evil = dir.path().join("j.jsonl.\u{1b}]0;PWN\u{7}");
    std::fs::write(&evil, b"junk\n").expect("write");
    let out = export(&[evil.to_str().expect("utf-8"), "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("j.jsonl.\\u{1b}]0;PWN\\u{7}"), "{err}");
    let out = export(&["\u{1b}[2Jx.jsonl", "\u{1b}]0;PWN\u{7}"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
}

#[test]
fn a_chain_from_a_journal_that_lost_records_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sh = s.spawn(init, 0, "/bin/sh", &["sh"]);
    s.lost(66_831);
    s.exit(sh, init, causeway::event::ExitStatus::Code(0));
    let j = write_journal(dir.path(), "lossy.jsonl", &s.messages);
    let out = export(&[j.to_str().unwrap(), &sh.pid.to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("lossy.jsonl: 66,831 records were lost while it was recorded"),
        "{err}"
    );
    // Not for one that lost none.
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sh = s.spawn(init, 0, "/bin/sh", &["sh"]);
    let j = write_journal(dir.path(), "whole.jsonl", &s.messages);
    let out = export(&[j.to_str().unwrap(), &sh.pid.to_string()]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
