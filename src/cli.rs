//! The command line: parses arguments and runs the chosen command. Errors
//! reach the user as one line, `causeway: what went wrong: why`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use std::io::Write;

use crate::event::ProcKey;
use crate::export;
use crate::graph::CausalTree;
use crate::journal;
use crate::live::LiveFeed;
use crate::record;

/// See the causal tree of a host's processes and connections, live from
/// eBPF, or replay a recorded journal.
#[derive(Parser, Debug)]
#[command(name = "causeway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The live view of this host (the default; needs root).
    Live {
        /// Also write everything seen to this journal.
        #[arg(long, value_name = "FILE")]
        record: Option<PathBuf>,
        /// With --record: rotate the journal at SIZE, as `record --rotate`.
        #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "record")]
        rotate: Option<u64>,
        /// With --rotate: how many renamed files to keep besides FILE (1 or more).
        #[arg(long, value_name = "N", default_value_t = record::DEFAULT_KEEP, value_parser = parse_keep, requires = "rotate")]
        keep: u32,
        /// Begin with what a journal of this host says happened before
        /// (the files of a `record --rotate` service: JOURNAL*).
        #[arg(long, num_args = 1.., value_name = "JOURNAL")]
        history: Vec<PathBuf>,
    },
    /// Record a journal (JSON Lines) without the view (needs root).
    Record {
        /// Where to write the journal; `-` or nothing for stdout.
        #[arg(short, long, value_name = "FILE|-")]
        output: Option<PathBuf>,
        /// Stop after this long (e.g. 30s, 5m, 1h, 1m30s, 1.5s; a bare number is
        /// seconds); otherwise on Ctrl-C or SIGTERM.
        #[arg(short, long, value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
        /// Once the journal reaches SIZE (e.g. 100M, 1G), rename it FILE.1 (older
        /// ones FILE.2...) and begin a new FILE, which replays on its own.
        #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "output")]
        rotate: Option<u64>,
        /// With --rotate: how many renamed files to keep besides FILE (1 or more).
        #[arg(long, value_name = "N", default_value_t = record::DEFAULT_KEEP, value_parser = parse_keep, requires = "rotate")]
        keep: u32,
    },
    /// Open the view over a recorded journal (no privileges needed).
    Replay {
        /// A journal written by `causeway record` or `causeway live --record`
        /// (gzipped too); or several files of one `record --rotate` (FILE
        /// FILE.1 ...), read as one in time order.
        #[arg(required = true, num_args = 1.., value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write a process's causal chain (ancestors, the process, descendants,
    /// with their execs and connections) from a journal as JSON, or as text.
    Export {
        /// A journal written by `causeway record` or `causeway live --record`
        /// (gzipped too); or several files of one `record --rotate`, read as
        /// one. `-` reads one from standard input.
        #[arg(required = true, num_args = 1.., value_name = "JOURNAL")]
        files: Vec<PathBuf>,
        /// The process: PID (the newest with that pid), or PID@START with
        /// its start time (boot-clock ns, as in the journal).
        #[arg(value_name = "PID[@START]", value_parser = parse_process)]
        process: (u32, Option<u64>),
        /// Where to write it; `-` or nothing for stdout.
        #[arg(short, long, value_name = "FILE|-")]
        output: Option<PathBuf>,
        /// The chain drawn as a tree in text, for a postmortem or a chat,
        /// instead of JSON.
        #[arg(long)]
        text: bool,
    },
}

fn parse_process(s: &str) -> Result<(u32, Option<u64>), String> {
    let bad = || format!("{s:?} is not a PID or PID@START (e.g. 4242 or 4242@123456789000)");
    let (pid, start) = match s.split_once('@') {
        Some((p, t)) => (p, Some(t.parse().map_err(|_| bad())?)),
        None => (s, None),
    };
    Ok((pid.parse().map_err(|_| bad())?, start))
}

/// A `--rotate` size: at least [`record::MIN_SIZE`], so that a file holds
/// more than the process and socket lines it opens with.
fn parse_size(s: &str) -> Result<u64, String> {
    match record::parse_size(s) {
        Ok(n) if n < record::MIN_SIZE => Err(format!("{s:?} is too small: at least 64K")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// A `--keep` count: at least 1. With none kept, moving FILE aside (at
/// start, when a journal is already there, and at each rotation) would
/// delete it.
fn parse_keep(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err(
            "keep at least 1: with 0, FILE would be deleted each time it is moved aside \
                      (at start and at every rotation)"
                .to_string(),
        ),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a number of files")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    record::parse_duration(s).map_err(|e| format!("{e:#}"))
}

/// What `export` says when the journal has no process `pid` (started at
/// `start`): the processes that pid is there as, if any (the oldest first,
/// a few of them), or else where to look for the one meant.
fn not_found(tree: &CausalTree, pid: u32, start: Option<u64>, name: &str) -> String {
    /// How many a message names.
    const NAMED: usize = 5;
    let wanted = match start {
        Some(start) => format!("no process {pid} started at {start} in {name}"),
        None => format!("no process {pid} in {name}"),
    };
    let mut starts: Vec<u64> = tree
        .nodes()
        .filter(|(_, n)| n.key.pid == pid)
        .map(|(_, n)| n.key.start)
        .collect();
    if starts.is_empty() {
        return format!("{wanted} (`causeway replay` it and `/` finds a process by name)");
    }
    starts.sort_unstable();
    let named: Vec<String> = starts
        .iter()
        .take(NAMED)
        .map(|s| format!("{pid}@{s}"))
        .collect();
    let more = match starts.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!("{wanted}; pid {pid} is there as {}{more}", named.join(", "))
}

/// Whether `a` and `b` name one file: the same path, the same canonical
/// path (through `..` or a symbolic link), or the same inode (a hard link).
/// A path that does not exist yet is the same only as itself. `a` may be
/// `-`, standard input: the file redirected into it, if it is one.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let stdin = journal::is_stdin(a);
    if !stdin && a == b {
        return true;
    }
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    if !stdin && matches!((canon(a), canon(b)), (Some(x), Some(y)) if x == y) {
        return true;
    }
    let inode = |p: &Path| {
        let meta = if journal::is_stdin(p) {
            stdin_metadata()
        } else {
            std::fs::metadata(p).ok()
        };
        meta.map(|m| (m.dev(), m.ino()))
    };
    matches!((inode(a), inode(b)), (Some(x), Some(y)) if x == y)
}

/// What standard input is (a file redirected into it, a pipe, a terminal).
fn stdin_metadata() -> Option<std::fs::Metadata> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    std::fs::File::from(fd).metadata().ok()
}

/// Refuses `-` (standard input) as a journal for the view, which reads
/// its keys from standard input: `what` says who needs a file.
fn refuse_stdin(files: &[PathBuf], what: &str) -> Result<()> {
    if files.iter().any(|f| journal::is_stdin(f)) {
        anyhow::bail!(
            "{what} needs a journal's file, not `-`: standard input is the view's keyboard \
             (`causeway export - PID` reads a journal from it)"
        );
    }
    Ok(())
}

/// `causeway export j.jsonl`, the process forgotten: clap takes the
/// journal for the PID and says it is not one. Said plainly instead, when
/// what stands for the PID is a journal: `-`, a file that exists, or a
/// name with a file's extension (`j1.jsonl`, `.gz`).
fn missing_process(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::ValueValidation {
        return None;
    }
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return None;
    };
    if !arg.starts_with("<PID") {
        return None;
    }
    let path = Path::new(value);
    let file_like = path
        .extension()
        .is_some_and(|x| !x.is_empty() && !x.as_encoded_bytes().iter().all(u8::is_ascii_digit));
    if !(journal::is_stdin(path) || file_like || path.exists()) {
        return None;
    }
    Some(format!(
        "causeway: export: the process is missing: give its PID (or PID@START) after the journal, \
         as in `causeway export {value} 4242`"
    ))
}

/// Runs causeway with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    // SAFETY: first thing, before any thread is started: nothing reads or
    // writes the environment meanwhile.
    unsafe { std::env::remove_var("RUST_BACKTRACE") };
    // Before any thread starts, so that every thread has it blocked.
    crate::ui::term::hold_resize_signal();
    crate::logging::init();
    std::panic::set_hook(Box::new(|info| say!("{}", panic_line(info))));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // An error quotes what was typed (an argument may carry escape
        // sequences): written as any other message is. Help and the
        // version are clap's own.
        Err(e) if e.use_stderr() => {
            match missing_process(&e) {
                Some(line) => say!("{line}"),
                None => {
                    for line in e.render().to_string().lines() {
                        say!("{line}");
                    }
                }
            }
            return 2;
        }
        Err(e) => {
            let _ = e.print();
            return 0;
        }
    };
    let status = match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            let line = crate::memory::explain(&e).unwrap_or_else(|| format!("{e:#}"));
            say!("causeway: {line}");
            1
        }
    };
    // The view ended by SIGTERM, SIGHUP or SIGINT: the process ends by it
    // too, now that the terminal is back and the journal finished.
    crate::ui::term::end_by_caught_signal();
    status
}

fn run(cli: Cli) -> Result<()> {
    crate::memory::reserve()?;
    let live = Command::Live {
        record: None,
        rotate: None,
        keep: record::DEFAULT_KEEP,
        history: Vec::new(),
    };
    match cli.command.unwrap_or(live) {
        Command::Live {
            record,
            rotate,
            keep,
            history,
        } => {
            refuse_stdin(&history, "--history")?;
            // From now until the process ends: the journal is finished and
            // said after the view.
            crate::ui::term::handle_signals()?;
            if let Some(r) = &record {
                if let Some(h) = history.iter().find(|p| same_file(p, r)) {
                    anyhow::bail!(
                        "--record {} would overwrite the history read from it: record to another file",
                        h.display()
                    );
                }
            }
            let feed = LiveFeed::start(record.as_deref(), rotate.map(|size| (size, keep)))?;
            let warning = feed.features().warning();
            let ended = crate::ui::run_live(feed, &history);
            // Said however the view ended (the terminal closed, an error):
            // then the error, if any, last.
            if let (Some(s), Some(path)) = (ended.recorded, &record) {
                say!("causeway: {}: {}", path.display(), s.said());
            }
            ended.result?;
            if let Some(w) = warning {
                say!("causeway: warning: {w}");
            }
            Ok(())
        }
        Command::Record {
            output,
            duration,
            rotate,
            keep,
        } => {
            let stop = record::stop_on_signals()?;
            if rotate.is_some() && output.as_ref().is_some_and(|p| p.as_os_str() == "-") {
                anyhow::bail!("--rotate needs a file to write (--output FILE), not stdout");
            }
            if rotate.is_none() {
                record::check_output(output.as_ref())?;
            }
            // Before the journal's file is created: refused, none is left.
            crate::bpf::check_can_load()?;
            let fresh = record::Fresh::at(output.as_deref());
            let out = match (rotate, output) {
                (Some(size), Some(path)) => {
                    record::Output::Rotating(record::Rotate { path, size, keep })
                }
                (_, output) => record::Output::Stream(record::open_output(output.as_ref())?),
            };
            let s = record::record(out, duration, &stop).inspect_err(|_| fresh.undo())?;
            say!("causeway: {} ({:.3} s CPU)", s.said(), s.cpu.as_secs_f64());
            Ok(())
        }
        Command::Export {
            files,
            process: (pid, start),
            output,
            text,
        } => {
            // The chain written over the journal it comes from would
            // replace the evidence: refused before anything is read.
            let output = output.filter(|o| o.as_os_str() != "-");
            if let Some(out) = &output {
                if let Some(f) = files.iter().find(|f| same_file(f, out)) {
                    anyhow::bail!(
                        "-o {} would overwrite the journal {} read from it: write the chain to another file",
                        out.display(),
                        f.display()
                    );
                }
                // Nor over another file that holds something (last
                // time's chain): said before the journal is read.
                record::refuse_over(out, false)?;
            }
            let (loaded, order) = journal::load_all(&files)?;
            let name = crate::journal::files_name(&order);
            if let Some(s) = loaded.problem_summary() {
                say!("causeway: {name}: {s}");
            }
            // Every process of the journal: none is forgotten here.
            let mut tree = CausalTree::with_limits(usize::MAX, usize::MAX);
            for m in &loaded.messages {
                tree.apply(m);
            }
            // Said as damage is: what the tree ended between recordings.
            if let Some(g) = crate::ui::format::gaps(
                tree.gaps(),
                loaded.header.boot_time_ns,
                chrono::Offset::fix(&chrono::Utc),
            ) {
                say!("causeway: {name}: {g}");
            }
            let id = match start {
                Some(start) => tree.find(ProcKey::new(pid, start)),
                None => tree.find_pid(pid),
            }
            .ok_or_else(|| anyhow::anyhow!(not_found(&tree, pid, start, &name)))?;
            // Records the kernel could not deliver: the chain may lack
            // events of that time (the view's status bar says LOST).
            let lost = tree.stats().lost;
            if lost > 0 {
                say!(
                    "causeway: {name}: {} records were lost while it was recorded (the ring buffer was full): the chain may lack events",
                    crate::ui::format::count(lost)
                );
            }
            // The journal's last event; a journal of the /proc scan alone
            // has none, and then its newest process stands in.
            let newest = tree.nodes().map(|(_, n)| n.first_seen).max();
            let end = tree.last_ktime().max(newest.unwrap_or(0));
            let doc = export::chain(&tree, &loaded.header, id, end);
            // Stdout may be a terminal: the text is for reading there.
            let mut out: Box<dyn Write> = match &output {
                Some(p) => Box::new(
                    journal::create(p).with_context(|| format!("cannot create {}", p.display()))?,
                ),
                None => Box::new(std::io::stdout()),
            };
            let doc = if text {
                export::summary(&doc)
            } else {
                export::to_text(&doc)
            };
            match out.write_all(doc.as_bytes()).and_then(|()| out.flush()) {
                // The reader had what it wanted (`| head`, `| less` quit).
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.context("writing the chain"),
            }
        }
        Command::Replay { files } => {
            refuse_stdin(&files, "replay")?;
            crate::ui::term::handle_signals()?;
            let (loaded, order) = journal::load_all(&files)?;
            let summary = loaded.problem_summary();
            let name = crate::journal::files_name(&order);
            let gaps = crate::ui::run_replay(loaded, &name)
                .with_context(|| format!("replaying {name}"))?;
            for s in [summary, gaps].into_iter().flatten() {
                say!("causeway: {name}: {s}");
            }
            Ok(())
        }
    }
}

/// What a panic (a bug in causeway) says: one line, where and what, without
/// a backtrace (`RUST_BACKTRACE` is often set on hosts where causeway runs).
pub fn panic_line(info: &std::panic::PanicHookInfo<'_>) -> String {
    let p = info.payload();
    let what = p
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let here = std::thread::current();
    describe_panic(
        here.name().unwrap_or("<unnamed>"),
        info.location().map(ToString::to_string).as_deref(),
        what,
    )
}

fn describe_panic(thread: &str, at: Option<&str>, what: &str) -> String {
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    let at = at.map_or_else(String::new, |a| format!(" at {a}"));
    format!(
        "causeway: internal error (a bug: please report it): thread '{thread}' panicked{at}: {what}"
    )
}

#[cfg(test)]
mod tests {
    use super::describe_panic;

    #[test]
    fn a_panic_is_one_line_saying_where_and_what() {
        let line = describe_panic(
            "probe",
            Some("src/bpf/mod.rs:12:5"),
            "index out of bounds:\n  the len is 3",
        );
        assert_eq!(
            line,
            "causeway: internal error (a bug: please report it): thread 'probe' panicked \
             at src/bpf/mod.rs:12:5: index out of bounds: the len is 3"
        );
        assert!(!describe_panic("main", None, "x").contains(" at "));
    }
}
