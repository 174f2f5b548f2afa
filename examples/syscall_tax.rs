//! Benchmark: what attaching causeway costs a syscall that has nothing to
//! do with it. Times `getppid()` in a loop, alone and with `causeway
//! record` attached, in alternating order per round, and prints the
//! medians. Run through `bench/syscall_tax.sh` (needs root).
//!
//! Usage: syscall_tax CAUSEWAY_BIN [CALLS] [ROUNDS]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Nanoseconds per `getppid()` over `calls` calls.
fn per_call(calls: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..calls {
        // SAFETY: getppid has no arguments and cannot fail.
        std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
    }
    t.elapsed().as_nanos() as f64 / f64::from(calls)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .expect("usage: syscall_tax CAUSEWAY_BIN [CALLS] [ROUNDS]");
    let calls: u32 = args.next().map_or(3_000_000, |s| s.parse().expect("CALLS"));
    let rounds: usize = args.next().map_or(7, |s| s.parse().expect("ROUNDS"));
    let (mut alone, mut attached) = (vec![], vec![]);
    for round in 0..rounds {
        let with = |attached: &mut Vec<f64>| {
            let mut cw = Command::new(&bin)
                .args(["record", "--output", "/dev/null"])
                .stderr(Stdio::null())
                .spawn()
                .expect("start causeway");
            std::thread::sleep(Duration::from_millis(1500));
            attached.push(per_call(calls));
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(cw.id() as i32, libc::SIGINT) };
            cw.wait().expect("causeway exits");
        };
        if round % 2 == 0 {
            alone.push(per_call(calls));
            with(&mut attached);
        } else {
            with(&mut attached);
            alone.push(per_call(calls));
        }
    }
    let (a, w) = (median(alone), median(attached));
    println!("getppid(), {calls} calls, {rounds} rounds (medians)");
    println!("  alone:    {a:.1} ns/call");
    println!(
        "  attached: {w:.1} ns/call ({:+.1} ns, {:+.1}%)",
        w - a,
        (w / a - 1.0) * 100.0
    );
}
