//! Benchmark: a fork+exec storm with and without `causeway record`
//! attached. Run through `bench/exec_storm.sh` (needs root), which builds
//! causeway in release mode first.
//!
//! Per round, in alternating order: the storm alone; the storm with
//! `causeway record --output /dev/null` (slowdown); the storm with
//! `causeway record --output FILE` (completeness, lost records, causeway's
//! CPU time per event after start-up, less its CPU time over an idle run
//! as long as the storm). Prints medians over the rounds.

mod bench;

use bench::median;

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn storm(n: usize, marker: &str) -> Duration {
    let t = Instant::now();
    for i in 0..n {
        let st = Command::new("/bin/true")
            .arg(marker)
            .arg(i.to_string())
            .status()
            .expect("spawn /bin/true");
        assert!(st.success());
    }
    t.elapsed()
}

fn start_causeway(bin: &str, output: &str) -> Child {
    bench::start_record(bin, output, Stdio::piped())
}

/// Stops causeway with SIGINT; returns the CPU time it spent after
/// start-up (its own account, on stderr: "... (0.123 s CPU)").
fn stop_causeway(child: Child) -> Duration {
    bench::interrupt(&child);
    let out = child.wait_with_output().expect("causeway ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let secs = stderr
        .rsplit('(')
        .next()
        .and_then(|s| s.strip_suffix(" s CPU)\n"))
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no CPU figure in causeway's summary: {stderr}"));
    Duration::from_secs_f64(secs)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .unwrap_or_else(|| "target/release/causeway".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let journal = std::env::temp_dir().join("causeway-bench-exec.jsonl");
    let journal = journal.to_string_lossy().into_owned();

    // Warm up caches (page cache for /bin/true, the binary).
    storm(500, "warmup");

    let (mut base, mut with, mut complete, mut cpu_per_event) = (vec![], vec![], vec![], vec![]);
    let mut lost_total = 0u64;
    for round in 0..rounds {
        let marker = format!("cw-bench-{}-{round}", std::process::id());
        // Alternate which goes first, so drift favours neither.
        let attached = |marker: &str| {
            let c = start_causeway(&bin, "/dev/null");
            let a = storm(n, marker).as_secs_f64();
            stop_causeway(c);
            a
        };
        let (b, a) = if round % 2 == 0 {
            let b = storm(n, &marker).as_secs_f64();
            (b, attached(&marker))
        } else {
            let a = attached(&marker);
            (storm(n, &marker).as_secs_f64(), a)
        };

        // causeway's CPU with nothing happening for as long as a storm
        // lasts: idle polling, which is not a per-event cost.
        let c = start_causeway(&bin, &journal);
        std::thread::sleep(Duration::from_secs_f64(b));
        let idle = stop_causeway(c);

        let c = start_causeway(&bin, &journal);
        let rec_marker = format!("{marker}-rec");
        storm(n, &rec_marker);
        let cpu = stop_causeway(c).saturating_sub(idle);
        let text = fs::read_to_string(&journal).expect("journal");
        let needle = format!("\"{rec_marker}\"");
        let mut execs = 0usize;
        let mut events = 0usize;
        for line in text.lines() {
            if line.starts_with("{\"type\":\"exec\"") && line.contains(&needle) {
                execs += 1;
            }
            if line.starts_with("{\"type\":\"lost\"") {
                let v: serde_json::Value = serde_json::from_str(line).expect("lost line");
                lost_total += v["count"].as_u64().unwrap_or(0);
            }
            if line.contains("\"ktime\"") {
                events += 1;
            }
        }
        base.push(b);
        with.push(a);
        complete.push(execs as f64 / n as f64);
        cpu_per_event.push(cpu.as_secs_f64() * 1e6 / events.max(1) as f64);
        eprintln!(
            "round {round}: alone {b:.3}s, with causeway {a:.3}s ({:+.1}%), captured {execs}/{n} execs, {events} events, causeway cpu {:.3}s over idle {:.3}s",
            (a / b - 1.0) * 100.0,
            cpu.as_secs_f64(),
            idle.as_secs_f64()
        );
    }
    let _ = fs::remove_file(&journal);
    // Rounds are paired (alone and attached back to back), so the headline
    // is the median of the per-round ratios; the ratio of medians is shown
    // too.
    let ratios: Vec<f64> = with.iter().zip(&base).map(|(a, b)| a / b).collect();
    let ratio = median(ratios);
    let (b, a) = (median(base), median(with));
    println!("fork+exec storm: {n} execs x {rounds} rounds (medians)");
    println!(
        "  alone:                          {:.3} s ({:.0} execs/s)",
        b,
        n as f64 / b
    );
    println!("  with causeway record >/dev/null: {:.3} s", a);
    println!(
        "  slowdown (median of rounds):    {:.3} ({:+.1}%)",
        ratio,
        (ratio - 1.0) * 100.0
    );
    println!(
        "  slowdown (ratio of medians):    {:.3} ({:+.1}%)",
        a / b,
        (a / b - 1.0) * 100.0
    );
    println!(
        "  completeness:                   {:.2}% of execs captured, {lost_total} lost",
        median(complete) * 100.0
    );
    println!(
        "  causeway CPU per event:         {:.2} us",
        median(cpu_per_event)
    );
}
