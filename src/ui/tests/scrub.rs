//! Scrubbing back in time: the tree, a process and its connections as
//! they were at a moment, and the keys that move the moment.

use super::{draw, live, screen};
use crate::event::{Direction, ExitStatus, NetKind};
use crate::graph::ConnState;
use crate::graph::NodeId;
use crate::ui::app::App;
use crate::ui::at::{alive_at, conn_state, node_at, step};
use crate::ui::keys::Action;
use crate::ui::rows::Item;
use crate::ui::synth::Synth;

/// init > bash; bash runs `make` (which exec's `cc` and exits 2) and
/// then `curl`, which connects to a listener of init's and closes.
/// Returns the messages and moments between events (each just before the
/// next event): after bash started, after make exec'd, after make
/// exited, after curl connected, after curl's close.
fn story() -> (Vec<crate::event::Message>, [u64; 5]) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let bash = s.spawn(init, 1000, "/bin/bash", &["bash"]);
    let t0 = s.now - 1;
    let make = s.spawn(bash, 1000, "/usr/bin/make", &["make"]);
    s.exec(make, bash, 1000, "/usr/bin/cc", &["cc", "x.c"]);
    let t1 = s.now - 1;
    s.exit(make, bash, ExitStatus::Code(2));
    let t2 = s.now - 1;
    let curl = s.spawn(bash, 1000, "/usr/bin/curl", &["curl", "localhost"]);
    s.local_tcp((curl, bash), (init, Default::default()), 80);
    let t3 = s.now - 1;
    let addr = "127.0.0.1:40000".parse().unwrap();
    let server = "127.0.0.1:80".parse().unwrap();
    s.net(
        (curl, bash),
        NetKind::Close,
        Direction::Outbound,
        addr,
        server,
        1,
    );
    let t4 = s.now - 1;
    (s.messages, [t0, t1, t2, t3, t4])
}

#[test]
fn a_process_is_shown_as_it_was() {
    let (msgs, [t0, t1, t2, t3, t4]) = story();
    let app = live(&msgs);
    let tree = &app.tree;
    let make = tree.find_pid(1001).expect("make");
    // Before it started: no exec, not ended. After its exec: cc. After it
    // exited: exit 2.
    let at = node_at(tree, make, Some(t0));
    assert!(at.execs.is_empty() && at.is_alive());
    let at = node_at(tree, make, Some(t1));
    assert_eq!(at.display_name(), "cc");
    assert!(at.is_alive(), "running at t1");
    let at = node_at(tree, make, Some(t2));
    assert_eq!(at.exit, Some(ExitStatus::Code(2)));
    assert_eq!(node_at(tree, make, None).exit, Some(ExitStatus::Code(2)));
    // curl's connection: not yet, open, closed.
    let curl = tree.find_pid(1002).expect("curl");
    assert!(node_at(tree, curl, Some(t2)).conns.is_empty());
    let at = node_at(tree, curl, Some(t3));
    assert_eq!(at.conns.len(), 1);
    let c = tree.conn(at.conns[0]);
    assert_eq!(conn_state(c, Some(t3)), ConnState::Open);
    assert_eq!(conn_state(c, Some(t4)), ConnState::Closed);
    assert_eq!(at.counts(tree, Some(t3)).open, 1);
    assert_eq!(node_at(tree, curl, Some(t4)).counts(tree, Some(t4)).open, 0);
    // Running at each moment: init, bash (+ make until t2; + curl from t3).
    assert_eq!(alive_at(tree, t1).0, 3);
    assert_eq!(alive_at(tree, t2).0, 2);
    assert_eq!(alive_at(tree, t4).0, 3);
    // Started by each: make by t1, curl only by t3.
    assert_eq!(alive_at(tree, t1).1, 3);
    assert_eq!(alive_at(tree, t2).1, 3);
    assert_eq!(alive_at(tree, t4).1, 4);
    // Steps go from one start or end to the next.
    assert_eq!(step(tree, t2, false, 0), tree.node(make).exit_time);
    assert!(step(tree, t2, true, 0).is_some_and(|m| m > t2));
}

/// The story live, a second after its last event, with `pid` selected.
fn live_selecting(pid: u32) -> (App, NodeId, [u64; 5]) {
    let (msgs, times) = story();
    let mut app = live(&msgs);
    app.now = app.tree.last_ktime() + 1_000_000_000;
    let id = app.tree.find_pid(pid).expect("in the story");
    app.selected = Some(Item::Node(id));
    (app, id, times)
}

#[test]
fn keys_scrub_back_and_forward_and_equals_returns_to_now() {
    let (mut app, curl, [_, _, t2, _, _]) = live_selecting(1002);
    let rows_now = app.rows.total(&app.tree);
    // Back, one moment at a time, to before curl started: the selection
    // goes to its parent, bash, and curl's row is gone.
    while app.at.is_none_or(|t| t >= app.tree.node(curl).key.start) {
        app.handle(Action::ScrubPrev);
    }
    let bash = app.tree.find_pid(1000).expect("bash");
    assert_eq!(app.selected, Some(Item::Node(bash)));
    assert_eq!(app.rows.total(&app.tree), rows_now - 1);
    assert!(app.rows.row_of(&app.tree, Item::Node(curl)).is_none());
    let s = screen(&draw(&mut app, 120, 30));
    assert!(s.contains(" AT "), "{s}");
    assert!(s.contains("before now"), "{s}");
    // The status bar counts what had started by then: not curl.
    let procs = format!(" / {} procs", app.tree.len() - 1);
    assert!(s.contains(&procs), "{procs}: {s}");
    // Make had exited by then.
    let make = app.tree.find_pid(1001).expect("make");
    assert!(app.at.is_some_and(|t| t < t2));
    assert!(node_at(&app.tree, make, app.at).exit.is_some());
    // Ten seconds back goes no earlier than causeway began.
    app.handle(Action::ScrubBack);
    assert_eq!(app.at, Some(crate::ui::at::floor(&app.tree)));
    let s = screen(&draw(&mut app, 120, 30));
    assert!(!s.contains("make"), "make had not started: {s}");
    // Forward past the last event: now again.
    app.handle(Action::ScrubForward);
    app.handle(Action::ScrubForward);
    assert_eq!(app.at, None);
    app.handle(Action::ScrubPrev);
    assert!(app.at.is_some());
    app.handle(Action::ScrubNow);
    assert_eq!(app.at, None);
    assert_eq!(app.rows.total(&app.tree), rows_now);
    let s = screen(&draw(&mut app, 120, 30));
    assert!(!s.contains(" AT "), "{s}");
}

#[test]
fn parens_step_through_what_the_selection_did_only() {
    let (mut app, curl, [_, _, t2, _, _]) = live_selecting(1002);
    let mut stops = Vec::new();
    let mut said = Vec::new();
    for _ in 0..10 {
        app.handle(Action::ScrubPrevHere);
        match app.at {
            Some(t) if stops.last() != Some(&t) => {
                stops.push(t);
                said.push(app.flash.clone().unwrap_or_default());
            }
            _ => break,
        }
    }
    // Each says what happened then, and to whom.
    assert!(
        said[0].starts_with("1002 curl: its connection to 127.0.0.1:80 ended"),
        "{said:?}"
    );
    assert!(
        said.iter()
            .any(|s| s.starts_with("1002 curl connected to 127.0.0.1:80")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|s| s.starts_with("1002 exec'd curl")),
        "{said:?}"
    );
    assert!(
        said.last()
            .is_some_and(|s| s.starts_with("1002 ") && s.contains(" started")),
        "{said:?}"
    );
    // Its close, its connect, its exec and its start; none of make's,
    // which `[` stops at too.
    let start = app.tree.node(curl).key.start;
    assert_eq!(stops.last(), Some(&start), "{stops:?}");
    assert!(stops.len() >= 3, "{stops:?}");
    assert!(stops.iter().all(|&t| t >= start && t > t2), "{stops:?}");
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.starts_with("nothing earlier under it")),
        "{:?}",
        app.flash
    );
    assert_eq!(app.selected, Some(Item::Node(curl)));
    // Forward the same way, then now.
    for &t in stops.iter().rev().skip(1) {
        app.handle(Action::ScrubNextHere);
        assert_eq!(app.at, Some(t));
    }
    app.handle(Action::ScrubNextHere);
    assert_eq!(app.at, None);
}

#[test]
fn scrubbed_back_a_finished_process_shows_running() {
    let (mut app, _, [_, t1, _, _, _]) = live_selecting(1001);
    // Scrub back until make ran cc, before it exited.
    while app.at.is_none_or(|t| t > t1) {
        app.handle(Action::ScrubPrev);
    }
    let s = screen(&draw(&mut app, 160, 40));
    assert!(s.contains("1001 cc"), "{s}");
    assert!(s.contains("running"), "{s}");
    assert!(!s.contains("exit 2"), "{s}");
    app.handle(Action::ScrubNow);
    let s = screen(&draw(&mut app, 160, 40));
    assert!(s.contains("exit 2"), "{s}");
}

#[test]
fn scrubbed_back_find_sees_only_the_connections_made_by_then() {
    let (mut app, _, [_, _, t2, t3, _]) = live_selecting(1000);
    app.at = Some(t2);
    assert_eq!(app.find(":80", true), None, "no connection yet at t2");
    // Searched for by hand, it says why nothing was found.
    app.handle(Action::StartSearch);
    for c in ":80".chars() {
        app.handle(Action::SearchInput(c));
    }
    app.handle(Action::SearchSubmit);
    let flash = app.flash.clone().unwrap_or_default();
    assert!(flash.contains("by this time"), "{flash}");
    app.at = Some(t3);
    let (id, conn) = app.find(":80", true).expect("connected by t3");
    assert!(matches!(app.tree.node(id).key.pid, 1 | 1002));
    assert_eq!(conn, Some(0));
    app.at = None;
    assert!(app.find(":80", true).is_some());
}

#[test]
fn a_time_typed_names_a_moment() {
    use crate::ui::at::parse_moment;
    use chrono::FixedOffset;
    // Booted 2026-01-01T00:00:00Z; now is 15:00:00 at +01:00, a day and
    // 14 hours later.
    let header = crate::ui::synth::header();
    let tz = FixedOffset::east_opt(3600).unwrap();
    const S: u64 = 1_000_000_000;
    let now = (24 + 14) * 3600 * S;
    let at = |text: &str| parse_moment(text, now, &header, tz);
    assert_eq!(at("-5m"), Ok(now - 300 * S));
    assert_eq!(at(" -1h30m "), Ok(now - 5400 * S));
    // A time of day: today's, if not after now, else yesterday's.
    assert_eq!(at("14:02"), Ok(now - 58 * 60 * S));
    assert_eq!(at("14:02:30"), Ok(now - (57 * 60 + 30) * S));
    // Events of interest are milliseconds apart: fractions of a second.
    assert_eq!(at("14:02:30.250"), Ok(now - (57 * 60 + 30) * S + S / 4));
    assert_eq!(
        at("2026-01-02 14:02:30.7"),
        Ok(now - (57 * 60 + 30) * S + 7 * S / 10)
    );
    assert_eq!(at("15:00"), Ok(now));
    assert_eq!(at("16:00"), Ok(now - 23 * 3600 * S));
    // A date and time, in the view's zone.
    assert_eq!(at("2026-01-02 14:02"), at("14:02"));
    assert_eq!(at("2026-01-02T14:02:30"), at("14:02:30"));
    assert_eq!(at("2026-01-01 01:00"), Ok(0), "the boot itself");
    let e = at("2025-12-31 23:00").unwrap_err();
    assert!(e.contains("before this host booted"), "{e}");
    for bad in ["soon", "25:00", "14", "-", "-5 parsecs", "2026-13-01 10:00"] {
        let e = at(bad).unwrap_err();
        assert!(e.contains("is not a time"), "{bad}: {e}");
    }
}

#[test]
fn t_goes_to_a_time_and_says_where_the_record_begins() {
    let (mut app, _, [_, t1, _, _, _]) = live_selecting(1001);
    app.tz = chrono::FixedOffset::east_opt(0).unwrap();
    assert_eq!(
        crate::ui::keys::key_to_action(
            ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char(
                't'
            )),
            crate::ui::keys::Mode::Tree
        ),
        Some(Action::StartTime)
    );
    let go = |app: &mut App, text: &str| {
        app.handle(Action::StartTime);
        assert_eq!(app.input_mode(), crate::ui::keys::Mode::Time);
        for c in text.chars() {
            app.handle(Action::SearchInput(c));
        }
        app.handle(Action::SearchSubmit);
        assert_eq!(app.input_mode(), crate::ui::keys::Mode::Tree);
    };
    // t1 as a time of day, to the second: the moment shown is within that
    // second, and make ran cc then.
    let wall = app.header.wall_time(t1);
    go(&mut app, &wall.format("%H:%M:%S").to_string());
    let said = |app: &App, what: &str| {
        let flash = app.flash.clone().unwrap_or_default();
        assert!(flash.contains(what), "{flash:?} does not say {what:?}");
    };
    let at = app.at.expect("scrubbed back");
    assert!(at <= t1 && t1 - at < 1_000_000_000, "{at} for {t1}");
    said(&app, "at ");
    // Long before: shown from where causeway's record begins, and said.
    go(&mut app, "-1h");
    assert_eq!(app.at, Some(crate::ui::at::floor(&app.tree)));
    said(&app, "record begins");
    // Not a time: said, and the moment stays.
    go(&mut app, "lunch");
    assert_eq!(app.at, Some(crate::ui::at::floor(&app.tree)));
    said(&app, "not a time");
    // Now or later: now.
    go(&mut app, "-0s");
    assert_eq!(app.at, None);
}

#[test]
fn a_connect_that_never_got_established_was_connecting_until_it_ended() {
    use crate::event::{Ending, TCP_SYN_SENT};
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl", "10.88.0.2:81"]);
    let local = "10.0.0.1:40046".parse().unwrap();
    let remote = "10.88.0.2:81".parse().unwrap();
    let called = s.now;
    s.now += 19_000_000_000;
    s.net(
        (curl, init),
        NetKind::Connect,
        Direction::Outbound,
        local,
        remote,
        7,
    );
    if let Some(crate::event::Message::Event(ev)) = s.messages.last_mut() {
        if let crate::event::EventKind::Net(n) = &mut ev.kind {
            n.opened = called;
        }
    }
    let timed_out = Ending {
        error: 110,
        from: TCP_SYN_SENT,
    };
    s.close(
        (curl, init),
        Direction::Outbound,
        (local, remote),
        7,
        (0, 0),
        timed_out,
    );
    let app = live(&s.messages);
    let tree = &app.tree;
    let c = &tree.conns()[0];
    assert_eq!(c.start, called, "from its connect() call");
    let during = called + 10_000_000_000;
    assert_eq!(conn_state(c, Some(during)), ConnState::Connecting);
    assert_eq!(conn_state(c, None), ConnState::Closed);
    let id = tree.find_pid(curl.pid).expect("curl");
    let counts = node_at(tree, id, Some(during)).counts(tree, Some(during));
    assert_eq!((counts.open, counts.connecting), (1, 1));
}

#[test]
fn scrubbed_back_before_a_rename_a_process_has_its_programs_name() {
    let (s, _, miner) = crate::ui::synth::renamed_miner();
    let mut app = live(&s.messages);
    let id = app.tree.find(miner).expect("the miner");
    let since = app.tree.node(id).renamed_at.expect("renamed");
    // Nor does its detail pane give the name it took later.
    app.selected = Some(Item::Node(id));
    app.at = Some(since - 1);
    let scr = screen(&draw(&mut app, 160, 30));
    assert!(!scr.contains("kworker"), "{scr}");
    app.at = None;
    let scr = screen(&draw(&mut app, 160, 30));
    assert!(scr.contains("comm kworker/0:1"), "{scr}");
    let before = node_at(&app.tree, id, Some(since - 1));
    assert_eq!(before.renamed_to(Some(since - 1)), None);
    let after = node_at(&app.tree, id, Some(since));
    assert_eq!(
        after.renamed_to(Some(since)).as_deref(),
        Some("kworker/0:1")
    );
    assert!(node_at(&app.tree, id, None).renamed_to(None).is_some());
}

#[test]
fn a_rename_with_no_event_since_is_seen_by_the_live_views_sampling() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let miner = s.spawn(init, 0, "/usr/bin/python3", &["python3", "kw.py"]);
    let mut app = live(&s.messages);
    let id = app.tree.find(miner).expect("the miner");
    assert_eq!(node_at(&app.tree, id, None).renamed_to(None), None);
    let sample = crate::usage::Sample {
        comms: vec![(miner, "kworker/0:1".into())],
        ..Default::default()
    };
    let t = app.tree.last_ktime() + 2_000_000_000;
    app.sampled(sample, t);
    let at = node_at(&app.tree, id, None);
    assert_eq!(at.renamed_to(None).as_deref(), Some("kworker/0:1"));
    assert_eq!(app.tree.node(id).renamed_at, Some(t));
    let s = screen(&draw(&mut app, 160, 30));
    assert!(s.contains("python3 (comm kworker/0:1)"), "{s}");
}

#[test]
fn a_sample_read_before_an_exec_is_not_taken_for_a_rename() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let sh = s.spawn(init, 0, "/bin/sh", &["sh", "-c", "exec sleep 9"]);
    // Its exec comes at `s.now`: the sample was read just before.
    let sampled_at = s.now - 1;
    s.exec(sh, init, 0, "/usr/bin/sleep", &["sleep", "9"]);
    let mut app = live(&s.messages);
    // Read while it still ran sh, applied after its exec of sleep.
    let sample = crate::usage::Sample {
        comms: vec![(sh, "sh".into())],
        ..Default::default()
    };
    app.sampled(sample, sampled_at);
    let id = app.tree.find(sh).expect("sh");
    assert_eq!(node_at(&app.tree, id, None).renamed_to(None), None);
    assert_eq!(app.tree.node(id).comm.as_str(), "sleep");
}
