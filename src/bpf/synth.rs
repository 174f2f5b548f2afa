//! Raw ring-buffer records as the probe writes them, made up: for
//! benchmarks of what user space does with each record. Only bytes leave
//! this file.

use super::decode::{CW_ACCEPT, CW_CLOSE, CW_CONNECT};
use super::skel::types::{cw_close, cw_conn, cw_header};

/// Records in ring order, each 8-byte aligned as in a ring buffer.
pub struct Records {
    words: Vec<u64>,
    /// Ring, first word, length in bytes.
    spans: Vec<(usize, usize, usize)>,
}

impl Records {
    /// Each record: its ring and its bytes.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[u8])> + '_ {
        // SAFETY: viewing initialized u64s as bytes is sound.
        let bytes = unsafe { plain::as_bytes(&self.words[..]) };
        self.spans
            .iter()
            .map(move |&(ring, at, len)| (ring, &bytes[at * 8..at * 8 + len]))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn push<T: plain::Plain>(&mut self, ring: usize, rec: &T) {
        // SAFETY: T is a repr(C) record of integers and byte arrays.
        let bytes = unsafe { plain::as_bytes(rec) };
        let at = self.words.len();
        self.words.resize(at + bytes.len().div_ceil(8), 0);
        // SAFETY: as in `iter`; the new words are in bounds.
        let dst = unsafe { plain::as_mut_bytes(&mut self.words[at..]) };
        dst[..bytes.len()].copy_from_slice(bytes);
        self.spans.push((ring, at, bytes.len()));
    }
}

fn v4(a: [u8; 4]) -> [u8; 16] {
    std::net::Ipv4Addr::from(a).to_ipv6_mapped().octets()
}

/// When the first [`churn`] cycle starts (boot-time ns); one starts every
/// microsecond.
pub const CHURN_START: u64 = 1_000_000_000;

/// What the probe reports for `cycles` loopback connect/accept/close
/// cycles of one process (`pid`) with two threads, each on its own CPU
/// (ring), one cycle every microsecond: per cycle a connect, an accept
/// (attributed at first use) and two closes.
pub fn churn(cycles: u64, pid: u32) -> Records {
    let mut r = Records {
        words: Vec::new(),
        spans: Vec::new(),
    };
    let server_port = 40_000;
    for i in 0..cycles {
        let ring = (i % 2) as usize;
        let t = CHURN_START + i * 1_000;
        let mut h = cw_header {
            tid: pid + 1 + ring as u32,
            pid,
            ppid: 1,
            start: 5_000_000,
            pstart: 1_000,
            cgroup: 1,
            ..Default::default()
        };
        h.comm[..9].copy_from_slice(b"net_churn");
        let client_port = 32_768 + (i % 28_000) as u16;
        let (client, server) = (10 + 2 * i, 11 + 2 * i);
        let conn = |kind, ktime, cookie, sport, dport| cw_conn {
            h: cw_header { kind, ktime, ..h },
            cookie,
            saddr: v4([127, 0, 0, 1]),
            daddr: v4([127, 0, 0, 1]),
            sport,
            dport,
            family: 2,
            protocol: 6,
            ..Default::default()
        };
        // As the churn's closes end: the server closes first (through
        // FIN_WAIT2), the client after it (through LAST_ACK).
        let close = |ktime, cookie, from| cw_close {
            kind: CW_CLOSE,
            ktime,
            cookie,
            from,
            ..Default::default()
        };
        r.push(ring, &conn(CW_CONNECT, t, client, client_port, server_port));
        r.push(
            ring,
            &conn(CW_ACCEPT, t + 100, server, server_port, client_port),
        );
        r.push(ring, &close(t + 200, server, 5));
        r.push(ring, &close(t + 300, client, 9));
    }
    r
}
