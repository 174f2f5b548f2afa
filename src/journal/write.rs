//! Writing journal lines. Lines are formatted by hand (no intermediate JSON
//! tree): the recorder writes one per kernel event and must keep up.

use std::io::{self, Write};

use super::{FORMAT_NAME, Header, rfc3339, wall_time};
use crate::event::{Event, EventKind, ExitStatus, Message, SeedProcess, signal_name};

/// Writes a journal: the header first, then one line per message.
pub struct Writer<W: Write> {
    out: W,
    clock: WallClock,
    line: Vec<u8>,
}

/// Formats boot-time stamps as RFC 3339 wall-clock strings. The part up to
/// the second is formatted once per second and reused: the recorder writes
/// one per event.
struct WallClock {
    boot_time_ns: i64,
    second: i64,
    prefix: String,
}

impl WallClock {
    fn new(boot_time_ns: i64) -> Self {
        WallClock {
            boot_time_ns,
            second: i64::MIN,
            prefix: String::new(),
        }
    }

    /// Appends `"2026-11-27T17:26:00.231834849Z"` (with the quotes).
    fn push(&mut self, line: &mut Vec<u8>, ktime: u64) {
        let t = wall_time(self.boot_time_ns, ktime);
        let second = t.timestamp();
        if second != self.second {
            self.second = second;
            self.prefix = t.format("%Y-%m-%dT%H:%M:%S").to_string();
        }
        line.push(b'"');
        line.extend_from_slice(self.prefix.as_bytes());
        // Writing into a Vec cannot fail.
        let _ = write!(line, ".{:09}Z\"", t.timestamp_subsec_nanos());
    }
}

impl<W: Write> Writer<W> {
    /// Starts a journal by writing its header line.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        let mut line = Vec::with_capacity(512);
        line.extend_from_slice(br#"{"type":"header","format":"#);
        json_str(&mut line, FORMAT_NAME);
        write!(line, r#","version":{},"hostname":"#, header.version)?;
        json_str(&mut line, &header.hostname);
        line.extend_from_slice(br#","kernel":"#);
        json_str(&mut line, &header.kernel);
        line.extend_from_slice(br#","boot_time":"#);
        json_str(&mut line, &rfc3339(wall_time(header.boot_time_ns, 0)));
        write!(
            line,
            r#","boot_time_ns":{},"causeway":"#,
            header.boot_time_ns
        )?;
        json_str(&mut line, &header.causeway);
        line.extend_from_slice(b"}\n");
        out.write_all(&line)?;
        Ok(Writer {
            out,
            clock: WallClock::new(header.boot_time_ns),
            line,
        })
    }

    /// Appends one message as one line.
    pub fn write(&mut self, msg: &Message) -> io::Result<()> {
        self.line.clear();
        match msg {
            Message::Seed(p) => seed_line(&mut self.line, p)?,
            Message::Event(ev) => event_line(&mut self.line, &mut self.clock, ev)?,
            Message::Lost { ktime, count } => {
                self.line.extend_from_slice(br#"{"type":"lost","time":"#);
                json_str(
                    &mut self.line,
                    &rfc3339(wall_time(self.clock.boot_time_ns, *ktime)),
                );
                write!(self.line, r#","ktime":{ktime},"count":{count}}}"#)?;
            }
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Appends `name` (already quoted, with its leading comma and colon) and an
/// integer, without going through `core::fmt`.
fn field(line: &mut Vec<u8>, name: &[u8], value: impl itoa::Integer) {
    line.extend_from_slice(name);
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `1.2.3.4:80` or `[::1]:80`: digits and punctuation only, so no JSON
/// escaping is needed.
fn addr(line: &mut Vec<u8>, a: std::net::SocketAddr) {
    let mut ints = itoa::Buffer::new();
    match a {
        std::net::SocketAddr::V4(v4) => {
            for (i, octet) in v4.ip().octets().iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                line.extend_from_slice(ints.format(*octet).as_bytes());
            }
        }
        std::net::SocketAddr::V6(v6) => {
            let _ = write!(line, "[{}]", v6.ip());
        }
    }
    line.push(b':');
    line.extend_from_slice(ints.format(a.port()).as_bytes());
}

fn json_str(line: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *line, s);
}

fn json_bytes(line: &mut Vec<u8>, b: &[u8]) {
    let _ = serde_json::to_writer(&mut *line, &super::encode_bytes(b));
}

fn json_argv(line: &mut Vec<u8>, argv: &[Vec<u8>]) {
    line.push(b'[');
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b',');
        }
        json_bytes(line, a);
    }
    line.push(b']');
}

fn seed_line(line: &mut Vec<u8>, p: &SeedProcess) -> io::Result<()> {
    write!(
        line,
        r#"{{"type":"process","pid":{},"start":{}"#,
        p.proc.pid, p.proc.start
    )?;
    if let Some(parent) = p.parent {
        write!(line, r#","ppid":{},"pstart":{}"#, parent.pid, parent.start)?;
    }
    write!(
        line,
        r#","uid":{},"gid":{},"cgroup":{},"comm":"#,
        p.uid, p.gid, p.cgroup
    )?;
    json_str(line, &p.comm);
    line.extend_from_slice(br#","exe":"#);
    json_bytes(line, &p.exe);
    line.extend_from_slice(br#","argv":"#);
    json_argv(line, &p.argv);
    line.push(b'}');
    Ok(())
}

fn event_line(line: &mut Vec<u8>, clock: &mut WallClock, ev: &Event) -> io::Result<()> {
    line.extend_from_slice(br#"{"type":"#);
    json_str(line, ev.kind.name());
    line.extend_from_slice(br#","time":"#);
    clock.push(line, ev.ktime);
    field(line, b",\"ktime\":", ev.ktime);
    field(line, b",\"pid\":", ev.proc.pid);
    field(line, b",\"tid\":", ev.tid);
    field(line, b",\"start\":", ev.proc.start);
    field(line, b",\"ppid\":", ev.parent.pid);
    field(line, b",\"pstart\":", ev.parent.start);
    field(line, b",\"uid\":", ev.uid);
    field(line, b",\"gid\":", ev.gid);
    field(line, b",\"cgroup\":", ev.cgroup);
    line.extend_from_slice(br#","comm":"#);
    json_str(line, &ev.comm);
    match &ev.kind {
        EventKind::Fork => {}
        EventKind::Exec(x) => {
            line.extend_from_slice(br#","exe":"#);
            json_bytes(line, &x.exe);
            line.extend_from_slice(br#","argv":"#);
            json_argv(line, &x.argv);
            write!(
                line,
                r#","argv_truncated":{},"old_tid":{}"#,
                x.argv_truncated, x.old_tid
            )?;
        }
        EventKind::Exit(ExitStatus::Code(c)) => write!(line, r#","exit_code":{c}"#)?,
        EventKind::Exit(ExitStatus::Signal {
            signal,
            core_dumped,
        }) => {
            write!(line, r#","signal":{signal},"signal_name":"#)?;
            json_str(line, &signal_name(*signal));
            write!(line, r#","core_dumped":{core_dumped}"#)?;
        }
        EventKind::Net(n) => {
            line.extend_from_slice(br#","protocol":"#);
            json_str(line, n.protocol.as_str());
            line.extend_from_slice(br#","direction":"#);
            json_str(line, n.direction.as_str());
            line.extend_from_slice(br#","local":""#);
            addr(line, n.local);
            line.extend_from_slice(br#"","remote":""#);
            addr(line, n.remote);
            line.push(b'"');
            field(line, b",\"cookie\":", n.cookie);
            if n.kind == crate::event::NetKind::Close {
                field(line, b",\"bytes_sent\":", n.bytes_sent);
                field(line, b",\"bytes_received\":", n.bytes_received);
            }
        }
    }
    line.push(b'}');
    Ok(())
}
