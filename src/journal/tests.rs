use std::net::SocketAddr;

use super::*;
use crate::event::{
    Defunct, Direction, Event, EventKind, ExecInfo, ExitStatus, Groups, Message, NetInfo, NetKind,
    ProcKey, Protocol, SeedProcess,
};
use std::io::Read;

fn header() -> Header {
    Header {
        version: FORMAT_VERSION,
        hostname: "host \"one\"".into(),
        kernel: "6.18.0".into(),
        boot_time_ns: 1_700_000_000_000_000_000,
        causeway: "0.1.0".into(),
        continued: false,
        run: Some(5_000_000_000),
        file: Some(1),
    }
}

fn ev(kind: EventKind) -> Message {
    Message::Event(Event {
        ktime: 5_000_000_123,
        proc: ProcKey::new(42, 4_000_000_000),
        tid: 43,
        parent: ProcKey::new(1, 10_000_000),
        uid: 1000,
        gid: 100,
        cgroup: 77,
        comm: "wé\"ird".into(),
        kind,
    })
}

/// A listener on [::]:22 of init, listed at start.
fn listed_listener() -> crate::event::SeedSocket {
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    crate::event::SeedSocket {
        seen: 4_500_000_000,
        actor: crate::event::Actor {
            proc: ProcKey::new(1, 10_000_000),
            tid: 1,
            parent: ProcKey::new(0, 0),
            uid: 0,
            gid: 0,
            cgroup: 1,
            comm: "init".into(),
        },
        protocol: Protocol::Tcp,
        direction: Direction::Listen,
        local: addr("[::]:22"),
        remote: addr("[::]:0"),
        cookie: 7,
        netns: 4_026_531_840,
        unused: false,
        connecting: false,
        opened: 0,
        peer_closed: false,
    }
}

fn sample() -> Vec<Message> {
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    vec![
        Message::Seed(SeedProcess {
            proc: ProcKey::new(1, 10_000_000),
            parent: None,
            uid: 0,
            gid: 0,
            cgroup: 1,
            comm: "init".into(),
            exe: b"/sbin/init".to_vec(),
            exe_deleted: true,
            argv: vec![b"/sbin/init".to_vec(), b"splash".to_vec()],
            argv_truncated: true,
            defunct: None,
            groups: Groups {
                session: 1,
                pgid: 1,
            },
        }),
        ev(EventKind::Fork),
        ev(EventKind::Exec(ExecInfo {
            exe: b"/tmp/\xff\xfebin".to_vec(),
            file: b"/memfd:\xff\xfebin".to_vec(),
            deleted: true,
            argv: vec![b"a".to_vec(), vec![], b"\x80\n\"x\"".to_vec()],
            argv_truncated: true,
            old_tid: 43,
        })),
        ev(EventKind::Exit {
            status: ExitStatus::Code(3),
            reaper: Some(ProcKey::new(1, 10_000_000)),
        }),
        ev(EventKind::Exit {
            status: ExitStatus::Signal {
                signal: 11,
                core_dumped: true,
            },
            reaper: None,
        }),
        ev(EventKind::Net(NetInfo {
            kind: NetKind::Connect,
            protocol: Protocol::Tcp,
            direction: Direction::Outbound,
            local: addr("127.0.0.1:40000"),
            remote: addr("[::1]:8080"),
            cookie: 99,
            netns: 4_026_531_840,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            // Its connect() call, 1.5 s before it was established.
            opened: 3_500_000_123,
        })),
        ev(EventKind::Net(NetInfo {
            kind: NetKind::Close,
            protocol: Protocol::Udp,
            direction: Direction::Outbound,
            local: addr("127.0.0.1:40000"),
            remote: addr("127.0.0.53:53"),
            cookie: 99,
            netns: 4_026_532_311,
            bytes_sent: 10,
            bytes_received: 20,
            ending: crate::event::Ending {
                error: 104,
                from: 1,
            },
            opened: 0,
        })),
        ev(EventKind::Net(NetInfo {
            kind: NetKind::Gone,
            protocol: Protocol::Tcp,
            direction: Direction::Outbound,
            local: addr("127.0.0.1:40001"),
            remote: addr("[::1]:8080"),
            cookie: 100,
            netns: 0,
            bytes_sent: 0,
            bytes_received: 0,
            ending: Default::default(),
            opened: 0,
        })),
        Message::Lost {
            ktime: 6_000_000_000,
            count: 17,
        },
        ev(EventKind::Signal(crate::event::SignalInfo {
            signal: 15,
            code: 0,
            sender: Some(crate::event::Sender {
                proc: ProcKey::new(4242, 7_000_000_000),
                uid: 1000,
                comm: "kill \"x\"".into(),
            }),
            oom: false,
        })),
        ev(EventKind::Signal(crate::event::SignalInfo {
            signal: 9,
            code: 0x80,
            sender: None,
            oom: false,
        })),
        ev(EventKind::Signal(crate::event::SignalInfo {
            signal: 9,
            code: 0x80,
            sender: Some(crate::event::Sender {
                proc: ProcKey::new(42, 4_000_000_000),
                uid: 0,
                comm: "python3".into(),
            }),
            oom: true,
        })),
        Message::Socket(listed_listener()),
        // Found unused while recording: an accepted connection in the
        // listener's queue.
        Message::Socket(crate::event::SeedSocket {
            seen: 4_600_000_000,
            direction: Direction::Inbound,
            local: addr("[::1]:22"),
            remote: addr("[::1]:40000"),
            cookie: 8,
            unused: true,
            ..listed_listener()
        }),
        // Listed at start still connecting; and found connecting while
        // recording, with its connect() call seen.
        Message::Socket(crate::event::SeedSocket {
            direction: Direction::Outbound,
            local: addr("10.0.0.1:40002"),
            remote: addr("10.88.0.2:81"),
            cookie: 9,
            connecting: true,
            ..listed_listener()
        }),
        Message::Socket(crate::event::SeedSocket {
            seen: 4_700_000_000,
            direction: Direction::Outbound,
            local: addr("10.0.0.1:40003"),
            remote: addr("10.88.0.2:81"),
            cookie: 10,
            connecting: true,
            opened: 2_600_000_000,
            ..listed_listener()
        }),
        // Found with its peer closed while recording (CLOSE_WAIT).
        Message::Socket(crate::event::SeedSocket {
            seen: 4_800_000_000,
            direction: Direction::Inbound,
            local: addr("[::1]:22"),
            remote: addr("[::1]:40001"),
            cookie: 11,
            peer_closed: true,
            ..listed_listener()
        }),
        Message::Cgroup {
            id: 42,
            path: "/system.slice/a \"b\" é.service".into(),
        },
        // Zombies at the scan: how each ended, and when it was found so.
        Message::Seed(SeedProcess {
            proc: ProcKey::new(77, 20_000_000),
            parent: Some(ProcKey::new(1, 10_000_000)),
            comm: "zombie".into(),
            defunct: Some(Defunct {
                seen: 30_000_000,
                status: ExitStatus::Code(3),
            }),
            ..SeedProcess::default()
        }),
        Message::Seed(SeedProcess {
            proc: ProcKey::new(78, 20_000_000),
            parent: Some(ProcKey::new(1, 10_000_000)),
            comm: "zombie".into(),
            defunct: Some(Defunct {
                seen: 30_000_000,
                status: ExitStatus::Signal {
                    signal: 9,
                    core_dumped: false,
                },
            }),
            ..SeedProcess::default()
        }),
    ]
}

fn write(msgs: &[Message]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    for m in msgs {
        w.write(m).unwrap();
    }
    w.into_inner()
}

#[test]
fn a_batch_is_written_as_its_messages_one_by_one() {
    // Enough lines to go out in several chunks.
    let msgs: Vec<Message> = std::iter::repeat_with(sample).take(200).flatten().collect();
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    w.write_batch(&msgs[..5]).unwrap();
    w.write_batch(&[]).unwrap();
    w.write_batch(&msgs[5..]).unwrap();
    assert_eq!(w.into_inner(), write(&msgs));
}

#[test]
fn a_cgroup_is_named_once_however_often_it_is_announced() {
    // The /proc scan's thread and the probe's each name the cgroups they
    // meet; the journal names each once (as docs/journal.md says).
    let cgroup = |id, path: &str| Message::Cgroup {
        id,
        path: path.into(),
    };
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    w.write_batch(&[cgroup(1, "/"), cgroup(9, "/user.slice")])
        .unwrap();
    w.write(&cgroup(1, "/")).unwrap();
    w.write_batch(&[cgroup(9, "/user.slice"), cgroup(1, "/")])
        .unwrap();
    let bytes = w.into_inner();
    let loaded = read(&bytes[..]).unwrap();
    assert_eq!(loaded.messages, [cgroup(1, "/"), cgroup(9, "/user.slice")]);
}

#[test]
fn every_message_round_trips() {
    let msgs = sample();
    let bytes = write(&msgs);
    let loaded = read(&bytes[..]).unwrap();
    assert_eq!(loaded.header, header());
    assert_eq!(loaded.messages, msgs);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}

#[test]
fn a_continued_file_says_so_in_its_header_and_others_do_not() {
    let mut w = Writer::new(Vec::new(), &header()).unwrap();
    w.flush().unwrap();
    let plain = w.into_inner();
    assert!(!String::from_utf8_lossy(&plain).contains("continued"));
    let next = Header {
        continued: true,
        file: Some(2),
        ..header()
    };
    let mut w = Writer::new(Vec::new(), &next).unwrap();
    w.flush().unwrap();
    let bytes = w.into_inner();
    assert!(
        String::from_utf8_lossy(&bytes).contains(r#","continued":true,"run":5000000000,"file":2}"#)
    );
    // Its run and its place in it read back: the next file of the run.
    let (first, second) = (read(&plain[..]).unwrap(), read(&bytes[..]).unwrap());
    assert_eq!(second.header, next);
    assert!(!first.header.continued);
    assert!(first.header.same_run(&second.header));
    // Another run's file does not continue this one; nor does a file
    // that begins a run.
    let other = Header {
        run: Some(6_000_000_000),
        ..next.clone()
    };
    assert!(!first.header.same_run(&other));
    assert!(!second.header.same_run(&first.header));
    // Journals older than run numbers: one recorder's files have one
    // header; another recorder computed the boot's time anew.
    let old = |continued, shift: i64| Header {
        continued,
        run: None,
        file: None,
        boot_time_ns: header().boot_time_ns + shift,
        ..header()
    };
    assert!(old(false, 0).same_run(&old(true, 0)));
    assert!(!old(false, 0).same_run(&old(true, 5)));
}

#[test]
fn lines_are_json_with_the_documented_fields() {
    let bytes = write(&sample());
    let lines: Vec<serde_json::Value> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["format"], "causeway-journal");
    assert_eq!(lines[0]["boot_time"], "2023-11-14T22:13:20.000000000Z");
    assert_eq!(lines[1]["type"], "process");
    let exec = &lines[3];
    assert_eq!(exec["type"], "exec");
    assert_eq!(exec["time"], "2023-11-14T22:13:25.000000123Z");
    assert_eq!(exec["ktime"], 5_000_000_123u64);
    assert_eq!(exec["pid"], 42);
    assert_eq!(exec["start"], 4_000_000_000u64);
    assert_eq!(exec["exe"]["hex"], "2f746d702ffffe62696e");
    assert_eq!(exec["argv"][0], "a");
    assert_eq!(exec["argv"][1], "");
    assert_eq!(exec["argv"][2]["hex"], "800a227822");
    assert_eq!(lines[4]["exit_code"], 3);
    assert_eq!(lines[5]["signal"], 11);
    assert_eq!(lines[5]["signal_name"], "SIGSEGV");
    assert_eq!(lines[6]["remote"], "[::1]:8080");
    assert_eq!(lines[7]["bytes_received"], 20);
    assert_eq!(lines[7]["closed_from"], "ESTABLISHED");
    assert_eq!(lines[7]["error"], 104);
    assert_eq!(lines[7]["error_name"], "ECONNRESET");
    assert_eq!(lines[8]["type"], "gone");
    assert!(lines[8].get("closed_from").is_none() && lines[8].get("error").is_none());
    assert!(
        lines[6].get("closed_from").is_none(),
        "a connect has no ending"
    );
    assert_eq!(
        (&lines[8]["bytes_sent"], &lines[8]["cookie"]),
        (&0.into(), &100.into())
    );
    assert_eq!(lines[9]["type"], "lost");
    assert_eq!(lines[9]["count"], 17);
    let term = &lines[10];
    assert_eq!(term["type"], "signal");
    assert_eq!(term["pid"], 42, "the process it was sent to");
    assert_eq!(
        (&term["signal"], &term["signal_name"]),
        (&15.into(), &"SIGTERM".into())
    );
    assert_eq!(term["sender"]["pid"], 4242);
    assert_eq!(term["sender"]["start"], 7_000_000_000u64);
    assert_eq!(term["sender"]["uid"], 1000);
    assert_eq!(term["sender"]["comm"], "kill \"x\"");
    assert_eq!(lines[11]["code"], 128);
    assert!(lines[11]["sender"].is_null(), "the kernel");
    assert!(lines[11].get("oom_killer").is_none());
    assert_eq!(lines[12]["oom_killer"], true);
    assert_eq!(lines[12]["sender"]["comm"], "python3");
    let socket = &lines[13];
    assert_eq!(socket["type"], "socket");
    assert_eq!(socket["ktime"], 4_500_000_000u64);
    assert_eq!(socket["pid"], 1);
    assert_eq!(socket["direction"], "listen");
    assert_eq!(socket["local"], "[::]:22");
    assert_eq!(socket["cookie"], 7);
}

#[test]
fn a_close_without_its_ending_or_with_a_state_unknown_here_reads_as_not_known() {
    let bytes = write(&sample());
    let text = String::from_utf8(bytes).unwrap();
    let close = text.lines().nth(7).unwrap();
    let ending = |line: &str| {
        let mut with = text.lines().take(1).collect::<Vec<_>>();
        with.push(line);
        let loaded = read(with.join("\n").as_bytes()).unwrap();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        match &loaded.messages[0] {
            Message::Event(Event {
                kind: EventKind::Net(n),
                ..
            }) => n.ending,
            m => panic!("{m:?}"),
        }
    };
    assert_eq!(ending(close).error, 104);
    let older = close
        .replace(r#","closed_from":"ESTABLISHED""#, "")
        .replace(r#","error":104,"error_name":"ECONNRESET""#, "");
    assert_ne!(older, close);
    assert_eq!(ending(&older), Default::default());
    let newer = close.replace("ESTABLISHED", "BOUND_INACTIVE");
    assert_eq!(ending(&newer).from, 0);
    assert_eq!(ending(&newer).error, 104);
}

#[test]
fn a_cut_short_last_line_is_reported_and_the_rest_kept() {
    let mut bytes = write(&sample());
    bytes.truncate(bytes.len() - 10);
    let loaded = read(&bytes[..]).unwrap();
    assert_eq!(loaded.messages.len(), sample().len() - 1);
    assert_eq!(loaded.problems.len(), 1);
    // The header, then a line a message: the last is cut.
    let last = sample().len() as u64 + 1;
    assert_eq!(loaded.problems[0].line, last);
    assert!(loaded.problems[0].reason.contains("cut short"));
    assert!(
        loaded
            .problem_summary()
            .unwrap()
            .contains(&format!("line {last}"))
    );
}

#[test]
fn garbage_in_the_middle_is_skipped_and_what_follows_kept() {
    let bytes = write(&sample());
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines.insert(3, b"\x00\x01garbage{{{");
    lines.insert(5, br#"{"type":"exec","pid":1}"#);
    lines.insert(6, br#"{"type":"from-the-future","x":1}"#);
    let joined = lines.join(&b'\n');
    let loaded = read(&joined[..]).unwrap();
    assert_eq!(loaded.messages, sample());
    let at: Vec<u64> = loaded.problems.iter().map(|p| p.line).collect();
    assert_eq!(at, vec![4, 6]);
    assert!(loaded.problems[1].reason.contains("missing"));
}

#[test]
fn a_huge_line_is_skipped_without_keeping_it() {
    let bytes = write(&sample());
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let mut huge = br#"{"type":"exec","argv":[""#.to_vec();
    huge.resize(3 << 20, b'a');
    lines.insert(2, huge);
    let joined = lines.join(&b'\n');
    let loaded = read(&joined[..]).unwrap();
    assert_eq!(loaded.messages, sample());
    assert_eq!(loaded.problems.len(), 1);
    assert_eq!(loaded.problems[0].line, 3);
    assert!(loaded.problems[0].reason.contains("longer than"));
}

/// `read` of `input` on a thread of its own, given 30 s: an endless
/// input must not keep it forever.
fn read_within_30s(input: impl std::io::Read + Send + 'static) -> anyhow::Result<Loaded> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(read(std::io::BufReader::new(input)));
    });
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("read did not give up on an endless line within 30 s")
}

#[test]
fn an_endless_line_is_given_up_on() {
    // `/dev/zero`: before, read skipped its first "line" forever.
    let e = read_within_30s(std::io::repeat(0)).unwrap_err();
    assert!(e.to_string().contains("over 1 MiB long"), "{e}");
    // A journal whose lines give way to zeros without end (a device, a
    // pipe): the lines before are kept, and the rest is said not read.
    let bytes = write(&sample());
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    let loaded = read_within_30s(std::io::Cursor::new(bytes).chain(std::io::repeat(0))).unwrap();
    assert_eq!(loaded.messages, sample());
    let [problem] = &loaded.problems[..] else {
        panic!("one problem: {:?}", loaded.problems)
    };
    assert_eq!(problem.line, lines + 1);
    assert!(problem.reason.contains("the rest is not read"), "{problem}");
    // A stretch of zeros that ends (a crash's) is one damaged line; what
    // follows it is read.
    let mut bytes = write(&sample()[..3]);
    bytes.resize(bytes.len() + 3 * read::MAX_LINE, 0);
    bytes.push(b'\n');
    let rest = write(&sample()[3..]);
    let after_header = rest.iter().position(|&b| b == b'\n').unwrap() + 1;
    bytes.extend_from_slice(&rest[after_header..]);
    let loaded = read(&bytes[..]).unwrap();
    assert_eq!(loaded.messages, sample());
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
    assert!(loaded.problems[0].reason.contains("longer than"));
    // In a file, which ends, a line of garbage longer than any bound is
    // skipped whole and the lines after it read.
    let mut bytes = write(&sample()[..3]);
    bytes.resize(bytes.len() + read::MAX_LINE + read::MAX_SKIP + 4096, b'x');
    bytes.push(b'\n');
    bytes.extend_from_slice(&rest[after_header..]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::write(&path, &bytes).unwrap();
    let loaded = load(&path).unwrap();
    assert_eq!(loaded.messages, sample());
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
}

#[test]
fn a_file_that_is_not_a_journal_is_refused() {
    let e = read(&b""[..]).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let e = read(&b"hello world\n{\"type\":\"fork\"}\n"[..]).unwrap_err();
    assert!(e.to_string().contains("not a causeway header"), "{e}");
    // A journal cut at its start (`tail -n +2`): how to read it anyway.
    let whole = write(&sample());
    let cut = &whole[whole.iter().position(|&b| b == b'\n').unwrap() + 1..];
    let e = read(cut).unwrap_err().to_string();
    assert!(e.contains("its beginning is missing"), "{e}");
    assert!(
        e.contains("(head -1 OTHER.jsonl; cat FILE) > whole.jsonl"),
        "{e}"
    );
    let e = read(&br#"{"type":"header","format":"something-else","version":1}"#[..]).unwrap_err();
    assert!(e.to_string().contains("not a causeway header"), "{e}");
    let e =
        read(&br#"{"type":"header","format":"causeway-journal","version":99}"#[..]).unwrap_err();
    assert!(e.to_string().contains("version 99"), "{e}");
}

#[test]
fn bytes_encoding_is_lossless() {
    for b in [&b""[..], b"plain", b"\xff", b"caf\xc3\xa9", b"\xc3"] {
        assert_eq!(decode_bytes(&encode_bytes(b)).unwrap(), b);
    }
    assert!(decode_bytes(&serde_json::json!({"hex": "abc"})).is_none());
    assert!(decode_bytes(&serde_json::json!(5)).is_none());
}

/// The shipped schema and the writer agree: every line the writer produces
/// has the fields the schema requires for its type, only fields and types
/// the schema knows, and of a field of a few values one it lists.
#[test]
fn written_lines_have_what_the_schema_requires() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../assets/journal.schema.json")).unwrap();
    let defs = schema["$defs"].as_object().unwrap();
    let def_for = |ty: &str| {
        defs.values()
            .find(|d| {
                let t = &d["properties"]["type"];
                t["const"] == ty
                    || t["enum"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == ty))
            })
            .unwrap_or_else(|| panic!("schema has no definition for {ty}"))
    };
    let bytes = write(&sample());
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        let ty = v["type"].as_str().unwrap();
        let def = def_for(ty);
        for req in def["required"].as_array().unwrap() {
            let f = req.as_str().unwrap();
            assert!(v.get(f).is_some(), "{ty} line lacks required {f}: {v}");
        }
        for (f, value) in v.as_object().unwrap() {
            let Some(prop) = def["properties"].get(f) else {
                panic!("{ty} line has {f}, unknown to the schema");
            };
            // A field of a few values has one the schema lists.
            if let Some(values) = prop["enum"].as_array() {
                assert!(
                    values.contains(value),
                    "{ty} line's {f} {value}: not in the schema's enum"
                );
            }
            if let Some(c) = prop.get("const") {
                assert_eq!(value, c, "{ty} line's {f}");
            }
        }
    }
}

/// The example in docs/journal.md is a journal this reader reads whole.
#[test]
fn the_documented_example_reads_without_a_problem() {
    let doc = include_str!("../../docs/journal.md");
    let example = doc
        .split("## Example")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the example block");
    let loaded = read(example.as_bytes()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let kinds: Vec<&str> = loaded
        .messages
        .iter()
        .map(|m| match m {
            Message::Seed(_) => "process",
            Message::Cgroup { .. } => "cgroup",
            Message::Event(e) => e.kind.name(),
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "cgroup", "process", "cgroup", "fork", "exec", "exit", "close", "signal"
        ]
    );
}

#[test]
fn the_files_of_a_rotated_journal_read_as_one_in_time_order() {
    use crate::event::SeedSocket;
    use crate::graph::CausalTree;
    use crate::ui::synth::{Synth, write_journal};

    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let nginx = s.spawn(init, 0, "/usr/sbin/nginx", &["nginx"]);
    let curl = s.spawn(init, 1000, "/usr/bin/curl", &["curl", "http://127.0.0.1/"]);
    s.local_tcp((curl, init), (nginx, init), 80);
    let split = s.messages.len();
    // The next file opens as `record --rotate` writes it: the processes
    // alive (from /proc: starts at its 10 ms resolution, parents as the
    // kernel has them), then the sockets open, as of its start.
    let began = s.now + 1_000_000_000;
    let mut next: Vec<Message> = [(init, None), (nginx, Some(init)), (curl, Some(init))]
        .into_iter()
        .map(|(p, parent)| {
            Message::Seed(SeedProcess {
                proc: ProcKey::new(p.pid, p.start / 10_000_000 * 10_000_000),
                parent,
                uid: 0,
                gid: 0,
                cgroup: 42,
                comm: "x".into(),
                exe: b"/usr/bin/x".to_vec(),
                exe_deleted: false,
                argv: vec![b"x".to_vec()],
                argv_truncated: false,
                defunct: None,
                groups: Default::default(),
            })
        })
        .collect();
    for m in &s.messages[..split] {
        if let Message::Event(ev) = m {
            if let Some(sock) = SeedSocket::from_event(ev) {
                next.push(Message::Socket(SeedSocket {
                    seen: began,
                    ..sock
                }));
            }
        }
    }
    s.now = began + 1;
    let make = s.spawn(init, 0, "/usr/bin/make", &["make"]);
    s.exit(make, init, ExitStatus::Code(0));
    next.extend(s.messages[split..].iter().cloned());

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("j.jsonl.1"), dir.path().join("j.jsonl"));
    write_journal(std::fs::File::create(&a).unwrap(), &s.messages[..split]).unwrap();
    write_journal(std::fs::File::create(&b).unwrap(), &next).unwrap();
    // Given newest first (as a shell's `j.jsonl*` lists them): read oldest
    // first.
    let (loaded, order) = load_all(&[b.clone(), a.clone()]).unwrap();
    assert_eq!(order, [a.clone(), b.clone()]);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    // A file named twice is read once.
    let (again, twice) = load_all(&[b.clone(), a.clone(), b.clone()]).unwrap();
    assert_eq!(twice, order);
    assert_eq!(again.messages, loaded.messages);
    let tree = CausalTree::from_messages(&loaded.messages);
    assert_eq!(tree.len(), 4, "systemd, nginx, curl, make: each once");
    for p in [nginx, curl] {
        let id = tree.find(p).expect("known");
        let node = tree.node(id);
        assert!(!node.seeded, "{} is known from its fork", p.pid);
        assert_eq!(node.conns.len(), 1, "{}: listed again, not twice", p.pid);
        let c = tree.conn(node.conns[0]);
        assert!(!c.seeded && c.start < began, "as first seen: {c:?}");
        assert!(tree.peer_process(node.conns[0]).is_some(), "still linked");
    }
    assert!(tree.find_pid(make.pid).is_some());

    // A file of another boot is refused, naming both; one of a recorder
    // restarted in the same boot (which computes the boot's time anew, a
    // few ns apart) is read with the others.
    let write_as = |name: &str, shift: i64| {
        let mut h = crate::ui::synth::header();
        h.boot_time_ns += shift;
        let path = dir.path().join(name);
        let mut w = Writer::new(std::fs::File::create(&path).unwrap(), &h).unwrap();
        w.write_batch(&next).unwrap();
        w.flush().unwrap();
        path
    };
    let other = write_as("other.jsonl", 3_600_000_000_000);
    let e = load_all(&[a.clone(), other.clone()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.jsonl") && e.contains("different hosts or boots"),
        "{e}"
    );
    // Its times are of another boot: said so, not that the two overlap.
    let e = load_all(&[b.clone(), other]).unwrap_err().to_string();
    assert!(e.contains("different hosts or boots"), "{e}");
    let restarted = write_as("restarted.jsonl", 5);
    assert!(load_all(&[a.clone(), restarted]).is_ok());

    // Damage is reported with the file it is in.
    let mut damaged = std::fs::read(&b).unwrap();
    damaged.extend_from_slice(b"{\"type\":\"fork\"\n");
    std::fs::write(&b, damaged).unwrap();
    let (loaded, _) = load_all(&[a, b]).unwrap();
    let problem = loaded.problems.first().expect("the damaged line");
    assert!(problem.to_string().contains("j.jsonl line"), "{problem}");
}

#[test]
fn two_recordings_that_overlap_in_time_are_not_read_as_one() {
    use crate::ui::synth::{demo, write_journal};
    let msgs = demo();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, msgs: &[Message]| {
        let path = dir.path().join(name);
        write_journal(std::fs::File::create(&path).unwrap(), msgs).unwrap();
        path
    };
    let first = write("first.jsonl", &msgs);
    // A second recorder started while the first ran: its own scan, then
    // the events since (before, read with the first: each of those twice).
    let cut = msgs.len() / 2;
    let mut later: Vec<Message> = msgs
        .iter()
        .filter(|m| matches!(m, Message::Seed(_) | Message::Cgroup { .. }))
        .cloned()
        .collect();
    later.extend(
        msgs[cut..]
            .iter()
            .filter(|m| matches!(m, Message::Event(_)))
            .cloned(),
    );
    let second = write("second.jsonl", &later);
    for given in [[&first, &second], [&second, &first]] {
        let e = load_all(&[given[0].clone(), given[1].clone()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("first.jsonl and ")
                && e.contains("second.jsonl overlap in time")
                && e.contains("open them one at a time"),
            "{e}"
        );
    }
    assert!(load_all(&[second]).is_ok(), "each alone is read");
    // One recorder's files, each after the one before, are read as one.
    let a = write("j.jsonl.1", &msgs[..cut]);
    let b = dir.path().join("j.jsonl");
    let continued = Header {
        continued: true,
        ..crate::ui::synth::header()
    };
    std::fs::write(&b, journal_bytes(&continued, &msgs[cut..])).unwrap();
    assert_eq!(load_all(&[b, a]).unwrap().0.messages, msgs);
}

/// The lines of a journal of `msgs` (the header first), without newlines.
fn journal_lines(msgs: &[Message]) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    crate::ui::synth::write_journal(&mut bytes, msgs).unwrap();
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

#[test]
fn repeated_lines_are_read_once_and_lines_out_of_order_in_time_order() {
    let msgs = crate::ui::synth::demo();
    let lines = journal_lines(&msgs);
    let is_event = |l: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        !["header", "process", "cgroup", "socket", "lost"].contains(&v["type"].as_str().unwrap())
    };
    let first_event = lines.iter().position(|l| is_event(l)).unwrap();
    // A block of events pasted again further on (before, each exec in it
    // was applied twice and its listener opened twice).
    let block = first_event..first_event + 6;
    let mut repeated = lines.clone();
    repeated.splice(
        first_event + 10..first_event + 10,
        lines[block.clone()].to_vec(),
    );
    let loaded = read(&repeated.join(&b'\n')[..]).unwrap();
    assert_eq!(loaded.messages, msgs);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.duplicates.count, 6);
    assert_eq!(loaded.out_of_order.count, 0, "the repeats are not counted");
    assert_eq!(
        loaded.problem_summary().unwrap(),
        format!(
            "skipped 6 duplicate lines (the first at line {})",
            first_event + 11
        )
    );
    // The events shuffled (before, a process's comm and parent came out
    // as the last line read said): read in time order, and said so.
    let mut shuffled = lines.clone();
    let events = &mut shuffled[first_event..];
    let mut rng = crate::ui::synth::Rng::new(7);
    for i in (1..events.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        events.swap(i, j);
    }
    // (The lost line, not an event, keeps its place: put it back there.)
    let lost = shuffled
        .iter()
        .position(|l| !is_event(l) && l.starts_with(br#"{"type":"lost""#));
    let lost = shuffled.remove(lost.unwrap());
    shuffled.push(lost);
    assert_ne!(shuffled, lines);
    let loaded = read(&shuffled.join(&b'\n')[..]).unwrap();
    assert_eq!(loaded.messages, msgs);
    assert!(loaded.out_of_order.count > 0);
    assert_eq!(loaded.duplicates.count, 0);
    let summary = loaded.problem_summary().unwrap();
    assert!(
        summary.contains("lines out of time order (the first at line "),
        "{summary}"
    );
    assert!(summary.ends_with(": read in time order"), "{summary}");
}

#[test]
fn what_the_probe_writes_out_of_order_is_put_in_order_without_a_word() {
    use crate::ui::synth::Synth;
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let a = s.spawn(init, 0, "/usr/bin/a", &["a"]);
    let b = s.spawn(init, 0, "/usr/bin/b", &["b"]);
    // Two sockets of one process that a sweep found gone: one time, one
    // thread, two lines.
    s.local_tcp((a, init), (b, init), 80);
    let mut msgs = s.messages.clone();
    // 2 ms before the last event: after the connection opened.
    let at = s.now - 3_000_000;
    let gone = |m: &Message, cookie: u64| match m {
        Message::Event(ev) => {
            let mut ev = ev.clone();
            if let EventKind::Net(n) = &mut ev.kind {
                n.kind = NetKind::Gone;
                n.cookie = cookie;
            }
            ev.ktime = at;
            Message::Event(ev)
        }
        m => m.clone(),
    };
    let net = msgs
        .iter()
        .rposition(|m| {
            matches!(
                m,
                Message::Event(Event {
                    kind: EventKind::Net(_),
                    ..
                })
            )
        })
        .unwrap();
    // Written when the listing ended, after later events; stamped when it
    // began.
    let (g1, g2) = (gone(&msgs[net], 100), gone(&msgs[net], 101));
    msgs.push(g1.clone());
    msgs.push(g2.clone());
    // Two events of programs that interrupted one another: 300 ns apart,
    // the later first (a's exec, b's fork).
    let (i, j) = (2, 3);
    let (ti, tj) = (msgs[i].ktime().unwrap(), msgs[j].ktime().unwrap());
    for (k, t) in [(i, tj + 300), (j, tj)] {
        if let Message::Event(ev) = &mut msgs[k] {
            ev.ktime = t;
        }
    }
    assert!(ti < tj);
    let loaded = read(&journal_lines(&msgs).join(&b'\n')[..]).unwrap();
    assert!(
        loaded.problem_summary().is_none(),
        "{:?}",
        loaded.problem_summary()
    );
    // Both gone lines are kept, in time order, as are the two swapped.
    let times: Vec<u64> = loaded.messages.iter().filter_map(Message::ktime).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(loaded.messages.len(), msgs.len());
    assert!(loaded.messages.contains(&g1) && loaded.messages.contains(&g2));
}

#[test]
fn a_new_journal_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    drop(create(&path).unwrap());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    // One that exists keeps its permissions, and is emptied.
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(create(&path).unwrap());
    assert_eq!(mode(&path), 0o640);
    assert_eq!(std::fs::read(&path).unwrap(), b"");
}

#[test]
fn a_gzipped_journal_reads_as_the_journal_and_a_cut_one_keeps_what_it_had() {
    use std::io::Write;
    let msgs = crate::ui::synth::host(300, 7);
    let mut plain = Vec::new();
    crate::ui::synth::write_journal(&mut plain, &msgs).unwrap();
    let gzip = |bytes: &[u8]| {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(bytes).unwrap();
        z.finish().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let (p, gz) = (dir.path().join("j.jsonl"), dir.path().join("j.jsonl.gz"));
    std::fs::write(&p, &plain).unwrap();
    std::fs::write(&gz, gzip(&plain)).unwrap();
    let want = load(&p).unwrap();
    let got = load(&gz).unwrap();
    assert!(got.problems.is_empty(), "{:?}", got.problems);
    assert_eq!(got.messages, want.messages);
    assert_eq!(got.lines, want.lines);

    // Two files gzipped on their own and concatenated (`cat a.gz b.gz`)
    // are one stream to gzip: read whole.
    let cut = plain.len() / 2;
    let cut = cut + plain[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let mut two = gzip(&plain[..cut]);
    two.extend(gzip(&plain[cut..]));
    std::fs::write(&gz, &two).unwrap();
    assert_eq!(load(&gz).unwrap().messages, want.messages);

    // Cut short (copied while being compressed): the lines before the cut
    // are kept, and the cut is said.
    let whole = gzip(&plain);
    std::fs::write(&gz, &whole[..whole.len() / 2]).unwrap();
    let half = load(&gz).unwrap();
    let [problem] = &half.problems[..] else {
        panic!("one problem: {:?}", half.problems)
    };
    assert!(problem.reason.contains("could not be read"), "{problem}");
    assert!(
        half.messages.len() > want.messages.len() / 4,
        "{}",
        half.messages.len()
    );
    assert_eq!(half.messages[..], want.messages[..half.messages.len()]);

    // The same recording plain and gzipped (logrotate's `delaycompress`
    // leaves both), or cut short beside its whole: read once, the whole.
    std::fs::write(&gz, gzip(&plain)).unwrap();
    let cut_copy = dir.path().join("copy.jsonl");
    std::fs::write(&cut_copy, &plain[..plain.len() / 3]).unwrap();
    let (both, order) = load_all(&[cut_copy.clone(), p.clone(), gz.clone()]).unwrap();
    assert_eq!(both.messages, want.messages);
    assert_eq!(order.len(), 1, "{order:?}");
    assert_ne!(order[0], cut_copy, "the whole one is read");

    // Other compressions are named, not read as damage.
    std::fs::write(&gz, [0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0]).unwrap();
    let e = format!("{:#}", load(&gz).unwrap_err());
    assert!(
        e.contains("compressed with zstd") && e.contains("zstd -d"),
        "{e}"
    );
}

/// A journal of `msgs` under `header`, as a file holds it.
fn journal_bytes(header: &Header, msgs: &[Message]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), header).unwrap();
    w.write_batch(msgs).unwrap();
    w.into_inner()
}

fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[test]
fn recordings_joined_in_one_file_read_as_separate_files_would() {
    use crate::ui::synth::{demo, header};
    let msgs = demo();
    let cut = msgs.len() / 2;
    let first = journal_bytes(&header(), &msgs[..cut]);
    let continued = Header {
        continued: true,
        ..header()
    };
    let second = journal_bytes(&continued, &msgs[cut..]);
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both.jsonl");
    let write = |parts: &[&[u8]]| std::fs::write(&both, parts.concat()).unwrap();

    // `cat j.jsonl.1 j.jsonl > both.jsonl`: one recording, read as one
    // (before, the second header was damage and its file's scan was read
    // as if it were the first's).
    write(&[&first, &second]);
    let loaded = load(&both).unwrap();
    assert_eq!(loaded.problem_summary(), None);
    assert_eq!(loaded.messages, msgs);
    assert_eq!(loaded.lines, count_lines(&first) + count_lines(&second));
    // Joined the other way round (`cat j.jsonl j.jsonl.1`): in time order.
    write(&[&second, &first]);
    assert_eq!(load(&both).unwrap().messages, msgs);
    // A recorder restarted that appended to its file (`>>`): a recording
    // after the first, read with it as two files are, the stretch between
    // them said where the second begins.
    write(&[&first, &journal_bytes(&header(), &msgs[cut..])]);
    let mut read = load(&both).unwrap().messages;
    let Message::Gap(gap) = read.remove(cut) else {
        panic!("no gap where the second recording begins: {:?}", read[cut]);
    };
    assert_eq!(read, msgs);
    assert_eq!(
        (gap.stretch.before.as_str(), gap.stretch.after.as_str()),
        (
            both.display().to_string().as_str(),
            format!("{} from line {}", both.display(), count_lines(&first) + 1).as_str()
        )
    );
    // The same recording twice (`cat j.jsonl j.jsonl`): read once.
    write(&[&first, &first]);
    let twice = load(&both).unwrap();
    assert_eq!(twice.messages, &msgs[..cut]);
    assert_eq!(twice.problem_summary(), None);
    // Damage in the second part is said at its line in the file.
    let mut damaged = second.clone();
    damaged.extend_from_slice(b"{\"type\":\"fork\"\n");
    write(&[&first, &damaged]);
    let loaded = load(&both).unwrap();
    assert_eq!(loaded.messages, msgs);
    let problem = loaded.problems.first().expect("the damaged line");
    assert_eq!(problem.line, count_lines(&first) + count_lines(&damaged));
    assert_eq!(problem.file, None, "one file: its lines are numbered");

    // Two recorders' journals joined: refused in one line that names the
    // file and the line the second begins at.
    let at = count_lines(&first) + 1;
    let mut later: Vec<Message> = msgs
        .iter()
        .filter(|m| matches!(m, Message::Seed(_) | Message::Cgroup { .. }))
        .cloned()
        .collect();
    // Its own scan, then the events from a few before the first ended.
    later.extend(
        msgs[cut - 5..]
            .iter()
            .filter(|m| matches!(m, Message::Event(_)))
            .cloned(),
    );
    let overlapping = journal_bytes(&header(), &later);
    write(&[&first, &overlapping]);
    let e = format!("{:#}", load(&both).unwrap_err());
    assert!(
        e.contains("both.jsonl")
            && e.contains("overlap in time")
            && e.contains(&format!("line {at}")),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // Beside another file, the part is named by its file and line.
    let alone = dir.path().join("first.jsonl");
    std::fs::write(&alone, &first).unwrap();
    write(&[&second, &overlapping]);
    let e = format!(
        "{:#}",
        load_all(&[alone.clone(), both.clone()]).unwrap_err()
    );
    assert!(
        e.contains("first.jsonl and ")
            && e.contains(&format!(
                "both.jsonl from line {}",
                count_lines(&second) + 1
            ))
            && e.contains("overlap in time"),
        "{e}"
    );
    // Another host's or boot's recording in the file: refused the same way.
    let other = Header {
        boot_time_ns: header().boot_time_ns + 3_600_000_000_000,
        ..header()
    };
    write(&[&first, &journal_bytes(&other, &msgs[cut..])]);
    let e = format!("{:#}", load(&both).unwrap_err());
    assert!(
        e.contains("both.jsonl")
            && e.contains("different hosts or boots")
            && e.contains(&format!("line {at}")),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");

    // A header this causeway cannot read (a newer format's) in the middle:
    // its lines are skipped, and said so; the lines before it are kept.
    let newer = br#"{"type":"header","format":"causeway-journal","version":99}"#;
    write(&[
        &first,
        newer,
        b"\n",
        &second[second.iter().position(|&b| b == b'\n').unwrap() + 1..],
    ]);
    let loaded = load(&both).unwrap();
    assert_eq!(loaded.messages, &msgs[..cut]);
    let [problem] = &loaded.problems[..] else {
        panic!("one problem: {:?}", loaded.problems)
    };
    assert_eq!(problem.line, at);
    assert!(
        problem.reason.contains("version 99")
            && problem
                .reason
                .contains(&format!("{} lines after it", count_lines(&second) - 1)),
        "{problem}"
    );
}

#[test]
fn a_byte_order_mark_an_editor_put_first_is_passed_over() {
    use crate::ui::synth::{demo, header};
    let msgs = demo();
    let bom = b"\xef\xbb\xbf";
    let plain = journal_bytes(&header(), &msgs);
    // Saved by an editor that marks UTF-8 (before: 'its first line is not
    // a causeway header').
    let marked = [&bom[..], &plain].concat();
    let loaded = read(&marked[..]).unwrap();
    assert_eq!(loaded.messages, msgs);
    assert_eq!(loaded.problem_summary(), None);
    // Such a file joined after another: its header still begins a part.
    let cut = msgs.len() / 2;
    let continued = Header {
        continued: true,
        ..header()
    };
    let joined = [
        journal_bytes(&header(), &msgs[..cut]),
        bom.to_vec(),
        journal_bytes(&continued, &msgs[cut..]),
    ]
    .concat();
    let loaded = read(&joined[..]).unwrap();
    assert_eq!(loaded.messages, msgs);
    assert_eq!(loaded.problem_summary(), None);
    // A mark anywhere else in a line is not passed over.
    let e = read(&[&b" "[..], bom, &plain].concat()[..]).unwrap_err();
    assert!(e.to_string().contains("not a causeway header"), "{e}");
}

#[test]
fn a_damaged_header_line_is_one_bad_line() {
    use crate::ui::synth::{demo, header};
    let msgs = demo();
    let cut = msgs.len() / 2;
    let whole = journal_bytes(&header(), &msgs);
    // A header line, not ours (a hand edit, a flipped bit), among the
    // events: the lines after it are read as before.
    let text = String::from_utf8(whole).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let at = lines.len() - (msgs.len() - cut);
    lines.insert(
        at,
        r#"{"type":"header","format":"not-causeway","version":1}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let loaded = load(&path).unwrap();
    assert_eq!(loaded.messages, msgs, "nothing good lost");
    assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
}

#[test]
fn one_damaged_time_does_not_refuse_a_rotated_journal() {
    use crate::ui::synth::{demo, header};
    let msgs = demo();
    let cut = msgs.len() / 2;
    // The first file's last event has a time years later (a flipped bit).
    let mut early = msgs[..cut].to_vec();
    if let Some(Message::Event(ev)) = early
        .iter_mut()
        .rev()
        .find(|m| matches!(m, Message::Event(_)))
    {
        ev.ktime += 1 << 50;
    }
    let continued = Header {
        continued: true,
        ..header()
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("j.jsonl.1"), dir.path().join("j.jsonl"));
    std::fs::write(&a, journal_bytes(&header(), &early)).unwrap();
    std::fs::write(&b, journal_bytes(&continued, &msgs[cut..])).unwrap();
    let (loaded, _) = load_all(&[a, b]).expect("one recording");
    assert_eq!(loaded.messages.len(), msgs.len());
}

#[test]
fn a_recording_after_another_ends_what_it_does_not_list() {
    use crate::event::{Gap, SeedSocket};
    use crate::graph::{CausalTree, ConnState};
    use crate::ui::synth::Synth;

    // The first recording: nginx listening, curl connected to it, a sleep.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let nginx = s.spawn(init, 0, "/usr/sbin/nginx", &["nginx"]);
    s.listen((nginx, init), 80);
    let curl = s.spawn(init, 1000, "/usr/bin/curl", &["curl", "http://127.0.0.1/"]);
    s.local_tcp((curl, init), (nginx, init), 80);
    let sleep = s.spawn(init, 1000, "/usr/bin/sleep", &["sleep", "1000"]);
    let first = s.messages.clone();
    let ended = s.now - 1_000_000;
    // The next, a minute later: its /proc scan (starts at 10 ms) lists
    // systemd and nginx, its socket listing nginx's listener; curl, the
    // sleep and the connection had ended by then.
    let began = ended + 60_000_000_000;
    let tick = |k: ProcKey| ProcKey::new(k.pid, k.start / 10_000_000 * 10_000_000);
    let mut next: Vec<Message> = [(init, None), (nginx, Some(init))]
        .into_iter()
        .map(|(p, parent)| {
            Message::Seed(SeedProcess {
                proc: tick(p),
                parent,
                comm: "x".into(),
                ..Default::default()
            })
        })
        .collect();
    let listener = first.iter().find_map(|m| match m {
        Message::Event(ev) if ev.proc == nginx => SeedSocket::from_event(ev),
        _ => None,
    });
    let listener = listener.expect("nginx listens");
    next.push(Message::Socket(SeedSocket {
        seen: began,
        actor: crate::event::Actor {
            proc: tick(nginx),
            ..listener.actor
        },
        ..listener.clone()
    }));
    s.messages.clear();
    s.now = began + 1_000_000;
    s.spawn(init, 0, "/usr/bin/make", &["make"]);
    next.extend(s.messages.iter().cloned());

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("j.jsonl.1"), dir.path().join("j.jsonl"));
    std::fs::write(&a, journal_bytes(&header(), &first)).unwrap();
    // Read with the first as a recording after it, whose header says
    // `next_header`.
    let read = |next_header: &Header| {
        std::fs::write(&b, journal_bytes(next_header, &next)).unwrap();
        let (loaded, _) = load_all(&[b.clone(), a.clone()]).unwrap();
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        let gaps: Vec<Gap> = loaded
            .messages
            .iter()
            .filter_map(|m| match m {
                Message::Gap(g) => Some((**g).clone()),
                _ => None,
            })
            .collect();
        let others: Vec<Message> = loaded
            .messages
            .iter()
            .filter(|m| !matches!(m, Message::Gap(_)))
            .cloned()
            .collect();
        assert_eq!(others, [first.clone(), next.clone()].concat());
        (gaps, CausalTree::from_messages(&loaded.messages))
    };

    // A recorder restarted: another run (its first file, or a later one).
    let restarted = Header {
        run: Some(7_000_000_000),
        ..header()
    };
    let later_file = Header {
        continued: true,
        file: Some(3),
        ..restarted.clone()
    };
    for h in [&restarted, &later_file] {
        let (gaps, tree) = read(h);
        let [gap] = &gaps[..] else {
            panic!("one gap: {gaps:?}")
        };
        assert_eq!(
            (gap.stretch.before.as_str(), gap.stretch.after.as_str()),
            (a.to_str().unwrap(), b.to_str().unwrap())
        );
        assert_eq!(
            (gap.stretch.from, gap.stretch.to, gap.stretch.files),
            (ended, began, None)
        );
        // The third file of its run, the first read: its run began before
        // it, in files not read (removed by --keep, or not given).
        let first_read = h.continued.then_some(3);
        assert_eq!(gap.stretch.first_read, first_read);
        assert_eq!(gap.procs, [tick(init), tick(nginx)]);
        assert_eq!(gap.sockets, [listener.cookie]);
        let node = |k| tree.node(tree.find(k).unwrap());
        for p in [sleep, curl] {
            let n = node(p);
            assert!(!n.is_alive(), "{p}: not listed, so ended");
            assert_eq!(
                (n.gone, n.exit_time, n.exit),
                (Some(ended), Some(began), None)
            );
        }
        assert!(node(nginx).is_alive() && node(nginx).gone.is_none());
        assert_eq!(
            tree.nodes().filter(|(_, n)| n.key.pid == nginx.pid).count(),
            1,
            "listed again: the same process"
        );
        let states: Vec<(u64, ConnState)> =
            tree.conns().iter().map(|c| (c.cookie, c.state)).collect();
        assert_eq!(
            states,
            [
                (listener.cookie, ConnState::Listening),
                (listener.cookie + 1, ConnState::Gone),
                (listener.cookie + 2, ConnState::Gone)
            ]
        );
        let said = crate::ui::format::gaps(
            tree.gaps(),
            header().boot_time_ns,
            chrono::Offset::fix(&chrono::Utc),
        )
        .unwrap();
        let (opens, after) = if first_read.is_some() {
            (
                "a gap of 1m00s between recordings: files 1 to 2 of the later one were not \
                 read, removed by --keep or not given (",
                format!("{}, file 3, began ", b.display()),
            )
        } else {
            (
                "a gap of 1m00s between recordings (",
                format!("{} began ", b.display()),
            )
        };
        assert!(
            said.starts_with(opens)
                && said.contains(&format!("{} ended ", a.display()))
                && said.contains(&after)
                && said.ends_with(" UTC): 2 processes and 2 connections ended unseen in it"),
            "{said}"
        );
    }

    // The next file of the same run: nothing is marked (what it does not
    // list ended while the recorder watched, and its ends are in the
    // files).
    let rotated = Header {
        continued: true,
        file: Some(2),
        ..header()
    };
    let (gaps, tree) = read(&rotated);
    assert!(gaps.is_empty(), "{gaps:?}");
    assert!(tree.gaps().is_empty());
    assert!(tree.node(tree.find(sleep).unwrap()).is_alive());
    // So with journals older than file numbers, whose one run's files
    // share one header.
    let old = |continued| Header {
        continued,
        run: None,
        file: None,
        ..header()
    };
    std::fs::write(&a, journal_bytes(&old(false), &first)).unwrap();
    assert!(read(&old(true)).0.is_empty());
    std::fs::write(&a, journal_bytes(&header(), &first)).unwrap();

    // A file of the same run with two missing between (`j.jsonl.3` and
    // `j.jsonl` given, not `j.jsonl.2` and `j.jsonl.1`): a gap too.
    let fourth = Header {
        file: Some(4),
        ..rotated
    };
    let (gaps, tree) = read(&fourth);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].stretch.files, Some((1, 4)));
    assert!(!tree.node(tree.find(sleep).unwrap()).is_alive());
    let said = crate::ui::format::gaps(
        tree.gaps(),
        header().boot_time_ns,
        chrono::Offset::fix(&chrono::Utc),
    )
    .unwrap();
    assert!(
        said.starts_with("a gap of 1m00s: files 2 to 3 of the recording are missing (")
            && said.contains(&format!("{}, file 1, ended ", a.display())),
        "{said}"
    );
}

#[test]
fn a_recording_in_which_nothing_happened_is_read_from_when_it_began() {
    use crate::graph::CausalTree;
    use crate::ui::synth::Synth;
    // An idle host: the first recording holds its process list alone (no
    // time in it but its recorder's start, 5 s after boot).
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sleep = s.seed(2000, Some(init), "sleep", &["sleep", "1000"]);
    let first = s.messages.clone();
    // The next, a recorder started later: systemd alone, then events.
    s.messages.clear();
    s.seed(1, None, "systemd", &["systemd"]);
    s.spawn(init, 0, "/usr/bin/make", &["make"]);
    let next = s.messages.clone();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("j.jsonl.1"), dir.path().join("j.jsonl"));
    std::fs::write(&a, journal_bytes(&header(), &first)).unwrap();
    let restarted = Header {
        run: Some(90_000_000_000),
        ..header()
    };
    std::fs::write(&b, journal_bytes(&restarted, &next)).unwrap();
    // Before, it was read last (it holds no time): the sleep ran on.
    let (loaded, order) = load_all(&[b.clone(), a.clone()]).unwrap();
    assert_eq!(order, [a, b]);
    let gap = loaded.messages.iter().find_map(|m| match m {
        Message::Gap(g) => Some(g),
        _ => None,
    });
    let gap = gap.expect("a gap before the second");
    assert_eq!(
        (gap.stretch.from, gap.stretch.to),
        (5_000_000_000, 100_000_000_000)
    );
    let tree = CausalTree::from_messages(&loaded.messages);
    assert!(!tree.node(tree.find(sleep).unwrap()).is_alive());
    assert!(tree.node(tree.find(init).unwrap()).is_alive());
}

#[test]
fn an_exec_line_without_the_file_it_ran_loads_and_says_it_not_known() {
    // As written before causeway recorded the file.
    let old = br#"{"type":"exec","time":"2026-01-01T00:00:00Z","ktime":5,"pid":7,"tid":7,"start":3,"ppid":1,"pstart":1,"uid":0,"gid":0,"cgroup":1,"comm":"x","exe":"./x","argv":["./x"],"argv_truncated":false,"old_tid":0}"#;
    let mut bytes = write(&[]);
    bytes.extend_from_slice(old);
    bytes.push(b'\n');
    let loaded = read(&bytes[..]).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let Some(Message::Event(ev)) = loaded.messages.last() else {
        panic!("not read: {:?}", loaded.messages);
    };
    let EventKind::Exec(x) = &ev.kind else {
        panic!("not an exec")
    };
    assert_eq!(
        (x.exe.as_slice(), x.file.as_slice(), x.deleted),
        (&b"./x"[..], &b""[..], false)
    );
    assert_eq!(x.program(), b"./x");
}
