//! How fast the view draws, and how soon a big replay shows its first
//! frame. Not a timed test: it prints figures.
//!
//!     cargo bench --bench ui_frame
//!
//! 1. Frame build: a frame of the whole view (status bar, tree pane,
//!    detail pane, footer) drawn into a ratatui `TestBackend` of 200x50,
//!    for synthetic trees of 1,000, 10,000 and 100,000 processes ("host":
//!    nested shells and builds; "wide": 100,000 children of one shell, the
//!    shape of an exec storm), with the selection at the top, in the
//!    middle and at the newest process. Each frame moves the selection one
//!    row, so every frame has work to do.
//! 2. Replay start to first frame, in-process: a generated journal of
//!    1,000,000 events is loaded (`journal::load`), the tree and the row
//!    index are built (`ui::replay_app`), and the first frame is drawn,
//!    each phase timed. The journal is written to a temporary file first
//!    (not timed).
//!
//! 3. Live ingest: a storm of processes applied to the tree alone and
//!    through the view.
//! 4. Connection churn: one process's connects and closes applied to a
//!    tree with its default connection limit and to one without a limit:
//!    the time per message, the longest single apply (when the tree
//!    forgets closed connections and renumbers the rest), the connections
//!    held at the end and the heap they take (the connection table's
//!    length times the size of a connection; the indexes are not counted).
//! 5. Process churn: a shell running short commands (fork, exec, exit),
//!    applied to a tree with its default process limit and to one
//!    without: the time per message, the longest single apply (when the
//!    tree forgets exited processes and renumbers the rest), the
//!    processes held at the end and the heap the tree takes (counted by
//!    this bench's allocator).
//!
//! 6. A whole host's chain: `export::chain` of init over a synthetic host
//!    (what `x` on pid 1 or `causeway export JOURNAL 1` builds), three
//!    times in a row, and writing it as JSON and text.
//!
//! `UI_BENCH_QUICK=1` runs smaller sizes (for a smoke run).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use causeway::graph::CausalTree;
use causeway::ui::keys::Action;
use causeway::ui::{App, SourceKind, render, synth};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator as it came; the
// count is a side effect.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn held_mib() -> f64 {
    HELD.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
}

const W: u16 = 200;
const H: u16 = 50;

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let median = v[v.len() / 2];
    let p99 = v[(v.len() * 99 / 100).min(v.len() - 1)];
    (median, p99, v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn frames(app: &mut App, term: &mut Terminal<TestBackend>, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // Move the selection so the frame differs from the last one.
        app.handle(if i % 2 == 0 { Action::Down } else { Action::Up });
        let t = Instant::now();
        term.draw(|f| render::draw(f, app)).expect("draw");
        out.push(t.elapsed());
    }
    out
}

/// `n` processes all started by one shell (the shape of an exec storm: a
/// loop running a command over and over).
fn wide(n: usize) -> Vec<causeway::event::Message> {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let shell = s.spawn(init, 0, "/bin/bash", &["bash", "loop.sh"]);
    for _ in 2..n {
        s.spawn(shell, 0, "/bin/true", &["true"]);
    }
    s.messages
}

fn frame_bench(sizes: &[usize], n: usize) {
    println!("frame build, TestBackend {W}x{H}, {n} frames per case (median / p99 / max):");
    let cases = sizes
        .iter()
        .map(|&size| (size, "host", synth::host(size, 42)))
        .chain(sizes.last().map(|&size| (size, "wide", wide(size))));
    for (size, shape, msgs) in cases {
        let tree = CausalTree::from_messages(&msgs);
        let mut app = App::new(
            tree,
            SourceKind::Replay {
                name: "bench".into(),
                problems: None,
            },
            synth::header(),
            causeway::ui::users::Users::default(),
        );
        app.resize(W, H);
        let mut term = Terminal::new(TestBackend::new(W, H)).expect("terminal");
        let total = app.rows.total(&app.tree);
        for (place, setup) in [
            ("top", Action::First),
            ("middle", Action::First),
            ("newest", Action::ToggleFollow),
        ] {
            app.follow = false;
            app.handle(setup);
            if place == "middle" {
                for _ in 0..(total / 2 / usize::from(H)) {
                    app.handle(Action::PageDown);
                }
            }
            if place == "newest" {
                app.handle(Action::ToggleFollow);
            }
            // Warm up, then measure.
            frames(&mut app, &mut term, 10);
            let (median, p99, max) = stats(frames(&mut app, &mut term, n));
            println!(
                "  {:>7} processes, {shape} ({:>7} rows), selection {place:<6}: {} / {} / {}",
                size,
                total,
                ms(median),
                ms(p99),
                ms(max)
            );
        }
    }
}

fn replay_bench(events: usize) {
    println!("replay start to first frame, {events} events, in-process:");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("storm.jsonl");
    let msgs = synth::storm(events, 7);
    let f = std::fs::File::create(&path).expect("create");
    synth::write_journal(std::io::BufWriter::new(f), &msgs).expect("write");
    drop(msgs);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

    let t0 = Instant::now();
    let loaded = causeway::journal::load(&path).expect("load");
    let t_load = t0.elapsed();
    let n_msgs = loaded.messages.len();
    let t1 = Instant::now();
    let mut app = causeway::ui::replay_app(
        loaded,
        &causeway::journal::files_name(std::slice::from_ref(&path)),
    );
    app.resize(W, H);
    let t_build = t1.elapsed();
    let t2 = Instant::now();
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("terminal");
    term.draw(|f| render::draw(f, &app)).expect("draw");
    let t_frame = t2.elapsed();
    println!(
        "  journal {:.1} MiB, {} messages, {} processes",
        size as f64 / (1024.0 * 1024.0),
        n_msgs,
        app.tree.len()
    );
    println!("  load (read + parse):           {}", ms(t_load));
    println!("  tree + row index:              {}", ms(t_build));
    println!("  first frame:                   {}", ms(t_frame));
    println!("  total, start to first frame:   {}", ms(t0.elapsed()));
}

/// What the row index costs a live view: applying every message to the
/// tree alone, and through the view (tree + index upkeep).
fn ingest_bench(events: usize) {
    println!("live ingest, {events} events (tree alone vs tree + row index):");
    let msgs = synth::storm(events, 9);
    let t = Instant::now();
    let tree = CausalTree::from_messages(&msgs);
    let alone = t.elapsed();
    drop(tree);
    let mut app = App::new(
        CausalTree::new(),
        SourceKind::Live,
        synth::header(),
        causeway::ui::users::Users::default(),
    );
    let t = Instant::now();
    for chunk in msgs.chunks(20_000) {
        for m in chunk {
            app.apply(m);
        }
        app.settle();
    }
    let view = t.elapsed();
    println!("  tree alone:        {}", ms(alone));
    println!("  tree + row index:  {}", ms(view));
}

/// One process's `n` TCP connects, each closed at once but every 100th.
fn conn_churn(n: u64) -> Vec<causeway::event::Message> {
    let mut s = synth::Synth::new();
    let init = s.seed(1, None, "systemd", &["systemd"]);
    let client = s.spawn(init, 0, "/usr/bin/client", &["client"]);
    s.outbound_churn((client, init), 1..n + 1, |cookie| cookie % 100 == 1);
    s.messages
}

fn conn_bench(conns: u64) {
    println!("connection churn, {conns} connects of one process (99 % closed at once):");
    let msgs = conn_churn(conns);
    for (label, limit) in [
        ("default limit", causeway::graph::MAX_CONNS),
        ("no limit", usize::MAX),
    ] {
        let mut tree = CausalTree::with_conn_limit(limit);
        let mut worst = Duration::ZERO;
        let t = Instant::now();
        for m in &msgs {
            let one = Instant::now();
            tree.apply(m);
            worst = worst.max(one.elapsed());
        }
        let total = t.elapsed();
        let held = tree.conns().len();
        println!(
            "  {label:<13}: {:.0} ns per message, longest apply {}, {held} connections held ({:.0} MiB)",
            total.as_nanos() as f64 / msgs.len() as f64,
            ms(worst),
            std::mem::size_of_val(tree.conns()) as f64 / (1024.0 * 1024.0)
        );
    }
}

/// A shell running `procs` short commands, each forked, exec'd and exited,
/// applied to trees with and without the default process limit.
fn proc_bench(procs: usize) {
    println!("process churn, {procs} short commands of one shell (fork, exec, exit):");
    for (label, limit) in [
        ("default limit", causeway::graph::MAX_PROCS),
        ("no limit", usize::MAX),
    ] {
        let mut s = synth::Synth::new();
        let init = s.seed(1, None, "systemd", &["systemd"]);
        let shell = s.spawn(init, 1000, "/bin/bash", &["bash", "build.sh"]);
        let mut tree = CausalTree::with_limits(limit, causeway::graph::MAX_CONNS);
        let (mut worst, mut total, mut n) = (Duration::ZERO, Duration::ZERO, 0usize);
        for _ in 0..procs.div_ceil(10_000) {
            for _ in 0..10_000 {
                let c = s.spawn(shell, 1000, "/usr/bin/cc", &["cc", "-O2", "-c", "src/x.c"]);
                s.exit(c, shell, causeway::event::ExitStatus::Code(0));
            }
            let msgs = std::mem::take(&mut s.messages);
            let t = Instant::now();
            for m in &msgs {
                let one = Instant::now();
                tree.apply(m);
                worst = worst.max(one.elapsed());
            }
            total += t.elapsed();
            n += msgs.len();
        }
        let held = tree.len();
        // What the tree holds: the heap it gives back when dropped.
        let with_tree = held_mib();
        drop(tree);
        println!(
            "  {label:<13}: {:.0} ns per message, longest apply {}, {held} processes held, heap {:.0} MiB",
            total.as_nanos() as f64 / n as f64,
            ms(worst),
            with_tree - held_mib()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let quick = std::env::var_os("UI_BENCH_QUICK").is_some();
    if quick {
        frame_bench(&[1_000, 10_000], 50);
        replay_bench(100_000);
        ingest_bench(100_000);
        conn_bench(1_000_000);
        proc_bench(300_000);
        chain_bench(10_000);
    } else {
        frame_bench(&[1_000, 10_000, 100_000], 300);
        replay_bench(1_000_000);
        ingest_bench(1_000_000);
        conn_bench(5_000_000);
        proc_bench(2_000_000);
        chain_bench(100_000);
    }
}

fn chain_bench(procs: usize) {
    let tree = CausalTree::from_messages(&synth::host(procs, 5));
    let header = synth::header();
    let Some(init) = tree.find_pid(1) else {
        return;
    };
    println!("a whole host's chain (export of init), synth::host({procs}):");
    let mut doc = serde_json::Value::Null;
    for round in 1..=3 {
        let t = Instant::now();
        doc = causeway::export::chain(&tree, &header, init, tree.last_ktime());
        println!(
            "  build {round}: {:.2} s, {} processes",
            t.elapsed().as_secs_f64(),
            doc["processes"].as_array().map_or(0, Vec::len)
        );
    }
    let dir = std::env::temp_dir().join(format!("causeway-chain-bench-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_ok() {
        let t = Instant::now();
        if let Ok(path) = causeway::export::write_file(&dir, &doc) {
            let size = std::fs::metadata(&path).map_or(0, |m| m.len());
            println!(
                "  write JSON and text: {:.2} s, {:.0} MB of JSON",
                t.elapsed().as_secs_f64(),
                size as f64 / 1e6
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
