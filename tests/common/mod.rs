//! Shared by the tests that load the real probe.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use causeway::bpf::ProbeOptions;
use causeway::event::{Batch, Message};
use causeway::graph::CausalTree;
use causeway::live::Source;

/// True when the probe can be loaded here. Without privileges: a visible
/// skip, unless `CI=true`, where the test must run and so fails.
pub fn probe_allowed(test: &str) -> bool {
    match causeway::bpf::check_privileges() {
        Ok(()) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true but the live probe cannot run: {e:#}")
        }
        Err(e) => {
            // Straight to stderr: the test harness would capture eprintln!
            // and show it only for failures.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: needs root to load the eBPF probe ({e:#})"
            );
            false
        }
    }
}

/// Held while a test has the probe attached: one probe at a time in a test
/// binary. Every probe runs its programs on every event of the host, and
/// the kernel never runs a program on a CPU while it runs there: a softirq
/// arriving during a run in process context that needs the same program
/// has that run skipped, which counts as lost. With a dozen probes
/// attached, each event runs a dozen times as many programs, and that
/// happens often enough to fail tests that assert nothing was lost.
pub fn one_probe() -> MutexGuard<'static, ()> {
    static PROBE: Mutex<()> = Mutex::new(());
    // A test that panicked while holding it leaves nothing to repair.
    PROBE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a capture saw.
pub struct Capture {
    pub messages: Vec<Message>,
    pub tree: CausalTree,
}

impl Capture {
    pub fn lost(&self) -> u64 {
        self.tree.stats().lost
    }
}

/// Attaches the probe, runs `work` on another thread while this one
/// applies every message to a tree, and stops once `work` has returned and
/// `done` holds for the tree (or `deadline` passed). `done` is asked after
/// every batch, while `work` runs too. Everything the probe
/// had is drained before it returns.
pub fn capture(
    work: impl FnOnce() + Send + 'static,
    done: impl Fn(&CausalTree) -> bool,
    deadline: Duration,
) -> Capture {
    capture_with(ProbeOptions::default(), work, done, deadline)
}

/// [`capture`] with probe options.
pub fn capture_with(
    options: ProbeOptions,
    work: impl FnOnce() + Send + 'static,
    done: impl Fn(&CausalTree) -> bool,
    deadline: Duration,
) -> Capture {
    let _probe = one_probe();
    let src = Source::start_with(options).expect("the probe starts");
    let mut messages = causeway::live::seed_messages(src.seeds.iter().cloned());
    let mut tree = CausalTree::from_messages(&messages);
    // A workload that panics ends the wait at once: its message is the
    // failure, not a timeout long after.
    let failed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&failed);
    let worker = std::thread::spawn(move || {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            flag.store(true, Ordering::Relaxed);
            std::panic::resume_unwind(panic);
        }
    });
    let start = Instant::now();
    let mut take = |batch: Batch, tree: &mut CausalTree| {
        for m in batch {
            tree.apply(&m);
            messages.push(m);
        }
    };
    loop {
        // Checked after every batch too: on a busy host batches may never
        // pause for long.
        if let Ok(batch) = src.events.recv_timeout(Duration::from_millis(50)) {
            take(batch, &mut tree);
        }
        // `done` is asked every time, also while the workload runs: a
        // workload may wait for what it sets.
        let satisfied = done(&tree);
        if (satisfied && worker.is_finished())
            || failed.load(Ordering::Relaxed)
            || start.elapsed() > deadline
        {
            break;
        }
    }
    worker.join().expect("the workload ran");
    src.probe.request_stop();
    for batch in src.events.iter() {
        take(batch, &mut tree);
    }
    src.probe.stop().expect("the probe stops cleanly");
    Capture { messages, tree }
}

/// The state letter of process `pid` in /proc/PID/stat (`R`, `S`, `Z`...);
/// None once it is gone. The comm, in parentheses, may hold anything, so
/// the fields are read after its last `)`.
pub fn proc_state(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.rfind(')')?;
    stat[close + 1..]
        .split_whitespace()
        .next()
        .map(str::to_string)
}

/// A new pseudo-terminal of `cols`×`rows`: (master, slave).
pub fn pseudo_terminal(cols: u16, rows: u16) -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (-1, -1);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the locals; the name is
    // not asked for (null) and the settings are left as they are (null).
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Not inherited by the programs a test starts (openpty does not set
    // it): a child holding the master too would never see its terminal
    // close when the test closes it.
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor just opened, with a valid flag.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
            0
        );
    }
    // SAFETY: both were just opened and are owned by nothing else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(master),
            std::os::fd::OwnedFd::from_raw_fd(slave),
        )
    }
}
