//! Keys to actions, and actions on the state.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};

use super::{live, replay, synth};
use crate::graph::NodeId;
use crate::ui::keys::{Action, Mode, key_to_action, mouse_to_action, rejoin_escapes};
use crate::ui::rows::Item;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn keys_map_to_actions_in_the_tree() {
    let t = Mode::Tree;
    let cases = [
        (KeyCode::Up, Action::Up),
        (KeyCode::Char('k'), Action::Up),
        (KeyCode::Down, Action::Down),
        (KeyCode::Char('j'), Action::Down),
        (KeyCode::PageUp, Action::PageUp),
        (KeyCode::PageDown, Action::PageDown),
        (KeyCode::Home, Action::First),
        (KeyCode::Char('g'), Action::First),
        (KeyCode::End, Action::Last),
        (KeyCode::Char('G'), Action::Last),
        (KeyCode::Left, Action::Left),
        (KeyCode::Char('h'), Action::Left),
        (KeyCode::Right, Action::Right),
        (KeyCode::Char('l'), Action::Right),
        (KeyCode::Enter, Action::ToggleFold),
        (KeyCode::Char(' '), Action::ToggleFold),
        (KeyCode::Char('p'), Action::Parent),
        (KeyCode::Char('%'), Action::Busiest),
        (KeyCode::Char('f'), Action::ToggleFollow),
        (KeyCode::Char('c'), Action::Connections),
        (KeyCode::Char('x'), Action::Export),
        (KeyCode::Char('?'), Action::ToggleHelp),
        (KeyCode::Char('q'), Action::Quit),
        (KeyCode::Char('['), Action::ScrubPrev),
        (KeyCode::Char(']'), Action::ScrubNext),
        (KeyCode::Char('('), Action::ScrubPrevHere),
        (KeyCode::Char(')'), Action::ScrubNextHere),
    ];
    for (code, action) in cases {
        assert_eq!(key_to_action(key(code), t), Some(action), "{code:?}");
    }
    assert_eq!(key_to_action(key(KeyCode::Char('z')), t), None);
    assert_eq!(
        key_to_action(key(KeyCode::Char('x')), Mode::Connections),
        Some(Action::Export)
    );
    assert_eq!(
        key_to_action(key(KeyCode::Char('x')), Mode::Search),
        Some(Action::SearchInput('x'))
    );
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    for mode in [Mode::Tree, Mode::Connections, Mode::Help] {
        assert_eq!(key_to_action(ctrl_c, mode), Some(Action::Quit));
        assert_eq!(
            key_to_action(key(KeyCode::Char('q')), mode),
            Some(Action::Quit)
        );
    }
}

#[test]
fn only_presses_count() {
    for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
        let ev = KeyEvent {
            code: KeyCode::Down,
            modifiers: KeyModifiers::NONE,
            kind,
            state: KeyEventState::NONE,
        };
        assert_eq!(key_to_action(ev, Mode::Tree), None);
    }
}

#[test]
fn keys_in_the_connection_list_and_help() {
    let c = Mode::Connections;
    assert_eq!(key_to_action(key(KeyCode::Down), c), Some(Action::Down));
    assert_eq!(
        key_to_action(key(KeyCode::Enter), c),
        Some(Action::JumpToPeer)
    );
    assert_eq!(key_to_action(key(KeyCode::Esc), c), Some(Action::Back));
    let h = Mode::Help;
    assert_eq!(key_to_action(key(KeyCode::Esc), h), Some(Action::Back));
    assert_eq!(
        key_to_action(key(KeyCode::Char('?')), h),
        Some(Action::ToggleHelp)
    );
    assert_eq!(key_to_action(key(KeyCode::Down), h), None);
}

#[test]
fn mouse_click_and_wheel() {
    let ev = |kind| MouseEvent {
        kind,
        column: 5,
        row: 7,
        modifiers: KeyModifiers::NONE,
    };
    assert_eq!(
        mouse_to_action(ev(MouseEventKind::Down(MouseButton::Left))),
        Some(Action::Click { column: 5, row: 7 })
    );
    assert_eq!(
        mouse_to_action(ev(MouseEventKind::ScrollDown)),
        Some(Action::Scroll(3))
    );
    assert_eq!(
        mouse_to_action(ev(MouseEventKind::ScrollUp)),
        Some(Action::Scroll(-3))
    );
    assert_eq!(mouse_to_action(ev(MouseEventKind::Moved)), None);
}

fn pid_of(app: &crate::ui::App) -> Option<u32> {
    app.selected_node().map(|n| app.tree.node(n).key.pid)
}

fn row(app: &crate::ui::App) -> usize {
    app.rows
        .row_of(&app.tree, app.selected.expect("selection"))
        .expect("shown")
}

#[test]
fn replay_opens_at_the_newest_process() {
    let app = replay(synth::demo(), vec![]);
    let newest = NodeId(app.tree.len() as u32 - 1);
    assert_eq!(app.selected, Some(Item::Node(newest)));
    assert_eq!(pid_of(&app), Some(4000));
}

#[test]
fn moving_and_paging_stay_in_bounds() {
    let mut app = replay(synth::host(200, 1), vec![]);
    app.resize(80, 24);
    let total = app.rows.total(&app.tree);
    app.handle(Action::First);
    assert_eq!(row(&app), 0);
    app.handle(Action::Up);
    assert_eq!(row(&app), 0);
    app.handle(Action::Down);
    assert_eq!(row(&app), 1);
    app.handle(Action::PageDown);
    let h = app.tree_height();
    assert_eq!(row(&app), 1 + h);
    assert!(app.offset <= row(&app) && row(&app) < app.offset + h);
    app.handle(Action::Last);
    assert_eq!(row(&app), total - 1);
    assert_eq!(app.offset, total - h);
    app.handle(Action::Down);
    assert_eq!(row(&app), total - 1);
    app.handle(Action::PageUp);
    assert_eq!(row(&app), total - 1 - h);
}

#[test]
fn left_folds_then_goes_to_the_parent_and_right_unfolds() {
    let mut app = replay(synth::demo(), vec![]);
    // make (pid 1002) has two children.
    let make = app.tree.find_pid(1002).expect("make");
    app.selected = Some(Item::Node(make));
    let total = app.rows.total(&app.tree);
    app.handle(Action::Left);
    assert!(app.rows.is_collapsed(make));
    assert_eq!(app.rows.total(&app.tree), total - 2);
    app.handle(Action::Left);
    assert_eq!(pid_of(&app), Some(1001), "bash, make's parent");
    app.handle(Action::Down);
    assert_eq!(pid_of(&app), Some(1002));
    app.handle(Action::Right);
    assert!(!app.rows.is_collapsed(make));
    assert_eq!(app.rows.total(&app.tree), total);
    app.handle(Action::Right);
    assert_eq!(pid_of(&app), Some(1003), "first child");
    // Enter toggles.
    app.selected = Some(Item::Node(make));
    app.handle(Action::ToggleFold);
    assert!(app.rows.is_collapsed(make));
    app.handle(Action::ToggleFold);
    assert!(!app.rows.is_collapsed(make));
}

#[test]
fn folding_an_ancestor_of_the_selection_selects_the_ancestor() {
    let mut app = replay(synth::demo(), vec![]);
    let cc = app.tree.find_pid(1004).expect("failing cc");
    let bash = app.tree.find_pid(1001).expect("bash");
    app.selected = Some(Item::Node(cc));
    app.rows.set_collapsed(&app.tree, Item::Node(bash), true);
    app.fix_view();
    assert_eq!(app.selected, Some(Item::Node(bash)));
}

#[test]
fn parent_jumps_and_explains_when_there_is_none() {
    let mut app = replay(synth::demo(), vec![]);
    let cc = app.tree.find_pid(1004).expect("cc");
    app.selected = Some(Item::Node(cc));
    app.handle(Action::Parent);
    assert_eq!(pid_of(&app), Some(1002));
    // The stray process's parent was never seen.
    let stray = app.tree.find_pid(4000).expect("stray");
    app.selected = Some(Item::Node(stray));
    app.handle(Action::Parent);
    assert_eq!(pid_of(&app), Some(4000));
    assert!(flashed(&app, "never seen"));
    // On it, left goes to the marker row.
    app.handle(Action::Left);
    assert_eq!(app.selected, Some(Item::Orphans));
    app.handle(Action::Left);
    assert_eq!(app.selected, Some(Item::Orphans));
    app.handle(Action::First);
    app.handle(Action::Parent);
    assert!(flashed(&app, "root"));
}

#[test]
fn follow_tracks_the_newest_process_until_the_user_moves() {
    let msgs = synth::host(100, 5);
    let mut app = live(&msgs[..40]);
    app.handle(Action::ToggleFollow);
    assert!(app.follow);
    for m in &msgs[40..] {
        app.apply(m);
    }
    app.settle();
    assert_eq!(
        app.selected,
        Some(Item::Node(NodeId(app.tree.len() as u32 - 1)))
    );
    app.handle(Action::Up);
    assert!(!app.follow);
    app.handle(Action::ToggleFollow);
    app.handle(Action::ToggleFollow);
    assert!(!app.follow);
}

#[test]
fn connections_list_and_jump_to_peer() {
    let mut app = replay(synth::demo(), vec![]);
    let curl = app.tree.find_pid(1006).expect("curl");
    app.selected = Some(Item::Node(curl));
    app.handle(Action::Connections);
    assert_eq!(app.mode, Mode::Connections);
    assert_eq!(app.input_mode(), Mode::Connections);
    app.handle(Action::Down);
    assert_eq!(app.conn_sel, 0, "one connection: stays");
    app.handle(Action::JumpToPeer);
    assert_eq!(app.mode, Mode::Tree);
    assert_eq!(pid_of(&app), Some(600), "nginx");
    // nginx: listen + accepted connection. The listener has no other
    // end, and says where what it accepted is.
    app.handle(Action::Connections);
    assert_eq!(app.conn_sel, 0);
    app.handle(Action::JumpToPeer);
    assert_eq!(app.mode, Mode::Connections);
    assert!(
        flashed(&app, "a listening socket has no other end")
            && flashed(&app, "(/ :8080 finds them)"),
        "{:?}",
        app.flash
    );
    app.handle(Action::Down);
    assert_eq!(app.conn_sel, 1);
    app.handle(Action::Back);
    assert_eq!(app.mode, Mode::Tree);
    // A process without connections says so.
    app.handle(Action::First);
    app.handle(Action::Connections);
    assert_eq!(app.mode, Mode::Tree);
    assert!(app.flash.is_some());
}

#[test]
fn a_jump_off_screen_brings_the_process_a_third_of_the_way_down() {
    let mut app = replay(synth::chain(200), vec![]);
    app.resize(80, 24);
    let h = app.tree_height();
    assert!(h > 6, "{h} rows");
    app.handle(Action::First);
    type_search(&mut app, "level 150");
    assert_eq!(row(&app), 150);
    assert_eq!(app.offset, 150 - h / 3, "below: a third of the way down");
    // On screen already: the view stays where it is.
    type_search(&mut app, "level 149");
    assert_eq!(row(&app), 149);
    assert_eq!(app.offset, 150 - h / 3);
    type_search(&mut app, "level 42");
    assert_eq!(row(&app), 42);
    assert_eq!(app.offset, 42 - h / 3, "above: the same");
    // Near the end, the view stops at the last row.
    type_search(&mut app, "level 199");
    assert_eq!(app.offset, app.rows.total(&app.tree) - h);
    // The parent jump too, to a parent off screen.
    app.selected = app.rows.item_at(&app.tree, 150);
    app.offset = 0;
    app.handle(Action::Parent);
    assert_eq!(row(&app), 149);
    assert_eq!(app.offset, 149 - h / 3);
}

#[test]
fn help_takes_the_keys_until_closed() {
    let mut app = replay(synth::demo(), vec![]);
    let sel = app.selected;
    app.handle(Action::ToggleHelp);
    assert_eq!(app.input_mode(), Mode::Help);
    app.handle(Action::Down);
    assert_eq!(app.selected, sel, "help swallows movement");
    app.handle(Action::Back);
    assert_eq!(app.input_mode(), Mode::Tree);
    app.handle(Action::Quit);
    assert!(app.quit);
}

#[test]
fn click_selects_and_wheel_scrolls() {
    let mut app = replay(synth::host(200, 2), vec![]);
    app.resize(80, 24);
    app.handle(Action::First);
    let body = app.areas().tree_body;
    app.handle(Action::Click {
        column: 10,
        row: body.y + 3,
    });
    assert_eq!(row(&app), 3);
    app.handle(Action::Scroll(3));
    assert_eq!(app.offset, 3);
    assert_eq!(row(&app), 3, "still on screen: stays");
    for _ in 0..3 {
        app.handle(Action::Scroll(3));
    }
    assert_eq!(app.offset, 12);
    assert_eq!(row(&app), 12, "dragged along with the page");
    app.handle(Action::Scroll(-100));
    assert_eq!(app.offset, 0);
    // A click outside the tree does nothing.
    app.handle(Action::Click { column: 1, row: 0 });
    assert_eq!(app.offset, 0);
}

#[test]
fn live_batches_keep_the_selection_on_screen() {
    let msgs = synth::host(500, 9);
    let mut app = live(&[]);
    assert_eq!(app.selected, None);
    for chunk in msgs.chunks(37) {
        for m in chunk {
            app.apply(m);
        }
        app.settle();
        let r = row(&app);
        assert!(app.offset <= r && r < app.offset + app.tree_height());
    }
}

#[test]
fn search_prompt_takes_every_key() {
    let s = Mode::Search;
    assert_eq!(
        key_to_action(key(KeyCode::Char('q')), s),
        Some(Action::SearchInput('q'))
    );
    assert_eq!(
        key_to_action(key(KeyCode::Char('?')), s),
        Some(Action::SearchInput('?'))
    );
    assert_eq!(
        key_to_action(key(KeyCode::Backspace), s),
        Some(Action::SearchBackspace)
    );
    assert_eq!(
        key_to_action(key(KeyCode::Enter), s),
        Some(Action::SearchSubmit)
    );
    assert_eq!(key_to_action(key(KeyCode::Esc), s), Some(Action::Back));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(key_to_action(ctrl_c, s), Some(Action::Quit));
    let t = Mode::Tree;
    assert_eq!(
        key_to_action(key(KeyCode::Char('/')), t),
        Some(Action::StartSearch)
    );
    assert_eq!(
        key_to_action(key(KeyCode::Char('n')), t),
        Some(Action::SearchNext)
    );
    assert_eq!(
        key_to_action(key(KeyCode::Char('N')), t),
        Some(Action::SearchPrev)
    );
    for k in [KeyCode::Char('\\'), KeyCode::F(4)] {
        assert_eq!(key_to_action(key(k), t), Some(Action::StartFilter));
    }
    let f = Mode::Filter;
    assert_eq!(
        key_to_action(key(KeyCode::Char('q')), f),
        Some(Action::SearchInput('q'))
    );
    assert_eq!(key_to_action(key(KeyCode::Esc), f), Some(Action::Back));
}

/// Whether the footer's answer to the last action says `text`.
fn flashed(app: &crate::ui::App, text: &str) -> bool {
    app.flash.as_deref().unwrap_or("").contains(text)
}

fn type_search(app: &mut crate::ui::App, q: &str) {
    app.handle(Action::StartSearch);
    assert_eq!(app.input_mode(), Mode::Search);
    for c in q.chars() {
        app.handle(Action::SearchInput(c));
    }
    app.handle(Action::SearchSubmit);
    assert_eq!(app.input_mode(), Mode::Tree);
}

#[test]
fn search_finds_by_name_pid_and_argv_and_cycles() {
    let mut app = replay(synth::demo(), vec![]);
    app.handle(Action::First);
    type_search(&mut app, "CC");
    assert_eq!(pid_of(&app), Some(1003), "name, ignoring case");
    // Which match, of how many, as n and N go through them.
    let says = |app: &crate::ui::App, which| {
        let want = format!("\"CC\": match {which} of 2 (n next, N previous)");
        assert_eq!(app.flash.as_deref(), Some(want.as_str()));
    };
    says(&app, 1);
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(1004));
    says(&app, 2);
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(1003), "wraps around");
    says(&app, 1);
    app.handle(Action::SearchPrev);
    assert_eq!(pid_of(&app), Some(1004));
    says(&app, 2);
    type_search(&mut app, "600");
    assert_eq!(pid_of(&app), Some(600), "pid");
    type_search(&mut app, "broken.c");
    assert_eq!(pid_of(&app), Some(1004), "argv");
    // A hidden match is unfolded.
    let make = app.tree.find_pid(1002).expect("make");
    app.selected = Some(Item::Node(make));
    app.handle(Action::Left);
    assert!(app.rows.is_collapsed(make));
    type_search(&mut app, "main.o");
    assert_eq!(pid_of(&app), Some(1003));
    assert!(!app.rows.is_collapsed(make));
    // No match: said, selection kept.
    type_search(&mut app, "no-such-thing");
    assert_eq!(pid_of(&app), Some(1003));
    assert!(flashed(&app, "no process matches"));
    // Backspace edits, Ctrl-U clears; Esc cancels without searching.
    app.handle(Action::StartSearch);
    app.handle(Action::SearchInput('x'));
    app.handle(Action::SearchBackspace);
    assert_eq!(app.query, "");
    for c in "curl".chars() {
        app.handle(Action::SearchInput(c));
    }
    let ctrl_u = KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        key_to_action(ctrl_u, app.input_mode()),
        Some(Action::SearchClear)
    );
    assert_eq!(key_to_action(ctrl_u, Mode::Tree), None);
    app.handle(Action::SearchClear);
    assert_eq!(app.query, "");
    app.handle(Action::Back);
    assert_eq!(app.input_mode(), Mode::Tree);
}

#[test]
fn a_new_search_goes_first_to_a_process_it_names() {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    // An environment in an argv mentions curl long before curl runs.
    let agent = s.spawn(
        init,
        0,
        "/opt/agent",
        &["agent", "--env", "CURL_CA_BUNDLE=/etc/ca"],
    );
    let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl", "http://10.0.0.7/"]);
    let kill = format!("kill -9 {}", curl.pid);
    let killer = s.spawn(init, 0, "/bin/sh", &["sh", "-c", &kill]);
    let mut app = replay(s.messages, vec![]);
    app.handle(Action::First);
    type_search(&mut app, "curl");
    assert_eq!(pid_of(&app), Some(curl.pid), "the process named curl");
    // n and N go through every match, in order: the mention too.
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(agent.pid));
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(curl.pid));
    // Only a mention: found as before.
    type_search(&mut app, "ca_bundle");
    assert_eq!(pid_of(&app), Some(agent.pid));
    // A pid is a pid, not a name: from curl, the next match is the
    // command line that killed it, but the search goes to the pid first.
    type_search(&mut app, "curl");
    type_search(&mut app, &curl.pid.to_string());
    assert_eq!(pid_of(&app), Some(curl.pid));
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(killer.pid), "then the mention");
    // Run under another name (`exec -a mydaemon bash`, what ps shows):
    // named so, before a command line that mentions it.
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let mention = s.spawn(
        init,
        0,
        "/bin/sh",
        &["sh", "-c", "exec -a mydaemon bash -c loop"],
    );
    let daemon = s.spawn(init, 0, "/usr/bin/bash", &["mydaemon", "-c", "loop"]);
    let mut app = replay(s.messages, vec![]);
    app.handle(Action::First);
    type_search(&mut app, "mydaemon");
    assert_eq!(
        pid_of(&app),
        Some(daemon.pid),
        "the process run as mydaemon"
    );
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(mention.pid));
}

#[test]
fn a_new_search_goes_first_to_the_process_it_names_whole() {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let kthreadd = s.seed(2, None, "kthreadd", &[]);
    // A kernel worker whose name holds the query, and a miner calling
    // itself by the query, later.
    let kworker = s.seed(57, Some(kthreadd), "kworker/0:1H-kblockd", &[]);
    let miner = s.spawn(init, 0, "/usr/bin/python3", &["python3", "kw.py"]);
    s.renamed((miner, init), "kworker/0:1", 9);
    let mut app = replay(s.messages, vec![]);
    app.handle(Action::First);
    type_search(&mut app, "kworker/0:1");
    assert_eq!(pid_of(&app), Some(miner.pid), "the one called so");
    app.handle(Action::SearchNext);
    assert_eq!(
        pid_of(&app),
        Some(kworker.pid),
        "then the one whose name holds it"
    );
}

#[test]
fn search_finds_a_process_by_an_address_of_its_connections() {
    let mut app = replay(synth::demo(), vec![]);
    let curl = app.tree.find_pid(1006).expect("curl");
    let nginx = app.tree.find_pid(600).expect("nginx");
    // curl's local port: only its connection and nginx's accepted one
    // have it (no argv does).
    let client = app.tree.node(curl).conns[0];
    let port = app.tree.conn(client).local.port();
    app.handle(Action::First);
    type_search(&mut app, &format!(":{port}"));
    assert_eq!(pid_of(&app), Some(600), "nginx: its accepted connection");
    assert_eq!(app.conn_sel, 1, "the list opens on it, after the listener");
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(1006), "curl: its connection");
    assert_eq!(app.conn_sel, 0);
    app.handle(Action::Connections);
    app.handle(Action::JumpToPeer);
    assert_eq!(app.selected, Some(Item::Node(nginx)), "and on to the peer");
    // An address no argv holds: nginx's side of the connection.
    app.handle(Action::First);
    type_search(&mut app, "127.0.0.1");
    assert_eq!(pid_of(&app), Some(600));
    // A port, exactly; a number alone is a pid or a name.
    let prefix = port.to_string();
    type_search(&mut app, &format!(":{}", &prefix[..prefix.len() - 1]));
    assert!(flashed(&app, "no process matches"));
    app.handle(Action::First);
    type_search(&mut app, &port.to_string());
    assert!(
        flashed(&app, "no process matches"),
        "a bare number does not search ports: {port} found {:?}",
        pid_of(&app)
    );
}

#[test]
fn a_bang_finds_and_filters_what_failed() {
    use crate::event::{Direction, Ending, ExitStatus, NetKind};
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let ends = |port: u16| {
        let local = std::net::SocketAddr::from(([127, 0, 0, 1], 40_000 + port));
        (local, std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    };
    let out = Direction::Outbound;
    // curl: one clean connection, then one refused; make: exits 2; true:
    // exits 0.
    let curl = s.spawn(init, 0, "/usr/bin/curl", &["curl"]);
    for (port, error, from) in [(80, 0, 9), (81, 111, 2)] {
        let (l, r) = ends(port);
        s.net((curl, init), NetKind::Connect, out, l, r, port.into());
        let ending = Ending { error, from };
        s.close((curl, init), out, ends(port), port.into(), (0, 0), ending);
    }
    let make = s.spawn(init, 0, "/usr/bin/make", &["make"]);
    s.exit(make, init, ExitStatus::Code(2));
    let ok = s.spawn(init, 0, "/usr/bin/true", &["true"]);
    s.exit(ok, init, ExitStatus::Code(0));
    let mut app = replay(s.messages, vec![]);
    app.handle(Action::First);
    type_search(&mut app, "!");
    assert_eq!(pid_of(&app), Some(curl.pid));
    assert_eq!(app.conn_sel, 1, "the list opens on the refused connection");
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(make.pid), "exited 2");
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(curl.pid), "and round again");
    type_search(&mut app, "!refused");
    app.handle(Action::SearchNext);
    assert_eq!(pid_of(&app), Some(curl.pid), "the only one refused");
    type_filter(&mut app, "!");
    assert_eq!(app.filter_found, 2);
    assert_eq!(shown_pids(&app), [1, curl.pid, make.pid]);
    type_filter(&mut app, "!reset");
    assert!(flashed(&app, "no process matches"), "none was reset");
    // A word that is no failure is said to be none, not found nowhere.
    let unknown = "unknown failure kind \"refsued\" (one of: refused reset timeout";
    type_search(&mut app, "!refsued");
    assert!(flashed(&app, unknown), "{:?}", app.flash);
    type_filter(&mut app, "!Refsued");
    assert!(flashed(&app, unknown), "{:?}", app.flash);
    assert_eq!(app.filter.as_deref(), Some("!"), "filter unchanged");
}

fn type_filter(app: &mut crate::ui::App, q: &str) {
    app.handle(Action::StartFilter);
    assert_eq!(app.input_mode(), Mode::Filter);
    // The prompt starts from the filter in force.
    assert_eq!(app.query, app.filter.clone().unwrap_or_default());
    app.query.clear();
    for c in q.chars() {
        app.handle(Action::SearchInput(c));
    }
    app.handle(Action::SearchSubmit);
    assert_eq!(app.input_mode(), Mode::Tree);
}

/// The pids of the rows shown, in order.
fn shown_pids(app: &crate::ui::App) -> Vec<u32> {
    let n = app.rows.total(&app.tree);
    app.rows
        .visible(&app.tree, 0, n)
        .iter()
        .filter_map(|r| match r.item {
            Item::Node(id) => Some(app.tree.node(id).key.pid),
            Item::Orphans => None,
        })
        .collect()
}

#[test]
fn a_peer_hidden_by_the_filter_is_not_jumped_to() {
    // Filtered to curl: nginx, its peer, is not shown. Enter used to
    // select the nearest ancestor shown in its place, saying nginx.
    let mut app = replay(synth::demo(), vec![]);
    type_filter(&mut app, "curl");
    let curl = app.tree.find_pid(1006).expect("curl");
    app.selected = Some(Item::Node(curl));
    app.handle(Action::Connections);
    app.handle(Action::JumpToPeer);
    assert_eq!(pid_of(&app), Some(1006), "the selection stays");
    assert_eq!(app.mode, Mode::Connections);
    assert_eq!(
        app.flash.as_deref(),
        Some("peer process 600 nginx is hidden by the filter \"curl\" (\\ Ctrl-U Enter clears it)")
    );
}

#[test]
fn a_search_under_the_filter_counts_what_it_hides() {
    let mut app = replay(synth::demo(), vec![]);
    type_filter(&mut app, "cc");
    app.handle(Action::First);
    // Shown: systemd --system, sshd -D, -bash, make -j2, both cc -c;
    // hidden: nginx -g, cron-job --nightly.
    type_search(&mut app, "-");
    assert_eq!(pid_of(&app), Some(500));
    assert_eq!(
        app.flash.as_deref(),
        Some("\"-\": match 2 of 6, 2 more hidden by the filter (n next, N previous)")
    );
}

#[test]
fn the_filter_shows_what_it_finds_and_their_ancestors() {
    let mut app = replay(synth::demo(), vec![]);
    let all = app.rows.total(&app.tree);
    type_filter(&mut app, "cc");
    assert_eq!(app.filter.as_deref(), Some("cc"));
    assert_eq!(app.filter_found, 2);
    // systemd > sshd > session > bash > make > the two cc.
    assert_eq!(shown_pids(&app), [1, 500, 1000, 1001, 1002, 1003, 1004]);
    let sel = pid_of(&app);
    assert!(matches!(sel, Some(1003 | 1004)), "on a match: {sel:?}");
    // A search goes over what is shown only, and says what the filter
    // hides: nginx, by its name or its pid.
    let hidden = "600 nginx is hidden by the filter \"cc\" (\\ Ctrl-U Enter clears it)";
    for q in ["nginx", "600"] {
        type_search(&mut app, q);
        assert!(flashed(&app, hidden), "{q}: {:?}", app.flash);
    }
    type_search(&mut app, "-c");
    assert!(flashed(&app, "\"-c\": match "), "{:?}", app.flash);
    type_search(&mut app, "no-such-thing");
    assert!(flashed(&app, "no process matches"), "{:?}", app.flash);
    // Several: the first, and how many more.
    type_filter(&mut app, "make");
    type_search(&mut app, "-c");
    assert!(
        flashed(
            &app,
            "1003 cc and 1 more matches are hidden by the filter \"make\""
        ),
        "{:?}",
        app.flash
    );
    type_filter(&mut app, "cc");
    // By address: the two ends of the local connection.
    type_filter(&mut app, "127.0.0.1");
    assert_eq!(app.filter_found, 2, "nginx's accepted end, curl");
    let pids = shown_pids(&app);
    assert!(pids.contains(&600) && pids.contains(&1006), "{pids:?}");
    assert!(!pids.contains(&1003), "{pids:?}");
    // One that finds nothing is refused in a replay (nothing more comes),
    // and the filter kept.
    type_filter(&mut app, "no-such-thing");
    assert!(flashed(&app, "no process matches"));
    assert_eq!(app.filter.as_deref(), Some("127.0.0.1"));
    assert_eq!(shown_pids(&app), pids);
    // Empty: every process again.
    type_filter(&mut app, "");
    assert_eq!(app.filter, None);
    assert_eq!(app.rows.total(&app.tree), all);
    // Esc leaves the filter as it was.
    type_filter(&mut app, "cc");
    app.handle(Action::StartFilter);
    app.handle(Action::SearchInput('x'));
    app.handle(Action::Back);
    assert_eq!(app.filter.as_deref(), Some("cc"));
}

#[test]
fn filtered_live_new_processes_show_once_the_filter_finds_them() {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let shell = s.spawn(init, 0, "/bin/bash", &["bash"]);
    let first = s.spawn(shell, 0, "/usr/bin/curl", &["curl", "example.org"]);
    let mut app = super::live(&s.messages);
    app.handle(Action::First);
    type_filter(&mut app, "curl");
    assert_eq!(shown_pids(&app), [1, shell.pid, first.pid]);
    assert_eq!(pid_of(&app), Some(first.pid), "from init to what it found");
    // A fork, in one batch, then its exec of curl, in the next.
    let at = s.messages.len();
    let child = s.fork(shell, "bash", 0);
    s.exec(child, shell, 0, "/usr/bin/curl", &["curl", "-s", "x"]);
    let (fork, exec) = (s.messages[at].clone(), s.messages[at + 1].clone());
    app.apply(&fork);
    app.settle();
    assert!(!shown_pids(&app).contains(&child.pid), "a fork of bash");
    app.apply(&exec);
    app.settle();
    assert_eq!(shown_pids(&app), [1, shell.pid, first.pid, child.pid]);
    assert_eq!(app.filter_found, 2);
    // Unrelated processes stay hidden.
    let other = s.spawn(init, 0, "/usr/bin/sleep", &["sleep", "1"]);
    for m in &s.messages[at + 2..] {
        app.apply(m);
    }
    app.settle();
    assert!(!shown_pids(&app).contains(&other.pid));
    // Following: the newest shown, not the newest hidden.
    app.handle(Action::ToggleFollow);
    app.settle();
    assert_eq!(pid_of(&app), Some(child.pid));
    // An ancestor shown for a match is found itself once it matches.
    let at = s.messages.len();
    s.exec(shell, init, 0, "/usr/bin/curl", &["curl", "c"]);
    app.apply(&s.messages[at]);
    app.settle();
    assert_eq!(app.filter_found, 3);
}

#[test]
fn a_live_filter_for_what_has_not_started_yet_is_set_and_waits_for_it() {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let shell = s.spawn(init, 0, "/bin/bash", &["bash"]);
    let mut app = super::live(&s.messages);
    // Set before the restart it is for.
    type_filter(&mut app, "nginx");
    assert_eq!(app.filter.as_deref(), Some("nginx"));
    assert!(
        flashed(&app, "no process matches \"nginx\" yet"),
        "{:?}",
        app.flash
    );
    assert!(shown_pids(&app).is_empty());
    let s2 = super::screen(&super::draw(&mut app, 120, 30));
    assert!(
        s2.contains("Nothing matches the filter \"nginx\" yet"),
        "{s2}"
    );
    let at = s.messages.len();
    let nginx = s.spawn(shell, 0, "/usr/sbin/nginx", &["nginx"]);
    for m in &s.messages[at..] {
        app.apply(m);
    }
    app.settle();
    assert_eq!(shown_pids(&app), [1, shell.pid, nginx.pid]);
    assert_eq!(app.filter_found, 1);
    assert!(
        flashed(&app, "filter \"nginx\" found what it waited for"),
        "{:?}",
        app.flash
    );
    assert!(app.selected.is_some(), "something shown is selected");
}

#[test]
fn filtered_when_the_tree_forgets_processes_the_filter_looks_again() {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "init", &["init"]);
    let shell = s.spawn(init, 0, "/bin/bash", &["bash"]);
    let keep = s.spawn(shell, 0, "/usr/bin/curl", &["curl", "a"]);
    let mut app = super::live_in(crate::graph::CausalTree::with_limits(40, 1000), &s.messages);
    type_filter(&mut app, "curl");
    // Short-lived processes until the tree forgets the oldest exited ones
    // and renumbers the rest.
    let at = s.messages.len();
    for i in 0..60 {
        let p = s.spawn(shell, 0, "/bin/true", &["true"]);
        s.exit(p, shell, crate::event::ExitStatus::Code(0));
        if i == 30 {
            s.spawn(shell, 0, "/usr/bin/curl", &["curl", "b"]);
        }
    }
    for m in &s.messages[at..] {
        app.apply(m);
        app.settle();
    }
    assert!(app.tree.len() < 60, "forgot some: {}", app.tree.len());
    let pids = shown_pids(&app);
    assert_eq!(app.filter_found, 2);
    assert_eq!(pids.len(), 4, "init, bash and both curls: {pids:?}");
    assert!(pids.contains(&keep.pid));
}

#[test]
fn a_chain_of_the_whole_host_is_written_at_the_second_x() {
    let mut app = replay(synth::host(crate::ui::app::LARGE_CHAIN + 10, 3), vec![]);
    let init = app.tree.find_pid(1).expect("init");
    app.selected = Some(Item::Node(init));
    app.handle(Action::Export);
    assert_eq!(app.export, None, "not yet");
    assert!(
        flashed(&app, "x again to write this chain of 10,"),
        "{:?}",
        app.flash
    );
    app.handle(Action::Export);
    assert_eq!(app.export, Some(init));
    // Asked again after anything else: it asks again.
    app.export = None;
    app.handle(Action::Export);
    app.handle(Action::Down);
    app.selected = Some(Item::Node(init));
    app.handle(Action::Export);
    assert_eq!(app.export, None);
    // Esc drops the question and its line in the footer.
    let esc = key_to_action(key(KeyCode::Esc), app.input_mode());
    assert_eq!(esc, Some(Action::Back));
    app.handle(Action::Back);
    assert_eq!(app.flash, None);
    app.handle(Action::Export);
    assert_eq!(app.export, None, "asked again, not written");
    assert!(flashed(&app, "x again"), "{:?}", app.flash);
}

#[test]
fn export_asks_the_event_loop_for_the_selected_chain_and_nothing_else() {
    let mut app = replay(synth::demo(), vec![]);
    let id = app.selected_node().expect("opens on the newest process");
    app.handle(Action::Export);
    assert_eq!(app.export, Some(id));
    assert_eq!(app.flash, None);
    // Nothing selected: nothing to export, and it says so.
    let mut empty = live(&[]);
    empty.handle(Action::Export);
    assert_eq!(empty.export, None);
    assert!(
        empty
            .flash
            .as_deref()
            .is_some_and(|f| f.contains("select a process"))
    );
}

/// A CPU share and memory for `key`, as the live view's sampler sets them.
fn costs(app: &mut crate::ui::App, pid: u32, cpu: Option<f64>, rss: u64) {
    let key = app
        .tree
        .nodes()
        .find(|(_, n)| n.key.pid == pid)
        .map(|(_, n)| n.key)
        .expect("the process");
    let usage = crate::usage::Usage {
        cpu,
        cpu_total: std::time::Duration::from_secs(90),
        rss,
    };
    app.usage.insert(key, usage);
}

/// The pids of the processes running in `app`'s tree, in its order.
fn alive_pids(app: &crate::ui::App) -> Vec<u32> {
    app.tree
        .nodes()
        .filter(|(_, n)| n.is_alive())
        .map(|(_, n)| n.key.pid)
        .collect()
}

#[test]
fn percent_goes_to_the_busiest_process_then_the_next() {
    let mut app = live(&synth::host(40, 3));
    let alive = alive_pids(&app);
    assert!(alive.len() >= 4, "{alive:?}");
    // No figures yet: said, nothing moves.
    let before = app.selected;
    app.handle(Action::Busiest);
    assert_eq!(app.selected, before);
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("take a second"))
    );
    costs(&mut app, alive[2], Some(97.0), 1 << 30);
    costs(&mut app, alive[0], Some(250.0), 1 << 20);
    costs(&mut app, alive[3], Some(0.5), 1 << 20);
    costs(&mut app, alive[1], None, 1 << 20); // one sample only: not ranked
    let order = [alive[0], alive[2], alive[3], alive[0]];
    for (i, pid) in order.into_iter().enumerate() {
        app.handle(Action::Busiest);
        assert_eq!(pid_of(&app), Some(pid), "press {i}");
    }
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.starts_with("busiest 1 of 3: 250% of a CPU")),
        "{:?}",
        app.flash
    );
    // Moved away by hand: `%` starts from the busiest again.
    app.handle(Action::Busiest);
    assert_eq!(pid_of(&app), Some(alive[2]));
    app.handle(Action::First);
    app.handle(Action::Busiest);
    assert_eq!(pid_of(&app), Some(alive[0]));
    // Scrubbed back, figures of now would mislead.
    app.handle(Action::ScrubPrev);
    app.handle(Action::First);
    app.handle(Action::Busiest);
    assert!(
        app.flash
            .as_deref()
            .is_some_and(|f| f.contains("= returns to now"))
    );
    // A journal has none.
    let mut replayed = replay(synth::host(10, 3), vec![]);
    replayed.handle(Action::Busiest);
    assert!(
        replayed
            .flash
            .as_deref()
            .is_some_and(|f| f.contains("live only"))
    );
}

#[test]
fn a_key_split_after_esc_is_put_back() {
    // ESC then ↑ read together: crossterm gives Esc, '[', 'A', and '['
    // would scrub back.
    use ratatui::crossterm::event::Event;
    // As crossterm gives them: an upper-case letter with Shift.
    let keys = |codes: &[KeyCode]| -> Vec<Event> {
        codes
            .iter()
            .map(|&c| match c {
                KeyCode::Char(u) if u.is_ascii_uppercase() => {
                    Event::Key(KeyEvent::new(c, KeyModifiers::SHIFT))
                }
                _ => Event::Key(key(c)),
            })
            .collect()
    };
    let ch = KeyCode::Char;
    let esc = KeyCode::Esc;
    for (came, meant) in [
        (vec![esc, ch('['), ch('A')], vec![esc, KeyCode::Up]),
        (vec![esc, ch('O'), ch('B')], vec![esc, KeyCode::Down]),
        (
            vec![esc, ch('['), ch('D'), ch('q')],
            vec![esc, KeyCode::Left, ch('q')],
        ),
        (
            vec![esc, ch('['), ch('5'), ch('~')],
            vec![esc, KeyCode::PageUp],
        ),
        (
            vec![ch('x'), esc, ch('['), ch('F')],
            vec![ch('x'), esc, KeyCode::End],
        ),
    ] {
        assert_eq!(rejoin_escapes(keys(&came)), keys(&meant), "{came:?}");
    }
    // With numbers, modifiers, other keys.
    let with = |c, m| Event::Key(KeyEvent::new(c, m));
    let none = KeyModifiers::NONE;
    for (came, meant) in [
        ("3~", with(KeyCode::Delete, none)),
        ("1;2A", with(KeyCode::Up, KeyModifiers::SHIFT)),
        ("1;5D", with(KeyCode::Left, KeyModifiers::CONTROL)),
        ("15~", with(KeyCode::F(5), none)),
        ("24~", with(KeyCode::F(12), none)),
        ("Z", with(KeyCode::BackTab, KeyModifiers::SHIFT)),
    ] {
        let mut events = keys(&[esc, ch('[')]);
        events.extend(keys(&came.chars().map(ch).collect::<Vec<_>>()));
        assert_eq!(
            rejoin_escapes(events),
            [Event::Key(key(esc)), meant],
            "{came}"
        );
    }
    // A whole sequence crossterm does not know is dropped, not read as
    // keys ('[' would scrub).
    for came in [
        vec![esc, ch('['), ch('x')],
        vec![esc, ch('['), ch('9'), ch('9'), ch('~')],
    ] {
        assert_eq!(rejoin_escapes(keys(&came)), keys(&[esc]), "{came:?}");
    }
    // Anything else is left as it came: '[' alone scrubs, as typed; a
    // sequence cut short is not guessed at.
    for came in [
        vec![ch('['), ch('A')],
        vec![esc, ch('[')],
        vec![esc, ch('['), ch('5')],
        vec![esc, ch('a')],
    ] {
        assert_eq!(rejoin_escapes(keys(&came)), keys(&came), "{came:?}");
    }
}

#[test]
fn a_connect_in_flight_is_found_by_the_address_it_waits_on() {
    let mut app = replay(super::render::with_a_connect_in_flight(), vec![]);
    app.handle(Action::First);
    type_search(&mut app, "10.88.0.2");
    assert_eq!(pid_of(&app), Some(600));
    type_search(&mut app, ":81");
    assert_eq!(pid_of(&app), Some(600));
}

#[test]
fn percent_again_walks_on_in_order_when_the_ranking_is_refreshed() {
    let mut app = live(&synth::host(40, 3));
    let alive = alive_pids(&app);
    assert!(alive.len() >= 6, "{alive:?}");
    for (i, cpu) in [90.0, 80.0, 70.0, 60.0, 50.0].into_iter().enumerate() {
        costs(&mut app, alive[i], Some(cpu), 1 << 20);
    }
    app.handle(Action::Busiest);
    app.handle(Action::Busiest);
    assert_eq!(pid_of(&app), Some(alive[1]));
    assert!(flashed(&app, "busiest 2 of 5"), "{:?}", app.flash);
    // The next sample: the one selected went idle, to the bottom of the
    // ranking, and a newcomer is busier than any not yet shown.
    costs(&mut app, alive[1], Some(0.0), 1 << 20);
    costs(&mut app, alive[5], Some(75.0), 1 << 20);
    // On from where the walk was, not from where the selection fell to.
    let mut seen = Vec::new();
    for _ in 0..4 {
        app.handle(Action::Busiest);
        seen.push(pid_of(&app));
        assert!(
            flashed(&app, &format!("busiest {} of 6", seen.len() + 2)),
            "{:?}",
            app.flash
        );
    }
    let want = [alive[5], alive[2], alive[3], alive[4]].map(Some);
    assert_eq!(seen, want);
    // Each shown once: then from the top again.
    app.handle(Action::Busiest);
    assert_eq!(pid_of(&app), Some(alive[0]));
    assert!(flashed(&app, "busiest 1 of 6"), "{:?}", app.flash);
}

#[test]
fn stepping_through_a_process_says_how_each_ended() {
    let (msgs, sup, _) = synth::crash_loop();
    let mut app = replay(msgs, vec![]);
    let id = app.tree.find(sup).expect("sup");
    app.selected = Some(Item::Node(id));
    app.fix_view();
    let mut said = Vec::new();
    // Back through every child's start, exec and end.
    for _ in 0..200 {
        app.handle(Action::ScrubPrevHere);
        said.push(app.flash.clone().unwrap_or_default());
    }
    let ended: Vec<&String> = said.iter().filter(|s| s.contains(" ended")).collect();
    assert!(!ended.is_empty(), "{said:?}");
    assert!(
        ended.iter().all(|s| s.contains(" ended: exit 1")
            || s.contains(" ended: killed by SIGSEGV")
            || s.contains(" ended: killed by SIGABRT (core dumped)")),
        "{ended:?}"
    );
    assert!(
        ended
            .iter()
            .any(|s| s.contains("python3 ended: killed by SIGSEGV")),
        "{ended:?}"
    );
}

#[test]
fn search_finds_deleted_and_fileless_programs_and_a_disguise() {
    let (s, [_, shell, x, memfd]) = synth::fileless();
    let mut app = replay(s.messages, vec![]);
    app.handle(Action::First);
    type_search(&mut app, "memfd:");
    assert_eq!(pid_of(&app), Some(memfd.pid));
    type_search(&mut app, "(deleted)");
    let first = pid_of(&app);
    app.handle(Action::SearchNext);
    let second = pid_of(&app);
    app.handle(Action::SearchNext);
    let third = pid_of(&app);
    let mut found = vec![first, second, third];
    found.sort();
    assert_eq!(found, vec![Some(600), Some(x.pid), Some(memfd.pid)]);
    type_search(&mut app, "[kworker/u4");
    assert_eq!(pid_of(&app), Some(memfd.pid));
    type_search(&mut app, "dash");
    assert_eq!(pid_of(&app), Some(shell.pid));
}
