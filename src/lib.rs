//! causeway: a live causal tree of a host's processes and connections, from
//! a CO-RE eBPF probe, with a terminal view and a JSON Lines journal.

/// `eprintln!` that cannot panic: a line to stderr, its failure ignored.
/// When the terminal closes (the SSH session drops), stderr is a dead tty,
/// and `eprintln!` panics on the error; on the way out that panic (or the
/// panic hook's own print) aborted causeway, losing what a journal writer
/// still held.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod bpf;
pub mod cgroups;
pub mod cli;
pub mod event;
pub mod export;
pub mod graph;
pub mod hash;
pub mod journal;
pub mod live;
pub mod logging;
pub mod record;
pub mod seed;
pub mod ui;
pub mod usage;
