//! Benchmark: what the live view's sampling of running processes costs
//! (`causeway::usage`, one `/proc/PID/stat` read a process), on this host:
//! every process in /proc, optionally with N extra sleeping processes
//! started first. Prints the time per process, median of the rounds.
//!
//! Usage: usage_cost [EXTRA] [ROUNDS]   (run by `bench/usage_cost.sh`)

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use causeway::event::{NS_PER_TICK, ProcKey};
use causeway::usage::{Sampler, parse_stat};

/// Every process in /proc, by identity.
fn all_processes() -> Vec<ProcKey> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let st = parse_stat(&stat)?;
            Some(ProcKey::new(pid, st.start_ticks * NS_PER_TICK))
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let extra: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut children: Vec<Child> = (0..extra)
        .filter_map(|_| {
            Command::new("sleep")
                .arg("600")
                .stdout(Stdio::null())
                .spawn()
                .ok()
        })
        .collect();
    let keys = all_processes();
    let mut sampler = Sampler::new();
    let mut per = Vec::with_capacity(rounds);
    let mut missing = 0;
    for round in 0..rounds {
        let t = Instant::now();
        let sample = sampler.sample(&keys, round as u64 * 2_000_000_000);
        per.push(t.elapsed().as_secs_f64() / keys.len().max(1) as f64);
        missing = sample.missing.len();
    }
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    per.sort_by(f64::total_cmp);
    let median = per[per.len() / 2];
    println!(
        "{} processes, {rounds} rounds: {:.1} µs a process (median; range {:.1} to {:.1}), \
         a sample {:.1} ms; {missing} gone meanwhile",
        keys.len(),
        median * 1e6,
        per[0] * 1e6,
        per[per.len() - 1] * 1e6,
        median * keys.len() as f64 * 1e3
    );
}
