//! Benchmark: what attaching causeway costs a syscall that has nothing to
//! do with it, and a send and a receive on a TCP connection (every send
//! and receive on the host runs one of its programs). Times `getppid()`
//! in a loop, and a one-byte write and read over a loopback connection
//! opened for the measurement, alone and with `causeway record` attached,
//! in alternating order per round, and prints the medians. Run through
//! `bench/syscall_tax.sh` (needs root).
//!
//! Usage: syscall_tax CAUSEWAY_BIN [CALLS] [ROUNDS]

mod bench;

use bench::median;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
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

/// Nanoseconds per one-byte send and receive (a `write()` on one end of a
/// loopback TCP connection, a `read()` on the other), over `calls` pairs.
fn per_send_recv(calls: u32) -> f64 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen on loopback");
    let mut c = TcpStream::connect(l.local_addr().expect("bound")).expect("connect");
    let (mut a, _) = l.accept().expect("accept");
    c.set_nodelay(true).expect("nodelay");
    let mut byte = [0u8; 1];
    let t = Instant::now();
    for _ in 0..calls {
        c.write_all(b"x").expect("send");
        a.read_exact(&mut byte).expect("receive");
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
    // (getppid, send+receive) per round.
    let (mut alone, mut attached) = (vec![], vec![]);
    let pairs = calls / 10;
    let measure = |out: &mut Vec<(f64, f64)>| out.push((per_call(calls), per_send_recv(pairs)));
    for round in 0..rounds {
        let with = |attached: &mut Vec<(f64, f64)>| {
            let mut cw = bench::start_record(&bin, "/dev/null", Stdio::null());
            measure(attached);
            bench::interrupt(&cw);
            cw.wait().expect("causeway exits");
        };
        if round % 2 == 0 {
            measure(&mut alone);
            with(&mut attached);
        } else {
            with(&mut attached);
            measure(&mut alone);
        }
    }
    println!("{rounds} rounds (medians)");
    for (what, n, pick) in [
        ("getppid()", calls, 0),
        ("one-byte send + receive over loopback TCP", pairs, 1),
    ] {
        let get = |v: &[(f64, f64)]| {
            v.iter()
                .map(|p| if pick == 0 { p.0 } else { p.1 })
                .collect()
        };
        let (a, w) = (median(get(&alone)), median(get(&attached)));
        println!("{what}, {n} calls:");
        println!("  alone:    {a:.1} ns/call");
        println!(
            "  attached: {w:.1} ns/call ({:+.1} ns, {:+.1}%)",
            w - a,
            (w / a - 1.0) * 100.0
        );
    }
}
