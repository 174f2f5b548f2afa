//! Benchmark: what attaching causeway costs a syscall that has nothing to
//! do with it. Times `getppid()` in a loop, alone and with `causeway
//! record` attached, in alternating order per round, and prints the
//! medians. Run through `bench/syscall_tax.sh` (needs root).
//!
//! Usage: syscall_tax CAUSEWAY_BIN [CALLS] [ROUNDS]

mod bench;

use bench::median;

use std::process::Stdio;
use std::time::Instant;

/// Nanoseconds per `getppid()` over `calls` calls.
fn per_call(calls: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..calls {
        // SAFETY: getppid has no arguments and cannot fail.
        std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
    }
    t.elapsed().as_nanos() as f64 / f64::from(calls)
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
            let mut cw = bench::start_record(&bin, "/dev/null", Stdio::null());
            attached.push(per_call(calls));
            bench::interrupt(&cw);
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
