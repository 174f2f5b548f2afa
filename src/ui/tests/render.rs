//! Rendering into a `TestBackend`: contents at 80x24, 200x50 and a size
//! too small, and the styles that carry meaning.

use ratatui::style::{Color, Modifier};

use super::*;
use crate::event::{ExitStatus, ProcKey};
use crate::journal::Problem;
use crate::ui::keys::Action;
use crate::ui::rows::Item;
use crate::ui::synth::Synth;
use crate::ui::theme::Theme;

fn cell_at(buf: &Buffer, needle: &str) -> ratatui::buffer::Cell {
    let (x, y) =
        find(buf, needle).unwrap_or_else(|| panic!("{needle:?} not on screen:\n{}", screen(buf)));
    buf[(x, y)].clone()
}

fn select_pid(app: &mut App, pid: u32) {
    let id = app.tree.find_pid(pid).expect("pid in tree");
    app.rows.reveal(&app.tree, Item::Node(id));
    app.selected = Some(Item::Node(id));
    app.fix_view();
}

#[test]
fn empty_trees_say_so() {
    let mut app = live(&[]);
    let buf = draw(&mut app, 80, 24);
    let s = screen(&buf);
    assert!(s.contains(" LIVE "), "{s}");
    assert!(s.contains("0 alive / 0 procs"), "{s}");
    assert!(s.contains("Waiting for processes…"), "{s}");
    assert!(s.contains("Nothing selected."), "{s}");
    assert!(lines(&buf)[23].contains("? help"), "footer");

    let mut app = replay(vec![], vec![]);
    let s = screen(&draw(&mut app, 80, 24));
    assert!(s.contains(" REPLAY "), "{s}");
    assert!(s.contains("This journal holds no processes."), "{s}");
}

#[test]
fn demo_at_80x24() {
    let mut app = replay(synth::demo(), vec![]);
    app.handle(Action::First);
    select_pid(&mut app, 1004);
    let buf = draw(&mut app, 80, 24);
    let l = lines(&buf);
    let s = screen(&buf);
    assert!(l[0].starts_with(" REPLAY "), "{s}");
    assert!(l[0].contains("11 alive / 15 procs"), "{s}");
    assert!(l[1].contains("Processes · trace.jsonl · testhost"), "{s}");
    // A figure that does not fit is left out whole, not cut: scrubbed
    // back, the moment takes most of the bar.
    app.status.mem = Some(79_700 * 1024 * 1024);
    app.handle(Action::ScrubPrev);
    let l = lines(&draw(&mut app, 80, 24));
    let bar = l[0].trim_end();
    assert!(bar.contains(" AT "), "{bar}");
    assert!(!bar.ends_with(|c: char| c.is_ascii_digit()), "{bar}");
    assert!(!bar.contains("mem") || bar.ends_with("GiB"), "{bar}");
    assert!(!bar.contains("lost") || bar.contains("lost 0"), "{bar}");
    assert!(!bar.ends_with('│'), "{bar}");
    app.handle(Action::ScrubNow);
    // The tree with its guide lines, from the root down.
    assert!(l[2].starts_with("s ▾ 1 systemd  --system"), "{s}");
    assert!(l[3].starts_with("s ├─ ▾ 500 sshd  -D"), "{s}");
    assert!(l[5].starts_with("+ │     └─ ▾ 1001 bash "), "{s}");
    assert!(l[6].contains("├─ ▾ 1002 make  -j2 all"), "{s}");
    assert!(l[8].contains("│  └─   1004 cc  -c broken.c"), "{s}");
    assert!(l[8].contains("alice"), "user names from passwd: {s}");
    assert!(l[8].trim_end().ends_with("exit 1"), "{s}");
    assert!(s.contains("SIGKILL"), "{s}");
    assert!(s.contains("curl ↗1"), "connection marker: {s}");
    assert!(s.contains("nginx ↙1 ◉1"), "{s}");
    assert!(
        s.contains("▸ 2 kthreadd (3)"),
        "kthreadd folded, its children counted: {s}"
    );
    assert!(
        !s.contains("systemd (") && !s.contains("sshd ("),
        "expanded rows have no count: {s}"
    );
    // Every row fits the width.
    for line in &l {
        assert_eq!(line.chars().count(), 80);
    }
    // The detail pane: identity, parent, times, user, exe, argv, status.
    let d = l[15..23].join("\n");
    assert!(l[14].contains("1004 cc"), "{s}");
    assert!(d.contains("process  cc  pid 1004"), "{d}");
    assert!(d.contains("started  2026-01-01 00:01:40"), "{d}");
    assert!(d.contains("after 2ms  exit 1"), "{d}");
    assert!(d.contains("parent   1002 make"), "{d}");
    assert!(d.contains("user     alice (uid 1000, gid 1000)"), "{d}");
    assert!(d.contains("cgroup   42 (no name known)"), "{d}");
    assert!(d.contains("exe      /usr/bin/cc"), "{d}");
    assert!(d.contains("argv     cc -c broken.c"), "{d}");
    assert!(!d.contains("netns"), "no connection, no namespace: {d}");
}

#[test]
fn the_detail_names_the_network_namespace_of_a_process_with_connections() {
    let mut app = replay(synth::demo(), vec![]);
    select_pid(&mut app, 1006);
    let s = screen(&draw(&mut app, 200, 50));
    let ns = crate::ui::synth::HOST_NETNS;
    assert!(s.contains(&format!("  netns {ns}")), "{s}");
}

#[test]
fn styles_carry_meaning() {
    let mut app = replay(synth::demo(), vec![]);
    select_pid(&mut app, 1);
    let buf = draw(&mut app, 80, 24);
    // Non-zero exit and signals stand out; success does not.
    let bad = cell_at(&buf, "exit 1");
    assert_eq!(bad.fg, Color::LightRed);
    assert!(bad.modifier.contains(Modifier::BOLD));
    let killed = cell_at(&buf, "SIGKILL");
    assert_eq!(killed.fg, Color::LightRed);
    let ok = cell_at(&buf, "exit 0");
    assert_ne!(ok.fg, Color::LightRed);
    assert!(ok.modifier.contains(Modifier::DIM), "exited: dimmed");
    // Exited rows are dimmed, running ones are not.
    assert!(cell_at(&buf, "1003 cc").modifier.contains(Modifier::DIM));
    assert!(!cell_at(&buf, "1006 curl").modifier.contains(Modifier::DIM));
    // Lost events are highlighted.
    let lost = cell_at(&buf, "LOST 3");
    assert_eq!(lost.bg, Color::Red);
    assert!(lost.modifier.contains(Modifier::BOLD));
    // New processes are marked and highlighted; seeded ones are marked.
    let (x, y) = find(&buf, "1006 curl").expect("curl");
    assert_eq!(buf[(0, y)].symbol(), "+");
    assert_eq!(buf[(0, y)].fg, Color::LightGreen);
    assert_eq!(buf[(x + 5, y)].fg, Color::LightGreen, "name");
    let (_, y) = find(&buf, "500 sshd").expect("sshd");
    assert_eq!(buf[(0, y)].symbol(), "s");
    // The selection is reversed across the whole row.
    let (_, y) = find(&buf, "1 systemd").expect("init");
    for x in [0, 40, 79] {
        assert!(buf[(x, y)].modifier.contains(Modifier::REVERSED), "x={x}");
    }
    assert!(!buf[(0, y + 1)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn no_lost_events_are_not_highlighted() {
    let mut msgs = synth::demo();
    msgs.retain(|m| !matches!(m, crate::event::Message::Lost { .. }));
    let mut app = replay(msgs, vec![]);
    let buf = draw(&mut app, 80, 24);
    let c = cell_at(&buf, "lost 0");
    assert_ne!(c.bg, Color::Red);
    assert!(!c.modifier.contains(Modifier::BOLD));
}

#[test]
fn no_color_uses_attributes_only() {
    let mut app = replay(synth::demo(), vec![]);
    app.theme = Theme { color: false };
    select_pid(&mut app, 1);
    let buf = draw(&mut app, 80, 24);
    for cell in buf.content() {
        assert_eq!(cell.fg, Color::Reset, "{cell:?}");
        assert_eq!(cell.bg, Color::Reset, "{cell:?}");
    }
    assert!(cell_at(&buf, "exit 1").modifier.contains(Modifier::BOLD));
    assert!(
        cell_at(&buf, "LOST 3")
            .modifier
            .contains(Modifier::UNDERLINED)
    );
    assert!(cell_at(&buf, "1003 cc").modifier.contains(Modifier::DIM));
}

#[test]
fn wide_terminal_puts_details_beside_the_tree() {
    let mut app = replay(synth::demo(), vec![]);
    select_pid(&mut app, 1006);
    let buf = draw(&mut app, 200, 50);
    let l = lines(&buf);
    let s = screen(&buf);
    assert!(
        l[1].contains("Processes") && l[1].contains("1006 curl"),
        "{s}"
    );
    assert!(
        l[2].contains("1 systemd") && l[2].contains("process  curl  pid 1006"),
        "{s}"
    );
    // The connection, in the detail pane.
    assert!(s.contains("conns    1 (1 open)"), "{s}");
    assert!(
        s.contains("⇄ out    tcp 127.0.0.1:40002 → 127.0.0.1:8080 open"),
        "{s}"
    );
    assert!(s.contains("⇄ 600 nginx"), "{s}");
    assert!(l[49].contains("? help"), "footer on the last row");
    for line in &l {
        assert_eq!(line.chars().count(), 200);
    }
}

#[test]
fn too_small_says_so() {
    let mut app = replay(synth::demo(), vec![]);
    for (w, h) in [(60, 20), (79, 24), (80, 23)] {
        let s = screen(&draw(&mut app, w, h));
        assert!(s.contains("Terminal too small"), "{w}x{h}: {s}");
        assert!(s.contains(&format!("{w}x{h} here")), "{s}");
        assert!(s.contains("causeway needs 80x24"), "{s}");
        assert!(!s.contains("systemd"), "{s}");
    }
    // Keys do nothing unseen while it is too small (a `/` typed then
    // would take the keys after it), but q quits; it recovers on resize.
    let selected = app.selected;
    app.handle(Action::First);
    app.handle(Action::StartSearch);
    assert_eq!(app.selected, selected);
    assert_eq!(app.input_mode(), crate::ui::Mode::Tree);
    let s = screen(&draw(&mut app, 80, 24));
    assert!(s.contains("Processes ·"), "{s}");
    app.handle(Action::First);
    assert_ne!(app.selected, selected, "keys work again");
    // With a prompt open, q still quits there.
    app.handle(Action::StartSearch);
    let _ = draw(&mut app, 30, 8);
    let q =
        ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char('q'));
    let quit = crate::ui::keys::key_to_action(q, app.input_mode());
    assert_eq!(quit, Some(Action::Quit));
    app.handle(Action::Quit);
    assert!(app.quit);
    // The last words of the message are not cut at 30x8.
    let s = screen(&draw(&mut app, 30, 8));
    assert!(s.contains("quit."), "{s}");
}

#[test]
fn deep_tree_keeps_the_name_in_view() {
    let mut app = replay(synth::chain(1000), vec![]);
    let buf = draw(&mut app, 80, 24);
    let l = lines(&buf);
    let s = screen(&buf);
    // The newest (deepest) process is selected, on screen, its name in
    // full.
    let last = l
        .iter()
        .find(|x| x.contains("└─   1998 sh  -c '"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(last.contains("└─ "), "{s}");
    assert!(l[1].contains("1,000/1,000"), "{s}");
    for line in &l {
        assert_eq!(line.chars().count(), 80);
    }
    // Every cut row is cut at the same level, said the same way, so the
    // rows still line up: each child's name three columns right of its
    // parent's. (A cut of its own per row put them all in one column.)
    let cut: Vec<&String> = l.iter().filter(|x| x.starts_with("+ …d")).collect();
    assert!(cut.len() >= 5, "{s}");
    let mark = |x: &str| x.split(' ').nth(1).map(str::to_string);
    assert!(cut.iter().all(|x| mark(x) == mark(cut[0])), "{s}");
    // The column of each row's pid (1992 and on).
    let cols: Vec<usize> = cut
        .iter()
        .map(|x| {
            x[..x.find(" 199").unwrap_or_else(|| panic!("{s}"))]
                .chars()
                .count()
        })
        .collect();
    for pair in cols.windows(2) {
        assert_eq!(pair[1], pair[0] + 3, "{s}");
    }
    // Rows above the cut name their own depth.
    assert!(l[2].starts_with("+ ←d"), "{s}");
    // From the top the cut is smaller, only as deep as the rows on screen
    // need; the root has no mark.
    app.handle(Action::First);
    let l = lines(&draw(&mut app, 80, 24));
    let s = l.join("\n");
    assert!(l[2].starts_with("s      ▾ 1 init"), "{s}");
    assert!(l[3].starts_with("+ ←d1  ▾ 1000 sh"), "{s}");
    assert!(l[4].starts_with("+ …d2  ▾ 1001 sh"), "{s}");
    assert!(l[5].starts_with("+ …d2  └─ ▾ 1002 sh"), "{s}");
    assert!(l[6].starts_with("+ …d2     └─ ▾ 1003 sh"), "{s}");
    // A tree shallow enough: no cut, no mark.
    app.handle(Action::Down);
    app.handle(Action::Left);
    let l = lines(&draw(&mut app, 80, 24));
    let s = l.join("\n");
    assert!(l[2].starts_with("s ▾ 1 init"), "{s}");
    assert!(l[3].starts_with("+ └─ ▸ 1000 sh"), "{s}");
}

#[test]
fn damaged_journal_is_named_on_screen() {
    let problems = vec![
        Problem {
            line: 5,
            reason: "not valid JSON (expected value at line 1 column 1)".into(),
            file: None,
        },
        Problem {
            line: 9,
            reason: "cut short".into(),
            file: None,
        },
    ];
    let mut app = replay(synth::demo(), problems);
    let buf = draw(&mut app, 80, 24);
    let l = lines(&buf);
    assert!(
        l[1].contains("damaged journal: skipped 2 damaged lines; first at line 5: not valid"),
        "{l:?}"
    );
    assert_eq!(cell_at(&buf, "damaged journal").bg, Color::Yellow);
    assert!(l[2].contains("Processes"), "tree moves down a row");
    assert!(l[23].contains("? help"));
}

#[test]
fn help_lists_every_key() {
    let mut app = replay(synth::demo(), vec![]);
    app.handle(Action::ToggleHelp);
    let s = screen(&draw(&mut app, 80, 24));
    for (k, what) in crate::ui::keys::HELP.iter().chain(crate::ui::keys::LEGEND) {
        assert!(s.contains(k.trim()), "{k}: {s}");
        assert!(s.contains(what.trim()), "{what}: {s}");
    }
    assert!(s.contains("Keys"), "{s}");
}

#[test]
fn connection_list_and_peer() {
    let mut app = replay(synth::demo(), vec![]);
    select_pid(&mut app, 600);
    app.handle(Action::Connections);
    app.handle(Action::Down);
    let buf = draw(&mut app, 80, 24);
    let s = screen(&buf);
    assert!(s.contains("Connections of 600 nginx"), "{s}");
    assert!(s.contains("2 connections"), "{s}");
    assert!(s.contains("listen tcp 0.0.0.0:8080 ◉ listening"), "{s}");
    let (_, y) = find(&buf, "⇄ in     tcp 127.0.0.1:8080 ← 127.0.0.1:40002 open")
        .unwrap_or_else(|| panic!("{s}"));
    assert!(lines(&buf)[y as usize].contains("⇄ 1006 curl"), "{s}");
    assert!(
        buf[(10, y)].modifier.contains(Modifier::REVERSED),
        "selected"
    );
    assert!(lines(&buf)[23].contains("jump to peer"), "{s}");
}

#[test]
fn reparented_process_shows_both_parents() {
    let (msgs, shell, daemon) = synth::reparented();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, daemon.pid);
    let text = screen(&draw(&mut app, 80, 24));
    assert!(
        text.contains(&format!("parent   {} sh", shell.pid)),
        "{text}"
    );
    assert!(text.contains("now      1 systemd (reparented)"), "{text}");
    // Scrubbed back to before its parent exited: its parent was its
    // parent then.
    app.at = Some(daemon.start + 1);
    let text = screen(&draw(&mut app, 80, 24));
    assert!(
        text.contains(&format!("parent   {} sh", shell.pid)),
        "{text}"
    );
    assert!(!text.contains("reparented"), "{text}");
    app.at = None;
    // Its exec history: two programs.
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains("execs    2"), "{text}");
    assert!(text.contains("/usr/bin/daemon  daemon"), "{text}");
    assert!(text.contains("/usr/bin/daemon2  daemon2 --fg"), "{text}");
    let _ = ProcKey::default();
}

#[test]
fn a_process_that_exec_d_again_shows_what_it_began_as_and_what_forked_each_child() {
    // `bash -c 'curl -s x | sha256sum; sleep 9'`: bash forks curl, then
    // becomes sleep, which is what `ps` would name curl's parent.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let job = s.spawn(
        init,
        0,
        "/bin/bash",
        &["bash", "-c", "curl -s x | sha256sum; sleep 9"],
    );
    let curl = s.spawn(job, 0, "/usr/bin/curl", &["curl", "-s", "x"]);
    let before_sleep = s.now - 1;
    s.exec(job, init, 0, "/usr/bin/sleep", &["sleep", "9"]);
    let late = s.spawn(job, 0, "/usr/bin/true", &["true"]);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, curl.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(
        text.contains(&format!("{} bash→sleep  9", job.pid)),
        "the row names what it began as: {text}"
    );
    let parent_line = |app: &mut App| {
        lines(&draw(app, 200, 50))
            .into_iter()
            .find(|l| l.contains("parent   "))
            .expect("a parent line")
    };
    let line = parent_line(&mut app);
    assert!(
        line.contains(&format!(
            "parent   {} sleep  forked this running bash -c 'curl -s x | sha256sum; sleep 9'",
            job.pid
        )),
        "{line}"
    );
    // A child of what it runs now needs no note.
    select_pid(&mut app, late.pid);
    let line = parent_line(&mut app);
    assert!(
        line.contains(&format!("parent   {} sleep", job.pid)),
        "{line}"
    );
    assert!(!line.contains("forked this"), "{line}");
    // Scrubbed back to before the second exec, it was bash alone, and
    // curl's parent was bash.
    app.at = Some(before_sleep);
    select_pid(&mut app, curl.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains(&format!("{} bash  -c", job.pid)), "{text}");
    assert!(!text.contains("bash→"), "{text}");
    let line = parent_line(&mut app);
    assert!(
        line.contains(&format!("parent   {} bash", job.pid)),
        "{line}"
    );
    assert!(!line.contains("forked this"), "{line}");
    // Three programs: the first and the last.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let job = s.spawn(init, 0, "/usr/bin/sudo", &["sudo", "-u", "app", "run"]);
    s.exec(job, init, 0, "/bin/sh", &["sh", "run"]);
    s.exec(job, init, 0, "/usr/bin/python3", &["python3", "app.py"]);
    let mut app = replay(s.messages, vec![]);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(
        text.contains(&format!("{} sudo→…→python3  app.py", job.pid)),
        "{text}"
    );
}

#[test]
fn a_subshell_that_exec_d_its_last_command_shows_what_it_forked_as() {
    let (msgs, server, sub, py, before) = synth::subshell();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, sub.pid);
    let buf = draw(&mut app, 200, 50);
    let text = screen(&buf);
    // python3 was forked by the shell, not by curl.
    assert!(
        text.contains(&format!("{} bash→curl ↗2  -s http", sub.pid)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} python3  -c pass", py.pid)),
        "{text}"
    );
    // The prefix is dim, as a second exec's.
    assert!(cell_at(&buf, "bash→curl").modifier.contains(Modifier::DIM));
    // The detail: what it was before the exec, and which connection the
    // shell opened.
    assert!(
        text.contains("bash  as forked, before its first exec"),
        "{text}"
    );
    let conns: Vec<String> = lines(&buf)
        .into_iter()
        .filter(|l| l.contains("out    tcp"))
        .collect();
    assert_eq!(conns.len(), 2, "{text}");
    assert!(conns[0].contains("(as bash)"), "{}", conns[0]);
    assert!(!conns[1].contains("(as bash)"), "{}", conns[1]);
    // The server names its peer as the row does.
    select_pid(&mut app, server.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains(&format!("⇄ {} bash→curl", sub.pid)), "{text}");
    // Scrubbed back to before the exec, it was the shell: its row, its
    // detail and the server's peer say so.
    app.at = Some(before);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains(&format!("⇄ {} bash", sub.pid)), "{text}");
    assert!(!text.contains("curl"), "{text}");
    select_pid(&mut app, sub.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains(&format!("{} bash ↗1", sub.pid)), "{text}");
    assert!(
        text.contains(&format!(" {} bash ─", sub.pid)),
        "the title: {text}"
    );
    assert!(text.contains("process  bash  pid"), "{text}");
    assert!(
        !text.contains("curl") && !text.contains("(as bash)"),
        "{text}"
    );
}

#[test]
fn a_plain_fork_and_exec_says_only_what_it_runs() {
    // The script and the server were forked and exec'd at once; the
    // script forked the subshell after its exec.
    let (msgs, server, sub, _, _) = synth::subshell();
    let mut app = replay(msgs, vec![]);
    let buf = draw(&mut app, 200, 50);
    let text = screen(&buf);
    let script = sub.pid - 1;
    assert!(text.contains(&format!("{script} bash  job.sh")), "{text}");
    assert!(
        text.contains(&format!("{} python3 ↙2 ◉1  -m", server.pid)),
        "{text}"
    );
    let rows: String = lines(&buf)
        .iter()
        .filter(|l| l.contains(" root "))
        .map(|l| l.chars().take(100).collect::<String>())
        .collect();
    assert_eq!(rows.matches('→').count(), 1, "only the subshell's: {text}");
    // A fork that exec'd a name of escapes, after forking a command
    // substitution: `"$(printf './\e[2Jclr')" 30 &` in `./hostile.sh`.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let script = s.spawn(init, 0, "./hostile.sh", &["/bin/bash", "./hostile.sh"]);
    let job = s.fork(script, "hostile.sh", 0);
    let subst = s.fork(job, "hostile.sh", 0);
    s.exit(subst, job, ExitStatus::Code(0));
    s.exec(job, script, 0, "./\x1b[2Jclr", &["./\x1b[2Jclr", "30"]);
    let mut app = replay(s.messages, vec![]);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(
        text.contains(&format!("{} hostile.sh→?[2Jclr  30", job.pid)),
        "{text}"
    );
}

#[test]
fn long_argv_wraps_in_the_detail_pane() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let long: Vec<String> = (0..40).map(|i| format!("--option-{i}")).collect();
    let mut argv: Vec<&str> = vec!["tool"];
    argv.extend(long.iter().map(String::as_str));
    s.spawn(init, 0, "/usr/bin/tool", &argv);
    let mut app = replay(s.messages, vec![]);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains("--option-0"), "{text}");
    assert!(text.contains("--option-39"), "wrapped, not cut: {text}");
}

#[test]
fn search_prompt_in_the_footer() {
    let mut app = replay(synth::demo(), vec![]);
    app.handle(Action::StartSearch);
    for c in "curl".chars() {
        app.handle(Action::SearchInput(c));
    }
    let l = lines(&draw(&mut app, 80, 24));
    assert!(l[23].starts_with(" find: curl█"), "{l:?}");
    let l = lines(&draw(&mut app, 80, 24));
    assert!(l[23].contains("Esc cancel"), "{l:?}");
}

#[test]
fn footer_hints_fit_80_columns() {
    let mut app = replay(synth::demo(), vec![]);
    let l = lines(&draw(&mut app, 80, 24));
    assert!(l[23].contains("/ find"), "{l:?}");
    assert!(l[23].trim_end().ends_with("q quit"), "{l:?}");
}

#[test]
fn a_parent_from_a_later_event_is_shown_as_inferred() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let shell = s.spawn(init, 0, "/bin/sh", &["sh"]);
    // An exec from a process whose fork was never seen.
    let ghost = crate::event::ProcKey::new(4242, shell.start + 5_000_000);
    s.exec(ghost, shell, 0, "/usr/bin/ghost", &["ghost"]);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, ghost.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains("(inferred: its fork was not seen)"), "{text}");
    select_pid(&mut app, shell.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(!text.contains("inferred"), "{text}");
}

/// `n` connections of one process, with cookies from 1,000 + `from`; the
/// `open` ones (by index) left open, the others closed.
fn connections(s: &mut Synth, who: (ProcKey, ProcKey), from: u64, n: u64, open: &[u64]) {
    s.outbound_churn(who, 1_000 + from..1_000 + from + n, |cookie| {
        open.contains(&(cookie - 1_000))
    });
}

#[test]
fn a_full_tree_says_what_it_forgot_and_keeps_the_selected_connection() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let client = s.spawn(init, 0, "/usr/bin/client", &["client"]);
    connections(&mut s, (client, init), 0, 30, &[25]);
    let mut app = App::new(
        CausalTree::with_conn_limit(40),
        SourceKind::Live,
        synth::header(),
        Users::default(),
    );
    for m in &std::mem::take(&mut s.messages) {
        app.apply(m);
    }
    app.settle();
    select_pid(&mut app, client.pid);
    app.handle(Action::Connections);
    for _ in 0..25 {
        app.handle(Action::Down);
    }
    let selected = |app: &App| {
        let id = app.tree.find_pid(client.pid).unwrap();
        app.tree.conn(app.tree.node(id).conns[app.conn_sel]).cookie
    };
    assert_eq!(selected(&app), 1_025);
    // 70 more: the tree forgets closed ones, renumbering the rest.
    connections(&mut s, (client, init), 30, 70, &[]);
    for m in &s.messages {
        app.apply(m);
    }
    app.settle();
    assert!(app.tree.conn_generation() > 0, "something was forgotten");
    assert_eq!(selected(&app), 1_025, "the same connection stays selected");
    let node = app.tree.node(app.tree.find_pid(client.pid).unwrap());
    let forgotten = node.conn_counts.forgotten;
    assert_eq!(forgotten as usize + node.conns.len(), 100);
    app.handle(Action::Back);
    let s = screen(&draw(&mut app, 200, 50));
    assert!(s.contains("client ↗100"), "the marker counts all: {s}");
    assert!(
        s.contains(&format!(
            "conns    100 (1 open, {forgotten} oldest closed forgotten)"
        )),
        "{s}"
    );
}

#[test]
fn forgotten_processes_are_counted_in_the_status_bar_and_on_their_parent() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let shell = s.spawn(init, 1000, "/bin/bash", &["bash"]);
    for _ in 0..100 {
        let c = s.spawn(shell, 1000, "/bin/true", &["true"]);
        s.exit(c, shell, ExitStatus::Code(0));
    }
    let mut app = live_in(
        crate::graph::CausalTree::with_limits(40, crate::graph::MAX_CONNS),
        &s.messages,
    );
    let forgotten = app.tree.forgotten();
    assert!(forgotten > 0);
    select_pid(&mut app, shell.pid);
    let s = screen(&draw(&mut app, 200, 50));
    assert!(s.contains(&format!("(+{forgotten} old forgotten)")), "{s}");
    assert!(
        s.contains(&format!("forgot   {forgotten} exited children")),
        "{s}"
    );
}

#[test]
fn connections_in_several_network_namespaces_each_name_theirs() {
    let mut s = crate::ui::synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let cni = s.spawn(init, 0, "/usr/bin/cni-plugin", &["cni-plugin"]);
    s.listen((cni, init), 9000);
    s.netns = 4_026_532_999;
    s.listen((cni, init), 9001);
    let single = s.spawn(init, 0, "/usr/bin/server", &["server"]);
    s.listen((single, init), 9002);
    let mut app = replay(s.messages, vec![]);
    let host = crate::ui::synth::HOST_NETNS;
    select_pid(&mut app, cni.pid);
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(scr.contains(&format!("netns {host}, 4026532999")), "{scr}");
    let row = |scr: &str, port: u16| {
        scr.lines()
            .find(|l| l.contains(&format!(":{port} ◉")))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(row(&scr, 9000).contains(&format!("netns {host}")), "{scr}");
    assert!(row(&scr, 9001).contains("netns 4026532999"), "{scr}");
    // The connection list too.
    app.handle(crate::ui::keys::Action::Connections);
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(row(&scr, 9001).contains("netns 4026532999"), "{scr}");
    // One namespace: named once, above, not on every row.
    app.handle(crate::ui::keys::Action::Back);
    select_pid(&mut app, single.pid);
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(scr.contains("  netns 4026532999"), "{scr}");
    assert!(!row(&scr, 9002).contains("netns"), "{scr}");
}

#[test]
fn the_tree_pane_names_the_filter_in_force() {
    let mut app = replay(synth::demo(), vec![]);
    app.handle(Action::StartFilter);
    for c in "cc".chars() {
        app.handle(Action::SearchInput(c));
    }
    let typing = screen(&draw(&mut app, 120, 30));
    assert!(typing.contains(" filter: cc█"), "{typing}");
    app.handle(Action::SearchSubmit);
    let s = screen(&draw(&mut app, 120, 30));
    assert!(s.contains("filter \"cc\": 2 found"), "{s}");
    assert!(!s.contains("nginx"), "{s}");
}

/// curl, a child of init, in a replay to be.
fn curl_of_init() -> (Synth, ProcKey, ProcKey) {
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl"]);
    (s, init, curl)
}

/// The ends of a connection from 10.0.0.2 to 10.0.0.7:`port`.
fn ends(port: u16) -> (std::net::SocketAddr, std::net::SocketAddr) {
    let local = std::net::SocketAddr::from(([10, 0, 0, 2], 40_000 + port));
    (local, std::net::SocketAddr::from(([10, 0, 0, 7], port)))
}

#[test]
fn a_closed_connection_says_what_it_carried() {
    use crate::event::{Direction, Ending, NetKind};
    let (mut s, init, curl) = curl_of_init();
    // Three connections to 10.0.0.7 (cookie, port): one closed, one open,
    // one gone; the closed one's close last, with its counts.
    let out = Direction::Outbound;
    for (cookie, port) in [(77, 443), (78, 80), (79, 22)] {
        let (l, r) = ends(port);
        s.net((curl, init), NetKind::Connect, out, l, r, cookie);
    }
    let (l, r) = ends(22);
    s.net((curl, init), NetKind::Gone, out, l, r, 79);
    let clean = Ending { error: 0, from: 5 };
    s.close((curl, init), out, ends(443), 77, (1_500, 3 << 20), clean);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, curl.pid);
    let scr = screen(&draw(&mut app, 200, 50));
    let row = |port: &str| {
        scr.lines()
            .find(|l| l.contains(port))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(row("10.0.0.7:443").contains("↑1.5 KiB ↓3.0 MiB"), "{scr}");
    assert!(
        !row("10.0.0.7:80").contains("↑"),
        "open: not yet known: {scr}"
    );
    let gone = row("10.0.0.7:22");
    assert!(
        gone.contains("gone") && !gone.contains("↑"),
        "not known: {scr}"
    );
}

#[test]
fn a_failed_connection_says_how_and_its_process_is_marked() {
    use crate::event::{Direction, Ending, NetKind};
    let (mut s, init, curl) = curl_of_init();
    // (port, bytes, errno, state it closed from): refused, reset after
    // sending, clean, abandoned while connecting, an errno of its own.
    let conns = [
        (1, (0, 0), 111, 2),
        (2, (10, 0), 104, 1),
        (3, (5, 7), 0, 5),
        (4, (0, 0), 0, 2),
        (5, (0, 0), 71, 1),
    ];
    let out = Direction::Outbound;
    for (port, ..) in conns {
        let (l, r) = ends(port);
        s.net((curl, init), NetKind::Connect, out, l, r, u64::from(port));
    }
    let listener = (
        std::net::SocketAddr::from(([0, 0, 0, 0], 9)),
        std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
    );
    let (l, r) = listener;
    s.net((curl, init), NetKind::Listen, Direction::Listen, l, r, 9);
    let connected = s.now - 1;
    for (port, bytes, error, from) in conns {
        let ending = Ending { error, from };
        s.close(
            (curl, init),
            out,
            ends(port),
            u64::from(port),
            bytes,
            ending,
        );
    }
    let from = 10; // LISTEN
    let ending = Ending { error: 0, from };
    s.close((curl, init), Direction::Listen, listener, 9, (0, 0), ending);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, curl.pid);
    let buf = draw(&mut app, 200, 50);
    let scr = screen(&buf);
    let row = |port: u16| {
        scr.lines()
            .find(|l| l.contains(&format!("10.0.0.7:{port} ")))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(row(1).contains("refused") && !row(1).contains('↑'), "{scr}");
    assert!(
        row(2).contains("reset") && row(2).contains("↑10 B ↓0 B"),
        "{scr}"
    );
    assert!(
        row(3).contains("closed") && row(3).contains("↑5 B ↓7 B"),
        "{scr}"
    );
    assert!(row(4).contains("abandoned"), "{scr}");
    assert!(row(5).contains("EPROTO"), "{scr}");
    let listen = scr
        .lines()
        .find(|l| l.contains("0.0.0.0:9 ◉"))
        .unwrap_or_default();
    assert!(listen.contains("closed") && !listen.contains('↑'), "{scr}");
    assert!(
        scr.contains(&format!("{} curl ↗5 ◉1 ✗4", curl.pid)),
        "{scr}"
    );
    assert!(scr.contains("6 (0 open)  4 failed  c lists them"), "{scr}");
    for marked in ["refused", "✗4", "4 failed"] {
        assert_eq!(cell_at(&buf, marked).fg, Color::LightRed, "{marked}");
    }
    assert_ne!(cell_at(&buf, "closed").fg, Color::LightRed);
    // The status bar counts them, so that they are seen before they are
    // looked for.
    assert!(lines(&buf)[0].contains("│ ✗ 4 conns failed │"), "{scr}");
    assert_eq!(cell_at(&buf, "4 conns failed").fg, Color::LightRed);
    // Scrubbed back to before the closes, nothing had failed yet.
    app.at = Some(connected);
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(!scr.contains('✗') && !scr.contains("failed"), "{scr}");
    assert!(!scr.contains("refused"), "{scr}");
}

#[test]
fn a_killed_process_says_who_sent_the_signal() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sleep = s.spawn(init, 1000, "/usr/bin/sleep", &["sleep", "300"]);
    let killer = s.spawn(init, 0, "/usr/bin/kill", &["kill", "-TERM", "1000"]);
    s.signal(sleep, init, 1, None);
    let before = s.now - 1;
    s.signal(sleep, init, 15, Some(killer));
    s.exit(
        sleep,
        init,
        ExitStatus::Signal {
            signal: 15,
            core_dumped: false,
        },
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, sleep.pid);
    let buf = draw(&mut app, 260, 50);
    let scr = screen(&buf);
    assert!(
        scr.contains(&format!(
            "killed by SIGTERM  sent by {} kill (root)",
            killer.pid
        )),
        "{scr}"
    );
    assert!(scr.contains("signals  2"), "{scr}");
    assert!(scr.contains("SIGHUP from the kernel"), "{scr}");
    assert!(
        scr.contains(&format!("SIGTERM from {} kill (root)", killer.pid)),
        "{scr}"
    );
    assert_eq!(cell_at(&buf, "SIGHUP from").fg, Color::LightRed);
    // Scrubbed back to before the kill: only the hangup had come.
    app.at = Some(before);
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(scr.contains("signals  1"), "{scr}");
    assert!(!scr.contains("SIGTERM"), "{scr}");
    // A process nobody signalled has no such lines; the killer had sent
    // nothing yet either.
    select_pid(&mut app, killer.pid);
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(!scr.contains("signals") && !scr.contains("sent"), "{scr}");
    // Now: the killer says what it ended.
    app.at = None;
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(scr.contains("sent     1"), "{scr}");
    assert!(
        scr.contains(&format!("SIGTERM to {} sleep", sleep.pid)),
        "{scr}"
    );
}

#[test]
fn a_killer_of_many_lists_the_newest_and_counts_the_rest() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let killer = s.spawn(init, 0, "/usr/bin/pkill", &["pkill", "worker"]);
    for _ in 0..5 {
        let w = s.spawn(init, 0, "/usr/bin/worker", &["worker"]);
        s.signal(w, init, 15, Some(killer));
    }
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, killer.pid);
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(scr.contains("sent     5"), "{scr}");
    assert!(scr.contains("… 2 earlier"), "{scr}");
    assert_eq!(scr.matches("SIGTERM to").count(), 3, "{scr}");
}

#[test]
fn a_process_that_killed_itself_says_so() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sh = s.killed_by_itself(init, "/usr/bin/sh", &["sh", "-c", "pkill -f watchdog"], 15);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, sh.pid);
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(scr.contains("killed by SIGTERM  sent by itself"), "{scr}");
}

#[test]
fn a_signal_passed_on_by_a_handler_names_who_sent_it_first() {
    let (msgs, pkill, w) = synth::passed_on();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, w.pid);
    let scr = screen(&draw(&mut app, 260, 50));
    let line = format!("killed by SIGTERM  sent by {} ", pkill.pid);
    assert!(scr.contains(&line), "{scr}");
    assert!(!scr.contains("sent by itself"), "{scr}");
}

#[test]
fn a_process_the_oom_killer_chose_says_so() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let hog = s.spawn(init, 0, "/usr/bin/stress", &["stress", "--vm", "1"]);
    let bystander = s.spawn(init, 0, "/usr/bin/cache", &["cache"]);
    s.oom_kill(hog, init, hog);
    s.exit(
        hog,
        init,
        ExitStatus::Signal {
            signal: 9,
            core_dumped: false,
        },
    );
    s.oom_kill(bystander, init, hog);
    s.exit(
        bystander,
        init,
        ExitStatus::Signal {
            signal: 9,
            core_dumped: false,
        },
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, hog.pid);
    let buf = draw(&mut app, 320, 50);
    let scr = screen(&buf);
    assert!(
        scr.contains("killed by SIGKILL  sent by the OOM killer, when it needed memory"),
        "{scr}"
    );
    // The status bar counts the OOM killer's victims, in red.
    assert!(lines(&buf)[0].contains("│ OOM killed 2 │"), "{scr}");
    assert_eq!(cell_at(&buf, "OOM killed 2").fg, Color::LightRed);
    assert!(scr.contains("signals  1"), "one signal, not two: {scr}");
    select_pid(&mut app, bystander.pid);
    let scr = screen(&draw(&mut app, 320, 50));
    assert!(
        scr.contains(&format!(
            "sent by the OOM killer, when {} stress (root) needed memory",
            hog.pid
        )),
        "{scr}"
    );
}

#[test]
fn names_and_arguments_cannot_carry_escapes_or_reorder_the_screen() {
    // A program named with an escape sequence, a bell and a right-to-left
    // override, run with such arguments; one more that set its comm.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let evil = s.spawn(
        init,
        0,
        "/tmp/ev\u{1b}[2J\u{1b}]0;pw\u{7}il\u{202e}x",
        &["ev", "\u{1b}[31mred", "a\nb", "\u{2066}hidden\u{2069}"],
    );
    let named = s.fork(init, "c\u{1b}[2Jm\u{202e}q", 0);
    let mut app = replay(s.messages, vec![]);
    app.header.hostname = "host\u{1b}[2J\u{202e}".into();
    select_pid(&mut app, evil.pid);
    let text = screen(&draw(&mut app, 200, 50));
    assert!(text.contains("ev?[2J?]0;pw?il?x"), "{text}");
    assert!(text.contains("?[31mred"), "{text}");
    assert!(text.contains("a?b"), "{text}");
    assert!(text.contains("?hidden?"), "{text}");
    assert!(text.contains("· host?[2J? "), "{text}");
    select_pid(&mut app, named.pid);
    let text = screen(&draw(&mut app, 200, 50));
    // Forked, never exec'd: named by what it was forked as, its comm
    // beside it.
    assert!(
        text.contains(&format!("{} systemd (comm c?[2Jm?q)", named.pid)),
        "{text}"
    );
    // (The screen's own lines are joined by newlines.)
    let hidden = ['\u{1b}', '\u{7}', '\u{202e}', '\u{2066}', '\u{2069}'];
    assert!(!text.contains(hidden), "{text:?}");
}

#[test]
fn a_process_s_cgroup_is_named_by_its_path() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let job = s.spawn(init, 0, "/usr/bin/tar", &["tar", "c", "/"]);
    let child = s.spawn(job, 0, "/usr/bin/gzip", &["gzip", "-9"]);
    s.cgroup(42, "/system.slice/backup.service");
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, job.pid);
    let text = screen(&draw(&mut app, 120, 30));
    assert!(
        text.contains("cgroup   /system.slice/backup.service"),
        "{text}"
    );
    // The row where the service begins says so; its child, in the same
    // cgroup, does not; nor does init, in the root's.
    assert!(
        text.contains(&format!("{} tar ⟨backup.service⟩  c /", job.pid)),
        "{text}"
    );
    assert!(text.contains(&format!("{} gzip  -9", child.pid)), "{text}");
    assert!(
        !text.contains("gzip ⟨") && !text.contains("systemd ⟨"),
        "{text}"
    );
    select_pid(&mut app, 1);
    let text = screen(&draw(&mut app, 120, 30));
    assert!(text.contains("cgroup   1 (no name known)"), "{text}");
}

#[test]
fn a_replay_of_several_files_is_named_by_the_first_and_last() {
    use std::path::PathBuf;
    let p = |s: &str| PathBuf::from(format!("/var/log/causeway/{s}"));
    let name = crate::journal::files_name(&[p("j.jsonl.2"), p("j.jsonl.1"), p("j.jsonl")]);
    assert_eq!(name, "j.jsonl.2 … j.jsonl (3 files)");
    assert_eq!(crate::journal::files_name(&[p("j.jsonl")]), "j.jsonl");
    let mut app = replay(synth::demo(), vec![]);
    if let SourceKind::Replay { name: n, .. } = &mut app.source {
        *n = name;
    }
    let scr = screen(&draw(&mut app, 120, 30));
    assert!(scr.contains("j.jsonl.2 … j.jsonl (3 files)"), "{scr}");
}

#[test]
fn seeded_processes_of_a_continued_journal_file_say_when_that_began() {
    let mut app = replay(synth::demo(), vec![]);
    select_pid(&mut app, 600);
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(
        scr.contains("seeded (running before causeway began)"),
        "{scr}"
    );
    app.header.continued = true;
    let scr = screen(&draw(&mut app, 200, 50));
    assert!(
        scr.contains("seeded (running when this journal file began)"),
        "{scr}"
    );
}

#[test]
fn the_live_view_points_to_a_recorders_history_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    assert_eq!(crate::ui::history_hint(&journal), None);
    std::fs::write(&journal, "").unwrap();
    let hint = crate::ui::history_hint(&journal).expect("a hint");
    assert!(
        hint.ends_with(&format!("causeway live --history {}*", journal.display())),
        "{hint}"
    );
    // The service in assets writes where the hint looks.
    let unit = include_str!("../../../assets/causeway-record.service");
    assert!(unit.contains(&format!("--output {}", crate::ui::SERVICE_JOURNAL)));
}

/// A live view of the demo with a running process (not init) selected.
fn live_with_a_running_process_selected() -> (App, ProcKey) {
    let mut app = live(&synth::demo());
    let key = app
        .tree
        .nodes()
        .find(|(_, n)| n.is_alive() && n.key.pid > 1)
        .map(|(_, n)| n.key)
        .expect("a running process");
    let id = app.tree.find(key).expect("its node");
    app.selected = Some(Item::Node(id));
    (app, key)
}

#[test]
fn a_running_process_shows_its_cpu_and_memory_now() {
    let (mut app, key) = live_with_a_running_process_selected();
    app.usage.insert(
        key,
        crate::usage::Usage {
            cpu: Some(97.4),
            cpu_total: std::time::Duration::from_secs(65),
            rss: 340 << 20,
        },
    );
    let l = lines(&draw(&mut app, 120, 30));
    let s = l.join("\n");
    let row = l
        .iter()
        .find(|x| x.contains(&format!(" {} ", key.pid)) && x.contains("97%"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(row.trim_end().ends_with("97%  340M"), "{s}");
    assert!(
        s.contains("usage    97% of a CPU now · 1m05s of CPU in all · 340.0 MiB resident"),
        "{s}"
    );
    // Other running processes: no figures, so `running`.
    assert!(l.iter().any(|x| x.trim_end().ends_with("running")), "{s}");
    // Scrubbed back: the figures are of now, so not shown.
    app.handle(Action::ScrubPrev);
    let s = screen(&draw(&mut app, 120, 30));
    assert!(!s.contains("97%") && !s.contains("usage "), "{s}");
}

#[test]
fn a_running_process_gone_from_proc_twice_says_so() {
    let (mut app, key) = live_with_a_running_process_selected();
    let missing = || crate::usage::Sample {
        missing: vec![key],
        ..Default::default()
    };
    // Once: its exit may be on its way. Not said yet.
    app.sampled(missing(), 5_000_000_000);
    assert_eq!(app.gone_since(key), None);
    let s = screen(&draw(&mut app, 120, 30));
    assert!(!s.contains("gone"), "{s}");
    // Twice in a row: gone since the first.
    app.sampled(missing(), 7_000_000_000);
    assert_eq!(app.gone_since(key), Some(5_000_000_000));
    let l = lines(&draw(&mut app, 120, 30));
    let s = l.join("\n");
    assert!(
        l.iter()
            .any(|x| x.contains(&format!(" {} ", key.pid)) && x.trim_end().ends_with("gone")),
        "{s}"
    );
    assert!(s.contains("state    gone: not in /proc since"), "{s}");
    // Not counted alive: the status bar says so.
    let alive = app.tree.stats().alive - 1;
    assert!(s.contains(&format!(" {alive} alive (1 gone) / ")), "{s}");
    assert!(s.contains("its end was not seen"), "{s}");
    // Back in /proc (a sample that finds it): no longer gone.
    app.sampled(crate::usage::Sample::default(), 9_000_000_000);
    assert_eq!(app.gone_since(key), None);
    // Scrubbed back: what /proc says now is not shown.
    app.sampled(missing(), 10_000_000_000);
    app.sampled(missing(), 11_000_000_000);
    assert!(app.gone_since(key).is_some());
    app.handle(Action::ScrubPrev);
    assert_eq!(app.gone_since(key), None);
}

#[test]
fn a_long_command_line_leaves_room_for_the_rest_of_the_detail() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let long = "A".repeat(20_000);
    let p = s.spawn(init, 0, "/bin/sh", &["sh", "-c", "sleep 40", &long]);
    s.exit(p, init, ExitStatus::Code(3));
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, p.pid);
    let scr = screen(&draw(&mut app, 160, 50));
    // The execs that follow are in sight, and the cut says what it cut.
    assert!(scr.contains("execs    1"), "{scr}");
    let cut = scr
        .lines()
        .any(|l| l.contains("… (") && l.contains(" more"));
    assert!(cut, "{scr}");
    let more = scr.split("… (").nth(1).unwrap_or("");
    let n: String = more.chars().take_while(|c| *c != ' ').collect();
    let n: usize = n.replace(',', "").parse().unwrap_or(0);
    assert!(n > 15_000 && n < 20_000, "{n} more of 20,000: {scr}");
}

#[test]
fn wide_characters_in_a_command_line_leave_the_row_its_columns() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let wide = "日本語".repeat(30);
    let p = s.spawn(init, 0, "/bin/sh", &["sh", "-c", "sleep 25", &wide, "x"]);
    s.exit(p, init, ExitStatus::Code(1));
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, p.pid);
    let scr = screen(&draw(&mut app, 200, 40));
    let row = scr
        .lines()
        .find(|l| l.contains(&format!("{} sh  -c", p.pid)))
        .unwrap_or_else(|| panic!("no row: {scr}"));
    assert!(row.contains("root") && row.contains("exit 1"), "{row}");
}

#[test]
fn a_connection_row_cut_short_says_so() {
    use crate::event::{Direction, NetKind};
    // Side by side, the connection list is narrower than a row between
    // two long IPv6 addresses, even with what the row can spare left out.
    const WIDTH: u16 = 150;
    let (mut s, init, curl) = curl_of_init();
    let v6 = |port| {
        std::net::SocketAddr::new(
            "2001:db8:1234:5678:9abc:def0:1234:5678"
                .parse()
                .expect("v6"),
            port,
        )
    };
    s.net(
        (curl, init),
        NetKind::Connect,
        Direction::Outbound,
        v6(40_000),
        v6(443),
        7,
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, curl.pid);
    app.handle(Action::Connections);
    let s = screen(&draw(&mut app, WIDTH, 24));
    let row = s
        .lines()
        .find(|l| l.contains("tcp [2001:db8:"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        !row.contains("open"),
        "the row fits, so this tests nothing: {s}"
    );
    assert!(row.trim_end().ends_with('…'), "{row}");
}

/// curl's connection to nginx, closed after carrying 844 B and 12 KiB,
/// in the connection list at `width` × 24: curl's row.
fn carried_to_nginx_at(width: u16) -> String {
    use crate::event::{Direction, Ending, NetKind};
    let mut s = Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let nginx = s.spawn(init, 0, "/usr/sbin/nginx", &["nginx"]);
    let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl"]);
    let client = std::net::SocketAddr::from(([127, 0, 0, 1], 40_002));
    let server = std::net::SocketAddr::from(([127, 0, 0, 1], 8080));
    s.net(
        (curl, init),
        NetKind::Connect,
        Direction::Outbound,
        client,
        server,
        1,
    );
    s.net(
        (nginx, init),
        NetKind::Accept,
        Direction::Inbound,
        server,
        client,
        2,
    );
    s.now += 12_000_000;
    let clean = Ending { error: 0, from: 5 };
    let ends = (client, server);
    s.close(
        (curl, init),
        Direction::Outbound,
        ends,
        1,
        (844, 12 << 10),
        clean,
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, curl.pid);
    app.handle(Action::Connections);
    let scr = screen(&draw(&mut app, width, 24));
    // Side by side, the list is right of the tree's last border.
    scr.lines()
        .find(|l| l.contains("127.0.0.1:40002 → 127.0.0.1:8080"))
        .and_then(|l| l.rsplit('│').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{scr}"))
}

#[test]
fn a_narrow_connection_list_keeps_the_peer_and_leaves_out_what_it_can_spare() {
    let row = |width| carried_to_nginx_at(width).trim_end().to_string();
    // Room for all of it (side by side, the list is 116 wide).
    assert_eq!(
        row(260),
        "⇄ out    tcp 127.0.0.1:40002 → 127.0.0.1:8080 closed     00:01:40 14ms ↑844 B ↓12 KiB ⇄ 1000 nginx"
    );
    // 80 wide: the spaces that line the states up, the direction's word
    // (the arrow says it) and the start go; the peer stays, in full.
    assert_eq!(
        row(80),
        "⇄ tcp 127.0.0.1:40002 → 127.0.0.1:8080 closed 14ms ↑844 B ↓12 KiB ⇄ 1000 nginx"
    );
    // 62 wide (side by side at 140): how long it lasted and what it
    // carried go too, and still the peer stays.
    assert_eq!(
        row(140),
        "⇄ tcp 127.0.0.1:40002 → 127.0.0.1:8080 closed ⇄ 1000 nginx"
    );
}

#[test]
fn a_signal_survived_long_before_is_not_the_killer() {
    // A daemon reloads on a supervisor's SIGTERM (its handler keeps it
    // running), and a minute later kills itself with SIGTERM.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sup = s.spawn(init, 0, "/usr/bin/supervisor", &["supervisor"]);
    let d = s.spawn(init, 0, "/usr/bin/daemon", &["daemon"]);
    s.signal(d, init, 15, Some(sup));
    s.now += 60_000_000_000;
    s.signal(d, init, 15, Some(d));
    s.exit(
        d,
        init,
        ExitStatus::Signal {
            signal: 15,
            core_dumped: false,
        },
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, d.pid);
    let scr = screen(&draw(&mut app, 260, 50));
    assert!(scr.contains("killed by SIGTERM  sent by itself"), "{scr}");
}

#[test]
fn a_connection_found_unused_says_so() {
    // Found waiting in nginx's queue while causeway ran.
    let msgs = with_nginx_socket(crate::event::Direction::Inbound, 9_999, |sock| {
        sock.unused = true;
    });
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, 600);
    app.handle(Action::Connections);
    let s = screen(&draw(&mut app, 160, 40));
    assert!(s.contains("unused"), "{s}");
}

#[test]
fn a_program_named_with_spaces_is_quoted_before_its_arguments() {
    // `my evil prog 30` would read as `my` run with `evil prog 30`.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let odd = s.spawn(init, 0, "/tmp/my evil prog", &["my evil prog", "30"]);
    // Nor a name with quotes in it as `curl` run with `http:`.
    let spoof = s.spawn(init, 0, "/tmp/curl' 'http:", &["curl' 'http:", "40"]);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, odd.pid);
    let text = screen(&draw(&mut app, 120, 30));
    assert!(
        text.contains(&format!("{} 'my evil prog'  30", odd.pid)),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} 'curl'\\'' '\\''http:'  40", spoof.pid)),
        "{text}"
    );
}

#[test]
fn a_process_with_more_connections_than_fit_says_where_they_went() {
    use crate::event::{Direction, Ending, NetKind};
    // 40 to 127.0.0.1:443 (3 open), 5 refused by 10.0.0.7:9, 2 in to a
    // listener on :8080 from two addresses: the busiest way first, with
    // what is open and what failed, not the oldest 8 one by one.
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let app_ = s.spawn(init, 0, "/usr/bin/app", &["app"]);
    let who = (app_, init);
    connections(&mut s, who, 0, 40, &[37, 38, 39]);
    let out = Direction::Outbound;
    let refused = Ending {
        error: 111,
        from: 2,
    };
    for k in 0..5u16 {
        let ends = (
            std::net::SocketAddr::from(([10, 0, 0, 1], 50_000 + k)),
            std::net::SocketAddr::from(([10, 0, 0, 7], 9)),
        );
        let cookie = 5_000 + u64::from(k);
        s.net(who, NetKind::Connect, out, ends.0, ends.1, cookie);
        s.close(who, out, ends, cookie, (0, 0), refused);
    }
    // And 4 to 10.0.0.9:53, all closed cleanly.
    for k in 0..4u16 {
        let ends = (
            std::net::SocketAddr::from(([10, 0, 0, 1], 51_000 + k)),
            std::net::SocketAddr::from(([10, 0, 0, 9], 53)),
        );
        let cookie = 7_000 + u64::from(k);
        s.net(who, NetKind::Connect, out, ends.0, ends.1, cookie);
        let clean = Ending { error: 0, from: 5 };
        s.close(who, out, ends, cookie, (0, 0), clean);
    }
    s.listen(who, 8080);
    for (k, ip) in [[10, 0, 0, 2], [10, 0, 0, 3]].into_iter().enumerate() {
        let local = std::net::SocketAddr::from(([10, 0, 0, 1], 8080));
        let remote = std::net::SocketAddr::from((ip, 40_000));
        let cookie = 6_000 + k as u64;
        s.net(
            who,
            NetKind::Accept,
            Direction::Inbound,
            local,
            remote,
            cookie,
        );
    }
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, app_.pid);
    let scr = screen(&draw(&mut app, 200, 50));
    let row = |what: &str| {
        scr.lines()
            .find(|l| l.contains(what))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no {what:?} in\n{scr}"))
    };
    let busiest = row("→ 127.0.0.1:443 tcp");
    assert!(busiest.contains("×40  3 open"), "{busiest}");
    let failed = row("→ 10.0.0.7:9 tcp");
    assert!(failed.contains("×5  5 refused"), "{failed}");
    let served = row("← 10.0.0.1:8080 tcp");
    assert!(served.contains("×2 from 2 addresses  2 open"), "{served}");
    assert!(row("◉ 0.0.0.0:8080 tcp").contains("listening"), "{scr}");
    assert!(row("→ 10.0.0.9:53 tcp").contains("×4  all closed"), "{scr}");
    assert!(!busiest.contains("all closed") && !failed.contains("all closed"));
    // In that order: the busiest first.
    let at = |what: &str| scr.find(what).expect("shown");
    assert!(at("→ 127.0.0.1:443") < at("→ 10.0.0.7:9"));
    assert!(at("→ 10.0.0.7:9") < at("← 10.0.0.1:8080"));
}

#[test]
fn a_process_ended_between_recordings_is_gone_and_the_gap_is_named() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let sleep = s.spawn(init, 0, "/usr/bin/sleep", &["sleep", "1000"]);
    let kept = s.spawn(init, 0, "/usr/bin/sshd", &["sshd"]);
    // The next recording listed systemd and sshd when it began; cron
    // started in the stretch, unseen.
    let (_, to, unseen) = s.gap(vec![init, kept], init);
    s.now = to;
    s.spawn(init, 0, "/usr/bin/make", &["make"]);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, unseen.pid);
    let detail = screen(&draw(&mut app, 160, 30));
    assert!(
        detail.contains("seeded (started between two recordings,"),
        "{detail}"
    );
    select_pid(&mut app, sleep.pid);
    let buf = draw(&mut app, 160, 30);
    let l = lines(&buf);
    let s = l.join("\n");
    assert!(
        l[1].contains(
            "a gap of 1.2s between recordings (rr.jsonl.1 ended 00:01:40, rr.jsonl began \
             00:01:41 UTC): 1 process ended unseen in it"
        ),
        "{s}"
    );
    let row = |pid: u32| {
        // The tree's row, left of the detail pane.
        l.iter()
            .find(|x| x.contains(&format!("─   {pid} ")))
            .and_then(|x| x.split('│').next())
            .unwrap_or_else(|| panic!("{pid} not shown: {s}"))
            .trim_end()
            .to_string()
    };
    assert!(row(sleep.pid).ends_with("gone"), "{s}");
    assert!(row(kept.pid).ends_with("running"), "{s}");
    assert!(
        s.contains("ended    gone: ended unseen between two recordings, after 2026-01-01"),
        "{s}"
    );
    assert!(s.contains(" 4 alive / 5 procs"), "{s}");
}

/// The demo with a socket of nginx (600) found stuck at its end by a
/// sweep, as `stuck` makes it (connecting, unused, its peer closed).
fn with_nginx_socket(
    direction: crate::event::Direction,
    cookie: u64,
    stuck: impl FnOnce(&mut crate::event::SeedSocket),
) -> Vec<crate::event::Message> {
    let mut msgs = synth::demo();
    let app0 = replay(msgs.clone(), vec![]);
    let nginx = app0.tree.node(app0.tree.find_pid(600).expect("nginx")).key;
    let mut sock = crate::event::SeedSocket::tcp_for_test(direction, cookie, 0);
    sock.actor.proc = nginx;
    sock.actor.tid = nginx.pid;
    sock.seen = app0.tree.last_ktime();
    stuck(&mut sock);
    msgs.push(crate::event::Message::Socket(sock));
    msgs
}

/// The demo with a connect of nginx (600) found in flight: called 3 s
/// before the end of the demo, to 10.88.0.2:81.
pub(super) fn with_a_connect_in_flight() -> Vec<crate::event::Message> {
    with_nginx_socket(crate::event::Direction::Outbound, 9_999, |sock| {
        sock.connecting = true;
        sock.opened = sock.seen - 3_000_000_000;
        sock.local = "10.0.0.1:40046".parse().unwrap();
        sock.remote = "10.88.0.2:81".parse().unwrap();
    })
}

#[test]
fn a_connect_in_flight_says_connecting_and_its_row_counts_it() {
    let mut app = replay(with_a_connect_in_flight(), vec![]);
    select_pid(&mut app, 600);
    let buf = draw(&mut app, 200, 50);
    let s = screen(&buf);
    // The row: one connect in flight, in the alert style.
    let row = s
        .lines()
        .find(|l| l.contains("600 nginx ↗"))
        .unwrap_or_else(|| panic!("nginx's row: {s}"));
    assert!(row.contains("⇢1"), "{row}");
    assert_eq!(Some(cell_at(&buf, "⇢1").fg), app.theme.alert().fg);
    // The detail: counted, and its row says so, from its connect() call,
    // 3 s before.
    assert!(s.contains("1 connecting"), "{s}");
    let line = s
        .lines()
        .find(|l| l.contains("10.88.0.2:81"))
        .unwrap_or_else(|| panic!("the connect in the detail: {s}"));
    assert!(
        line.contains("connecting") && line.contains(" 3.0s"),
        "{line}"
    );
    // The connection list too.
    app.handle(Action::Connections);
    let s = screen(&draw(&mut app, 160, 40));
    let line = s
        .lines()
        .find(|l| l.contains("10.88.0.2:81"))
        .unwrap_or_else(|| panic!("the connect in the list: {s}"));
    assert!(line.contains("connecting"), "{line}");
}

#[test]
fn a_connection_its_peer_closed_says_close_wait_and_the_detail_counts_it() {
    let msgs = with_nginx_socket(crate::event::Direction::Inbound, 9_998, |sock| {
        sock.peer_closed = true;
        sock.local = "10.0.0.1:443".parse().unwrap();
        sock.remote = "10.0.0.9:51000".parse().unwrap();
    });
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, 600);
    let buf = draw(&mut app, 200, 50);
    let s = screen(&buf);
    assert!(s.contains("1 close-wait"), "{s}");
    // Its row counts it, in the alert style.
    let row = s
        .lines()
        .find(|l| l.contains("600 nginx ↙"))
        .unwrap_or_else(|| panic!("nginx's row: {s}"));
    assert!(row.contains("◐1"), "{row}");
    assert_eq!(Some(cell_at(&buf, "◐1").fg), app.theme.alert().fg);
    assert!(
        s.lines()
            .any(|l| l.contains("10.0.0.1:443") && l.contains("close-wait")),
        "{s}"
    );
    // Its row's state, in the alert style.
    assert_eq!(Some(cell_at(&buf, "close-wait ≤").fg), app.theme.alert().fg);
    // On a terminal of 80×24 too, where the pane has room for a few lines.
    let small = screen(&draw(&mut app, 80, 24));
    assert!(small.contains("1 close-wait"), "{small}");
    app.handle(Action::Connections);
    let s = screen(&draw(&mut app, 160, 40));
    let line = s
        .lines()
        .find(|l| l.contains("10.0.0.9:51000"))
        .unwrap_or_else(|| panic!("the connection in the list: {s}"));
    assert!(line.contains("close-wait"), "{line}");
}

#[test]
fn a_process_that_renamed_itself_says_what_it_calls_itself() {
    let (mut s, init, miner) = synth::renamed_miner();
    let plain = s.spawn(init, 0, "/usr/bin/sleep", &["backupd", "100"]);
    let kid = s.fork(miner, "kworker/0:1", 0);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, miner.pid);
    let buf = draw(&mut app, 160, 30);
    let scr = screen(&buf);
    let row = scr
        .lines()
        .find(|l| l.contains(&format!("{} python3 (comm kworker/0:1)", miner.pid)))
        .unwrap_or_else(|| panic!("{scr}"));
    assert!(row.contains("/tmp/kw.py"), "{row}");
    assert_eq!(
        Some(cell_at(&buf, "(comm kworker").fg),
        app.theme.alert().fg
    );
    assert_eq!(
        Some(cell_at(&buf, "  comm kworker").fg),
        app.theme.alert().fg
    );
    // Run under another name, not renamed: nothing said.
    assert!(
        !scr.contains(&format!("{} sleep (comm", plain.pid)),
        "{scr}"
    );
    // Its child, forked and never exec'd, keeps the name: named by what it
    // was forked as, the name beside it.
    select_pid(&mut app, kid.pid);
    let scr = screen(&draw(&mut app, 160, 30));
    assert!(
        scr.contains(&format!("{} python3 (comm kworker/0:1)", kid.pid)),
        "{scr}"
    );
    // And top's name finds it first.
    app.handle(Action::First);
    app.handle(Action::StartSearch);
    for c in "kworker".chars() {
        app.handle(Action::SearchInput(c));
    }
    app.handle(Action::SearchSubmit);
    assert_eq!(app.selected_node(), app.tree.find(miner));
}

#[test]
fn an_orphan_init_adopted_says_so_beside_its_parent() {
    let (msgs, orphan) = synth::adopted_orphan();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, orphan.pid);
    let scr = screen(&draw(&mut app, 200, 30));
    let line = scr
        .lines()
        .find(|l| l.contains("parent   1 systemd"))
        .unwrap_or_else(|| panic!("{scr}"));
    assert!(
        line.contains("(adopted: an orphan when causeway began"),
        "{line}"
    );
}

#[test]
fn a_footer_message_longer_than_the_line_shows_its_cut() {
    let mut app = replay(synth::demo(), vec![]);
    app.flash = Some(format!("{} end", "word ".repeat(30)));
    let buf = draw(&mut app, 80, 24);
    let footer = lines(&buf)[23].trim_end().to_string();
    assert!(footer.ends_with('…'), "{footer:?}");
    assert!(!footer.contains("end"), "{footer:?}");
}

#[test]
fn a_connection_opened_between_two_execs_says_by_which_program() {
    // bash opened it, not sleep.
    let (msgs, job) = synth::between_execs();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, job.pid);
    // (The detail pane wraps the row: its end is on the next line.)
    let text = screen(&draw(&mut app, 160, 40));
    assert!(text.contains("127.0.0.1:18081"), "{text}");
    assert!(text.contains("(as bash)"), "{text}");
}

#[test]
fn a_program_named_by_bytes_that_are_not_utf8_is_escaped_and_not_a_rename() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let odd = s.fork(init, "systemd", 0);
    s.exec_bytes(odd, init, b"/tmp/x/t\xff", &[b"/tmp/x/t\xff", b"30"]);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, odd.pid);
    let scr = screen(&draw(&mut app, 160, 40));
    assert!(scr.contains(&format!("{} t\\xff  30", odd.pid)), "{scr}");
    assert!(!scr.contains('\u{FFFD}'), "{scr}");
    assert!(!scr.contains("(comm"), "{scr}");
    assert!(scr.contains("process  t\\xff  pid"), "{scr}");
}

#[test]
fn a_renamed_process_keeps_its_connection_count_at_80_columns() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    // Deep enough that the row has no room for all of it.
    let parent = s.nested(init, 4);
    let miner = s.spawn(parent, 0, "/usr/bin/python3", &["python3", "/tmp/kw.py"]);
    s.renamed((miner, parent), "kworker/0:1", 9);
    s.outbound_churn((miner, parent), 10..39, |_| true);
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, miner.pid);
    for w in [80, 200] {
        let scr = screen(&draw(&mut app, w, 24));
        let row = scr
            .lines()
            .find(|l| l.contains(&format!("└─   {} python3", miner.pid)))
            .unwrap_or_else(|| panic!("{scr}"));
        assert!(row.contains("↗30"), "{w}: {row}");
        assert!(row.contains("python3 (comm k"), "{w}: {row}");
    }
}

#[test]
fn a_crash_loop_is_summarised_on_its_supervisor() {
    let (msgs, sup, _running) = synth::crash_loop();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, sup.pid);
    // At 80×24 too: how its children ended, most frequent first, on one
    // line of the detail pane.
    for (w, h) in [(80, 24), (200, 50)] {
        let s = screen(&draw(&mut app, w, h));
        assert!(
            s.contains("children 61: 57 exit 1, 2 SIGSEGV, 1 SIGABRT (core dumped); 1 running"),
            "{w}x{h}:\n{s}"
        );
    }
    // Its row says how many of its children failed, folded or not.
    let row_of = |app: &mut App| {
        let s = screen(&draw(app, 80, 24));
        s.lines()
            .find(|l| l.contains(&format!("{} setsid→supervisor.sh", sup.pid)))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{s}"))
    };
    let row = row_of(&mut app);
    assert!(row.contains("supervisor.sh ↻60"), "{row}");
    app.handle(Action::Left);
    let row = row_of(&mut app);
    assert!(
        row.contains("▸ 1000 setsid→supervisor.sh (61) ↻60"),
        "{row}"
    );
    // A process with a failed child or two is no loop: no marker.
    let mut demo = replay(synth::demo(), vec![]);
    let s = screen(&draw(&mut demo, 200, 50));
    assert!(!s.contains('↻'), "{s}");
    select_pid(&mut demo, 1002);
    let s = screen(&draw(&mut demo, 200, 50));
    assert!(!s.contains("children "), "two children, no summary: {s}");
}

#[test]
fn the_crash_loop_marker_is_as_of_the_moment_shown() {
    let (msgs, sup, _) = synth::crash_loop();
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, sup.pid);
    // Back to just after the fourth child ended: three had failed.
    let fourth = app
        .tree
        .node(app.tree.children(app.tree.find(sup).expect("sup"))[3]);
    app.at = fourth.exit_time;
    app.rows.set_cutoff(&app.tree, app.at);
    let s = screen(&draw(&mut app, 200, 50));
    assert!(s.contains("supervisor.sh ↻4"), "{s}");
    assert!(s.contains("children 4: 4 exit 1"), "{s}");
}

#[test]
fn a_port_scan_is_summarised_per_host() {
    let (msgs, scan) = synth::port_scan(200);
    let mut app = replay(msgs, vec![]);
    select_pid(&mut app, scan.pid);
    let s = screen(&draw(&mut app, 200, 50));
    let row = |what: &str| {
        s.lines()
            .find(|l| l.contains(what))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no {what:?} in\n{s}"))
    };
    assert!(row("conns    201 (1 open)").contains("200 failed"), "{s}");
    let host = row("→ 127.0.0.1 tcp");
    assert!(
        host.contains("→ 127.0.0.1 tcp  200 ports (20000–20199)  all refused"),
        "{host}"
    );
    assert!(row("→ 127.0.0.1:22 tcp").contains("1 open"), "{s}");
    assert!(!s.contains("more destinations"), "{s}");
    assert!(!s.contains("127.0.0.1:20199"), "{s}");
    // Ports apart, each tried twice, failed two ways: said so; and a
    // host with two failed ports is no scan.
    use crate::event::{Direction, Ending, NetKind};
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let client = s.spawn(init, 0, "/usr/bin/client", &["client"]);
    let who = (client, init);
    let out = Direction::Outbound;
    let mut cookie = 10;
    let mut tries = |s: &mut Synth, host: [u8; 4], port: u16, error: u16| {
        for _ in 0..2 {
            cookie += 1;
            let ends = (
                std::net::SocketAddr::from(([10, 0, 0, 1], 30_000 + cookie as u16)),
                std::net::SocketAddr::from((host, port)),
            );
            s.net(who, NetKind::Connect, out, ends.0, ends.1, cookie);
            let ending = Ending {
                error,
                from: crate::event::TCP_SYN_SENT,
            };
            s.close(who, out, ends, cookie, (0, 0), ending);
        }
    };
    for (port, error) in [(80, 111), (443, 111), (8080, 110)] {
        tries(&mut s, [10, 0, 0, 7], port, error);
    }
    for port in [5432, 6379] {
        tries(&mut s, [10, 0, 0, 9], port, 111);
    }
    for port in 0..6 {
        tries(&mut s, [10, 0, 0, 10], 9000 + port * 7, 111);
    }
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, client.pid);
    let s = screen(&draw(&mut app, 200, 50));
    let row = |what: &str| {
        s.lines()
            .find(|l| l.contains(what))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no {what:?} in\n{s}"))
    };
    assert!(
        row("→ 10.0.0.7 tcp").contains("3 ports (80, 443, 8080)  ×6  4 refused  2 timed out"),
        "{s}"
    );
    assert!(
        row("→ 10.0.0.10 tcp").contains("6 ports in 9000–9035  ×12  all refused"),
        "{s}"
    );
    assert!(row("→ 10.0.0.9:5432 tcp").contains("×2  2 refused"), "{s}");
}

#[test]
fn a_deleted_program_and_a_disguise_stand_out_and_an_alias_does_not() {
    let (s, [py, shell, x, memfd]) = synth::fileless();
    let mut app = replay(s.messages, vec![]);
    let buf = draw(&mut app, 200, 30);
    let scr = screen(&buf);
    let row = |k: ProcKey| {
        scr.lines()
            .find(|l| l.split_whitespace().nth(2) == Some(&k.pid.to_string()))
            .unwrap_or_else(|| panic!("{scr}"))
            .to_string()
    };
    assert!(
        row(py).contains(&format!("{} python3.11  app.py", py.pid)),
        "{scr}"
    );
    assert!(
        scr.contains("500 python3.11  app.py"),
        "listed the same: {scr}"
    );
    assert!(
        row(shell).contains(&format!("{} dash (as sh)  -c true", shell.pid)),
        "{scr}"
    );
    assert!(
        row(x).contains(&format!("{} x (deleted)  300", x.pid)),
        "{scr}"
    );
    assert!(scr.contains("600 old (deleted)  300"), "{scr}");
    assert!(
        row(memfd).contains(&format!(
            "{} python3.11→memfd:payload (deleted) (argv0 [kworker/u4:2])  -q",
            memfd.pid
        )),
        "{scr}"
    );
    // No note for a login shell, sshd's child, a name cut.
    assert!(
        scr.contains(" bash  ") && !scr.contains("bash (as"),
        "{scr}"
    );
    assert!(scr.contains(" sshd ") && !scr.contains("sshd (a"), "{scr}");
    assert_eq!(Some(cell_at(&buf, " (deleted)").fg), app.theme.alert().fg);
    assert_eq!(Some(cell_at(&buf, " (argv0 [kw").fg), app.theme.alert().fg);
    let alias = cell_at(&buf, " (as sh)");
    assert!(alias.modifier.contains(Modifier::DIM));
    assert_ne!(Some(alias.fg), app.theme.alert().fg);
    // The detail: the file, deleted and what it is, the path exec'd, the
    // disguise.
    select_pid(&mut app, memfd.pid);
    let scr = screen(&draw(&mut app, 200, 40));
    assert!(
        scr.contains(
            "exe      /memfd:payload (deleted: a memfd, a program with no file on disk)  exec'd as"
        ) && scr.contains("│/proc/self/fd/3"),
        "{scr}"
    );
    assert!(
        scr.contains("argv0    [kworker/u4:2]  (not its program's name"),
        "{scr}"
    );
    select_pid(&mut app, x.pid);
    let scr = screen(&draw(&mut app, 200, 40));
    assert!(
        scr.contains("exe      /tmp/drill/x (deleted)  exec'd as ./x"),
        "{scr}"
    );
}

#[test]
fn a_disguise_survives_a_narrow_row_before_what_it_began_as() {
    let mut s = Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let parent = s.nested(init, 4);
    let payload = s.spawn(parent, 0, "/usr/bin/python3", &["python3", "/tmp/drop.py"]);
    s.exec_file(
        payload,
        parent,
        0,
        ("/proc/self/fd/3", "/memfd:payload"),
        true,
        &["[kworker/u4:2]", "302"],
    );
    let mut app = replay(s.messages, vec![]);
    select_pid(&mut app, payload.pid);
    for w in [80, 100, 200] {
        let scr = screen(&draw(&mut app, w, 24));
        let row = scr
            .lines()
            .find(|l| l.contains(&format!("└─   {} ", payload.pid)))
            .unwrap_or_else(|| panic!("{w}:\n{scr}"));
        assert!(row.contains("(deleted)"), "{w}: {row}");
        assert!(row.contains("(argv0 "), "{w}: {row}");
    }
}
