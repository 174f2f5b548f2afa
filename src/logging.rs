//! causeway's log: never the terminal. Messages (libbpf's included) are kept
//! in memory, the last few for error reports, and appended to the file named
//! by `CAUSEWAY_LOG` when that is set.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, Once};

use libbpf_rs::PrintLevel;

const KEEP: usize = 64;

struct Sink {
    recent: VecDeque<String>,
    file: Option<File>,
}

static SINK: Mutex<Option<Sink>> = Mutex::new(None);
static INIT: Once = Once::new();

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        let Ok(mut guard) = SINK.lock() else { return };
        let Some(sink) = guard.as_mut() else { return };
        if let Some(f) = sink.file.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        if sink.recent.len() == KEEP {
            sink.recent.pop_front();
        }
        sink.recent.push_back(line);
    }

    fn flush(&self) {}
}

/// Installs the logger (once; later calls do nothing).
pub fn init() {
    INIT.call_once(|| {
        let file = std::env::var_os("CAUSEWAY_LOG")
            .and_then(|p| OpenOptions::new().create(true).append(true).open(p).ok());
        if let Ok(mut guard) = SINK.lock() {
            *guard = Some(Sink {
                recent: VecDeque::with_capacity(KEEP),
                file,
            });
        }
        if log::set_logger(&Logger).is_ok() {
            log::set_max_level(log::LevelFilter::Debug);
        }
    });
}

fn libbpf_print(level: PrintLevel, msg: String) {
    let msg = msg.trim_end();
    let msg = msg.strip_prefix("libbpf: ").unwrap_or(msg);
    match level {
        PrintLevel::Warn => log::warn!(target: "libbpf", "{msg}"),
        PrintLevel::Info => log::info!(target: "libbpf", "{msg}"),
        PrintLevel::Debug => log::debug!(target: "libbpf", "{msg}"),
    }
}

/// Sends libbpf's messages to the log instead of stderr.
pub fn route_libbpf() {
    init();
    libbpf_rs::set_print(Some((PrintLevel::Info, libbpf_print)));
}

/// The last warning libbpf logged, if any.
pub fn last_libbpf_warning() -> Option<String> {
    let guard = SINK.lock().ok()?;
    guard
        .as_ref()?
        .recent
        .iter()
        .rev()
        .find(|l| l.starts_with("WARN libbpf"))
        .map(|l| l.trim_start_matches("WARN libbpf: ").to_string())
}

/// Adds libbpf's own explanation, when it gave one, to an error.
pub fn with_libbpf_detail(e: anyhow::Error) -> anyhow::Error {
    match last_libbpf_warning() {
        Some(w) => e.context(format!(
            "libbpf: {w} (set CAUSEWAY_LOG=FILE for the full log)"
        )),
        None => e,
    }
}
