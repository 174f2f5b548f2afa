//! What each running process costs now: its share of a CPU and its
//! resident memory, sampled from `/proc/PID/stat` (the live view's "which
//! process is burning the host", which htop answers and an event stream
//! does not). Sampled by identity: a pid reused since is not taken for
//! the process the tree knows.

use std::collections::HashMap;
use std::time::Duration;

use crate::event::{Comm, NS_PER_TICK, ProcKey};
use crate::graph::CausalTree;

/// One process's figures from one `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Its name (its main thread's comm: what `top` shows).
    pub comm: Comm,
    /// User and system time, in clock ticks.
    pub cpu_ticks: u64,
    /// Start, in clock ticks since boot.
    pub start_ticks: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// Parses `/proc/PID/stat`. The name (field 2) is in parentheses and may
/// hold anything, spaces and parentheses included: the fields are counted
/// from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let (open, close) = (text.find('(')?, text.rfind(')')?);
    let comm = Comm::from(text.get(open + 1..close)?);
    let rest = &text[close + 1..];
    // Fields 3 (state) on; utime is field 14.
    let f: Vec<&str> = rest.split_ascii_whitespace().take(22).collect();
    let num = |i: usize| f.get(i)?.parse::<u64>().ok();
    Some(Stat {
        comm,
        cpu_ticks: num(11)? + num(12)?,
        start_ticks: num(19)?,
        rss_pages: num(21)?,
    })
}

/// What a running process costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    /// Its CPU over the last interval, in percent of one CPU (a process
    /// with busy threads on several CPUs goes past 100); `None` at its
    /// first sample.
    pub cpu: Option<f64>,
    /// Its CPU time since it started.
    pub cpu_total: Duration,
    /// Resident memory, bytes.
    pub rss: u64,
}

/// The processes `tree` has running.
pub fn running(tree: &CausalTree) -> Vec<ProcKey> {
    tree.nodes()
        .filter(|(_, n)| n.is_alive())
        .map(|(_, n)| n.key)
        .collect()
}

/// One sample: what each running process costs, and which processes the
/// tree has running that `/proc` no longer has.
#[derive(Debug, Default)]
pub struct Sample {
    pub usage: HashMap<ProcKey, Usage>,
    /// Running in the tree, but gone from `/proc` (or its pid now another
    /// process's): ended, though the tree has not seen it end yet (its
    /// exit is on its way) or will not (its records were lost).
    pub missing: Vec<ProcKey>,
    /// Each one's name as sampled: one that renamed itself with no event
    /// since says so here.
    pub comms: Vec<(ProcKey, Comm)>,
}

/// Samples every running process of a tree; remembers the last sample of
/// each to make the next one's CPU share.
pub struct Sampler {
    page: u64,
    last: HashMap<ProcKey, u64>,
    /// Boot-clock ns of the last sample.
    at: Option<u64>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

/// A /proc file as text, whatever bytes a process put in its name: a
/// name that is not UTF-8 (`prctl(PR_SET_NAME)` with any bytes, or a
/// CJK program name cut to 15 bytes mid-character) made the whole read
/// fail, and a running process read as gone.
fn read_lossy(path: &str) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl Sampler {
    pub fn new() -> Self {
        // SAFETY: sysconf only reads a configuration value.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Sampler {
            page: u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096),
            last: HashMap::new(),
            at: None,
        }
    }

    /// Reads `/proc/PID/stat` of each of `running` (what a tree has
    /// running: [`running`]), at boot-clock `now`. A process whose pid now
    /// names another (its start differs) or that is gone is `missing`.
    pub fn sample(&mut self, running: &[ProcKey], now: u64) -> Sample {
        self.sample_with(running, now, |pid| read_lossy(&format!("/proc/{pid}/stat")))
    }

    /// [`Sampler::sample`], reading each process's stat with `read`.
    pub fn sample_with(
        &mut self,
        running: &[ProcKey],
        now: u64,
        mut read: impl FnMut(u32) -> Option<String>,
    ) -> Sample {
        let elapsed = self.at.map(|t| now.saturating_sub(t)).filter(|&d| d > 0);
        let mut out = Sample::default();
        let mut last = HashMap::with_capacity(self.last.len());
        for &key in running {
            let st = read(key.pid).as_deref().and_then(parse_stat);
            let Some(st) = st.filter(|st| st.start_ticks.abs_diff(key.start / NS_PER_TICK) <= 1)
            else {
                out.missing.push(key);
                continue;
            };
            let cpu = match (elapsed, self.last.get(&key)) {
                (Some(dt), Some(&before)) => {
                    let used = st.cpu_ticks.saturating_sub(before) * NS_PER_TICK;
                    Some(used as f64 * 100.0 / dt as f64)
                }
                _ => None,
            };
            last.insert(key, st.cpu_ticks);
            out.comms.push((key, st.comm));
            out.usage.insert(
                key,
                Usage {
                    cpu,
                    cpu_total: Duration::from_nanos(st.cpu_ticks * NS_PER_TICK),
                    rss: st.rss_pages * self.page,
                },
            );
        }
        self.last = last;
        self.at = Some(now);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::synth;

    /// A stat line as the kernel writes it, with the fields that matter.
    fn stat(comm: &str, utime: u64, stime: u64, start: u64, rss: u64) -> String {
        format!(
            "4242 ({comm}) S 1 4242 4242 0 -1 4194560 500 0 0 0 {utime} {stime} 0 0 20 0 1 0 {start} 12345678 {rss} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        )
    }

    #[test]
    fn a_name_that_is_not_utf8_is_read() {
        // A thread of this test names itself with bytes that are not
        // UTF-8, as a process may.
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let name = b"miner\xff\0";
            // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most
            // 16 bytes from a valid pointer.
            unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() }).unwrap();
            let _ = done.recv();
        });
        let tid = rx.recv().unwrap();
        let path = format!("/proc/self/task/{tid}/stat");
        assert!(std::fs::read_to_string(&path).is_err(), "not UTF-8");
        let st = read_lossy(&path).as_deref().and_then(parse_stat);
        drop(done_tx);
        t.join().unwrap();
        assert!(st.is_some_and(|st| st.start_ticks > 0));
    }

    #[test]
    fn a_stat_line_is_read_past_any_name() {
        let s = stat("a) b (c", 150, 50, 9000, 300);
        assert_eq!(
            parse_stat(&s),
            Some(Stat {
                comm: Comm::from("a) b (c"),
                cpu_ticks: 200,
                start_ticks: 9000,
                rss_pages: 300
            })
        );
        assert_eq!(parse_stat("4242 (x) S 1 2"), None, "cut short");
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn cpu_is_the_share_of_one_cpu_between_samples_of_the_same_process() {
        let tree = CausalTree::from_messages(&synth::host(3, 1));
        let alive = running(&tree);
        assert!(alive.len() >= 2);
        let (busy, other) = (alive[0], alive[1]);
        let start = |k: ProcKey| k.start / NS_PER_TICK;
        let mut s = Sampler::new();
        let sec = 1_000_000_000;
        // First sample: no share yet, but its total and memory.
        let first = s.sample_with(&alive, 10 * sec, |pid| {
            (pid == busy.pid).then(|| stat("busy", 100, 0, start(busy), 10))
        });
        let u = first.usage[&busy];
        assert_eq!(u.cpu, None);
        assert_eq!(u.cpu_total, Duration::from_secs(1));
        assert_eq!(u.rss, 10 * s.page);
        assert!(!first.usage.contains_key(&other), "gone: left out");
        assert!(first.missing.contains(&other), "and said to be gone");
        assert!(!first.missing.contains(&busy));
        // Two seconds later it used 150 ticks (1.5 s): 75 % of a CPU.
        let second = s.sample_with(&alive, 12 * sec, |pid| {
            if pid == busy.pid {
                Some(stat("busy", 200, 50, start(busy), 10))
            } else if pid == other.pid {
                // The pid now names a process started later.
                Some(stat("new", 0, 0, start(other) + 500, 1))
            } else {
                None
            }
        });
        let cpu = second.usage[&busy].cpu.expect("a share");
        assert!((cpu - 75.0).abs() < 1e-9, "{cpu}");
        assert!(!second.usage.contains_key(&other), "another process's pid");
        assert!(second.missing.contains(&other), "so it is gone");
    }
}
