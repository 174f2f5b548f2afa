//! The journal: causeway's record of a host, one JSON object per line.
//! See `docs/journal.md` for the format; `assets/journal.schema.json` is its
//! JSON Schema.

mod bytes;
mod read;
mod write;

pub use bytes::{decode_bytes, encode_bytes};
pub use read::{Loaded, Problem, Tally, files_name, is_stdin, load, load_all, read};
pub use write::{Counts, Writer};

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};

/// What the `"format"` field of a header says.
pub const FORMAT_NAME: &str = "causeway-journal";
/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every journal.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    pub version: u32,
    pub hostname: String,
    pub kernel: String,
    /// Wall-clock time of boot, ns since the Unix epoch: add an event's
    /// boot-time `ktime` to get its wall-clock time.
    pub boot_time_ns: i64,
    pub causeway: String,
    /// This file continues the one before it, written by the same recorder
    /// without a gap (`record --rotate`): its process and socket lines are
    /// what was alive and open when it began, not when recording began.
    pub continued: bool,
    /// When the recorder that wrote it began (boot-time ns): the same in
    /// every file of one run of `record --rotate`, and another run's
    /// differs. `None` in journals written before causeway said so.
    pub run: Option<u64>,
    /// Which file of its run it is: 1 the first, then 2, 3, … as
    /// `record --rotate` moves on. `None` in journals written before
    /// causeway said so.
    pub file: Option<u64>,
}

impl Header {
    /// A header describing this host, now.
    pub fn for_this_host() -> Result<Self> {
        let uts = uname().context("reading the host name and kernel release")?;
        Ok(Header {
            version: FORMAT_VERSION,
            hostname: uts.0,
            kernel: uts.1,
            boot_time_ns: boot_time_ns()?,
            causeway: env!("CARGO_PKG_VERSION").to_string(),
            continued: false,
            run: Some(boot_clock_ns()?),
            file: Some(1),
        })
    }

    /// Whether `other` was written on the same host in the same boot. Each
    /// recorder computes the boot's wall-clock time anew, and two
    /// computations differ by a few ns (and by what the clock was
    /// adjusted since), so the boot times need only agree to a second: a
    /// host cannot boot twice in one.
    pub fn same_boot(&self, other: &Header) -> bool {
        self.hostname == other.hostname
            && self.boot_time_ns.abs_diff(other.boot_time_ns) <= 1_000_000_000
    }

    /// Whether `next` (a later file's header) can be a file of the run
    /// this one is a file of: it continues a run, and says what this one
    /// says of the run (one recorder writes the same header at every
    /// rotation, but for `continued` and `file`).
    pub fn same_run(&self, next: &Header) -> bool {
        next.continued
            && Header {
                continued: true,
                file: None,
                ..self.clone()
            } == Header {
                file: None,
                ..next.clone()
            }
    }

    /// Wall-clock time of a boot-time timestamp.
    pub fn wall_time(&self, ktime: u64) -> DateTime<Utc> {
        wall_time(self.boot_time_ns, ktime)
    }
}

/// Wall-clock time of a boot-time timestamp, given the boot's wall-clock ns.
pub fn wall_time(boot_time_ns: i64, ktime: u64) -> DateTime<Utc> {
    let ns = boot_time_ns.saturating_add(i64::try_from(ktime).unwrap_or(i64::MAX));
    DateTime::from_timestamp_nanos(ns)
}

/// Creates (or truncates) a journal file. A new one is readable by its
/// owner only: a journal holds every command line run on the host, and
/// command lines carry secrets often enough. An existing file keeps its
/// permissions, as a shell's `>` would.
///
/// A file is locked for as long as it is open ([`held_by_another`]): a
/// second recorder given the same name at the same moment is refused
/// before it truncates anything, instead of both writing into one file.
/// A FIFO must have a reader already: opening one without would wait for
/// one, past every signal.
pub fn create(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    if std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo()) {
        return open_fifo(path);
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    if file.metadata()?.is_file() {
        // SAFETY: flock(2) on a descriptor this function owns, with flags.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                std::io::Error::other("another causeway is writing it")
            } else {
                e
            });
        }
        file.set_len(0)?;
        let m = file.metadata()?;
        if let Ok(mut made) = CREATED.lock() {
            made.push((
                std::os::unix::fs::MetadataExt::dev(&m),
                std::os::unix::fs::MetadataExt::ino(&m),
            ));
        }
    }
    Ok(file)
}

/// The journal files [`create`] made or took in this process, by device
/// and inode.
static CREATED: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// Whether the file at `path` is one [`create`] opened in this process
/// (not another recorder's, made at the same moment).
pub fn created_here(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = std::fs::metadata(path) else {
        return false;
    };
    CREATED
        .lock()
        .is_ok_and(|made| made.contains(&(m.dev(), m.ino())))
}

/// Opens a FIFO to write that a process reads already; otherwise says so.
fn open_fifo(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENXIO) {
                std::io::Error::other("a FIFO nothing reads: start its reader first")
            } else {
                e
            }
        })?;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl(2) reading and setting the flags of a descriptor this
    // function owns: writes block again, as to any pipe.
    let blocking = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !blocking {
        return Err(std::io::Error::last_os_error());
    }
    Ok(file)
}

/// Whether another process holds the journal file `path` locked (a
/// recorder writing it: see [`create`]).
pub fn held_by_another(path: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // SAFETY: flock(2) on a descriptor this function owns, with flags; a
    // shared lock taken is released as the file closes.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn clock_ns(clock: libc::clockid_t) -> Result<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("clock_gettime");
    }
    Ok(ts.tv_sec * 1_000_000_000 + ts.tv_nsec)
}

/// The current boot-time clock (the probe's timestamps), ns.
pub fn boot_clock_ns() -> Result<u64> {
    Ok(u64::try_from(clock_ns(libc::CLOCK_BOOTTIME)?).unwrap_or(0))
}

/// Wall-clock ns at boot: now on the real-time clock minus the boot clock.
pub fn boot_time_ns() -> Result<i64> {
    // Read the real-time clock between two boot-clock reads and use the
    // midpoint, so the pair is as close to simultaneous as we can make it.
    let b0 = clock_ns(libc::CLOCK_BOOTTIME)?;
    let real = clock_ns(libc::CLOCK_REALTIME)?;
    let b1 = clock_ns(libc::CLOCK_BOOTTIME)?;
    Ok(real - (b0 + (b1 - b0) / 2))
}

fn uname() -> Result<(String, String)> {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok((field(&uts.nodename), field(&uts.release)))
}

#[cfg(test)]
mod tests;
