//! causeway: a live causal tree of a host's processes and connections, from
//! a CO-RE eBPF probe, with a terminal view and a JSON Lines journal.

/// `eprintln!` that cannot panic: a line to stderr, its failure ignored.
/// When the terminal closes (the SSH session drops), stderr is a dead tty,
/// and `eprintln!` panics on the error; on the way out that panic (or the
/// panic hook's own print) aborted causeway, losing what a journal writer
/// still held. Nothing is written to a terminal that stopped reading
/// ([`TERMINAL_STALLED`]).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::{IsTerminal as _, Write as _};
        let stderr = std::io::stderr();
        if !($crate::TERMINAL_STALLED.load(std::sync::atomic::Ordering::SeqCst)
            && stderr.is_terminal())
        {
            let _ = writeln!(&stderr, $($arg)*);
        }
    }};
}

/// The view's terminal stopped reading (a stalled SSH link) and was left
/// as it was when the view ended: `say!` then writes nothing more to a
/// terminal, where each line would wait for it to read again.
pub static TERMINAL_STALLED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

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
