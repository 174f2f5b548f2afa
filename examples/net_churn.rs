//! Benchmark: loopback TCP connect/accept/close churn with and without
//! `causeway record` attached. Run through `bench/net_churn.sh` (needs
//! root), which builds causeway in release mode first.
//!
//! Each worker thread owns a listener on 127.0.0.1 and loops: connect,
//! accept, close both ends (the server's first). Per round, in alternating order: the churn
//! alone; with `causeway record --output /dev/null` (slowdown); with
//! `causeway record --output FILE` (completeness: connects, accepts and
//! closes of this process in the journal against those issued, and lost
//! records). Prints medians over the rounds.
//!
//! Usage: net_churn CAUSEWAY_BIN [CYCLES] [ROUNDS] [WORKERS]
//! (CAUSEWAY_BIN `-`: the churn alone, once, for profiling.)

mod bench;

use bench::median;

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// This process's CPU time so far (user + system, all threads).
fn cpu_time() -> Duration {
    // SAFETY: `ru` is a valid, writable rusage for the call.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Wall and CPU time of `cycles` connect/accept/close cycles over
/// `workers` threads.
fn churn(cycles: usize, workers: usize) -> (Duration, Duration) {
    let cpu = cpu_time();
    let wall = churn_wall(cycles, workers);
    (wall, cpu_time().saturating_sub(cpu))
}

fn churn_wall(cycles: usize, workers: usize) -> Duration {
    let listeners: Vec<TcpListener> = (0..workers)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen on loopback"))
        .collect();
    // Workers take cycles from one counter rather than a fixed share each:
    // with fixed shares, whichever worker shares its core with causeway
    // finishes last while the other core idles, and the wall time measures
    // that imbalance rather than the work.
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for l in &listeners {
            let next = &next;
            s.spawn(move || {
                let addr = l.local_addr().expect("bound");
                while next.fetch_add(1, Ordering::Relaxed) < cycles {
                    let c = TcpStream::connect(addr).expect("connect on loopback");
                    let (a, _) = l.accept().expect("accept");
                    // The server closes first, so TIME_WAIT sockets sit on
                    // the listener's port. Client-first closes leave them on
                    // ephemeral ports, and the port search in connect()
                    // then slows down as they pile up across rounds (45,000
                    // to 28,000 cycles/s here), which swamps the comparison.
                    drop(a);
                    drop(c);
                }
            });
        }
    });
    t.elapsed()
}

fn start_causeway(bin: &str, output: &str) -> Child {
    bench::start_record(bin, output, Stdio::null())
}

/// Stops causeway with SIGINT; returns its CPU time (user + system).
fn stop_causeway(child: Child) -> Duration {
    let pid = child.id() as libc::pid_t;
    bench::interrupt(&child);
    // SAFETY: a plain syscall on our own child's pid; `ru` and `status` are
    // valid, writable locals.
    unsafe {
        let mut status = 0;
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::wait4(pid, &mut status, 0, &mut ru);
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

/// Counts this process's connect, accept and close lines, and lost records.
fn count(journal: &str) -> (usize, usize, usize, u64) {
    let text = fs::read_to_string(journal).expect("journal");
    let me = format!(",\"pid\":{},", std::process::id());
    let (mut connects, mut accepts, mut closes, mut lost) = (0, 0, 0, 0);
    for line in text.lines() {
        if line.starts_with("{\"type\":\"lost\"") {
            let v: serde_json::Value = serde_json::from_str(line).expect("lost line");
            lost += v["count"].as_u64().unwrap_or(0);
            continue;
        }
        if !line.contains(&me) {
            continue;
        }
        if line.starts_with("{\"type\":\"connect\"") {
            connects += 1;
        } else if line.starts_with("{\"type\":\"accept\"") {
            accepts += 1;
        } else if line.starts_with("{\"type\":\"close\"") && !line.contains("\"listen\"") {
            closes += 1;
        }
    }
    (connects, accepts, closes, lost)
}

/// Time the probe's programs spent, per program, from the kernel's BPF
/// statistics (`bpftool prog show`); empty if bpftool is missing.
fn bpf_run_time() -> Vec<(String, u64, u64)> {
    let Ok(out) = Command::new("bpftool")
        .args(["prog", "show", "-j"])
        .output()
    else {
        return Vec::new();
    };
    let progs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    progs
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            let cnt = p["run_cnt"].as_u64()?;
            (name.starts_with("handle_") && cnt > 0).then(|| {
                (
                    name.to_string(),
                    cnt,
                    p["run_time_ns"].as_u64().unwrap_or(0),
                )
            })
        })
        .collect()
}

const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .unwrap_or_else(|| "target/release/causeway".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let workers: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let journal = std::env::temp_dir().join("causeway-bench-net.jsonl");
    let journal = journal.to_string_lossy().into_owned();

    // `net_churn - N`: only the churn, for profiling under a recorder
    // started by hand.
    if bin == "-" {
        let (wall, _) = churn(n, workers);
        println!("{:.0} cycles/s", n as f64 / wall.as_secs_f64());
        return;
    }
    churn(n / 10, workers);

    // Slowdown: each round runs the churn alone and with causeway attached
    // back to back (in alternating order), so load from elsewhere on the
    // machine hits both alike; the median of the per-round ratios is the
    // figure.
    let (mut wall_ratio, mut cpu_ratio, mut rate) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        let alone_first = round % 2 == 0;
        let alone = || churn(n, workers);
        let attached = || {
            let c = start_causeway(&bin, "/dev/null");
            let t = churn(n, workers);
            (t, stop_causeway(c))
        };
        let (b, (a, own)) = if alone_first {
            let b = alone();
            (b, attached())
        } else {
            let a = attached();
            (alone(), a)
        };
        let (bw, bc, aw, ac) = (
            b.0.as_secs_f64(),
            b.1.as_secs_f64(),
            a.0.as_secs_f64(),
            a.1.as_secs_f64(),
        );
        wall_ratio.push(aw / bw);
        cpu_ratio.push(ac / bc);
        rate.push(n as f64 / bw);
        eprintln!(
            "round {round}: alone {bw:.3}s ({:.0}/s, cpu {bc:.3}s), attached {aw:.3}s ({:+.1}%, cpu {ac:.3}s {:+.1}%), causeway's own cpu {:.2}s",
            n as f64 / bw,
            (aw / bw - 1.0) * 100.0,
            (ac / bc - 1.0) * 100.0,
            own.as_secs_f64()
        );
    }

    // Completeness, and what the probe's programs cost per cycle.
    let stats_before = fs::read_to_string(BPF_STATS).unwrap_or_default();
    let _ = fs::write(BPF_STATS, "1");
    let c = start_causeway(&bin, &journal);
    let (_, cycle_cpu) = churn(n, workers);
    // Closes of the last cycles land in softirq just after; let the
    // recorder take them before it stops.
    std::thread::sleep(Duration::from_millis(300));
    let progs = bpf_run_time();
    stop_causeway(c);
    if !stats_before.trim().is_empty() {
        let _ = fs::write(BPF_STATS, stats_before.trim());
    }
    let (connects, accepts, closes, lost) = count(&journal);
    let _ = fs::remove_file(&journal);

    println!(
        "loopback TCP churn: {n} connect/accept/close cycles, {workers} worker(s), {rounds} rounds"
    );
    println!(
        "  rate alone (median):                 {:.0} cycles/s",
        median(rate)
    );
    println!(
        "  slowdown attached, wall (median):    {:+.1}%",
        (median(wall_ratio) - 1.0) * 100.0
    );
    println!(
        "  slowdown attached, churn CPU (median): {:+.1}%",
        (median(cpu_ratio) - 1.0) * 100.0
    );
    println!(
        "  completeness: {connects}/{n} connects, {accepts}/{n} accepts, {closes}/{} closes, {lost} records lost",
        2 * n
    );
    if !progs.is_empty() {
        let total: u64 = progs.iter().map(|p| p.2).sum();
        println!(
            "  probe time per cycle (kernel BPF stats): {:.2} us, against {:.2} us of churn CPU per cycle",
            total as f64 / 1e3 / n as f64,
            cycle_cpu.as_secs_f64() * 1e6 / n as f64
        );
        for (name, cnt, ns) in progs {
            println!(
                "    {name:<24} {:>5.1} runs/cycle {:>6.0} ns/run",
                cnt as f64 / n as f64,
                ns as f64 / cnt as f64
            );
        }
    }
}
