//! The view end to end, in a real terminal: the built binary runs inside
//! tmux, keys are sent with `send-keys`, and the screen is read with
//! `capture-pane`. Assertions poll the screen with a generous deadline;
//! nothing is timed.
//!
//! Needs tmux (`scripts/setup` installs it): without it the tests print a
//! visible skip, or fail when `CI=true`. The live test also needs root.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use causeway::ui::synth;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_causeway");
const DEADLINE: Duration = Duration::from_secs(30);
const PROMPT: &str = "ready> ";

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Whether tmux can be used; a visible skip (or a failure on CI) if not.
fn tmux_available(test: &str) -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if ci() {
            panic!("{test}: CI=true but tmux is not installed (scripts/setup installs it)");
        }
        eprintln!("skipped {test}: tmux is not installed (scripts/setup installs it)");
    }
    ok
}

/// A tmux server of its own (unique socket), with one pane running a
/// plain shell. Killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(width: u16, height: u16) -> Tmux {
        Tmux::start_shell(width, height, "sh")
    }

    /// With `shell` (`sh`, `bash --norc`) in its pane.
    fn start_shell(width: u16, height: u16, shell: &str) -> Tmux {
        static N: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "causeway-ui-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let t = Tmux { socket };
        let shell = format!("env PS1='{PROMPT}' HISTFILE=/dev/null {shell}");
        t.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &shell,
        ]);
        // Pin the window to the size asked for, whatever clients attach.
        t.run(&["set-option", "-g", "window-size", "manual"]);
        t.wait_for("the shell prompt", |s| s.contains(PROMPT.trim_end()));
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types a line into the shell.
    fn type_line(&self, line: &str) {
        self.run(&["send-keys", "-l", line]);
        self.run(&["send-keys", "Enter"]);
    }

    /// Sends keys by tmux name (`Up`, `Enter`, `q`, ...).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    fn format(&self, fmt: &str) -> String {
        self.run(&["display-message", "-p", fmt]).trim().to_string()
    }

    /// Polls the screen until `ok` holds; panics with the last screen
    /// after the deadline.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if start.elapsed() > DEADLINE {
                panic!("waited {DEADLINE:?} for {what}; the screen was:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits for a frame that has every one of `present` and none of
    /// `absent`: a capture can catch the terminal half redrawn, so what
    /// a step shows is waited for together, not checked after its first
    /// sign.
    fn wait_frame(&self, present: &[&str], absent: &[&str]) -> String {
        self.wait_for(&format!("{present:?} and not {absent:?}"), |s| {
            present.iter().all(|p| s.contains(p)) && !absent.iter().any(|a| s.contains(a))
        })
    }

    /// After the view quits: the shell is back on the main screen, and the
    /// command's exit status is `status`.
    fn expect_shell_back(&self, status: i32) -> String {
        let start = Instant::now();
        while self.format("#{alternate_on}") != "0" {
            assert!(
                start.elapsed() < DEADLINE,
                "the alternate screen was not left:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.type_line("echo \"exit=$?\"");
        let s = self.wait_text(&format!("exit={status}"));
        assert_eq!(self.format("#{cursor_flag}"), "1", "cursor shown again");
        s
    }

    fn pane_pid(&self) -> u32 {
        self.format("#{pane_pid}").parse().expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn write_journal(dir: &Path, name: &str, msgs: &[causeway::event::Message]) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).expect("create journal");
    synth::write_journal(std::io::BufWriter::new(f), msgs).expect("write journal");
    path
}

fn replay_cmd(path: &Path) -> String {
    format!("{BIN} replay '{}'", path.display())
}

#[test]
fn replay_navigate_fold_help_and_quit() {
    if !tmux_available("replay_navigate_fold_help_and_quit") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
    let t = Tmux::start(120, 40);
    // From the journal's directory: `x` writes the chain there.
    t.type_line(&format!(
        "cd '{}' && {}",
        dir.path().display(),
        replay_cmd(&path)
    ));
    // Opens at the end: the newest process selected, the tree shown.
    let s = t.wait_text(" REPLAY ");
    assert!(t.format("#{alternate_on}") == "1", "{s}");
    t.wait_frame(
        &[
            "13/13",
            "1 systemd",
            "4000 cron-job",
            "? unknown parent",
            "LOST 3",
        ],
        &[],
    );

    // Home, then down to make (row 5).
    t.keys(&["g"]);
    t.wait_text("1/13");
    t.keys(&["j", "j", "Down", "Down"]);
    t.wait_frame(&["5/13", "process  make  pid 1002"], &[]);
    // Fold it: its two children go.
    t.keys(&["Left"]);
    t.wait_frame(&["5/11", "▸ 1002 make"], &["broken.c"]);
    // Enter unfolds.
    t.keys(&["Enter"]);
    t.wait_frame(&["5/13", "broken.c"], &[]);
    // p: the causal parent (bash).
    t.keys(&["p"]);
    t.wait_frame(&["4/13", "process  bash  pid 1001"], &[]);
    // Help overlay, and Esc closes it.
    t.keys(&["?"]);
    t.wait_frame(
        &["Keys — ? or Esc closes", "jump to the causal parent"],
        &[],
    );
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| {
        !s.contains("Keys — ") && s.contains("4/13")
    });
    // Connections: curl's one connection leads to nginx.
    t.keys(&["G"]);
    t.wait_text("13/13");
    t.keys(&["k", "k", "k", "k"]);
    t.wait_frame(&["9/13", "process  curl  pid 1006"], &[]);
    t.keys(&["c"]);
    t.wait_text("Connections of 1006 curl");
    t.keys(&["Enter"]);
    t.wait_frame(&["peer process: 600 nginx", "10/13"], &[]);
    // x: nginx's causal chain (systemd, nginx) as JSON, in the directory.
    t.keys(&["x"]);
    let s = t.wait_text("chain of 2 processes written to");
    let mut written: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().contains("causeway-chain-600-"))
        .collect();
    written.sort();
    assert_eq!(written.len(), 2, "{s}");
    assert!(
        written[0].to_string_lossy().ends_with(".json"),
        "{written:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written[0]).expect("chain file"))
            .expect("JSON");
    assert_eq!(doc["selected"]["pid"], 600);
    assert_eq!(doc["processes"][0]["comm"], "systemd");
    // And as text beside it.
    assert_eq!(written[1], written[0].with_extension("txt"));
    let text = std::fs::read_to_string(&written[1]).expect("text file");
    assert!(text.contains("└─ ▶ 600 nginx  -g 'daemon off;'"), "{text}");
    // Scrub back: `{` goes to before the first event; only the processes
    // of the /proc scan show, and `=` returns to now.
    t.keys(&["{", "{"]);
    t.wait_frame(&[" AT ", "before the end"], &["curl"]);
    t.keys(&["="]);
    t.wait_frame(&["1006 curl"], &[" AT "]);
    // The filter: `\` and a port leaves the two ends of the connection
    // and their ancestors; F4 opens it again, and emptied it shows all.
    t.run(&["send-keys", "-l", "\\"]);
    t.wait_text(" filter: ");
    t.type_line(":8080");
    t.wait_frame(
        &[
            "filter \":8080\": 2 found",
            "600 nginx",
            "1006 curl",
            "1 systemd",
        ],
        &["broken.c", "kthreadd"],
    );
    t.keys(&["F4"]);
    t.wait_text(" filter: :8080");
    t.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "Enter"]);
    t.wait_frame(&["10/13", "broken.c", "filter off"], &["filter \""]);

    t.keys(&["q"]);
    let s = t.expect_shell_back(0);
    assert!(!s.contains("REPLAY"), "the view is gone: {s}");
}

#[test]
fn resize_and_sigterm_restore_the_terminal() {
    if !tmux_available("resize_and_sigterm_restore_the_terminal") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "host.jsonl", &synth::host(2000, 4));
    let t = Tmux::start(120, 40);
    t.type_line(&replay_cmd(&path));
    t.wait_text("/2,000");
    t.run(&["resize-window", "-x", "70", "-y", "20"]);
    t.wait_text("Terminal too small");
    t.wait_text("70x20 here");
    t.run(&["resize-window", "-x", "100", "-y", "30"]);
    t.wait_frame(&["/2,000"], &["too small"]);
    // Mouse wheel and click come through tmux too, but their encoding
    // depends on tmux's own mouse mode; the pure tests cover them.

    // SIGTERM: the view ends and puts the terminal back, then ends by the
    // signal, as a shell tells: 128+15.
    signal_view(&t, libc::SIGTERM);
    t.expect_shell_back(143);
}

/// Sends `sig` to the causeway the pane's shell runs.
fn signal_view(t: &Tmux, sig: i32) {
    let shell = t.pane_pid();
    let pid = child_named(shell, "causeway").expect("causeway runs under the shell");
    // SAFETY: kill(2) with a pid we just read and a valid signal number.
    let rc = unsafe { libc::kill(pid as i32, sig) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

#[test]
fn a_signal_ends_the_view_with_its_status_and_q_with_0() {
    if !tmux_available("a_signal_ends_the_view_with_its_status_and_q_with_0") {
        return;
    }
    // Each ends the view cleanly, and then the process by the signal
    // (they all ended with 0, as `q` does).
    for (sig, status) in [
        (libc::SIGINT, 130),
        (libc::SIGHUP, 129),
        (libc::SIGTERM, 143),
    ] {
        let (_dir, t) = demo_replay();
        signal_view(&t, sig);
        t.expect_shell_back(status);
        assert_eq!(t.format("#{mouse_any_flag}"), "0", "mouse reports off");
    }
    // Ctrl-C in the view is a key, as `q`: quitting, 0.
    let (_dir, t) = demo_replay();
    t.keys(&["C-c"]);
    t.expect_shell_back(0);
}

#[test]
fn a_fatal_signal_puts_the_terminal_back() {
    if !tmux_available("a_fatal_signal_puts_the_terminal_back") {
        return;
    }
    // SIGQUIT left the view's modes on (the alternate screen, no cursor,
    // mouse reports, raw mode); so did an abort (memory running out).
    // The process still ends by the signal, its core dump (kept from the
    // repository: none here, and in a temporary directory) included.
    for (sig, status) in [
        (libc::SIGQUIT, 131),
        (libc::SIGABRT, 134),
        (libc::SIGSEGV, 139),
        (libc::SIGBUS, 135),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
        let t = Tmux::start(120, 40);
        t.type_line(&format!(
            "ulimit -c 0; cd '{}' && {}",
            dir.path().display(),
            replay_cmd(&path)
        ));
        t.wait_text("13/13");
        assert_eq!(
            t.format("#{mouse_any_flag}"),
            "1",
            "the view's mouse reports"
        );
        signal_view(&t, sig);
        let s = t.expect_shell_back(status);
        assert_eq!(
            t.format("#{mouse_any_flag}"),
            "0",
            "mouse reports off ({sig})"
        );
        // Line mode again: what is typed is echoed, and read at Enter.
        t.type_line("stty -a | tr ' ' '\\n' | grep -x -e -icanon -e -echo -e icanon -e echo | sort | tr '\\n' ' '; echo");
        t.wait_for(&format!("line mode after signal {sig}, after:\n{s}"), |s| {
            s.contains("echo icanon")
        });
    }
}

#[test]
fn the_view_takes_its_modes_again_when_resumed() {
    if !tmux_available("the_view_takes_its_modes_again_when_resumed") {
        return;
    }
    // bash, as a tester had it: a stopped job's shell puts the terminal in
    // line mode, and `fg` did not give the view back raw mode (keys were
    // echoed and waited for Enter).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
    let t = Tmux::start_shell(120, 40, "bash --norc");
    t.type_line(&replay_cmd(&path));
    t.wait_text("13/13");
    let pid = child_named(t.pane_pid(), "causeway").expect("causeway runs under bash");
    // SAFETY: kill(2) with a pid just read and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
    let start = Instant::now();
    while common::proc_state(pid).as_deref() != Some("T") {
        assert!(start.elapsed() < DEADLINE, "causeway never stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    // bash's prompt, its settings put back, before the job goes on.
    t.wait_text(PROMPT.trim_end());
    std::thread::sleep(Duration::from_millis(300));
    t.type_line("fg");
    while common::proc_state(pid).as_deref() == Some("T") {
        assert!(start.elapsed() < DEADLINE, "causeway never resumed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A key acts at once, without Enter, on a frame drawn in full.
    t.keys(&["g"]);
    t.wait_frame(&["1/13", " REPLAY "], &["fg"]);
    assert_eq!(t.format("#{alternate_on}"), "1", "the view's screen");
    assert_eq!(
        t.format("#{mouse_any_flag}"),
        "1",
        "the view's mouse reports"
    );
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

/// The demo journal replayed in a 120×40 tmux window, on its last row;
/// the journal's directory is kept while the first lives.
fn demo_replay() -> (tempfile::TempDir, Tmux) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
    let t = Tmux::start(120, 40);
    t.type_line(&replay_cmd(&path));
    t.wait_text("13/13");
    (dir, t)
}

#[test]
fn a_key_after_a_resize_is_read_at_once() {
    if !tmux_available("a_key_after_a_resize_is_read_at_once") {
        return;
    }
    let (_dir, t) = demo_replay();
    // A key first (the terminal's reader is then set up), then a resize:
    // the next key used to wait in the reader until yet another came, so
    // `q` after resizing an SSH window did nothing.
    t.keys(&["g"]);
    t.wait_text("1/13");
    for (x, y) in [("100", "30"), ("110", "35")] {
        t.run(&["resize-window", "-x", x, "-y", y]);
        // The resize reaches causeway before the key.
        std::thread::sleep(Duration::from_millis(300));
        t.keys(&["j"]);
        t.wait_text(if x == "100" { "2/13" } else { "3/13" });
    }
    t.run(&["resize-window", "-x", "120", "-y", "40"]);
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

#[test]
fn esc_then_an_arrow_read_together_is_esc_then_the_arrow() {
    if !tmux_available("esc_then_an_arrow_read_together_is_esc_then_the_arrow") {
        return;
    }
    let (_dir, t) = demo_replay();
    t.keys(&["g", "j", "j"]);
    t.wait_text("3/13");
    // One write, as a slow link delivers them: the ↑ was read as `[`
    // (scrub back) and `A`.
    t.keys(&["Escape", "Up"]);
    let s = t.wait_text("2/13");
    assert!(!s.contains(" AT "), "scrubbed back:\n{s}");
    // Nor any other key sent so (Delete, F5, Shift-Tab, Insert, Shift-↑,
    // Ctrl-↑: `ESC [3~`, `ESC [15~`, `ESC [Z`, `ESC [1;2A`…).
    for k in ["DC", "F5", "BTab", "IC", "S-Up", "C-Up"] {
        t.keys(&["Escape", k]);
        std::thread::sleep(Duration::from_millis(300));
        let s = t.screen();
        assert!(!s.contains(" AT "), "Escape {k} scrubbed back:\n{s}");
    }
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

#[test]
fn closing_the_terminal_ends_the_view() {
    if !tmux_available("closing_the_terminal_ends_the_view") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
    let status = dir.path().join("status");
    let t = Tmux::start(120, 40);
    // A shell that outlives the hangup (a handler, which causeway does not
    // inherit) writes how causeway ended. (Paths of a tempdir: no quotes.)
    t.type_line(&format!(
        "sh -c \"trap : HUP; {BIN} replay {}; echo \\$? > {}\"",
        path.display(),
        status.display()
    ));
    t.wait_text(" REPLAY ");
    let pid = child_named(t.pane_pid(), "sh")
        .and_then(|sh| child_named(sh, "causeway"))
        .expect("causeway runs under the shells");
    // The terminal goes away (hangup): the view must end, not spin.
    drop(t);
    let start = Instant::now();
    loop {
        match common::proc_state(pid).as_deref() {
            None | Some("Z") => break,
            Some(st) => assert!(
                start.elapsed() < DEADLINE,
                "causeway (pid {pid}) still running ({st}) after its terminal closed"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // It ended with its error, not aborted (134): printing to the closed
    // terminal panicked, and the panic hook's own print then aborted.
    let code = loop {
        if let Some(code) = std::fs::read_to_string(&status)
            .ok()
            .filter(|s| s.ends_with('\n'))
        {
            break code;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the shell never said how causeway ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The kernel's SIGHUP came with the hangup: causeway ends by it once
    // finished (129), as a shell tells it.
    assert_eq!(
        code.trim(),
        "129",
        "causeway's exit status after the hangup"
    );
}

/// A child process killed (and reaped) when dropped, so that a failing
/// test does not leave it running, holding the test's output pipe.
struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// How it ended; fails the test with `what` if it runs past `limit`.
    fn ends_within(&mut self, limit: Duration, what: &str) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for the process") {
                return status;
            }
            assert!(start.elapsed() < limit, "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A child process of `parent` whose comm is `name`.
fn child_named(parent: u32, name: &str) -> Option<u32> {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // pid (comm) state ppid ...
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            let ppid = stat[close + 1..].split_whitespace().nth(1);
            if comm == name && ppid == Some(&parent.to_string()) {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// The demo journal as lines, to damage.
fn demo_lines() -> Vec<String> {
    let mut buf = Vec::new();
    synth::write_journal(&mut buf, &synth::demo()).expect("journal");
    String::from_utf8(buf)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_lines(dir: &Path, name: &str, lines: &[String], last_newline: bool) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).expect("create");
    let mut text = lines.join("\n");
    if last_newline {
        text.push('\n');
    }
    f.write_all(text.as_bytes()).expect("write");
    path
}

#[test]
fn damaged_journals_load_and_say_what_was_skipped() {
    if !tmux_available("damaged_journals_load_and_say_what_was_skipped") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A garbage line in the middle (line 8) and a truncated last line.
    let mut lines = demo_lines();
    lines.insert(7, "this is not json".to_string());
    let last = lines.len() - 1;
    let cut = lines[last].len() / 2;
    lines[last].truncate(cut);
    let damaged = write_lines(dir.path(), "damaged.jsonl", &lines, false);
    // A line over 1 MiB in the middle (line 5).
    let mut lines = demo_lines();
    lines.insert(
        4,
        format!("{{\"type\":\"exec\",\"x\":\"{}\"}}", "a".repeat(1 << 21)),
    );
    let huge = write_lines(dir.path(), "huge.jsonl", &lines, true);

    let t = Tmux::start(120, 40);
    t.type_line(&replay_cmd(&damaged));
    // The valid lines are shown.
    t.wait_frame(
        &[
            "damaged journal: skipped 2 damaged lines; first at line 8",
            " REPLAY ",
            "1 systemd",
        ],
        &[],
    );
    t.keys(&["q"]);
    let s = t.expect_shell_back(0);
    assert!(
        s.contains("damaged.jsonl: skipped 2 damaged lines; first at line 8"),
        "also said on stderr after the view: {s}"
    );

    t.run(&["clear-history"]);
    t.type_line("clear");
    t.type_line(&replay_cmd(&huge));
    t.wait_frame(
        &[
            "damaged journal: skipped line 5: line longer than 1048576 bytes",
            "4000 cron-job",
        ],
        &[],
    );
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

/// Runs the binary without a terminal; returns (status, stdout, stderr).
fn run_plain(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run causeway");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn empty_and_foreign_files_are_refused_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, b"").expect("write");
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, b"hello\nworld\n").expect("write");
    let json = dir.path().join("other.json");
    std::fs::write(
        &json,
        b"{\"type\":\"header\",\"format\":\"something-else\"}\n",
    )
    .expect("write");
    for (path, why) in [
        (&empty, "the file is empty"),
        (&foreign, "not a causeway header"),
        (&json, "not a causeway header"),
    ] {
        let p = path.to_string_lossy();
        let (code, out, err) = run_plain(&["replay", &p]);
        assert_eq!(code, Some(1), "{p}: {err}");
        assert!(out.is_empty(), "no view drawn: {out:?}");
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(err.starts_with("causeway: "), "{err}");
        assert!(err.contains("is not a causeway journal"), "{err}");
        assert!(err.contains(why), "{err}");
    }
    let missing = dir.path().join("missing.jsonl");
    let (code, _, err) = run_plain(&["replay", &missing.to_string_lossy()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot open"), "{err}");
}

#[test]
fn replay_without_a_terminal_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "demo.jsonl", &synth::demo());
    let (code, out, err) = run_plain(&["replay", &path.to_string_lossy()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.contains("the view needs a terminal"), "{err}");
}

/// Whether a test of the live view can run here: tmux, and root for the
/// probe. Under CI both must be there: the test fails, never skips.
fn live_view_allowed(test: &str) -> bool {
    if !tmux_available(test) {
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if ci() {
            panic!("{test}: CI=true but not root: the live view needs root");
        }
        eprintln!("skipped: needs root ({test})");
        return false;
    }
    true
}

/// An executable shell script `name` in `dir` running `body`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    path
}

/// Whether `line` is the row of process `pid` running script `name`: named
/// by its interpreter, the file the kernel ran (`dash (as sh)`), the
/// script's path among its arguments.
fn script_row(line: &str, pid: u32, name: &str) -> bool {
    line.contains(&format!("{pid} ")) && line.contains(name)
}

/// Waits until the view shows process `pid` `name` killed by SIGKILL.
fn wait_killed(t: &Tmux, pid: u32, name: &str) {
    t.wait_for("the workload shown killed", |s| {
        s.lines()
            .any(|l| script_row(l, pid, name) && l.contains("SIGKILL"))
    });
}

#[test]
fn live_view_shows_new_processes() {
    let test = "live_view_shows_new_processes";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // A uniquely named workload that keeps starting short children.
    let name = format!("cw-ui-{}", std::process::id());
    let script = script(dir.path(), &name, "while :; do sleep 0.05; /bin/true; done");

    let t = Tmux::start(120, 40);
    t.type_line(BIN);
    let s = t.wait_text(" LIVE ");
    assert!(s.contains("alive /"), "{s}");
    // The scan found this host's processes: init at the top.
    t.wait_text("s ▾ 1 ");
    // Follow: the newest process stays selected.
    t.keys(&["f"]);
    t.wait_text("FOLLOW");

    let mut child = KillOnDrop(Command::new(&script).spawn().expect("start workload"));
    let pid = child.0.id();
    // Find it by name; `n` searches again until the probe has seen it.
    t.keys(&["/"]);
    t.wait_text("find: ");
    t.run(&["send-keys", "-l", &name]);
    t.keys(&["Enter"]);
    // Named by its interpreter: the script is in its argv.
    let want = format!("  pid {pid}");
    let start = Instant::now();
    let s = loop {
        let s = t.screen();
        if s.contains(&want) {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "never found {name}:\n{s}");
        t.keys(&["n"]);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!s.contains("FOLLOW"), "searching turned follow off: {s}");
    assert!(s.lines().any(|l| script_row(l, pid, &name)), "its row: {s}");
    assert!(s.contains("ev/s"), "{s}");
    // Its children hang under it: → goes to the first one, p comes back.
    let start = Instant::now();
    let s = loop {
        t.keys(&["l"]);
        std::thread::sleep(Duration::from_millis(200));
        let s = t.screen();
        if s.contains(&format!("parent   {pid} ")) {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "no child under {name}:\n{s}");
    };
    assert!(
        s.contains("process  sleep") || s.contains("process  true"),
        "{s}"
    );
    t.keys(&["p"]);
    t.wait_text(&want);
    child.kill();
    // Killed: the view shows it.
    wait_killed(&t, pid, &name);
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

#[test]
fn percent_finds_the_process_burning_a_cpu() {
    let test = "percent_finds_the_process_burning_a_cpu";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("cw-hog-{}", std::process::id());
    let script = script(dir.path(), &name, "while :; do :; done");
    let t = Tmux::start(120, 40);
    t.type_line(BIN);
    t.wait_text(" LIVE ");
    // Started once the probe runs, so that its exec names it.
    let mut hog = KillOnDrop(Command::new(&script).spawn().expect("start the hog"));
    let pid = hog.0.id();
    // `%` goes down the ranking, busiest first: the hog is at or near its
    // top (other tests run beside this one); its CPU share is known a
    // second or two after the view starts.
    // Named by its interpreter: the script is in its argv.
    let want = format!("  pid {pid}");
    let start = Instant::now();
    let mut s = loop {
        t.keys(&["%"]);
        std::thread::sleep(Duration::from_millis(300));
        let s = t.screen();
        if s.contains("busiest 1 of") {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "no CPU figures:\n{s}");
    };
    for next in 2..=5 {
        if s.contains(&want) {
            break;
        }
        t.keys(&["%"]);
        s = t.wait_text(&format!("busiest {next} of"));
    }
    assert!(s.contains(&want), "{name} not among the 5 busiest:\n{s}");
    assert!(s.contains("of a CPU now ·"), "{s}");
    assert!(s.contains("of CPU in all ·"), "{s}");
    assert!(s.contains(" resident"), "{s}");
    // Its row: its share, a percent, in the state column.
    let row = s
        .lines()
        .find(|l| script_row(l, pid, &name))
        .unwrap_or_else(|| panic!("its row:\n{s}"));
    // At 120 columns the detail pane is below the tree: the row ends with
    // the state column.
    let pct: f64 = row
        .split_whitespace()
        .rev()
        .nth(1)
        .and_then(|p| p.strip_suffix('%'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no share in its row: {row}"));
    assert!(pct > 20.0, "a spinning shell at {pct}%: {row}");
    hog.kill();
    wait_killed(&t, pid, &name);
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

#[test]
fn the_live_view_begins_with_a_running_recorders_history() {
    let test = "the_live_view_begins_with_a_running_recorders_history";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("j.jsonl");
    // A recorder left running, as a service would be. (Files large enough
    // that the other tests' processes, which it records too, do not rotate
    // the marked one away.)
    let mut recorder = KillOnDrop(
        Command::new(BIN)
            .args(["record", "--rotate", "100M", "--output"])
            .arg(&journal)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the recorder"),
    );
    let start = Instant::now();
    while !std::fs::read_to_string(&journal).is_ok_and(|s| s.contains("\"type\":\"process\"")) {
        assert!(start.elapsed() < DEADLINE, "the recorder never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Something that happened and ended before the view started.
    let marker = format!("cw-history-{}", std::process::id());
    let st = Command::new("/bin/sh")
        .args(["-c", "exit 7", &marker])
        .status()
        .expect("run the marked shell");
    assert_eq!(st.code(), Some(7));
    std::thread::sleep(Duration::from_millis(300));

    let t = Tmux::start(160, 40);
    let files = format!("{}*", journal.display());
    t.type_line(&format!("{BIN} live --history {files}"));
    t.wait_text(" LIVE ");
    // Found by its marker; `n` goes on past the test's own tmux commands,
    // which carry the marker too.
    let find = |marker: &str, argv: &str| -> String {
        t.keys(&["/"]);
        t.wait_text("find: ");
        t.run(&["send-keys", "-l", marker]);
        t.keys(&["Enter"]);
        let start = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let s = t.screen();
            if s.contains(argv) {
                break s;
            }
            assert!(start.elapsed() < DEADLINE, "never found {argv}:\n{s}");
            t.keys(&["n"]);
        }
    };
    let s = find(&marker, &format!("sh -c 'exit 7' {marker}"));
    assert!(s.contains("exit 7"), "the history's process, ended: {s}");
    // Its recorder still runs: no stretch went unrecorded.
    assert!(!s.contains("a gap of"), "{s}");
    // And what happens now shows too.
    let now = format!("cw-now-{}", std::process::id());
    Command::new("/bin/sh")
        .args(["-c", "exit 5", &now])
        .status()
        .expect("run the second marked shell");
    let s = find(&now, &format!("sh -c 'exit 5' {now}"));
    assert!(s.contains("exit 5"), "{s}");
    t.keys(&["q"]);
    t.expect_shell_back(0);
    recorder.kill();
}

#[test]
fn a_history_whose_recorder_had_stopped_says_what_ended_since() {
    let test = "a_history_whose_recorder_had_stopped_says_what_ended_since";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("j.jsonl");
    // A process running while a recorder ran, which ended after the
    // recorder stopped and before the view began: unseen.
    let marker = format!("cw-after-{}", std::process::id());
    let mut held = KillOnDrop(
        Command::new("/bin/sh")
            .args(["-c", "sleep 60", &marker])
            .spawn()
            .expect("start the marked shell"),
    );
    let mut recorder = KillOnDrop(
        Command::new(BIN)
            .args(["record", "--output"])
            .arg(&journal)
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the recorder"),
    );
    let start = Instant::now();
    while !std::fs::read_to_string(&journal).is_ok_and(|s| s.contains(&marker)) {
        assert!(start.elapsed() < DEADLINE, "the recorder never listed it");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) with the pid of a child of this test, and a signal
    // number.
    unsafe { libc::kill(recorder.0.id() as i32, libc::SIGINT) };
    recorder.ends_within(DEADLINE, "the recorder, stopped");
    held.kill();

    let t = Tmux::start(160, 40);
    t.type_line(&format!("{BIN} live --history {}", journal.display()));
    let s = t.wait_text("j.jsonl ended ");
    assert!(s.contains("between recordings"), "{s}");
    assert!(s.contains("the live view began"), "{s}");
    t.keys(&["/"]);
    t.wait_text("find: ");
    t.run(&["send-keys", "-l", &marker]);
    t.keys(&["Enter"]);
    let s = t.wait_text("ended unseen between the end of j.jsonl");
    assert!(!s.contains("records lost"), "{s}");
    t.keys(&["q"]);
    t.expect_shell_back(0);
}

#[test]
fn the_live_views_journal_rotates_too() {
    let test = "the_live_views_journal_rotates_too";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("view.jsonl");
    // Processes with long command lines (4 KiB each listed): each file's
    // opening is over half of 64K, which the recorder warns of.
    let long = "x".repeat(1000);
    let _holders: Vec<KillOnDrop> = (0..12)
        .map(|_| {
            KillOnDrop(
                Command::new("/bin/sh")
                    .args(["-c", "sleep 60", "holder"])
                    .args(std::iter::repeat_n(&long, 5))
                    .spawn()
                    .expect("start a holder"),
            )
        })
        .collect();
    let t = Tmux::start(120, 40);
    t.type_line(&format!(
        "{BIN} live --record {} --rotate 64K --keep 1",
        journal.display()
    ));
    t.wait_text(" LIVE ");
    // About a kilobyte of journal per process: several files' worth.
    let st = Command::new("/bin/sh")
        .args(["-c", "for i in $(seq 600); do /bin/true; done"])
        .status()
        .expect("run the workload");
    assert!(st.success());
    std::thread::sleep(Duration::from_millis(500));
    // The warning did not scroll the view's screen under it (its first
    // line went on showing another's).
    let s = t.screen();
    assert!(
        s.lines().next().is_some_and(|l| l.contains(" LIVE ")),
        "{s}"
    );
    assert!(!s.contains("warning"), "{s}");
    t.keys(&["q"]);
    t.expect_shell_back(0);
    // Left, the view says where its journal went and what it holds, and
    // the warning it kept.
    let s = t.screen();
    assert!(s.contains("view.jsonl: recorded "), "{s}");
    assert!(
        s.contains("causeway: warning: each journal file begins with"),
        "{s}"
    );
    let older = PathBuf::from(format!("{}.1", journal.display()));
    assert!(older.exists(), "rotated once at least");
    assert!(
        !PathBuf::from(format!("{}.2", journal.display())).exists(),
        "one kept"
    );
    for path in [&older, &journal] {
        let loaded = causeway::journal::load(path).expect("each file loads");
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        assert!(loaded.header.continued, "{}", path.display());
    }
}

#[test]
fn recording_over_the_history_being_read_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "j.jsonl", &synth::demo());
    let p = path.to_string_lossy();
    // The same file by another name.
    let other = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&path, &other).expect("symlink");
    let (code, out, err) = run_plain(&[
        "live",
        "--record",
        &other.to_string_lossy(),
        "--history",
        &p,
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty());
    assert!(err.contains("would overwrite the history"), "{err}");
    assert!(std::fs::read(&path).unwrap().len() > 100, "left as it was");
}

#[test]
fn a_slow_terminal_is_put_back_when_the_view_ends() {
    // A replay on a pseudo-terminal: needs neither tmux nor privileges.
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_journal(dir.path(), "host.jsonl", &synth::host(2000, 4));
    let (master, slave) = common::pseudo_terminal(200, 50);
    let mut view = KillOnDrop(
        Command::new(BIN)
            .arg("replay")
            .arg(&path)
            // Whatever the test's own TERM (a CI runner's may be dumb).
            .env("TERM", "xterm-256color")
            .stdin(slave.try_clone().expect("dup"))
            .stdout(slave.try_clone().expect("dup"))
            .stderr(slave)
            .spawn()
            .expect("start the view"),
    );
    let mut keys = std::fs::File::from(master.try_clone().expect("dup"));
    let mut screen = std::fs::File::from(master);
    // A slow link: it takes its bytes in bursts over a second apart. Here
    // the terminal takes nothing until a second and a half after q, then
    // about 12 KB a second. A pty holds about 20 KiB, and the view's first
    // frame and the frames of the keys below are more than that, so at q
    // the view has bytes it cannot write until the link takes some.
    let (quit_sent, quit_seen) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let (mut out, mut buf) = (Vec::new(), [0u8; 256]);
        let _ = quit_seen.recv();
        std::thread::sleep(Duration::from_millis(1500));
        while let Ok(n @ 1..) = screen.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
            std::thread::sleep(Duration::from_millis(20));
        }
        out
    });
    // Pages of new rows, each frame tens of KiB, then quit at once.
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..10 {
        keys.write_all(b"\x1b[6~\x1b[5~").expect("keys");
        std::thread::sleep(Duration::from_millis(50));
    }
    keys.write_all(b"q").expect("q");
    let _ = quit_sent.send(());
    let start = Instant::now();
    let status = view.ends_within(Duration::from_secs(120), "the view never ended");
    assert!(status.success(), "{status:?}");
    drop(keys);
    let out = reader.join().expect("the reader");
    // The bytes that put the terminal back (main screen, cursor shown)
    // reached it, and last: a terminal that is slow (it takes its bytes in
    // bursts a second or more apart here) is not one that stopped reading.
    let leave = b"\x1b[?1049l";
    let at = out
        .windows(leave.len())
        .rposition(|w| w == leave)
        .unwrap_or_else(|| panic!("no return to the main screen in {} bytes", out.len()));
    assert!(
        out.len() - at < 64,
        "frames after the return: {} bytes",
        out.len() - at
    );
    assert!(
        start.elapsed() > Duration::from_secs(1),
        "the link was slow enough to tell"
    );
}

/// `causeway live --record journal` on a pseudo-terminal of `size`
/// (columns, rows), its errors to `stderr` (else the terminal), once its
/// journal has begun (the probe attached): the terminal's controlling
/// side, and the view.
fn recording_view(
    journal: &std::path::Path,
    (cols, rows): (u16, u16),
    stderr: Option<Stdio>,
) -> (std::os::fd::OwnedFd, KillOnDrop) {
    let (master, slave) = common::pseudo_terminal(cols, rows);
    let stderr = stderr.unwrap_or_else(|| Stdio::from(slave.try_clone().expect("dup")));
    let view = KillOnDrop(
        Command::new(BIN)
            .args(["live", "--record"])
            .arg(journal)
            // Whatever the test's own TERM (a CI runner's may be dumb).
            .env("TERM", "xterm-256color")
            .stdin(slave.try_clone().expect("dup"))
            .stdout(slave)
            .stderr(stderr)
            .spawn()
            .expect("start the view"),
    );
    let start = Instant::now();
    while !std::fs::read_to_string(journal).is_ok_and(|s| s.contains("\"type\":\"process\"")) {
        assert!(
            start.elapsed() < DEADLINE,
            "the view never began its journal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (master, view)
}

#[test]
fn the_live_views_journal_is_said_when_its_terminal_is_closed() {
    let test = "the_live_views_journal_is_said_when_its_terminal_is_closed";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("view.jsonl");
    let err = dir.path().join("view.err");
    let stderr = Stdio::from(std::fs::File::create(&err).expect("stderr file"));
    let (master, mut view) = recording_view(&journal, (120, 40), Some(stderr));
    // The terminal goes away (its window closed, the ssh link dropped).
    drop(master);
    let status = view.ends_within(DEADLINE, "the view did not end when its terminal closed");
    assert_eq!(status.code(), Some(1), "{status:?}");
    // The error, and what the journal holds, as `q` would say it (it
    // said the error alone).
    let said = std::fs::read_to_string(&err).expect("its stderr");
    assert!(said.contains("the terminal was closed"), "{said}");
    assert!(
        said.contains(&format!("causeway: {}: recorded ", journal.display())),
        "{said}"
    );
    let text = std::fs::read(&journal).expect("the journal");
    assert!(text.ends_with(b"\n"), "the journal ends on a whole line");
    let loaded = causeway::journal::read(&text[..]).expect("a journal");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}

#[test]
fn a_terminal_that_stops_reading_stops_neither_the_journal_nor_sigterm() {
    let test = "a_terminal_that_stops_reading_stops_neither_the_journal_nor_sigterm";
    if !live_view_allowed(test) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("view.jsonl");
    // The operator's link stalls: the terminal takes a few KiB of frames,
    // then no more. (The view's thread used to wait in its write; the
    // probe then waited on the view, and the kernel dropped records, the
    // journal's too: 610,860 of them around 500,000 connections, by hand.)
    let (master, mut view) = recording_view(&journal, (200, 50), None);
    let count = |marker: &str| {
        std::fs::read_to_string(&journal)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"exec\"") && l.contains(marker))
            .count()
    };
    // The probe is attached: fill the terminal (new processes redraw the
    // tree).
    let st = Command::new("/bin/sh")
        .args(["-c", "for i in $(seq 3000); do /bin/true; done"])
        .status()
        .expect("fill the terminal");
    assert!(st.success());
    // Then, the terminal still unread, processes at an everyday pace: each
    // of the probe's takes a batch of its own, so the view's queue fills
    // in about half a second if the view stops.
    let marker = format!("cw-stall-{}", std::process::id());
    for _ in 0..100 {
        Command::new("/bin/sh")
            .args(["-c", ":", &marker])
            .status()
            .expect("a marked process");
        std::thread::sleep(Duration::from_millis(30));
    }
    let start = Instant::now();
    while count(&marker) < 100 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} of 100 processes in the journal while the terminal is not read",
            count(&marker)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGTERM with the terminal still unread: causeway ends, and its
    // journal is finished (restoring the terminal used to wait for it to
    // read again, the journal's end behind it).
    let pid = libc::pid_t::try_from(view.0.id()).expect("a pid");
    // SAFETY: kill(2) with a pid this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = view.ends_within(
        Duration::from_secs(10),
        "the view did not end on SIGTERM while its terminal is not read",
    );
    // Finished, then ended by the signal (README: exit status).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let text = std::fs::read(&journal).expect("the journal");
    let loaded = causeway::journal::read(&text[..]).expect("a journal");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(count(&marker), 100);
    drop(master);
}

#[test]
fn the_live_views_journal_is_finished_when_bash_hangs_up_too() {
    let test = "the_live_views_journal_is_finished_when_bash_hangs_up_too";
    if !live_view_allowed(test) {
        return;
    }
    // Closing the window of an interactive bash: the kernel's SIGHUP, then
    // bash's to its jobs. The second came once the view had ended and its
    // handlers were gone, while the journal was being finished: the
    // process was killed by it, its journal without an end and nothing
    // said (1 or 2 runs in 3 by hand).
    for run in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = dir.path().join("lr.jsonl");
        let err = dir.path().join("lr.err");
        let t = Tmux::start_shell(120, 40, "bash --norc");
        t.type_line(&format!(
            "{BIN} live --record {} 2>{}",
            journal.display(),
            err.display()
        ));
        t.wait_text(" LIVE ");
        let pid = child_named(t.pane_pid(), "causeway").expect("causeway runs under bash");
        drop(t);
        let start = Instant::now();
        while !matches!(common::proc_state(pid).as_deref(), None | Some("Z")) {
            assert!(
                start.elapsed() < DEADLINE,
                "causeway still runs (run {run})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let said = std::fs::read_to_string(&err).expect("its stderr");
        assert!(
            said.contains(&format!("causeway: {}: recorded ", journal.display())),
            "run {run}: {said:?}"
        );
        let text = std::fs::read(&journal).expect("the journal");
        let loaded = causeway::journal::read(&text[..]).expect("a journal");
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    }
}

#[test]
fn too_little_memory_is_said_in_one_line_at_start() {
    let test = "too_little_memory_is_said_in_one_line_at_start";
    if !live_view_allowed(test) {
        return;
    }
    // Under address-space limits too low to start: each failed in its own
    // way, at 80 MB with a panic inside libbpf-rs (`Unknown error -12` in a
    // release build).
    let dir = tempfile::tempdir().expect("tempdir");
    for limit in ["20000000", "40000000", "60000000", "80000000"] {
        let out = dir.path().join(format!("j{limit}.jsonl"));
        let o = Command::new("prlimit")
            .arg(format!("--as={limit}"))
            .arg(BIN)
            .args(["record", "--duration", "1s", "-o"])
            .arg(&out)
            .env("RUST_BACKTRACE", "1")
            .output()
            .expect("prlimit runs (util-linux)");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "at {limit}: {err}");
        assert_eq!(err.lines().count(), 1, "at {limit}: {err}");
        assert!(
            err.starts_with("causeway: not enough memory: ")
                && err.contains(&format!("limited to {} MB", &limit[..2])),
            "at {limit}: {err}"
        );
    }
}
