//! Small text helpers for the view: durations, counts, argv, byte sizes.

use chrono::FixedOffset;

use crate::event::ExitStatus;
use crate::graph::GapEnded;

/// A duration in ns, at the precision that matters: `512ms`, `12.3s`,
/// `4m05s`, `3h04m`, `2d03h`.
pub fn duration(ns: u64) -> String {
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    if ns < MS {
        // A loopback connection can open and close within a millisecond:
        // not "0ms".
        format!("{}µs", ns / 1_000)
    } else if ns < S {
        format!("{}ms", ns / MS)
    } else if ns < M {
        format!("{}.{}s", ns / S, (ns % S) / (100 * MS))
    } else if ns < H {
        format!("{}m{:02}s", ns / M, (ns % M) / S)
    } else if ns < D {
        format!("{}h{:02}m", ns / H, (ns % H) / M)
    } else {
        format!("{}d{:02}h", ns / D, (ns % D) / H)
    }
}

/// What was found between the recordings read as one (see
/// [`crate::event::Gap`]), as `replay`, `export` and the view say it: each
/// stretch, the first three of them, with what ended in it unseen; times
/// of day in `tz` (the date too when the two differ). `None` when there
/// was none.
///
/// `a gap of 1.2s between recordings (j.jsonl.1 ended 00:20:47, j.jsonl
/// began 00:20:48 UTC): 3 processes ended unseen in it`
pub fn gaps(gaps: &[GapEnded], boot_time_ns: i64, tz: FixedOffset) -> Option<String> {
    const SAID: usize = 3;
    let at = |ns: u64| crate::journal::wall_time(boot_time_ns, ns).with_timezone(&tz);
    let zone = if tz.local_minus_utc() == 0 {
        " UTC".to_string()
    } else {
        format!(" {tz}")
    };
    let one = |ended: &GapEnded| {
        let g = &ended.stretch;
        let (from, to) = (at(g.from), at(g.to));
        let shown = if from.date_naive() == to.date_naive() {
            "%H:%M:%S"
        } else {
            "%Y-%m-%d %H:%M:%S"
        };
        let (from, to) = (from.format(shown), to.format(shown));
        let long = duration(g.to.saturating_sub(g.from));
        let mut s = match (g.files, g.first_read) {
            (None, None) => format!(
                "a gap of {long} between recordings ({} ended {from}, {} began {to}{zone})",
                g.before, g.after
            ),
            // The later recording began before the file read: said, or
            // the gap would read as if it began where that file does.
            (None, Some(y)) => format!(
                "a gap of {long} between recordings: {}, removed by --keep or not given \
                 ({} ended {from}; {}, file {y}, began {to}{zone})",
                unread(y),
                g.before,
                g.after
            ),
            (Some((x, y)), _) => {
                let missing = if y == x + 2 {
                    format!("file {} of the recording is missing", x + 1)
                } else {
                    format!("files {} to {} of the recording are missing", x + 1, y - 1)
                };
                format!(
                    "a gap of {long}: {missing} ({}, file {x}, ended {from}; {}, file {y}, \
                     began {to}{zone})",
                    g.before, g.after
                )
            }
        };
        s.push_str(": ");
        s.push_str(&counted(ended.processes, "process", "processes"));
        if ended.connections > 0 {
            s.push_str(" and ");
            s.push_str(&counted(ended.connections, "connection", "connections"));
        }
        s.push_str(" ended unseen in it");
        s
    };
    let mut said: Vec<String> = gaps.iter().take(SAID).map(one).collect();
    match gaps.len() {
        0 => return None,
        1 => {}
        n => {
            if n > SAID {
                said.push(format!("and {} more", n - SAID));
            }
            return Some(format!("{n} gaps between recordings: {}", said.join("; ")));
        }
    }
    said.pop()
}

/// The files of a run before file `y` (at least 2), not read: `file 1
/// of the later one was not read`, `files 1 to 18 of the later one were
/// not read`.
fn unread(y: u64) -> String {
    if y <= 2 {
        "file 1 of the later one was not read".to_string()
    } else {
        format!("files 1 to {} of the later one were not read", y - 1)
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` and the noun in its number: `1 connection`, `2,000 connections`.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// What a TCP connection carried, `↑844 B ↓12 KiB` (sent, received), as
/// the view and the chain's text say it: the kernel's counts at its close,
/// so nothing while it is open, nor for one `gone` (never known). A
/// listener carries nothing, nor does a connect that failed: nothing for
/// those either.
pub fn carried(
    tcp: bool,
    closed: bool,
    listen: bool,
    failed: bool,
    (sent, received): (u64, u64),
) -> Option<String> {
    let said = tcp && closed && !listen && (!failed || sent > 0 || received > 0);
    said.then(|| format!("↑{} ↓{}", bytes(sent), bytes(received)))
}

/// A byte size: `812 KiB`, `2.4 KiB` (a tenth under 10: 2,500 bytes are
/// not `2 KiB`), `23.4 MiB`.
pub fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < 10.0 * K {
        format!("{:.1} KiB", f / K)
    } else if f < K * K {
        format!("{:.0} KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MiB", f / (K * K))
    } else {
        format!("{:.2} GiB", f / (K * K * K))
    }
}

/// Bytes as text, with control and formatting characters made visible
/// ([`printable_char`](crate::event::printable_char)), bytes that are not
/// UTF-8 as `\xNN` (a U+FFFD would not tell them from the character),
/// and at most `max` characters (an ellipsis marks the cut).
pub fn text(b: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(b.len().min(max));
    let mut n = 0;
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if n >= max {
                out.push('…');
                return out;
            }
            out.push(crate::event::printable_char(c));
            n += 1;
        }
        for byte in chunk.invalid() {
            if n + 4 > max {
                out.push('…');
                return out;
            }
            out.push_str(&format!("\\x{byte:02x}"));
            n += 4;
        }
    }
    out
}

/// A program's name where its arguments follow it (a tree row, a line of
/// `export --text`): quoted as an argument is ([`word`]), so that a
/// program named `my prog` run with `30` does not read as `my` run with
/// `prog 30`, nor one named `curl' 'http:` as `curl` run with `http:`.
pub fn name(s: String) -> String {
    if s.contains(char::is_whitespace) {
        format!("'{}'", s.replace('\'', "'\\''"))
    } else {
        word(s)
    }
}

/// argv as one line, arguments that need it quoted; at most `max` chars.
pub fn argv(args: &[Vec<u8>], max: usize) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if out.chars().count() >= max {
            out.push('…');
            break;
        }
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&arg(a, max));
    }
    out
}

/// One argument as [`argv`] shows it: a word, quoted when it needs it
/// ([`word`]); with bytes that are not UTF-8, as `$'…'`, where `\xNN` is
/// such a byte and a backslash is doubled, so that the byte 0xff and the
/// text `\xff` do not read alike. At most about `max` chars.
fn arg(a: &[u8], max: usize) -> String {
    if std::str::from_utf8(a).is_ok() {
        return word(text(a, max));
    }
    let mut out = String::from("$'");
    let mut n = 0;
    'chunks: for chunk in a.utf8_chunks() {
        for c in chunk.valid().chars() {
            if n >= max {
                out.push('…');
                break 'chunks;
            }
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c => out.push(crate::event::printable_char(c)),
            }
            n += 1;
        }
        for byte in chunk.invalid() {
            if n >= max {
                out.push('…');
                break 'chunks;
            }
            out.push_str(&format!("\\x{byte:02x}"));
            n += 4;
        }
    }
    out.push('\'');
    out
}

/// `s` as a shell reads one word: quoted (`'a b'`, `'it'\''s'`) when it is
/// empty or holds a space, a tab or a quote.
fn word(s: String) -> String {
    if s.is_empty() || s.contains([' ', '\t', '\'', '"']) {
        format!("'{}'", s.replace('\'', "'\\''"))
    } else {
        s
    }
}

/// How a process stands, short: `running`, `exit 0`, `exit 1`, `SIGKILL`,
/// `SIGSEGV core`.
pub fn state_short(exit: Option<ExitStatus>) -> String {
    match exit {
        None => "running".to_string(),
        Some(e) => status_said(e, " core"),
    }
}

/// An end as `exit 1` or the signal's name, with `core` after it when it
/// dumped core.
fn status_said(exit: ExitStatus, core: &str) -> String {
    match exit {
        ExitStatus::Code(c) => format!("exit {c}"),
        ExitStatus::Signal {
            signal,
            core_dumped,
        } => {
            let name = crate::event::signal_name(signal);
            if core_dumped {
                format!("{name}{core}")
            } else {
                name
            }
        }
    }
}

/// A share of a CPU in percent: one decimal below 10 (`0.3%`), whole
/// above (`97%`, `350%` for threads on several CPUs).
pub fn cpu(pct: f64) -> String {
    if pct < 9.95 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    }
}

/// A size in bytes in at most five columns, in units of 1,024: `980K`,
/// `340M`, `1.2G`, `12G`.
pub fn size_short(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    let (v, unit) = if b < 1000.0 * K {
        (b / K, "K")
    } else if b < 1000.0 * K * K {
        (b / (K * K), "M")
    } else if b < 1000.0 * K * K * K {
        (b / (K * K * K), "G")
    } else {
        (b / (K * K * K * K), "T")
    };
    if v < 9.95 && unit != "K" {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.0}{unit}")
    }
}

/// A running process's state column: its CPU now and its memory
/// (`  97%  340M`); `·` until its CPU has two samples.
pub fn usage_short(u: &crate::usage::Usage) -> String {
    let cpu = u.cpu.map_or_else(|| "·".to_string(), cpu);
    format!("{cpu:>5} {:>5}", size_short(u.rss))
}

/// Children ended, at least, for a process to be said how they ended
/// ([`children_ended`]): in the detail pane and in `export --text`.
pub const CHILDREN_TALLIED: u64 = 3;

/// How a process's children ended, tallied by how (`labels`, one per
/// ended child, in any order), the most frequent first (ties in the order
/// first met), at most `max` ways and the rest as `N other`; then how
/// many run: `61: 57 exit 1, 2 SIGSEGV, 1 SIGABRT (core dumped); 1
/// running`. A crash loop reads at a glance.
pub fn children_ended(
    labels: impl IntoIterator<Item = String>,
    running: u64,
    max: usize,
) -> String {
    let mut ways: Vec<(String, u64)> = Vec::new();
    let mut ended = 0;
    for label in labels {
        ended += 1;
        match ways.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => ways.push((label, 1)),
        }
    }
    // Stable: ties keep the order first met.
    ways.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let max = max.max(1);
    let mut said: Vec<String> = (ways
        .iter()
        .take(if ways.len() > max { max - 1 } else { max }))
    .map(|(l, n)| format!("{} {l}", count(*n)))
    .collect();
    if ways.len() > max {
        let rest: u64 = ways[max - 1..].iter().map(|(_, n)| n).sum();
        said.push(format!("{} other", count(rest)));
    }
    let mut out = format!("{}: {}", count(ended + running), said.join(", "));
    if running > 0 {
        out.push_str(&format!("; {} running", count(running)));
    }
    out
}

/// How a child ended, as [`children_ended`] tallies it in the view: `exit
/// 1`, `SIGSEGV`, `SIGABRT (core dumped)`.
pub fn ended_short(exit: Option<ExitStatus>) -> String {
    match exit {
        None => "ended".to_string(),
        Some(e) => status_said(e, " (core dumped)"),
    }
}

/// Whether an exit status is a failure worth standing out.
pub fn is_failure(exit: Option<ExitStatus>) -> bool {
    matches!(exit, Some(s) if !s.success())
}

/// Cuts `s` to at most `width` terminal columns, marking the cut with an
/// ellipsis.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    // By the columns a terminal gives each character: two for most CJK
    // and emoji, so that a wide name cannot push the columns after it off
    // the row.
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(512_000_000), "512ms");
        assert_eq!(duration(350_400), "350µs");
        assert_eq!(duration(999), "0µs");
        assert_eq!(duration(12_345_000_000), "12.3s");
        assert_eq!(duration(245_000_000_000), "4m05s");
        assert_eq!(duration(3 * 3_600_000_000_000 + 240_000_000_000), "3h04m");
        assert_eq!(
            duration(2 * 86_400_000_000_000 + 3 * 3_600_000_000_000),
            "2d03h"
        );
    }

    #[test]
    fn a_gap_before_a_later_file_of_a_run_says_its_earlier_files_were_not_read() {
        // A recording, then the kept files of a run whose first 18 were
        // removed by --keep: the run began before the file read did.
        let gap = |first_read| GapEnded {
            stretch: crate::event::Stretch {
                before: "r1.jsonl".into(),
                after: "rot.jsonl.2".into(),
                from: 1_000_000_000,
                to: 9_500_000_000,
                files: None,
                first_read,
            },
            processes: 3,
            connections: 0,
        };
        let say = |g| gaps(&[g], 0, chrono::Offset::fix(&chrono::Utc)).unwrap();
        assert_eq!(
            say(gap(Some(19))),
            "a gap of 8.5s between recordings: files 1 to 18 of the later one were not read, \
             removed by --keep or not given (r1.jsonl ended 00:00:01; rot.jsonl.2, file 19, \
             began 00:00:09 UTC): 3 processes ended unseen in it"
        );
        assert!(
            say(gap(Some(2))).contains(": file 1 of the later one was not read, removed by"),
            "{}",
            say(gap(Some(2)))
        );
        assert_eq!(
            say(gap(None)),
            "a gap of 8.5s between recordings (r1.jsonl ended 00:00:01, rot.jsonl.2 began \
             00:00:09 UTC): 3 processes ended unseen in it"
        );
    }

    #[test]
    fn counts_and_sizes() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(24_536_678), "23.4 MiB");
        // Under 10 KiB, a tenth: 2,500 bytes read `2 KiB` when rounded.
        assert_eq!(bytes(2_500), "2.4 KiB");
        assert_eq!(bytes(1_234), "1.2 KiB");
        assert_eq!(bytes(12 << 10), "12 KiB");
        assert_eq!(counted(1, "process", "processes"), "1 process");
        assert_eq!(counted(0, "process", "processes"), "0 processes");
        assert_eq!(counted(2, "connection", "connections"), "2 connections");
    }

    #[test]
    fn argv_quotes_and_cuts() {
        let a = vec![
            b"sh".to_vec(),
            b"-c".to_vec(),
            b"sleep 5".to_vec(),
            b"x\ny".to_vec(),
        ];
        assert_eq!(argv(&a, 100), "sh -c 'sleep 5' x?y");
        assert_eq!(name("my prog".into()), "'my prog'");
        assert_eq!(name("python3".into()), "python3");
        // A name that would pass for a program and an argument.
        assert_eq!(name("curl' 'http:".into()), "'curl'\\'' '\\''http:'");
        assert_eq!(name("it's".into()), "'it'\\''s'");
        assert_eq!(name("   ".into()), "'   '");
        // Bytes that are not UTF-8 say which they were (`$'…'`, where a
        // backslash is doubled: the text `\xff` is not the byte); a real
        // U+FFFD stays itself.
        let odd = vec![
            b"cat".to_vec(),
            b"\xffbad\xc3(\xef\xbf\xbd".to_vec(),
            b"\\xff".to_vec(),
            b"\\\xff'".to_vec(),
        ];
        assert_eq!(
            argv(&odd, 100),
            "cat $'\\xffbad\\xc3(\u{FFFD}' \\xff $'\\\\\\xff\\''"
        );
        assert_eq!(text(b"\xff\xfe", 8), "\\xff\\xfe");
        assert_eq!(text(b"ab\xffcd", 6), "ab\\xff…");
        assert_eq!(text(b"ab\xffcd", 5), "ab…");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        // Two columns each: 日本 and the ellipsis fill five.
        assert_eq!(fit("日本語日本語", 6), "日本…");
        assert_eq!(fit("日本語", 6), "日本語");
    }

    #[test]
    fn children_are_tallied_by_how_they_ended_the_most_frequent_first() {
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let l = labels(&["exit 1", "SIGSEGV", "exit 1", "exit 1", "SIGSEGV", "exit 0"]);
        assert_eq!(
            children_ended(l.clone(), 1, 4),
            "7: 3 exit 1, 2 SIGSEGV, 1 exit 0; 1 running"
        );
        assert_eq!(children_ended(l, 0, 2), "6: 3 exit 1, 3 other");
        assert_eq!(children_ended(labels(&["exit 2"]), 0, 4), "1: 1 exit 2");
        let core = ExitStatus::Signal {
            signal: 6,
            core_dumped: true,
        };
        assert_eq!(ended_short(Some(core)), "SIGABRT (core dumped)");
        assert_eq!(ended_short(Some(ExitStatus::Code(1))), "exit 1");
    }

    #[test]
    fn states() {
        assert_eq!(state_short(None), "running");
        assert_eq!(state_short(Some(ExitStatus::Code(3))), "exit 3");
        let s = ExitStatus::Signal {
            signal: 9,
            core_dumped: false,
        };
        assert_eq!(state_short(Some(s)), "SIGKILL");
        assert!(is_failure(Some(s)));
        assert!(!is_failure(Some(ExitStatus::Code(0))));
        assert!(!is_failure(None));
    }
}
