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
        let line = format!($($arg)*);
        let line = $crate::printable(&line);
        if $crate::VIEW_ON_SCREEN.load(std::sync::atomic::Ordering::SeqCst)
            && stderr.is_terminal()
        {
            // The view draws there: a line now would scroll its screen
            // under it. Said once the terminal is restored.
            if let Ok(mut held) = $crate::HELD.lock() {
                held.push(line.into_owned());
            }
        } else if !($crate::TERMINAL_STALLED.load(std::sync::atomic::Ordering::SeqCst)
            && stderr.is_terminal())
        {
            let _ = writeln!(&stderr, "{line}");
        }
    }};
}

/// The view has the terminal (the alternate screen, raw mode): [`say!`]
/// keeps lines for a terminal in [`HELD`] meanwhile.
pub static VIEW_ON_SCREEN: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Lines [`say!`] kept while the view had the terminal (a warning from the
/// journal's writer, say), in order.
pub static HELD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Says the lines held while the view had the terminal.
pub fn say_held() {
    let held = HELD.lock().map(|mut h| std::mem::take(&mut *h));
    for line in held.unwrap_or_default() {
        say!("{line}");
    }
}

/// `line` with what a terminal would act on instead of showing written
/// out: control characters (an escape sequence in a file name, an
/// argument, a hostname) and the marks that reorder text (U+202E) as
/// `\u{1b}`. Lines to stderr go through it ([`say!`]): a message quotes
/// what it was given.
pub fn printable(line: &str) -> std::borrow::Cow<'_, str> {
    fn acts(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !line.chars().any(acts) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if acts(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
pub mod memory;
pub mod record;
pub mod seed;
pub mod ui;
pub mod usage;

#[cfg(test)]
mod tests {
    #[test]
    fn what_a_terminal_would_act_on_is_written_out() {
        assert_eq!(super::printable("j.jsonl: 3 lines"), "j.jsonl: 3 lines");
        assert_eq!(
            super::printable("glob/j.jsonl.\u{1b}]0;PWN\u{7}x"),
            "glob/j.jsonl.\\u{1b}]0;PWN\\u{7}x"
        );
        assert_eq!(super::printable("a\nb\u{9b}c"), "a\\u{a}b\\u{9b}c");
        assert_eq!(
            super::printable("evil\u{202e}gnp.exe"),
            "evil\\u{202e}gnp.exe"
        );
        assert_eq!(super::printable("naïve ✓"), "naïve ✓");
    }
}
