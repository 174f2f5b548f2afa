//! What the benchmark drivers in `examples/` share: starting and stopping
//! `causeway record`, and medians. (A directory module, so Cargo does not
//! take it for an example of its own.)
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `causeway record --output OUTPUT` and waits until it is
/// attached (attach and /proc scan take well under a second). A file
/// OUTPUT is the bench's own journal of an earlier round, removed first:
/// `record` does not write over a file that holds something.
pub fn start_record(bin: &str, output: &str, stderr: Stdio) -> Child {
    if output != "/dev/null" {
        let _ = std::fs::remove_file(output);
    }
    let child = Command::new(bin)
        .args(["record", "--output", output])
        .stderr(stderr)
        .spawn()
        .expect("start causeway");
    std::thread::sleep(Duration::from_millis(1500));
    child
}

/// Asks causeway to stop, as Ctrl-C would; the caller waits for it.
pub fn interrupt(child: &Child) {
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
}

/// The median (upper middle) of `v`; NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
